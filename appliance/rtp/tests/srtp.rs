//! SRTP/SRTCP round trips through `SrtpSender` and `SrtpReceiver`: sequence
//! wrap, rollover counter, reordering, replay, tampering, wrong keys.

use callguard_rtp::{
    RtcpCompound, RtcpPacket, RtpError, RtpHeader, RtpPacket, SrtpConfig, SrtpError, SrtpMasterKey, SrtpProfile,
    SrtpReceiver, SrtpSender, write_receiver_report,
};

const P80: SrtpProfile = SrtpProfile::AesCm128HmacSha1Tag80;
const P32: SrtpProfile = SrtpProfile::AesCm128HmacSha1Tag32;
const SSRC: u32 = 0xA1B2_C3D4;

fn key(seed: u8) -> SrtpMasterKey {
    let mut bytes = [0u8; 30];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = seed.wrapping_mul(31).wrapping_add(i as u8);
    }
    SrtpMasterKey::new(bytes)
}

fn payload(seq: u16) -> Vec<u8> {
    (0..160).map(|i| (seq as usize * 7 + i) as u8).collect()
}

fn plain(ssrc: u32, seq: u16) -> Vec<u8> {
    RtpHeader { marker: false, payload_type: 8, sequence: seq, timestamp: u32::from(seq) * 160, ssrc }
        .to_packet(&payload(seq))
}

fn pair(profile: SrtpProfile) -> (SrtpSender, SrtpReceiver) {
    (SrtpSender::new(&key(1), profile), SrtpReceiver::new(&key(1), SrtpConfig::new(profile)).unwrap())
}

fn protect(tx: &mut SrtpSender, ssrc: u32, seq: u16) -> Vec<u8> {
    let mut p = plain(ssrc, seq);
    tx.protect_rtp(&mut p).unwrap();
    p
}

/// Unprotects and checks the plaintext; returns the result for errors.
fn unprotect(rx: &mut SrtpReceiver, protected: &[u8]) -> Result<Vec<u8>, SrtpError> {
    let mut buf = protected.to_vec();
    let len = rx.unprotect_rtp(&mut buf)?;
    buf.truncate(len);
    Ok(buf)
}

fn accept(rx: &mut SrtpReceiver, protected: &[u8], ssrc: u32, seq: u16) {
    let got = unprotect(rx, protected).unwrap_or_else(|e| panic!("seq {seq}: {e}"));
    assert_eq!(got, plain(ssrc, seq), "seq {seq}");
}

#[test]
fn round_trip_both_profiles() {
    for profile in [P80, P32] {
        let (mut tx, mut rx) = pair(profile);
        for seq in 100..120 {
            let p = protect(&mut tx, SSRC, seq);
            assert_eq!(p.len(), 172 + profile.rtp_tag_len());
            // The payload is encrypted, the header is not.
            assert_eq!(p[..12], plain(SSRC, seq)[..12]);
            assert_ne!(p[12..172], payload(seq)[..]);
            accept(&mut rx, &p, SSRC, seq);
        }
    }
}

#[test]
fn sequence_wrap_increments_the_rollover_counter() {
    let (mut tx, mut rx) = pair(P80);
    for seq in (65500..=65535).chain(0..40) {
        let p = protect(&mut tx, SSRC, seq);
        accept(&mut rx, &p, SSRC, seq);
    }
    assert_eq!(tx.rollover_counter(SSRC), Some(1));
    assert_eq!(rx.rollover_counter(SSRC), Some(1));
}

#[test]
fn reordering_across_the_wrap() {
    let (mut tx, mut rx) = pair(P80);
    let packets: Vec<(u16, Vec<u8>)> = (65530..=65535).chain(0..6).map(|s| (s, protect(&mut tx, SSRC, s))).collect();
    // 65530, 65531, then 0 (ROC 1) before 65532..65535 (ROC 0), then the rest.
    let order = [0, 1, 6, 3, 2, 5, 4, 8, 7, 9, 11, 10];
    for &i in &order {
        accept(&mut rx, &packets[i].1, SSRC, packets[i].0);
    }
    assert_eq!(rx.rollover_counter(SSRC), Some(1));
    // Every one of them again is a replay.
    for (seq, p) in &packets {
        assert!(matches!(unprotect(&mut rx, p), Err(SrtpError::Replayed { ssrc: SSRC, .. })), "seq {seq}");
    }
}

#[test]
fn many_wraps_and_a_preset_rollover_counter() {
    // Sender starts at ROC 7 (a stream joined late); the receiver is told.
    let (mut tx, mut rx) = pair(P32);
    tx.set_rollover_counter(SSRC, 7);
    rx.set_rollover_counter(SSRC, 7);
    let mut seq = 65000u16;
    let steps = 200u32;
    for _ in 0..steps {
        let p = protect(&mut tx, SSRC, seq);
        accept(&mut rx, &p, SSRC, seq);
        seq = seq.wrapping_add(997); // large steps, all below 2^15
    }
    // The last packet sent is number 65000 + 199 * 997 counted from ROC 7.
    let expected = 7 + (65_000 + (steps - 1) * 997) / 65_536;
    assert_eq!(expected, 11, "four wraps");
    assert_eq!(tx.rollover_counter(SSRC), Some(expected));
    assert_eq!(rx.rollover_counter(SSRC), Some(expected));

    // Without being told, a fresh receiver assumes ROC 0 and cannot
    // authenticate.
    let mut fresh = SrtpReceiver::new(&key(1), SrtpConfig::new(P32)).unwrap();
    let p = protect(&mut tx, SSRC, seq);
    assert_eq!(unprotect(&mut fresh, &p), Err(SrtpError::AuthenticationFailed { ssrc: SSRC }));
}

#[test]
fn full_cycle_of_every_sequence_number() {
    let (mut tx, mut rx) = pair(P32);
    let mut buf = Vec::with_capacity(64);
    for i in 0..=75_000u32 {
        let seq = (i + 60_000) as u16;
        buf.clear();
        RtpHeader { sequence: seq, ssrc: SSRC, ..RtpHeader::default() }.write(&[i as u8; 8], &mut buf);
        tx.protect_rtp(&mut buf).unwrap();
        let len = rx.unprotect_rtp(&mut buf).unwrap_or_else(|e| panic!("{i}: {e}"));
        assert_eq!(buf[12..len], [i as u8; 8]);
    }
    assert_eq!(rx.rollover_counter(SSRC), Some(2));
}

#[test]
fn replay_window_limits() {
    let (mut tx, mut rx) = pair(P80);
    let packets: Vec<Vec<u8>> = (0..200).map(|s| protect(&mut tx, SSRC, s)).collect();
    accept(&mut rx, &packets[100], SSRC, 100);
    // Within 64 of the highest (100): accepted once, late.
    accept(&mut rx, &packets[37], SSRC, 37);
    accept(&mut rx, &packets[99], SSRC, 99);
    // 64 behind: too old.
    assert_eq!(unprotect(&mut rx, &packets[36]), Err(SrtpError::TooOld { ssrc: SSRC, index: 36 }));
    assert_eq!(unprotect(&mut rx, &packets[99]), Err(SrtpError::Replayed { ssrc: SSRC, index: 99 }));

    // A configurable window: 128 accepts what 64 refused.
    let config = SrtpConfig { replay_window: 128, ..SrtpConfig::new(P80) };
    let mut wide = SrtpReceiver::new(&key(1), config).unwrap();
    accept(&mut wide, &packets[150], SSRC, 150);
    accept(&mut wide, &packets[23], SSRC, 23);
    assert!(matches!(unprotect(&mut wide, &packets[22]), Err(SrtpError::TooOld { .. })));

    for size in [0, 0x8001] {
        let config = SrtpConfig { replay_window: size, ..SrtpConfig::new(P80) };
        assert_eq!(SrtpReceiver::new(&key(1), config).err(), Some(SrtpError::ReplayWindow { size }));
    }
}

#[test]
fn tampering_is_rejected_and_changes_nothing() {
    let (mut tx, mut rx) = pair(P80);
    accept(&mut rx, &protect(&mut tx, SSRC, 10), SSRC, 10);
    let good = protect(&mut tx, SSRC, 11);
    let n = good.len();
    // A flipped bit anywhere: header, payload, tag (0x04 keeps the sequence
    // number away from the one already received, which would be a replay).
    for at in [0, 1, 3, 7, 11, 12, 100, n - 11, n - 10, n - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x04;
        let before = bad.clone();
        let err = rx.unprotect_rtp(&mut bad).unwrap_err();
        assert!(matches!(err, SrtpError::AuthenticationFailed { .. }), "byte {at}: {err}");
        assert_eq!(bad, before, "byte {at}: nothing is decrypted on failure");
    }
    // A tag cut short.
    assert!(matches!(unprotect(&mut rx, &good[..n - 1]), Err(SrtpError::AuthenticationFailed { .. })));
    // The genuine packet is still accepted afterwards.
    accept(&mut rx, &good, SSRC, 11);
}

#[test]
fn forged_future_packet_does_not_move_the_rollover_counter() {
    let (mut tx, mut rx) = pair(P80);
    accept(&mut rx, &protect(&mut tx, SSRC, 65000), SSRC, 65000);
    // A forged packet with sequence 5 would make the receiver guess ROC 1.
    let mut forged = plain(SSRC, 5);
    forged.extend_from_slice(&[0; 10]);
    assert!(matches!(unprotect(&mut rx, &forged), Err(SrtpError::AuthenticationFailed { .. })));
    assert_eq!(rx.rollover_counter(SSRC), Some(0));
    accept(&mut rx, &protect(&mut tx, SSRC, 65001), SSRC, 65001);
}

#[test]
fn wrong_key_or_profile_is_rejected() {
    let mut tx = SrtpSender::new(&key(1), P80);
    let p = protect(&mut tx, SSRC, 1);
    let mut other_key = SrtpReceiver::new(&key(2), SrtpConfig::new(P80)).unwrap();
    assert_eq!(unprotect(&mut other_key, &p), Err(SrtpError::AuthenticationFailed { ssrc: SSRC }));
    // Same key, other suite: the 32-bit receiver reads the wrong tag bytes.
    let mut other_suite = SrtpReceiver::new(&key(1), SrtpConfig::new(P32)).unwrap();
    assert!(matches!(
        unprotect(&mut other_suite, &p),
        Err(SrtpError::AuthenticationFailed { .. } | SrtpError::RtpHeader(_))
    ));
    // A salt differing in one bit is another key too.
    let mut bytes = [0u8; 30];
    bytes[..16].copy_from_slice(key(1).key());
    bytes[16..].copy_from_slice(key(1).salt());
    bytes[29] ^= 1;
    let mut other_salt = SrtpReceiver::new(&SrtpMasterKey::new(bytes), SrtpConfig::new(P80)).unwrap();
    assert!(matches!(unprotect(&mut other_salt, &p), Err(SrtpError::AuthenticationFailed { .. })));
}

#[test]
fn malformed_packets_are_errors() {
    let (_, mut rx) = pair(P80);
    assert_eq!(rx.unprotect_rtp(&mut [0x80; 21]), Err(SrtpError::TooShort { protocol: "SRTP", len: 21, min: 22 }));
    assert_eq!(rx.unprotect_rtp(&mut [0x00; 5]), Err(SrtpError::RtpHeader(RtpError::WrongVersion { version: 0 })));
    // DTLS/STUN on the port: version 0 or 3 in the first bits.
    assert_eq!(rx.unprotect_rtp(&mut [0x16; 100]), Err(SrtpError::RtpHeader(RtpError::WrongVersion { version: 0 })));
    // 15 CSRCs announced in a 40-byte packet.
    let mut p = plain(SSRC, 1);
    p[0] |= 0x0F;
    p.truncate(40);
    assert!(matches!(rx.unprotect_rtp(&mut p), Err(SrtpError::RtpHeader(RtpError::CsrcPastEnd { .. }))));
    // Extension running into the tag.
    let mut p = plain(SSRC, 1);
    p[0] |= 0x10;
    p[14] = 0xFF;
    p.truncate(30);
    assert!(matches!(rx.unprotect_rtp(&mut p), Err(SrtpError::RtpHeader(RtpError::ExtensionPastEnd { .. }))));
}

#[test]
fn csrc_extension_and_padding_survive() {
    let (mut tx, mut rx) = pair(P80);
    // V=2 P X CC=1, PT 0, seq 9, ts, SSRC, CSRC 77, one-byte extension, payload, 2 bytes padding.
    let mut p = vec![0xB1, 0x00, 0, 9, 0, 0, 0, 1];
    p.extend_from_slice(&SSRC.to_be_bytes());
    p.extend_from_slice(&77u32.to_be_bytes());
    p.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x22, 1, 2, 3]);
    p.extend_from_slice(b"hello");
    p.extend_from_slice(&[0, 2]);
    let original = p.clone();
    tx.protect_rtp(&mut p).unwrap();
    // Header through the extension stays clear; padding is encrypted.
    assert_eq!(p[..24], original[..24]);
    let len = rx.unprotect_rtp(&mut p).unwrap();
    assert_eq!(p[..len], original[..]);
    let parsed = RtpPacket::parse(&p[..len]).unwrap();
    assert_eq!(parsed.payload(), b"hello");
    assert_eq!(parsed.csrcs().collect::<Vec<_>>(), vec![77]);
    assert_eq!(parsed.extension().unwrap().data(), &[0x22, 1, 2, 3]);
}

#[test]
fn new_ssrc_mid_stream_and_stream_limit() {
    let (mut tx, _) = pair(P80);
    let config = SrtpConfig { max_streams: 2, ..SrtpConfig::new(P80) };
    let mut rx = SrtpReceiver::new(&key(1), config).unwrap();
    accept(&mut rx, &protect(&mut tx, 1, 100), 1, 100);
    // Failover: same SDES key, new SSRC and sequence space.
    accept(&mut rx, &protect(&mut tx, 2, 40_000), 2, 40_000);
    accept(&mut rx, &protect(&mut tx, 1, 101), 1, 101);
    // A third SSRC evicts the least recently used (2).
    accept(&mut rx, &protect(&mut tx, 3, 7), 3, 7);
    assert_eq!(rx.rollover_counter(2), None);
    assert_eq!(rx.rollover_counter(1), Some(0));
    assert_eq!(rx.rollover_counter(3), Some(0));
}

#[test]
fn sender_index_exhaustion() {
    let (mut tx, _) = pair(P80);
    tx.set_rollover_counter(SSRC, u32::MAX);
    let mut p = plain(SSRC, 65535);
    tx.protect_rtp(&mut p).unwrap();
    let mut p = plain(SSRC, 0);
    assert_eq!(tx.protect_rtp(&mut p), Err(SrtpError::IndexExhausted { ssrc: SSRC }));

    let mut rr = Vec::new();
    write_receiver_report(SSRC, &[], &mut rr);
    tx.set_rtcp_index(SSRC, 0x7FFF_FFFF);
    tx.protect_rtcp(&mut rr.clone()).unwrap();
    assert_eq!(tx.protect_rtcp(&mut rr), Err(SrtpError::IndexExhausted { ssrc: SSRC }));
}

fn sender_report(ssrc: u32, packets: u32) -> Vec<u8> {
    let mut sr = vec![0x80, 200, 0, 6];
    for word in [ssrc, 0xE000_0001, 0x8000_0000, 1600, packets, packets * 160] {
        sr.extend_from_slice(&word.to_be_bytes());
    }
    write_receiver_report(ssrc, &[], &mut sr);
    sr
}

#[test]
fn srtcp_round_trip_replay_and_e_flag() {
    for profile in [P80, P32] {
        let (mut tx, mut rx) = pair(profile);
        let mut sent = Vec::new();
        for n in 0..5 {
            let original = sender_report(SSRC, n);
            let mut p = original.clone();
            if n == 3 {
                tx.protect_rtcp_unencrypted(&mut p).unwrap();
                assert_eq!(p[..original.len()], original[..], "E=0 leaves it clear");
            } else {
                tx.protect_rtcp(&mut p).unwrap();
                assert_eq!(p[..8], original[..8], "first 8 bytes stay clear");
                assert_ne!(p[8..original.len()], original[8..]);
            }
            assert_eq!(p.len(), original.len() + 4 + 10, "{profile}: 80-bit SRTCP tag");
            let word = u32::from_be_bytes(p[original.len()..original.len() + 4].try_into().unwrap());
            assert_eq!(word, n | if n == 3 { 0 } else { 0x8000_0000 });
            sent.push(p.clone());
            let len = rx.unprotect_rtcp(&mut p).unwrap();
            assert_eq!(p[..len], original[..]);
            let packets: Vec<_> = RtcpCompound::new(&p[..len]).collect::<Result<_, _>>().unwrap();
            assert!(matches!(packets[0], RtcpPacket::SenderReport(sr) if sr.packet_count() == n));
            assert!(matches!(packets[1], RtcpPacket::ReceiverReport(_)));
        }
        for (n, p) in sent.iter().enumerate() {
            assert_eq!(rx.unprotect_rtcp(&mut p.clone()), Err(SrtpError::Replayed { ssrc: SSRC, index: n as u64 }));
        }
        // Tampered: body, E flag, index, tag.
        let good = {
            let mut p = sender_report(SSRC, 9);
            tx.protect_rtcp(&mut p).unwrap();
            p
        };
        let n = good.len();
        for at in [1, 9, n - 14, n - 11, n - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x80;
            assert!(
                matches!(rx.unprotect_rtcp(&mut bad), Err(SrtpError::AuthenticationFailed { .. })),
                "{profile} byte {at}"
            );
        }
        let mut p = good.clone();
        rx.unprotect_rtcp(&mut p).unwrap();
        // Wrong key.
        let mut other = SrtpReceiver::new(&key(3), SrtpConfig::new(profile)).unwrap();
        assert!(matches!(other.unprotect_rtcp(&mut good.clone()), Err(SrtpError::AuthenticationFailed { .. })));
    }
}

#[test]
fn srtcp_malformed() {
    let (mut tx, mut rx) = pair(P80);
    assert!(matches!(
        rx.unprotect_rtcp(&mut [0x80; 21]),
        Err(SrtpError::TooShort { protocol: "SRTCP", len: 21, min: 22 })
    ));
    assert_eq!(rx.unprotect_rtcp(&mut [0x40; 40]), Err(SrtpError::RtcpVersion { version: 1 }));
    assert!(matches!(tx.protect_rtcp(&mut vec![0x80, 201, 0, 0]), Err(SrtpError::TooShort { .. })));
}

#[test]
fn srtcp_reordering_within_the_window() {
    let (mut tx, mut rx) = pair(P80);
    let sent: Vec<Vec<u8>> = (0..100)
        .map(|n| {
            let mut p = sender_report(SSRC, n);
            tx.protect_rtcp(&mut p).unwrap();
            p
        })
        .collect();
    rx.unprotect_rtcp(&mut sent[90].clone()).unwrap();
    rx.unprotect_rtcp(&mut sent[30].clone()).unwrap();
    assert!(matches!(rx.unprotect_rtcp(&mut sent[26].clone()), Err(SrtpError::TooOld { index: 26, .. })));
}

#[test]
fn debug_output_shows_no_key_material() {
    let (tx, rx) = pair(P80);
    let text = format!("{tx:?} {rx:?} {:?}", key(1));
    assert!(text.contains("redacted"), "{text}");
    // No run of hex or decimal bytes from the key.
    let k = key(1);
    for b in k.key().iter().chain(k.salt()) {
        assert!(!text.contains(&format!("{b:02x}, ")), "{text}");
    }
    assert!(!text.contains('['), "{text}");
}
