//! The messages, as Rust values. Those carrying audio or text zero it when
//! dropped and keep it out of `Debug`.

use std::fmt;
use std::time::Duration;

use callguard_speech::{Chunk, DecodeOptions, Leg, Segment};
use zeroize::Zeroize;

/// What the daemon asks of the worker.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Transcribe one chunk.
    Transcribe(TranscribeRequest),
    /// Are you alive? Answered by [`Reply::Pong`] with the same nonce,
    /// ahead of any queued transcription.
    Ping {
        /// Echoed back.
        nonce: u64,
    },
}

/// One chunk to transcribe.
#[derive(Clone, PartialEq)]
pub struct TranscribeRequest {
    /// Chosen by the daemon, echoed in the reply; replies may come back in
    /// another order than the requests.
    pub id: u64,
    /// The leg: caller chunks are served first when the worker is behind.
    pub leg: Leg,
    /// Time of the first sample since the call started; segment times are
    /// offset by it.
    pub start: Duration,
    /// The leg's previous text.
    pub prompt: String,
    /// Decoding options.
    pub options: DecodeOptions,
    /// 16 kHz mono 16-bit samples.
    pub pcm: Vec<i16>,
}

impl TranscribeRequest {
    /// The request for `chunk`, its samples rounded to 16 bits (far below
    /// G.711's own noise).
    pub fn from_chunk(id: u64, chunk: &Chunk, prompt: &str, options: DecodeOptions) -> Self {
        Self {
            id,
            leg: chunk.leg,
            start: chunk.start,
            prompt: prompt.to_owned(),
            options,
            pcm: chunk.samples.iter().map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16).collect(),
        }
    }
}

impl fmt::Debug for TranscribeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TranscribeRequest")
            .field("id", &self.id)
            .field("leg", &self.leg)
            .field("start", &self.start)
            .field("prompt_chars", &self.prompt.chars().count())
            .field("options", &self.options)
            .field("pcm_samples", &self.pcm.len())
            .finish()
    }
}

impl Drop for TranscribeRequest {
    fn drop(&mut self) {
        self.prompt.zeroize();
        self.pcm.zeroize();
    }
}

/// What the worker sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// First message on every connection.
    Hello(Hello),
    /// The text of one request.
    Segments(SegmentsReply),
    /// A request failed (`id` is `None` when the failure is not tied to a
    /// request, e.g. an undecodable frame, after which the worker closes
    /// the connection). Never contains call content.
    Error {
        /// The request, if known.
        id: Option<u64>,
        /// What went wrong.
        message: String,
    },
    /// Answer to [`Request::Ping`].
    Pong {
        /// The ping's nonce.
        nonce: u64,
    },
}

/// Who the worker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// Protocol version spoken ([`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION)).
    pub protocol: u16,
    /// The model loaded (its file name).
    pub model: String,
    /// The worker's version.
    pub version: String,
    /// How many requests it serves at once.
    pub states: u16,
}

/// The segments of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentsReply {
    /// The request's id.
    pub id: u64,
    /// Segments, timed since the call started, not yet cleaned of
    /// hallucinations (the daemon does that, knowing the chunk's speech
    /// ratio).
    pub segments: Vec<Segment>,
    /// Time the worker spent on it, queueing excluded.
    pub elapsed: Duration,
}
