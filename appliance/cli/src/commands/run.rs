//! `callguard run`: the daemon in the foreground.

use callguard_daemon::App;

use crate::cli::GlobalArgs;
use crate::failure::Failure;

/// Loads the configuration, starts logging, and serves until signalled.
pub fn run(global: &GlobalArgs) -> Result<(), Failure> {
    let (config, origin) = super::load_config(global)?;
    callguard_daemon::init_logging(&config.log).map_err(|e| Failure::usage(anyhow::anyhow!(e)))?;
    App::build(config, origin)?.run()?;
    Ok(())
}
