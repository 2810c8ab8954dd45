//! Any bytes, as a payload of every codec and as telephone-events: decoding
//! must return a value or an error, never panic, and never write more than
//! `samples_in` says.
#![no_main]

use callguard_codecs::{Codec, DtmfCollector, TelephoneEvent, new_decoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = vec![0i16; 6000];
    for codec in [Codec::Pcmu, Codec::Pcma, Codec::G722, Codec::Opus] {
        let mut d = new_decoder(codec).expect("decoder");
        for chunk in data.chunks(400) {
            if let Ok(n) = d.samples_in(chunk) {
                if n <= out.len() {
                    let got = d.decode(chunk, &mut out).unwrap_or(0);
                    assert!(got <= n);
                }
            }
            let _ = d.conceal(chunk.len() * 3, &mut out);
        }
    }
    let _ = TelephoneEvent::parse(data);
    let mut c = DtmfCollector::new(8000);
    for chunk in data.chunks(9) {
        if chunk.len() >= 5 {
            let ts = u32::from_be_bytes([chunk[0], chunk[1], 0, 0]);
            let _ = c.push(ts, chunk[2] & 1 == 1, &chunk[3..]);
        }
    }
    c.flush();
    while c.next_event().is_some() {}
});
