//! Message bodies to bytes and back. Pure: no I/O. The JSON is parsed by
//! serde_json into the message types, then every field is checked against
//! its bound; the encoder applies the same checks, so a peer never gets a
//! message it must refuse.

use crate::message::{JudgeRequest, Reply, Request, Verdict};
use crate::{
    MAX_DEADLINE_MS, MAX_FRAME_BYTES, MAX_GENERATED_TOKENS, MAX_MESSAGE_BYTES, MAX_NAME_BYTES, MAX_REASON_CHARS,
    MAX_SIGNALING_BYTES, MAX_TACTIC_BYTES, MAX_TACTICS, MAX_TRANSCRIPT_BYTES,
};

/// A body that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON of a known message: malformed, truncated, a missing,
    /// unknown or duplicated field, a value of the wrong type, an unknown
    /// kind. The position, not serde_json's message: that can quote the
    /// text.
    #[error("malformed message ({category}) at line {line} column {column} (peer speaks another protocol version?)")]
    Json {
        /// `syntax`, `data` (the wrong shape) or `eof` (ends too early).
        category: &'static str,
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1.
        column: usize,
    },
    /// A field over its limit.
    #[error("{field} of {len} is over the limit of {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length (bytes, characters or items, as the limit counts).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field with a value outside its domain.
    #[error("invalid {field}: {why}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// A message that may not be sent (the sender's bug, not the peer's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A field over its limit.
    #[error("cannot encode: {field} of {len} is over the limit of {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field with a value outside its domain.
    #[error("cannot encode: invalid {field}: {why}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// A broken rule, before it is told as a decode or an encode error.
enum Violation {
    TooLong { field: &'static str, len: usize, max: usize },
    Invalid { field: &'static str, why: &'static str },
}

impl From<Violation> for DecodeError {
    fn from(v: Violation) -> Self {
        match v {
            Violation::TooLong { field, len, max } => DecodeError::TooLong { field, len, max },
            Violation::Invalid { field, why } => DecodeError::Invalid { field, why },
        }
    }
}

impl From<Violation> for EncodeError {
    fn from(v: Violation) -> Self {
        match v {
            Violation::TooLong { field, len, max } => EncodeError::TooLong { field, len, max },
            Violation::Invalid { field, why } => EncodeError::Invalid { field, why },
        }
    }
}

fn at_most(field: &'static str, len: usize, max: usize) -> Result<(), Violation> {
    if len > max { Err(Violation::TooLong { field, len, max }) } else { Ok(()) }
}

/// Whether `code` is a tactic code: 1 to [`MAX_TACTIC_BYTES`] bytes of
/// ASCII lower-case letters, digits and `_`, starting with a letter
/// (`bank_impersonation`, `gift_card_payment`).
pub fn is_tactic_code(code: &str) -> bool {
    let bytes = code.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_TACTIC_BYTES
        && bytes[0].is_ascii_lowercase()
        && bytes.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn check_judge(r: &JudgeRequest) -> Result<(), Violation> {
    at_most("transcript", r.transcript.len(), MAX_TRANSCRIPT_BYTES)?;
    at_most("signaling", r.signaling.len(), MAX_SIGNALING_BYTES)?;
    at_most("max_tokens", usize::from(r.max_tokens), usize::from(MAX_GENERATED_TOKENS))?;
    at_most("deadline_ms", r.deadline_ms as usize, MAX_DEADLINE_MS as usize)?;
    if r.max_tokens == 0 {
        return Err(Violation::Invalid { field: "max_tokens", why: "zero" });
    }
    if r.deadline_ms == 0 {
        return Err(Violation::Invalid { field: "deadline_ms", why: "zero" });
    }
    Ok(())
}

fn check_verdict(v: &Verdict) -> Result<(), Violation> {
    if !(v.scam_probability.is_finite() && (0.0..=1.0).contains(&v.scam_probability)) {
        return Err(Violation::Invalid { field: "scam_probability", why: "not a number within 0..=1" });
    }
    at_most("tactics", v.tactics.len(), MAX_TACTICS)?;
    if !v.tactics.iter().all(|t| is_tactic_code(t)) {
        return Err(Violation::Invalid { field: "tactics", why: "not an identifier of lower-case letters, digits, _" });
    }
    at_most("reason", v.reason.chars().count(), MAX_REASON_CHARS)
}

fn check_request(request: &Request) -> Result<(), Violation> {
    match request {
        Request::Judge(r) => check_judge(r),
        Request::Forget { .. } | Request::Ping { .. } => Ok(()),
    }
}

fn check_reply(reply: &Reply) -> Result<(), Violation> {
    match reply {
        Reply::Hello(h) => {
            at_most("model", h.model.len(), MAX_NAME_BYTES)?;
            at_most("version", h.version.len(), MAX_NAME_BYTES)
        }
        Reply::Verdict(v) => check_verdict(v),
        Reply::Error { message, .. } => at_most("message", message.len(), MAX_MESSAGE_BYTES),
        Reply::Pong { .. } => Ok(()),
    }
}

fn json_error(e: &serde_json::Error) -> DecodeError {
    let category = match e.classify() {
        serde_json::error::Category::Io => "io",
        serde_json::error::Category::Syntax => "syntax",
        serde_json::error::Category::Data => "data",
        serde_json::error::Category::Eof => "eof",
    };
    DecodeError::Json { category, line: e.line(), column: e.column() }
}

fn encode(value: &impl serde::Serialize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    // Writing to a Vec cannot fail, and the checks already refused what
    // JSON cannot carry (non-finite numbers).
    serde_json::to_writer(&mut *out, value)
        .map_err(|_| EncodeError::Invalid { field: "message", why: "not representable as JSON" })?;
    let len = out.len() - start;
    if len > MAX_FRAME_BYTES {
        zeroize::Zeroize::zeroize(&mut out[start..]);
        out.truncate(start);
        return Err(EncodeError::TooLong { field: "frame", len, max: MAX_FRAME_BYTES });
    }
    Ok(())
}

/// Appends the body of `request` to `out`.
pub fn encode_request(request: &Request, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    check_request(request)?;
    encode(request, out)
}

/// Appends the body of `reply` to `out`.
pub fn encode_reply(reply: &Reply, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    check_reply(reply)?;
    encode(reply, out)
}

/// Decodes one request body.
pub fn decode_request(body: &[u8]) -> Result<Request, DecodeError> {
    if body.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::TooLong { field: "frame", len: body.len(), max: MAX_FRAME_BYTES });
    }
    let request: Request = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    check_request(&request)?;
    Ok(request)
}

/// Decodes one reply body.
pub fn decode_reply(body: &[u8]) -> Result<Reply, DecodeError> {
    if body.len() > MAX_FRAME_BYTES {
        return Err(DecodeError::TooLong { field: "frame", len: body.len(), max: MAX_FRAME_BYTES });
    }
    let reply: Reply = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    check_reply(&reply)?;
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Hello, TokenCounts};

    fn judge() -> JudgeRequest {
        JudgeRequest {
            id: 7,
            call: 42,
            transcript: "caller: This is your bank, read me the code.\ncallee: \"Which\" code?\u{1}é".into(),
            signaling: "caller ID not attested".into(),
            max_tokens: 64,
            deadline_ms: 3000,
        }
    }

    fn verdict() -> Verdict {
        Verdict {
            id: 7,
            scam_probability: 0.82,
            tactics: vec!["bank_impersonation".into(), "otp_request".into()],
            reason: "The caller claims to be your bank and asks for a code.".into(),
            tokens: TokenCounts { prompt: 120, reused: 480, generated: 41 },
            elapsed_us: 912_000,
        }
    }

    fn with<T>(mut value: T, change: impl FnOnce(&mut T)) -> T {
        change(&mut value);
        value
    }

    fn requests() -> Vec<Request> {
        vec![Request::Judge(judge()), Request::Forget { call: u64::MAX }, Request::Ping { nonce: 9 }]
    }

    fn replies() -> Vec<Reply> {
        vec![
            Reply::Hello(Hello { protocol: 1, model: "m.gguf".into(), version: "0.1.0".into(), ctx: 2048 }),
            Reply::Verdict(verdict()),
            Reply::Verdict(with(verdict(), |v| {
                v.scam_probability = 0.0;
                v.tactics.clear();
                v.reason.clear();
            })),
            Reply::Error { id: Some(7), message: "timeout: after 3000 ms".into() },
            Reply::Error { id: None, message: String::new() },
            Reply::Pong { nonce: 9 },
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for request in requests() {
            let mut body = Vec::new();
            encode_request(&request, &mut body).unwrap();
            assert_eq!(decode_request(&body).unwrap(), request, "{}", String::from_utf8_lossy(&body));
        }
        for reply in replies() {
            let mut body = Vec::new();
            encode_reply(&reply, &mut body).unwrap();
            assert_eq!(decode_reply(&body).unwrap(), reply, "{}", String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn the_wire_is_the_documented_json() {
        let mut body = Vec::new();
        encode_request(&Request::Forget { call: 3 }, &mut body).unwrap();
        assert_eq!(body, br#"{"forget":{"call":3}}"#);
        let mut body = Vec::new();
        encode_reply(&Reply::Error { id: None, message: "x".into() }, &mut body).unwrap();
        assert_eq!(body, br#"{"error":{"id":null,"message":"x"}}"#);
        let hand =
            br#"{"judge":{"id":1,"call":2,"transcript":"caller: hi","signaling":"","max_tokens":8,"deadline_ms":50}}"#;
        let Request::Judge(r) = decode_request(hand).unwrap() else { panic!("not a judge") };
        assert_eq!((r.id, r.call, r.transcript.as_str(), r.max_tokens, r.deadline_ms), (1, 2, "caller: hi", 8, 50));
    }

    #[test]
    fn bounds_are_enforced_both_ways() {
        let long = Request::Judge(with(judge(), |r| r.transcript = "a".repeat(MAX_TRANSCRIPT_BYTES + 1)));
        assert!(matches!(
            encode_request(&long, &mut Vec::new()),
            Err(EncodeError::TooLong { field: "transcript", .. })
        ));
        let body = format!(
            r#"{{"judge":{{"id":1,"call":2,"transcript":"{}","signaling":"","max_tokens":8,"deadline_ms":50}}}}"#,
            "a".repeat(MAX_TRANSCRIPT_BYTES + 1)
        );
        assert!(matches!(decode_request(body.as_bytes()), Err(DecodeError::TooLong { field: "transcript", .. })));
        for bad in [
            with(verdict(), |v| v.scam_probability = 1.5),
            with(verdict(), |v| v.scam_probability = f32::NAN),
            with(verdict(), |v| v.tactics = vec!["Bank Impersonation".into()]),
            with(verdict(), |v| v.tactics = vec!["x".into(); MAX_TACTICS + 1]),
            with(verdict(), |v| v.reason = "é".repeat(MAX_REASON_CHARS + 1)),
        ] {
            assert!(encode_reply(&Reply::Verdict(bad), &mut Vec::new()).is_err());
        }
        assert!(
            encode_reply(
                &Reply::Verdict(with(verdict(), |v| v.reason = "é".repeat(MAX_REASON_CHARS))),
                &mut Vec::new()
            )
            .is_ok()
        );
        let zero = Request::Judge(with(judge(), |r| r.max_tokens = 0));
        assert!(matches!(
            encode_request(&zero, &mut Vec::new()),
            Err(EncodeError::Invalid { field: "max_tokens", .. })
        ));
        let out_of_range = br#"{"verdict":{"id":1,"scam_probability":-0.1,"tactics":[],"reason":"","tokens":{"prompt":0,"reused":0,"generated":0},"elapsed_us":0}}"#;
        assert!(matches!(decode_reply(out_of_range), Err(DecodeError::Invalid { field: "scam_probability", .. })));
    }

    #[test]
    fn garbled_bodies_are_refused_without_quoting_them() {
        let secret = "my PIN is 4719";
        for body in [
            format!(r#"{{"judge":{{"id":"{secret}"}}}}"#),
            format!(r#"{{"{secret}":{{}}}}"#),
            format!(r#"{{"ping":{{"nonce":1,"{secret}":2}}}}"#),
            format!(r#"{{"ping":{{"nonce":1}}}} {secret}"#),
            r#"{"ping":{"nonce":1,"nonce":2}}"#.to_owned(),
            r#"{"ping":{"nonce":1"#.to_owned(),
            String::new(),
            "\u{0}\u{1}\u{2}".to_owned(),
        ] {
            let err = decode_request(body.as_bytes()).unwrap_err();
            assert!(matches!(err, DecodeError::Json { .. }), "{body}: {err}");
            assert!(!err.to_string().contains("4719"), "{err}");
        }
        // A reply is not a request, nor the reverse.
        assert!(decode_request(br#"{"pong":{"nonce":1}}"#).is_err());
        assert!(decode_reply(br#"{"ping":{"nonce":1}}"#).is_err());
        assert!(decode_request(&vec![b' '; MAX_FRAME_BYTES + 1]).is_err());
    }

    #[test]
    fn debug_keeps_the_text_out() {
        let shown = format!("{:?} {:?}", Request::Judge(judge()), Reply::Verdict(verdict()));
        assert!(!shown.contains("bank") || shown.contains("bank_impersonation"), "{shown}");
        assert!(
            !shown.contains("read me the code") && !shown.contains("attested") && !shown.contains("claims"),
            "{shown}"
        );
    }

    #[test]
    fn tactic_codes_are_identifiers() {
        for good in ["bank_impersonation", "otp2", "a"] {
            assert!(is_tactic_code(good), "{good}");
        }
        for bad in ["", "Bank", "2fa", "gift card", "x-y", "é", &"a".repeat(MAX_TACTIC_BYTES + 1)] {
            assert!(!is_tactic_code(bad), "{bad}");
        }
    }
}
