//! Reading the file, applying overrides, deserializing and validating.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::{Config, Override, validate};

/// Where the appliance looks for its configuration when none is named.
pub const DEFAULT_PATH: &str = "/etc/callguard/callguard.toml";

/// What [`load`] reads, besides the file itself.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The file named by `--config` or `CALLGUARD_CONFIG`; it must exist.
    /// `None` means [`DEFAULT_PATH`], or the built-in defaults if that is absent.
    pub path: Option<PathBuf>,
    /// `--set` overrides, applied in order after the file.
    pub overrides: Vec<Override>,
    /// `$STATE_DIRECTORY` as systemd sets it, used when `appliance.state_dir` is unset.
    pub state_directory: Option<PathBuf>,
}

/// Where the configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file that was read.
    File(PathBuf),
    /// No file: the default path does not exist.
    Defaults,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Defaults => write!(f, "built-in defaults ({DEFAULT_PATH} does not exist)"),
        }
    }
}

/// One thing wrong with a configuration, at one key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Dotted key path, e.g. `sip.listeners[0].address`.
    pub key: String,
    /// What is wrong and, where it helps, how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key `{}`: {}", self.key, self.message)
    }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The named file could not be read.
    #[error("cannot read configuration file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{origin}: not valid TOML: {message}")]
    Syntax {
        /// The file.
        origin: Origin,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A `--set` override could not be applied.
    #[error("--set {key}: {message}")]
    Override {
        /// The override's key path.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The configuration is well-formed TOML but not acceptable.
    #[error("{origin}: {}", list(problems))]
    Invalid {
        /// The file.
        origin: Origin,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

fn list(problems: &[Problem]) -> String {
    match problems {
        [one] => one.to_string(),
        many => {
            let lines: Vec<String> = many.iter().map(|p| format!("\n  - {p}")).collect();
            format!("{} problems:{}", many.len(), lines.concat())
        }
    }
}

/// Reads, overrides, deserializes and validates the configuration.
///
/// Returns the configuration with `appliance.state_dir` resolved, and where
/// it came from.
pub fn load(options: &LoadOptions) -> Result<(Config, Origin), ConfigError> {
    let (origin, text) = read_source(options.path.as_deref())?;
    let file: Table =
        toml::from_str(&text).map_err(|e| ConfigError::Syntax { origin: origin.clone(), message: e.to_string() })?;
    // Overrides address the effective tree, so `--set sip.listeners.0.address=…`
    // works without a file that spells the listeners out.
    let mut table = Table::try_from(Config::default()).expect("defaults serialize to TOML");
    merge(&mut table, file);
    for o in &options.overrides {
        o.apply(&mut table).map_err(|message| ConfigError::Override { key: o.key().to_owned(), message })?;
    }
    let invalid = |problems: Vec<Problem>| ConfigError::Invalid {
        origin: origin.clone(),
        problems: annotate_overrides(problems, &options.overrides),
    };
    let mut config: Config =
        serde_path_to_error::deserialize(Value::Table(table)).map_err(|e| invalid(vec![type_problem(e)]))?;
    if config.appliance.state_dir.is_none() {
        config.appliance.state_dir = Some(options.state_directory.clone().unwrap_or_else(|| PathBuf::from("var")));
    }
    let problems = validate::check(&config);
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    Ok((config, origin))
}

/// Turns a deserialization error into a problem at its key.
fn type_problem(error: serde_path_to_error::Error<toml::de::Error>) -> Problem {
    let path = error.path().to_string();
    // toml appends "in `table`" lines that repeat the path; keep the message.
    let text = error.inner().to_string();
    let message: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("in `")).collect();
    let message = message.join(" ");
    let key = if path == "." { "(top level)".to_owned() } else { path };
    Problem { key, message }
}

/// Lays `file` over `base`: tables merge key by key, anything else
/// (arrays included) replaces what the base had.
fn merge(base: &mut Table, file: Table) {
    for (key, value) in file {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(below)), Value::Table(above)) => merge(below, above),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn read_source(path: Option<&Path>) -> Result<(Origin, String), ConfigError> {
    let (path, explicit) = match path {
        Some(path) => (path.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_PATH), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((Origin::File(path), text)),
        Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => Ok((Origin::Defaults, String::new())),
        Err(source) => Err(ConfigError::Read { path, source }),
    }
}

/// Marks problems whose key was set on the command line, so nobody hunts
/// for them in the file.
fn annotate_overrides(problems: Vec<Problem>, overrides: &[Override]) -> Vec<Problem> {
    problems
        .into_iter()
        .map(|mut p| {
            let normalized = p.key.replace('[', ".").replace(']', "");
            if let Some(o) = overrides
                .iter()
                .rev()
                .find(|o| normalized == o.key() || normalized.starts_with(&format!("{}.", o.key())))
            {
                p.message.push_str(&format!(" (set by --set {})", o.key()));
            }
            p
        })
        .collect()
}
