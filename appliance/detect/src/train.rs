//! Fitting the classifier, the fusion and the default threshold.
//!
//! Deterministic: no randomness at all (full-batch gradient descent with
//! momentum from zero weights, folds assigned by a hash of the call id,
//! fixed iteration order), no threads.
//!
//! 1. Every prefix of every call (after each turn) is an example with the
//!    call's label: the live detector scores each prefix. Within a call,
//!    prefix `k` weighs `k+1` (later prefixes know more); each call weighs 1
//!    in all (`extra_weight` for the extra scams, e.g. robocall monologues);
//!    then legit examples are scaled so both classes weigh the same.
//! 2. The classifier (hashed words and bigrams + tactic strengths) is fitted
//!    `folds` times, each time without one fold of calls, to get
//!    out-of-fold logits for every prefix; the fusion is fitted on those, so
//!    it learns how far to trust the classifier on calls it has not seen.
//! 3. The final classifier is fitted on everything.
//! 4. The warn threshold: the out-of-fold models replay the labelled calls
//!    turn by turn exactly as the detector does; the threshold is the
//!    lowest value with FPR ≤ `target_fpr` over the legitimate calls, plus
//!    `threshold_margin`.
//!
//! External components (LLM, signaling, audio) keep their documented
//! priors ([`ComponentWeights::LLM_PRIOR`] …) with `absent` = 0: the team's
//! data has no scores for them yet. With `absent` = 0, a missing component
//! leaves the fused logit as the other evidence makes it (marginalizing
//! around a neutral score).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::detector::{CallDetector, DetectorConfig, Speaker, Turn, fusion_features};
use crate::eval::{CallInput, Label};
use crate::features::{fnv1a, normalized, turn_buckets};
use crate::model::{BUCKETS, ClassifierWeights, ComponentWeights, FusionWeights, Model};
use crate::tactics::TacticState;
use crate::tactics::codes::{SAFEGUARDS, TACTICS};
use crate::text::tokenize;

/// Training settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Folds for out-of-fold logits.
    pub folds: u64,
    /// Gradient descent iterations for the classifier.
    pub epochs: usize,
    /// L2 penalty for the classifier.
    pub l2: f64,
    /// Weight of each extra (monologue) scam call relative to a team call.
    pub extra_weight: f64,
    /// Target false-positive rate for the threshold.
    pub target_fpr: f64,
    /// Added to the threshold found.
    pub threshold_margin: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions { folds: 5, epochs: 1500, l2: 2e-3, extra_weight: 0.3, target_fpr: 0.03, threshold_margin: 0.02 }
    }
}

const N_CODES: usize = TACTICS.len() + SAFEGUARDS.len();
/// Classifier dimensions: bias, buckets, tactic codes.
const DIM: usize = 1 + BUCKETS + N_CODES;

struct Example {
    call: usize,
    x: Vec<(u32, f32)>,
    tactics: TacticState,
    label: bool,
    weight: f64,
}

fn examples(calls: &[(&CallInput, f64)]) -> Vec<Example> {
    let mut out = Vec::new();
    for (ci, (call, call_weight)) in calls.iter().enumerate() {
        let label = call.label == Some(Label::Scam);
        let mut state = TacticState::default();
        let mut counts: BTreeMap<u32, u32> = BTreeMap::new();
        let mut buckets = Vec::new();
        let n = call.turns.len();
        let total: f64 = (1..=n).map(|k| k as f64).sum();
        for (i, turn) in call.turns.iter().enumerate() {
            let caller = turn.speaker == Speaker::Caller;
            let tokens = tokenize(&turn.text);
            state.on_turn(i, caller, &tokens, call.caller_id.as_deref());
            buckets.clear();
            turn_buckets(caller, &tokens, &mut buckets);
            for b in &buckets {
                *counts.entry(*b).or_default() += 1;
            }
            let mut x = vec![(0u32, 1.0f32)];
            x.extend(normalized(&counts).into_iter().map(|(b, v)| (b + 1, v)));
            for (j, code) in TACTICS.iter().chain(SAFEGUARDS.iter()).enumerate() {
                let s = state.strength(code);
                if s > 0.0 {
                    x.push(((1 + BUCKETS + j) as u32, s));
                }
            }
            out.push(Example {
                call: ci,
                x,
                tactics: state.clone(),
                label,
                weight: call_weight * (i + 1) as f64 / total,
            });
        }
    }
    balance(&mut out);
    out
}

/// Scales weights so each class sums to 0.5.
fn balance(examples: &mut [Example]) {
    for class in [true, false] {
        let sum: f64 = examples.iter().filter(|e| e.label == class).map(|e| e.weight).sum();
        if sum > 0.0 {
            examples.iter_mut().filter(|e| e.label == class).for_each(|e| e.weight *= 0.5 / sum);
        }
    }
}

/// One weighted example: sparse features, label, weight.
type Sample<'a> = (&'a [(u32, f32)], bool, f64);

/// Weighted logistic regression by full-batch gradient descent with
/// momentum; index 0 is the unpenalized bias.
fn fit(samples: &[Sample<'_>], dim: usize, l2: f64, epochs: usize, lr: f64) -> Vec<f64> {
    let mut w = vec![0.0f64; dim];
    let mut velocity = vec![0.0f64; dim];
    let mut grad = vec![0.0f64; dim];
    let total: f64 = samples.iter().map(|s| s.2).sum::<f64>().max(1e-12);
    for _ in 0..epochs {
        grad.iter_mut().for_each(|g| *g = 0.0);
        for (x, y, weight) in samples {
            let z: f64 = x.iter().map(|(i, v)| w[*i as usize] * f64::from(*v)).sum();
            let p = 1.0 / (1.0 + (-z.clamp(-40.0, 40.0)).exp());
            let err = (p - if *y { 1.0 } else { 0.0 }) * weight / total;
            for (i, v) in x.iter() {
                grad[*i as usize] += err * f64::from(*v);
            }
        }
        for i in 0..dim {
            let g = grad[i] + if i == 0 { 0.0 } else { l2 * w[i] };
            velocity[i] = 0.9 * velocity[i] - lr * g;
            w[i] += velocity[i];
        }
    }
    w
}

fn fit_classifier(examples: &[Example], keep: impl Fn(&Example) -> bool, options: &TrainOptions) -> ClassifierWeights {
    let samples: Vec<Sample<'_>> =
        examples.iter().filter(|e| keep(e)).map(|e| (e.x.as_slice(), e.label, e.weight)).collect();
    let w = fit(&samples, DIM, options.l2, options.epochs, 0.5);
    let round = |v: f64| ((v * 10_000.0).round() / 10_000.0) as f32;
    ClassifierWeights {
        bias: round(w[0]),
        words: w[1..=BUCKETS].iter().map(|v| round(*v)).collect(),
        tactics: TACTICS
            .iter()
            .chain(SAFEGUARDS.iter())
            .enumerate()
            .map(|(j, c)| ((*c).to_owned(), round(w[1 + BUCKETS + j])))
            .collect(),
    }
}

fn classifier_logit(weights: &ClassifierWeights, x: &[(u32, f32)]) -> f32 {
    let mut z = 0.0f64;
    for (i, v) in x {
        let i = *i as usize;
        let w = if i == 0 {
            weights.bias
        } else if i <= BUCKETS {
            weights.words[i - 1]
        } else {
            weights
                .tactics
                .get(TACTICS.iter().chain(SAFEGUARDS.iter()).nth(i - 1 - BUCKETS).copied().unwrap_or(""))
                .copied()
                .unwrap_or(0.0)
        };
        z += f64::from(w) * f64::from(*v);
    }
    z as f32
}

/// What training found, for people.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainSummary {
    /// Team calls used (scam, legit).
    pub calls: (usize, usize),
    /// Extra scam calls used.
    pub extra_calls: usize,
    /// Prefix examples.
    pub examples: usize,
    /// The chosen threshold.
    pub warn_threshold: f32,
    /// Out-of-fold TPR and FPR at that threshold over the team calls.
    pub oof_tpr_fpr: (f64, f64),
    /// Out-of-fold ROC AUC over the team calls.
    pub oof_auc: f64,
}

/// Fits a model on labelled team calls plus extra scam calls.
pub fn train(calls: &[CallInput], extra_scams: &[CallInput], options: &TrainOptions) -> (Model, TrainSummary) {
    let labelled: Vec<(&CallInput, f64)> = calls
        .iter()
        .filter(|c| c.label.is_some())
        .map(|c| (c, 1.0))
        .chain(extra_scams.iter().filter(|c| c.label == Some(Label::Scam)).map(|c| (c, options.extra_weight)))
        .collect();
    let team = calls.iter().filter(|c| c.label.is_some()).count();
    let ex = examples(&labelled);
    let fold_of = |call: usize| fnv1a(&labelled[call].0.id) % options.folds.max(2);

    // Out-of-fold classifiers and logits.
    let mut fold_weights = Vec::new();
    let mut oof_logit = vec![0.0f32; ex.len()];
    for fold in 0..options.folds.max(2) {
        let weights = fit_classifier(&ex, |e| fold_of(e.call) != fold, options);
        for (i, e) in ex.iter().enumerate() {
            if fold_of(e.call) == fold {
                oof_logit[i] = classifier_logit(&weights, &e.x);
            }
        }
        fold_weights.push(weights);
    }

    // Fusion on out-of-fold logits.
    let fusion_x: Vec<Vec<(u32, f32)>> = ex
        .iter()
        .zip(&oof_logit)
        .map(|(e, z)| {
            let f = fusion_features(&e.tactics, *z).to_array();
            std::iter::once((0u32, 1.0f32)).chain(f.iter().enumerate().map(|(j, v)| ((j + 1) as u32, *v))).collect()
        })
        .collect();
    let samples: Vec<Sample<'_>> = ex.iter().zip(&fusion_x).map(|(e, x)| (x.as_slice(), e.label, e.weight)).collect();
    let fw = fit(&samples, 6, 1e-3, 4000, 0.5);
    let r = |v: f64| ((v * 10_000.0).round() / 10_000.0) as f32;
    let fusion = FusionWeights {
        bias: r(fw[0]),
        classifier: r(fw[1]),
        tactic_max: r(fw[2]),
        tactic_sum: r(fw[3]),
        combo: r(fw[4]),
        safeguards: r(fw[5]),
        llm: ComponentWeights::LLM_PRIOR,
        signaling: ComponentWeights::SIGNALING_PRIOR,
        audio: ComponentWeights::AUDIO_PRIOR,
    };

    // Threshold from out-of-fold live replays of the team calls.
    let mut scored: Vec<(f32, bool)> = Vec::new();
    for call in calls.iter().filter(|c| c.label.is_some()) {
        let fold = fnv1a(&call.id) % options.folds.max(2);
        let mut model = Model::rules_only();
        model.classifier = fold_weights[fold as usize].clone();
        model.fusion = fusion.clone();
        let mut config = DetectorConfig::with_model(Arc::new(model));
        config.caller_id.clone_from(&call.caller_id);
        let mut detector = CallDetector::new(&config);
        let mut score: f32 = 0.0;
        for t in &call.turns {
            score = score.max(detector.on_turn(Turn { speaker: t.speaker, text: &t.text, at: None }).risk);
        }
        scored.push((score, call.label == Some(Label::Scam)));
    }
    let mut legit: Vec<f32> = scored.iter().filter(|s| !s.1).map(|s| s.0).collect();
    legit.sort_by(|a, b| b.total_cmp(a));
    let allowed = (options.target_fpr * legit.len() as f64).floor() as usize;
    let base = legit.get(allowed).copied().unwrap_or(0.5);
    let warn_threshold = r(f64::from((base + options.threshold_margin).clamp(0.05, 0.99)));
    let tp = scored.iter().filter(|s| s.1 && s.0 >= warn_threshold).count();
    let fp = scored.iter().filter(|s| !s.1 && s.0 >= warn_threshold).count();
    let n_scam = scored.iter().filter(|s| s.1).count();
    let summary = TrainSummary {
        calls: (n_scam, team - n_scam),
        extra_calls: labelled.len() - team,
        examples: ex.len(),
        warn_threshold,
        oof_tpr_fpr: (tp as f64 / n_scam.max(1) as f64, fp as f64 / legit.len().max(1) as f64),
        oof_auc: crate::eval::auc(&scored),
    };

    let classifier = fit_classifier(&ex, |_| true, options);
    let mut provenance = BTreeMap::new();
    provenance.insert("summary".to_owned(), serde_json::to_value(&summary).unwrap_or_default());
    provenance.insert(
        "options".to_owned(),
        serde_json::json!({
            "folds": options.folds, "epochs": options.epochs, "l2": options.l2,
            "extra_weight": options.extra_weight, "target_fpr": options.target_fpr,
            "threshold_margin": options.threshold_margin,
        }),
    );
    let model = Model { version: 1, classifier, fusion, warn_threshold, provenance };
    (model, summary)
}
