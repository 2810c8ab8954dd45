//! One module per top-level command, and what they share: loading the
//! configuration and opening the store.

pub mod alerts;
pub mod bpf;
pub mod calls;
pub mod capture;
pub mod config;
pub mod detect;
pub mod docs;
pub mod media;
pub mod models;
pub mod run;
pub mod status;
pub mod subscribers;
pub mod transcribe;
pub mod version;

use std::path::PathBuf;

use anyhow::Context;
use callguard_config::{Config, LoadOptions, Origin};
use callguard_daemon::Paths;
use callguard_store::Store;

use crate::cli::GlobalArgs;
use crate::failure::Failure;

/// The load options the global arguments and the environment describe.
pub fn load_options(global: &GlobalArgs) -> LoadOptions {
    LoadOptions {
        path: global.config.clone(),
        overrides: global.overrides.clone(),
        // systemd may list several directories, separated by colons.
        state_directory: std::env::var_os("STATE_DIRECTORY")
            .and_then(|dirs| dirs.to_str().and_then(|d| d.split(':').next()).map(PathBuf::from)),
    }
}

/// Loads and validates the configuration; a bad one is a usage error.
pub fn load_config(global: &GlobalArgs) -> Result<(Config, Origin), Failure> {
    callguard_config::load(&load_options(global)).map_err(Failure::usage)
}

/// Opens the store in the configured state directory, creating both if needed.
pub fn open_store(config: &Config) -> Result<Store, Failure> {
    let paths = Paths::of(config);
    paths.create_state_dir()?;
    let store = Store::open(&paths.database)?;
    Ok(store)
}

/// Who is making a change, for the audit log.
pub fn actor() -> String {
    let user = ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned());
    format!("cli:{user}")
}

/// Reads a file named on the command line, or standard input for `-`.
pub fn read_input(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).context("cannot read standard input")?;
        return Ok(bytes);
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display())).map_err(Failure::usage)
}
