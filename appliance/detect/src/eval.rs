//! Offline judging and evaluation: replay a call's turns one by one as the
//! live appliance would, and measure a labelled set.
//!
//! The JSONL shapes are those of `callguard detect`: input lines
//! `{"id", "label"?: "scam"|"legit", "turns": [{"speaker": "caller"|"callee",
//! "text", "t"?}], "signaling"?: number | {"risk": number, …}, "caller_id"?,
//! "llm"?: number, "audio"?: number, "language"?}` and output lines
//! [`CallVerdict`].
//!
//! Replay order: signaling and audio scores are call facts known from the
//! start, so they are set before the first turn; an LLM score stands for a
//! checkpoint on the whole transcript, so it is set after the last turn
//! (a decision it causes is dated at the last turn).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::detector::{CallDetector, DetectorConfig, ExternalEvidence, LlmVerdict, Speaker, Turn};
use crate::reason::reason;
use crate::tactics::TacticHit;

/// A call's label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// A scam.
    Scam,
    /// A legitimate call.
    Legit,
}

/// One utterance of an input call.
#[derive(Clone, Serialize, Deserialize)]
pub struct TurnInput {
    /// Who spoke.
    pub speaker: Speaker,
    /// What was said.
    pub text: String,
    /// Seconds from the start of the call, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t: Option<f64>,
}

impl std::fmt::Debug for TurnInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnInput")
            .field("speaker", &self.speaker)
            .field("text", &format_args!("<{} bytes>", self.text.len()))
            .field("t", &self.t)
            .finish()
    }
}

/// One input call (a line of the JSONL input).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallInput {
    /// The call's identifier.
    pub id: String,
    /// Its label, for evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// The utterances in order.
    pub turns: Vec<TurnInput>,
    /// Signaling evidence: a risk number, or an object with a `risk` number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signaling: Option<serde_json::Value>,
    /// The caller ID, for `callback_mismatch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// An LLM judge's scam probability, if one was run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<f32>,
    /// An audio anomaly score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<f32>,
    /// The subscriber's language for the reason (default English).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl CallInput {
    /// The signaling risk, if the input has one.
    pub fn signaling_risk(&self) -> Option<f32> {
        match self.signaling.as_ref()? {
            serde_json::Value::Number(n) => n.as_f64().map(|v| v as f32),
            serde_json::Value::Object(map) => map.get("risk").and_then(|v| v.as_f64()).map(|v| v as f32),
            _ => None,
        }
    }
}

/// The verdict on one call (a line of the JSONL output).
#[derive(Debug, Clone, Serialize)]
pub struct CallVerdict {
    /// The call's identifier.
    pub id: String,
    /// Whether the appliance would have warned.
    pub scam: bool,
    /// The highest risk over the replay.
    pub score: f32,
    /// Tactic codes found, strongest first.
    pub tactics: Vec<&'static str>,
    /// The reason, in the call's language (empty when there is no warning).
    pub reason: String,
    /// The turn at which the appliance would have decided, if it did.
    pub decided_at_turn: Option<usize>,
    /// Evidence: tactic and safeguard hits with turn and words.
    pub evidence: Vec<TacticHit>,
    /// Evidence components that were missing at the end.
    pub missing: Vec<&'static str>,
}

struct Replay {
    verdict: CallVerdict,
    /// First turn at which a tactic of strength ≥ 0.6 was present.
    decisive_turn: Option<usize>,
    caller_turn_index: Vec<usize>,
}

fn replay(call: &CallInput, config: &DetectorConfig, llm: Option<&LlmVerdict>) -> Replay {
    let mut config = config.clone();
    if call.caller_id.is_some() {
        config.caller_id.clone_from(&call.caller_id);
    }
    let mut detector = CallDetector::new(&config);
    let mut evidence = ExternalEvidence { llm: None, signaling: call.signaling_risk(), audio: call.audio };
    if evidence.signaling.is_some() || evidence.audio.is_some() {
        detector.set_evidence(evidence.clone());
    }
    let mut score: f32 = 0.0;
    let mut decisive_turn = None;
    let mut caller_turn_index = Vec::with_capacity(call.turns.len());
    let mut caller_turns = 0;
    for turn in &call.turns {
        let at = turn.t.filter(|t| t.is_finite() && *t >= 0.0 && *t < 1e9).map(std::time::Duration::from_secs_f64);
        let a = detector.on_turn(Turn { speaker: turn.speaker, text: &turn.text, at });
        score = score.max(a.risk);
        if turn.speaker == Speaker::Caller {
            caller_turns += 1;
        }
        caller_turn_index.push(caller_turns);
        if decisive_turn.is_none() && a.tactics.iter().any(|h| h.strength >= 0.6) {
            decisive_turn = Some(a.turns - 1);
        }
    }
    if let Some(v) = llm.cloned().or_else(|| call.llm.map(|p| LlmVerdict { scam_probability: p, tactics: Vec::new() }))
    {
        evidence.llm = Some(v);
        score = score.max(detector.set_evidence(evidence).risk);
    }
    let a = detector.assessment();
    let decided_at_turn = match &a.decision {
        crate::Decision::Warn { at_turn, .. } => Some(*at_turn),
        _ => None,
    };
    let language = call.language.as_deref().unwrap_or("en");
    let verdict = CallVerdict {
        id: call.id.clone(),
        scam: a.decision.is_warn(),
        score,
        tactics: a.tactics.iter().map(|h| h.code).collect(),
        reason: if a.decision.is_warn() { reason(a, language) } else { String::new() },
        decided_at_turn,
        evidence: a.tactics.iter().chain(&a.safeguards).cloned().collect(),
        missing: a.missing.clone(),
    };
    Replay { verdict, decisive_turn, caller_turn_index }
}

/// Judges one call by replaying its turns one by one. `llm`, when given,
/// overrides the call's own `llm` field.
pub fn judge_call(call: &CallInput, config: &DetectorConfig, llm: Option<&LlmVerdict>) -> CallVerdict {
    replay(call, config, llm).verdict
}

/// Figures for a labelled set.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EvalReport {
    /// Scam calls.
    pub scams: usize,
    /// Legitimate calls.
    pub legit: usize,
    /// The threshold used.
    pub threshold: f32,
    /// True-positive rate at that threshold.
    pub tpr: f64,
    /// False-positive rate at that threshold.
    pub fpr: f64,
    /// ROC AUC of the call scores (highest risk over the replay).
    pub auc: f64,
    /// The best TPR with FPR ≤ 3 % on this set, choosing the threshold on
    /// this set (an oracle figure; `tpr`/`fpr` are the honest ones).
    pub best_tpr_at_fpr_3: f64,
    /// The threshold that gives `best_tpr_at_fpr_3`.
    pub best_threshold: f32,
    /// Detected scams by the turn (0-based) at which the decision came;
    /// keys are turn numbers, `"10+"`, and `"never"`.
    pub decided_at_turn: BTreeMap<String, usize>,
    /// Detected scams by caller turns between the first decisive tactic
    /// (strength ≥ 0.6) and the decision: `"0"` (same turn), `"1"`, `"2"`,
    /// `"3+"`, `"before"` (decided before any decisive tactic), `"no tactic"`.
    pub caller_turns_after_decisive: BTreeMap<String, usize>,
    /// Mean decided_at_turn over detected scams.
    pub mean_decided_at_turn: f64,
    /// Scams not detected.
    pub missed: Vec<String>,
    /// Legitimate calls warned about.
    pub false_alarms: Vec<String>,
}

/// Replays every labelled call (unlabelled ones are skipped) and measures.
pub fn evaluate(calls: &[CallInput], config: &DetectorConfig) -> EvalReport {
    let mut scored: Vec<(f32, bool)> = Vec::new();
    let mut report = EvalReport {
        scams: 0,
        legit: 0,
        threshold: config.warn_threshold,
        tpr: 0.0,
        fpr: 0.0,
        auc: 0.0,
        best_tpr_at_fpr_3: 0.0,
        best_threshold: 1.0,
        decided_at_turn: BTreeMap::new(),
        caller_turns_after_decisive: BTreeMap::new(),
        mean_decided_at_turn: 0.0,
        missed: Vec::new(),
        false_alarms: Vec::new(),
    };
    let (mut tp, mut fp, mut turn_sum) = (0usize, 0usize, 0usize);
    for call in calls {
        let Some(label) = call.label else { continue };
        let r = replay(call, config, None);
        let scam = label == Label::Scam;
        scored.push((r.verdict.score, scam));
        if scam {
            report.scams += 1;
            let key = match r.verdict.decided_at_turn {
                Some(t) if t >= 10 => "10+".to_owned(),
                Some(t) => format!("{t:02}"),
                None => "never".to_owned(),
            };
            *report.decided_at_turn.entry(key).or_default() += 1;
            if let Some(at) = r.verdict.decided_at_turn {
                tp += 1;
                turn_sum += at;
                let key = match r.decisive_turn {
                    None => "no tactic".to_owned(),
                    Some(d) if at < d => "before".to_owned(),
                    Some(d) => match r.caller_turn_index[at] - r.caller_turn_index[d] {
                        n @ 0..=2 => n.to_string(),
                        _ => "3+".to_owned(),
                    },
                };
                *report.caller_turns_after_decisive.entry(key).or_default() += 1;
            } else {
                report.missed.push(call.id.clone());
            }
        } else {
            report.legit += 1;
            if r.verdict.scam {
                fp += 1;
                report.false_alarms.push(call.id.clone());
            }
        }
    }
    report.tpr = ratio(tp, report.scams);
    report.fpr = ratio(fp, report.legit);
    report.mean_decided_at_turn = if tp == 0 { 0.0 } else { turn_sum as f64 / tp as f64 };
    report.auc = auc(&scored);
    let (best_tpr, best_threshold) = best_tpr_at_fpr(&scored, 0.03);
    report.best_tpr_at_fpr_3 = best_tpr;
    report.best_threshold = best_threshold;
    report
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// ROC AUC by the Mann–Whitney statistic, ties counting one half.
pub fn auc(scored: &[(f32, bool)]) -> f64 {
    let pos: Vec<f32> = scored.iter().filter(|s| s.1).map(|s| s.0).collect();
    let neg: Vec<f32> = scored.iter().filter(|s| !s.1).map(|s| s.0).collect();
    if pos.is_empty() || neg.is_empty() {
        return 0.0;
    }
    let mut sum = 0.0;
    for p in &pos {
        for n in &neg {
            sum += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    sum / (pos.len() * neg.len()) as f64
}

/// The best TPR with FPR ≤ `max_fpr`, warning at score ≥ threshold.
pub fn best_tpr_at_fpr(scored: &[(f32, bool)], max_fpr: f64) -> (f64, f32) {
    let pos = scored.iter().filter(|s| s.1).count();
    let neg = scored.len() - pos;
    let mut thresholds: Vec<f32> = scored.iter().map(|s| s.0).collect();
    thresholds.sort_by(f32::total_cmp);
    thresholds.dedup();
    let mut best = (0.0, 1.0);
    for t in thresholds {
        let tp = scored.iter().filter(|s| s.1 && s.0 >= t).count();
        let fp = scored.iter().filter(|s| !s.1 && s.0 >= t).count();
        if ratio(fp, neg) <= max_fpr && ratio(tp, pos) > best.0 {
            best = (ratio(tp, pos), t);
        }
    }
    best
}

impl std::fmt::Display for EvalReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "calls: {} scam, {} legit; threshold {:.3}", self.scams, self.legit, self.threshold)?;
        writeln!(f, "TPR {:.3}  FPR {:.3}  ROC AUC {:.3}", self.tpr, self.fpr, self.auc)?;
        writeln!(
            f,
            "oracle: best TPR at FPR <= 3% on this set {:.3} (threshold {:.3})",
            self.best_tpr_at_fpr_3, self.best_threshold
        )?;
        writeln!(f, "decided_at_turn (scams): {:?}; mean {:.2}", self.decided_at_turn, self.mean_decided_at_turn)?;
        writeln!(f, "caller turns after first decisive tactic: {:?}", self.caller_turns_after_decisive)?;
        writeln!(f, "missed: {:?}", self.missed)?;
        write!(f, "false alarms: {:?}", self.false_alarms)
    }
}
