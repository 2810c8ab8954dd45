//! Shared helpers for the integration tests.

use std::path::Path;

use callguard_sdp::{AnswerPolicy, MediaAllocator, SessionDescription, SrtpKeyMaterial};

/// Every fixture file, for the tests that go over all of them.
pub const FIXTURES: &[&str] = &[
    "two_streams_labels_1_2.sdp",
    "labels_0_1.sdp",
    "labels_10_20.sdp",
    "labels_large.sdp",
    "labels_a_leg_b_leg.sdp",
    "no_labels.sdp",
    "mixed_single_stream.sdp",
    "srtp_two_crypto.sdp",
    "opus_telephone_event.sdp",
    "unsupported_codecs.sdp",
    "ipv6.sdp",
    "bare_lf.sdp",
    "hold_reoffer.sdp",
    "reoffer_add_remove.sdp",
    "dtls_and_plain_savp.sdp",
];

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

pub fn fixture(name: &str) -> SessionDescription {
    SessionDescription::parse_bytes(&fixture_bytes(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// The SRS policy the tests answer with.
pub fn policy() -> AnswerPolicy {
    AnswerPolicy::new("callguard", 5001, "192.0.2.100".parse().unwrap())
}

/// Hands out ports 40000, 40002, ... and keys whose 30 bytes all equal
/// 0xA0 + stream index, recording every call.
pub struct TestAllocator {
    pub next_port: u16,
    pub port_calls: Vec<(usize, bool)>,
    pub key_calls: Vec<usize>,
    pub ports_exhausted: bool,
    pub keys_exhausted: bool,
}

impl TestAllocator {
    pub fn new() -> Self {
        Self::starting_at(40000)
    }

    pub fn starting_at(next_port: u16) -> Self {
        Self { next_port, port_calls: Vec::new(), key_calls: Vec::new(), ports_exhausted: false, keys_exhausted: false }
    }
}

impl MediaAllocator for TestAllocator {
    fn allocate_port(&mut self, index: usize, rtcp_mux: bool) -> Option<u16> {
        self.port_calls.push((index, rtcp_mux));
        if self.ports_exhausted {
            return None;
        }
        let port = self.next_port;
        self.next_port = self.next_port.wrapping_add(2);
        Some(port)
    }

    fn srtp_key(&mut self, index: usize) -> Option<SrtpKeyMaterial> {
        self.key_calls.push(index);
        if self.keys_exhausted {
            return None;
        }
        Some(SrtpKeyMaterial::new([0xA0 + u8::try_from(index).unwrap(); 30]))
    }
}

/// Joins expected lines with CRLF, as the serializer writes them.
pub fn sdp(lines: &[&str]) -> String {
    lines.iter().map(|line| format!("{line}\r\n")).collect()
}

/// Compares line by line first, so that a failure names the line.
pub fn assert_sdp(actual: &str, expected: &[&str]) {
    let actual_lines: Vec<&str> = actual.split("\r\n").filter(|line| !line.is_empty()).collect();
    for (number, (got, want)) in actual_lines.iter().zip(expected).enumerate() {
        assert_eq!(got, want, "line {} differs in:\n{actual}", number + 1);
    }
    assert_eq!(actual, sdp(expected), "line count differs");
}
