//! Receive path of one G.711 20 ms packet: a 172-byte RTP packet (12-byte
//! header, 160 bytes of audio) protected with SRTP, unprotected in place and
//! parsed. Criterion reports packets per second (one element per iteration).
// criterion's macros generate an undocumented entry point.
#![allow(missing_docs)]

use std::hint::black_box;

use callguard_rtp::{RtpHeader, RtpPacket, SrtpConfig, SrtpMasterKey, SrtpProfile, SrtpReceiver, SrtpSender};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Distinct packets prepared: the replay window refuses a packet twice, so
/// the receiver is rebuilt each time the list has been used up (once per
/// 65 536 packets: its cost is spread thin).
const PACKETS: usize = 1 << 16;

fn prepare(key: &SrtpMasterKey, profile: SrtpProfile) -> Vec<Vec<u8>> {
    let mut tx = SrtpSender::new(key, profile);
    (0..PACKETS)
        .map(|i| {
            let mut p = RtpHeader {
                marker: false,
                payload_type: 0,
                sequence: i as u16,
                timestamp: (i as u32).wrapping_mul(160),
                ssrc: 0x5BC0_FFEE,
            }
            .to_packet(&[0xD5; 160]);
            assert_eq!(p.len(), 172);
            tx.protect_rtp(&mut p).unwrap();
            p
        })
        .collect()
}

fn unprotect_and_parse(c: &mut Criterion) {
    let key = SrtpMasterKey::new([0x42; 30]);
    let mut group = c.benchmark_group("srtp_g711_20ms");
    group.throughput(Throughput::Elements(1));
    for profile in [SrtpProfile::AesCm128HmacSha1Tag80, SrtpProfile::AesCm128HmacSha1Tag32] {
        let packets = prepare(&key, profile);
        let config = SrtpConfig::new(profile);
        let mut rx = SrtpReceiver::new(&key, config).unwrap();
        let mut next = 0;
        let mut buf = [0u8; 256];
        group.bench_function(format!("unprotect+parse/{}", profile.sdes_name()), |b| {
            b.iter(|| {
                if next == PACKETS {
                    next = 0;
                    rx = SrtpReceiver::new(&key, config).unwrap();
                }
                let packet = &packets[next];
                next += 1;
                let buf = &mut buf[..packet.len()];
                buf.copy_from_slice(packet);
                let len = rx.unprotect_rtp(black_box(buf)).unwrap();
                let parsed = RtpPacket::parse(&buf[..len]).unwrap();
                black_box(parsed.payload().len())
            })
        });
    }
    let plain = RtpHeader::default().to_packet(&[0xD5; 160]);
    group.bench_function("parse only", |b| b.iter(|| RtpPacket::parse(black_box(&plain)).unwrap().payload().len()));
    group.finish();
}

criterion_group!(benches, unprotect_and_parse);
criterion_main!(benches);
