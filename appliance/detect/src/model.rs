//! The trained weights: a hashed-feature logistic classifier and the fusion
//! layer, stored as one small JSON file (`model/model.json`) that the
//! library embeds. `cargo run --release --bin train` rewrites it.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::tactics::codes::{SAFEGUARDS, TACTICS};

/// Number of hash buckets for word and bigram features.
pub const BUCKETS: usize = 8192;

/// The embedded model file.
const EMBEDDED: &str = include_str!("../model/model.json");

/// A model file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The JSON did not parse as a model.
    #[error("model file is not valid model JSON: {0}; retrain with `cargo run --release --bin train`")]
    Json(#[from] serde_json::Error),
    /// The weights do not have the expected shape.
    #[error("model has {found} word weights, expected {expected}; retrain with this version of callguard-detect")]
    Shape {
        /// What the file has.
        found: usize,
        /// What this build needs.
        expected: usize,
    },
}

/// The linear classifier over words, bigrams and tactic strengths.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassifierWeights {
    /// Intercept.
    pub bias: f32,
    /// One weight per hash bucket ([`BUCKETS`]).
    pub words: Vec<f32>,
    /// One weight per tactic or safeguard code.
    pub tactics: BTreeMap<String, f32>,
}

/// Weights of one optional external component in the fusion.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct ComponentWeights {
    /// Weight on the component's centred value when it is present.
    pub weight: f32,
    /// Added to the fused logit when the component is absent.
    pub absent: f32,
    /// Whether these weights were fitted on data (false: documented prior).
    pub fitted: bool,
}

/// The logistic fusion of all evidence into one probability.
///
/// `logit = bias + classifier·(z/4) + tactic_max·m + tactic_sum·(s/3) +
/// combo·c + safeguards·(g/2) + Σ external`, where `z` is the classifier
/// logit (clamped to ±12), `m` the strongest tactic, `s` the summed tactic
/// strengths (capped at 3), `c` = strongest impersonation × strongest
/// request (secret, payment, remote access), `g` the summed safeguards
/// (capped at 2). Each external component `k` adds `weight_k · x_k` when
/// present and `absent_k` when not, with `x` = logit(p)/4 for the LLM
/// (p clamped to [0.02, 0.98]) and `2·(v − 0.5)` for signaling and audio.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FusionWeights {
    /// Intercept.
    pub bias: f32,
    /// Classifier logit / 4.
    pub classifier: f32,
    /// Strongest tactic.
    pub tactic_max: f32,
    /// Sum of tactic strengths / 3.
    pub tactic_sum: f32,
    /// Impersonation × request.
    pub combo: f32,
    /// Sum of safeguards / 2.
    pub safeguards: f32,
    /// The LLM judge.
    pub llm: ComponentWeights,
    /// Signaling risk (STIR/SHAKEN, spoofing, fraud lists).
    pub signaling: ComponentWeights,
    /// Audio anomaly score.
    pub audio: ComponentWeights,
}

/// Everything the detector needs: classifier, fusion, default threshold.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Model {
    /// Format version.
    pub version: u32,
    /// The word classifier.
    pub classifier: ClassifierWeights,
    /// The fusion layer.
    pub fusion: FusionWeights,
    /// Default warn threshold (chosen for FPR ≤ 3 % on the training calls).
    pub warn_threshold: f32,
    /// How the model was trained (command, data, figures), for people.
    #[serde(default)]
    pub provenance: BTreeMap<String, serde_json::Value>,
}

impl Model {
    /// Parses and checks a model file.
    pub fn from_json(text: &str) -> Result<Model, ModelError> {
        let model: Model = serde_json::from_str(text)?;
        if model.classifier.words.len() != BUCKETS {
            return Err(ModelError::Shape { found: model.classifier.words.len(), expected: BUCKETS });
        }
        Ok(model)
    }

    /// The model embedded in the library. If it cannot be used (it always
    /// can in a released build; a test guards it), a rules-only model.
    pub fn embedded() -> Arc<Model> {
        static MODEL: OnceLock<Arc<Model>> = OnceLock::new();
        MODEL.get_or_init(|| Arc::new(Model::from_json(EMBEDDED).unwrap_or_else(|_| Model::rules_only()))).clone()
    }

    /// A model with no trained word weights: risk comes from tactics only,
    /// with hand-set weights. Used to bootstrap training and as a fallback.
    pub fn rules_only() -> Model {
        let tactics = TACTICS.iter().chain(SAFEGUARDS.iter()).map(|c| ((*c).to_owned(), 0.0)).collect();
        Model {
            version: 1,
            classifier: ClassifierWeights { bias: 0.0, words: vec![0.0; BUCKETS], tactics },
            fusion: FusionWeights {
                bias: -4.0,
                classifier: 0.0,
                tactic_max: 3.0,
                tactic_sum: 2.0,
                combo: 3.0,
                safeguards: -3.0,
                llm: ComponentWeights::LLM_PRIOR,
                signaling: ComponentWeights::SIGNALING_PRIOR,
                audio: ComponentWeights::AUDIO_PRIOR,
            },
            warn_threshold: 0.7,
            provenance: BTreeMap::from([("kind".to_owned(), serde_json::Value::from("rules-only"))]),
        }
    }

    /// Whether the classifier has trained weights.
    pub fn has_classifier(&self) -> bool {
        self.classifier.words.iter().any(|w| *w != 0.0)
    }
}

impl ComponentWeights {
    /// Prior for the LLM when no labelled data has its scores: a modest
    /// weight (the test models are not usable classifiers) and no shift
    /// when absent.
    pub const LLM_PRIOR: ComponentWeights = ComponentWeights { weight: 1.0, absent: 0.0, fitted: false };
    /// Prior for signaling risk: 2.0 logits from neutral to certain.
    pub const SIGNALING_PRIOR: ComponentWeights = ComponentWeights { weight: 2.0, absent: 0.0, fitted: false };
    /// Prior for the audio anomaly score.
    pub const AUDIO_PRIOR: ComponentWeights = ComponentWeights { weight: 1.5, absent: 0.0, fitted: false };
}

/// The five evidence features the fusion uses besides external components.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FusionFeatures {
    /// Classifier logit / 4, clamped.
    pub classifier: f32,
    /// Strongest tactic.
    pub tactic_max: f32,
    /// Summed tactic strengths / 3, capped at 1.
    pub tactic_sum: f32,
    /// Impersonation × request.
    pub combo: f32,
    /// Summed safeguards / 2, capped at 1.
    pub safeguards: f32,
}

impl FusionFeatures {
    /// As an array, in weight order.
    pub fn to_array(self) -> [f32; 5] {
        [self.classifier, self.tactic_max, self.tactic_sum, self.combo, self.safeguards]
    }
}

/// Centred values of the external components (None when absent).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ExternalValues {
    /// LLM: logit(p)/4.
    pub llm: Option<f32>,
    /// Signaling: 2(v − 0.5).
    pub signaling: Option<f32>,
    /// Audio: 2(v − 0.5).
    pub audio: Option<f32>,
}

impl ExternalValues {
    /// Centres raw scores in [0, 1]; NaN counts as absent.
    pub fn from_scores(llm: Option<f32>, signaling: Option<f32>, audio: Option<f32>) -> ExternalValues {
        let ok = |v: Option<f32>| v.filter(|v| v.is_finite()).map(|v| v.clamp(0.0, 1.0));
        ExternalValues {
            llm: ok(llm).map(|p| {
                let p = p.clamp(0.02, 0.98);
                (p / (1.0 - p)).ln() / 4.0
            }),
            signaling: ok(signaling).map(|v| 2.0 * (v - 0.5)),
            audio: ok(audio).map(|v| 2.0 * (v - 0.5)),
        }
    }
}

impl FusionWeights {
    /// The fused logit.
    pub fn logit(&self, f: FusionFeatures, ext: ExternalValues) -> f32 {
        let base = self.bias
            + self.classifier * f.classifier
            + self.tactic_max * f.tactic_max
            + self.tactic_sum * f.tactic_sum
            + self.combo * f.combo
            + self.safeguards * f.safeguards;
        let part = |w: &ComponentWeights, v: Option<f32>| v.map_or(w.absent, |v| w.weight * v);
        base + part(&self.llm, ext.llm) + part(&self.signaling, ext.signaling) + part(&self.audio, ext.audio)
    }
}

/// The logistic function, safe for any input.
pub fn sigmoid(z: f32) -> f32 {
    if z.is_nan() {
        return 0.0;
    }
    1.0 / (1.0 + (-z.clamp(-30.0, 30.0)).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_model_parses() {
        let model = Model::from_json(EMBEDDED).expect("embedded model must parse");
        assert!(model.warn_threshold > 0.0 && model.warn_threshold < 1.0);
    }

    #[test]
    fn external_values_are_bounded() {
        let v = ExternalValues::from_scores(Some(1.0), Some(f32::NAN), Some(-3.0));
        assert!(v.llm.is_some_and(|x| x.abs() < 1.0));
        assert_eq!(v.signaling, None);
        assert_eq!(v.audio, Some(-1.0));
    }
}
