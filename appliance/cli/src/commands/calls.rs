//! `callguard calls list`: live SIPREC sessions, from the running daemon.

use callguard_daemon::Paths;
use callguard_daemon::control::{self, ControlError, Request, Response};

use crate::cli::{CallsCommand, GlobalArgs};
use crate::failure::Failure;
use crate::output::{print_json, print_table};

/// Runs a `calls` subcommand.
pub fn calls(global: &GlobalArgs, command: CallsCommand) -> Result<(), Failure> {
    let CallsCommand::List(args) = command;
    let (config, _) = super::load_config(global)?;
    let calls = match control::request(&Paths::of(&config).control_socket, &Request::Calls)? {
        Response::Calls { calls } => calls,
        other => return Err(Failure::runtime(ControlError::Protocol(format!("unexpected answer {other:?}")))),
    };
    if args.json {
        print_json(&calls)?;
        return Ok(());
    }
    if calls.is_empty() {
        println!("no live calls");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = calls
        .iter()
        .flat_map(|call| {
            call.streams.iter().map(move |s| {
                vec![
                    call.call_id.clone(),
                    call.subscriber.clone(),
                    call.caller.clone().unwrap_or_else(|| "unknown".into()),
                    format!("{}s", call.age_seconds),
                    s.role.clone(),
                    format!("{}{}", s.codec, if s.active { "" } else { " (held)" }),
                    if s.receiving { s.local_port.to_string() } else { format!("{} (not open)", s.local_port) },
                    s.packets.to_string(),
                    match &call.speech {
                        Some(speech) => format!("{}, {} utterances", speech.state, speech.utterances),
                        None => "off".into(),
                    },
                ]
            })
        })
        .collect();
    print_table(&["CALL", "SUBSCRIBER", "CALLER", "AGE", "LEG", "CODEC", "PORT", "PACKETS", "SPEECH"], &rows)?;
    Ok(())
}
