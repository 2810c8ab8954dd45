//! Header names, the ordered header list, and the header-section parser
//! (line endings, folding, compact names).

use std::fmt;

use memchr::memchr;

use crate::error::ParseError;
use crate::lex::{is_token, is_token_byte, is_wsp, split_list, trim_wsp, trim_wsp_bytes};

macro_rules! known_headers {
    ($($variant:ident => $konst:ident, $name:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum Known { $($variant),* }

        impl Known {
            const ALL: &'static [Known] = &[$(Known::$variant),*];

            fn as_str(self) -> &'static str {
                match self { $(Known::$variant => $name),* }
            }
        }

        impl HeaderName {
            $(
                #[doc = concat!("The `", $name, "` header.")]
                pub const $konst: HeaderName = HeaderName(Repr::Known(Known::$variant));
            )*
        }
    };
}

known_headers! {
    Accept => ACCEPT, "Accept";
    AcceptContact => ACCEPT_CONTACT, "Accept-Contact";
    AcceptEncoding => ACCEPT_ENCODING, "Accept-Encoding";
    AcceptLanguage => ACCEPT_LANGUAGE, "Accept-Language";
    AlertInfo => ALERT_INFO, "Alert-Info";
    Allow => ALLOW, "Allow";
    AllowEvents => ALLOW_EVENTS, "Allow-Events";
    AuthenticationInfo => AUTHENTICATION_INFO, "Authentication-Info";
    Authorization => AUTHORIZATION, "Authorization";
    CallId => CALL_ID, "Call-ID";
    CallInfo => CALL_INFO, "Call-Info";
    Contact => CONTACT, "Contact";
    ContentDisposition => CONTENT_DISPOSITION, "Content-Disposition";
    ContentEncoding => CONTENT_ENCODING, "Content-Encoding";
    ContentId => CONTENT_ID, "Content-ID";
    ContentLanguage => CONTENT_LANGUAGE, "Content-Language";
    ContentLength => CONTENT_LENGTH, "Content-Length";
    ContentTransferEncoding => CONTENT_TRANSFER_ENCODING, "Content-Transfer-Encoding";
    ContentType => CONTENT_TYPE, "Content-Type";
    CSeq => CSEQ, "CSeq";
    Date => DATE, "Date";
    ErrorInfo => ERROR_INFO, "Error-Info";
    Event => EVENT, "Event";
    Expires => EXPIRES, "Expires";
    From => FROM, "From";
    HistoryInfo => HISTORY_INFO, "History-Info";
    Identity => IDENTITY, "Identity";
    InReplyTo => IN_REPLY_TO, "In-Reply-To";
    MaxForwards => MAX_FORWARDS, "Max-Forwards";
    MimeVersion => MIME_VERSION, "MIME-Version";
    MinExpires => MIN_EXPIRES, "Min-Expires";
    MinSe => MIN_SE, "Min-SE";
    Organization => ORGANIZATION, "Organization";
    PAssertedIdentity => P_ASSERTED_IDENTITY, "P-Asserted-Identity";
    PPreferredIdentity => P_PREFERRED_IDENTITY, "P-Preferred-Identity";
    Path => PATH, "Path";
    Priority => PRIORITY, "Priority";
    Privacy => PRIVACY, "Privacy";
    ProxyAuthenticate => PROXY_AUTHENTICATE, "Proxy-Authenticate";
    ProxyAuthorization => PROXY_AUTHORIZATION, "Proxy-Authorization";
    ProxyRequire => PROXY_REQUIRE, "Proxy-Require";
    RAck => RACK, "RAck";
    Reason => REASON, "Reason";
    RecordRoute => RECORD_ROUTE, "Record-Route";
    ReferTo => REFER_TO, "Refer-To";
    ReferredBy => REFERRED_BY, "Referred-By";
    Replaces => REPLACES, "Replaces";
    ReplyTo => REPLY_TO, "Reply-To";
    Require => REQUIRE, "Require";
    RetryAfter => RETRY_AFTER, "Retry-After";
    Route => ROUTE, "Route";
    RSeq => RSEQ, "RSeq";
    Server => SERVER, "Server";
    SessionExpires => SESSION_EXPIRES, "Session-Expires";
    SessionId => SESSION_ID, "Session-ID";
    Subject => SUBJECT, "Subject";
    Supported => SUPPORTED, "Supported";
    Timestamp => TIMESTAMP, "Timestamp";
    To => TO, "To";
    Unsupported => UNSUPPORTED, "Unsupported";
    UserAgent => USER_AGENT, "User-Agent";
    Via => VIA, "Via";
    Warning => WARNING, "Warning";
    WwwAuthenticate => WWW_AUTHENTICATE, "WWW-Authenticate";
}

/// Compact forms of RFC 3261 section 7.3.3 and later extensions.
fn compact(letter: u8) -> Option<Known> {
    Some(match letter.to_ascii_lowercase() {
        b'i' => Known::CallId,
        b'm' => Known::Contact,
        b'f' => Known::From,
        b't' => Known::To,
        b'v' => Known::Via,
        b'l' => Known::ContentLength,
        b'c' => Known::ContentType,
        b'k' => Known::Supported,
        b's' => Known::Subject,
        b'e' => Known::ContentEncoding,
        b'o' => Known::Event,
        b'r' => Known::ReferTo,
        b'b' => Known::ReferredBy,
        b'u' => Known::AllowEvents,
        b'x' => Known::SessionExpires,
        b'y' => Known::Identity,
        b'a' => Known::AcceptContact,
        _ => return None,
    })
}

#[derive(Debug, Clone)]
enum Repr {
    Known(Known),
    Other(Box<str>),
}

/// A header name. Known names (including compact forms such as `v` or `i`)
/// map to one canonical spelling; other names keep the spelling received.
/// Comparison is ASCII case-insensitive, as RFC 3261 section 7.3.1 requires.
#[derive(Debug, Clone)]
pub struct HeaderName(Repr);

impl HeaderName {
    /// Build a name from text; fails unless `name` is a token.
    pub fn new(name: &str) -> Result<HeaderName, ParseError> {
        if !is_token(name) {
            return Err(ParseError::InvalidHeaderName(name.to_owned()));
        }
        Ok(Self::from_token(name))
    }

    /// `name` must already be known to be a token.
    fn from_token(name: &str) -> HeaderName {
        let bytes = name.as_bytes();
        if let [letter] = bytes
            && let Some(k) = compact(*letter)
        {
            return HeaderName(Repr::Known(k));
        }
        Known::ALL
            .iter()
            .find(|k| {
                let canon = k.as_str();
                canon.len() == bytes.len() && canon.as_bytes().eq_ignore_ascii_case(bytes)
            })
            .map_or_else(|| HeaderName(Repr::Other(name.into())), |k| HeaderName(Repr::Known(*k)))
    }

    /// Canonical spelling for known headers, received spelling otherwise.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Known(k) => k.as_str(),
            Repr::Other(s) => s,
        }
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Repr::Known(a), Repr::Known(b)) => a == b,
            (Repr::Other(a), Repr::Other(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        }
    }
}

impl Eq for HeaderName {}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header field. The value has folding collapsed to single spaces and
/// surrounding white space removed; otherwise it is the received text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    name: HeaderName,
    value: String,
}

impl Header {
    /// The header name.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The whole value (for list headers, possibly several comma-separated
    /// elements).
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// Header fields in order of appearance. Repeated headers stay separate
/// entries; [`Headers::values`] also splits comma-separated lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Headers(Vec::new())
    }

    /// Number of header fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no header fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// All header fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Value of the first header called `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.0.iter().find(|h| h.name == *name).map(|h| h.value.as_str())
    }

    /// Values of every header called `name`, in order, unsplit.
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |h| h.name == *name).map(|h| h.value.as_str())
    }

    /// List elements of every header called `name`: repeated headers and
    /// comma-separated values alike, in order. Commas inside quoted strings
    /// or `<...>` do not split. Only meaningful for list-valued headers (Via,
    /// Contact, Route, Require...); an empty header yields no element.
    pub fn values<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name).flat_map(split_list)
    }

    /// How many header fields are called `name`.
    pub fn count(&self, name: &HeaderName) -> usize {
        self.0.iter().filter(|h| h.name == *name).count()
    }

    /// True when at least one header is called `name`.
    pub fn contains(&self, name: &HeaderName) -> bool {
        self.0.iter().any(|h| h.name == *name)
    }

    /// Append a header. Surrounding white space is dropped; a value holding
    /// CR or LF is refused, since it would inject header lines.
    pub fn push(&mut self, name: HeaderName, value: &str) -> Result<(), ParseError> {
        if value.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(ParseError::InvalidHeaderValue { name: name.as_str().to_owned(), reason: "contains CR or LF" });
        }
        self.0.push(Header { name, value: trim_wsp(value).to_owned() });
        Ok(())
    }

    /// Replace the value of the `index`-th header field (0-based, over all
    /// names); same checks as [`Headers::push`].
    pub fn set_value(&mut self, index: usize, value: &str) -> Result<(), ParseError> {
        let Some(h) = self.0.get_mut(index) else {
            return Err(ParseError::syntax(format!("no header at index {index}")));
        };
        if value.bytes().any(|b| b == b'\r' || b == b'\n') {
            return Err(ParseError::InvalidHeaderValue {
                name: h.name.as_str().to_owned(),
                reason: "contains CR or LF",
            });
        }
        h.value = trim_wsp(value).to_owned();
        Ok(())
    }

    /// Index of the first header called `name`.
    pub fn position(&self, name: &HeaderName) -> Option<usize> {
        self.0.iter().position(|h| h.name == *name)
    }

    /// Remove every header called `name`; returns how many were removed.
    pub fn remove(&mut self, name: &HeaderName) -> usize {
        let before = self.0.len();
        self.0.retain(|h| h.name != *name);
        before - self.0.len()
    }

    /// Keep only the headers for which `keep` returns true.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&Header) -> bool) {
        self.0.retain(keep);
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Find the blank line that ends a header section: the first LF at or after
/// `from` that is directly followed by CRLF or LF. Returns the end of the
/// header lines (just after that LF) and the start of the body.
pub(crate) fn find_blank_line(data: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut pos = from;
    loop {
        let lf = pos + memchr(b'\n', data.get(pos..)?)?;
        match (data.get(lf + 1), data.get(lf + 2)) {
            (Some(b'\n'), _) => return Some((lf + 1, lf + 2)),
            (Some(b'\r'), Some(b'\n')) => return Some((lf + 1, lf + 3)),
            _ => pos = lf + 1,
        }
    }
}

/// Parse header lines (everything between the start line and the blank
/// line). Lines end in CRLF or bare LF; a line starting with SP/HTAB
/// continues the previous header. `first_line` is the 1-based line number
/// of the first header line, for error messages.
pub(crate) fn parse_header_lines(section: &[u8], first_line: usize) -> Result<Headers, ParseError> {
    let mut headers: Vec<Header> = Vec::with_capacity(24);
    let mut pos = 0;
    let mut line_no = first_line;
    while pos < section.len() {
        let end = memchr(b'\n', &section[pos..]).map_or(section.len(), |i| pos + i);
        let raw = &section[pos..end];
        pos = end + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        let bad = |reason| ParseError::MalformedHeaderLine { line: line_no, reason };
        if memchr(b'\r', line).is_some() {
            return Err(bad("bare CR inside the line"));
        }
        if line.first().copied().is_some_and(is_wsp) {
            let Some(last) = headers.last_mut() else {
                return Err(bad("continuation line before any header"));
            };
            let text = std::str::from_utf8(trim_wsp_bytes(line)).map_err(|_| ParseError::InvalidHeaderValue {
                name: last.name.as_str().to_owned(),
                reason: "not valid UTF-8",
            })?;
            if !text.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(text);
            }
        } else {
            let Some(colon) = memchr(b':', line) else {
                return Err(bad("missing colon"));
            };
            let name = trim_wsp_bytes(&line[..colon]);
            if name.is_empty() || !name.iter().all(|&b| is_token_byte(b)) {
                return Err(bad("header name is not a token"));
            }
            let name = HeaderName::from_token(std::str::from_utf8(name).unwrap_or_default());
            let value = std::str::from_utf8(trim_wsp_bytes(&line[colon + 1..])).map_err(|_| {
                ParseError::InvalidHeaderValue { name: name.as_str().to_owned(), reason: "not valid UTF-8" }
            })?;
            headers.push(Header { name, value: value.to_owned() });
        }
        line_no += 1;
    }
    Ok(Headers(headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_compact_forms_map() {
        assert_eq!(HeaderName::new("MaX-fOrWaRdS").unwrap(), HeaderName::MAX_FORWARDS);
        assert_eq!(HeaderName::new("v").unwrap(), HeaderName::VIA);
        assert_eq!(HeaderName::new("I").unwrap().as_str(), "Call-ID");
        assert_eq!(HeaderName::new("y").unwrap(), HeaderName::IDENTITY);
        let x = HeaderName::new("X-Custom").unwrap();
        assert_eq!(x, HeaderName::new("x-cUSTOM").unwrap());
        assert_eq!(x.as_str(), "X-Custom");
        assert_ne!(x, HeaderName::VIA);
        assert!(HeaderName::new("bad name").is_err());
        assert!(HeaderName::new("").is_err());
    }

    #[test]
    fn folding_and_bare_lf() {
        let h = parse_header_lines(b"Subject: a\r\n  b \r\n\tc\nX: \r\n  y\r\nEmpty:\r\n", 2).unwrap();
        assert_eq!(h.get(&HeaderName::SUBJECT), Some("a b c"));
        assert_eq!(h.get(&HeaderName::new("x").unwrap()), Some("y"));
        assert_eq!(h.get(&HeaderName::new("empty").unwrap()), Some(""));
    }

    #[test]
    fn header_line_errors_name_the_line() {
        let e = parse_header_lines(b"A: 1\r\nB 2\r\n", 2).unwrap_err();
        assert_eq!(e.to_string(), "malformed header line 3: missing colon");
        let e = parse_header_lines(b" x\r\n", 2).unwrap_err();
        assert_eq!(e.to_string(), "malformed header line 2: continuation line before any header");
        assert!(parse_header_lines(b"A: 1\r2\r\n", 2).is_err());
        assert!(parse_header_lines(b"A: \xff\r\n", 2).is_err());
        assert!(parse_header_lines(b"A b: 1\r\n", 2).is_err());
    }

    #[test]
    fn blank_line_search() {
        assert_eq!(find_blank_line(b"L\r\nA: 1\r\n\r\nbody", 1), Some((9, 11)));
        assert_eq!(find_blank_line(b"L\nA: 1\n\nbody", 1), Some((7, 8)));
        assert_eq!(find_blank_line(b"L\r\n\r\n", 2), Some((3, 5)));
        assert_eq!(find_blank_line(b"L\r\nA: 1\r\n", 1), None);
    }

    #[test]
    fn list_values_and_editing() {
        let mut h = Headers::new();
        h.push(HeaderName::VIA, " SIP/2.0/UDP a, SIP/2.0/UDP b ").unwrap();
        h.push(HeaderName::VIA, "SIP/2.0/UDP c").unwrap();
        assert_eq!(
            h.values(&HeaderName::VIA).collect::<Vec<_>>(),
            vec!["SIP/2.0/UDP a", "SIP/2.0/UDP b", "SIP/2.0/UDP c"]
        );
        assert!(h.push(HeaderName::SUBJECT, "a\r\nInjected: 1").is_err());
        assert!(h.set_value(0, "x\ny").is_err());
        assert!(h.set_value(9, "x").is_err());
        h.set_value(1, "SIP/2.0/TCP d").unwrap();
        assert_eq!(h.position(&HeaderName::VIA), Some(0));
        assert_eq!(h.count(&HeaderName::VIA), 2);
        assert_eq!(h.remove(&HeaderName::VIA), 2);
        assert!(h.is_empty());
    }
}
