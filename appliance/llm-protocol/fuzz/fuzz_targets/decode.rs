//! Arbitrary bytes as a frame stream, as a request body and as a reply
//! body: never a panic; whatever decodes re-encodes, within the frame
//! limit, to bytes that decode to the same message.
#![no_main]

use callguard_llm_protocol::{decode_reply, decode_request, encode_reply, encode_request, read_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = data;
    let mut buf = Vec::new();
    while read_frame(&mut reader, &mut buf).is_ok() {
        let _ = decode_request(&buf);
        let _ = decode_reply(&buf);
    }
    if let Ok(request) = decode_request(data) {
        let mut out = Vec::new();
        encode_request(&request, &mut out).expect("a decoded request encodes");
        assert_eq!(decode_request(&out).expect("a re-encoded request decodes"), request);
    }
    if let Ok(reply) = decode_reply(data) {
        let mut out = Vec::new();
        encode_reply(&reply, &mut out).expect("a decoded reply encodes");
        assert_eq!(decode_reply(&out).expect("a re-encoded reply decodes"), reply);
    }
});
