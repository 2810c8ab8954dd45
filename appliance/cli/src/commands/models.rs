//! `callguard models …`: the speech model store.

use std::io::{IsTerminal, Write};

use callguard_daemon::Paths;
use callguard_models::{ImportOptions, ModelStore, Progress, Stage};
use serde::Serialize;

use crate::cli::{GlobalArgs, ModelsCommand};
use crate::failure::Failure;
use crate::output::{print_json, print_table, rfc3339};

/// Runs a `models` subcommand.
pub fn models(global: &GlobalArgs, command: ModelsCommand) -> Result<(), Failure> {
    let (config, _) = super::load_config(global)?;
    let store = ModelStore::new(Paths::of(&config).models);
    let in_use = config.speech.model.as_str();
    match command {
        ModelsCommand::Import { path, name, force, json } => {
            let options = ImportOptions { name, overwrite: force };
            let imported = store.import(&path, &options, &mut progress_bar(json)).map_err(Failure::runtime)?;
            if json {
                print_json(&imported)?;
            } else {
                let r = &imported.record;
                let verb = if imported.replaced { "replaced" } else { "imported" };
                println!("{verb} {} ({}, {}) as {}", r.name, r.kind, megabytes(r.size_bytes), imported.path.display());
                println!("sha256 {}", r.sha256);
                if r.name != in_use {
                    println!("to use it: speech.model = \"{}\" (now \"{in_use}\")", r.name);
                }
            }
        }
        ModelsCommand::List(args) => {
            let listed = store.list().map_err(Failure::runtime)?;
            if args.json {
                #[derive(Serialize)]
                struct Entry<'a> {
                    #[serde(flatten)]
                    model: &'a callguard_models::ListedModel,
                    in_use: bool,
                }
                let entries: Vec<Entry<'_>> =
                    listed.iter().map(|model| Entry { model, in_use: model.name == in_use }).collect();
                print_json(&entries)?;
            } else {
                let rows: Vec<Vec<String>> = listed
                    .iter()
                    .map(|m| {
                        let used = if m.name == in_use { "speech.model" } else { "" };
                        match (&m.record, &m.problem) {
                            (Some(r), None) => vec![
                                m.name.clone(),
                                r.kind.clone(),
                                megabytes(r.size_bytes),
                                r.sha256[..16].to_owned(),
                                rfc3339(r.imported_at),
                                used.to_owned(),
                            ],
                            (_, problem) => vec![
                                m.name.clone(),
                                format!("damaged: {}", problem.as_deref().unwrap_or("no record")),
                                String::new(),
                                String::new(),
                                String::new(),
                                used.to_owned(),
                            ],
                        }
                    })
                    .collect();
                print_table(&["NAME", "KIND", "SIZE", "SHA256", "IMPORTED", "USED BY"], &rows)?;
                eprintln!("{} model(s) in {}", listed.len(), store.dir().display());
                if !listed.iter().any(|m| m.name == in_use) {
                    eprintln!(
                        "speech.model = \"{in_use}\" is not in the store: import it with `callguard models import`"
                    );
                }
            }
        }
        ModelsCommand::Verify { name, json } => {
            let verified = store.verify(&name, &mut progress_bar(json)).map_err(Failure::runtime)?;
            if json {
                print_json(&verified)?;
            } else {
                println!(
                    "{name}: ok ({}, {}, {} tensors, sha256 {})",
                    verified.info.kind,
                    megabytes(verified.info.size_bytes),
                    verified.info.layout.tensor_count,
                    verified.info.sha256
                );
            }
        }
        ModelsCommand::Remove { name, force } => {
            if name == in_use && !force {
                return Err(Failure::usage(anyhow::anyhow!(
                    "{name} is the model speech.model names; set another first, or use --force"
                )));
            }
            let removed = store.remove(&name).map_err(Failure::runtime)?;
            println!("removed {} ({} freed)", removed.name, megabytes(removed.freed_bytes));
        }
    }
    Ok(())
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Progress on standard error while a terminal watches, one line redrawn;
/// nothing for scripts (`--json`) or logs.
fn progress_bar(json: bool) -> impl FnMut(Progress) {
    let shown = !json && std::io::stderr().is_terminal();
    let mut last = None;
    move |p: Progress| {
        if !shown || p.total == 0 {
            return;
        }
        let percent = p.done * 100 / p.total;
        if last == Some((p.stage, percent)) {
            return;
        }
        last = Some((p.stage, percent));
        let stage = match p.stage {
            Stage::Converting => "converting",
            Stage::Copying => "copying",
            Stage::Hashing => "checking",
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{stage} {percent:>3}%");
        if p.done >= p.total {
            let _ = write!(err, "\r\x1b[K");
        }
        let _ = err.flush();
    }
}
