//! `callguard bpf status|detach`: the XDP program on the media interface.

use anyhow::anyhow;
use callguard_xdp::{AttachedProgram, XdpCounters};
use serde::Serialize;

use crate::cli::{BpfCommand, GlobalArgs};
use crate::failure::Failure;
use crate::output::{print_json, print_table};

#[derive(Serialize)]
struct ProgramStatus {
    id: u32,
    name: String,
    mode: &'static str,
    callguard: bool,
    counters: Option<Counters>,
}

#[derive(Serialize)]
struct Counters {
    seen: u64,
    redirected: u64,
    passed: u64,
    malformed: u64,
    no_socket: u64,
}

impl From<XdpCounters> for Counters {
    fn from(c: XdpCounters) -> Self {
        Counters {
            seen: c.seen,
            redirected: c.redirected,
            passed: c.passed,
            malformed: c.malformed,
            no_socket: c.no_socket,
        }
    }
}

/// Runs a `bpf` subcommand.
pub fn bpf(global: &GlobalArgs, command: BpfCommand) -> Result<(), Failure> {
    let (config, _) = super::load_config(global)?;
    let (iface, json) = match &command {
        BpfCommand::Status { iface, json } | BpfCommand::Detach { iface, json } => (iface.clone(), *json),
    };
    let iface = iface.or_else(|| config.media.interface.clone()).ok_or_else(|| {
        Failure::usage(anyhow!("no interface: pass --iface IF or set media.interface in the configuration"))
    })?;
    match command {
        BpfCommand::Status { .. } => {
            let programs: Vec<ProgramStatus> =
                callguard_xdp::attached_programs(&iface)?.into_iter().map(status).collect();
            if json {
                print_json(&serde_json::json!({ "interface": iface, "programs": programs }))?;
            } else if programs.is_empty() {
                println!("{iface}: no XDP program attached");
            } else {
                let rows: Vec<Vec<String>> = programs.iter().map(row).collect();
                print_table(
                    &["ID", "NAME", "MODE", "OWNER", "SEEN", "REDIRECTED", "PASSED", "MALFORMED", "NO SOCKET"],
                    &rows,
                )?;
            }
        }
        BpfCommand::Detach { .. } => {
            let removed = callguard_xdp::detach_callguard_programs(&iface)?;
            if json {
                let ids: Vec<u32> = removed.iter().map(|p| p.id).collect();
                print_json(&serde_json::json!({ "interface": iface, "detached": ids }))?;
            } else if removed.is_empty() {
                println!("{iface}: no callguard XDP program to detach");
            } else {
                for p in &removed {
                    println!("{iface}: detached {} (id {}, {})", p.name, p.id, p.mode.as_str());
                }
            }
        }
    }
    Ok(())
}

fn status(program: AttachedProgram) -> ProgramStatus {
    let counters =
        program.is_callguard().then(|| callguard_xdp::counters_of(&program).ok().map(Counters::from)).flatten();
    ProgramStatus {
        id: program.id,
        mode: program.mode.as_str(),
        callguard: program.is_callguard(),
        name: program.name,
        counters,
    }
}

fn row(p: &ProgramStatus) -> Vec<String> {
    let count = |f: fn(&Counters) -> u64| p.counters.as_ref().map_or("-".to_owned(), |c| f(c).to_string());
    vec![
        p.id.to_string(),
        p.name.clone(),
        p.mode.to_owned(),
        if p.callguard { "callguard".into() } else { "other".into() },
        count(|c| c.seen),
        count(|c| c.redirected),
        count(|c| c.passed),
        count(|c| c.malformed),
        count(|c| c.no_socket),
    ]
}
