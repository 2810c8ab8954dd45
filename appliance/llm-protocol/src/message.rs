//! The messages, as Rust values. Those carrying call content zero it when
//! dropped and keep it out of `Debug`. They are serialised as they are
//! (see the crate documentation for the JSON).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// What the daemon asks of the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Judge a call's transcript so far.
    Judge(JudgeRequest),
    /// The call ended: drop its cached context. Not answered.
    Forget {
        /// The call's key, as in [`JudgeRequest::call`].
        call: u64,
    },
    /// Are you alive? Answered by [`Reply::Pong`] with the same nonce, ahead
    /// of any queued judgement.
    Ping {
        /// Echoed back.
        nonce: u64,
    },
}

/// One checkpoint of one call.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeRequest {
    /// Chosen by the daemon, echoed in the reply.
    pub id: u64,
    /// The call's key. The worker keeps the evaluated prompt of a call's
    /// last checkpoint, so a later checkpoint whose transcript extends the
    /// earlier one only pays for the new text.
    pub call: u64,
    /// The rolling transcript, one speaker-labelled turn a line
    /// (`caller: …`, `callee: …`), oldest first; at most
    /// [`MAX_TRANSCRIPT_BYTES`](crate::MAX_TRANSCRIPT_BYTES). Keep earlier
    /// lines unchanged between checkpoints so the worker can reuse them.
    pub transcript: String,
    /// Short facts from signaling, one a line (e.g. "caller ID not
    /// attested"); may be empty. At most
    /// [`MAX_SIGNALING_BYTES`](crate::MAX_SIGNALING_BYTES).
    pub signaling: String,
    /// Most tokens to generate (1..=[`MAX_GENERATED_TOKENS`](crate::MAX_GENERATED_TOKENS)).
    pub max_tokens: u16,
    /// Time allowed from the request's arrival at the worker to its reply,
    /// in milliseconds (1..=[`MAX_DEADLINE_MS`](crate::MAX_DEADLINE_MS)).
    pub deadline_ms: u32,
}

impl JudgeRequest {
    /// The deadline as a duration.
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(u64::from(self.deadline_ms))
    }
}

impl fmt::Debug for JudgeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JudgeRequest")
            .field("id", &self.id)
            .field("call", &self.call)
            .field("transcript_bytes", &self.transcript.len())
            .field("signaling_bytes", &self.signaling.len())
            .field("max_tokens", &self.max_tokens)
            .field("deadline_ms", &self.deadline_ms)
            .finish()
    }
}

impl Drop for JudgeRequest {
    fn drop(&mut self) {
        self.transcript.zeroize();
        self.signaling.zeroize();
    }
}

/// What the worker sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    /// First message on every connection.
    Hello(Hello),
    /// The judgement of one request.
    Verdict(Verdict),
    /// A request failed (`id` is `None` when the failure is not tied to a
    /// request, e.g. an undecodable frame, after which the worker closes
    /// the connection). Never contains call content. A judgement past its
    /// deadline fails with a message starting with
    /// [`TIMEOUT_PREFIX`](crate::TIMEOUT_PREFIX).
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// Protocol version spoken ([`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION)).
    pub protocol: u16,
    /// The model loaded (its file name).
    pub model: String,
    /// The worker's version.
    pub version: String,
    /// Context size per call, in tokens: prompt and output of one
    /// judgement must fit in it.
    pub ctx: u32,
}

/// Token counts of one judgement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenCounts {
    /// Prompt tokens evaluated for this judgement.
    pub prompt: u32,
    /// Prompt tokens reused from the call's previous checkpoint.
    pub reused: u32,
    /// Tokens generated.
    pub generated: u32,
}

/// The judge's answer to one request.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// The request's id.
    pub id: u64,
    /// The model's probability that the call is a scam, within `0..=1`.
    /// A small model's number is a weak signal: fusion weighs it.
    pub scam_probability: f32,
    /// Tactic codes the model named (identifiers, see
    /// [`is_tactic_code`](crate::is_tactic_code)); not checked against a
    /// list here.
    pub tactics: Vec<String>,
    /// The model's reason, at most
    /// [`MAX_REASON_CHARS`](crate::MAX_REASON_CHARS) characters; may be
    /// empty.
    pub reason: String,
    /// Token counts.
    pub tokens: TokenCounts,
    /// Time the worker spent on it, queueing excluded, in microseconds.
    pub elapsed_us: u64,
}

impl Verdict {
    /// Time the worker spent on it, queueing excluded.
    pub fn elapsed(&self) -> Duration {
        Duration::from_micros(self.elapsed_us)
    }
}

impl fmt::Debug for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tactic codes are not call content (alerts keep them); the reason
        // may quote the call.
        f.debug_struct("Verdict")
            .field("id", &self.id)
            .field("scam_probability", &self.scam_probability)
            .field("tactics", &self.tactics)
            .field("reason_chars", &self.reason.chars().count())
            .field("tokens", &self.tokens)
            .field("elapsed_us", &self.elapsed_us)
            .finish()
    }
}

impl Drop for Verdict {
    fn drop(&mut self) {
        self.reason.zeroize();
    }
}
