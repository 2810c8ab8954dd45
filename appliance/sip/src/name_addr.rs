//! `name-addr` / `addr-spec` with header parameters: the value grammar of
//! From, To, Contact, Route, Record-Route, P-Asserted-Identity, Refer-To...

use std::fmt;

use crate::error::ParseError;
use crate::lex::{is_token_byte, is_wsp, push_quoted, scan_quoted, trim_wsp};
use crate::params::{Params, parse_header_params};
use crate::uri::Uri;

/// An address with optional display name and header parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    display_name: Option<String>,
    uri: Uri,
    params: Params,
}

impl NameAddr {
    /// Parse one address (one element of a list header).
    ///
    /// Without angle brackets (`addr-spec` form) every `;` parameter belongs
    /// to the header, not the URI, and a URI containing `?` is refused
    /// (RFC 3261 section 20: such URIs must be enclosed in `<>`).
    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        let s = trim_wsp(s);
        if s.is_empty() {
            return Err(ParseError::syntax("empty address"));
        }
        let first_special = s.find(['<', ';', '"']);
        let (display_name, after_display) = match first_special.map(|i| (i, s.as_bytes()[i])) {
            Some((0, b'"')) => {
                let (text, len) = scan_quoted(s).map_err(|e| ParseError::syntax(format!("display name: {e}")))?;
                let rest = trim_wsp(&s[len..]);
                if !rest.starts_with('<') {
                    return Err(ParseError::syntax("expected '<' after quoted display name"));
                }
                (Some(text), rest)
            }
            Some((i, b'<')) => (token_display_name(&s[..i])?, &s[i..]),
            _ => return Self::parse_addr_spec(s),
        };
        let inner_and_rest = &after_display[1..];
        let close = inner_and_rest.find('>').ok_or_else(|| ParseError::syntax("missing '>' after URI"))?;
        let inner = &inner_and_rest[..close];
        if inner.bytes().next().is_some_and(is_wsp) || inner.bytes().last().is_some_and(is_wsp) {
            return Err(ParseError::syntax("white space inside <> around the URI"));
        }
        let uri = Uri::parse(inner)?;
        let params = parse_header_params(&inner_and_rest[close + 1..])?;
        Ok(NameAddr { display_name, uri, params })
    }

    fn parse_addr_spec(s: &str) -> Result<NameAddr, ParseError> {
        let (uri_text, param_text) = match s.find(';') {
            Some(i) => s.split_at(i),
            None => (s, ""),
        };
        let uri_text = trim_wsp(uri_text);
        if uri_text.contains('?') {
            return Err(ParseError::syntax("URI with headers must be enclosed in <>"));
        }
        Ok(NameAddr { display_name: None, uri: Uri::parse(uri_text)?, params: parse_header_params(param_text)? })
    }

    /// Display name with quoting and escapes removed; tokens of an unquoted
    /// name are joined by single spaces.
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    /// The URI.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// Header parameters (`tag`, `expires`, `+sip.src`...).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Value of the `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }
}

/// `*(token LWS)` before `<`. Returns `None` when there is no name.
fn token_display_name(text: &str) -> Result<Option<String>, ParseError> {
    let text = trim_wsp(text);
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(c) = text.chars().find(|&c| !(c.is_ascii() && (is_token_byte(c as u8) || c == ' ' || c == '\t'))) {
        return Err(ParseError::syntax(format!("character {c:?} in unquoted display name (quote it)")));
    }
    Ok(Some(text.split([' ', '\t']).filter(|t| !t.is_empty()).collect::<Vec<_>>().join(" ")))
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display_name {
            let mut quoted = String::with_capacity(d.len() + 2);
            push_quoted(&mut quoted, d);
            write!(f, "{quoted} ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// One element of a Contact header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// `*`, used by REGISTER to remove all bindings.
    Wildcard,
    /// An ordinary address.
    Address(NameAddr),
}

impl Contact {
    /// Parse one Contact element.
    pub fn parse(s: &str) -> Result<Contact, ParseError> {
        if trim_wsp(s) == "*" { Ok(Contact::Wildcard) } else { NameAddr::parse(s).map(Contact::Address) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uri::Host;

    #[test]
    fn quoted_display_with_escapes_and_lws_params() {
        let a = NameAddr::parse(
            r#""Quoted string \"\"" <sip:jdrosen@example.com> ; newparam = newvalue ; secondparam ; q = 0.33"#,
        )
        .unwrap();
        assert_eq!(a.display_name(), Some(r#"Quoted string """#));
        assert_eq!(a.params().value("newparam"), Some("newvalue"));
        assert!(a.params().contains("secondparam"));
        assert_eq!(a.params().value("q"), Some("0.33"));
        assert_eq!(NameAddr::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn addr_spec_params_belong_to_header() {
        let a = NameAddr::parse("sip:+19725552222@gw1.example.net;unknownparam").unwrap();
        let u = a.uri().as_sip().unwrap();
        assert!(u.params().is_empty());
        assert!(a.params().contains("unknownparam"));
        let a = NameAddr::parse("<sip:+19725552222@gw1.example.net;unknownparam>").unwrap();
        assert!(a.params().is_empty());
        assert!(a.uri().as_sip().unwrap().param("unknownparam").is_some());
        let a = NameAddr::parse("sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n").unwrap();
        assert_eq!(a.tag(), Some("1918181833n"));
    }

    #[test]
    fn token_display_names() {
        let a = NameAddr::parse("caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(a.display_name(), Some("caller"));
        assert_eq!(a.tag(), Some("323"));
        let a = NameAddr::parse("token1~` token2'+_ \t token3*%!.- <sip:mundane@example.com>").unwrap();
        assert_eq!(a.display_name(), Some("token1~` token2'+_ token3*%!.-"));
        let a = NameAddr::parse("<sip:src@10.0.0.1:5060>;+sip.src").unwrap();
        assert_eq!(a.display_name(), None);
        assert!(a.params().contains("+sip.src"));
        assert_eq!(a.uri().as_sip().unwrap().host(), &Host::Ipv4("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "\"Mr. J. User <sip:j.user@example.com>",
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "<sip:joe@example.org>;;;;",
            "\"Joe\" sip:joe@example.org",
            "<sip:joe@example.org",
            "<sip:joe@example.org> junk",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad:?} should fail");
        }
    }

    #[test]
    fn other_schemes_and_wildcard() {
        assert_eq!(NameAddr::parse("isbn:2983792873").unwrap().uri().scheme(), "isbn");
        assert_eq!(NameAddr::parse("<http://www.example.com>;tag=3234233").unwrap().tag(), Some("3234233"));
        assert_eq!(Contact::parse(" * ").unwrap(), Contact::Wildcard);
        assert!(matches!(Contact::parse("<name:John_Smith>").unwrap(), Contact::Address(_)));
    }
}
