//! Parse throughput on a 214-byte G.711 RTP frame: Ethernet (14), IPv4 (20),
//! UDP (8), RTP header (12) and 160 bytes of PCMU (20 ms at 8 kHz).
//! Criterion reports packets per second (one element per iteration).
// criterion's macros generate an undocumented entry point.
#![allow(missing_docs)]

use callguard_packet::{LinkType, parse};
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};

fn g711_frame() -> Vec<u8> {
    let mut rtp = vec![0x80, 0x00, 0x12, 0x34, 0, 0, 0x0a, 0x00, 0xde, 0xad, 0xbe, 0xef];
    rtp.extend_from_slice(&[0xff; 160]);
    let udp_len = 8 + rtp.len();
    let ip_len = 20 + udp_len;
    let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    frame.extend_from_slice(&[0x45, 0xb8]);
    frame.extend_from_slice(&(ip_len as u16).to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2]);
    frame.extend_from_slice(&[0x0f, 0xa0, 0x4e, 0x20]);
    frame.extend_from_slice(&(udp_len as u16).to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(&rtp);
    assert_eq!(frame.len(), 214);
    frame
}

fn parse_g711(c: &mut Criterion) {
    let frame = g711_frame();
    let mut tagged = frame[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
    tagged.extend_from_slice(&frame[12..]);
    let mut group = c.benchmark_group("g711_rtp_frame_214B");
    group.throughput(Throughput::Elements(1));
    group.bench_function("ethernet_ipv4_udp", |b| {
        b.iter(|| parse(LinkType::Ethernet, black_box(&frame)).unwrap().payload.len())
    });
    group.bench_function("ethernet_vlan_ipv4_udp", |b| {
        b.iter(|| parse(LinkType::Ethernet, black_box(&tagged)).unwrap().payload.len())
    });
    group.finish();
}

criterion_group!(benches, parse_g711);
criterion_main!(benches);
