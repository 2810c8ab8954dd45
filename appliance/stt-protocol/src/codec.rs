//! Message bodies to bytes and back. Pure: no I/O; every length read from
//! the input is checked against the bytes present and against its limit
//! before anything is allocated for it.

use std::time::Duration;

use callguard_speech::{AudioContext, DecodeOptions, Leg, Segment};

use crate::message::{Hello, Reply, Request, SegmentsReply, TranscribeRequest};
use crate::{
    MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, MAX_NAME_BYTES, MAX_PCM_SAMPLES, MAX_PROMPT_BYTES, MAX_SEGMENT_TEXT_BYTES,
    MAX_SEGMENTS,
};

/// Message kinds, the first byte of a body.
mod kind {
    pub const TRANSCRIBE: u8 = 0x01;
    pub const PING: u8 = 0x02;
    pub const HELLO: u8 = 0x81;
    pub const SEGMENTS: u8 = 0x82;
    pub const ERROR: u8 = 0x83;
    pub const PONG: u8 = 0x84;
}

/// A body that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The body ends inside a field.
    #[error("message truncated: {field} needs {needed} bytes, {available} left")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// An unknown message kind, or a reply where a request was expected
    /// (or the reverse).
    #[error("unknown message kind 0x{0:02x} (peer speaks another protocol version?)")]
    UnknownKind(u8),
    /// A field holds a value outside its enumeration.
    #[error("invalid {field}: {value}")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// The value read.
        value: u64,
    },
    /// A length field is over its limit.
    #[error("{field} of {len} is over the limit of {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// The length given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A text field is not UTF-8.
    #[error("{field} is not valid UTF-8")]
    NotUtf8 {
        /// The field.
        field: &'static str,
    },
    /// Bytes left after the message.
    #[error("{0} unexpected bytes after the message")]
    TrailingBytes(usize),
}

/// A message too large to send (the sender's bug, not the peer's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode: {field} of {len} is over the limit of {max}")]
pub struct EncodeError {
    /// The field.
    pub field: &'static str,
    /// Its length.
    pub len: usize,
    /// The limit.
    pub max: usize,
}

fn check(field: &'static str, len: usize, max: usize) -> Result<(), EncodeError> {
    if len > max { Err(EncodeError { field, len, max }) } else { Ok(()) }
}

fn put_str(out: &mut Vec<u8>, field: &'static str, s: &str, max: usize) -> Result<(), EncodeError> {
    check(field, s.len(), max)?;
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn leg_byte(leg: Leg) -> u8 {
    match leg {
        Leg::Caller => 0,
        Leg::Callee => 1,
    }
}

/// Appends the body of `request` to `out`.
pub fn encode_request(request: &Request, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match request {
        Request::Transcribe(r) => {
            check("pcm samples", r.pcm.len(), MAX_PCM_SAMPLES)?;
            out.push(kind::TRANSCRIBE);
            out.extend_from_slice(&r.id.to_le_bytes());
            out.push(leg_byte(r.leg));
            out.extend_from_slice(&micros(r.start).to_le_bytes());
            let (tag, value) = match r.options.audio_ctx {
                AudioContext::Full => (0u8, 0u16),
                AudioContext::Fit { margin } => (1, margin),
                AudioContext::Fixed(frames) => (2, frames),
            };
            out.push(tag);
            out.extend_from_slice(&value.to_le_bytes());
            put_str(out, "prompt", &r.prompt, MAX_PROMPT_BYTES)?;
            out.extend_from_slice(&(r.pcm.len() as u32).to_le_bytes());
            out.reserve(r.pcm.len() * 2);
            for s in &r.pcm {
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        Request::Ping { nonce } => {
            out.push(kind::PING);
            out.extend_from_slice(&nonce.to_le_bytes());
        }
    }
    Ok(())
}

/// Appends the body of `reply` to `out`.
pub fn encode_reply(reply: &Reply, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    match reply {
        Reply::Hello(h) => {
            out.push(kind::HELLO);
            out.extend_from_slice(&h.protocol.to_le_bytes());
            put_str(out, "model", &h.model, MAX_NAME_BYTES)?;
            put_str(out, "version", &h.version, MAX_NAME_BYTES)?;
            out.extend_from_slice(&h.states.to_le_bytes());
        }
        Reply::Segments(s) => {
            check("segments", s.segments.len(), MAX_SEGMENTS)?;
            out.push(kind::SEGMENTS);
            out.extend_from_slice(&s.id.to_le_bytes());
            out.extend_from_slice(&micros(s.elapsed).to_le_bytes());
            out.extend_from_slice(&(s.segments.len() as u16).to_le_bytes());
            for seg in &s.segments {
                out.extend_from_slice(&micros(seg.start).to_le_bytes());
                out.extend_from_slice(&micros(seg.end).to_le_bytes());
                out.extend_from_slice(&seg.confidence.to_le_bytes());
                put_str(out, "segment text", &seg.text, MAX_SEGMENT_TEXT_BYTES)?;
            }
        }
        Reply::Error { id, message } => {
            out.push(kind::ERROR);
            match id {
                Some(id) => {
                    out.push(1);
                    out.extend_from_slice(&id.to_le_bytes());
                }
                None => out.push(0),
            }
            put_str(out, "error message", message, MAX_MESSAGE_BYTES)?;
        }
        Reply::Pong { nonce } => {
            out.push(kind::PONG);
            out.extend_from_slice(&nonce.to_le_bytes());
        }
    }
    check("frame", out.len() - start, MAX_FRAME_BYTES)
}

/// Reads fields off the front of a body.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated { field, needed: n, available: self.rest.len() });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let bytes = self.take(field, N)?;
        let mut out = [0; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    fn duration(&mut self, field: &'static str) -> Result<Duration, DecodeError> {
        Ok(Duration::from_micros(self.u64(field)?))
    }

    fn string(&mut self, field: &'static str, max: usize) -> Result<String, DecodeError> {
        let len = usize::from(self.u16(field)?);
        if len > max {
            return Err(DecodeError::TooLong { field, len, max });
        }
        let bytes = self.take(field, len)?;
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| DecodeError::NotUtf8 { field })
    }

    fn end(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() { Ok(()) } else { Err(DecodeError::TrailingBytes(self.rest.len())) }
    }
}

/// Decodes a request body.
pub fn decode_request(body: &[u8]) -> Result<Request, DecodeError> {
    let mut f = Fields { rest: body };
    let request = match f.u8("kind")? {
        kind::TRANSCRIBE => {
            let id = f.u64("id")?;
            let leg = match f.u8("leg")? {
                0 => Leg::Caller,
                1 => Leg::Callee,
                other => return Err(DecodeError::InvalidValue { field: "leg", value: other.into() }),
            };
            let start = f.duration("start")?;
            let audio_ctx = match (f.u8("audio_ctx kind")?, f.u16("audio_ctx value")?) {
                (0, 0) => AudioContext::Full,
                // One encoding per value: a full window carries no number.
                (0, value) => return Err(DecodeError::InvalidValue { field: "audio_ctx value", value: value.into() }),
                (1, margin) => AudioContext::Fit { margin },
                (2, frames) => AudioContext::Fixed(frames),
                (other, _) => return Err(DecodeError::InvalidValue { field: "audio_ctx kind", value: other.into() }),
            };
            let prompt = f.string("prompt", MAX_PROMPT_BYTES)?;
            let samples = f.u32("pcm samples")? as usize;
            if samples > MAX_PCM_SAMPLES {
                return Err(DecodeError::TooLong { field: "pcm samples", len: samples, max: MAX_PCM_SAMPLES });
            }
            let bytes = f.take("pcm", samples * 2)?;
            let pcm = bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
            Request::Transcribe(TranscribeRequest { id, leg, start, prompt, options: DecodeOptions { audio_ctx }, pcm })
        }
        kind::PING => Request::Ping { nonce: f.u64("nonce")? },
        other => return Err(DecodeError::UnknownKind(other)),
    };
    f.end()?;
    Ok(request)
}

/// Decodes a reply body.
pub fn decode_reply(body: &[u8]) -> Result<Reply, DecodeError> {
    let mut f = Fields { rest: body };
    let reply = match f.u8("kind")? {
        kind::HELLO => Reply::Hello(Hello {
            protocol: f.u16("protocol")?,
            model: f.string("model", MAX_NAME_BYTES)?,
            version: f.string("version", MAX_NAME_BYTES)?,
            states: f.u16("states")?,
        }),
        kind::SEGMENTS => {
            let id = f.u64("id")?;
            let elapsed = f.duration("elapsed")?;
            let count = usize::from(f.u16("segment count")?);
            if count > MAX_SEGMENTS {
                return Err(DecodeError::TooLong { field: "segment count", len: count, max: MAX_SEGMENTS });
            }
            // Each segment takes at least 22 bytes: never reserve more
            // than the body could hold.
            let mut segments = Vec::with_capacity(count.min(f.rest.len() / 22));
            for _ in 0..count {
                segments.push(Segment {
                    start: f.duration("segment start")?,
                    end: f.duration("segment end")?,
                    confidence: f32::from_le_bytes(f.array("segment confidence")?),
                    text: f.string("segment text", MAX_SEGMENT_TEXT_BYTES)?,
                });
            }
            Reply::Segments(SegmentsReply { id, segments, elapsed })
        }
        kind::ERROR => {
            let id = match f.u8("error id flag")? {
                0 => None,
                1 => Some(f.u64("error id")?),
                other => return Err(DecodeError::InvalidValue { field: "error id flag", value: other.into() }),
            };
            Reply::Error { id, message: f.string("error message", MAX_MESSAGE_BYTES)? }
        }
        kind::PONG => Reply::Pong { nonce: f.u64("nonce")? },
        other => return Err(DecodeError::UnknownKind(other)),
    };
    f.end()?;
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcribe() -> Request {
        Request::Transcribe(TranscribeRequest {
            id: 7,
            leg: Leg::Callee,
            start: Duration::from_millis(12_340),
            prompt: "Ihre Bank ruft an.".into(),
            options: DecodeOptions { audio_ctx: AudioContext::Fit { margin: 32 } },
            pcm: vec![0, 1, -1, i16::MAX, i16::MIN],
        })
    }

    fn replies() -> Vec<Reply> {
        vec![
            Reply::Hello(Hello { protocol: 1, model: "ggml-tiny.en.bin".into(), version: "0.1.0".into(), states: 2 }),
            Reply::Segments(SegmentsReply {
                id: 7,
                segments: vec![Segment {
                    start: Duration::from_millis(12_340),
                    end: Duration::from_millis(14_000),
                    text: "buy gift cards".into(),
                    confidence: 0.75,
                }],
                elapsed: Duration::from_micros(812_345),
            }),
            Reply::Segments(SegmentsReply { id: 8, segments: vec![], elapsed: Duration::ZERO }),
            Reply::Error { id: Some(9), message: "model failed".into() },
            Reply::Error { id: None, message: "bad frame".into() },
            Reply::Pong { nonce: u64::MAX },
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for request in [transcribe(), Request::Ping { nonce: 42 }] {
            let mut body = Vec::new();
            encode_request(&request, &mut body).unwrap();
            assert_eq!(decode_request(&body).unwrap(), request);
        }
        for audio_ctx in [AudioContext::Full, AudioContext::Fixed(768)] {
            let Request::Transcribe(mut r) = transcribe() else { unreachable!() };
            r.options.audio_ctx = audio_ctx;
            let request = Request::Transcribe(r);
            let mut body = Vec::new();
            encode_request(&request, &mut body).unwrap();
            assert_eq!(decode_request(&body).unwrap(), request);
        }
        for reply in replies() {
            let mut body = Vec::new();
            encode_reply(&reply, &mut body).unwrap();
            assert_eq!(decode_reply(&body).unwrap(), reply);
        }
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let mut body = Vec::new();
        encode_request(&transcribe(), &mut body).unwrap();
        for cut in 0..body.len() {
            assert!(decode_request(&body[..cut]).is_err(), "request cut at {cut} decoded");
        }
        for reply in replies() {
            let mut body = Vec::new();
            encode_reply(&reply, &mut body).unwrap();
            for cut in 0..body.len() {
                assert!(decode_reply(&body[..cut]).is_err(), "{reply:?} cut at {cut} decoded");
            }
        }
    }

    #[test]
    fn bad_fields_are_named() {
        assert_eq!(decode_request(&[0x55]), Err(DecodeError::UnknownKind(0x55)));
        assert_eq!(decode_reply(&[kind::PING, 0, 0, 0, 0, 0, 0, 0, 0]), Err(DecodeError::UnknownKind(kind::PING)));
        let mut body = Vec::new();
        encode_request(&transcribe(), &mut body).unwrap();
        body[9] = 5; // the leg
        assert_eq!(decode_request(&body), Err(DecodeError::InvalidValue { field: "leg", value: 5 }));
        let Request::Transcribe(mut full) = transcribe() else { unreachable!() };
        full.options.audio_ctx = AudioContext::Full;
        let mut body = Vec::new();
        encode_request(&Request::Transcribe(full), &mut body).unwrap();
        body[19] = 1; // the value beside "full" (found by the fuzzer)
        assert_eq!(decode_request(&body), Err(DecodeError::InvalidValue { field: "audio_ctx value", value: 1 }));
        let mut body = Vec::new();
        encode_request(&Request::Ping { nonce: 1 }, &mut body).unwrap();
        body.push(0);
        assert_eq!(decode_request(&body), Err(DecodeError::TrailingBytes(1)));
        let mut hello = vec![kind::HELLO, 1, 0, 2, 0, 0xff, 0xfe];
        hello.extend_from_slice(&[0, 0, 1, 0]);
        assert_eq!(decode_reply(&hello), Err(DecodeError::NotUtf8 { field: "model" }));
    }

    #[test]
    fn a_huge_sample_count_is_refused_before_any_allocation() {
        let mut body = vec![kind::TRANSCRIBE];
        body.extend_from_slice(&1u64.to_le_bytes());
        body.push(0);
        body.extend_from_slice(&0u64.to_le_bytes());
        body.extend_from_slice(&[0, 0, 0, 0, 0]); // audio ctx, empty prompt
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            decode_request(&body),
            Err(DecodeError::TooLong { field: "pcm samples", len: u32::MAX as usize, max: MAX_PCM_SAMPLES })
        );
        let mut segments = vec![kind::SEGMENTS];
        segments.extend_from_slice(&[0; 16]);
        segments.extend_from_slice(&u16::MAX.to_le_bytes());
        assert!(matches!(decode_reply(&segments), Err(DecodeError::TooLong { field: "segment count", .. })));
    }

    #[test]
    fn oversized_messages_are_refused_by_the_encoder() {
        let Request::Transcribe(mut r) = transcribe() else { unreachable!() };
        r.pcm = vec![0; MAX_PCM_SAMPLES + 1];
        let err = encode_request(&Request::Transcribe(r), &mut Vec::new()).unwrap_err();
        assert_eq!(err.field, "pcm samples");
        let long = Reply::Error { id: None, message: "x".repeat(MAX_MESSAGE_BYTES + 1) };
        assert_eq!(encode_reply(&long, &mut Vec::new()).unwrap_err().field, "error message");
    }
}
