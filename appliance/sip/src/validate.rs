//! What RFC 3261 requires of a message beyond syntax (sections 8.1.1 and
//! 8.2.2): the mandatory headers, each once, each well-formed, and a CSeq
//! method matching the request method.

use crate::error::ParseError;
use crate::header::{HeaderName, Headers};
use crate::message::{Request, Response};

/// Checks shared by requests and responses, in a fixed order so that the
/// first failing rule is reported.
fn validate_common(h: &Headers, body_len: usize) -> Result<(), ParseError> {
    if h.vias()?.is_empty() {
        return Err(ParseError::MissingHeader(HeaderName::VIA));
    }
    h.from()?;
    h.to()?;
    h.call_id()?;
    h.cseq()?;
    h.max_forwards()?;
    h.contacts()?;
    for name in [&HeaderName::ROUTE, &HeaderName::RECORD_ROUTE] {
        h.name_addrs(name)?;
    }
    for name in [&HeaderName::REQUIRE, &HeaderName::PROXY_REQUIRE, &HeaderName::SUPPORTED, &HeaderName::UNSUPPORTED] {
        h.option_tags(name)?;
    }
    h.expires()?;
    h.session_expires()?;
    h.min_se()?;
    if h.content_type()?.is_none() && body_len > 0 {
        return Err(ParseError::BodyWithoutContentType(body_len));
    }
    Ok(())
}

impl Request {
    /// Check the request against RFC 3261: Via, From, To, Call-ID and CSeq
    /// present and well-formed, From/To/Call-ID/CSeq/Max-Forwards at most
    /// once, Max-Forwards 0-255 if present, CSeq method equal to the request
    /// method, Contact/Route/Record-Route/option tags/Expires/session timer
    /// headers well-formed if present, and a Content-Type for any body.
    ///
    /// Deliberately not required, for RFC 2543 peers (RFC 4475 section
    /// 3.4.1): Max-Forwards, a Via branch, a From tag, Contact.
    pub fn validate(&self) -> Result<(), ParseError> {
        let h = self.headers();
        validate_common(h, self.body().len())?;
        let cseq = h.cseq()?;
        if cseq.method != *self.method() {
            return Err(ParseError::CSeqMethodMismatch {
                cseq: cseq.method.to_string(),
                request: self.method().to_string(),
            });
        }
        Ok(())
    }
}

impl Response {
    /// Check the response: the same header rules as
    /// [`Request::validate`], without the method comparison.
    pub fn validate(&self) -> Result<(), ParseError> {
        validate_common(self.headers(), self.body().len())
    }
}

#[cfg(test)]
mod tests {
    use crate::message::SipMessage;

    fn check(text: &str) -> Result<(), String> {
        let m = SipMessage::parse(text.as_bytes()).map_err(|e| e.to_string())?;
        match m {
            SipMessage::Request(r) => r.validate(),
            SipMessage::Response(r) => r.validate(),
        }
        .map_err(|e| e.to_string())
    }

    const BASE: &str =
        "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCall-ID: c1\r\n";

    #[test]
    fn rules_and_their_messages() {
        let ok = format!("OPTIONS sip:b@y SIP/2.0\r\n{BASE}CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n\r\n");
        assert_eq!(check(&ok), Ok(()));
        let cases = [
            ("OPTIONS sip:b@y SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n", "missing Via header"),
            ("OPTIONS sip:b@y SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 OPTIONS\r\n\r\n", "missing From header"),
            (
                &format!("OPTIONS sip:b@y SIP/2.0\r\n{BASE}CSeq: 1 INVITE\r\n\r\n"),
                "invalid CSeq: method mismatch (CSeq says INVITE, request line says OPTIONS)",
            ),
            (
                &format!("OPTIONS sip:b@y SIP/2.0\r\n{BASE}CSeq: 1 OPTIONS\r\nMax-Forwards: x\r\n\r\n"),
                "invalid Max-Forwards: \"x\" is not a number from 0 to 255",
            ),
            (
                &format!("OPTIONS sip:b@y SIP/2.0\r\n{BASE}Call-ID: c2\r\nCSeq: 1 OPTIONS\r\n\r\n"),
                "multiple Call-ID headers",
            ),
            (
                &format!("OPTIONS sip:b@y SIP/2.0\r\n{BASE}CSeq: 1 OPTIONS\r\n\r\nbody"),
                "body of 4 bytes has no Content-Type header",
            ),
            (
                &format!("OPTIONS sip:b@y SIP/2.0\r\n{BASE}CSeq: 1 OPTIONS\r\nRequire: a b\r\n\r\n"),
                "invalid Require: option tag \"a b\" is not a token",
            ),
            (
                &format!("SIP/2.0 200 OK\r\n{BASE}CSeq: 99999999999 OPTIONS\r\n\r\n"),
                "invalid CSeq: sequence number 99999999999 exceeds 2**32-1",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(check(text), Err(expected.to_owned()), "{text}");
        }
    }
}
