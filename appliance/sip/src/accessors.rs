//! Typed views of well-known headers, parsed on demand from [`Headers`].
//! Errors name the header, e.g. "invalid CSeq: sequence number ... exceeds".

use crate::error::ParseError;
use crate::fields::{
    CSeq, ContentDisposition, ContentType, MinSe, SessionExpires, parse_delta_seconds, parse_max_forwards,
    parse_option_tags,
};
use crate::header::{HeaderName, Headers};
use crate::name_addr::{Contact, NameAddr};
use crate::via::Via;

impl Headers {
    /// The value of a header that must appear exactly once.
    pub fn single(&self, name: &HeaderName) -> Result<&str, ParseError> {
        self.optional_single(name)?.ok_or_else(|| ParseError::MissingHeader(name.clone()))
    }

    /// The value of a header that may appear at most once.
    pub fn optional_single(&self, name: &HeaderName) -> Result<Option<&str>, ParseError> {
        let mut all = self.iter().filter(|h| h.name() == name).map(|h| h.value());
        let first = all.next();
        if all.next().is_some() {
            return Err(ParseError::MultipleHeaders(name.clone()));
        }
        Ok(first)
    }

    /// Every Via element, top first, across repeated and comma-separated
    /// headers. Empty when there is no Via.
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        self.values(&HeaderName::VIA).map(|v| Via::parse(v).map_err(|e| e.in_header(&HeaderName::VIA))).collect()
    }

    /// The topmost Via element.
    pub fn top_via(&self) -> Result<Via, ParseError> {
        let top = self.values(&HeaderName::VIA).next().ok_or(ParseError::MissingHeader(HeaderName::VIA))?;
        Via::parse(top).map_err(|e| e.in_header(&HeaderName::VIA))
    }

    /// The From address.
    pub fn from(&self) -> Result<NameAddr, ParseError> {
        self.single_name_addr(&HeaderName::FROM)
    }

    /// The To address.
    pub fn to(&self) -> Result<NameAddr, ParseError> {
        self.single_name_addr(&HeaderName::TO)
    }

    fn single_name_addr(&self, name: &HeaderName) -> Result<NameAddr, ParseError> {
        NameAddr::parse(self.single(name)?).map_err(|e| e.in_header(name))
    }

    /// The Call-ID. Accepted: one run of visible ASCII characters (RFC 3261
    /// `word ["@" word]`, relaxed to any visible character).
    pub fn call_id(&self) -> Result<&str, ParseError> {
        let v = self.single(&HeaderName::CALL_ID)?;
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ParseError::InvalidHeader {
                header: HeaderName::CALL_ID,
                reason: "must be non-empty visible ASCII without white space".to_owned(),
            });
        }
        Ok(v)
    }

    /// The CSeq.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        CSeq::parse(self.single(&HeaderName::CSEQ)?).map_err(|e| e.in_header(&HeaderName::CSEQ))
    }

    /// Max-Forwards, if present.
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        self.optional_single(&HeaderName::MAX_FORWARDS)?
            .map(|v| parse_max_forwards(v).map_err(|e| e.in_header(&HeaderName::MAX_FORWARDS)))
            .transpose()
    }

    /// Expires, if present.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.optional_single(&HeaderName::EXPIRES)?
            .map(|v| parse_delta_seconds(v).map_err(|e| e.in_header(&HeaderName::EXPIRES)))
            .transpose()
    }

    /// Every Contact element in order.
    pub fn contacts(&self) -> Result<Vec<Contact>, ParseError> {
        self.values(&HeaderName::CONTACT)
            .map(|v| Contact::parse(v).map_err(|e| e.in_header(&HeaderName::CONTACT)))
            .collect()
    }

    /// Every address of a list header of name-addr values (Route,
    /// Record-Route, P-Asserted-Identity, Path...), in order.
    pub fn name_addrs(&self, name: &HeaderName) -> Result<Vec<NameAddr>, ParseError> {
        self.values(name).map(|v| NameAddr::parse(v).map_err(|e| e.in_header(name))).collect()
    }

    /// Content-Type, if present.
    pub fn content_type(&self) -> Result<Option<ContentType>, ParseError> {
        self.optional_single(&HeaderName::CONTENT_TYPE)?
            .map(|v| ContentType::parse(v).map_err(|e| e.in_header(&HeaderName::CONTENT_TYPE)))
            .transpose()
    }

    /// Content-Disposition, if present.
    pub fn content_disposition(&self) -> Result<Option<ContentDisposition>, ParseError> {
        let name = &HeaderName::CONTENT_DISPOSITION;
        self.optional_single(name)?.map(|v| ContentDisposition::parse(v).map_err(|e| e.in_header(name))).transpose()
    }

    /// Option tags of every header called `name` (Require, Supported,
    /// Unsupported, Proxy-Require), in order.
    pub fn option_tags(&self, name: &HeaderName) -> Result<Vec<&str>, ParseError> {
        let mut tags = Vec::new();
        for v in self.iter().filter(|h| h.name() == name).map(|h| h.value()) {
            tags.extend(parse_option_tags(v).map_err(|e| e.in_header(name))?);
        }
        Ok(tags)
    }

    /// True when the Require header lists `tag` (case-insensitive).
    pub fn requires(&self, tag: &str) -> bool {
        self.values(&HeaderName::REQUIRE).any(|t| t.eq_ignore_ascii_case(tag))
    }

    /// Session-Expires, if present.
    pub fn session_expires(&self) -> Result<Option<SessionExpires>, ParseError> {
        let name = &HeaderName::SESSION_EXPIRES;
        self.optional_single(name)?.map(|v| SessionExpires::parse(v).map_err(|e| e.in_header(name))).transpose()
    }

    /// Min-SE, if present.
    pub fn min_se(&self) -> Result<Option<MinSe>, ParseError> {
        let name = &HeaderName::MIN_SE;
        self.optional_single(name)?.map(|v| MinSe::parse(v).map_err(|e| e.in_header(name))).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::Refresher;
    use crate::header::parse_header_lines;

    fn headers(text: &str) -> Headers {
        parse_header_lines(text.as_bytes(), 2).unwrap()
    }

    #[test]
    fn typed_views() {
        let h = headers(
            "v: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b\r\nVia: SIP/2.0/TLS c\r\n\
             f: \"A\" <sip:a@x>;tag=1\r\nt: <sip:b@y>\r\ni: abc@x\r\nCSeq: 7 INVITE\r\n\
             Max-Forwards: 70\r\nm: <sip:a@10.0.0.1>;+sip.src, *\r\nk: timer\r\nk: siprec\r\n\
             Require: siprec\r\nx: 1800;refresher=uas\r\nMin-SE: 90\r\nExpires: 60\r\n\
             c: multipart/mixed;boundary=xyz\r\nRoute: <sip:p1;lr>, <sip:p2;lr>\r\n",
        );
        let vias = h.vias().unwrap();
        assert_eq!(vias.len(), 3);
        assert_eq!(vias[0].branch(), Some("z9hG4bK1"));
        assert_eq!(h.top_via().unwrap(), vias[0]);
        assert_eq!(h.from().unwrap().tag(), Some("1"));
        assert_eq!(h.to().unwrap().tag(), None);
        assert_eq!(h.call_id().unwrap(), "abc@x");
        assert_eq!(h.cseq().unwrap().seq, 7);
        assert_eq!(h.max_forwards().unwrap(), Some(70));
        assert_eq!(h.expires().unwrap(), Some(60));
        let contacts = h.contacts().unwrap();
        assert!(matches!(&contacts[0], Contact::Address(a) if a.params().contains("+sip.src")));
        assert_eq!(contacts[1], Contact::Wildcard);
        assert_eq!(h.option_tags(&HeaderName::SUPPORTED).unwrap(), vec!["timer", "siprec"]);
        assert!(h.requires("SIPREC"));
        assert!(!h.requires("100rel"));
        assert_eq!(h.session_expires().unwrap().unwrap().refresher(), Some(Refresher::Uas));
        assert_eq!(h.min_se().unwrap().unwrap().delta(), 90);
        assert_eq!(h.content_type().unwrap().unwrap().boundary().as_deref(), Some("xyz"));
        assert_eq!(h.name_addrs(&HeaderName::ROUTE).unwrap().len(), 2);
        assert_eq!(h.content_disposition().unwrap(), None);
    }

    #[test]
    fn referral_and_identity_headers() {
        let h = headers(
            "r: <sip:bob@example.com?Replaces=abc%40host%3Bto-tag%3D1>\r\nb: \"Alice\" <sip:alice@example.com>\r\n\
             P-Asserted-Identity: <sip:+14155550100@example.com;user=phone>, <tel:+14155550100>\r\n",
        );
        let refer_to = h.name_addrs(&HeaderName::REFER_TO).unwrap();
        let target = refer_to[0].uri().as_sip().unwrap();
        assert_eq!(target.headers()[0].0, "Replaces");
        let by = h.name_addrs(&HeaderName::REFERRED_BY).unwrap();
        assert_eq!(by[0].display_name(), Some("Alice"));
        let pai = h.name_addrs(&HeaderName::P_ASSERTED_IDENTITY).unwrap();
        assert_eq!(pai[0].uri().as_sip().unwrap().user_param(), Some("phone"));
        assert_eq!(pai[1].uri().scheme(), "tel");
    }

    #[test]
    fn errors_name_the_header() {
        let h = headers(
            "CSeq: 1 INVITE\r\nCSeq: 2 INVITE\r\nTo: \"open <sip:x@y>\r\nMax-Forwards: 300\r\nVia: SIP/2.0/UDP h;;\r\nCall-ID: a b\r\n",
        );
        assert_eq!(h.cseq().unwrap_err().to_string(), "multiple CSeq headers");
        assert_eq!(h.to().unwrap_err().to_string(), "invalid To: display name: unterminated quoted string");
        assert_eq!(h.from().unwrap_err().to_string(), "missing From header");
        assert_eq!(
            h.max_forwards().unwrap_err().to_string(),
            "invalid Max-Forwards: \"300\" is not a number from 0 to 255"
        );
        assert!(h.vias().unwrap_err().to_string().starts_with("invalid Via: empty parameter name"));
        assert!(h.call_id().is_err());
        assert_eq!(Headers::new().top_via().unwrap_err().to_string(), "missing Via header");
    }
}
