//! Error types. Every `Display` text names the defect precisely, because the
//! server copies it into the Warning header of its 400 response.

use crate::header::HeaderName;

/// A defect in a SIP message, header value, URI or body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input held nothing but line breaks.
    #[error("empty message")]
    Empty,
    /// No blank line closes the header section.
    #[error("message ends before the blank line that closes the header section")]
    UnterminatedHeaders,
    /// The request line does not have the form `Method SP Request-URI SP SIP/2.0`.
    #[error("malformed request line: {0}")]
    MalformedRequestLine(&'static str),
    /// The status line does not have the form `SIP/2.0 SP code SP reason`.
    #[error("malformed status line: {0}")]
    MalformedStatusLine(&'static str),
    /// A SIP version other than 2.0 (the server answers 505).
    #[error("unsupported SIP version \"{0}\"")]
    UnsupportedVersion(String),
    /// A status code that is not three digits from 100 to 699.
    #[error("invalid status code \"{0}\": must be three digits from 100 to 699")]
    InvalidStatusCode(String),
    /// A reason phrase with characters the grammar forbids.
    #[error("invalid reason phrase: {0}")]
    InvalidReasonPhrase(&'static str),
    /// A method that is not a token.
    #[error("invalid method \"{0}\": not a token")]
    InvalidMethod(String),
    /// A URI that does not follow RFC 3261 / RFC 3966 / RFC 3986 syntax.
    #[error("invalid URI \"{uri}\": {reason}")]
    InvalidUri {
        /// The offending URI text.
        uri: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A header line that cannot be split into name and value.
    #[error("malformed header line {line}: {reason}")]
    MalformedHeaderLine {
        /// 1-based line number within the message (the start line is line 1).
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A header name that is not a token.
    #[error("invalid header name \"{0}\"")]
    InvalidHeaderName(String),
    /// A header value that cannot be carried in a message at all.
    #[error("invalid value for header {name}: {reason}")]
    InvalidHeaderValue {
        /// Header name as written.
        name: String,
        /// What is wrong with the value.
        reason: &'static str,
    },
    /// A Content-Length value that is not a decimal number.
    #[error("invalid Content-Length \"{0}\"")]
    InvalidContentLength(String),
    /// Several Content-Length headers that disagree.
    #[error("conflicting Content-Length values {first} and {second}")]
    ConflictingContentLength {
        /// The first value seen.
        first: usize,
        /// The first value that differs from it.
        second: usize,
    },
    /// The body is shorter than Content-Length announces.
    #[error("Content-Length {declared} exceeds body of {available} bytes")]
    ContentLengthExceedsBody {
        /// Value of the Content-Length header.
        declared: usize,
        /// Bytes actually present after the header section.
        available: usize,
    },
    /// A mandatory header is absent.
    #[error("missing {0} header")]
    MissingHeader(HeaderName),
    /// A header that must appear once appears several times.
    #[error("multiple {0} headers")]
    MultipleHeaders(HeaderName),
    /// A known header whose value does not follow its grammar.
    #[error("invalid {header}: {reason}")]
    InvalidHeader {
        /// Which header.
        header: HeaderName,
        /// What is wrong with it.
        reason: String,
    },
    /// Syntax error inside a header value, before the header is known.
    #[error("{0}")]
    Syntax(String),
    /// The CSeq method differs from the request method.
    #[error("invalid CSeq: method mismatch (CSeq says {cseq}, request line says {request})")]
    CSeqMethodMismatch {
        /// Method in the CSeq header.
        cseq: String,
        /// Method in the request line.
        request: String,
    },
    /// A non-empty body without a Content-Type header.
    #[error("body of {0} bytes has no Content-Type header")]
    BodyWithoutContentType(usize),
    /// A multipart boundary that RFC 2046 does not allow.
    #[error("invalid multipart boundary \"{0}\": must be 1 to 70 characters")]
    InvalidBoundary(String),
    /// The multipart body never contains its first delimiter line.
    #[error("multipart body has no delimiter line --{0}")]
    MultipartNoDelimiter(String),
    /// The multipart body never contains its closing delimiter line.
    #[error("multipart body has no closing delimiter --{0}--")]
    MultipartUnclosed(String),
    /// A defect inside one part of a multipart body.
    #[error("multipart part {index}: {source}")]
    MultipartPart {
        /// 1-based index of the part.
        index: usize,
        /// The defect.
        source: Box<ParseError>,
    },
}

impl ParseError {
    /// Shorthand for a [`ParseError::Syntax`] error.
    pub(crate) fn syntax(text: impl Into<String>) -> Self {
        ParseError::Syntax(text.into())
    }

    /// Attach the header name to an error found inside its value.
    pub(crate) fn in_header(self, header: &HeaderName) -> Self {
        match self {
            ParseError::InvalidHeader { .. } => self,
            other => ParseError::InvalidHeader { header: header.clone(), reason: other.to_string() },
        }
    }
}

/// A defect found while delimiting a message in a TCP/TLS byte stream.
///
/// Any of these is unrecoverable for the connection: the stream position of
/// the next message is unknown, so the connection should be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// The header section is longer than the configured limit.
    #[error("header section exceeds the limit of {limit} bytes")]
    HeaderSectionTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// Content-Length announces more than the configured limit.
    #[error("Content-Length {length} exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// Announced body length.
        length: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Stream transports require Content-Length (RFC 3261 section 18.3).
    #[error("missing Content-Length header on a stream transport")]
    MissingContentLength,
    /// The Content-Length header itself is malformed.
    #[error(transparent)]
    Invalid(#[from] ParseError),
}
