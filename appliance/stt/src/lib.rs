//! `callguard-stt`, the speech-to-text worker: whisper.cpp (through
//! whisper-rs) behind a Unix socket speaking `callguard-stt-protocol`.
//!
//! # Why a separate process
//!
//! whisper.cpp and llama.cpp each bundle ggml; one binary cannot link both.
//! This crate links whisper-rs and nothing of llama, and the daemon links
//! neither: it starts this worker, talks to it over the socket, and
//! restarts it if it dies or stops answering (the protocol client's
//! timeouts tell). A crash here costs the calls some text, never the
//! daemon.
//!
//! # Design
//!
//! * One model, loaded once ([`WhisperModel`]); `--states N` decoding
//!   states share it ([`WhisperTranscriber`], about 20 MB each for
//!   tiny.en on CPU), so N requests run at once, each with `--threads`.
//! * Requests from all connections wait in one bounded [`JobQueue`],
//!   caller leg first; when it is full a request is refused at once with
//!   an error, so the daemon degrades instead of waiting.
//! * Decoding: greedy, timestamp tokens on, a token budget against
//!   loops, no temperature fallback, no
//!   context kept in a state between requests (each may be from another
//!   call); the prompt is the leg's previous text as sent by the daemon.
//!   A reduced `audio_ctx` (whisper.cpp's short-audio speed-up) is a
//!   per-request option; the `rtf` example measures what it costs.
//! * Stops on SIGTERM or SIGINT: no new connections, queued requests
//!   finished, socket removed. With `--exit-with-stdin` it also stops when
//!   its standard input closes, so a daemon that dies, even by SIGKILL,
//!   leaves no orphan worker behind (the daemon spawns it with a pipe).
//!
//! # Call content
//!
//! Audio and text exist only in memory, are zeroed after each request
//! (samples, prompt tokens, frame buffers), and are never printed: whisper's
//! own logging is silenced, and errors name sizes and fields only.
//!
//! # Features
//!
//! `cuda`, `vulkan` and `openblas` select whisper.cpp's back-ends (built,
//! not exercised, in CI).

mod engine;
mod queue;
mod server;

pub use engine::{EngineError, WhisperModel, WhisperTranscriber};
pub use queue::{JobQueue, PushRefused};
pub use server::{ServeError, ServerConfig, serve};
