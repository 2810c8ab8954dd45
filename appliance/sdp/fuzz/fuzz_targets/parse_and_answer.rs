//! Parses arbitrary bytes as SDP; whatever parses must serialize, re-parse
//! to the same description, and be answerable (initially and as a re-offer)
//! without panicking, with an answer that itself parses.
//!
//! From the crate root:
//! `RUSTC_BOOTSTRAP=1 cargo fuzz run parse_and_answer -- -max_total_time=60 -dict=fuzz/sdp.dict`
//! (seed `fuzz/corpus/parse_and_answer/` with `tests/data/*.sdp` first).
#![no_main]

use callguard_sdp::{
    AnswerPolicy, MediaAllocator, SessionDescription, SrtpKeyMaterial, answer_offer, answer_reoffer,
};
use libfuzzer_sys::fuzz_target;

/// Deterministic per stream index, with failures and the top port mixed in.
struct Allocator;

impl MediaAllocator for Allocator {
    fn allocate_port(&mut self, index: usize, _rtcp_mux: bool) -> Option<u16> {
        match index % 4 {
            3 => None,
            2 => Some(u16::MAX),
            _ => u16::try_from(20_000 + index * 2).ok(),
        }
    }

    fn srtp_key(&mut self, index: usize) -> Option<SrtpKeyMaterial> {
        (index % 5 != 4).then(|| SrtpKeyMaterial::new([u8::try_from(index % 256).unwrap_or(0); 30]))
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(offer) = SessionDescription::parse_bytes(data) else {
        return;
    };
    let text = offer.to_string();
    let reparsed = match SessionDescription::parse(&text) {
        Ok(reparsed) => reparsed,
        Err(error) => panic!("serialized SDP does not re-parse: {error}\n{text}"),
    };
    assert_eq!(
        reparsed, offer,
        "round trip changed the description:\n{text}"
    );
    assert_eq!(reparsed.to_string(), text);

    let address = if data.first().is_some_and(|byte| byte % 2 == 0) {
        "192.0.2.10".parse()
    } else {
        "2001:db8::10".parse()
    };
    let Ok(address) = address else { return };
    let policy = AnswerPolicy::new("callguard", 42, address);
    let answer = answer_offer(&offer, &policy, &mut Allocator);
    assert_eq!(answer.sdp.media.len(), offer.media.len());
    assert_eq!(
        answer.streams.len() + answer.rejected.len(),
        offer.media.len()
    );
    let answer_text = answer.sdp.to_string();
    match SessionDescription::parse(&answer_text) {
        Ok(parsed) => assert_eq!(
            parsed, answer.sdp,
            "answer does not round-trip:\n{answer_text}"
        ),
        Err(error) => panic!("answer does not parse: {error}\n{answer_text}"),
    }

    // The same offer again changes nothing: same ports, same version.
    let again = answer_reoffer(&answer, &offer, &policy, &mut Allocator);
    assert_eq!(again.sdp, answer.sdp);
    assert_eq!(again.streams, answer.streams);
});
