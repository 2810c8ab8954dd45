//! `callguard-llm`, the LLM judge worker: llama.cpp (through llama-cpp-2)
//! behind a Unix socket speaking `callguard-llm-protocol`.
//!
//! # Why a separate process
//!
//! whisper.cpp and llama.cpp each bundle ggml; one binary cannot link both.
//! This crate links llama-cpp-2 and nothing of whisper, and the daemon
//! links neither: it starts this worker, talks to it over the socket, and
//! restarts it if it dies or stops answering. A crash here costs the calls
//! their LLM opinion, never the daemon.
//!
//! # Design
//!
//! * One GGUF model, loaded once ([`LlmModel`]), and one [`Judge`]: a
//!   llama context whose KV cache is split into `--slots` sequences of
//!   `--ctx` tokens each. A slot keeps the tokens evaluated for one
//!   call's last checkpoint; the next checkpoint of that call evaluates
//!   only what its prompt adds (the prompt puts the transcript last, so a
//!   longer transcript extends it). Slots are evicted least recently used
//!   first, and emptied on `Forget`.
//! * The prompt: the model's chat template (rendered once by llama.cpp
//!   around a placeholder, ChatML if the model has none llama.cpp knows),
//!   a fixed system instruction, then one user message with the signaling
//!   facts and the transcript. When it does not fit the slot with the
//!   answer's budget, the oldest transcript lines are left out.
//! * The answer is forced by a GBNF grammar to
//!   `{"scam_probability": n, "tactics": [..], "reason": ".."}` with
//!   bounded lengths; decoding is greedy (deterministic for a given
//!   thread count). The grammar sampler is applied to the best token
//!   alone first and to the whole vocabulary only when it refuses it, and
//!   it accepts each chosen token once (`LlamaSampler::sample` would
//!   accept too: accepting twice advances the grammar twice and aborts).
//!   Generation stops when the JSON object closes, at the token budget
//!   (an answer cut short is closed and parsed if it can be) or at the
//!   deadline (an error starting with "timeout").
//! * Requests wait in one bounded queue and are judged one at a time;
//!   pings and forgets are answered at once by the connection's thread.
//! * Stops on SIGTERM or SIGINT, and with `--exit-with-stdin` when its
//!   standard input closes: no new connections, the queue drained, the
//!   socket removed.
//!
//! # Call content
//!
//! Transcripts live in memory only; prompt text, token lists and the
//! generated text are zeroed after each judgement, and llama.cpp's logging
//! is silenced. Limits: the KV cache holds values computed from cached
//! calls' prompts until overwritten (it is zeroed when no call is cached);
//! llama.cpp's tokenizer makes copies of its own that are freed, not
//! zeroed.
//!
//! # Features
//!
//! `cuda`, `vulkan` and `openmp` select llama.cpp's back-ends and
//! threading (built, not exercised, in CI); with a GPU back-end all layers
//! are offloaded unless `--gpu-layers` says otherwise.

mod answer;
mod engine;
mod prompt;
mod queue;
mod server;

pub use answer::{Answer, AnswerError};
pub use engine::{EngineError, Judge, JudgeConfig, JudgeError, JudgeInput, Judgement, LlmModel};
pub use prompt::{SYSTEM, grammar};
pub use queue::{JobQueue, PushRefused};
pub use server::{ServeError, ServerConfig, serve};
