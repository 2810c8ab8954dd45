//! Splitting `multipart/*` bodies (RFC 2046 section 5.1), as SIPREC
//! INVITEs carry SDP and recording metadata side by side (RFC 7866).

use memchr::memmem;

use crate::error::ParseError;
use crate::fields::{ContentDisposition, ContentType};
use crate::header::{HeaderName, Headers, find_blank_line, parse_header_lines};
use crate::lex::is_wsp;
use crate::message::{Request, Response};

/// A split multipart body. Part bodies borrow from the message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipartBody<'a> {
    preamble: &'a [u8],
    parts: Vec<BodyPart<'a>>,
    epilogue: &'a [u8],
}

/// One part: its MIME headers and its content. Parts of any type are kept
/// as they are, so callers pick what they understand and ignore the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyPart<'a> {
    headers: Headers,
    body: &'a [u8],
}

struct Delimiter {
    /// End of the previous part's content (the line break before the
    /// delimiter belongs to the delimiter).
    content_end: usize,
    /// First byte after the delimiter line.
    after: usize,
    close: bool,
}

impl<'a> MultipartBody<'a> {
    /// Split `body` on `boundary` (already unquoted, without the leading
    /// `--`). Line breaks may be CRLF or bare LF; transport padding after a
    /// delimiter is skipped; a line that merely starts with the delimiter
    /// text (`--boundaryX`) is content. The closing delimiter is required.
    pub fn parse(body: &'a [u8], boundary: &str) -> Result<MultipartBody<'a>, ParseError> {
        if boundary.is_empty() || boundary.len() > 70 || !boundary.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(ParseError::InvalidBoundary(boundary.to_owned()));
        }
        let dash = format!("--{boundary}");
        let mut delimiters = Vec::new();
        for p in memmem::find_iter(body, dash.as_bytes()) {
            if p > 0 && body[p - 1] != b'\n' {
                continue;
            }
            let mut q = p + dash.len();
            let close = body[q..].starts_with(b"--");
            if close {
                q += 2;
            }
            while body.get(q).copied().is_some_and(is_wsp) {
                q += 1;
            }
            let after = match (body.get(q), body.get(q + 1)) {
                (None, _) => q,
                (Some(b'\n'), _) => q + 1,
                (Some(b'\r'), Some(b'\n')) => q + 2,
                _ => continue,
            };
            let content_end = match p {
                0 => 0,
                _ if p >= 2 && body[p - 2] == b'\r' => p - 2,
                _ => p - 1,
            };
            delimiters.push(Delimiter { content_end, after, close });
            if close {
                break;
            }
        }
        let (Some(first), Some(last)) = (delimiters.first(), delimiters.last()) else {
            return Err(ParseError::MultipartNoDelimiter(boundary.to_owned()));
        };
        if !last.close {
            return Err(ParseError::MultipartUnclosed(boundary.to_owned()));
        }
        if first.close {
            return Err(ParseError::syntax(format!("multipart body has no parts before --{boundary}--")));
        }
        let parts = delimiters
            .windows(2)
            .enumerate()
            .map(|(i, pair)| {
                let start = pair[0].after;
                let end = pair[1].content_end.max(start);
                BodyPart::parse(&body[start..end])
                    .map_err(|e| ParseError::MultipartPart { index: i + 1, source: Box::new(e) })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(MultipartBody { preamble: &body[..first.content_end], parts, epilogue: &body[last.after..] })
    }

    /// Text before the first delimiter (ignored by receivers).
    pub fn preamble(&self) -> &'a [u8] {
        self.preamble
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[BodyPart<'a>] {
        &self.parts
    }

    /// Text after the closing delimiter (ignored by receivers).
    pub fn epilogue(&self) -> &'a [u8] {
        self.epilogue
    }

    /// The first part of type `media_type/subtype` (case-insensitive).
    /// Parts with a malformed Content-Type are skipped.
    pub fn find(&self, media_type: &str, subtype: &str) -> Option<&BodyPart<'a>> {
        self.parts.iter().find(|p| p.content_type().ok().flatten().is_some_and(|t| t.is(media_type, subtype)))
    }
}

impl<'a> BodyPart<'a> {
    fn parse(segment: &'a [u8]) -> Result<BodyPart<'a>, ParseError> {
        let no_headers = segment.strip_prefix(b"\r\n").or_else(|| segment.strip_prefix(b"\n"));
        if let Some(body) = no_headers {
            return Ok(BodyPart { headers: Headers::new(), body });
        }
        if segment.is_empty() {
            return Ok(BodyPart { headers: Headers::new(), body: segment });
        }
        let (header_end, body_start) =
            find_blank_line(segment, 0).ok_or_else(|| ParseError::syntax("no blank line after the part headers"))?;
        Ok(BodyPart { headers: parse_header_lines(&segment[..header_end], 1)?, body: &segment[body_start..] })
    }

    /// The part's MIME headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The part's content.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The part's Content-Type (RFC 2046 defaults an absent one to
    /// text/plain; that is left to the caller).
    pub fn content_type(&self) -> Result<Option<ContentType>, ParseError> {
        self.headers.content_type()
    }

    /// The part's Content-Disposition.
    pub fn content_disposition(&self) -> Result<Option<ContentDisposition>, ParseError> {
        self.headers.content_disposition()
    }

    /// The part's Content-ID, as received.
    pub fn content_id(&self) -> Option<&str> {
        self.headers.get(&HeaderName::CONTENT_ID)
    }
}

fn split_message_body<'a>(headers: &Headers, body: &'a [u8]) -> Result<Option<MultipartBody<'a>>, ParseError> {
    let Some(ct) = headers.content_type()? else {
        return Ok(None);
    };
    if !ct.is_multipart() {
        return Ok(None);
    }
    let boundary = ct.boundary().ok_or_else(|| ParseError::InvalidHeader {
        header: HeaderName::CONTENT_TYPE,
        reason: "multipart type without boundary parameter".to_owned(),
    })?;
    MultipartBody::parse(body, &boundary).map(Some)
}

impl Request {
    /// The body split into parts when Content-Type is `multipart/*`;
    /// `None` for any other body.
    pub fn multipart(&self) -> Result<Option<MultipartBody<'_>>, ParseError> {
        split_message_body(self.headers(), self.body())
    }
}

impl Response {
    /// The body split into parts when Content-Type is `multipart/*`;
    /// `None` for any other body.
    pub fn multipart(&self) -> Result<Option<MultipartBody<'_>>, ParseError> {
        split_message_body(self.headers(), self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_with_preamble_epilogue_and_padding() {
        let body = b"preamble\r\n--b1  \r\nContent-Type: application/sdp\r\n\r\nv=0\r\n\r\n--b1\r\n\r\nno headers\r\n--b1x is content\r\n--b1-- \r\nepilogue";
        let m = MultipartBody::parse(body, "b1").unwrap();
        assert_eq!(m.preamble(), b"preamble");
        assert_eq!(m.epilogue(), b"epilogue");
        assert_eq!(m.parts().len(), 2);
        assert_eq!(m.parts()[0].body(), b"v=0\r\n");
        assert!(m.parts()[0].content_type().unwrap().unwrap().is("application", "SDP"));
        assert_eq!(m.parts()[1].body(), b"no headers\r\n--b1x is content");
        assert!(m.parts()[1].headers().is_empty());
        assert!(m.find("application", "sdp").is_some());
        assert!(m.find("text", "plain").is_none());
    }

    #[test]
    fn bare_lf_and_no_trailing_newline() {
        let body = b"--b\nContent-ID: <x@y>\n\nhello\n--b--";
        let m = MultipartBody::parse(body, "b").unwrap();
        assert_eq!(m.parts()[0].content_id(), Some("<x@y>"));
        assert_eq!(m.parts()[0].body(), b"hello");
        assert!(m.epilogue().is_empty());
        assert!(m.preamble().is_empty());
    }

    #[test]
    fn errors() {
        let e = MultipartBody::parse(b"no delimiters", "b").unwrap_err();
        assert_eq!(e.to_string(), "multipart body has no delimiter line --b");
        let e = MultipartBody::parse(b"--b\r\n\r\nx\r\n--b\r\n\r\ny", "b").unwrap_err();
        assert_eq!(e.to_string(), "multipart body has no closing delimiter --b--");
        let e = MultipartBody::parse(b"--b\r\nBad header\r\n\r\nx\r\n--b--", "b").unwrap_err();
        assert_eq!(e.to_string(), "multipart part 1: malformed header line 1: missing colon");
        let e = MultipartBody::parse(b"--b\r\nX: 1\r\n--b--", "b").unwrap_err();
        assert_eq!(e.to_string(), "multipart part 1: no blank line after the part headers");
        assert!(MultipartBody::parse(b"--b--", "b").is_err());
        assert!(MultipartBody::parse(b"x", "").is_err());
        assert!(MultipartBody::parse(b"x", &"a".repeat(71)).is_err());
        let m = MultipartBody::parse(b"--b\r\n--b--", "b").unwrap();
        assert_eq!(m.parts()[0].body(), b"");
    }
}
