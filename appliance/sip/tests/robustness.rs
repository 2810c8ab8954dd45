//! Hostile and broken input: nothing may panic, and whatever parses must
//! survive a serialise/parse round trip unchanged.

use callguard_sip::{FramingLimits, MultipartBody, SipMessage, frame_stream};

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["torture", "siprec"] {
        let path = format!("{}/tests/data/{dir}", env!("CARGO_MANIFEST_DIR"));
        let mut entries: Vec<_> = std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries.into_iter().filter(|p| p.extension().is_some_and(|e| e == "sip")) {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    assert!(out.len() > 50);
    out
}

/// Run every entry point on `input`; check the round trip when it parses.
fn exercise(input: &[u8]) {
    let _ = frame_stream(input, &FramingLimits::default());
    let _ = MultipartBody::parse(input, "7a9cbec02ceef655");
    if let Ok(m) = SipMessage::parse(input) {
        let bytes = m.to_bytes();
        let again = SipMessage::parse(&bytes).expect("serialised form parses");
        assert_eq!(again, m);
        let h = m.headers();
        let _ = (h.vias(), h.from(), h.to(), h.call_id(), h.cseq(), h.contacts());
        let _ = (h.max_forwards(), h.content_type(), h.session_expires(), h.min_se());
        match &m {
            SipMessage::Request(r) => {
                let _ = r.validate();
                let _ = r.multipart();
            }
            SipMessage::Response(r) => {
                let _ = r.validate();
                let _ = r.multipart();
            }
        }
    }
}

#[test]
fn truncation_at_every_byte() {
    for (name, data) in fixtures() {
        for cut in 0..=data.len() {
            exercise(&data[..cut]);
        }
        // A stream frame is never claimed before the whole message is there.
        if let Ok(callguard_sip::Frame::Complete { keepalive, len }) = frame_stream(&data, &FramingLimits::default()) {
            for cut in 0..keepalive + len {
                assert!(
                    matches!(
                        frame_stream(&data[..cut], &FramingLimits::default()),
                        Ok(callguard_sip::Frame::Incomplete { .. })
                    ),
                    "{name} cut at {cut}"
                );
            }
        }
    }
}

/// A deterministic generator, so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn byte_flips_and_garbage() {
    let mut rng = Lcg(0x5eed);
    for (_, data) in fixtures() {
        for _ in 0..40 {
            let mut d = data.clone();
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() as usize) % d.len();
                d[i] = b"\r\n :;,<>\"\\%@=/\0\xff"[(rng.next() % 16) as usize];
            }
            exercise(&d);
        }
    }
    for len in [0, 1, 2, 3, 10, 100, 1000, 5000] {
        let garbage: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        exercise(&garbage);
    }
}

#[test]
fn huge_header_counts_and_empty_headers() {
    let mut m = b"OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n".to_vec();
    for i in 0..20_000 {
        m.extend_from_slice(format!("X-H{i}:\r\nRoute: <sip:p{i}.example.com;lr>\r\n").as_bytes());
    }
    m.extend_from_slice(b"\r\n");
    let parsed = SipMessage::parse(&m).unwrap();
    assert_eq!(parsed.headers().len(), 40_001);
    assert_eq!(parsed.headers().name_addrs(&callguard_sip::HeaderName::ROUTE).unwrap().len(), 20_000);
    exercise(&m);
    let limits = FramingLimits::default();
    assert!(frame_stream(&m, &limits).is_err(), "header section over the limit");
}

#[test]
fn odd_but_complete_inputs() {
    for input in [
        &b"\r\n\r\n\r\n"[..],
        b"\n\n",
        b"SIP/2.0 200 OK\r\n\r\n",
        b"SIP/2.0 200\n\n",
        b"A B SIP/2.0\r\n\r\n",
        b"INVITE sip:x SIP/2.0\r\n:\r\n\r\n",
        b"INVITE sip:x SIP/2.0\r\nA:\r\n \r\n\t\r\n\r\n",
        b"INVITE sip:x SIP/2.0\r\nl: 99999999999999999999999\r\n\r\n",
        b"INVITE sip:[::1]:0 SIP/2.0\r\n\r\n",
        b"INVITE sips:%41@h SIP/2.0\r\nContent-Type: multipart/mixed;boundary=\"\"\r\n\r\n",
        b"SIP/2.0 200 OK\r\nContent-Type: multipart/x;boundary=b\r\n\r\n--b\r\n--b--",
    ] {
        exercise(input);
    }
}
