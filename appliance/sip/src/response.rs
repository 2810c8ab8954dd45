//! Building a server's response to a request (RFC 3261 section 8.2.6),
//! and stamping the top Via with the packet source (section 18.2.1,
//! RFC 3581).

use std::net::{IpAddr, SocketAddr};

use crate::error::ParseError;
use crate::header::HeaderName;
use crate::lex::{is_token, split_list};
use crate::message::{Request, Response};
use crate::method::Method;
use crate::uri::Host;
use crate::via::{Rport, Via};

/// Builds a response that mirrors a request's Via, From, To, Call-ID and
/// CSeq headers.
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    response: Response,
}

impl ResponseBuilder {
    /// Start a response to `request`.
    ///
    /// All Via headers are copied in order, then From, To, Call-ID and
    /// CSeq. When `to_tag` is given and To has no tag, `;tag=<to_tag>` is
    /// appended (pass `None` for 100 Trying). Record-Route is copied too for
    /// responses 101-299 to INVITE and SUBSCRIBE, which establish dialogs
    /// (RFC 3261 section 12.1.1).
    pub fn new(
        request: &Request,
        status: u16,
        reason: &str,
        to_tag: Option<&str>,
    ) -> Result<ResponseBuilder, ParseError> {
        let mut response = Response::new(status, reason)?;
        let h = request.headers();
        if !h.contains(&HeaderName::VIA) {
            return Err(ParseError::MissingHeader(HeaderName::VIA));
        }
        let out = response.headers_mut();
        for via in h.get_all(&HeaderName::VIA) {
            out.push(HeaderName::VIA, via)?;
        }
        out.push(HeaderName::FROM, h.single(&HeaderName::FROM)?)?;
        let to = h.single(&HeaderName::TO)?;
        let to_addr = h.to()?;
        match to_tag {
            Some(tag) if to_addr.tag().is_none() => {
                if !is_token(tag) {
                    return Err(ParseError::InvalidHeader {
                        header: HeaderName::TO,
                        reason: format!("tag {tag:?} is not a token"),
                    });
                }
                out.push(HeaderName::TO, &format!("{to};tag={tag}"))?;
            }
            _ => out.push(HeaderName::TO, to)?,
        }
        out.push(HeaderName::CALL_ID, h.single(&HeaderName::CALL_ID)?)?;
        out.push(HeaderName::CSEQ, h.single(&HeaderName::CSEQ)?)?;
        let dialog_creating = (101..=299).contains(&status)
            && (*request.method() == Method::INVITE || *request.method() == Method::SUBSCRIBE);
        if dialog_creating {
            for rr in h.get_all(&HeaderName::RECORD_ROUTE) {
                out.push(HeaderName::RECORD_ROUTE, rr)?;
            }
        }
        Ok(ResponseBuilder { response })
    }

    /// Append a header.
    pub fn header(mut self, name: HeaderName, value: &str) -> Result<ResponseBuilder, ParseError> {
        self.response.headers_mut().push(name, value)?;
        Ok(self)
    }

    /// Set the body and its Content-Type (replacing any earlier one).
    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Result<ResponseBuilder, ParseError> {
        let headers = self.response.headers_mut();
        headers.remove(&HeaderName::CONTENT_TYPE);
        headers.push(HeaderName::CONTENT_TYPE, content_type)?;
        self.response.set_body(body);
        Ok(self)
    }

    /// The finished response.
    pub fn build(self) -> Response {
        self.response
    }
}

impl Request {
    /// Record the packet source in the top Via, as a server transport must:
    /// `received` is added when sent-by is a name or a different address
    /// (RFC 3261 section 18.2.1), and when the client asked for `rport`,
    /// `rport` is filled with the source port and `received` always added
    /// (RFC 3581 section 4). Other Via elements are left untouched.
    pub fn stamp_top_via(&mut self, source: SocketAddr) -> Result<(), ParseError> {
        let headers = self.headers_mut();
        let index = headers.position(&HeaderName::VIA).ok_or(ParseError::MissingHeader(HeaderName::VIA))?;
        let value = headers.get(&HeaderName::VIA).unwrap_or_default().to_owned();
        let mut elements = split_list(&value);
        let top = elements
            .next()
            .ok_or_else(|| ParseError::InvalidHeader { header: HeaderName::VIA, reason: "empty value".to_owned() })?;
        let mut via = Via::parse(top).map_err(|e| e.in_header(&HeaderName::VIA))?;
        let sent_by_matches = match via.host() {
            Host::Ipv4(a) => IpAddr::V4(*a) == source.ip(),
            Host::Ipv6(a) => IpAddr::V6(*a) == source.ip(),
            Host::Domain(_) => false,
        };
        let rport = via.rport();
        if rport == Some(Rport::Requested) {
            via.set_rport(source.port());
        }
        if !sent_by_matches || rport.is_some() {
            via.set_received(source.ip());
        }
        let mut new_value = via.to_string();
        for rest in elements {
            new_value.push_str(", ");
            new_value.push_str(rest);
        }
        headers.set_value(index, &new_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::SipMessage;

    const INVITE: &[u8] = b"INVITE sip:srs@example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP sbc.example.com;branch=z9hG4bK1;rport, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK0\r\n\
        Via: SIP/2.0/TCP 10.0.0.8;branch=z9hG4bKa\r\n\
        Record-Route: <sip:rr1.example.com;lr>\r\n\
        From: <sip:src@example.com>;tag=abc\r\n\
        To: <sip:srs@example.com>\r\n\
        Call-ID: call-1@example.com\r\n\
        CSeq: 10 INVITE\r\n\
        Max-Forwards: 70\r\n\
        Content-Length: 0\r\n\r\n";

    fn request(bytes: &[u8]) -> Request {
        match SipMessage::parse(bytes).unwrap() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("expected a request"),
        }
    }

    #[test]
    fn builds_response_with_copied_headers_and_tag() {
        let req = request(INVITE);
        let resp = ResponseBuilder::new(&req, 200, "OK", Some("srs-tag-1"))
            .unwrap()
            .header(HeaderName::CONTACT, "<sip:srs@192.0.2.10>;+sip.srs")
            .unwrap()
            .body("application/sdp", b"v=0\r\n".to_vec())
            .unwrap()
            .build();
        let text = String::from_utf8(resp.to_bytes()).unwrap();
        assert_eq!(
            text,
            "SIP/2.0 200 OK\r\n\
             Via: SIP/2.0/UDP sbc.example.com;branch=z9hG4bK1;rport, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK0\r\n\
             Via: SIP/2.0/TCP 10.0.0.8;branch=z9hG4bKa\r\n\
             From: <sip:src@example.com>;tag=abc\r\n\
             To: <sip:srs@example.com>;tag=srs-tag-1\r\n\
             Call-ID: call-1@example.com\r\n\
             CSeq: 10 INVITE\r\n\
             Record-Route: <sip:rr1.example.com;lr>\r\n\
             Contact: <sip:srs@192.0.2.10>;+sip.srs\r\n\
             Content-Type: application/sdp\r\n\
             Content-Length: 5\r\n\r\nv=0\r\n"
        );
        let trying = ResponseBuilder::new(&req, 100, "Trying", None).unwrap().build();
        assert_eq!(trying.headers().to().unwrap().tag(), None);
        assert!(!trying.headers().contains(&HeaderName::RECORD_ROUTE));
    }

    #[test]
    fn keeps_existing_tag_and_checks_inputs() {
        let mut req = request(INVITE);
        let to = req.headers().position(&HeaderName::TO).unwrap();
        req.headers_mut().set_value(to, "<sip:srs@example.com>;tag=old").unwrap();
        let resp = ResponseBuilder::new(&req, 486, "Busy Here", Some("new")).unwrap().build();
        assert_eq!(resp.headers().to().unwrap().tag(), Some("old"));
        assert!(ResponseBuilder::new(&req, 700, "x", None).is_err());
        assert!(ResponseBuilder::new(&req, 200, "O\nK", None).is_err());
        req.headers_mut().set_value(to, "<sip:srs@example.com>").unwrap();
        assert!(ResponseBuilder::new(&req, 200, "OK", Some("bad tag")).is_err());
        req.headers_mut().remove(&HeaderName::CALL_ID);
        let e = ResponseBuilder::new(&req, 200, "OK", None).unwrap_err();
        assert_eq!(e.to_string(), "missing Call-ID header");
    }

    #[test]
    fn stamps_received_and_rport() {
        let mut req = request(INVITE);
        req.stamp_top_via("192.0.2.7:5088".parse().unwrap()).unwrap();
        assert_eq!(
            req.headers().get(&HeaderName::VIA),
            Some(
                "SIP/2.0/UDP sbc.example.com;branch=z9hG4bK1;rport=5088;received=192.0.2.7, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK0"
            )
        );
        // sent-by equal to the source and no rport: nothing to add.
        let text = String::from_utf8_lossy(INVITE).replacen(
            "sbc.example.com;branch=z9hG4bK1;rport",
            "192.0.2.7;branch=z9hG4bK1",
            1,
        );
        let mut req = request(text.as_bytes());
        req.stamp_top_via("192.0.2.7:5060".parse().unwrap()).unwrap();
        assert_eq!(req.headers().top_via().unwrap().received(), None);
        req.stamp_top_via("[2001:db8::1]:5060".parse().unwrap()).unwrap();
        assert_eq!(req.headers().top_via().unwrap().received(), Some("2001:db8::1".parse().unwrap()));
        let mut bare = Request::new(Method::OPTIONS, crate::uri::Uri::parse("sip:x").unwrap());
        assert!(bare.stamp_top_via("192.0.2.7:5060".parse().unwrap()).is_err());
    }
}
