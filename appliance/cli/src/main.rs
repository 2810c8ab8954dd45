//! `callguard`: the appliance daemon and the technician's command line.
//!
//! Thin on purpose: parse the arguments, run one command, map its failure to
//! an exit code (0 ok, 1 runtime failure, 2 usage or configuration error)
//! with one clear message and no backtrace.

mod cli;
mod commands;
mod failure;
mod output;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::failure::Failure;

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("callguard: internal error: {info}");
        eprintln!("callguard: please report this with the output of `callguard version`");
    }));
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    let global = &cli.global;
    match cli.command {
        Command::Run => commands::run::run(global),
        Command::Status(args) => commands::status::status(global, args.json),
        Command::Metrics => commands::status::metrics(global),
        Command::Config(command) => commands::config::config(global, command),
        Command::Subscribers(command) => commands::subscribers::subscribers(global, command),
        Command::Calls(command) => commands::calls::calls(global, command),
        Command::Capture(args) => commands::capture::capture(global, args),
        Command::Media(command) => commands::media::media(command),
        Command::Bpf(command) => commands::bpf::bpf(global, command),
        Command::Alerts(command) => commands::alerts::alerts(global, command),
        Command::Models(command) => commands::models::models(global, command),
        Command::Transcribe(args) => commands::transcribe::transcribe(global, args),
        Command::Detect(args) => commands::detect::detect(global, args),
        Command::Version(args) => commands::version::version(args.json),
        Command::Completions { shell } => commands::docs::completions(shell),
        Command::Man { out_dir } => commands::docs::man(out_dir.as_deref()),
    }
}
