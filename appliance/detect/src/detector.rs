//! The per-call detector: turns in, a running assessment out.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::features::{WordFeatures, turn_buckets};
use crate::model::{ExternalValues, FusionFeatures, Model, sigmoid};
use crate::tactics::codes::{SAFEGUARDS, TACTICS};
use crate::tactics::{TacticHit, TacticState};
use crate::text::{tokenize, truncate};

/// Who spoke: the caller (the party that may be a scammer) or the callee
/// (the subscriber being protected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speaker {
    /// The calling party.
    Caller,
    /// The subscriber.
    Callee,
}

/// One utterance from speech-to-text.
#[derive(Clone, Copy)]
pub struct Turn<'a> {
    /// Who said it.
    pub speaker: Speaker,
    /// What was said (kept in memory only, zeroized when the call ends).
    pub text: &'a str,
    /// When it started, from the start of the call, if known.
    pub at: Option<Duration>,
}

impl std::fmt::Debug for Turn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn")
            .field("speaker", &self.speaker)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field("at", &self.at)
            .finish()
    }
}

/// What a local LLM judge said about the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmVerdict {
    /// Its probability that the call is a scam, in [0, 1].
    pub scam_probability: f32,
    /// The tactic codes it named (informational; fusion uses the probability).
    #[serde(default)]
    pub tactics: Vec<String>,
}

/// Evidence from other detectors, each optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExternalEvidence {
    /// The LLM judge's verdict.
    pub llm: Option<LlmVerdict>,
    /// Signaling risk in [0, 1] (0.5 = no information).
    pub signaling: Option<f32>,
    /// Audio anomaly score in [0, 1] (0.5 = no information).
    pub audio: Option<f32>,
}

/// Operator settings, validated once ([`DetectorConfig::validate`]).
#[derive(Debug, Clone)]
pub struct DetectorConfig {
    /// The weights (default: the embedded model).
    pub model: Arc<Model>,
    /// Warn when the fused risk reaches this (default: the model's, chosen
    /// for FPR ≤ 3 % on the training calls).
    pub warn_threshold: f32,
    /// The caller is trusted (the subscriber's trusted number, or a caller
    /// verified with attestation A on an operator list): never alert.
    pub trusted: bool,
    /// The caller ID as received, for `callback_mismatch`.
    pub caller_id: Option<String>,
    /// How many recent turns to keep for [`CallDetector::transcript_for_llm`].
    pub kept_turns: usize,
}

/// A configuration value is out of range.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// The warn threshold is not in (0, 1).
    #[error("warn_threshold {0} is outside (0, 1); set a probability such as 0.8")]
    Threshold(f32),
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig::with_model(Model::embedded())
    }
}

impl DetectorConfig {
    /// Defaults with a given model.
    pub fn with_model(model: Arc<Model>) -> Self {
        let warn_threshold = model.warn_threshold;
        DetectorConfig { model, warn_threshold, trusted: false, caller_id: None, kept_turns: 64 }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.warn_threshold > 0.0 && self.warn_threshold < 1.0) {
            return Err(ConfigError::Threshold(self.warn_threshold));
        }
        Ok(())
    }
}

/// The alert decision of a call. Once made it stays.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    /// No alert (yet).
    None,
    /// Warn the subscriber.
    Warn {
        /// The turn at which risk crossed the threshold.
        at_turn: usize,
        /// The risk then.
        risk: f32,
        /// The strongest tactic codes then, strongest first (at most 3).
        reason_codes: Vec<&'static str>,
    },
    /// Risk crossed the threshold but the caller is trusted: no alert.
    Suppressed {
        /// The turn at which risk crossed the threshold.
        at_turn: usize,
        /// The risk then.
        risk: f32,
    },
}

impl Decision {
    /// Whether this is an alert.
    pub fn is_warn(&self) -> bool {
        matches!(self, Decision::Warn { .. })
    }
}

/// Where the call stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// The fused probability that the call is a scam, now.
    pub risk: f32,
    /// The word classifier's probability alone.
    pub classifier: f32,
    /// Tactics found, strongest first (one per code).
    pub tactics: Vec<TacticHit>,
    /// Legitimate patterns found (codes `safe.*`).
    pub safeguards: Vec<TacticHit>,
    /// The alert decision.
    pub decision: Decision,
    /// Evidence components that were not available: `llm`, `signaling`,
    /// `audio`, `classifier` (model not loaded), `transcript` (no caller words yet).
    pub missing: Vec<&'static str>,
    /// Turns seen.
    pub turns: usize,
    /// Whether the call has a "code just sent to you" context.
    pub code_just_sent: bool,
}

impl Assessment {
    fn empty() -> Self {
        Assessment {
            risk: 0.0,
            classifier: 0.0,
            tactics: Vec::new(),
            safeguards: Vec::new(),
            decision: Decision::None,
            missing: Vec::new(),
            turns: 0,
            code_just_sent: false,
        }
    }

    /// The strength of a tactic or safeguard, 0 if absent.
    pub fn strength(&self, code: &str) -> f32 {
        self.tactics.iter().chain(&self.safeguards).find(|h| h.code == code).map_or(0.0, |h| h.strength)
    }
}

/// The most turns a call processes; later turns are ignored (the decision
/// has long been made by then).
pub const MAX_TURNS: usize = 10_000;

/// Scam detection for one call.
pub struct CallDetector {
    config: DetectorConfig,
    tactics: TacticState,
    words: WordFeatures,
    buckets: Vec<u32>,
    kept: VecDeque<(Speaker, String)>,
    external: ExternalEvidence,
    caller_words: usize,
    assessment: Assessment,
}

impl std::fmt::Debug for CallDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallDetector")
            .field("turns", &self.assessment.turns)
            .field("kept_turns", &self.kept.len())
            .field("assessment", &self.assessment)
            .finish_non_exhaustive()
    }
}

impl CallDetector {
    /// A detector for a new call.
    pub fn new(config: &DetectorConfig) -> Self {
        let mut detector = CallDetector {
            config: config.clone(),
            tactics: TacticState::default(),
            words: WordFeatures::default(),
            buckets: Vec::new(),
            kept: VecDeque::new(),
            external: ExternalEvidence::default(),
            caller_words: 0,
            assessment: Assessment::empty(),
        };
        detector.update();
        detector
    }

    /// Feeds one utterance and returns the updated assessment.
    pub fn on_turn(&mut self, turn: Turn<'_>) -> &Assessment {
        let index = self.assessment.turns;
        if index >= MAX_TURNS {
            return &self.assessment;
        }
        let caller = turn.speaker == Speaker::Caller;
        let tokens = tokenize(turn.text);
        let caller_id = self.config.caller_id.as_deref();
        self.tactics.on_turn(index, caller, &tokens, caller_id);
        self.buckets.clear();
        turn_buckets(caller, &tokens, &mut self.buckets);
        self.words.add(&self.buckets, &self.config.model.classifier.words);
        if caller {
            self.caller_words += tokens.len();
        }
        if self.config.kept_turns > 0 {
            if self.kept.len() >= self.config.kept_turns
                && let Some((_, mut old)) = self.kept.pop_front()
            {
                old.zeroize();
            }
            self.kept.push_back((turn.speaker, truncate(turn.text, crate::text::MAX_TURN_BYTES).to_owned()));
        }
        let mut tokens = tokens;
        tokens.zeroize();
        self.assessment.turns = index + 1;
        self.update()
    }

    /// A DTMF digit keyed by the subscriber.
    pub fn on_dtmf(&mut self, digit: char, _at: Duration) -> &Assessment {
        let turn = self.assessment.turns.saturating_sub(1);
        self.tactics.on_dtmf(digit, turn);
        self.update()
    }

    /// Sets (replaces) the external evidence.
    pub fn set_evidence(&mut self, evidence: ExternalEvidence) -> &Assessment {
        self.external = evidence;
        self.update()
    }

    /// The current assessment.
    pub fn assessment(&self) -> &Assessment {
        &self.assessment
    }

    /// The recent transcript, one `Caller: …` / `Callee: …` line per turn,
    /// oldest turns dropped to fit `max_chars` (characters).
    pub fn transcript_for_llm(&self, max_chars: usize) -> String {
        let mut lines: Vec<String> = Vec::new();
        let mut used = 0;
        for (speaker, text) in self.kept.iter().rev() {
            let label = match speaker {
                Speaker::Caller => "Caller",
                Speaker::Callee => "Callee",
            };
            let line = format!("{label}: {}", text.trim());
            let len = line.chars().count() + 1;
            if used + len > max_chars {
                if lines.is_empty() && max_chars > label.len() + 2 {
                    // Keep the end of a single long turn.
                    let skip = line.chars().count() - (max_chars - 1);
                    let tail: String = line.chars().skip(skip + label.len() + 2).collect();
                    lines.push(format!("{label}: {tail}"));
                }
                break;
            }
            used += len;
            lines.push(line);
        }
        lines.reverse();
        lines.join("\n")
    }

    /// The tactic strengths in model order ([`TACTICS`] then [`SAFEGUARDS`]).
    fn strengths(&self) -> impl Iterator<Item = (&'static str, f32)> + '_ {
        TACTICS.iter().chain(SAFEGUARDS.iter()).map(|c| (*c, self.tactics.strength(c)))
    }

    fn update(&mut self) -> &Assessment {
        let model = &self.config.model;
        let tactic_part: f32 =
            self.strengths().map(|(code, s)| s * model.classifier.tactics.get(code).copied().unwrap_or(0.0)).sum();
        let clf_logit = model.classifier.bias + self.words.score() + tactic_part;
        let features = fusion_features(&self.tactics, clf_logit);
        let llm = self.external.llm.as_ref().map(|v| v.scam_probability);
        let ext = ExternalValues::from_scores(llm, self.external.signaling, self.external.audio);
        let mut risk = sigmoid(model.fusion.logit(features, ext));
        if self.caller_words == 0 && ext.llm.is_none() {
            // Nothing said by the caller: no basis for a scam verdict from words.
            risk = risk.min(sigmoid(model.fusion.logit(FusionFeatures::default(), ext)));
        }

        let a = &mut self.assessment;
        a.risk = risk;
        a.classifier = sigmoid(clf_logit);
        a.tactics.clone_from(&self.tactics.tactics);
        a.tactics.sort_by(|x, y| y.strength.total_cmp(&x.strength).then(x.turn.cmp(&y.turn)));
        a.safeguards.clone_from(&self.tactics.safeguards);
        a.safeguards.sort_by(|x, y| y.strength.total_cmp(&x.strength).then(x.turn.cmp(&y.turn)));
        a.code_just_sent = self.tactics.code_context.is_some();
        a.missing.clear();
        if !model.has_classifier() {
            a.missing.push("classifier");
        }
        if self.caller_words == 0 {
            a.missing.push("transcript");
        }
        if ext.llm.is_none() {
            a.missing.push("llm");
        }
        if ext.signaling.is_none() {
            a.missing.push("signaling");
        }
        if ext.audio.is_none() {
            a.missing.push("audio");
        }
        if a.decision == Decision::None && a.turns > 0 && risk >= self.config.warn_threshold {
            let at_turn = a.turns - 1;
            a.decision = if self.config.trusted {
                Decision::Suppressed { at_turn, risk }
            } else {
                Decision::Warn { at_turn, risk, reason_codes: a.tactics.iter().take(3).map(|h| h.code).collect() }
            };
        }
        &self.assessment
    }
}

/// The fusion features of tactic evidence and a classifier logit.
pub(crate) fn fusion_features(tactics: &TacticState, clf_logit: f32) -> FusionFeatures {
    let max_of = |prefixes: &[&str]| {
        tactics
            .tactics
            .iter()
            .filter(|h| prefixes.iter().any(|p| h.code.starts_with(p)))
            .map(|h| h.strength)
            .fold(0.0, f32::max)
    };
    let tactic_max = tactics.tactics.iter().map(|h| h.strength).fold(0.0, f32::max);
    let tactic_sum: f32 = tactics.tactics.iter().map(|h| h.strength).sum();
    let safe: f32 = tactics.safeguards.iter().map(|h| h.strength).sum();
    let impersonation = max_of(&["impersonation.", "family_emergency"]);
    let request = max_of(&["secret.", "payment.", "remote_access"]);
    FusionFeatures {
        classifier: (if clf_logit.is_finite() { clf_logit } else { 0.0 }).clamp(-12.0, 12.0) / 4.0,
        tactic_max,
        tactic_sum: (tactic_sum / 3.0).min(1.0),
        combo: impersonation * request,
        safeguards: (safe / 2.0).min(1.0),
    }
}

impl Drop for CallDetector {
    fn drop(&mut self) {
        for (_, text) in &mut self.kept {
            text.zeroize();
        }
        for hit in self.tactics.tactics.iter_mut().chain(self.tactics.safeguards.iter_mut()) {
            hit.zeroize();
        }
        for hit in self.assessment.tactics.iter_mut().chain(self.assessment.safeguards.iter_mut()) {
            hit.zeroize();
        }
        self.words.clear();
        self.buckets.zeroize();
    }
}
