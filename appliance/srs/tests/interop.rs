//! What real SBCs send, through the whole SRS: vendor metadata shapes,
//! single mixed streams, bare LF, extra body parts, and the RFC 4475
//! torture messages.
//!
//! The vendor metadata fixtures are the metadata crate's, with their
//! fictitious +1 555 numbers mapped to numbers the numbering plan accepts
//! (+1 555 NNN NNNN becomes +1 201 555 NNNN), since the register only holds
//! valid numbers.

mod harness;

use std::collections::HashSet;
use std::path::Path;

use callguard_numbers::E164;
use callguard_srs::{CallEvent, CallStarted, LegRole};
use harness::*;

fn metadata_fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../siprec-metadata/tests/data").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("+1555") {
        let digits: String = rest[at + 5..].chars().take(7).collect();
        out.push_str(&rest[..at]);
        if digits.len() == 7 && digits.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("+1201555{}", &digits[3..]));
            rest = &rest[at + 12..];
        } else {
            out.push_str("+1555");
            rest = &rest[at + 5..];
        }
    }
    out.push_str(rest);
    out
}

fn offer(labels: &[&str]) -> String {
    let mut text = String::from("v=0\r\no=SBC 7 1 IN IP4 198.18.0.10\r\ns=-\r\nc=IN IP4 198.18.0.10\r\nt=0 0\r\n");
    for (i, label) in labels.iter().enumerate() {
        text.push_str(&format!(
            "m=audio {} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=label:{label}\r\na=sendonly\r\n",
            46000 + 2 * i
        ));
    }
    text
}

/// Sends an INVITE with `sdp` and `metadata` for `subscriber` and returns the session it started.
fn start(subscriber: &str, sdp: &str, metadata: &str, metadata_type: &str) -> Box<CallStarted> {
    let mut h = Harness::new();
    h.register = Registered(HashSet::from([subscriber.to_owned()]));
    let body = format!(
        "--b1\r\nContent-Type: application/sdp\r\n\r\n{sdp}--b1\r\nContent-Type: {metadata_type}\r\n\r\n{metadata}\r\n--b1--\r\n"
    );
    let mut invite = Req::new("INVITE", "vendor-1", "v1");
    invite.body = Some(("multipart/mixed; boundary=\"b1\"".into(), body));
    let out = h.send(&invite.text());
    assert_eq!(statuses(&out), [100, 200], "{out:?}");
    match events(&out)[..] {
        [CallEvent::Started(started)] => started.clone(),
        _ => panic!("no CallStarted: {out:?}"),
    }
}

fn roles(started: &CallStarted) -> Vec<LegRole> {
    started.streams.iter().map(|s| s.role).collect()
}

#[test]
fn oracle_pre_rfc_metadata_with_apkt_headers() {
    let started = start(
        "+12015550002",
        &offer(&["16777227", "16777228"]),
        &metadata_fixture("oracle_prerfc_apkt.xml"),
        "application/rs-metadata+xml",
    );
    assert_eq!(roles(&started), [LegRole::Caller, LegRole::Subscriber]);
    assert_eq!(started.caller.as_ref().map(E164::as_str), Some("+12015552222"));
    let signaling = &started.signaling;
    assert!(signaling.p_asserted_identity.iter().any(|p| p.contains("+12015552222")), "{signaling:?}");
    assert_eq!(signaling.verstat.as_deref(), Some("TN-Validation-Passed"));
    assert!(signaling.forwarded_headers.iter().any(|(name, _)| name == "Diversion"), "{signaling:?}");
}

#[test]
fn ribbon_tns_metadata_with_calldata_and_the_originator_on_label_2() {
    let started = start(
        "+12015550003",
        &offer(&["1", "2"]),
        &metadata_fixture("ribbon_tns_calldata.xml"),
        "application/rs-metadata",
    );
    assert_eq!(roles(&started), [LegRole::Subscriber, LegRole::Caller]);
    assert_eq!(started.caller.as_ref().map(E164::as_str), Some("+12015554444"));
    assert_eq!(started.signaling.verstat.as_deref(), Some("TN-Validation-Failed"));
    assert!(started.signaling.from.as_deref().is_some_and(|f| f.contains("+12015554444")), "{:?}", started.signaling);
}

#[test]
fn broadworks_single_mixed_stream() {
    let started = start(
        "+12025550143",
        &offer(&["1"]),
        &metadata_fixture("broadworks_recording_metadata.xml"),
        "application/rs-metadata+xml",
    );
    assert_eq!(roles(&started), [LegRole::Mixed]);
    assert_eq!(started.subscriber.as_str(), "+12025550143");
    assert_eq!(started.caller.as_ref().map(E164::as_str), Some("+12015556666"));
}

#[test]
fn bare_lf_line_endings_with_exact_content_length() {
    let mut h = Harness::new();
    let text = siprec_invite("lf-1", "lf1").text();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let body = body.replace("\r\n", "\n");
    let head = head.replace("\r\n", "\n");
    let head = head
        .lines()
        .map(|l| if l.starts_with("Content-Length") { format!("Content-Length: {}", body.len()) } else { l.to_owned() })
        .collect::<Vec<_>>()
        .join("\n");
    let out = h.send(&format!("{head}\n\n{body}"));
    assert_eq!(statuses(&out), [100, 200], "{out:?}");
}

#[test]
fn extra_body_parts_are_ignored() {
    let mut h = Harness::new();
    let mut invite = siprec_invite("gtd-1", "g1");
    let (content_type, body) = invite.body.take().unwrap();
    let body = body.replace("--b1--", "--b1\r\nContent-Type: application/gtd\r\n\r\nIAM,\r\nPRN,isdn*,,NT*,\r\n--b1--");
    invite.body = Some((content_type, body));
    let out = h.send(&invite.text());
    assert_eq!(statuses(&out), [100, 200]);
}

#[test]
fn rfc_4475_torture_messages_never_disturb_the_srs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sip/tests/data/torture");
    let mut h = Harness::new();
    // A live session that must survive whatever follows.
    let out = h.send(&siprec_invite("survivor", "s0").text());
    assert_eq!(statuses(&out), [100, 200]);
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let mut out = Vec::new();
        h.srs.handle(&bytes, sbc(false), h.now, &h.register, &mut h.entropy, &mut out);
        seen += 1;
    }
    assert!(seen >= 40, "only {seen} torture messages found in {}", dir.display());
    let live: Vec<String> = h.srs.sessions().into_iter().map(|s| s.call_id).collect();
    assert!(live.contains(&"survivor".to_owned()), "{live:?}");
}
