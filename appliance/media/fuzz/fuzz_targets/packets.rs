//! Arbitrary packet trains (any SSRCs, sequence numbers, timestamps,
//! payload types, payloads, arrival times) through a stream pipeline:
//! never a panic, and the output stays one 320-sample frame per 20 ms with
//! consecutive indices.
#![no_main]

use std::time::{Duration, Instant};

use callguard_codecs::Codec;
use callguard_media::{RtpPacket, StreamConfig, StreamPipeline};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, mut rest)) = data.split_first() else { return };
    let codec = [Codec::Pcmu, Codec::Pcma, Codec::G722, Codec::Opus][usize::from(selector % 4)];
    let mut stream = StreamPipeline::new(StreamConfig::new(codec, 96).with_telephone_event(101)).expect("pipeline");
    let t0 = Instant::now();
    let mut now_ms = 0u64;
    let mut expected_index = 0u64;
    // Each packet: [dt, ssrc, seq_hi, seq_lo, ts3, ts2, ts1, ts0, pt, len] + payload.
    while rest.len() >= 10 {
        let (h, tail) = rest.split_at(10);
        let len = usize::from(h[9]).min(tail.len());
        let (payload, tail) = tail.split_at(len);
        rest = tail;
        now_ms += u64::from(h[0]);
        let pt = match h[8] % 4 {
            0 => 96,
            1 => 101,
            2 => 13,
            _ => h[8],
        };
        let pkt = RtpPacket {
            ssrc: u32::from(h[1] % 3),
            sequence: u16::from_be_bytes([h[2], h[3]]),
            timestamp: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
            marker: h[8] & 0x80 != 0,
            payload_type: pt,
            payload,
        };
        let now = t0 + Duration::from_millis(now_ms);
        stream.push(&pkt, now);
        while let Some(frame) = stream.poll(now).expect("poll") {
            assert_eq!(frame.index, expected_index);
            assert!(frame.samples.iter().all(|s| s.is_finite() && s.abs() <= 1.0));
            expected_index += 1;
        }
        while stream.take_dtmf().is_some() {}
    }
    let _ = stream.stats();
});
