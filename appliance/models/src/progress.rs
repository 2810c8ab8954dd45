//! Progress reports for long model operations, so a CLI can draw a bar.

use serde::Serialize;

/// What a long operation is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Writing ggml tensors from a CTranslate2 model.
    Converting,
    /// Copying a ggml file into the store.
    Copying,
    /// Computing a file's sha256.
    Hashing,
}

/// How far a stage has got, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The stage being reported.
    pub stage: Stage,
    /// Bytes done so far.
    pub done: u64,
    /// Bytes the stage will handle in all.
    pub total: u64,
}
