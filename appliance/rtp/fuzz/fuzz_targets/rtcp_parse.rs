//! Any bytes: cutting a compound RTCP datagram must not panic, must stop
//! after an error, and report blocks must survive a write and re-parse.

#![no_main]

use callguard_rtp::{RtcpCompound, RtcpPacket, write_receiver_report};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut count = 0usize;
    let mut failed = false;
    for item in RtcpCompound::new(data) {
        assert!(!failed, "iteration goes on after an error");
        count += 1;
        // Each packet takes at least a word; a final error may take less.
        assert!(count <= data.len() / 4 + 1, "more packets than words");
        let packet = match item {
            Ok(p) => p,
            Err(e) => {
                failed = true;
                let _ = e.to_string();
                continue;
            }
        };
        let _ = format!("{packet:?}");
        let blocks: Vec<_> = match packet {
            RtcpPacket::SenderReport(sr) => {
                let _ = (sr.ssrc(), sr.ntp_timestamp(), sr.rtp_timestamp());
                let _ = (sr.packet_count(), sr.octet_count());
                sr.report_blocks().collect()
            }
            RtcpPacket::ReceiverReport(rr) => {
                let _ = rr.ssrc();
                rr.report_blocks().collect()
            }
            RtcpPacket::Goodbye(bye) => {
                let _ = (bye.ssrcs().count(), bye.reason());
                Vec::new()
            }
            _ => Vec::new(),
        };
        if !blocks.is_empty() {
            let mut out = Vec::new();
            write_receiver_report(1, &blocks, &mut out);
            let Some(Ok(RtcpPacket::ReceiverReport(rr))) = RtcpCompound::new(&out).next() else {
                panic!("written RR does not parse");
            };
            assert_eq!(rr.report_blocks().collect::<Vec<_>>(), blocks);
        }
    }
});
