//! The protocol between the callguard daemon and its `callguard-stt`
//! speech-to-text worker, and the daemon's client for it.
//!
//! The worker links whisper; the daemon must not (whisper.cpp and
//! llama.cpp each bundle ggml and cannot share a binary). So they talk over
//! a Unix stream socket, with this crate on both sides and nothing of
//! whisper in it: std I/O only, no async.
//!
//! # Wire format
//!
//! Every message is one frame: a little-endian `u32` body length (at most
//! [`MAX_FRAME_BYTES`]), then the body, whose first byte is its kind.
//! Integers are little-endian; times are `u64` microseconds; strings are a
//! `u16` byte length and UTF-8; audio is 16 kHz mono `i16`.
//!
//! ```text
//! daemon -> worker
//!   0x01 Transcribe  id u64, leg u8 (0 caller, 1 callee), start u64,
//!                    audio_ctx kind u8 (0 full, 1 fit, 2 fixed) + value u16,
//!                    prompt str, samples u32 (<= 30 s), samples × i16
//!   0x02 Ping        nonce u64
//! worker -> daemon
//!   0x81 Hello       protocol u16, model str, version str, states u16   (first, on connect)
//!   0x82 Segments    id u64, elapsed u64, count u16,
//!                    count × (start u64, end u64, confidence f32, text str)
//!   0x83 Error       has_id u8, [id u64], message str
//!   0x84 Pong        nonce u64
//! ```
//!
//! Requests on one connection may be answered out of order (the worker
//! serves several at once, caller leg first); replies carry the request's
//! id. A frame that does not decode gets an `Error` without id, and the
//! worker closes the connection: framing cannot be trusted after it.
//!
//! # Call content
//!
//! Audio and text cross the socket and nothing else: frame buffers are
//! zeroed after use, messages zero their audio and text when dropped and
//! keep them out of `Debug`, and `Error` messages never quote content.

mod client;
mod codec;
mod frame;
mod message;

pub use callguard_worker_wire::WireError;
pub use client::{ClientError, SttClient};
pub use codec::{DecodeError, EncodeError, decode_reply, decode_request, encode_reply, encode_request};
pub use frame::{FrameError, read_frame, read_reply, read_request, write_reply, write_request};
pub use message::{Hello, Reply, Request, SegmentsReply, TranscribeRequest};

/// Version of this protocol, sent in [`Hello`].
pub const PROTOCOL_VERSION: u16 = 1;
/// Most samples in one request: 30 s at 16 kHz, whisper's window.
pub const MAX_PCM_SAMPLES: usize = 30 * 16_000;
/// Largest frame body: a 30 s request (960,000 bytes of audio) with its
/// prompt and header fits.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// Longest prompt, in bytes.
pub const MAX_PROMPT_BYTES: usize = 1024;
/// Most segments in one reply.
pub const MAX_SEGMENTS: usize = 256;
/// Longest segment text, in bytes.
pub const MAX_SEGMENT_TEXT_BYTES: usize = 2048;
/// Longest error message, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Longest model name or version, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
