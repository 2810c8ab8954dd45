//! The whisper.cpp ggml model format: magic, hyper-parameters and tensor types.
//!
//! A ggml whisper file is, all integers little-endian 32-bit:
//!
//! ```text
//! magic 0x67676d6c ("ggml")
//! hyper-parameters: n_vocab n_audio_ctx n_audio_state n_audio_head n_audio_layer
//!                   n_text_ctx n_text_state n_text_head n_text_layer n_mels ftype
//! mel filters: n_mel, n_bins (201), then n_mel * n_bins f32
//! vocabulary: token count, then per token: byte length, bytes
//! tensors until the end of the file, each:
//!     n_dims | name length | ggml type | ne[n_dims] (innermost first) | name | data
//! ```
//!
//! This is what `whisper_model_load` in whisper.cpp reads; the converter
//! writes it and the inspector checks it against the same rules.

use serde::Serialize;

/// The first four bytes of a ggml file, read as a little-endian u32 ("ggml").
pub const GGML_MAGIC: u32 = 0x6767_6d6c;

/// whisper.cpp folds a quantization version into `ftype` as `version * 1000 + ftype`.
const QUANTIZATION_VERSION_FACTOR: u32 = 1000;

/// The smallest multilingual vocabulary; English-only models have 51864 tokens.
const MULTILINGUAL_MIN_VOCAB: u32 = 51865;
/// The vocabulary size of large-v3 models (one more language than v2).
const V3_VOCAB: u32 = 51866;

/// A whisper model's hyper-parameters, as the ggml header stores them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WhisperHparams {
    /// Vocabulary size (token embedding rows), special tokens included.
    pub n_vocab: u32,
    /// Audio frames the encoder sees (1500 for 30 s).
    pub n_audio_ctx: u32,
    /// Encoder width.
    pub n_audio_state: u32,
    /// Encoder attention heads.
    pub n_audio_head: u32,
    /// Encoder layers.
    pub n_audio_layer: u32,
    /// Tokens the decoder sees (448).
    pub n_text_ctx: u32,
    /// Decoder width (whisper.cpp requires it equal to the encoder's).
    pub n_text_state: u32,
    /// Decoder attention heads.
    pub n_text_head: u32,
    /// Decoder layers.
    pub n_text_layer: u32,
    /// Mel bands of the input spectrogram (80, or 128 for large-v3).
    pub n_mels: u32,
    /// Weight storage, ggml's `ftype` (1 = f16), possibly with a quantization version folded in.
    pub ftype: u32,
}

impl WhisperHparams {
    /// The header fields in file order, with their names, for writing and error messages.
    pub(crate) fn fields(&self) -> [(&'static str, u32); 11] {
        [
            ("n_vocab", self.n_vocab),
            ("n_audio_ctx", self.n_audio_ctx),
            ("n_audio_state", self.n_audio_state),
            ("n_audio_head", self.n_audio_head),
            ("n_audio_layer", self.n_audio_layer),
            ("n_text_ctx", self.n_text_ctx),
            ("n_text_state", self.n_text_state),
            ("n_text_head", self.n_text_head),
            ("n_text_layer", self.n_text_layer),
            ("n_mels", self.n_mels),
            ("ftype", self.ftype),
        ]
    }

    /// Builds hyper-parameters from the header fields in file order.
    pub(crate) fn from_fields(f: [u32; 11]) -> Self {
        let [
            n_vocab,
            n_audio_ctx,
            n_audio_state,
            n_audio_head,
            n_audio_layer,
            n_text_ctx,
            n_text_state,
            n_text_head,
            n_text_layer,
            n_mels,
            ftype,
        ] = f;
        Self {
            n_vocab,
            n_audio_ctx,
            n_audio_state,
            n_audio_head,
            n_audio_layer,
            n_text_ctx,
            n_text_state,
            n_text_head,
            n_text_layer,
            n_mels,
            ftype,
        }
    }

    /// Checks what whisper.cpp relies on: every size positive and fitting an i32, widths equal, heads dividing them.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in self.fields() {
            let positive = name == "ftype" || value > 0;
            if !positive || value > i32::MAX as u32 {
                return Err(format!("{name} = {value} is out of range"));
            }
        }
        if u64::from(self.n_audio_state) * 4 > i32::MAX as u64 {
            return Err(format!("model width {} is out of range", self.n_audio_state));
        }
        if self.n_audio_state != self.n_text_state {
            return Err(format!(
                "encoder width {} differs from decoder width {}",
                self.n_audio_state, self.n_text_state
            ));
        }
        if !self.n_audio_state.is_multiple_of(self.n_audio_head) || !self.n_text_state.is_multiple_of(self.n_text_head)
        {
            return Err("attention heads do not divide the model width".into());
        }
        Ok(())
    }

    /// The type of the large weight matrices, from `ftype`; `None` if whisper.cpp does not know it.
    pub fn weight_type(&self) -> Option<GgmlType> {
        GgmlType::for_ftype(self.ftype % QUANTIZATION_VERSION_FACTOR)
    }

    /// Whether the model transcribes many languages (English-only models have a smaller vocabulary).
    pub fn is_multilingual(&self) -> bool {
        self.n_vocab >= MULTILINGUAL_MIN_VOCAB
    }

    /// The usual model name, e.g. `tiny.en`, `base`, `large-v3`, derived from layer count and vocabulary.
    ///
    /// Models whose decoder is cut down (distilled or "turbo") get `-dec<layers>`.
    pub fn model_name(&self) -> String {
        let mut name = match self.n_audio_layer {
            4 => "tiny".to_owned(),
            6 => "base".to_owned(),
            12 => "small".to_owned(),
            24 => "medium".to_owned(),
            32 => "large".to_owned(),
            layers => format!("custom-{layers}-layer"),
        };
        if !self.is_multilingual() {
            name.push_str(".en");
        }
        if self.n_vocab == V3_VOCAB {
            name.push_str("-v3");
        }
        if self.n_text_layer != self.n_audio_layer {
            name.push_str(&format!("-dec{}", self.n_text_layer));
        }
        name
    }
}

/// Element types of ggml tensors that whisper models use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // The variants are ggml's own type names.
pub enum GgmlType {
    F32,
    F16,
    Bf16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
}

impl GgmlType {
    const ALL: [GgmlType; 13] = [
        Self::F32,
        Self::F16,
        Self::Bf16,
        Self::Q4_0,
        Self::Q4_1,
        Self::Q5_0,
        Self::Q5_1,
        Self::Q8_0,
        Self::Q2K,
        Self::Q3K,
        Self::Q4K,
        Self::Q5K,
        Self::Q6K,
    ];

    /// ggml's `ggml_type` number, stored in each tensor header.
    pub fn code(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q2K => 10,
            Self::Q3K => 11,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
            Self::Bf16 => 30,
        }
    }

    /// The type with ggml number `code`, if whisper models use it.
    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// The `ftype` number (ggml's `ggml_ftype`) of a file whose weights are of this type.
    fn ftype(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q8_0 => 7,
            Self::Q5_0 => 8,
            Self::Q5_1 => 9,
            Self::Q2K => 10,
            Self::Q3K => 11,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
            Self::Bf16 => 24,
        }
    }

    /// The weight type of a file with this `ftype` (quantization version removed).
    pub fn for_ftype(ftype: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.ftype() == ftype)
    }

    /// The lower-case name ggml tools print, e.g. `f16`, `q5_0`, `q4_k`.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::Bf16 => "bf16",
            Self::Q4_0 => "q4_0",
            Self::Q4_1 => "q4_1",
            Self::Q5_0 => "q5_0",
            Self::Q5_1 => "q5_1",
            Self::Q8_0 => "q8_0",
            Self::Q2K => "q2_k",
            Self::Q3K => "q3_k",
            Self::Q4K => "q4_k",
            Self::Q5K => "q5_k",
            Self::Q6K => "q6_k",
        }
    }

    /// Elements per block and bytes per block (ggml's `blck_size` and `type_size`).
    fn block(self) -> (u64, u64) {
        match self {
            Self::F32 => (1, 4),
            Self::F16 | Self::Bf16 => (1, 2),
            Self::Q4_0 => (32, 18),
            Self::Q4_1 => (32, 20),
            Self::Q5_0 => (32, 22),
            Self::Q5_1 => (32, 24),
            Self::Q8_0 => (32, 34),
            Self::Q2K => (256, 84),
            Self::Q3K => (256, 110),
            Self::Q4K => (256, 144),
            Self::Q5K => (256, 176),
            Self::Q6K => (256, 210),
        }
    }

    /// Bytes of a tensor of shape `ne` (innermost first); `None` if rows do not fill whole blocks or it overflows.
    pub fn data_size(self, ne: &[u64]) -> Option<u64> {
        let (block_len, block_bytes) = self.block();
        let (&row_len, rest) = ne.split_first()?;
        if !row_len.is_multiple_of(block_len) {
            return None;
        }
        rest.iter().try_fold((row_len / block_len).checked_mul(block_bytes)?, |acc, &d| acc.checked_mul(d))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The hyper-parameters of whisper tiny.en, stored as f16.
    pub(crate) fn tiny_en() -> WhisperHparams {
        WhisperHparams::from_fields([51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1])
    }

    #[test]
    fn names_models_like_whisper_does() {
        assert_eq!(tiny_en().model_name(), "tiny.en");
        let large_v3 = WhisperHparams::from_fields([51866, 1500, 1280, 20, 32, 448, 1280, 20, 32, 128, 1]);
        assert_eq!(large_v3.model_name(), "large-v3");
        let turbo = WhisperHparams { n_text_layer: 4, ..large_v3 };
        assert_eq!(turbo.model_name(), "large-v3-dec4");
        let base = WhisperHparams::from_fields([51865, 1500, 512, 8, 6, 448, 512, 8, 6, 80, 1]);
        assert_eq!(base.model_name(), "base");
    }

    #[test]
    fn ftype_with_quantization_version_maps_to_weight_type() {
        assert_eq!(tiny_en().weight_type(), Some(GgmlType::F16));
        assert_eq!(WhisperHparams { ftype: 2008, ..tiny_en() }.weight_type(), Some(GgmlType::Q5_0));
        assert_eq!(WhisperHparams { ftype: 4, ..tiny_en() }.weight_type(), None);
    }

    #[test]
    fn data_size_follows_ggml_blocks() {
        assert_eq!(GgmlType::F16.data_size(&[384, 384]), Some(294_912));
        assert_eq!(GgmlType::F32.data_size(&[1, 384]), Some(1536));
        assert_eq!(GgmlType::Q8_0.data_size(&[384, 2]), Some(12 * 34 * 2));
        assert_eq!(GgmlType::Q4K.data_size(&[384, 2]), None, "rows must fill whole blocks");
        assert_eq!(GgmlType::F32.data_size(&[u64::MAX, 2]), None);
    }

    #[test]
    fn validate_rejects_what_whisper_cpp_cannot_run() {
        assert_eq!(tiny_en().validate(), Ok(()));
        assert!(WhisperHparams { n_text_state: 512, ..tiny_en() }.validate().is_err());
        assert!(WhisperHparams { n_audio_head: 0, ..tiny_en() }.validate().is_err());
        assert!(WhisperHparams { n_audio_head: 5, ..tiny_en() }.validate().is_err());
        assert!(WhisperHparams { n_vocab: u32::MAX, ..tiny_en() }.validate().is_err());
    }
}
