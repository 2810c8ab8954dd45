//! Any bytes: RTP parsing must not panic, and a parsed packet's parts must
//! add up to the datagram.

#![no_main]

use callguard_rtp::{RtpHeader, RtpPacket};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = RtpPacket::parse(data) else {
        return;
    };
    assert_eq!(p.version(), 2);
    assert_eq!(
        p.header_len() + p.payload().len() + p.padding_len(),
        data.len()
    );
    assert_eq!(p.csrcs().len(), usize::from(p.csrc_count()));
    assert_eq!(p.has_padding(), p.padding_len() > 0);
    if let Some(ext) = p.extension() {
        assert!(ext.data().len() % 4 == 0);
        assert_eq!(
            12 + 4 * usize::from(p.csrc_count()) + 4 + ext.data().len(),
            p.header_len()
        );
        let _ = ext.form();
    } else {
        assert_eq!(p.header_len(), 12 + 4 * usize::from(p.csrc_count()));
    }
    let _ = format!("{p:?}");
    if p.header_len() == 12 && !p.has_padding() {
        let again = RtpHeader {
            marker: p.marker(),
            payload_type: p.payload_type(),
            sequence: p.sequence(),
            timestamp: p.timestamp(),
            ssrc: p.ssrc(),
        }
        .to_packet(p.payload());
        assert_eq!(again, data);
    }
});
