//! `callguard subscribers …`: the subscriber register.

use std::path::Path;

use callguard_numbers::E164;
use callguard_store::{NewSubscriber, ParsedCsv, Upsert};
use serde::Serialize;

use crate::cli::{GlobalArgs, SubscribersCommand};
use crate::failure::Failure;
use crate::output::{print_json, print_table, rfc3339, write_atomically};

/// How many bad rows are listed on a terminal before the rest are counted.
const SHOWN_BAD_ROWS: usize = 20;

/// Runs a `subscribers` subcommand.
pub fn subscribers(global: &GlobalArgs, command: SubscribersCommand) -> Result<(), Failure> {
    let (config, _) = super::load_config(global)?;
    let home = config.appliance.home_country;
    match command {
        SubscribersCommand::Add { msisdn, language, opted_out, trusted } => {
            let subscriber = NewSubscriber {
                msisdn: E164::parse(&msisdn, Some(home)).map_err(Failure::usage)?,
                language: language.parse().map_err(|e: String| Failure::usage(anyhow::anyhow!(e)))?,
                opted_in: !opted_out,
                trusted_numbers: trusted
                    .iter()
                    .map(|n| E164::parse(n, Some(home)))
                    .collect::<Result<_, _>>()
                    .map_err(|e| Failure::usage(anyhow::Error::new(e).context("--trusted")))?,
            };
            let mut store = super::open_store(&config)?;
            let outcome = store.upsert_subscriber(&subscriber, &super::actor())?;
            let verb = if outcome == Upsert::Added { "added" } else { "updated" };
            println!(
                "{verb} {} (language {}, {})",
                subscriber.msisdn,
                subscriber.language,
                opt_in_text(subscriber.opted_in)
            );
        }
        SubscribersCommand::Remove { msisdn } => {
            let msisdn = E164::parse(&msisdn, Some(home)).map_err(Failure::usage)?;
            let mut store = super::open_store(&config)?;
            if !store.remove_subscriber(&msisdn, &super::actor())? {
                return Err(Failure::runtime(anyhow::anyhow!("{msisdn} is not in the register")));
            }
            println!("removed {msisdn}");
        }
        SubscribersCommand::List(args) => {
            let store = super::open_store(&config)?;
            let subscribers = store.subscribers()?;
            if args.json {
                print_json(&subscribers)?;
            } else {
                let rows: Vec<Vec<String>> = subscribers
                    .iter()
                    .map(|s| {
                        let trusted: Vec<&str> = s.trusted_numbers.iter().map(E164::as_str).collect();
                        vec![
                            s.msisdn.to_string(),
                            s.language.to_string(),
                            opt_in_text(s.opted_in).into(),
                            rfc3339(s.opt_in_changed_at),
                            trusted.join(";"),
                        ]
                    })
                    .collect();
                print_table(&["MSISDN", "LANGUAGE", "PROTECTION", "SINCE", "TRUSTED"], &rows)?;
                eprintln!("{} subscriber(s)", subscribers.len());
            }
        }
        SubscribersCommand::Import { file, skip_bad, json } => {
            let bytes = super::read_input(&file)?;
            let parsed = callguard_store::parse_subscriber_csv(bytes.as_slice(), home).map_err(Failure::usage)?;
            import(&config, &file, parsed, skip_bad, json)?;
        }
        SubscribersCommand::Export { output } => {
            let store = super::open_store(&config)?;
            let subscribers = store.subscribers()?;
            match output {
                None => callguard_store::write_subscriber_csv(std::io::stdout().lock(), &subscribers)?,
                Some(path) => {
                    write_atomically(&path, |out| {
                        callguard_store::write_subscriber_csv(out, &subscribers).map_err(Into::into)
                    })?;
                    eprintln!("exported {} subscriber(s) to {}", subscribers.len(), path.display());
                }
            }
        }
    }
    Ok(())
}

fn opt_in_text(opted_in: bool) -> &'static str {
    if opted_in { "opted in" } else { "opted out" }
}

#[derive(Serialize)]
struct ImportReport<'a> {
    file: String,
    imported: bool,
    rows: usize,
    added: usize,
    updated: usize,
    skipped: usize,
    errors: &'a [callguard_store::CsvRowError],
}

fn import(
    config: &callguard_config::Config,
    file: &Path,
    parsed: ParsedCsv,
    skip_bad: bool,
    json: bool,
) -> Result<(), Failure> {
    let bad = parsed.errors.len();
    let refused = bad > 0 && !skip_bad;
    let summary = if refused {
        Default::default()
    } else {
        let mut store = super::open_store(config)?;
        store.import_subscribers(&parsed.subscribers, &super::actor(), &file.display().to_string())?
    };
    if json {
        print_json(&ImportReport {
            file: file.display().to_string(),
            imported: !refused,
            rows: parsed.subscribers.len() + bad,
            added: summary.added,
            updated: summary.updated,
            skipped: if refused { 0 } else { bad },
            errors: &parsed.errors,
        })?;
        return if refused { Err(Failure::silent(1)) } else { Ok(()) };
    }
    for error in parsed.errors.iter().take(SHOWN_BAD_ROWS) {
        eprintln!("{}: line {}: {}", file.display(), error.line, error.message);
    }
    if bad > SHOWN_BAD_ROWS {
        eprintln!("{}: … and {} more bad rows (use --json for all)", file.display(), bad - SHOWN_BAD_ROWS);
    }
    if refused {
        return Err(Failure::runtime(anyhow::anyhow!(
            "{}: {bad} bad row(s); nothing imported. Fix them, or pass --skip-bad to import the {} good row(s)",
            file.display(),
            parsed.subscribers.len()
        )));
    }
    println!(
        "imported {} subscriber(s) from {} (added {}, updated {}{})",
        summary.added + summary.updated,
        file.display(),
        summary.added,
        summary.updated,
        if bad > 0 { format!(", skipped {bad} bad row(s)") } else { String::new() }
    );
    Ok(())
}
