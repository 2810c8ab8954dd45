//! URIs: `sip:`/`sips:` (RFC 3261 section 19.1), `tel:` (RFC 3966), and any
//! other absolute URI kept as opaque text.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::ParseError;
use crate::lex::{check_escaped, is_unreserved, percent_decode};
use crate::params::{Param, Params};

/// A host: domain name, IPv4 address, or IPv6 reference (`[...]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A host name, as received.
    Domain(String),
    /// A dotted-quad IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address; written inside brackets.
    Ipv6(Ipv6Addr),
}

impl Host {
    /// Parse `hostname / IPv4address / IPv6reference`.
    pub fn parse(s: &str) -> Result<Host, ParseError> {
        let bad = |reason| ParseError::InvalidUri { uri: s.to_owned(), reason };
        if s.is_empty() {
            return Err(bad("missing host"));
        }
        if let Some(inner) = s.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or_else(|| bad("unterminated IPv6 reference"))?;
            return inner.parse().map(Host::Ipv6).map_err(|_| bad("invalid IPv6 address"));
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return s.parse().map(Host::Ipv4).map_err(|_| bad("invalid IPv4 address"));
        }
        // RFC 1123 host names (a trailing dot allowed), plus '_' which real
        // deployments use.
        let name = s.strip_suffix('.').unwrap_or(s);
        let label_ok = !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !label_ok {
            return Err(bad("invalid host name"));
        }
        Ok(Host::Domain(s.to_owned()))
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

/// A `sip:` or `sips:` URI. User, password, parameters and headers keep
/// their `%HH` escapes exactly as received; decoding is on request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    secure: bool,
    user: Option<String>,
    password: Option<String>,
    host: Host,
    port: Option<u16>,
    params: Params,
    headers: Vec<(String, String)>,
}

/// `user-unreserved` of RFC 3261.
const USER_EXTRA: &[u8] = b"&=+$,;?/";
/// Password characters beyond `unreserved`.
const PASSWORD_EXTRA: &[u8] = b"&=+$,";
/// `param-unreserved` of RFC 3261.
const PARAM_EXTRA: &[u8] = b"[]/:&+$";
/// `hnv-unreserved` of RFC 3261.
const HEADER_EXTRA: &[u8] = b"[]/?:+$";

impl SipUri {
    /// Parse a `sip:` or `sips:` URI.
    pub fn parse(s: &str) -> Result<SipUri, ParseError> {
        match Uri::parse(s)? {
            Uri::Sip(u) => Ok(u),
            _ => Err(ParseError::InvalidUri { uri: s.to_owned(), reason: "not a sip or sips URI" }),
        }
    }

    fn parse_after_scheme(whole: &str, secure: bool, rest: &str) -> Result<SipUri, ParseError> {
        let bad = |reason| ParseError::InvalidUri { uri: whole.to_owned(), reason };
        // '@' is legal only in userinfo, so the first one ends it.
        let (user, password, hostpart) = match rest.find('@') {
            Some(at) => {
                let userinfo = &rest[..at];
                let (user, password) = match userinfo.find(':') {
                    Some(c) => (&userinfo[..c], Some(&userinfo[c + 1..])),
                    None => (userinfo, None),
                };
                if user.is_empty() {
                    return Err(bad("empty user part"));
                }
                check_escaped(user, USER_EXTRA).map_err(bad)?;
                if let Some(p) = password {
                    check_escaped(p, PASSWORD_EXTRA).map_err(bad)?;
                }
                (Some(user), password, &rest[at + 1..])
            }
            None => (None, None, rest),
        };
        let (hostport, after) = match hostpart.find([';', '?']) {
            Some(i) => hostpart.split_at(i),
            None => (hostpart, ""),
        };
        let (host_text, port_text) = if hostport.starts_with('[') {
            let close = hostport.find(']').ok_or_else(|| bad("unterminated IPv6 reference"))?;
            let tail = &hostport[close + 1..];
            match tail.strip_prefix(':') {
                Some(p) => (&hostport[..=close], Some(p)),
                None if tail.is_empty() => (hostport, None),
                None => return Err(bad("junk after IPv6 reference")),
            }
        } else {
            match hostport.find(':') {
                Some(c) => (&hostport[..c], Some(&hostport[c + 1..])),
                None => (hostport, None),
            }
        };
        let host = Host::parse(host_text).map_err(|_| bad("invalid host"))?;
        let port = match port_text {
            Some(p) => Some(parse_port(p).ok_or_else(|| bad("invalid port"))?),
            None => None,
        };
        let (param_text, header_text) = match after.find('?') {
            Some(q) => (&after[..q], Some(&after[q + 1..])),
            None => (after, None),
        };
        let mut params = Params::new();
        if let Some(list) = param_text.strip_prefix(';') {
            for item in list.split(';') {
                let (name, value) = match item.find('=') {
                    Some(e) => (&item[..e], Some(&item[e + 1..])),
                    None => (item, None),
                };
                if name.is_empty() {
                    return Err(bad("empty URI parameter"));
                }
                check_escaped(name, PARAM_EXTRA).map_err(bad)?;
                if let Some(v) = value {
                    if v.is_empty() {
                        return Err(bad("empty URI parameter value"));
                    }
                    check_escaped(v, PARAM_EXTRA).map_err(bad)?;
                }
                params.push_raw(name, value);
            }
        }
        let mut headers = Vec::new();
        if let Some(list) = header_text {
            for item in list.split('&') {
                let (name, value) = item.split_once('=').ok_or_else(|| bad("URI header without '='"))?;
                if name.is_empty() {
                    return Err(bad("empty URI header name"));
                }
                check_escaped(name, HEADER_EXTRA).map_err(bad)?;
                check_escaped(value, HEADER_EXTRA).map_err(bad)?;
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
        Ok(SipUri {
            secure,
            user: user.map(str::to_owned),
            password: password.map(str::to_owned),
            host,
            port,
            params,
            headers,
        })
    }

    /// True for `sips:`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }

    /// `"sip"` or `"sips"`.
    pub fn scheme(&self) -> &'static str {
        if self.secure { "sips" } else { "sip" }
    }

    /// User part as received (escapes intact).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// User part with `%HH` escapes decoded. Bytes, because an escape may
    /// encode any octet (RFC 4475 `escnull` carries `%00`).
    pub fn user_decoded(&self) -> Option<Vec<u8>> {
        self.user.as_deref().map(percent_decode)
    }

    /// Password as received.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Explicit port, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// URI parameters as received.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// URI parameter by name; names compare case-insensitively after
    /// `%HH` decoding, so `;%6C%72` is found as `lr`.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| {
            p.name().eq_ignore_ascii_case(name)
                || (p.name().contains('%') && percent_decode(p.name()).eq_ignore_ascii_case(name.as_bytes()))
        })
    }

    /// Value of the `user` parameter (`phone` marks a telephone number).
    pub fn user_param(&self) -> Option<&str> {
        self.param("user").and_then(Param::value)
    }

    /// Value of the `transport` parameter.
    pub fn transport(&self) -> Option<&str> {
        self.param("transport").and_then(Param::value)
    }

    /// URI headers (`?name=value&...`), escapes intact.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme())?;
        f.write_str(":")?;
        if let Some(u) = &self.user {
            f.write_str(u)?;
            if let Some(p) = &self.password {
                write!(f, ":{p}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)?;
        for (i, (n, v)) in self.headers.iter().enumerate() {
            write!(f, "{}{n}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

/// A `tel:` URI (RFC 3966): the number as received plus parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelUri {
    number: String,
    params: Params,
}

impl TelUri {
    /// The global (`+...`) or local number, visual separators included.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// True when the number is global (starts with `+`).
    pub fn is_global(&self) -> bool {
        self.number.starts_with('+')
    }

    /// Parameters such as `phone-context` or `ext`.
    pub fn params(&self) -> &Params {
        &self.params
    }
}

impl fmt::Display for TelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tel:{}{}", self.number, self.params)
    }
}

/// Any URI a SIP message may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    /// `sip:` or `sips:`.
    Sip(SipUri),
    /// `tel:`.
    Tel(TelUri),
    /// Any other absolute URI (`http:`, `urn:`, unknown schemes), verbatim.
    Other(String),
}

impl Uri {
    /// Parse a URI. Scheme names are case-insensitive.
    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        let bad = |reason| ParseError::InvalidUri { uri: s.to_owned(), reason };
        if let Some(b) = s.bytes().find(|&b| b <= b' ' || b >= 0x7f || matches!(b, b'<' | b'>' | b'"')) {
            return Err(bad(if b == b' ' || b == b'\t' {
                "contains white space"
            } else {
                "contains a character not allowed in a URI"
            }));
        }
        let colon = s.find(':').ok_or_else(|| bad("missing scheme"))?;
        let scheme = &s[..colon];
        let scheme_ok = scheme.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(bad("invalid scheme"));
        }
        let rest = &s[colon + 1..];
        if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
            return SipUri::parse_after_scheme(s, scheme.len() == 4, rest).map(Uri::Sip);
        }
        if scheme.eq_ignore_ascii_case("tel") {
            let (number, param_text) = match rest.find(';') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let digits = number.strip_prefix('+').unwrap_or(number);
            if digits.is_empty()
                || !digits
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || matches!(b, b'*' | b'#' | b'-' | b'.' | b'(' | b')'))
            {
                return Err(bad("invalid telephone number"));
            }
            let mut params = Params::new();
            if let Some(list) = param_text.strip_prefix(';') {
                for item in list.split(';') {
                    let (name, value) = match item.split_once('=') {
                        Some((n, v)) => (n, Some(v)),
                        None => (item, None),
                    };
                    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
                    if !name_ok || value.is_some_and(|v| v.is_empty() || check_escaped(v, PARAM_EXTRA).is_err()) {
                        return Err(bad("invalid tel URI parameter"));
                    }
                    params.push_raw(name, value);
                }
            }
            return Ok(Uri::Tel(TelUri { number: number.to_owned(), params }));
        }
        if rest.is_empty() || !rest.bytes().all(|b| is_unreserved(b) || b"%;/?:@&=+$,#[]".contains(&b)) {
            return Err(bad("invalid absolute URI"));
        }
        Ok(Uri::Other(s.to_owned()))
    }

    /// The scheme, lower-cased for sip/sips/tel, as received otherwise.
    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(u) => u.scheme(),
            Uri::Tel(_) => "tel",
            Uri::Other(s) => s.split(':').next().unwrap_or_default(),
        }
    }

    /// The SIP URI inside, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => u.fmt(f),
            Uri::Tel(t) => t.fmt(f),
            Uri::Other(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(s: &str) -> SipUri {
        SipUri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn full_sip_uri() {
        let u = sip("sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&Priority=urgent");
        assert!(u.is_secure());
        assert_eq!(u.user(), Some("alice"));
        assert_eq!(u.password(), Some("secret"));
        assert_eq!(u.host(), &Host::Ipv6("2001:db8::1".parse().unwrap()));
        assert_eq!(u.port(), Some(5061));
        assert_eq!(u.transport(), Some("tcp"));
        assert!(u.param("LR").is_some());
        assert_eq!(u.headers()[1], ("Priority".to_owned(), "urgent".to_owned()));
        assert_eq!(sip(&u.to_string()), u);
    }

    #[test]
    fn user_phone_and_escapes() {
        let u = sip("sip:+1-212-555-1212@gw.example.com;user=phone");
        assert_eq!(u.user_param(), Some("phone"));
        let u = sip("sip:sips%3Auser%40example.com@example.net");
        assert_eq!(u.user_decoded().unwrap(), b"sips:user@example.com");
        assert_eq!(u.host(), &Host::Domain("example.net".into()));
        let u = sip("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31");
        assert!(u.param("lr").is_some());
        assert_eq!(u.param("name").and_then(Param::value), Some("v%61lue%25%34%31"));
        let u = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user_decoded().unwrap(), b"user;par=u@example.net");
        assert!(u.params().is_empty());
    }

    #[test]
    fn rejects_bad_sip_uris() {
        for bad in [
            "sip:",
            "sip:@host",
            "sip:user@",
            "sip:user@host:99999",
            "sip:user@host:",
            "sip:user@host;;lr",
            "sip:user@host;maddr=",
            "sip:us%zzer@host",
            "sip:user@ho st",
            "sip:user@[::1",
            "sip:user@[::1]x",
            "sip:user@256.1.1.1",
            "sip:user@host?noequals",
            "sip:user@exa$mple.com",
            "<sip:user@host>",
            "nocolon",
            "1sip:x",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn tel_and_other_schemes() {
        let Uri::Tel(t) = Uri::parse("tel:+1-201-555-0123;ext=1234").unwrap() else { panic!("expected tel") };
        assert!(t.is_global());
        assert_eq!(t.params().value("ext"), Some("1234"));
        assert_eq!(t.to_string(), "tel:+1-201-555-0123;ext=1234");
        assert!(Uri::parse("tel:").is_err());
        assert!(Uri::parse("tel:12x").is_err());
        let u = Uri::parse("nobodyKnowsThisScheme:totallyopaquecontent").unwrap();
        assert_eq!(u.scheme(), "nobodyKnowsThisScheme");
        assert_eq!(Uri::parse("soap.beep://192.0.2.103:3002").unwrap().to_string(), "soap.beep://192.0.2.103:3002");
        assert!(Uri::parse("http:").is_err());
        assert_eq!(Uri::parse("SIP:a@b").unwrap().to_string(), "sip:a@b");
    }
}
