//! `callguard detect`: transcripts judged offline, turn by turn, as the
//! appliance judges live calls.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, anyhow};
use callguard_detect::{CallInput, evaluate, judge_call};

use crate::cli::{DetectArgs, GlobalArgs};
use crate::failure::Failure;
use crate::output::{print_json, print_table, write_atomically};

/// Runs `callguard detect`.
pub fn detect(global: &GlobalArgs, args: DetectArgs) -> Result<(), Failure> {
    let (appliance, _) = super::load_config(global)?;
    let mut config = callguard_daemon::detector_config(&appliance);
    if let Some(threshold) = args.threshold {
        config.warn_threshold = threshold;
    }
    config.validate().map_err(Failure::usage)?;
    if let Some(path) = &args.eval {
        let calls = read_calls(path)?;
        if calls.iter().any(|c| c.label.is_none()) {
            return Err(Failure::usage(anyhow!("{}: --eval needs a \"label\" on every call", path.display())));
        }
        let report = evaluate(&calls, &config);
        if args.json {
            print_json(&report)?;
        } else {
            println!("{}", report.to_string().trim_end());
        }
        return Ok(());
    }
    let path = args.input.as_deref().expect("clap requires --input or --eval");
    let calls = read_calls(path)?;
    let verdicts: Vec<_> = calls.iter().map(|call| judge_call(call, &config, None)).collect();
    let write_lines = |out: &mut dyn Write| -> anyhow::Result<()> {
        for verdict in &verdicts {
            serde_json::to_writer(&mut *out, verdict)?;
            writeln!(out)?;
        }
        Ok(())
    };
    match (&args.output, args.json) {
        (Some(file), _) => write_atomically(file, |f| write_lines(f))?,
        (None, true) => write_lines(&mut std::io::stdout().lock())?,
        (None, false) => {
            let rows: Vec<Vec<String>> = verdicts
                .iter()
                .map(|v| {
                    vec![
                        v.id.clone(),
                        if v.scam { "SCAM".into() } else { "-".into() },
                        format!("{:.2}", v.score),
                        v.decided_at_turn.map(|t| t.to_string()).unwrap_or_default(),
                        v.tactics.join(","),
                        v.reason.clone(),
                    ]
                })
                .collect();
            print_table(&["ID", "VERDICT", "RISK", "TURN", "TACTICS", "REASON"], &rows)?;
            let scams = verdicts.iter().filter(|v| v.scam).count();
            eprintln!("{} call(s), {scams} would have been warned", verdicts.len());
        }
    }
    Ok(())
}

/// The calls of a JSON-lines file (or standard input), every bad line
/// reported with its number.
fn read_calls(path: &Path) -> Result<Vec<CallInput>, Failure> {
    let bytes = super::read_input(path)?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("{} is not UTF-8 text", path.display()))
        .map_err(Failure::usage)?;
    let mut calls = Vec::new();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match serde_json::from_str::<CallInput>(line) {
            Ok(call) => calls.push(call),
            Err(e) => bad.push(format!("line {}: {e}", n + 1)),
        }
    }
    if !bad.is_empty() {
        let shown: Vec<&str> = bad.iter().take(10).map(String::as_str).collect();
        return Err(Failure::usage(anyhow!("{}: {} bad line(s): {}", path.display(), bad.len(), shown.join("; "))));
    }
    if calls.is_empty() {
        return Err(Failure::usage(anyhow!("{}: no calls", path.display())));
    }
    Ok(calls)
}
