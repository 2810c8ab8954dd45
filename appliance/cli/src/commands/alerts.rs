//! `callguard alerts list`.

use anyhow::Context;
use time::OffsetDateTime;

use crate::cli::{AlertsCommand, GlobalArgs};
use crate::failure::Failure;
use crate::output::{print_json, print_table, rfc3339};

/// Runs an `alerts` subcommand.
pub fn alerts(global: &GlobalArgs, command: AlertsCommand) -> Result<(), Failure> {
    let AlertsCommand::List { since, limit, json } = command;
    let since = since.as_deref().map(parse_since).transpose().map_err(Failure::usage)?;
    let (config, _) = super::load_config(global)?;
    let store = super::open_store(&config)?;
    let alerts = store.alerts(since, limit)?;
    if json {
        print_json(&alerts)?;
        return Ok(());
    }
    if alerts.is_empty() {
        println!("no alerts");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|a| {
            vec![
                rfc3339(a.created_at),
                a.call_id.clone(),
                if a.caller.is_empty() { "unknown".into() } else { a.caller.clone() },
                a.subscriber.clone(),
                format!("{:.2}", a.score),
                a.tactics.join(","),
            ]
        })
        .collect();
    print_table(&["TIME", "CALL", "CALLER", "SUBSCRIBER", "SCORE", "TACTICS"], &rows)?;
    Ok(())
}

/// `24h`-style durations back from now, or an RFC 3339 time.
fn parse_since(text: &str) -> anyhow::Result<OffsetDateTime> {
    if let Ok(duration) = humantime::parse_duration(text) {
        return Ok(OffsetDateTime::now_utc() - duration);
    }
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("--since `{text}` is neither a duration (30m, 24h, 7d) nor an RFC 3339 time"))
}
