//! The per-leg streaming front of callguard's speech-to-text: 20 ms frames
//! of each leg in, utterance chunks for whisper out; whisper's segments in,
//! cleaned text out.
//!
//! ```text
//!  Frame (320 × 16 kHz) ─> VoiceDetector ─> Endpointer ─> Chunk ──> Transcriber (worker)
//!  per leg, with its       band energy,     onset, end    leg, start,     │ prompt = PromptHistory
//!  time since call start   noise floor,     silence, pad, samples,        v
//!                          tonality,        forced cut,   reason     Segment{start, end, text,
//!                          hangover         flush on end                      confidence}
//!                                                                              │
//!                                           HallucinationFilter <──────────────┘
//!                                           markers, stock phrases, loops ─> text, and the prompt
//! ```
//!
//! [`CallSpeech`] holds both legs of a call and is what the daemon's call
//! task uses; [`Endpointer`], [`VoiceDetector`], [`HallucinationFilter`]
//! and [`PromptHistory`] are its parts. [`Transcriber`] is the engine's
//! interface (design brief, layer 2): the `callguard-stt` worker
//! implements it with whisper, and the worker's client in
//! `callguard-stt-protocol` implements it for the daemon.
//!
//! # Design
//!
//! * **Pure**: no I/O, threads, clocks or async. The caller passes each
//!   frame's time since the call started.
//! * **Tuned for the phone**: the detector looks at 300–3400 Hz only,
//!   rejects steady tones (DTMF, dial, ringback, busy, test tones) by
//!   their concentrated spectrum, and follows the line's noise floor.
//!   `tests/phone_audio.rs` checks it on espeak-ng speech through G.711
//!   µ-law, white and pink noise, DTMF, and tones made by sox.
//! * **Latency first**: an utterance ends 600 ms (plus the 80 ms hangover)
//!   after speech stops, and no chunk is longer than 8 s.
//!
//! # Call content stays in memory
//!
//! Chunks, buffers, segments and prompts are zeroed when dropped or
//! released; their `Debug` prints lengths, never samples or words. Nothing
//! here logs.
//!
//! # Limits
//!
//! * Music on hold with several instruments is not told apart from speech
//!   (see [`vad`]); whisper's "(music)" and lyrics-like loops are then
//!   removed by the clean-up, not prevented.
//! * The noise floor needs the line's pauses: a leg that starts with loud
//!   steady noise is judged against it after at most 2 s.

mod call;
mod chunk;
mod endpoint;
mod hallucination;
mod prompt;
mod spectrum;
mod transcriber;
pub mod vad;

use std::time::Duration;

pub use call::{CallSpeech, SpeechConfig};
pub use chunk::{Chunk, ChunkReason, Leg};
pub use endpoint::{EndpointConfig, Endpointer, MAX_CHUNK_LIMIT};
pub use hallucination::HallucinationFilter;
pub use prompt::{DEFAULT_PROMPT_CHARS, PromptHistory};
pub use transcriber::{
    AUDIO_CTX_FULL, AUDIO_CTX_PER_SECOND, AudioContext, DecodeOptions, Segment, TranscribeError, Transcriber,
};
pub use vad::{FrameVoice, VadConfig, VoiceDetector};

/// Sample rate of everything here.
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples in one 20 ms frame.
pub const FRAME_SAMPLES: usize = 320;
/// Length of one frame.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// Errors of the speech front.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpeechError {
    /// A configuration value is out of range or inconsistent with another.
    #[error("speech configuration: {field}: {problem}")]
    Config {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}
