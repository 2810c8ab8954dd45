//! The parse error type.

use thiserror::Error;

/// Why a session description was refused.
///
/// Every variant carries the 1-based line number of the defect so that a
/// log line points an operator at the exact place in the SBC's offer. Values
/// quoted back are cut to a short excerpt with control characters escaped,
/// and SRTP key material is never quoted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    /// The bytes are not UTF-8.
    #[error("line {line}: text is not valid UTF-8")]
    InvalidUtf8 {
        /// Line holding the first invalid byte.
        line: usize,
    },
    /// The first line is not `v=` (or there is no line at all).
    #[error("line {line}: SDP must begin with a v= line")]
    MissingVersion {
        /// Line where `v=` was expected.
        line: usize,
    },
    /// A line is not `<letter>=<value>`.
    #[error("line {line}: expected `<type>=<value>`, found `{found}`")]
    MalformedLine {
        /// Offending line.
        line: usize,
        /// Excerpt of the line.
        found: String,
    },
    /// A mandatory line (`o=`, `s=`) never appeared.
    #[error("line {line}: missing mandatory {kind}= line")]
    MissingLine {
        /// Line where the session section ended.
        line: usize,
        /// The missing line type.
        kind: char,
    },
    /// A line that may appear once per section appeared again.
    #[error("line {line}: duplicate {kind}= line")]
    DuplicateLine {
        /// Line of the second occurrence.
        line: usize,
        /// The repeated line type.
        kind: char,
    },
    /// A line appeared where the grammar does not allow it.
    #[error("line {line}: {kind}= line is not allowed {place}")]
    MisplacedLine {
        /// Offending line.
        line: usize,
        /// Its line type.
        kind: char,
        /// Where it was found, e.g. "inside a media section".
        place: &'static str,
    },
    /// A line has the wrong number of space-separated fields.
    #[error("line {line}: {what} needs {expected}, found {found}")]
    FieldCount {
        /// Offending line.
        line: usize,
        /// Line or attribute, e.g. "o= line".
        what: &'static str,
        /// The expected count in words.
        expected: &'static str,
        /// Fields actually present.
        found: usize,
    },
    /// A field does not hold a valid value.
    #[error("line {line}: {what} has invalid {field} `{value}`")]
    InvalidField {
        /// Offending line.
        line: usize,
        /// Line or attribute, e.g. "m= line".
        what: &'static str,
        /// The field, e.g. "port".
        field: &'static str,
        /// Excerpt of the value.
        value: String,
    },
    /// An attribute that needs a value had none.
    #[error("line {line}: a={name} needs a value")]
    MissingAttributeValue {
        /// Offending line.
        line: usize,
        /// Attribute name.
        name: &'static str,
    },
    /// A flag attribute (e.g. `a=recvonly`) carried a value.
    #[error("line {line}: a={name} takes no value")]
    UnexpectedAttributeValue {
        /// Offending line.
        line: usize,
        /// Attribute name.
        name: &'static str,
    },
    /// An attribute that may appear once per section appeared again
    /// (for `rtpmap` and `crypto`: once per payload type or tag).
    #[error("line {line}: a={name} repeated in the same section")]
    DuplicateAttribute {
        /// Line of the second occurrence.
        line: usize,
        /// Attribute name ("direction" for the four direction flags).
        name: &'static str,
    },
    /// The key of an `a=crypto` line is unusable; the key itself is not quoted.
    #[error("line {line}: a=crypto has an invalid key: {reason}")]
    InvalidKey {
        /// Offending line.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl SdpError {
    /// The 1-based line number the error refers to.
    pub fn line(&self) -> usize {
        match self {
            Self::InvalidUtf8 { line }
            | Self::MissingVersion { line }
            | Self::MalformedLine { line, .. }
            | Self::MissingLine { line, .. }
            | Self::DuplicateLine { line, .. }
            | Self::MisplacedLine { line, .. }
            | Self::FieldCount { line, .. }
            | Self::InvalidField { line, .. }
            | Self::MissingAttributeValue { line, .. }
            | Self::UnexpectedAttributeValue { line, .. }
            | Self::DuplicateAttribute { line, .. }
            | Self::InvalidKey { line, .. } => *line,
        }
    }

    pub(crate) fn invalid(line: usize, what: &'static str, field: &'static str, value: &str) -> Self {
        Self::InvalidField { line, what, field, value: excerpt(value) }
    }

    pub(crate) fn field_count(line: usize, what: &'static str, expected: &'static str, found: usize) -> Self {
        Self::FieldCount { line, what, expected, found }
    }
}

/// Longest excerpt of offending input quoted in an error, in characters.
const EXCERPT_CHARS: usize = 64;

/// Cuts hostile input down to something safe to put in a log line.
pub(crate) fn excerpt(value: &str) -> String {
    let mut out = String::new();
    for (count, c) in value.chars().enumerate() {
        if count == EXCERPT_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_line_and_defect() {
        let error = SdpError::invalid(7, "m= line", "port", "abc");
        assert_eq!(error.to_string(), "line 7: m= line has invalid port `abc`");
        assert_eq!(error.line(), 7);
    }

    #[test]
    fn excerpt_escapes_and_truncates() {
        assert_eq!(excerpt("a\rb\0"), "a\\rb\\u{0}");
        let long = "x".repeat(200);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
