//! Messages and the byte-level parser: start line, header section, body.

use memchr::memchr;

use crate::error::ParseError;
use crate::fields::parse_content_length;
use crate::header::{HeaderName, Headers, find_blank_line, parse_header_lines};
use crate::lex::is_token_byte;
use crate::method::Method;
use crate::uri::Uri;

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: Method,
    uri: Uri,
    headers: Headers,
    body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    reason: String,
    headers: Headers,
    body: Vec<u8>,
}

/// A request or a response.
///
/// Content-Length is framing, not content: the parser uses it to delimit
/// the body and then drops it from the header list, and serialisation
/// writes a fresh one computed from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SipMessage {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request { method, uri, headers: Headers::new(), body: Vec::new() }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The Request-URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The headers (Content-Length excluded).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, for editing.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Replace the body; set Content-Type to match.
    pub fn set_body(&mut self, body: Vec<u8>) {
        self.body = body;
    }
}

impl Response {
    /// A response with no headers and no body. The status must be 100 to
    /// 699 and the reason must not hold control characters.
    pub fn new(status: u16, reason: &str) -> Result<Response, ParseError> {
        if !(100..=699).contains(&status) {
            return Err(ParseError::InvalidStatusCode(status.to_string()));
        }
        check_reason(reason)?;
        Ok(Response { status, reason: reason.to_owned(), headers: Headers::new(), body: Vec::new() })
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase (may be empty).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The headers (Content-Length excluded).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, for editing.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Replace the body; set Content-Type to match.
    pub fn set_body(&mut self, body: Vec<u8>) {
        self.body = body;
    }
}

impl SipMessage {
    /// Parse one message from a datagram, or from a stream frame delimited
    /// by [`crate::frame_stream`].
    ///
    /// Leading CR/LF (keep-alives) are skipped. With Content-Length, the
    /// body is exactly that many bytes: extra bytes are dropped (RFC 3261
    /// section 18.3, as for a UDP datagram holding trailing garbage) and a
    /// shorter body is an error. Without it, the body is the rest of the
    /// input.
    pub fn parse(input: &[u8]) -> Result<SipMessage, ParseError> {
        let start = input.iter().position(|&b| b != b'\r' && b != b'\n').ok_or(ParseError::Empty)?;
        let data = &input[start..];
        let line_end = memchr(b'\n', data).ok_or(ParseError::UnterminatedHeaders)?;
        let start_line = &data[..line_end];
        let start_line = start_line.strip_suffix(b"\r").unwrap_or(start_line);
        let (header_end, body_start) = find_blank_line(data, line_end).ok_or(ParseError::UnterminatedHeaders)?;
        let mut headers = parse_header_lines(&data[line_end + 1..header_end], 2)?;
        let content_length = take_content_length(&mut headers)?;
        let rest = &data[body_start..];
        let body = match content_length {
            Some(declared) if declared > rest.len() => {
                return Err(ParseError::ContentLengthExceedsBody { declared, available: rest.len() });
            }
            Some(declared) => rest[..declared].to_vec(),
            None => rest.to_vec(),
        };
        if is_status_line(start_line) {
            let (status, reason) = parse_status_line(start_line)?;
            Ok(SipMessage::Response(Response { status, reason, headers, body }))
        } else {
            let (method, uri) = parse_request_line(start_line)?;
            Ok(SipMessage::Request(Request { method, uri, headers, body }))
        }
    }

    /// The headers of either kind of message.
    pub fn headers(&self) -> &Headers {
        match self {
            SipMessage::Request(r) => r.headers(),
            SipMessage::Response(r) => r.headers(),
        }
    }

    /// The headers, for editing.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            SipMessage::Request(r) => r.headers_mut(),
            SipMessage::Response(r) => r.headers_mut(),
        }
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        match self {
            SipMessage::Request(r) => r.body(),
            SipMessage::Response(r) => r.body(),
        }
    }

    /// The request, if this is one.
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            SipMessage::Request(r) => Some(r),
            SipMessage::Response(_) => None,
        }
    }

    /// The response, if this is one.
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            SipMessage::Response(r) => Some(r),
            SipMessage::Request(_) => None,
        }
    }
}

/// Remove Content-Length headers, returning their (agreeing) value.
fn take_content_length(headers: &mut Headers) -> Result<Option<usize>, ParseError> {
    let mut found: Option<usize> = None;
    for v in headers.get_all(&HeaderName::CONTENT_LENGTH) {
        let n = parse_content_length(v)?;
        match found {
            Some(first) if first != n => {
                return Err(ParseError::ConflictingContentLength { first, second: n });
            }
            _ => found = Some(n),
        }
    }
    if found.is_some() {
        headers.retain(|h| *h.name() != HeaderName::CONTENT_LENGTH);
    }
    Ok(found)
}

fn is_status_line(line: &[u8]) -> bool {
    line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/")
}

fn check_version(v: &[u8]) -> Result<(), ParseError> {
    if v.eq_ignore_ascii_case(b"SIP/2.0") {
        Ok(())
    } else {
        Err(ParseError::UnsupportedVersion(String::from_utf8_lossy(v).into_owned()))
    }
}

fn check_reason(reason: &str) -> Result<(), ParseError> {
    if reason.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(ParseError::InvalidReasonPhrase("control character"));
    }
    Ok(())
}

/// `SIP-Version SP Status-Code SP Reason-Phrase`. Tolerated: several SP
/// after the version, and a missing SP after the code when the reason is
/// empty (RFC 4475 section 3.1.1.13 calls that liberal).
fn parse_status_line(line: &[u8]) -> Result<(u16, String), ParseError> {
    let sp = memchr(b' ', line).ok_or(ParseError::MalformedStatusLine("missing status code"))?;
    check_version(&line[..sp])?;
    let rest = &line[sp..];
    let rest = &rest[rest.iter().position(|&b| b != b' ').unwrap_or(rest.len())..];
    let code_end = memchr(b' ', rest).unwrap_or(rest.len());
    let code = &rest[..code_end];
    let status = match code {
        [a @ b'1'..=b'6', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => {
            return Err(ParseError::InvalidStatusCode(String::from_utf8_lossy(code).into_owned()));
        }
    };
    let reason = rest.get(code_end + 1..).unwrap_or_default();
    let reason = std::str::from_utf8(reason).map_err(|_| ParseError::InvalidReasonPhrase("not valid UTF-8"))?;
    check_reason(reason)?;
    Ok((status, reason.to_owned()))
}

/// `Method SP Request-URI SP SIP-Version`. Tolerated (RFC 4475 sections
/// 3.1.2.9 and 3.1.2.10 allow it): runs of SP between elements and SP
/// after the version.
fn parse_request_line(line: &[u8]) -> Result<(Method, Uri), ParseError> {
    let bad = ParseError::MalformedRequestLine;
    if line.first() == Some(&b' ') {
        return Err(bad("leading white space"));
    }
    let mut parts = line.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let (Some(method), Some(uri), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected Method SP Request-URI SP SIP-Version"));
    };
    if parts.next().is_some() {
        return Err(bad("too many elements (white space inside the Request-URI?)"));
    }
    if !method.iter().all(|&b| is_token_byte(b)) {
        return Err(ParseError::InvalidMethod(String::from_utf8_lossy(method).into_owned()));
    }
    if version.len() < 4 || !version[..4].eq_ignore_ascii_case(b"SIP/") {
        return Err(bad("missing SIP version"));
    }
    check_version(version)?;
    let uri_text = std::str::from_utf8(uri)
        .map_err(|_| ParseError::InvalidUri { uri: String::from_utf8_lossy(uri).into_owned(), reason: "not ASCII" })?;
    if uri_text.starts_with('<') {
        return Err(ParseError::InvalidUri {
            uri: uri_text.to_owned(),
            reason: "Request-URI must not be enclosed in <>",
        });
    }
    let uri = Uri::parse(uri_text)?;
    if uri.as_sip().is_some_and(|u| !u.headers().is_empty()) {
        return Err(ParseError::InvalidUri { uri: uri_text.to_owned(), reason: "Request-URI must not carry headers" });
    }
    let method = Method::new(std::str::from_utf8(method).unwrap_or_default())?;
    Ok((method, uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> Result<SipMessage, ParseError> {
        SipMessage::parse(s)
    }

    #[test]
    fn minimal_request_and_response() {
        let m = parse(b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nl: 0\r\n\r\n").unwrap();
        let r = m.as_request().unwrap();
        assert_eq!(r.method(), &Method::OPTIONS);
        assert!(r.headers().get(&HeaderName::CONTENT_LENGTH).is_none());
        assert_eq!(r.headers().len(), 1);
        let m = parse(b"SIP/2.0 180 Ringing\nVia: SIP/2.0/UDP h\n\nbody").unwrap();
        let r = m.as_response().unwrap();
        assert_eq!((r.status(), r.reason(), r.body()), (180, "Ringing", &b"body"[..]));
        assert!(m.as_request().is_none());
    }

    #[test]
    fn content_length_rules() {
        let e = parse(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 120\r\n\r\n0123456789").unwrap_err();
        assert_eq!(e.to_string(), "Content-Length 120 exceeds body of 10 bytes");
        let m = parse(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 4\r\n\r\n0123456789").unwrap();
        assert_eq!(m.body(), b"0123");
        let e = parse(b"OPTIONS sip:a@b SIP/2.0\r\nl: 1\r\nl: 2\r\n\r\nab").unwrap_err();
        assert_eq!(e.to_string(), "conflicting Content-Length values 1 and 2");
        assert!(parse(b"OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\nl: 2\r\n\r\nab").is_ok());
        assert!(parse(b"OPTIONS sip:a@b SIP/2.0\r\nl: five\r\n\r\nab").is_err());
    }

    #[test]
    fn start_line_errors() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty message"),
            (b"\r\n\r\n", "empty message"),
            (b"OPTIONS sip:a@b SIP/2.0", "message ends before the blank line that closes the header section"),
            (
                b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n",
                "message ends before the blank line that closes the header section",
            ),
            (b"OPTIONS sip:a@b SIP/7.0\r\n\r\n", "unsupported SIP version \"SIP/7.0\""),
            (b"SIP/3.0 200 OK\r\n\r\n", "unsupported SIP version \"SIP/3.0\""),
            (
                b"SIP/2.0 4294967301 big\r\n\r\n",
                "invalid status code \"4294967301\": must be three digits from 100 to 699",
            ),
            (b"SIP/2.0 099 low\r\n\r\n", "invalid status code \"099\": must be three digits from 100 to 699"),
            (b"SIP/2.0 200 O\x01K\r\n\r\n", "invalid reason phrase: control character"),
            (b"OPTIONS\r\n\r\n", "malformed request line: expected Method SP Request-URI SP SIP-Version"),
            (b" OPTIONS sip:a@b SIP/2.0\r\n\r\n", "malformed request line: leading white space"),
            (
                b"INVITE sip:a@b; lr SIP/2.0\r\n\r\n",
                "malformed request line: too many elements (white space inside the Request-URI?)",
            ),
            (b"INVITE <sip:a@b> SIP/2.0\r\n\r\n", "invalid URI \"<sip:a@b>\": Request-URI must not be enclosed in <>"),
            (
                b"INVITE sip:a@b?Route=x SIP/2.0\r\n\r\n",
                "invalid URI \"sip:a@b?Route=x\": Request-URI must not carry headers",
            ),
            (b"IN\"VITE sip:a@b SIP/2.0\r\n\r\n", "invalid method \"IN\"VITE\": not a token"),
            (b"INVITE sip:a@b HTTP/1.1\r\n\r\n", "malformed request line: missing SIP version"),
        ];
        for (input, text) in cases {
            let e = parse(input).unwrap_err();
            assert_eq!(e.to_string(), *text, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn tolerated_spacing() {
        let m = parse(b"INVITE  sip:a@b  SIP/2.0  \r\n\r\n").unwrap();
        assert_eq!(m.as_request().unwrap().uri().to_string(), "sip:a@b");
        let m = parse(b"SIP/2.0 100\r\n\r\n").unwrap();
        assert_eq!(m.as_response().unwrap().reason(), "");
        let m = parse(b"sip/2.0  200 OK  \r\n\r\n").unwrap();
        assert_eq!(m.as_response().unwrap().reason(), "OK  ");
    }

    #[test]
    fn response_constructor_checks() {
        assert!(Response::new(99, "x").is_err());
        assert!(Response::new(700, "x").is_err());
        assert!(Response::new(200, "O\r\nK").is_err());
        assert_eq!(Response::new(200, "OK").unwrap().status(), 200);
    }
}
