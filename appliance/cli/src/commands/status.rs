//! `callguard status`: the running daemon's state.

use callguard_daemon::control::{self, ControlError, Request, Response};
use callguard_daemon::{Paths, Status};

use crate::cli::GlobalArgs;
use crate::failure::Failure;
use crate::output::print_json;

/// Asks the daemon for its status and prints it.
pub fn status(global: &GlobalArgs, json: bool) -> Result<(), Failure> {
    let (config, _) = super::load_config(global)?;
    let socket = Paths::of(&config).control_socket;
    let status = match control::request(&socket, &Request::Status) {
        Ok(Response::Status(status)) => status,
        Ok(other) => return Err(Failure::runtime(ControlError::Protocol(format!("unexpected answer {other:?}")))),
        Err(e) if json => {
            print_json(&serde_json::json!({ "state": "stopped", "error": e.to_string() }))?;
            return Err(Failure::silent(1));
        }
        Err(e) => return Err(Failure::runtime(e)),
    };
    if json {
        print_json(&status)?;
    } else {
        print_human(&status);
    }
    Ok(())
}

/// Prints the daemon's metrics (Prometheus text format).
pub fn metrics(global: &GlobalArgs) -> Result<(), Failure> {
    let (config, _) = super::load_config(global)?;
    match control::request(&Paths::of(&config).control_socket, &Request::Metrics)? {
        Response::Metrics { text } => {
            print!("{text}");
            Ok(())
        }
        other => Err(Failure::runtime(ControlError::Protocol(format!("unexpected answer {other:?}")))),
    }
}

fn print_human(s: &Status) {
    let state = serde_json::to_value(s.state).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    println!(
        "callguard \"{}\": {state}, up {} (pid {}, version {})",
        s.name,
        humantime::format_duration(std::time::Duration::from_secs(s.uptime_seconds)),
        s.pid,
        s.version
    );
    println!("  config        {}", s.config);
    println!("  state dir     {}", s.state_dir);
    println!("  subscribers   {} ({} opted in)", s.subscribers.total, s.subscribers.opted_in);
    println!("  alerts (24h)  {}", s.alerts_last_24h);
    if let Some(sip) = &s.sip {
        println!("  SIP           {}", sip.listeners.join(", "));
        println!(
            "  sessions      {} live, {} started, {} declined, {} from unknown sources, {} rate-limited, {} malformed",
            sip.sessions, sip.sessions_started, sip.declined, sip.forbidden_sources, sip.rate_limited, sip.malformed
        );
        println!("  RTP ports     {} of {} in use", sip.rtp_ports_in_use, sip.rtp_ports_total);
    }
    let sp = &s.speech;
    let mut speech = sp.state.clone();
    if let Some(pid) = sp.pid {
        speech.push_str(&format!(" (pid {pid}, model {})", sp.model));
    }
    if sp.restarts > 0 {
        speech.push_str(&format!(", {} restart(s)", sp.restarts));
    }
    if let Some(error) = &sp.last_error {
        speech.push_str(&format!(", last down: {error}"));
    }
    println!("  speech        {speech}");
    let o = &s.sms.outbox;
    let delivery = if s.sms.smscs.is_empty() {
        "no SMSC configured: outbox only".to_owned()
    } else {
        format!("SMSC {}", s.sms.smscs.join(", "))
    };
    println!(
        "  SMS           {delivery} ({} pending, {} submitted, {} delivered, {} failed)",
        o.pending, o.submitted, o.delivered, o.failed
    );
}
