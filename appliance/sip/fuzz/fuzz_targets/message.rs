//! Any bytes: parsing must not panic, and a parsed message must serialise
//! to bytes that parse back to the same message (and serialise identically).

#![no_main]

use callguard_sip::SipMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = SipMessage::parse(data) else {
        return;
    };
    let bytes = message.to_bytes();
    let again = match SipMessage::parse(&bytes) {
        Ok(m) => m,
        Err(e) => panic!(
            "serialised form does not parse: {e}\n{}",
            String::from_utf8_lossy(&bytes)
        ),
    };
    assert_eq!(again, message);
    assert_eq!(again.to_bytes(), bytes);

    // Typed views and validation must not panic either.
    let h = message.headers();
    let _ = (
        h.vias(),
        h.from(),
        h.to(),
        h.call_id(),
        h.cseq(),
        h.contacts(),
    );
    let _ = (
        h.max_forwards(),
        h.content_type(),
        h.session_expires(),
        h.min_se(),
    );
    match &message {
        SipMessage::Request(r) => {
            let _ = r.validate();
            let _ = r.multipart();
            let mut stamped = r.clone();
            if stamped
                .stamp_top_via("192.0.2.1:5060".parse().unwrap())
                .is_ok()
            {
                let reparsed = SipMessage::parse(&stamped.to_bytes()).unwrap();
                assert_eq!(reparsed.as_request(), Some(&stamped));
            }
            if let Ok(b) = callguard_sip::ResponseBuilder::new(r, 200, "OK", Some("fuzz")) {
                let resp = b.build();
                let reparsed = SipMessage::parse(&resp.to_bytes()).unwrap();
                assert_eq!(reparsed.as_response(), Some(&resp));
            }
        }
        SipMessage::Response(r) => {
            let _ = r.validate();
            let _ = r.multipart();
        }
    }
});
