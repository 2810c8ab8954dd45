//! Every tensor whisper.cpp loads, its shape and storage type, and where it comes from in a CTranslate2 model.
//!
//! One table serves both directions: the converter walks it to write a
//! ggml file from a CTranslate2 `model.bin`, and the inspector checks a
//! ggml file against it, as `whisper_model_load` would.
//!
//! Shapes are ggml's `ne`, innermost dimension first: PyTorch's `[out, in]`
//! weight is `ne = [in, out]` with the same bytes, so no transposes are
//! needed. CTranslate2 fuses some projections; a fused variable is split by
//! rows (its outermost dimension):
//!
//! - self-attention `linear_0` is query, key and value stacked (3 parts);
//!   the key part's bias is zero (Whisper's key projection has none) and is dropped,
//! - cross-attention `linear_0` is the query, `linear_1` key and value (2 parts),
//!   `linear_2` the output,
//! - layer-norm `gamma`/`beta` are ggml's `weight`/`bias`.

use crate::ggml::{GgmlType, WhisperHparams};

/// How whisper.cpp stores a tensor, which decides its ggml type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    /// Always f32: biases, layer norms, positional embeddings (convert-pt-to-ggml.py keeps these exact).
    Float32,
    /// Convolution kernels: f32 in an f32 file, f16 otherwise (never quantized).
    ConvWeight,
    /// Matrices stored in the file's weight type (f16, or quantized).
    Weight,
}

/// Rows `part` of `parts` equal row blocks of a CTranslate2 variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ct2Slice {
    /// The CTranslate2 variable name.
    pub variable: String,
    /// Which block of rows, from 0.
    pub part: u32,
    /// How many equal blocks the variable's rows split into (1 = the whole variable).
    pub parts: u32,
}

/// One tensor of a whisper ggml file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WhisperTensor {
    /// whisper.cpp's name, e.g. `encoder.blocks.0.attn.query.weight`.
    pub name: String,
    /// ggml shape, innermost dimension first.
    pub ne: Vec<u64>,
    /// How it is stored.
    pub storage: Storage,
    /// Where its values are in a CTranslate2 Whisper model.
    pub source: Ct2Slice,
}

impl WhisperTensor {
    /// The ggml type whisper.cpp expects for this tensor in a file whose weights are `weight_type`.
    pub(crate) fn ggml_type(&self, weight_type: GgmlType) -> GgmlType {
        match self.storage {
            Storage::Float32 => GgmlType::F32,
            Storage::ConvWeight if weight_type == GgmlType::F32 => GgmlType::F32,
            Storage::ConvWeight => GgmlType::F16,
            Storage::Weight => weight_type,
        }
    }
}

/// The number of tensors [`whisper_tensors`] lists, without building the list.
pub(crate) fn whisper_tensor_count(h: &WhisperHparams) -> u64 {
    11 + 15 * u64::from(h.n_audio_layer) + 24 * u64::from(h.n_text_layer)
}

struct TableBuilder(Vec<WhisperTensor>);

impl TableBuilder {
    fn push(&mut self, name: String, ne: &[u64], storage: Storage, variable: String, part: u32, parts: u32) {
        let source = Ct2Slice { variable, part, parts };
        self.0.push(WhisperTensor { name, ne: ne.to_vec(), storage, source });
    }

    /// A whole CTranslate2 variable.
    fn whole(&mut self, name: String, ne: &[u64], storage: Storage, variable: String) {
        self.push(name, ne, storage, variable, 0, 1);
    }

    /// A linear layer: `{name}.weight` and `{name}.bias`, from `{ct2}/weight` and `{ct2}/bias`.
    fn linear(&mut self, name: &str, ct2: &str, n_in: u64, n_out: u64) {
        self.whole(format!("{name}.weight"), &[n_in, n_out], Storage::Weight, format!("{ct2}/weight"));
        self.whole(format!("{name}.bias"), &[n_out], Storage::Float32, format!("{ct2}/bias"));
    }

    /// A layer norm: `{name}.weight` and `{name}.bias`, from `{ct2}/gamma` and `{ct2}/beta`.
    fn layer_norm(&mut self, name: &str, ct2: &str, n: u64) {
        self.whole(format!("{name}.weight"), &[n], Storage::Float32, format!("{ct2}/gamma"));
        self.whole(format!("{name}.bias"), &[n], Storage::Float32, format!("{ct2}/beta"));
    }

    /// Query, key and value projections from a fused (3-part) or key/value (2-part) CTranslate2 linear.
    fn split_projections(&mut self, name: &str, ct2: &str, parts: &[&str], n: u64) {
        let count = parts.len() as u32;
        for (part, role) in (0u32..).zip(parts) {
            let weight = format!("{ct2}/weight");
            self.push(format!("{name}.{role}.weight"), &[n, n], Storage::Weight, weight, part, count);
            if *role != "key" {
                let bias = format!("{ct2}/bias");
                self.push(format!("{name}.{role}.bias"), &[n], Storage::Float32, bias, part, count);
            }
        }
    }

    /// The feed-forward block shared by encoder and decoder layers.
    fn mlp(&mut self, block: &str, ct2: &str, n: u64) {
        self.layer_norm(&format!("{block}.mlp_ln"), &format!("{ct2}/ffn/layer_norm"), n);
        self.linear(&format!("{block}.mlp.0"), &format!("{ct2}/ffn/linear_0"), n, 4 * n);
        self.linear(&format!("{block}.mlp.2"), &format!("{ct2}/ffn/linear_1"), 4 * n, n);
    }

    /// Self-attention: layer norm, fused query/key/value, output.
    fn self_attention(&mut self, block: &str, ct2: &str, n: u64) {
        self.layer_norm(&format!("{block}.attn_ln"), &format!("{ct2}/self_attention/layer_norm"), n);
        let fused = format!("{ct2}/self_attention/linear_0");
        self.split_projections(&format!("{block}.attn"), &fused, &["query", "key", "value"], n);
        self.linear(&format!("{block}.attn.out"), &format!("{ct2}/self_attention/linear_1"), n, n);
    }
}

/// Every tensor of a whisper model with these hyper-parameters, in the order the converter writes them.
pub(crate) fn whisper_tensors(h: &WhisperHparams) -> Vec<WhisperTensor> {
    let n = u64::from(h.n_audio_state);
    let mut t = TableBuilder(Vec::new());

    let pe = &[n, u64::from(h.n_audio_ctx)];
    t.whole("encoder.positional_embedding".into(), pe, Storage::Float32, "encoder/position_encodings/encodings".into());
    for (conv, n_in) in [("conv1", u64::from(h.n_mels)), ("conv2", n)] {
        t.whole(format!("encoder.{conv}.weight"), &[3, n_in, n], Storage::ConvWeight, format!("encoder/{conv}/weight"));
        // whisper.cpp adds the bias to a [frames, n] result, so it wants it as ne = [1, n].
        t.whole(format!("encoder.{conv}.bias"), &[1, n], Storage::Float32, format!("encoder/{conv}/bias"));
    }
    for i in 0..h.n_audio_layer {
        let (block, ct2) = (format!("encoder.blocks.{i}"), format!("encoder/layer_{i}"));
        t.self_attention(&block, &ct2, n);
        t.mlp(&block, &ct2, n);
    }
    t.layer_norm("encoder.ln_post", "encoder/layer_norm", n);

    let pe = &[n, u64::from(h.n_text_ctx)];
    t.whole("decoder.positional_embedding".into(), pe, Storage::Float32, "decoder/position_encodings/encodings".into());
    let embedding = &[n, u64::from(h.n_vocab)];
    t.whole("decoder.token_embedding.weight".into(), embedding, Storage::Weight, "decoder/embeddings/weight".into());
    for i in 0..h.n_text_layer {
        let (block, ct2) = (format!("decoder.blocks.{i}"), format!("decoder/layer_{i}"));
        t.self_attention(&block, &ct2, n);
        t.layer_norm(&format!("{block}.cross_attn_ln"), &format!("{ct2}/attention/layer_norm"), n);
        t.linear(&format!("{block}.cross_attn.query"), &format!("{ct2}/attention/linear_0"), n, n);
        t.split_projections(&format!("{block}.cross_attn"), &format!("{ct2}/attention/linear_1"), &["key", "value"], n);
        t.linear(&format!("{block}.cross_attn.out"), &format!("{ct2}/attention/linear_2"), n, n);
        t.mlp(&block, &ct2, n);
    }
    t.layer_norm("decoder.ln", "decoder/layer_norm", n);
    t.0
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::ggml::tests::tiny_en;

    fn find<'a>(table: &'a [WhisperTensor], name: &str) -> &'a WhisperTensor {
        table.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no tensor {name}"))
    }

    #[test]
    fn lists_every_tensor_whisper_cpp_loads_once() {
        let table = whisper_tensors(&tiny_en());
        assert_eq!(table.len() as u64, whisper_tensor_count(&tiny_en()));
        assert_eq!(table.len(), 167);
        let names: HashSet<_> = table.iter().map(|t| &t.name).collect();
        assert_eq!(names.len(), table.len(), "names must be unique");
    }

    #[test]
    fn shapes_and_types_match_whisper_model_load() {
        let table = whisper_tensors(&tiny_en());
        let conv1 = find(&table, "encoder.conv1.weight");
        assert_eq!((conv1.ne.as_slice(), conv1.ggml_type(GgmlType::Q5_0)), (&[3, 80, 384][..], GgmlType::F16));
        assert_eq!(find(&table, "encoder.conv2.bias").ne, [1, 384]);
        assert_eq!(find(&table, "encoder.positional_embedding").ne, [384, 1500]);
        assert_eq!(find(&table, "decoder.token_embedding.weight").ne, [384, 51864]);
        assert_eq!(find(&table, "decoder.blocks.3.mlp.0.weight").ne, [384, 1536]);
        assert_eq!(find(&table, "encoder.blocks.0.mlp.2.weight").ne, [1536, 384]);
        let bias = find(&table, "decoder.blocks.0.attn.value.bias");
        assert_eq!(bias.ggml_type(GgmlType::F16), GgmlType::F32);
        assert!(table.iter().all(|t| !t.name.ends_with("key.bias")), "whisper's key projections have no bias");
    }

    #[test]
    fn fused_projections_are_split_by_rows() {
        let table = whisper_tensors(&tiny_en());
        let value = find(&table, "encoder.blocks.2.attn.value.weight");
        let fused = "encoder/layer_2/self_attention/linear_0/weight";
        assert_eq!(value.source, Ct2Slice { variable: fused.into(), part: 2, parts: 3 });
        let key = find(&table, "decoder.blocks.1.cross_attn.key.weight");
        let kv = "decoder/layer_1/attention/linear_1/weight";
        assert_eq!(key.source, Ct2Slice { variable: kv.into(), part: 0, parts: 2 });
        let query = find(&table, "decoder.blocks.1.cross_attn.query.bias");
        let q = "decoder/layer_1/attention/linear_0/bias";
        assert_eq!(query.source, Ct2Slice { variable: q.into(), part: 0, parts: 1 });
    }
}
