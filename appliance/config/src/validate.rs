//! Checks that types alone cannot express.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;

use crate::{Config, Problem, SipTransport};

/// Longest Unix socket path the kernel accepts (`sun_path` less its NUL).
const MAX_SOCKET_PATH: usize = 107;
/// SMPP 3.4 field limits, without the terminating NUL.
const MAX_SYSTEM_ID: usize = 15;
const MAX_PASSWORD: usize = 8;

pub(crate) fn check(config: &Config) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |key: String, message: String| problems.push(Problem { key, message });

    if config.appliance.name.trim().is_empty() || config.appliance.name.chars().any(char::is_control) {
        problem("appliance.name".into(), "must be a non-empty name without control characters".into());
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.log.level) {
        problem("log.level".into(), format!("`{}` is not a log filter: {e}", config.log.level));
    }
    if let Some(socket) = &config.control.socket {
        check_socket_path(socket, "control.socket", &mut problem);
    } else if let Some(dir) = &config.appliance.state_dir {
        check_socket_path(&dir.join("control.sock"), "appliance.state_dir", &mut problem);
    }

    check_sip(config, &mut problem);
    check_media(config, &mut problem);
    check_speech(config, &mut problem);
    if let Some(t) = config.detection.warn_threshold
        && !(t > 0.0 && t < 1.0)
    {
        problem("detection.warn_threshold".into(), format!("{t} is not a probability between 0 and 1 (exclusive)"));
    }
    check_sms(config, &mut problem);
    problems
}

fn check_socket_path(path: &Path, key: &str, problem: &mut impl FnMut(String, String)) {
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        problem(
            key.into(),
            format!("{} is longer than the {MAX_SOCKET_PATH} bytes a Unix socket path may have", path.display()),
        );
    }
}

fn check_sip(config: &Config, problem: &mut impl FnMut(String, String)) {
    let sip = &config.sip;
    if sip.listeners.is_empty() {
        problem("sip.listeners".into(), "at least one listener is needed to receive SIPREC sessions".into());
    }
    if sip.allowed_sources.is_empty() {
        problem(
            "sip.allowed_sources".into(),
            "empty: no SBC could open a session; list the SBCs' addresses or networks".into(),
        );
    }
    if !(400..=699).contains(&sip.decline_status) {
        problem("sip.decline_status".into(), format!("{} is not a SIP failure status (400-699)", sip.decline_status));
    }
    if sip.max_new_sessions_per_second == 0 {
        problem("sip.max_new_sessions_per_second".into(), "0 would refuse every session".into());
    }
    if sip.min_session_expires < 90 {
        problem("sip.min_session_expires".into(), "RFC 4028 requires at least 90 seconds".into());
    }
    // UDP and TCP may share a port; TCP and TLS both bind TCP sockets.
    let mut bound: HashSet<(bool, SocketAddr)> = HashSet::new();
    for (i, listener) in sip.listeners.iter().enumerate() {
        let key = format!("sip.listeners[{i}]");
        if listener.address.port() == 0 {
            problem(format!("{key}.address"), "port 0 is not a listening port".into());
        }
        let is_tcp = listener.transport != SipTransport::Udp;
        if !bound.insert((is_tcp, listener.address)) {
            problem(
                format!("{key}.address"),
                format!(
                    "{} is already used by another {} listener",
                    listener.address,
                    if is_tcp { "TCP/TLS" } else { "UDP" }
                ),
            );
        }
        let tls_files = [
            ("certificate", &listener.certificate),
            ("private_key", &listener.private_key),
            ("client_ca", &listener.client_ca),
        ];
        if listener.transport == SipTransport::Tls {
            for (name, file) in tls_files {
                match file {
                    Some(path) => check_readable(path, &format!("{key}.{name}"), problem),
                    None if name != "client_ca" => {
                        problem(format!("{key}.{name}"), "a tls listener needs a PEM file here".into())
                    }
                    None => {}
                }
            }
            if !listener.client_names.is_empty() && listener.client_ca.is_none() {
                problem(format!("{key}.client_names"), "client names are checked only with client_ca set".into());
            }
            for (j, name) in listener.client_names.iter().enumerate() {
                let valid = !name.is_empty()
                    && name
                        .split('.')
                        .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
                if !valid {
                    problem(format!("{key}.client_names[{j}]"), format!("`{name}` is not a DNS name"));
                }
            }
        } else {
            if !listener.client_names.is_empty() {
                problem(
                    format!("{key}.client_names"),
                    format!("only tls listeners check client names, this one is {}", listener.transport),
                );
            }
            for (name, file) in tls_files {
                if file.is_some() {
                    problem(
                        format!("{key}.{name}"),
                        format!("only tls listeners take TLS files, this one is {}", listener.transport),
                    );
                }
            }
        }
    }
}

fn check_readable(path: &Path, key: &str, problem: &mut impl FnMut(String, String)) {
    match std::fs::File::open(path) {
        Ok(file) if file.metadata().is_ok_and(|m| m.is_file()) => {}
        Ok(_) => problem(key.into(), format!("{} is not a regular file", path.display())),
        Err(e) => problem(key.into(), format!("cannot read {}: {e}", path.display())),
    }
}

fn check_speech(config: &Config, problem: &mut impl FnMut(String, String)) {
    let speech = &config.speech;
    let name_ok = !speech.model.is_empty()
        && !speech.model.starts_with('.')
        && speech.model.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !name_ok {
        problem(
            "speech.model".into(),
            format!(
                "`{}` is not a model name (letters, digits, `.`, `_`, `-`): see `callguard models list`",
                speech.model
            ),
        );
    }
    if !(1..=64).contains(&speech.states) {
        problem("speech.states".into(), format!("{} is outside 1..=64", speech.states));
    }
    if !(1..=256).contains(&speech.threads) {
        problem("speech.threads".into(), format!("{} is outside 1..=256", speech.threads));
    }
    if !(200..=5000).contains(&speech.end_silence_ms) {
        problem("speech.end_silence_ms".into(), format!("{} is outside 200..=5000", speech.end_silence_ms));
    }
    if !(1..=30).contains(&speech.max_utterance_seconds) {
        problem(
            "speech.max_utterance_seconds".into(),
            format!("{} is outside 1..=30 (whisper's window is 30 s)", speech.max_utterance_seconds),
        );
    }
}

fn check_media(config: &Config, problem: &mut impl FnMut(String, String)) {
    let ranges = &config.media.rtp_ports;
    if ranges.is_empty() {
        problem("media.rtp_ports".into(), "at least one port range is needed for RTP".into());
    }
    if config.media.codecs.is_empty() {
        problem("media.codecs".into(), format!("at least one codec is needed: {}", crate::KNOWN_CODECS.join(", ")));
    }
    for (i, codec) in config.media.codecs.iter().enumerate() {
        if !crate::KNOWN_CODECS.iter().any(|k| k.eq_ignore_ascii_case(codec)) {
            problem(
                format!("media.codecs[{i}]"),
                format!("`{codec}` is not one of {}", crate::KNOWN_CODECS.join(", ")),
            );
        }
    }
    if config.media.source != crate::MediaSource::Socket && config.media.interface.is_none() {
        problem(
            "media.interface".into(),
            "af_xdp and af_packet capture need the interface the media arrives on".into(),
        );
    }
    if let Some(interface) = &config.media.interface {
        // Linux interface names: 1-15 bytes, no '/', no whitespace.
        if interface.is_empty() || interface.len() > 15 || interface.contains(['/', ' ']) {
            problem("media.interface".into(), format!("`{interface}` is not a network interface name"));
        }
    }
    if config.media.timeout_seconds == 0 {
        problem("media.timeout_seconds".into(), "0 would end every call at once".into());
    }
    for (i, range) in ranges.iter().enumerate() {
        let key = format!("media.rtp_ports[{i}]");
        if range.first < 1024 {
            problem(key.clone(), format!("{range} includes privileged ports; use ports from 1024 up"));
        }
        if range.last - range.first < 1 {
            problem(key.clone(), format!("{range} has room for no RTP/RTCP pair; give at least two ports"));
        }
        for (j, other) in ranges.iter().enumerate().take(i) {
            if range.overlaps(other) {
                problem(key.clone(), format!("{range} overlaps media.rtp_ports[{j}] ({other})"));
            }
        }
    }
}

fn check_sms(config: &Config, problem: &mut impl FnMut(String, String)) {
    let sender = &config.sms.sender;
    let numeric = sender.strip_prefix('+').unwrap_or(sender);
    let is_number = !numeric.is_empty() && numeric.len() <= 15 && numeric.bytes().all(|b| b.is_ascii_digit());
    let is_alphanumeric =
        !sender.is_empty() && sender.len() <= 11 && sender.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ');
    if !is_number && !is_alphanumeric {
        problem(
            "sms.sender".into(),
            format!(
                "`{sender}` is neither an alphanumeric sender (1-11 letters, digits, spaces) nor a number (up to 15 digits)"
            ),
        );
    }
    let mut names = HashSet::new();
    for (i, smsc) in config.sms.smsc.iter().enumerate() {
        let key = format!("sms.smsc[{i}]");
        if smsc.name.trim().is_empty() || !names.insert(smsc.name.as_str()) {
            problem(format!("{key}.name"), format!("`{}` must be a non-empty name used by one SMSC only", smsc.name));
        }
        if let Err(why) = check_host_port(&smsc.address) {
            problem(format!("{key}.address"), why);
        }
        if smsc.system_id.is_empty() || smsc.system_id.len() > MAX_SYSTEM_ID {
            problem(format!("{key}.system_id"), format!("SMPP allows 1 to {MAX_SYSTEM_ID} characters"));
        }
        if smsc.password.expose().len() > MAX_PASSWORD {
            problem(format!("{key}.password"), format!("SMPP 3.4 allows at most {MAX_PASSWORD} characters"));
        }
    }
}

fn check_host_port(address: &str) -> Result<(), String> {
    if address.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let bad = || format!("`{address}` is not HOST:PORT (use [ADDR]:PORT for IPv6)");
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let valid_host = !host.is_empty()
        && host.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    match port.parse::<u16>() {
        Ok(p) if p != 0 && valid_host => Ok(()),
        _ => Err(bad()),
    }
}
