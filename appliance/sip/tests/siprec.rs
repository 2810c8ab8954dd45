//! Realistic SIPREC (RFC 7866) INVITEs as an SBC sends them to the
//! recorder, in the variants seen in the field.

use callguard_sip::{
    Contact, Frame, FramingLimits, HeaderName, Host, Refresher, Request, ResponseBuilder, SipMessage, frame_stream,
};

fn load(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/siprec/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn invite(name: &str) -> Request {
    let m = SipMessage::parse(&load(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = SipMessage::parse(&m.to_bytes()).unwrap();
    assert_eq!(again, m, "{name}: round trip");
    let SipMessage::Request(r) = m else { panic!("{name}: not a request") };
    r.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
    r
}

/// What every variant must offer the recorder: Require siprec, an SRC
/// Contact, SDP with two labelled streams, and the metadata part.
fn assert_siprec(r: &Request, metadata_subtype: &str) {
    let h = r.headers();
    assert!(h.requires("siprec"));
    let contacts = h.contacts().unwrap();
    let [Contact::Address(src)] = contacts.as_slice() else { panic!("expected one Contact") };
    assert!(src.params().contains("+sip.src"));
    let body = r.multipart().unwrap().expect("multipart body");
    let sdp = body.find("application", "sdp").expect("SDP part");
    let sdp_text = std::str::from_utf8(sdp.body()).unwrap();
    assert_eq!(sdp_text.matches("a=label:").count(), 2);
    assert!(sdp_text.starts_with("v=0"));
    let meta = body.find("application", metadata_subtype).expect("metadata part");
    assert_eq!(meta.content_disposition().unwrap().unwrap().disposition(), "recording-session");
    let xml = std::str::from_utf8(meta.body()).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(xml.trim_end().ends_with("</recording>"));
}

#[test]
fn long_form_crlf() {
    let r = invite("invite.sip");
    assert_siprec(&r, "rs-metadata+xml");
    let h = r.headers();
    assert_eq!(h.cseq().unwrap().seq, 101);
    let se = h.session_expires().unwrap().unwrap();
    assert_eq!((se.delta(), se.refresher()), (1800, Some(Refresher::Uac)));
    assert_eq!(h.min_se().unwrap().unwrap().delta(), 90);
    assert_eq!(h.option_tags(&HeaderName::SUPPORTED).unwrap(), ["timer", "replaces", "100rel"]);
    let pai = h.name_addrs(&HeaderName::P_ASSERTED_IDENTITY).unwrap();
    assert_eq!(pai[0].display_name(), Some("Acme SBC"));
    assert_eq!(r.uri().as_sip().unwrap().transport(), Some("udp"));
    let body = r.multipart().unwrap().unwrap();
    assert_eq!(body.parts().len(), 2);
    assert_eq!(body.parts()[0].content_id(), Some("<sdp@sbc1.operator.example>"));
    assert!(body.preamble().is_empty() && body.epilogue().is_empty());
}

#[test]
fn compact_forms_quoted_boundary_preamble_epilogue() {
    let r = invite("invite_compact.sip");
    assert_siprec(&r, "rs-metadata+xml");
    let h = r.headers();
    assert_eq!(h.call_id().unwrap(), "compact-7781@sbc2.operator.example");
    assert_eq!(h.to().unwrap().display_name(), Some("Recorder"));
    let via = h.top_via().unwrap();
    assert_eq!(via.host(), &Host::Ipv6("2001:db8:5::10".parse().unwrap()));
    assert_eq!(via.port(), Some(5060));
    assert_eq!(h.option_tags(&HeaderName::SUPPORTED).unwrap(), ["timer", "100rel"]);
    assert_eq!(h.session_expires().unwrap().unwrap().refresher(), Some(Refresher::Uas));
    let ct = h.content_type().unwrap().unwrap();
    assert_eq!(ct.boundary().as_deref(), Some("uniqueBoundary=_1"));
    let body = r.multipart().unwrap().unwrap();
    assert_eq!(body.preamble(), b"This is a multi-part message in MIME format.");
    assert_eq!(body.epilogue(), b"trailing epilogue\r\n");
    // Serialisation writes canonical names.
    let text = String::from_utf8(r.to_bytes()).unwrap();
    assert!(text.contains("\r\nCall-ID: compact-7781"));
    assert!(text.contains("\r\nSession-Expires: 90;refresher=uas\r\n"));
    assert!(!text.contains("\r\ni: "));
}

#[test]
fn bare_lf_line_ends() {
    let r = invite("invite_lf.sip");
    assert_siprec(&r, "rs-metadata+xml");
    let crlf = invite("invite.sip");
    assert_eq!(r.headers(), crlf.headers());
    let lf_parts = r.multipart().unwrap().unwrap();
    let crlf_parts = crlf.multipart().unwrap().unwrap();
    for (a, b) in lf_parts.parts().iter().zip(crlf_parts.parts()) {
        assert_eq!(a.headers(), b.headers());
        assert_eq!(a.body(), String::from_utf8_lossy(b.body()).replace("\r\n", "\n").as_bytes());
    }
}

#[test]
fn extra_gtd_part_is_kept_and_ignorable() {
    let r = invite("invite_gtd.sip");
    assert_siprec(&r, "rs-metadata+xml");
    let body = r.multipart().unwrap().unwrap();
    assert_eq!(body.parts().len(), 3);
    let gtd = body.find("application", "gtd").unwrap();
    assert!(gtd.body().starts_with(b"PRN,isdn*"));
    let disposition = gtd.content_disposition().unwrap().unwrap();
    assert_eq!(disposition.params().value("handling"), Some("optional"));
}

#[test]
fn rs_metadata_without_xml_suffix() {
    let r = invite("invite_rs_metadata.sip");
    assert_siprec(&r, "rs-metadata");
    assert!(r.multipart().unwrap().unwrap().find("application", "rs-metadata+xml").is_none());
}

#[test]
fn recorder_answers_the_invite() {
    let mut r = invite("invite.sip");
    r.stamp_top_via("198.51.100.10:5062".parse().unwrap()).unwrap();
    let via = r.headers().top_via().unwrap();
    assert_eq!(via.rport(), Some(callguard_sip::Rport::Port(5062)));
    assert_eq!(via.received(), Some("198.51.100.10".parse().unwrap()));
    let ok = ResponseBuilder::new(&r, 200, "OK", Some("srs-4b1d"))
        .unwrap()
        .header(HeaderName::CONTACT, "<sip:srs@192.0.2.50:5060>;+sip.srs")
        .unwrap()
        .header(HeaderName::REQUIRE, "siprec")
        .unwrap()
        .body("application/sdp", b"v=0\r\n".to_vec())
        .unwrap()
        .build();
    ok.validate().unwrap();
    let h = ok.headers();
    assert_eq!(h.top_via().unwrap(), via);
    assert_eq!(h.to().unwrap().tag(), Some("srs-4b1d"));
    assert_eq!(h.from().unwrap(), r.headers().from().unwrap());
    assert_eq!(h.call_id().unwrap(), r.headers().call_id().unwrap());
    assert_eq!(h.cseq().unwrap(), r.headers().cseq().unwrap());
    assert_eq!(h.count(&HeaderName::RECORD_ROUTE), 1);
    let wire = ok.to_bytes();
    let back = SipMessage::parse(&wire).unwrap();
    assert_eq!(back.as_response().unwrap(), &ok);
}

#[test]
fn tcp_stream_with_keepalives_and_pipelining() {
    let a = load("invite.sip");
    let b = load("invite_compact.sip");
    let mut stream = b"\r\n\r\n".to_vec();
    stream.extend_from_slice(&a);
    stream.extend_from_slice(b"\r\n");
    stream.extend_from_slice(&b);
    let limits = FramingLimits::default();
    let mut seen = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    // Feed the stream 700 bytes at a time, as TCP segments would arrive.
    for segment in stream.chunks(700) {
        pending.extend_from_slice(segment);
        loop {
            match frame_stream(&pending, &limits).unwrap() {
                Frame::Complete { keepalive, len } => {
                    seen.push(SipMessage::parse(&pending[keepalive..keepalive + len]).unwrap());
                    pending.drain(..keepalive + len);
                }
                Frame::Incomplete { keepalive } => {
                    pending.drain(..keepalive);
                    break;
                }
            }
        }
    }
    assert!(pending.is_empty());
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], SipMessage::parse(&a).unwrap());
    assert_eq!(seen[1], SipMessage::parse(&b).unwrap());
}
