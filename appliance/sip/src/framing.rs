//! Delimiting messages in a TCP/TLS byte stream (RFC 3261 section 18.3),
//! with the CRLF keep-alives of RFC 5626 section 3.5.1.

use memchr::memchr;

use crate::error::{FramingError, ParseError};
use crate::fields::parse_content_length;
use crate::header::find_blank_line;
use crate::lex::{is_wsp, trim_wsp_bytes};

/// Limits that bound what a peer can make the server buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramingLimits {
    /// Longest accepted start line plus header section, blank line included.
    pub max_header_len: usize,
    /// Largest accepted Content-Length.
    pub max_body_len: usize,
}

impl Default for FramingLimits {
    /// 16 KiB of headers, 1 MiB of body: far above any SIPREC INVITE.
    fn default() -> Self {
        FramingLimits { max_header_len: 16 * 1024, max_body_len: 1024 * 1024 }
    }
}

/// What the start of a stream buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// No complete message yet; read more. The first `keepalive` bytes are
    /// CR/LF keep-alives the caller may drop (a double CRLF is an RFC 5626
    /// ping, answered with a single CRLF pong).
    Incomplete {
        /// Leading CR/LF bytes.
        keepalive: usize,
    },
    /// A complete message lies at `buf[keepalive..keepalive + len]`.
    Complete {
        /// Leading CR/LF bytes before the message.
        keepalive: usize,
        /// Length of the message, body included.
        len: usize,
    },
}

/// Say whether `buf` (the bytes received so far on a stream) starts with a
/// complete message. Content-Length is mandatory on streams; a missing,
/// malformed or conflicting one, or a header section beyond the limit, is
/// an error after which the connection cannot be resynchronised.
pub fn frame_stream(buf: &[u8], limits: &FramingLimits) -> Result<Frame, FramingError> {
    let keepalive = buf.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(buf.len());
    let data = &buf[keepalive..];
    let Some((header_end, body_start)) = memchr(b'\n', data).and_then(|lf| find_blank_line(data, lf)) else {
        if data.len() > limits.max_header_len {
            return Err(FramingError::HeaderSectionTooLarge { limit: limits.max_header_len });
        }
        return Ok(Frame::Incomplete { keepalive });
    };
    if body_start > limits.max_header_len {
        return Err(FramingError::HeaderSectionTooLarge { limit: limits.max_header_len });
    }
    let length = content_length(&data[..header_end])?.ok_or(FramingError::MissingContentLength)?;
    if length > limits.max_body_len {
        return Err(FramingError::BodyTooLarge { length, limit: limits.max_body_len });
    }
    let len = body_start.saturating_add(length);
    Ok(if data.len() >= len { Frame::Complete { keepalive, len } } else { Frame::Incomplete { keepalive } })
}

/// Find Content-Length (`Content-Length` or `l`, any case, possibly folded)
/// without building the header list.
fn content_length(head: &[u8]) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    let mut lines = head.split(|&b| b == b'\n').skip(1).peekable();
    while let Some(line) = lines.next() {
        if line.first().copied().is_some_and(is_wsp) {
            continue; // continuation of some other header
        }
        let Some(colon) = memchr(b':', line) else {
            continue;
        };
        let name = trim_wsp_bytes(&line[..colon]);
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let mut value = trim_cr(&line[colon + 1..]).to_vec();
        while let Some(next) = lines.peek().filter(|l| l.first().copied().is_some_and(is_wsp)) {
            value.push(b' ');
            value.extend_from_slice(trim_cr(next));
            lines.next();
        }
        let text = String::from_utf8_lossy(&value);
        let n = parse_content_length(&text)?;
        match found {
            Some(first) if first != n => {
                return Err(ParseError::ConflictingContentLength { first, second: n });
            }
            _ => found = Some(n),
        }
    }
    Ok(found)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nContent-Length: 4\r\n\r\nbody";

    #[test]
    fn frames_complete_partial_and_pipelined() {
        let limits = FramingLimits::default();
        assert_eq!(frame_stream(MSG, &limits).unwrap(), Frame::Complete { keepalive: 0, len: MSG.len() });
        for cut in 0..MSG.len() {
            assert_eq!(frame_stream(&MSG[..cut], &limits).unwrap(), Frame::Incomplete { keepalive: 0 }, "cut at {cut}");
        }
        let mut two = b"\r\n\r\n".to_vec();
        two.extend_from_slice(MSG);
        two.extend_from_slice(MSG);
        assert_eq!(frame_stream(&two, &limits).unwrap(), Frame::Complete { keepalive: 4, len: MSG.len() });
        assert_eq!(frame_stream(b"\r\n\r\n", &limits).unwrap(), Frame::Incomplete { keepalive: 4 });
        assert_eq!(frame_stream(b"", &limits).unwrap(), Frame::Incomplete { keepalive: 0 });
    }

    #[test]
    fn content_length_forms() {
        let limits = FramingLimits::default();
        let folded = b"SIP/2.0 200 OK\nl:\n  2\n\nok";
        assert_eq!(frame_stream(folded, &limits).unwrap(), Frame::Complete { keepalive: 0, len: folded.len() });
        let e = frame_stream(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n", &limits).unwrap_err();
        assert_eq!(e.to_string(), "missing Content-Length header on a stream transport");
        let e = frame_stream(b"SIP/2.0 200 OK\r\nContent-Length: -999\r\n\r\n", &limits).unwrap_err();
        assert_eq!(e.to_string(), "invalid Content-Length \"-999\"");
        let e = frame_stream(b"SIP/2.0 200 OK\r\nl: 1\r\nl: 2\r\n\r\n", &limits).unwrap_err();
        assert_eq!(e.to_string(), "conflicting Content-Length values 1 and 2");
    }

    #[test]
    fn limits() {
        let limits = FramingLimits { max_header_len: 32, max_body_len: 3 };
        let e = frame_stream(&[b'a'; 40], &limits).unwrap_err();
        assert_eq!(e.to_string(), "header section exceeds the limit of 32 bytes");
        let e = frame_stream(MSG, &limits).unwrap_err();
        assert_eq!(e, FramingError::HeaderSectionTooLarge { limit: 32 });
        let limits = FramingLimits { max_header_len: 1000, max_body_len: 3 };
        let e = frame_stream(MSG, &limits).unwrap_err();
        assert_eq!(e.to_string(), "Content-Length 4 exceeds the limit of 3 bytes");
    }
}
