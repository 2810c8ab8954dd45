//! Converting a faster-whisper (CTranslate2) model directory to a whisper.cpp ggml file.
//!
//! The directory holds `model.bin` (the weights), `vocabulary.txt` (the
//! tokens) and `config.json`. The hyper-parameters come from the tensor
//! shapes and the `num_heads` scalars in `model.bin`: faster-whisper's
//! `config.json` holds only decoding hints (alignment heads, suppressed
//! tokens, language ids) that the ggml format has no place for. The mel
//! filterbank, which CTranslate2 does not store, is computed ([`crate::mel`]).
//!
//! Tensors are streamed one at a time from `model.bin` to the output in
//! chunks, so memory use stays small whatever the model size. The output
//! stores weight matrices as f16 and everything else as f32, like
//! whisper.cpp's `convert-pt-to-ggml.py` (ggml `ftype` 1).
//!
//! Limits: float16, float32 and bfloat16 models convert; int8-quantized
//! CTranslate2 models (`weight_scale` variables) do not.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use half::{bf16, f16};
use serde::Serialize;

use crate::atomic_file;
use crate::ct2::{Ct2DataType, Ct2Error, Ct2Index, Ct2Variable};
use crate::ggml::{GgmlType, WhisperHparams};
use crate::ggml_writer::GgmlWriter;
use crate::mel::whisper_mel_filters;
use crate::progress::{Progress, Stage};
use crate::tensor_table::{WhisperTensor, whisper_tensors};
use crate::vocab::{VocabularyError, whisper_vocabulary};

/// The weights file of a CTranslate2 model directory.
pub const CT2_MODEL_FILE: &str = "model.bin";
/// The token list of a CTranslate2 model directory.
pub const CT2_VOCABULARY_FILE: &str = "vocabulary.txt";

/// The spec name CTranslate2 gives Whisper models.
const WHISPER_SPEC: &str = "WhisperSpec";
/// ggml `ftype` of the output: weight matrices in f16.
const FTYPE_F16: u32 = 1;
/// Elements converted per read while streaming a tensor.
const CHUNK_ELEMENTS: u64 = 1 << 18;

/// Why a CTranslate2 model could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// A file of the model directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `model.bin` is damaged or lacks a variable.
    #[error("{}: {source}", path.display())]
    Ct2 {
        /// The `model.bin` file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Ct2Error,
    },
    /// `vocabulary.txt` is not a Whisper vocabulary.
    #[error("{}: {source}", path.display())]
    Vocabulary {
        /// The `vocabulary.txt` file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: VocabularyError,
    },
    /// The directory holds a CTranslate2 model of another kind.
    #[error("{} holds a CTranslate2 `{spec}` model, not a Whisper model", path.display())]
    NotWhisper {
        /// The `model.bin` file.
        path: PathBuf,
        /// Its spec name.
        spec: String,
    },
    /// The model is well-formed but cannot become a whisper.cpp model.
    #[error("{} cannot be converted: {problem}", path.display())]
    Unsupported {
        /// The `model.bin` file.
        path: PathBuf,
        /// Why.
        problem: String,
    },
    /// The output could not be written.
    #[error("writing the converted model: {0}")]
    Write(#[source] io::Error),
}

/// What a conversion produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversionSummary {
    /// The model's hyper-parameters, as written to the ggml header.
    pub hparams: WhisperHparams,
    /// Tensors written.
    pub tensor_count: usize,
    /// Ordinary tokens written to the vocabulary section.
    pub vocab_tokens: usize,
    /// Bytes of tensor data written.
    pub tensor_bytes: u64,
}

/// Whether `dir` looks like a CTranslate2 model directory (it has a `model.bin`).
pub fn is_ct2_model_dir(dir: &Path) -> bool {
    dir.join(CT2_MODEL_FILE).is_file()
}

/// Converts a CTranslate2 Whisper model directory to a ggml file at `dest`, replacing it atomically.
pub fn convert_ct2_to_file(
    model_dir: &Path,
    dest: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<ConversionSummary, ConvertError> {
    let temp = atomic_file::temp_file_for(dest).map_err(ConvertError::Write)?;
    let summary = convert_ct2_model(model_dir, temp.as_file(), progress)?;
    atomic_file::persist(temp, dest, true).map_err(ConvertError::Write)?;
    Ok(summary)
}

/// Converts a CTranslate2 Whisper model directory, writing the ggml file to `out`.
///
/// Everything is checked before the first byte is written; `progress`
/// hears after each tensor, in bytes of tensor data.
pub fn convert_ct2_model(
    model_dir: &Path,
    out: impl Write,
    progress: &mut dyn FnMut(Progress),
) -> Result<ConversionSummary, ConvertError> {
    let model_path = model_dir.join(CT2_MODEL_FILE);
    let mut source = Source::open(&model_path)?;
    if source.index.spec_name != WHISPER_SPEC {
        return Err(ConvertError::NotWhisper { path: model_path, spec: source.index.spec_name.clone() });
    }
    let hparams = source.hparams()?;
    let tokens = read_vocabulary(&model_dir.join(CT2_VOCABULARY_FILE), &hparams)?;

    let mut plan = Vec::new();
    for tensor in whisper_tensors(&hparams) {
        let variable = source.variable_for(&tensor)?.clone();
        plan.push((tensor, variable));
    }
    let ggml_type = |tensor: &WhisperTensor| tensor.ggml_type(GgmlType::F16);
    let size = |tensor: &WhisperTensor| ggml_type(tensor).data_size(&tensor.ne).unwrap_or(0);
    let total: u64 = plan.iter().map(|(tensor, _)| size(tensor)).sum();

    let mut writer = GgmlWriter::new(BufWriter::new(out));
    writer.header(&hparams, &whisper_mel_filters(hparams.n_mels as usize)).map_err(ConvertError::Write)?;
    writer.vocabulary(&tokens).map_err(ConvertError::Write)?;
    let mut done = 0;
    for (tensor, variable) in &plan {
        writer.tensor_header(&tensor.name, &tensor.ne, ggml_type(tensor)).map_err(ConvertError::Write)?;
        source.copy_rows(variable, tensor.source.part, tensor.source.parts, ggml_type(tensor), &mut writer)?;
        done += size(tensor);
        progress(Progress { stage: Stage::Converting, done, total });
    }
    writer.finish().map_err(ConvertError::Write)?;
    Ok(ConversionSummary { hparams, tensor_count: plan.len(), vocab_tokens: tokens.len(), tensor_bytes: total })
}

fn read_vocabulary(path: &Path, hparams: &WhisperHparams) -> Result<Vec<Vec<u8>>, ConvertError> {
    let text = fs::read_to_string(path).map_err(|source| ConvertError::Read { path: path.to_owned(), source })?;
    let tokens =
        whisper_vocabulary(&text).map_err(|source| ConvertError::Vocabulary { path: path.to_owned(), source })?;
    if tokens.len() > hparams.n_vocab as usize {
        let problem = format!("{} tokens, but the model embeds only {}", tokens.len(), hparams.n_vocab);
        return Err(ConvertError::Unsupported { path: path.to_owned(), problem });
    }
    Ok(tokens)
}

/// An open `model.bin` and its index.
struct Source {
    path: PathBuf,
    file: BufReader<File>,
    index: Ct2Index,
}

impl Source {
    fn open(path: &Path) -> Result<Self, ConvertError> {
        let file = File::open(path).map_err(|source| ConvertError::Read { path: path.to_owned(), source })?;
        let mut file = BufReader::new(file);
        let index = Ct2Index::read(&mut file).map_err(|source| ConvertError::Ct2 { path: path.to_owned(), source })?;
        Ok(Self { path: path.to_owned(), file, index })
    }

    fn ct2_error(&self, source: Ct2Error) -> ConvertError {
        ConvertError::Ct2 { path: self.path.clone(), source }
    }

    fn unsupported(&self, problem: String) -> ConvertError {
        ConvertError::Unsupported { path: self.path.clone(), problem }
    }

    fn read_error(&self, source: io::Error) -> ConvertError {
        ConvertError::Read { path: self.path.clone(), source }
    }

    fn variable(&self, name: &str) -> Result<&Ct2Variable, ConvertError> {
        self.index.get(name).map_err(|source| self.ct2_error(source))
    }

    /// The dimensions of variable `name`, which must have `rank` of them.
    fn dims<const RANK: usize>(&self, name: &str) -> Result<[u32; RANK], ConvertError> {
        let variable = self.variable(name)?;
        <[u32; RANK]>::try_from(variable.shape.as_slice()).map_err(|_| {
            self.unsupported(format!("`{name}` has shape {:?}, expected {RANK} dimensions", variable.shape))
        })
    }

    fn head_count(&mut self, name: &str) -> Result<u32, ConvertError> {
        let variable = self.variable(name)?.clone();
        let heads = variable.read_int_scalar(&mut self.file).map_err(|source| self.ct2_error(source))?;
        u32::try_from(heads).map_err(|_| self.unsupported(format!("`{name}` is {heads}")))
    }

    /// How many `{prefix}/layer_N/` blocks there are, counting from 0.
    fn layer_count(&self, prefix: &str) -> u32 {
        let has_layer = |i: u32| {
            let layer = format!("{prefix}/layer_{i}/");
            self.index.variables.iter().any(|v| v.name.starts_with(&layer))
        };
        (0..).take_while(|&i| has_layer(i)).count() as u32
    }

    /// The hyper-parameters, from tensor shapes and the head-count scalars.
    fn hparams(&mut self) -> Result<WhisperHparams, ConvertError> {
        let [n_vocab, n_text_state] = self.dims("decoder/embeddings/weight")?;
        let [n_audio_ctx, n_audio_state] = self.dims("encoder/position_encodings/encodings")?;
        let [n_text_ctx, _] = self.dims("decoder/position_encodings/encodings")?;
        let [_, n_mels, _] = self.dims("encoder/conv1/weight")?;
        let hparams = WhisperHparams {
            n_vocab,
            n_audio_ctx,
            n_audio_state,
            n_audio_head: self.head_count("encoder/num_heads")?,
            n_audio_layer: self.layer_count("encoder"),
            n_text_ctx,
            n_text_state,
            n_text_head: self.head_count("decoder/num_heads")?,
            n_text_layer: self.layer_count("decoder"),
            n_mels,
            ftype: FTYPE_F16,
        };
        hparams.validate().map_err(|problem| self.unsupported(problem))?;
        Ok(hparams)
    }

    /// The variable `tensor` comes from, checked to be a float whose rows split into the tensor's shape.
    fn variable_for(&self, tensor: &WhisperTensor) -> Result<&Ct2Variable, ConvertError> {
        let variable = self.variable(&tensor.source.variable)?;
        if !matches!(variable.dtype, Ct2DataType::Float16 | Ct2DataType::Float32 | Ct2DataType::BFloat16) {
            return Err(self.unsupported(format!(
                "`{}` is {:?}; only float16, float32 and bfloat16 models convert (int8-quantized ones do not)",
                variable.name, variable.dtype
            )));
        }
        // The slice's shape: the outermost dimension divided into `parts` blocks of rows.
        let mut shape: Vec<u64> = variable.shape.iter().map(|&d| u64::from(d)).collect();
        let parts = u64::from(tensor.source.parts);
        let splits = shape.first().is_some_and(|&rows| rows.is_multiple_of(parts));
        if let Some(rows) = shape.first_mut() {
            *rows /= parts;
        }
        // ggml lists dimensions innermost first; size-1 dimensions only reshape.
        let source_dims: Vec<u64> = shape.into_iter().filter(|&d| d != 1).collect();
        let ggml_dims: Vec<u64> = tensor.ne.iter().rev().copied().filter(|&d| d != 1).collect();
        if !splits || source_dims != ggml_dims {
            return Err(self.unsupported(format!(
                "`{}` has shape {:?}, which does not give `{}` its shape {:?} (innermost first)",
                variable.name, variable.shape, tensor.name, tensor.ne
            )));
        }
        Ok(variable)
    }

    /// Streams rows block `part` of `parts` of `variable` to `writer`, converted to `to` (f16 or f32).
    fn copy_rows<W: Write>(
        &mut self,
        variable: &Ct2Variable,
        part: u32,
        parts: u32,
        to: GgmlType,
        writer: &mut GgmlWriter<W>,
    ) -> Result<(), ConvertError> {
        let element_size = variable.dtype.size();
        let part_bytes = variable.byte_len / u64::from(parts);
        let start = variable.offset + u64::from(part) * part_bytes;
        self.file.seek(SeekFrom::Start(start)).map_err(|source| self.read_error(source))?;

        let mut left = part_bytes;
        let mut input = Vec::new();
        let mut output = Vec::new();
        while left > 0 {
            let n = left.min(CHUNK_ELEMENTS * element_size);
            input.resize(n as usize, 0);
            self.file.read_exact(&mut input).map_err(|source| self.read_error(source))?;
            convert_elements(&input, variable.dtype, to, &mut output);
            writer.raw(&output).map_err(ConvertError::Write)?;
            left -= n;
        }
        Ok(())
    }
}

/// Converts little-endian float elements of type `from` to ggml type `to` (f32, else f16).
fn convert_elements(input: &[u8], from: Ct2DataType, to: GgmlType, output: &mut Vec<u8>) {
    output.clear();
    if matches!((from, to), (Ct2DataType::Float16, GgmlType::F16) | (Ct2DataType::Float32, GgmlType::F32)) {
        output.extend_from_slice(input);
        return;
    }
    let values: Box<dyn Iterator<Item = f32> + '_> = match from {
        Ct2DataType::Float32 => Box::new(input.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        Ct2DataType::BFloat16 => Box::new(input.chunks_exact(2).map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())),
        _ => Box::new(input.chunks_exact(2).map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())),
    };
    for value in values {
        if to == GgmlType::F32 {
            output.extend_from_slice(&value.to_le_bytes());
        } else {
            output.extend_from_slice(&f16::from_f32(value).to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Cursor;

    use super::*;
    use crate::ct2::tests::Ct2Builder;
    use crate::inspect::read_layout;

    /// A complete CTranslate2 Whisper model with tiny dimensions: 1 encoder and 1 decoder layer,
    /// width 4, 2 heads, 2 mel bands, 8 tokens. Element `i` of every weight holds the value `i`,
    /// as float16, or as int8 when `int8` is set.
    fn write_tiny_ct2_model(dir: &Path, int8: bool) -> WhisperHparams {
        let h = WhisperHparams::from_fields([8, 3, 4, 2, 1, 2, 4, 2, 1, 2, FTYPE_F16]);
        // Invert the table: each CTranslate2 variable's row-major shape, fused parts stacked on rows.
        let mut shapes = BTreeMap::new();
        for t in whisper_tensors(&h) {
            let mut shape: Vec<u32> = t.ne.iter().rev().map(|&d| d as u32).filter(|&d| d != 1).collect();
            shape[0] *= t.source.parts;
            shapes.insert(t.source.variable, shape);
        }
        let mut model = Ct2Builder::new().variable("encoder/num_heads", &[], 2, 2i16.to_le_bytes().to_vec()).variable(
            "decoder/num_heads",
            &[],
            2,
            2i16.to_le_bytes().to_vec(),
        );
        for (name, shape) in &shapes {
            let count: u32 = shape.iter().product();
            model = if int8 {
                model.variable(name, shape, 1, (0..count).map(|i| i as u8).collect())
            } else {
                model.variable(name, shape, 4, halves(0..count))
            };
        }
        let model = model.alias("decoder/projection/weight", "decoder/embeddings/weight");
        fs::write(dir.join(CT2_MODEL_FILE), model.build()).unwrap();
        let vocabulary = "!\nĠa\nĠb\nc\nĊ\n<|endoftext|>\n<|startoftranscript|>\n<|notimestamps|>\n";
        fs::write(dir.join(CT2_VOCABULARY_FILE), vocabulary).unwrap();
        h
    }

    /// The ggml tensors of a converted file: name to (type code, data).
    fn tensors(ggml: &[u8], h: &WhisperHparams, vocab: &[&[u8]]) -> BTreeMap<String, (u32, Vec<u8>)> {
        let word = |at: usize| u32::from_le_bytes(ggml[at..at + 4].try_into().unwrap());
        let mut at = 4 + 44 + 8 + h.n_mels as usize * 201 * 4 + 4;
        at += vocab.iter().map(|t| 4 + t.len()).sum::<usize>();
        let mut found = BTreeMap::new();
        while at < ggml.len() {
            let (n_dims, name_len, code) = (word(at) as usize, word(at + 4) as usize, word(at + 8));
            let ne: Vec<u64> = (0..n_dims).map(|i| u64::from(word(at + 12 + 4 * i))).collect();
            at += 12 + 4 * n_dims;
            let name = String::from_utf8(ggml[at..at + name_len].to_vec()).unwrap();
            at += name_len;
            let size = GgmlType::from_code(code).unwrap().data_size(&ne).unwrap() as usize;
            found.insert(name, (code, ggml[at..at + size].to_vec()));
            at += size;
        }
        found
    }

    fn halves(values: std::ops::Range<u32>) -> Vec<u8> {
        values.flat_map(|i| f16::from_f32(i as f32).to_le_bytes()).collect()
    }

    fn singles(values: std::ops::Range<u32>) -> Vec<u8> {
        values.flat_map(|i| (i as f32).to_le_bytes()).collect()
    }

    #[test]
    fn converts_a_tiny_model_and_splits_fused_projections() {
        let dir = tempfile::tempdir().unwrap();
        let h = write_tiny_ct2_model(dir.path(), false);
        let mut ggml = Vec::new();
        let mut reports = Vec::new();
        let summary = convert_ct2_model(dir.path(), &mut ggml, &mut |p| reports.push(p)).unwrap();
        assert_eq!(summary.hparams, h);
        assert_eq!((summary.tensor_count, summary.vocab_tokens), (50, 5));
        assert_eq!(reports.len(), 50);
        assert_eq!(reports.last().unwrap().done, summary.tensor_bytes);

        let layout = read_layout(Cursor::new(&ggml)).unwrap();
        assert_eq!((layout.tensor_count, layout.vocab_tokens), (50, 5));

        let vocab: [&[u8]; 5] = [b"!", b" a", b" b", b"c", b"\n"];
        let t = tensors(&ggml, &h, &vocab);
        // Self-attention linear_0 is [12, 4]: rows 0-3 query, 4-7 key, 8-11 value.
        assert_eq!(t["encoder.blocks.0.attn.query.weight"], (1, halves(0..16)));
        assert_eq!(t["encoder.blocks.0.attn.key.weight"], (1, halves(16..32)));
        assert_eq!(t["encoder.blocks.0.attn.value.weight"], (1, halves(32..48)));
        assert_eq!(t["decoder.blocks.0.attn.value.bias"], (0, singles(8..12)));
        // Cross-attention linear_1 is [8, 4]: key rows then value rows.
        assert_eq!(t["decoder.blocks.0.cross_attn.value.weight"], (1, halves(16..32)));
        assert_eq!(t["decoder.blocks.0.cross_attn.value.bias"], (0, singles(4..8)));
        assert_eq!(t["decoder.blocks.0.cross_attn.query.bias"], (0, singles(0..4)));
        // Conv biases and positional embeddings become f32; conv kernels stay f16.
        assert_eq!(t["encoder.conv1.bias"], (0, singles(0..4)));
        assert_eq!(t["encoder.positional_embedding"], (0, singles(0..12)));
        assert_eq!(t["encoder.conv1.weight"], (1, halves(0..24)));
        assert_eq!(t["decoder.ln.weight"], (0, singles(0..4)));
    }

    #[test]
    fn refuses_models_that_are_not_whisper_or_not_float() {
        let dir = tempfile::tempdir().unwrap();
        write_tiny_ct2_model(dir.path(), false);
        let mut model = fs::read(dir.path().join(CT2_MODEL_FILE)).unwrap();
        // A spec name of the same length, for another kind of model.
        model[6..17].copy_from_slice(b"BertModSpec");
        fs::write(dir.path().join(CT2_MODEL_FILE), &model).unwrap();
        let err = convert_ct2_model(dir.path(), io::sink(), &mut |_| {}).unwrap_err();
        assert!(matches!(err, ConvertError::NotWhisper { ref spec, .. } if spec == "BertModSpec"), "{err}");

        write_tiny_ct2_model(dir.path(), true);
        let err = convert_ct2_model(dir.path(), io::sink(), &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("int8-quantized"), "{err}");
    }

    #[test]
    fn missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = convert_ct2_model(dir.path(), io::sink(), &mut |_| {}).unwrap_err();
        assert!(matches!(err, ConvertError::Read { ref path, .. } if path.ends_with(CT2_MODEL_FILE)), "{err}");
    }

    #[test]
    fn converts_between_float_types() {
        let mut out = Vec::new();
        let halves: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|&v| f16::from_f32(v).to_le_bytes()).collect();
        convert_elements(&halves, Ct2DataType::Float16, GgmlType::F32, &mut out);
        assert_eq!(out, [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());

        convert_elements(&halves, Ct2DataType::Float16, GgmlType::F16, &mut out);
        assert_eq!(out, halves);

        let singles: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        convert_elements(&singles, Ct2DataType::Float32, GgmlType::F16, &mut out);
        assert_eq!(out, halves);

        let brains: Vec<u8> = [1.5f32, -2.0].iter().flat_map(|&v| bf16::from_f32(v).to_le_bytes()).collect();
        convert_elements(&brains, Ct2DataType::BFloat16, GgmlType::F16, &mut out);
        assert_eq!(out, halves);
    }
}
