//! `callguard completions` and `callguard man`, generated from the clap
//! definitions so they never drift from `--help`.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::Cli;
use crate::failure::Failure;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "callguard", &mut std::io::stdout());
    Ok(())
}

/// Prints the main man page, or writes every page into `out_dir`.
pub fn man(out_dir: Option<&Path>) -> Result<(), Failure> {
    let command = Cli::command();
    match out_dir {
        None => clap_mangen::Man::new(command).render(&mut std::io::stdout())?,
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("cannot write man pages to {}", dir.display()))?;
            eprintln!("man pages written to {}", dir.display());
        }
    }
    Ok(())
}
