//! Hostile input: truncation at every byte, corrupted bytes, repeated lines,
//! oversized values. Nothing may panic; whatever parses must round-trip and
//! be answerable.

use callguard_sdp::{SessionDescription, answer_offer, answer_reoffer};

use crate::common::{FIXTURES, TestAllocator, fixture_bytes, policy};

/// Parses, and for anything that parses checks round trip and answer.
fn exercise(bytes: &[u8]) -> Result<(), usize> {
    let line_count = bytes.split(|byte| *byte == b'\n').count();
    match SessionDescription::parse_bytes(bytes) {
        Ok(sdp) => {
            let text = sdp.to_string();
            assert_eq!(SessionDescription::parse(&text).as_ref(), Ok(&sdp), "{text}");
            let answer = answer_offer(&sdp, &policy(), &mut TestAllocator::new());
            assert_eq!(answer.sdp.media.len(), sdp.media.len());
            let again = answer_reoffer(&answer, &sdp, &policy(), &mut TestAllocator::starting_at(50000));
            assert_eq!(again.sdp, answer.sdp);
            Ok(())
        }
        Err(error) => {
            assert!((1..=line_count).contains(&error.line()), "{error} outside 1..={line_count}");
            Err(error.line())
        }
    }
}

#[test]
fn truncation_at_every_byte_never_panics() {
    for name in FIXTURES {
        let bytes = fixture_bytes(name);
        let mut parsed = 0;
        for end in 0..=bytes.len() {
            if exercise(&bytes[..end]).is_ok() {
                parsed += 1;
            }
        }
        // Cuts inside the media sections still leave valid descriptions.
        assert!(parsed > 0, "{name}");
    }
}

#[test]
fn corrupting_any_byte_never_panics() {
    for name in ["srtp_two_crypto.sdp", "labels_large.sdp", "ipv6.sdp"] {
        let bytes = fixture_bytes(name);
        for position in 0..bytes.len() {
            for replacement in [b' ', b'\n', b'\r', b'0', b'9', b'/', b':', b'|', b'=', b'a', 0x00, 0xFF] {
                let mut corrupted = bytes.clone();
                corrupted[position] = replacement;
                let _ = exercise(&corrupted);
            }
        }
    }
}

#[test]
fn repeating_any_line_never_panics_and_points_at_a_real_line() {
    for name in ["two_streams_labels_1_2.sdp", "srtp_two_crypto.sdp"] {
        let text = String::from_utf8(fixture_bytes(name)).unwrap();
        let lines: Vec<&str> = text.split_inclusive("\r\n").collect();
        for index in 0..lines.len() {
            let mut doubled = lines.clone();
            doubled.insert(index, lines[index]);
            let outcome = exercise(doubled.concat().as_bytes());
            let repeated_line = index + 1;
            if let Err(line) = outcome {
                // The repeat is reported at the copy or after it, never before.
                assert!(line >= repeated_line, "{name}: line {line} for a repeat of line {repeated_line}");
            }
        }
    }
}

#[test]
fn oversized_values_are_refused_or_kept_without_panicking() {
    let huge = "9".repeat(10_000);
    let long_name = "x".repeat(100_000);
    for text in [
        format!("v=0\no=- {huge} 1 IN IP4 192.0.2.1\ns=-\n"),
        format!("v=0\no=- 1 1 IN IP4 192.0.2.1\ns={long_name}\nt=0 0\n"),
        format!("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nm=audio {huge} RTP/AVP 0\n"),
        format!("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 {long_name}\nm=audio 1 RTP/AVP 0\n"),
        format!("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nm=audio 1 RTP/AVP 0\na=crypto:1 X inline:{}\n", "A".repeat(4096)),
        format!("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nm=audio 1 RTP/AVP {}\n", "0 ".repeat(5000)),
    ] {
        if let Err(error) = SessionDescription::parse(&text) {
            assert!(error.to_string().chars().count() < 200, "{error}");
        }
        let _ = exercise(text.as_bytes());
    }
}

#[test]
fn many_streams_are_answered_in_order() {
    let mut text = String::from("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n");
    for index in 0..200 {
        text.push_str(&format!("m=audio {} RTP/AVP 0\r\na=label:{index}\r\n", 10_000 + index * 2));
    }
    let sdp = SessionDescription::parse(&text).unwrap();
    let answer = answer_offer(&sdp, &policy(), &mut TestAllocator::new());
    assert_eq!(answer.streams.len(), 200);
    for (index, stream) in answer.streams.iter().enumerate() {
        assert_eq!(stream.label.as_deref(), Some(index.to_string().as_str()));
    }
}
