//! No allocation per packet after warm-up: the heap is counted around
//! `recv_batch` calls once the source and batch exist.
//!
//! One test in its own binary, so no other test thread allocates while the
//! counter runs.

use std::alloc::System;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

use callguard_capture::{PacketBatch, PacketSource, PcapSource, ReplaySpeed, SocketConfig, SocketSource};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn g711_frame(port: u16, seq: u16) -> Vec<u8> {
    let mut rtp = vec![0x80, 0x00];
    rtp.extend_from_slice(&seq.to_be_bytes());
    rtp.extend_from_slice(&[0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
    rtp.extend_from_slice(&[0xff; 160]);
    let mut frame = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45, 0];
    frame.extend_from_slice(&(20u16 + 8 + 172).to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2, 0x0f, 0xa0]);
    frame.extend_from_slice(&port.to_be_bytes());
    frame.extend_from_slice(&(8u16 + 172).to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(&rtp);
    frame
}

#[test]
fn receiving_does_not_allocate_per_packet() {
    // --- sockets ---
    let port = (34000..u16::MAX).find(|&p| UdpSocket::bind((LOOPBACK, p)).is_ok()).expect("a free port");
    let mut source = SocketSource::with_ports(SocketConfig::new(LOOPBACK), [port]).unwrap();
    let mut batch = PacketBatch::new(64, 2048);
    let tx = UdpSocket::bind((LOOPBACK, 0)).unwrap();
    let payload = [0xffu8; 172];
    tx.send_to(&payload, (LOOPBACK, port)).unwrap();
    assert_eq!(source.recv_batch(&mut batch, Duration::from_secs(5)).unwrap(), 1); // warm-up
    // Rounds of 50, so the socket's receive buffer never overflows.
    let region = Region::new(GLOBAL);
    for _ in 0..10 {
        for _ in 0..50 {
            tx.send_to(&payload, (LOOPBACK, port)).unwrap();
        }
        let mut received = 0;
        while received < 50 {
            let n = source.recv_batch(&mut batch, Duration::from_secs(5)).unwrap();
            assert!(n > 0, "datagrams lost: {:?}", source.counters());
            received += n;
            for r in &batch {
                assert_eq!(r.packet.payload.len(), 172);
            }
        }
    }
    let stats = region.change();
    assert_eq!(
        (stats.allocations, stats.reallocations),
        (0, 0),
        "SocketSource allocated while receiving 500 datagrams: {stats:?}"
    );

    // --- pcap replay ---
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g711.pcap");
    let header = PcapHeader { datalink: DataLink::ETHERNET, ..PcapHeader::default() };
    let mut writer = PcapWriter::with_header(File::create(&path).unwrap(), header).unwrap();
    for seq in 0..1000u16 {
        let frame = g711_frame(if seq % 10 == 0 { 5060 } else { 20000 }, seq);
        let ts = Duration::from_secs(1_700_000_000) + Duration::from_millis(u64::from(seq) * 20);
        writer.write_packet(&PcapPacket::new(ts, frame.len() as u32, &frame)).unwrap();
    }
    drop(writer);
    let mut source = PcapSource::open(&path, ReplaySpeed::AsFastAsPossible, [20000]).unwrap();
    assert_eq!(source.recv_batch(&mut batch, Duration::from_secs(1)).unwrap(), 64); // warm-up
    let region = Region::new(GLOBAL);
    let mut delivered = 64;
    loop {
        match source.recv_batch(&mut batch, Duration::from_secs(1)) {
            Ok(n) => delivered += n,
            Err(e) => {
                assert!(e.is_end_of_capture(), "{e}");
                break;
            }
        }
    }
    let stats = region.change();
    assert_eq!(delivered, 900);
    // The end-of-capture error names the source: one String, once.
    assert!(
        stats.allocations <= 1 && stats.reallocations == 0,
        "PcapSource allocated while replaying 1000 frames: {stats:?}"
    );

    // --- the parser ---
    let frame = g711_frame(20000, 1);
    let region = Region::new(GLOBAL);
    for _ in 0..1000 {
        let p = callguard_packet::parse_ethernet(&frame).unwrap();
        assert_eq!(p.payload.len(), 172);
    }
    assert_eq!(region.change().allocations, 0);
}
