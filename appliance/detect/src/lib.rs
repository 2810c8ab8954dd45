//! Scam detection from what is said on a call, for the callguard appliance.
//!
//! ```text
//! utterance ─ normalize/tokenize ─┬─ tactic rules ──────────┐ (codes, strength, turn, span)
//!   (caller|callee, text)         └─ hashed words+bigrams ─┐│
//!                                     + tactic strengths ──┴┴─ classifier logit ─┐
//! DTMF ───────────── raises a secret request ──────────────────────────────────┤
//! external: LLM p, signaling, audio (each optional; `missing` names the absent) ┤
//!                                                            logistic fusion ──┴─> risk ─ threshold ─> Decision (sticky)
//!                                                                                         └─ reason(lang)
//! ```
//!
//! - [`tactics`]: rules over normalized tokens that find the tactics of a
//!   scam (impersonation, threats, unusual payment, requests for secrets,
//!   remote access, secrecy, prizes, family emergency, investment, callback
//!   mismatch) with evidence, and safeguards (legitimate patterns) that
//!   lower risk. Only the caller's words are evidence; negations count.
//! - A linear classifier over hashed words and bigrams of the rolling
//!   transcript plus tactic strengths, updated in O(new tokens) per turn.
//! - Logistic fusion of classifier, tactics and optional external evidence
//!   into one calibrated probability ([`model::FusionWeights`]).
//! - [`CallDetector`]: one per call; at most one decision per call; a
//!   trusted caller never gets an alert ([`Decision::Suppressed`]).
//! - [`reason()`]: a short sentence from the strongest tactics (English,
//!   Spanish).
//! - [`eval`]: replays labelled calls turn by turn as the appliance would
//!   and reports TPR at FPR ≤ 3 %, ROC AUC and when decisions come;
//!   [`train`]: fits the weights (the `train` binary writes `model/model.json`).
//!
//! The library is pure: no I/O, no threads, no clock (times are passed in),
//! deterministic for the same input. Transcript text stays in memory; the
//! `Debug` output of anything holding text prints lengths, not words; a
//! [`CallDetector`] zeroizes the text it kept when dropped.
//!
//! Limits: the rules are English (reasons are English and Spanish); the
//! classifier is trained on a small hand-written set plus robocall
//! monologues, so its figures are indicative; LLM, signaling and audio
//! weights are documented priors until labelled data with those scores is
//! available to refit them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod detector;
pub mod eval;
mod features;
pub mod model;
mod pattern;
mod reason;
pub mod tactics;
pub mod text;
pub mod train;

pub use detector::{
    Assessment, CallDetector, ConfigError, Decision, DetectorConfig, ExternalEvidence, LlmVerdict, MAX_TURNS, Speaker,
    Turn,
};
pub use eval::{CallInput, CallVerdict, EvalReport, Label, TurnInput, evaluate, judge_call};
pub use model::{Model, ModelError};
pub use reason::{REASON_MAX_CHARS, reason};
pub use tactics::TacticHit;
