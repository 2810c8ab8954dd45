//! The one error type of the crate.

use thiserror::Error;

/// Why a metadata body was refused.
///
/// Every variant names the defect so that the SIP layer can log it and
/// answer the SRC (typically with a 400 or by recording without metadata).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetadataError {
    /// The body is empty or only whitespace.
    #[error("recording metadata body is empty")]
    Empty,

    /// The body is larger than the configured limit.
    #[error("recording metadata is {size} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// Size of the refused body.
        size: usize,
        /// Limit in force.
        limit: usize,
    },

    /// The body is not UTF-8 (the only encoding accepted; UTF-16 bodies land here too).
    #[error("recording metadata is not valid UTF-8 (first bad byte at offset {valid_up_to})")]
    NotUtf8 {
        /// Length of the valid UTF-8 prefix.
        valid_up_to: usize,
    },

    /// A document type declaration was found; DTDs and entity declarations are
    /// refused outright so that no entity expansion can happen.
    #[error("recording metadata carries a DOCTYPE/entity declaration, which is refused")]
    DtdForbidden,

    /// Elements are nested deeper than the configured limit.
    #[error("recording metadata nests elements deeper than {limit} levels")]
    TooDeep {
        /// Depth limit in force.
        limit: usize,
    },

    /// The document has more XML nodes than the configured limit.
    #[error("recording metadata has more than {limit} XML nodes")]
    TooManyNodes {
        /// Node limit in force.
        limit: u32,
    },

    /// The XML itself is malformed (truncated, unbalanced, undeclared prefix...).
    #[error("malformed recording metadata XML at line {line}, column {column}: {reason}")]
    Malformed {
        /// 1-based line of the defect.
        line: u32,
        /// 1-based column of the defect.
        column: u32,
        /// What the XML parser objected to.
        reason: String,
    },

    /// The root element is neither `recording` (RFC 7865 and pre-RFC drafts)
    /// nor `recording_metadata` (early-draft container used by BroadWorks).
    #[error("root element <{root}> is not SIPREC recording metadata")]
    NotRecordingMetadata {
        /// Local name of the root element found.
        root: String,
    },

    /// `datamode` holds something other than `complete` or `partial`.
    ///
    /// Refused rather than guessed: taking a partial update for a complete
    /// snapshot would wipe the state it is meant to amend.
    #[error("datamode {0:?} is neither \"complete\" nor \"partial\"")]
    InvalidDataMode(String),
}
