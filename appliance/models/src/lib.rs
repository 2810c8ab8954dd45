//! Whisper speech models for callguard: getting them into the appliance and keeping them sound.
//!
//! The speech worker runs whisper.cpp, which loads models in its own ggml
//! format. Operators and tests often have faster-whisper models instead
//! (CTranslate2 directories, as PyPI packages ship them). This crate:
//!
//! - converts a CTranslate2 Whisper directory to a ggml file in pure Rust
//!   ([`convert_ct2_model`]), streaming one tensor at a time;
//! - validates a ggml file completely, as whisper.cpp's loader would, and
//!   hashes it ([`inspect`]), so a truncated download or a wrong file is
//!   refused with the byte offset of the problem instead of crashing a worker;
//! - keeps a model store directory with a JSON record per model
//!   ([`ModelStore`]: import, list, verify, remove) for the `callguard models`
//!   commands.
//!
//! ```text
//! faster-whisper dir ──convert──┐
//!                               ├─> temp file ─inspect─> <store>/<name>.bin + <name>.json
//! ggml .bin ─────read_layout────┘          (validate + sha256)     (atomic rename)
//! ```
//!
//! The format modules ([`ct2`], [`ggml`], [`mel`], [`vocab`]) do no I/O of
//! their own beyond the reader they are given, and every length they read
//! is bounded by the input's size, so they are safe to fuzz.
//!
//! Limits: the converter writes f16 weights (ggml `ftype` 1) and accepts
//! float16/float32/bfloat16 CTranslate2 models, not int8-quantized ones.
//! The inspector accepts f32, f16, bf16 and the q4/q5/q8 and k-quant files
//! whisper.cpp's quantizer makes. Everything is little-endian.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod atomic_file;
mod byte_reader;
mod convert;
pub mod ct2;
pub mod ggml;
mod ggml_writer;
mod inspect;
pub mod mel;
mod progress;
mod store;
mod tensor_table;
pub mod vocab;

pub use byte_reader::ReadError;
pub use convert::{
    CT2_MODEL_FILE, CT2_VOCABULARY_FILE, ConversionSummary, ConvertError, convert_ct2_model, convert_ct2_to_file,
    is_ct2_model_dir,
};
pub use inspect::{GgmlError, GgmlLayout, InspectError, ModelInfo, inspect, read_layout};
pub use progress::{Progress, Stage};
pub use store::{
    ImportOptions, ImportedModel, ListedModel, ModelRecord, ModelStore, RemovedModel, SourceFormat, StoreError,
    VerifiedModel,
};
