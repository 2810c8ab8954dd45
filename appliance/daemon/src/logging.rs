//! Log output: readable on a terminal, JSON for journald and collectors.
//!
//! Log lines carry identifiers, counters and states. Call audio and
//! transcripts are never passed to `tracing` anywhere in the appliance.

use std::io::IsTerminal;

use callguard_config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber for the daemon; logs go to standard error.
/// `RUST_LOG`, when set, replaces `log.level` for this run.
pub fn init_logging(config: &LogConfig) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => {
            EnvFilter::try_new(&directives).map_err(|e| format!("RUST_LOG=`{directives}` is not a log filter: {e}"))?
        }
        _ => EnvFilter::try_new(&config.level)
            .map_err(|e| format!("log.level `{}` is not a log filter: {e}", config.level))?,
    };
    let json = match config.format {
        LogFormat::Json => true,
        LogFormat::Human => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let installed = if json {
        builder.json().flatten_event(true).with_current_span(false).try_init()
    } else {
        builder.with_target(false).try_init()
    };
    installed.map_err(|e| format!("cannot install the logger: {e}"))
}
