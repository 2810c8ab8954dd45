//! Typed values of the simpler headers: CSeq, Max-Forwards, Content-Length,
//! Content-Type, Content-Disposition, option tags, Session-Expires, Min-SE.

use std::fmt;

use crate::error::ParseError;
use crate::lex::{Cursor, describe_next, is_token, is_token_byte, parse_decimal, split_list};
use crate::method::Method;
use crate::params::{Params, parse_header_params};

/// CSeq: sequence number and method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number; RFC 3261 limits it to 32 bits.
    pub seq: u32,
    /// Method of the transaction.
    pub method: Method,
}

impl CSeq {
    /// Parse `1*DIGIT LWS Method`.
    pub fn parse(s: &str) -> Result<CSeq, ParseError> {
        let mut c = Cursor::new(s);
        c.skip_wsp();
        let digits = c.take_while(|b| b.is_ascii_digit());
        if digits.is_empty() {
            return Err(ParseError::syntax("sequence number missing"));
        }
        let seq = parse_decimal(digits, u64::from(u32::MAX))
            .ok_or_else(|| ParseError::syntax(format!("sequence number {digits} exceeds 2**32-1")))?;
        if c.skip_wsp() == 0 {
            return Err(ParseError::syntax("expected white space before method"));
        }
        let method = c.take_while(is_token_byte);
        c.skip_wsp();
        if method.is_empty() || !c.is_empty() {
            return Err(ParseError::syntax(format!("method is not a single token ({})", describe_next(c.rest()))));
        }
        Ok(CSeq { seq: seq as u32, method: Method::new(method)? })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// Parse Max-Forwards: `1*DIGIT`, at most 255.
pub fn parse_max_forwards(s: &str) -> Result<u8, ParseError> {
    let s = s.trim_matches([' ', '\t']);
    parse_decimal(s, 255)
        .map(|n| n as u8)
        .ok_or_else(|| ParseError::syntax(format!("{s:?} is not a number from 0 to 255")))
}

/// Parse Content-Length: `1*DIGIT`. Values above `u32::MAX` are refused.
pub fn parse_content_length(s: &str) -> Result<usize, ParseError> {
    let s = s.trim_matches([' ', '\t']);
    parse_decimal(s, u64::from(u32::MAX))
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| ParseError::InvalidContentLength(s.to_owned()))
}

/// Parse `delta-seconds` (Expires, Session-Expires, Min-SE): 32 bits.
pub fn parse_delta_seconds(s: &str) -> Result<u32, ParseError> {
    let s = s.trim_matches([' ', '\t']);
    parse_decimal(s, u64::from(u32::MAX))
        .map(|n| n as u32)
        .ok_or_else(|| ParseError::syntax(format!("{s:?} is not a number of seconds below 2**32")))
}

/// Parse an option-tag list (Require, Supported, Unsupported,
/// Proxy-Require). An empty value is an empty list.
pub fn parse_option_tags(s: &str) -> Result<Vec<&str>, ParseError> {
    split_list(s)
        .map(|t| if is_token(t) { Ok(t) } else { Err(ParseError::syntax(format!("option tag {t:?} is not a token"))) })
        .collect()
}

/// A media type with parameters. Type and subtype compare
/// case-insensitively; parameter values are kept as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    media_type: String,
    subtype: String,
    params: Params,
}

impl ContentType {
    /// Parse `type "/" subtype *( ";" parameter )`, LWS allowed around
    /// separators.
    pub fn parse(s: &str) -> Result<ContentType, ParseError> {
        let mut c = Cursor::new(s);
        c.skip_wsp();
        let media_type = c.take_while(is_token_byte);
        c.skip_wsp();
        if media_type.is_empty() || !c.eat(b'/') {
            return Err(ParseError::syntax("expected type/subtype"));
        }
        c.skip_wsp();
        let subtype = c.take_while(is_token_byte);
        if subtype.is_empty() {
            return Err(ParseError::syntax("missing media subtype"));
        }
        Ok(ContentType {
            media_type: media_type.to_owned(),
            subtype: subtype.to_owned(),
            params: parse_header_params(c.rest())?,
        })
    }

    /// Top-level type as received, e.g. `application`.
    pub fn media_type(&self) -> &str {
        &self.media_type
    }

    /// Subtype as received, e.g. `sdp`.
    pub fn subtype(&self) -> &str {
        &self.subtype
    }

    /// Parameters (`boundary`, `charset`...).
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// True when this is `media_type/subtype`, ignoring case.
    pub fn is(&self, media_type: &str, subtype: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(media_type) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// True for any `multipart/*` type.
    pub fn is_multipart(&self) -> bool {
        self.media_type.eq_ignore_ascii_case("multipart")
    }

    /// The `boundary` parameter, unquoted.
    pub fn boundary(&self) -> Option<String> {
        self.params.unquoted_value("boundary")
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.media_type, self.subtype, self.params)
    }
}

/// Content-Disposition (RFC 3261 section 20.11): disposition type and
/// parameters such as `handling`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentDisposition {
    disposition: String,
    params: Params,
}

impl ContentDisposition {
    /// Parse `disp-type *( SEMI disp-param )`.
    pub fn parse(s: &str) -> Result<ContentDisposition, ParseError> {
        let mut c = Cursor::new(s);
        c.skip_wsp();
        let disposition = c.take_while(is_token_byte);
        if disposition.is_empty() {
            return Err(ParseError::syntax("missing disposition type"));
        }
        Ok(ContentDisposition { disposition: disposition.to_owned(), params: parse_header_params(c.rest())? })
    }

    /// Disposition type as received (`session`, `render`,
    /// `recording-session`...).
    pub fn disposition(&self) -> &str {
        &self.disposition
    }

    /// Parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }
}

/// Who refreshes a session timer (RFC 4028).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    /// The user agent client.
    Uac,
    /// The user agent server.
    Uas,
}

/// Session-Expires (RFC 4028): interval and optional refresher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionExpires {
    delta: u32,
    refresher: Option<Refresher>,
    params: Params,
}

impl SessionExpires {
    /// Parse `delta-seconds *( SEMI se-params )`.
    pub fn parse(s: &str) -> Result<SessionExpires, ParseError> {
        let (delta, params) = delta_and_params(s)?;
        let refresher = match params.get("refresher") {
            None => None,
            Some(p) => match p.value() {
                Some(v) if v.eq_ignore_ascii_case("uac") => Some(Refresher::Uac),
                Some(v) if v.eq_ignore_ascii_case("uas") => Some(Refresher::Uas),
                _ => return Err(ParseError::syntax("refresher must be uac or uas")),
            },
        };
        Ok(SessionExpires { delta, refresher, params })
    }

    /// Session interval in seconds.
    pub fn delta(&self) -> u32 {
        self.delta
    }

    /// The `refresher` parameter.
    pub fn refresher(&self) -> Option<Refresher> {
        self.refresher
    }

    /// All parameters, `refresher` included.
    pub fn params(&self) -> &Params {
        &self.params
    }
}

/// Min-SE (RFC 4028): minimum session interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinSe {
    delta: u32,
    params: Params,
}

impl MinSe {
    /// Parse `delta-seconds *( SEMI generic-param )`.
    pub fn parse(s: &str) -> Result<MinSe, ParseError> {
        let (delta, params) = delta_and_params(s)?;
        Ok(MinSe { delta, params })
    }

    /// Minimum interval in seconds.
    pub fn delta(&self) -> u32 {
        self.delta
    }

    /// Extension parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }
}

fn delta_and_params(s: &str) -> Result<(u32, Params), ParseError> {
    let mut c = Cursor::new(s);
    c.skip_wsp();
    let digits = c.take_while(|b| b.is_ascii_digit());
    Ok((parse_delta_seconds(digits)?, parse_header_params(c.rest())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq() {
        let c = CSeq::parse("0009   INVITE").unwrap();
        assert_eq!((c.seq, c.method.as_str()), (9, "INVITE"));
        assert_eq!(c.to_string(), "9 INVITE");
        assert_eq!(CSeq::parse("4294967295 ACK").unwrap().seq, u32::MAX);
        for bad in ["", "INVITE", "1", "1INVITE", "4294967296 INVITE", "1 IN VITE", "-1 ACK"] {
            assert!(CSeq::parse(bad).is_err(), "{bad:?}");
        }
        let e = CSeq::parse("36893488147419103232 REGISTER").unwrap_err();
        assert_eq!(e.to_string(), "sequence number 36893488147419103232 exceeds 2**32-1");
    }

    #[test]
    fn scalars() {
        assert_eq!(parse_max_forwards("0068").unwrap(), 68);
        assert!(parse_max_forwards("300").is_err());
        assert_eq!(parse_content_length(" 0150 ").unwrap(), 150);
        assert_eq!(parse_content_length("-999").unwrap_err().to_string(), "invalid Content-Length \"-999\"");
        assert!(parse_content_length("five").is_err());
        assert!(parse_delta_seconds("4294967296").is_err());
        assert_eq!(parse_option_tags("siprec, timer ,100rel").unwrap(), vec!["siprec", "timer", "100rel"]);
        assert!(parse_option_tags("").unwrap().is_empty());
        assert!(parse_option_tags("a,,b").is_err());
        assert!(parse_option_tags("a b").is_err());
    }

    #[test]
    fn content_type() {
        let t = ContentType::parse("Multipart/MIXED ; Boundary=\"unique;boundary\"").unwrap();
        assert!(t.is("multipart", "mixed"));
        assert!(t.is_multipart());
        assert_eq!(t.boundary().as_deref(), Some("unique;boundary"));
        assert_eq!(t.to_string(), "Multipart/MIXED;Boundary=\"unique;boundary\"");
        assert!(ContentType::parse("application").is_err());
        assert!(ContentType::parse("application/").is_err());
        assert!(ContentType::parse("application/sdp junk").is_err());
        let d = ContentDisposition::parse("recording-session; handling=required").unwrap();
        assert_eq!(d.disposition(), "recording-session");
        assert_eq!(d.params().value("handling"), Some("required"));
        assert!(ContentDisposition::parse(";x").is_err());
    }

    #[test]
    fn session_timers() {
        let s = SessionExpires::parse("1800;refresher=uac").unwrap();
        assert_eq!((s.delta(), s.refresher()), (1800, Some(Refresher::Uac)));
        assert_eq!(SessionExpires::parse("90").unwrap().refresher(), None);
        assert!(SessionExpires::parse("90;refresher=proxy").is_err());
        assert!(SessionExpires::parse("x").is_err());
        let m = MinSe::parse("90 ;x=1").unwrap();
        assert_eq!(m.delta(), 90);
        assert_eq!(m.params().value("x"), Some("1"));
    }
}
