//! The protocol between the callguard daemon and its `callguard-llm` judge
//! worker, and the daemon's client for it.
//!
//! The worker links llama.cpp; the daemon must not (whisper.cpp and
//! llama.cpp each bundle ggml and cannot share a binary). So they talk over
//! a Unix stream socket, with this crate on both sides and nothing of
//! llama in it: std I/O only, no async.
//!
//! # Wire format
//!
//! Every message is one frame: a little-endian `u32` body length (at most
//! [`MAX_FRAME_BYTES`], checked before anything is allocated), then the
//! body, one compact JSON object naming its kind (serde's external
//! tagging, no whitespace):
//!
//! ```text
//! daemon -> worker
//!   {"judge":{"id":7,"call":42,"transcript":"caller: ...\ncallee: ...",
//!             "signaling":"no STIR attestation\n...","max_tokens":64,"deadline_ms":3000}}
//!   {"forget":{"call":42}}                 the call ended: drop its cached context (no reply)
//!   {"ping":{"nonce":9}}
//! worker -> daemon
//!   {"hello":{"protocol":1,"model":"x.gguf","version":"0.1.0","ctx":2048}}   first, on connect
//!   {"verdict":{"id":7,"scam_probability":0.82,"tactics":["bank_impersonation"],
//!               "reason":"...","tokens":{"prompt":120,"reused":480,"generated":41},"elapsed_us":912000}}
//!   {"error":{"id":7,"message":"timeout: ..."}}    id null when not tied to a request
//!   {"pong":{"nonce":9}}
//! ```
//!
//! Every field is checked on decode and on encode against its bound
//! ([`MAX_TRANSCRIPT_BYTES`], [`MAX_REASON_CHARS`], [`MAX_TACTICS`], …);
//! unknown fields, duplicate fields and trailing bytes are errors. A
//! probability must be finite and within `0..=1`; a tactic must be an
//! identifier (see [`is_tactic_code`]).
//!
//! The worker serves one judgement at a time; requests queue (bounded)
//! and replies carry the request's id. A frame that does not decode gets
//! an `Error` without id and the worker closes the connection: framing
//! cannot be trusted after it. A judgement that passes its deadline
//! (counted from its arrival at the worker, queueing included) is answered
//! by an `Error` whose message starts with [`TIMEOUT_PREFIX`].
//!
//! # Call content
//!
//! Transcripts, signaling facts and reasons cross the socket and nothing
//! else: frame buffers are zeroed after use, messages zero their text when
//! dropped and keep it out of `Debug`, and decode errors name a field or a
//! position, never quote the text (serde_json's own messages can, so they
//! are not passed on). One gap: serde_json copies a string holding escape
//! sequences through a scratch buffer of its own that is freed, not zeroed.

mod client;
mod codec;
mod frame;
mod message;

pub use callguard_worker_wire::WireError;
pub use client::{ClientError, LlmClient};
pub use codec::{DecodeError, EncodeError, decode_reply, decode_request, encode_reply, encode_request, is_tactic_code};
pub use frame::{FrameError, read_frame, read_reply, read_request, write_reply, write_request};
pub use message::{Hello, JudgeRequest, Reply, Request, TokenCounts, Verdict};

/// Version of this protocol, sent in [`Hello`].
pub const PROTOCOL_VERSION: u16 = 1;
/// Longest transcript, in bytes: about 4,000 tokens of English, more than
/// a small model's context holds; the daemon keeps the most recent turns.
pub const MAX_TRANSCRIPT_BYTES: usize = 16 * 1024;
/// Longest signaling facts text, in bytes.
pub const MAX_SIGNALING_BYTES: usize = 2 * 1024;
/// Most tokens a judgement may generate.
pub const MAX_GENERATED_TOKENS: u16 = 512;
/// Longest deadline a judgement may ask for, in milliseconds.
pub const MAX_DEADLINE_MS: u32 = 120_000;
/// Longest reason, in characters (it must fit an SMS with its template).
pub const MAX_REASON_CHARS: usize = 200;
/// Most tactics in a verdict.
pub const MAX_TACTICS: usize = 16;
/// Longest tactic code, in bytes.
pub const MAX_TACTIC_BYTES: usize = 48;
/// Longest error message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Longest model name or version, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// Largest frame body. JSON escaping can make text up to six times longer
/// (a control character becomes `\u001f`), so this is six times the
/// largest request's text plus room for its fields; the encoder refuses a
/// body over it.
pub const MAX_FRAME_BYTES: usize = 6 * (MAX_TRANSCRIPT_BYTES + MAX_SIGNALING_BYTES) + 1024;
/// How an `Error` reply for a judgement that passed its deadline begins.
pub const TIMEOUT_PREFIX: &str = "timeout";
