//! SRTP and SRTCP unprotection with a fixed key.
//!
//! 1. The input itself, as SRTP and as SRTCP: no panic, and an error leaves
//!    the buffer untouched.
//! 2. The input as a script of sequence numbers: each is sent as a genuine
//!    packet (protected by the sender) and unprotected; whatever the order,
//!    an accepted packet decrypts to what was sent, and receiver statistics
//!    stay consistent.

#![no_main]

use std::time::{Duration, Instant};

use callguard_rtp::{
    ReceiverStats, RtpHeader, RtpPacket, SrtpConfig, SrtpError, SrtpMasterKey, SrtpProfile,
    SrtpReceiver, SrtpSender, StatsConfig,
};
use libfuzzer_sys::fuzz_target;

const KEY: [u8; 30] = [
    0xE1, 0xF9, 0x7A, 0x0D, 0x3E, 0x01, 0x8B, 0xE0, 0xD6, 0x4F, 0xA3, 0x2C, 0x06, 0xDE, 0x41, 0x39,
    0x0E, 0xC6, 0x75, 0xAD, 0x49, 0x8A, 0xFE, 0xEB, 0xB6, 0x96, 0x0B, 0x3A, 0xAB, 0xE6,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let profile = if selector & 1 == 0 {
        SrtpProfile::AesCm128HmacSha1Tag80
    } else {
        SrtpProfile::AesCm128HmacSha1Tag32
    };
    let key = SrtpMasterKey::new(KEY);
    let config = SrtpConfig {
        replay_window: 1 + u16::from(selector >> 1) * 8,
        ..SrtpConfig::new(profile)
    };
    let mut rx = SrtpReceiver::new(&key, config).unwrap();

    let mut buf = rest.to_vec();
    match rx.unprotect_rtp(&mut buf) {
        Ok(len) => assert!(len <= rest.len()),
        Err(e) => {
            assert_eq!(buf, rest, "{e}");
        }
    }
    let mut buf = rest.to_vec();
    match rx.unprotect_rtcp(&mut buf) {
        Ok(len) => assert!(len <= rest.len()),
        Err(e) => assert_eq!(buf, rest, "{e}"),
    }

    let mut tx = SrtpSender::new(&key, profile);
    let mut stats = ReceiverStats::new(StatsConfig::new(8000));
    let t0 = Instant::now();
    for (i, chunk) in rest.chunks_exact(3).enumerate() {
        let seq = u16::from_be_bytes([chunk[0], chunk[1]]);
        let ssrc = u32::from(chunk[2] >> 6);
        let plain = RtpHeader {
            marker: false,
            payload_type: 0,
            sequence: seq,
            timestamp: u32::from(seq).wrapping_mul(160),
            ssrc,
        }
        .to_packet(&[chunk[2]; 20]);
        let mut packet = plain.clone();
        tx.protect_rtp(&mut packet).unwrap_or_else(|e| match e {
            SrtpError::TooOld { .. } => {}
            e => panic!("protect: {e}"),
        });
        if packet.len() == plain.len() {
            continue; // not protected
        }
        match rx.unprotect_rtp(&mut packet) {
            Ok(len) => {
                assert_eq!(packet[..len], plain[..]);
                let p = RtpPacket::parse(&packet[..len]).unwrap();
                let arrival = t0 + Duration::from_millis(20 * i as u64 + u64::from(chunk[2] & 7));
                stats.on_rtp(&p, arrival);
                let s = stats.stats();
                assert!(s.received <= s.expected, "{s:?}");
                let _ = stats.report(arrival);
            }
            Err(
                SrtpError::Replayed { .. }
                | SrtpError::TooOld { .. }
                | SrtpError::AuthenticationFailed { .. },
            ) => {}
            Err(e) => panic!("unexpected: {e}"),
        }
    }
});
