//! Character classes and small scanners shared by the header grammars of
//! RFC 3261 section 25.

use crate::error::ParseError;

/// `token` characters: alphanum and `-.!%*_+`'~`.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~')
}

/// True when `s` is a non-empty token.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// SP or HTAB. After unfolding, these are the only linear white space left.
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trim SP/HTAB from both ends.
pub(crate) fn trim_wsp(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// Trim SP/HTAB from both ends of a byte slice.
pub(crate) fn trim_wsp_bytes(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if !is_wsp(*first) {
            break;
        }
        b = rest;
    }
    while let [rest @ .., last] = b {
        if !is_wsp(*last) {
            break;
        }
        b = rest;
    }
    b
}

/// `unreserved` of RFC 3261: alphanum and mark.
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')')
}

/// Check that every byte is `unreserved`, a valid `%HH` escape, or in `extra`.
pub(crate) fn check_escaped(s: &str, extra: &[u8]) -> Result<(), &'static str> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            match (b.get(i + 1), b.get(i + 2)) {
                (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i += 3,
                _ => return Err("malformed %-escape"),
            }
        } else if is_unreserved(c) || extra.contains(&c) {
            i += 1;
        } else {
            return Err("character not allowed here");
        }
    }
    Ok(())
}

/// Decode `%HH` escapes. Malformed escapes are kept literally, so this never
/// fails; parsers validate escapes with [`check_escaped`] beforehand.
pub(crate) fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (hex_val(b.get(i + 1)), hex_val(b.get(i + 2)))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hex_val(b: Option<&u8>) -> Option<u8> {
    let b = *b?;
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parse a string of ASCII digits (leading zeros allowed) that must fit `max`.
pub(crate) fn parse_decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || s.len() > 40 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: u64 = 0;
    for b in s.bytes() {
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    (v <= max).then_some(v)
}

/// Scan a quoted-string starting at `s[0] == '"'`. Returns the decoded
/// content and the byte length of the quoted string including both quotes.
pub(crate) fn scan_quoted(s: &str) -> Result<(String, usize), ParseError> {
    let b = s.as_bytes();
    if b.first() != Some(&b'"') {
        return Err(ParseError::syntax("expected a quoted string"));
    }
    let mut out = String::new();
    let mut i = 1;
    let mut run_start = 1;
    while i < b.len() {
        match b[i] {
            b'"' => {
                out.push_str(&s[run_start..i]);
                return Ok((out, i + 1));
            }
            b'\\' => {
                out.push_str(&s[run_start..i]);
                match b.get(i + 1) {
                    Some(&c) if c < 0x80 && c != b'\r' && c != b'\n' => {
                        out.push(char::from(c));
                        i += 2;
                        run_start = i;
                    }
                    _ => return Err(ParseError::syntax("invalid escape in quoted string")),
                }
            }
            c if (c < 0x20 && c != b'\t') || c == 0x7f => {
                return Err(ParseError::syntax("control character in quoted string"));
            }
            _ => i += 1,
        }
    }
    Err(ParseError::syntax("unterminated quoted string"))
}

/// Append `text` to `out` as a quoted-string, escaping what `qdtext` forbids.
pub(crate) fn push_quoted(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' || (c < ' ' && c != '\t') || c == '\u{7f}' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Iterator over the elements of a comma-separated header value. Commas
/// inside quoted strings (with `\` escapes) and inside `<...>` do not split.
/// Elements are trimmed; an entirely empty value yields nothing.
pub(crate) struct ListSplit<'a> {
    rest: Option<&'a str>,
}

/// Split a header value into list elements; see [`ListSplit`].
pub(crate) fn split_list(value: &str) -> ListSplit<'_> {
    let value = trim_wsp(value);
    ListSplit { rest: (!value.is_empty()).then_some(value) }
}

impl<'a> Iterator for ListSplit<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let s = self.rest?;
        let b = s.as_bytes();
        let mut in_quotes = false;
        let mut angle = false;
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' if in_quotes => i += 1,
                b'"' if !angle => in_quotes = !in_quotes,
                b'<' if !in_quotes => angle = true,
                b'>' if !in_quotes => angle = false,
                b',' if !in_quotes && !angle => {
                    self.rest = Some(&s[i + 1..]);
                    return Some(trim_wsp(&s[..i]));
                }
                _ => {}
            }
            i += 1;
        }
        self.rest = None;
        Some(trim_wsp(s))
    }
}

/// A byte cursor over a header value, for hand-written recursive descent.
pub(crate) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }

    /// Skip SP/HTAB; returns how many were skipped.
    pub(crate) fn skip_wsp(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(is_wsp) {
            self.pos += 1;
        }
        self.pos - start
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    /// Consume `b` if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consume ASCII bytes while `pred` holds (stopping at any non-ASCII
    /// byte keeps the position on a character boundary).
    pub(crate) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii() && pred(b)) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or("")
    }

    /// Skip `n` bytes; `n` must end on a character boundary.
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.s.len());
    }

    /// The unconsumed remainder.
    pub(crate) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.s.len()
    }
}

/// Describe the next character of `s` for an error message.
pub(crate) fn describe_next(s: &str) -> String {
    match s.chars().next() {
        Some(c) => format!("unexpected character {c:?}"),
        None => "unexpected end of value".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_split_respects_quotes_brackets_and_escapes() {
        let v = r#""a, \"b\", c" <sip:x@y;p=1,2>;q=1 , <sip:z@w>,"#;
        let parts: Vec<_> = split_list(v).collect();
        assert_eq!(parts, vec![r#""a, \"b\", c" <sip:x@y;p=1,2>;q=1"#, "<sip:z@w>", ""]);
        assert_eq!(split_list("  ").count(), 0);
        assert_eq!(split_list("a,,b").collect::<Vec<_>>(), vec!["a", "", "b"]);
    }

    #[test]
    fn quoted_string_decoding() {
        let (text, len) = scan_quoted(r#""J Rosenberg \\\"" <sip:x>"#).unwrap();
        assert_eq!(text, r#"J Rosenberg \""#);
        assert_eq!(len, 18);
        assert!(scan_quoted("\"open").is_err());
        assert!(scan_quoted("unquoted").is_err());
        assert!(scan_quoted("\"bad\\").is_err());
        assert!(scan_quoted("\"a\u{1}b\"").is_err());
        let mut s = String::new();
        push_quoted(&mut s, "a\"b\\c\0");
        assert_eq!(s, "\"a\\\"b\\\\c\\\0\"");
        assert_eq!(scan_quoted(&s).unwrap().0, "a\"b\\c\0");
    }

    #[test]
    fn decimal_limits() {
        assert_eq!(parse_decimal("0068", 255), Some(68));
        assert_eq!(parse_decimal("256", 255), None);
        assert_eq!(parse_decimal("36893488147419103232", u64::MAX), None);
        assert_eq!(parse_decimal("-1", 10), None);
        assert_eq!(parse_decimal("", 10), None);
    }

    #[test]
    fn escapes() {
        assert_eq!(percent_decode("null-%00-%4a%zz"), b"null-\0-J%zz".to_vec());
        assert!(check_escaped("a%2", b"").is_err());
        assert!(check_escaped("a%2F;", b";").is_ok());
        assert!(check_escaped("a b", b"").is_err());
    }

    #[test]
    fn trims() {
        assert_eq!(trim_wsp_bytes(b" \t a b\t "), b"a b");
        assert_eq!(trim_wsp_bytes(b"   "), b"");
    }
}
