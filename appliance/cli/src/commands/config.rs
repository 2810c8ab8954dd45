//! `callguard config check|show`.

use callguard_config::{ConfigError, Problem};

use crate::cli::{ConfigCommand, GlobalArgs};
use crate::failure::Failure;
use crate::output::print_json;

/// Runs a `config` subcommand.
pub fn config(global: &GlobalArgs, command: ConfigCommand) -> Result<(), Failure> {
    match command {
        ConfigCommand::Check { file, json } => check(global, file, json),
        ConfigCommand::Show(args) => show(global, args.json),
    }
}

fn check(global: &GlobalArgs, file: Option<std::path::PathBuf>, json: bool) -> Result<(), Failure> {
    let mut options = super::load_options(global);
    if file.is_some() {
        options.path = file;
    }
    let result = callguard_config::load(&options);
    if json {
        let (valid, source, problems) = match &result {
            Ok((_, origin)) => (true, origin.to_string(), Vec::new()),
            Err(ConfigError::Invalid { origin, problems }) => (false, origin.to_string(), problems.clone()),
            Err(other) => {
                let source = options.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
                (false, source, vec![Problem { key: String::new(), message: other.to_string() }])
            }
        };
        print_json(&serde_json::json!({ "valid": valid, "source": source, "problems": problems }))?;
        return if valid { Ok(()) } else { Err(Failure::silent(2)) };
    }
    let (config, origin) = result.map_err(Failure::usage)?;
    println!(
        "{origin}: valid ({} SIP listener(s), {} RTP port range(s), {} SMSC(s))",
        config.sip.listeners.len(),
        config.media.rtp_ports.len(),
        config.sms.smsc.len()
    );
    Ok(())
}

fn show(global: &GlobalArgs, json: bool) -> Result<(), Failure> {
    let (config, origin) = super::load_config(global)?;
    if json {
        print_json(&config)?;
    } else {
        println!("# effective configuration from {origin}; secrets masked");
        print!("{}", toml::to_string_pretty(&config)?);
    }
    Ok(())
}
