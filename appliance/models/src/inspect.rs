//! Checking a ggml whisper file before anything trusts it.
//!
//! [`read_layout`] walks the whole file the way whisper.cpp's
//! `whisper_model_load` does (header, mel filters, vocabulary, every tensor
//! header) but without loading tensor data, and applies the loader's rules:
//! every tensor whisper.cpp expects is present once with the right shape and
//! type, and the file ends exactly after the last one. Lengths read from the
//! file are bounded by the bytes left, so a damaged or foreign file gives an
//! error naming the byte offset, never a panic or a huge allocation.
//! [`inspect`] adds the file's size and sha256.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::byte_reader::{ByteReader, ReadError};
use crate::ggml::{GGML_MAGIC, GgmlType, WhisperHparams};
use crate::mel::N_FREQ_BINS;
use crate::progress::{Progress, Stage};
use crate::tensor_table::{whisper_tensor_count, whisper_tensors};

/// The fewest bytes a tensor can take: three header fields, one dimension, a one-byte name.
const MIN_TENSOR_BYTES: u64 = 17;
/// whisper.cpp's tensors have at most 3 dimensions; ggml allows 4.
const MAX_DIMS: u32 = 4;
/// whisper.cpp's longest tensor name is under 50 bytes; a longer one means a damaged header.
const MAX_TENSOR_NAME_LEN: i32 = 256;

/// Why bytes are not a usable whisper ggml model.
#[derive(Debug, thiserror::Error)]
pub enum GgmlError {
    /// The file is empty.
    #[error("the file is empty")]
    Empty,
    /// The file could not be read, or ends early.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The file does not start with the ggml magic.
    #[error("not a whisper ggml model: it starts with bytes {} ({guess})", hex(.start))]
    NotGgml {
        /// Up to the first four bytes.
        start: Vec<u8>,
        /// What the file looks like instead.
        guess: &'static str,
    },
    /// A field holds a value whisper.cpp would refuse or misread.
    #[error("damaged at byte {offset}: {problem}")]
    Invalid {
        /// Where the bad field starts.
        offset: u64,
        /// What is wrong with it.
        problem: String,
    },
    /// The file ends cleanly after a tensor, but tensors are missing: it was cut short.
    #[error(
        "the file ends at byte {file_len} after {found} of {expected} tensors (`{first_missing}` is missing): it is incomplete"
    )]
    MissingTensors {
        /// The file length.
        file_len: u64,
        /// Tensors present.
        found: usize,
        /// Tensors a model with these hyper-parameters has.
        expected: usize,
        /// The first absent tensor, in writing order.
        first_missing: String,
    },
}

/// Why [`inspect`] failed, with the file it was looking at.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    /// The file could not be opened or read.
    #[error("cannot read model file {}: {source}", path.display())]
    Io {
        /// The model file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file is not a complete, loadable whisper ggml model.
    #[error("{} is not a usable whisper model: {source}", path.display())]
    Format {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: GgmlError,
    },
}

/// The structure of a valid ggml whisper file, as [`read_layout`] found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GgmlLayout {
    /// The hyper-parameters from the header.
    pub hparams: WhisperHparams,
    /// The type of the large weight matrices.
    pub weight_type: GgmlType,
    /// Tokens in the vocabulary section (whisper.cpp names the special tokens after these itself).
    pub vocab_tokens: u32,
    /// Tensors in the file.
    pub tensor_count: usize,
    /// File length in bytes.
    pub file_len: u64,
}

impl GgmlLayout {
    /// A one-line description, e.g. `whisper tiny.en, ggml f16`.
    pub fn kind(&self) -> String {
        format!("whisper {}, ggml {}", self.hparams.model_name(), self.weight_type.name())
    }
}

/// What [`inspect`] reports about a valid model file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelInfo {
    /// A one-line description, e.g. `whisper tiny.en, ggml f16`.
    pub kind: String,
    /// File size in bytes.
    pub size_bytes: u64,
    /// sha256 of the whole file, lower-case hex.
    pub sha256: String,
    /// The file's structure.
    pub layout: GgmlLayout,
}

/// Validates a ggml whisper file completely and hashes it.
///
/// `progress` hears about the hashing, which reads the whole file.
pub fn inspect(path: &Path, progress: &mut dyn FnMut(Progress)) -> Result<ModelInfo, InspectError> {
    let io_error = |source| InspectError::Io { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(io_error)?;
    let layout = read_layout(BufReader::new(&mut file))
        .map_err(|source| InspectError::Format { path: path.to_owned(), source })?;
    file.rewind().map_err(io_error)?;
    let sha256 = sha256_hex(&mut file, layout.file_len, progress).map_err(io_error)?;
    Ok(ModelInfo { kind: layout.kind(), size_bytes: layout.file_len, sha256, layout })
}

/// Reads `total` bytes from `file`, returning their sha256 in lower-case hex.
fn sha256_hex(file: &mut File, total: u64, progress: &mut dyn FnMut(Progress)) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    let mut done = 0;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(Progress { stage: Stage::Hashing, done, total });
    }
    if done != total {
        return Err(io::Error::other(format!("file changed while hashing: read {done} of {total} bytes")));
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Walks a whole ggml whisper file and checks it against whisper.cpp's loader, without loading tensor data.
pub fn read_layout<R: Read + Seek>(file: R) -> Result<GgmlLayout, GgmlError> {
    let mut r = ByteReader::new(file).map_err(|source| ReadError::Io { what: "file length", offset: 0, source })?;
    if r.len() == 0 {
        return Err(GgmlError::Empty);
    }
    check_magic(&mut r)?;
    let hparams = read_hparams(&mut r)?;
    let weight_type = hparams.weight_type().ok_or_else(|| GgmlError::Invalid {
        offset: 4 + 40,
        problem: format!("ftype {} is not a weight type whisper.cpp can load", hparams.ftype),
    })?;
    skip_mel_filters(&mut r, &hparams)?;
    let vocab_tokens = skip_vocabulary(&mut r, &hparams)?;
    let tensor_count = check_tensors(&mut r, &hparams, weight_type)?;
    Ok(GgmlLayout { hparams, weight_type, vocab_tokens, tensor_count, file_len: r.len() })
}

fn check_magic<R: Read + Seek>(r: &mut ByteReader<R>) -> Result<(), GgmlError> {
    let start = r.bytes(r.len().min(4), "magic")?;
    if start.len() == 4 && u32::from_le_bytes([start[0], start[1], start[2], start[3]]) == GGML_MAGIC {
        return Ok(());
    }
    let guess = guess_format(&start);
    Err(GgmlError::NotGgml { start, guess })
}

/// A hint for a technician who picked the wrong file.
fn guess_format(start: &[u8]) -> &'static str {
    match start {
        b"GGUF" => "a GGUF file, as llama.cpp language models are; callguard needs a whisper ggml .bin",
        [6, 0, 0, 0] => "a CTranslate2 model.bin; import the directory that holds it and it will be converted",
        [b'P', b'K', 3, 4] => "a zip archive, such as a Python wheel or a PyTorch checkpoint; unpack it first",
        _ if start.iter().all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace()) => "it looks like text",
        _ => "an unknown format",
    }
}

fn read_hparams<R: Read + Seek>(r: &mut ByteReader<R>) -> Result<WhisperHparams, GgmlError> {
    let mut fields = [0; 11];
    let names = WhisperHparams::from_fields(fields).fields();
    for (field, (name, _)) in fields.iter_mut().zip(names) {
        let offset = r.offset();
        let value = r.i32("hyper-parameter")?;
        *field = u32::try_from(value)
            .map_err(|_| GgmlError::Invalid { offset, problem: format!("hyper-parameter {name} is {value}") })?;
    }
    let hparams = WhisperHparams::from_fields(fields);
    hparams.validate().map_err(|problem| GgmlError::Invalid { offset: 4, problem })?;
    Ok(hparams)
}

/// Reads a count or length field that must be non-negative.
fn read_count<R: Read + Seek>(r: &mut ByteReader<R>, what: &'static str) -> Result<u64, GgmlError> {
    let offset = r.offset();
    let value = r.i32(what)?;
    u64::try_from(value).map_err(|_| GgmlError::Invalid { offset, problem: format!("{what} is {value}") })
}

fn skip_mel_filters<R: Read + Seek>(r: &mut ByteReader<R>, h: &WhisperHparams) -> Result<(), GgmlError> {
    let offset = r.offset();
    let n_mel = read_count(r, "mel filter count")?;
    let n_bins = read_count(r, "mel filter width")?;
    if n_mel != u64::from(h.n_mels) || n_bins != N_FREQ_BINS as u64 {
        let problem = format!("mel filters are {n_mel}x{n_bins}, the model needs {}x{N_FREQ_BINS}", h.n_mels);
        return Err(GgmlError::Invalid { offset, problem });
    }
    r.skip(n_mel * n_bins * 4, "mel filters")?;
    Ok(())
}

fn skip_vocabulary<R: Read + Seek>(r: &mut ByteReader<R>, h: &WhisperHparams) -> Result<u32, GgmlError> {
    let offset = r.offset();
    let count = read_count(r, "vocabulary size")?;
    if count > u64::from(h.n_vocab) {
        let problem = format!("vocabulary has {count} tokens, more than n_vocab = {}", h.n_vocab);
        return Err(GgmlError::Invalid { offset, problem });
    }
    for _ in 0..count {
        let len = r.u32("token length")?;
        r.skip(u64::from(len), "token")?;
    }
    Ok(count as u32)
}

fn check_tensors<R: Read + Seek>(
    r: &mut ByteReader<R>,
    h: &WhisperHparams,
    weight_type: GgmlType,
) -> Result<usize, GgmlError> {
    // Bound the layer counts by the file before building a table from them.
    let expected_count = whisper_tensor_count(h);
    let needed = expected_count.saturating_mul(MIN_TENSOR_BYTES);
    if needed > r.remaining() {
        return Err(ReadError::Truncated { what: "tensors", offset: r.offset(), needed, file_len: r.len() }.into());
    }
    let table = whisper_tensors(h);
    let mut expected: HashMap<&str, (&[u64], GgmlType)> =
        table.iter().map(|t| (t.name.as_str(), (t.ne.as_slice(), t.ggml_type(weight_type)))).collect();

    let mut found = 0;
    while r.remaining() > 0 {
        let offset = r.offset();
        let invalid = |problem: String| GgmlError::Invalid { offset, problem };
        let n_dims = r.i32("tensor header")?;
        let name_len = r.i32("tensor header")?;
        let type_code = r.i32("tensor header")?;
        if !(1..=MAX_DIMS as i32).contains(&n_dims) || !(1..=MAX_TENSOR_NAME_LEN).contains(&name_len) {
            return Err(invalid(format!("tensor header has {n_dims} dimensions and a {name_len}-byte name")));
        }
        let mut ne = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            ne.push(read_count(r, "tensor dimension")?);
        }
        let name = r.bytes(name_len as u64, "tensor name")?;
        let name = String::from_utf8_lossy(&name);
        let Some((expected_ne, expected_type)) = expected.remove(name.as_ref()) else {
            let seen = table.iter().any(|t| t.name == name);
            let problem = if seen { "appears twice" } else { "is not a tensor of this whisper model" };
            return Err(invalid(format!("tensor `{name}` {problem}")));
        };
        if ne != expected_ne {
            return Err(invalid(format!("tensor `{name}` has shape {ne:?}, whisper.cpp expects {expected_ne:?}")));
        }
        let ggml_type = u32::try_from(type_code).ok().and_then(GgmlType::from_code);
        if ggml_type != Some(expected_type) {
            let found = ggml_type.map_or_else(|| format!("unknown type {type_code}"), |t| t.name().to_owned());
            return Err(invalid(format!("tensor `{name}` is {found}, whisper.cpp expects {}", expected_type.name())));
        }
        let size = expected_type
            .data_size(&ne)
            .ok_or_else(|| invalid(format!("tensor `{name}` of shape {ne:?} does not fit {}", expected_type.name())))?;
        r.skip(size, "tensor data")?;
        found += 1;
    }
    if let Some(missing) = table.iter().find(|t| expected.contains_key(t.name.as_str())) {
        return Err(GgmlError::MissingTensors {
            file_len: r.len(),
            found,
            expected: table.len(),
            first_missing: missing.name.clone(),
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::ggml_writer::tests::small_model;

    fn layout_err(data: &[u8]) -> GgmlError {
        read_layout(Cursor::new(data)).unwrap_err()
    }

    #[test]
    fn a_complete_model_passes() {
        let data = small_model();
        let layout = read_layout(Cursor::new(&data)).unwrap();
        assert_eq!(layout.tensor_count, 11 + 15 + 24);
        assert_eq!((layout.vocab_tokens, layout.file_len), (2, data.len() as u64));
        assert_eq!(layout.kind(), "whisper custom-1-layer.en, ggml f16");
    }

    #[test]
    fn every_truncation_is_reported_with_its_offset() {
        let data = small_model();
        for len in 1..data.len() {
            match layout_err(&data[..len]) {
                GgmlError::Read(ReadError::Truncated { file_len, .. }) => assert_eq!(file_len, len as u64),
                GgmlError::MissingTensors { file_len, .. } => assert_eq!(file_len, len as u64),
                GgmlError::NotGgml { .. } if len < 4 => {}
                other => panic!("length {len}: unexpected {other}"),
            }
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut data = small_model();
        data.extend_from_slice(&[0; 20]);
        let err = layout_err(&data);
        assert!(matches!(err, GgmlError::Invalid { offset, .. } if offset == data.len() as u64 - 20), "{err}");
    }

    #[test]
    fn foreign_files_are_named() {
        assert!(matches!(layout_err(b""), GgmlError::Empty));
        let gguf = layout_err(b"GGUF\x03\0\0\0 and more");
        assert!(gguf.to_string().contains("GGUF file"), "{gguf}");
        let text = layout_err(b"# a config file\nkey = 1\n");
        assert!(text.to_string().contains("looks like text"), "{text}");
        let random: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert!(matches!(layout_err(&random), GgmlError::NotGgml { .. }));
        let ct2 = layout_err(&[6, 0, 0, 0, 12, 0]);
        assert!(ct2.to_string().contains("CTranslate2"), "{ct2}");
    }

    #[test]
    fn absurd_layer_counts_are_refused_before_allocating() {
        let mut data = small_model();
        // n_audio_layer is the fifth hyper-parameter, after the magic.
        data[4 + 16..4 + 20].copy_from_slice(&i32::MAX.to_le_bytes());
        let err = layout_err(&data);
        assert!(matches!(err, GgmlError::Read(ReadError::Truncated { what: "tensors", .. })), "{err}");
    }

    /// Where the first tensor header of [`small_model`] starts: magic, 11 hyper-parameters,
    /// mel header and 2x201 floats, vocabulary count and two tokens ("a", " b").
    const FIRST_TENSOR: usize = 4 + 44 + 8 + 2 * 201 * 4 + 4 + (4 + 1) + (4 + 2);

    #[test]
    fn wrong_tensor_type_is_named() {
        let mut data = small_model();
        // The first tensor is the encoder positional embedding; declare it f16 instead of f32.
        data[FIRST_TENSOR + 8..FIRST_TENSOR + 12].copy_from_slice(&1i32.to_le_bytes());
        let err = layout_err(&data);
        assert!(err.to_string().contains("is f16, whisper.cpp expects f32"), "{err}");
        assert!(matches!(err, GgmlError::Invalid { offset, .. } if offset == FIRST_TENSOR as u64));
    }

    #[test]
    fn unknown_and_duplicate_tensors_are_named() {
        let mut data = small_model();
        // Rename the first tensor, "encoder.positional_embedding", to "encoder.positional_embeddinX".
        let name_end = FIRST_TENSOR + 12 + 2 * 4 + "encoder.positional_embedding".len();
        data[name_end - 1] = b'X';
        let err = layout_err(&data);
        assert!(err.to_string().contains("is not a tensor of this whisper model"), "{err}");

        let mut data = small_model();
        let first_len = small_model_first_tensor_len();
        let copy = data[FIRST_TENSOR..FIRST_TENSOR + first_len].to_vec();
        data.extend_from_slice(&copy);
        let err = layout_err(&data);
        assert!(err.to_string().contains("appears twice"), "{err}");
    }

    fn small_model_first_tensor_len() -> usize {
        // Header (3 fields, 2 dimensions), name, then 4x3 f32 values.
        12 + 8 + "encoder.positional_embedding".len() + 4 * 3 * 4
    }

    #[test]
    fn huge_token_length_is_bounded_by_the_file() {
        let mut data = small_model();
        let vocab = 4 + 44 + 8 + 2 * 201 * 4 + 4;
        data[vocab..vocab + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(layout_err(&data), GgmlError::Read(ReadError::Truncated { needed: 0xffff_ffff, .. })));
    }
}
