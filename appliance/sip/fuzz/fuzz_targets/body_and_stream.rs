//! First byte selects the target: even = multipart splitter (the next byte
//! gives the boundary length), odd = TCP stream framer.

#![no_main]

use callguard_sip::{Frame, FramingLimits, MultipartBody, SipMessage, frame_stream};
use libfuzzer_sys::fuzz_target;

fn within(outer: &[u8], inner: &[u8]) -> bool {
    let o = outer.as_ptr() as usize;
    let i = inner.as_ptr() as usize;
    i >= o && i + inner.len() <= o + outer.len()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector % 2 == 0 {
        let Some((&len, rest)) = rest.split_first() else {
            return;
        };
        let len = usize::from(len % 72).min(rest.len());
        let (boundary, body) = rest.split_at(len);
        let Ok(boundary) = std::str::from_utf8(boundary) else {
            return;
        };
        if let Ok(m) = MultipartBody::parse(body, boundary) {
            assert!(within(body, m.preamble()) && within(body, m.epilogue()));
            for part in m.parts() {
                assert!(within(body, part.body()));
                let _ = (
                    part.content_type(),
                    part.content_disposition(),
                    part.content_id(),
                );
            }
        }
    } else {
        let limits = FramingLimits {
            max_header_len: 4096,
            max_body_len: 65536,
        };
        match frame_stream(rest, &limits) {
            Ok(Frame::Complete { keepalive, len }) => {
                assert!(keepalive + len <= rest.len());
                assert!(matches!(
                    frame_stream(&rest[..keepalive + len - 1], &limits),
                    Ok(Frame::Incomplete { .. })
                ));
                if let Ok(m) = SipMessage::parse(&rest[keepalive..keepalive + len]) {
                    assert!(m.body().len() < len);
                }
            }
            Ok(Frame::Incomplete { keepalive }) => assert!(keepalive <= rest.len()),
            Err(_) => {}
        }
    }
});
