//! Ordered `;name[=value]` parameter lists, used by URIs, name-addr, Via,
//! Content-Type and friends.

use std::fmt;

use crate::error::ParseError;
use crate::lex::{Cursor, describe_next, is_token, is_token_byte, is_wsp, scan_quoted};

/// One parameter. Values are kept exactly as received (a quoted-string keeps
/// its quotes and escapes; a URI parameter keeps its `%HH` escapes), so that
/// serialising reproduces the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    name: String,
    value: Option<String>,
}

impl Param {
    /// Parameter name as received.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Raw value, or `None` for a valueless parameter such as `lr`.
    pub fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

/// An ordered parameter list. Names compare ASCII case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(Vec<Param>);

impl Params {
    /// An empty list.
    pub fn new() -> Self {
        Params(Vec::new())
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parameters in order of appearance.
    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.0.iter()
    }

    /// First parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.0.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// True when a parameter called `name` is present, with or without value.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Raw value of `name`; `None` when absent or valueless.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Param::value)
    }

    /// Value of `name` with surrounding quotes removed and quoted-pairs
    /// decoded; a token value is returned unchanged.
    pub fn unquoted_value(&self, name: &str) -> Option<String> {
        let v = self.value(name)?;
        if v.starts_with('"') { scan_quoted(v).ok().map(|(text, _)| text) } else { Some(v.to_owned()) }
    }

    /// Set `name` to `value` (or to a valueless flag), replacing the first
    /// existing parameter of that name or appending a new one. The name must
    /// be a token; the value a token, an IP literal or a quoted-string.
    pub fn set(&mut self, name: &str, value: Option<&str>) -> Result<(), ParseError> {
        if !is_token(name) {
            return Err(ParseError::syntax(format!("parameter name {name:?} is not a token")));
        }
        if let Some(v) = value {
            let ok = if v.starts_with('"') {
                scan_quoted(v).is_ok_and(|(_, len)| len == v.len())
            } else {
                !v.is_empty() && v.bytes().all(is_param_value_byte)
            };
            if !ok {
                return Err(ParseError::syntax(format!(
                    "parameter value {v:?} is neither a token nor a quoted string"
                )));
            }
        }
        let value = value.map(str::to_owned);
        match self.0.iter_mut().find(|p| p.name.eq_ignore_ascii_case(name)) {
            Some(p) => p.value = value,
            None => self.0.push(Param { name: name.to_owned(), value }),
        }
        Ok(())
    }

    /// Remove every parameter called `name`; returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.0.len();
        self.0.retain(|p| !p.name.eq_ignore_ascii_case(name));
        before - self.0.len()
    }

    pub(crate) fn push_raw(&mut self, name: &str, value: Option<&str>) {
        self.0.push(Param { name: name.to_owned(), value: value.map(str::to_owned) });
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            match &p.value {
                Some(v) => write!(f, ";{}={}", p.name, v)?,
                None => write!(f, ";{}", p.name)?,
            }
        }
        Ok(())
    }
}

/// Bytes accepted in an unquoted header-parameter value. RFC 3261 allows
/// token / host / quoted-string; we also accept other printable ASCII that
/// cannot be confused with list or parameter delimiters, because equipment
/// in the field sends such values and rejecting them gains nothing.
fn is_param_value_byte(b: u8) -> bool {
    b > b' ' && b < 0x7f && !matches!(b, b';' | b',' | b'"' | b'<' | b'>' | b'\\')
}

/// Parse `*( SEMI generic-param )` where SEMI may be surrounded by LWS. The
/// whole input must be consumed.
pub(crate) fn parse_header_params(s: &str) -> Result<Params, ParseError> {
    let mut params = Params::new();
    let mut c = Cursor::new(s);
    loop {
        c.skip_wsp();
        if c.is_empty() {
            return Ok(params);
        }
        if !c.eat(b';') {
            return Err(ParseError::syntax(format!("expected ';' before parameter, {}", describe_next(c.rest()))));
        }
        c.skip_wsp();
        let name = c.take_while(is_token_byte);
        if name.is_empty() {
            return Err(ParseError::syntax(format!("empty parameter name ({})", describe_next(c.rest()))));
        }
        c.skip_wsp();
        let value = if c.eat(b'=') {
            c.skip_wsp();
            let rest = c.rest();
            let v = if rest.starts_with('"') {
                let (_, len) = scan_quoted(rest)?;
                c.advance(len);
                &rest[..len]
            } else {
                c.take_while(is_param_value_byte)
            };
            if v.is_empty() {
                return Err(ParseError::syntax(format!("parameter {name} has an empty value")));
            }
            Some(v)
        } else {
            None
        };
        params.push_raw(name, value);
        if c.peek().is_some_and(|b| !is_wsp(b) && b != b';') {
            return Err(ParseError::syntax(format!("after parameter {name}: {}", describe_next(c.rest()))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lws_and_quoted_values() {
        let p = parse_header_params(" ; newparam =\t newvalue ;  secondparam ; q = 0.33").unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p.value("NEWPARAM"), Some("newvalue"));
        assert!(p.contains("secondparam"));
        assert_eq!(p.value("secondparam"), None);
        assert_eq!(p.value("q"), Some("0.33"));
        let p = parse_header_params(r#";x="a;b,\"c\"";+sip.src"#).unwrap();
        assert_eq!(p.value("x"), Some(r#""a;b,\"c\"""#));
        assert_eq!(p.unquoted_value("x").as_deref(), Some(r#"a;b,"c""#));
        assert!(p.contains("+sip.src"));
        assert_eq!(p.to_string(), r#";x="a;b,\"c\"";+sip.src"#);
    }

    #[test]
    fn rejects_empty_and_junk() {
        assert!(parse_header_params(";;").is_err());
        assert!(parse_header_params(";a=").is_err());
        assert!(parse_header_params(";a b").is_err());
        assert!(parse_header_params("x").is_err());
        assert!(parse_header_params(";a=\"open").is_err());
        assert!(parse_header_params("").unwrap().is_empty());
    }

    #[test]
    fn set_and_remove() {
        let mut p = Params::new();
        p.set("rport", None).unwrap();
        p.set("RPORT", Some("5060")).unwrap();
        p.set("received", Some("2001:db8::1")).unwrap();
        assert_eq!(p.to_string(), ";rport=5060;received=2001:db8::1");
        assert!(p.set("bad name", None).is_err());
        assert!(p.set("x", Some("a b")).is_err());
        assert!(p.set("x", Some("\"a b\"")).is_ok());
        assert_eq!(p.remove("rport"), 1);
        assert_eq!(p.len(), 2);
    }
}
