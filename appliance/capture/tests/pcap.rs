//! `PcapSource` over pcap and pcapng files that the tests write themselves.

use std::borrow::Cow;
use std::fs::File;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use callguard_capture::{
    CaptureError, PacketBatch, PacketSource, ParseErrorKind, PcapSource, ReplaySpeed, SourceMode, TimestampKind,
};
use callguard_packet::{LinkType, parse};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{InterfaceDescriptionBlock, InterfaceDescriptionOption};

const MEDIA: [u16; 3] = [20000, 20002, 20004];
const V4_SRC: [u8; 4] = [198, 18, 0, 1];
const V4_DST: [u8; 4] = [198, 18, 0, 2];
const V6_SRC: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_DST: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

// ---- frame builders -------------------------------------------------------

fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    out
}

fn ipv4(protocol: u8, flags_fragment: u16, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap();
    let mut out = vec![0x45, 0];
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&[0xab, 0xcd]);
    out.extend_from_slice(&flags_fragment.to_be_bytes());
    out.extend_from_slice(&[64, protocol, 0, 0]);
    out.extend_from_slice(&V4_SRC);
    out.extend_from_slice(&V4_DST);
    out.extend_from_slice(payload);
    out
}

fn ipv6(next_header: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x60, 0, 0, 0];
    out.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&[next_header, 64]);
    out.extend_from_slice(&V6_SRC);
    out.extend_from_slice(&V6_DST);
    out.extend_from_slice(payload);
    out
}

fn ethernet(tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    for (tpid, vid) in tags {
        out.extend_from_slice(&tpid.to_be_bytes());
        out.extend_from_slice(&vid.to_be_bytes());
    }
    out.extend_from_slice(&ethertype.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn sll(protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
    out.extend_from_slice(&protocol.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The recorded traffic: 11 Ethernet frames 100 ms apart (1.0 s in all),
/// media and everything else a capture on a media interface sees.
fn ethernet_traffic() -> Vec<Vec<u8>> {
    let big = udp(4000, 20002, &[0x55; 1600]);
    let mut hop_by_hop = vec![17, 0, 1, 4, 0, 0, 0, 0];
    hop_by_hop.extend(udp(4000, 20004, b"v6-ext"));
    vec![
        ethernet(&[], 0x0800, &ipv4(17, 0x4000, &udp(4000, 20000, b"plain"))),
        ethernet(&[], 0x0806, &[0; 28]),
        ethernet(&[(0x8100, 100)], 0x0800, &ipv4(17, 0, &udp(4000, 20002, b"vlan"))),
        ethernet(&[], 0x0800, &ipv4(17, 0, &udp(4000, 5060, b"INVITE"))),
        ethernet(&[(0x88a8, 300), (0x8100, 100)], 0x86dd, &ipv6(17, &udp(4000, 20000, b"qinq-v6"))),
        ethernet(&[], 0x0800, &ipv4(6, 0x4000, &[0; 20])),
        ethernet(&[], 0x0800, &ipv4(17, 0x2000, &big[..1480])),
        ethernet(&[], 0x0800, &ipv4(17, 1480 / 8, &big[1480..])),
        ethernet(&[], 0x86dd, &ipv6(0, &hop_by_hop)),
        ethernet(&[], 0x0800, &ipv4(17, 0, &udp(4000, 20000, b""))),
        ethernet(&[], 0x0800, &ipv4(17, 0, &udp(4000, 20000, b"last"))),
    ]
}

const BASE_SECS: u64 = 1_700_000_000;

fn at(index: usize) -> Duration {
    Duration::from_secs(BASE_SECS) + Duration::from_millis(100 * index as u64)
}

// ---- file writers ---------------------------------------------------------

fn write_pcap(path: &Path, linktype: DataLink, frames: &[Vec<u8>]) {
    let header = PcapHeader { datalink: linktype, ..PcapHeader::default() };
    let mut writer = PcapWriter::with_header(File::create(path).unwrap(), header).unwrap();
    for (i, frame) in frames.iter().enumerate() {
        let len = u32::try_from(frame.len()).unwrap();
        writer.write_packet(&PcapPacket::new(at(i), len, frame)).unwrap();
    }
}

/// Interfaces: 0 Ethernet (nanosecond stamps), 1 raw IP and 2 Linux SLL
/// (default microsecond stamps), 3 IEEE 802.11 (not parsed). The Ethernet
/// traffic goes on 0; one datagram each on 1 and 2; one frame on 3.
fn write_pcapng(path: &Path) {
    let mut writer = PcapNgWriter::new(File::create(path).unwrap()).unwrap();
    for (linktype, options) in [
        (DataLink::ETHERNET, vec![InterfaceDescriptionOption::IfTsResol(9)]),
        (DataLink::RAW, vec![]),
        (DataLink::LINUX_SLL, vec![]),
        (DataLink::IEEE802_11, vec![]),
    ] {
        writer.write_pcapng_block(InterfaceDescriptionBlock { linktype, snaplen: 0, options }).unwrap();
    }
    let block = |interface_id: u32, raw: Duration, frame: &[u8]| EnhancedPacketBlock {
        interface_id,
        timestamp: raw,
        original_len: u32::try_from(frame.len()).unwrap(),
        data: Cow::Owned(frame.to_vec()),
        options: vec![],
    };
    let micros = |d: Duration| Duration::from_nanos(u64::try_from(d.as_micros()).unwrap());
    let traffic = ethernet_traffic();
    for (i, frame) in traffic.iter().enumerate() {
        writer.write_pcapng_block(block(0, at(i), frame)).unwrap();
        if i == 5 {
            let raw = ipv4(17, 0, &udp(4001, 20004, b"raw-ip"));
            writer.write_pcapng_block(block(1, micros(at(5) + Duration::from_millis(50)), &raw)).unwrap();
            let cooked = sll(0x86dd, &ipv6(17, &udp(4002, 20002, b"cooked")));
            writer.write_pcapng_block(block(2, micros(at(5) + Duration::from_millis(60)), &cooked)).unwrap();
            writer.write_pcapng_block(block(3, micros(at(5) + Duration::from_millis(70)), &[0; 30])).unwrap();
        }
    }
}

// ---- replay helpers -------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Seen {
    src: SocketAddr,
    dst: SocketAddr,
    payload: Vec<u8>,
    vlan: Option<u16>,
    outer_vlan: Option<u16>,
    first_fragment: bool,
    timestamp: SystemTime,
}

/// Replay to the end, with `timeout` per call; also returns how many calls
/// returned 0 (timed out).
fn replay(source: &mut PcapSource, timeout: Duration) -> (Vec<Seen>, usize) {
    let mut batch = PacketBatch::new(4, 2048);
    let mut seen = Vec::new();
    let mut empty_calls = 0;
    loop {
        match source.recv_batch(&mut batch, timeout) {
            Ok(0) => empty_calls += 1,
            Ok(n) => {
                assert_eq!(n, batch.len());
                for r in &batch {
                    assert_eq!(r.timestamp_kind, TimestampKind::Recorded);
                    let p = r.packet;
                    seen.push(Seen {
                        src: p.src,
                        dst: p.dst,
                        payload: p.payload.to_vec(),
                        vlan: p.vlan,
                        outer_vlan: p.outer_vlan,
                        first_fragment: p.first_fragment,
                        timestamp: r.timestamp,
                    });
                }
            }
            Err(e) if e.is_end_of_capture() => return (seen, empty_calls),
            Err(e) => panic!("replay failed: {e}"),
        }
        assert!(empty_calls < 10_000, "replay does not end");
    }
}

/// What a live source would deliver for these frames: the parsed UDP
/// datagrams to media ports.
fn expected(frames: &[(usize, LinkType, Vec<u8>)], timestamp: impl Fn(usize) -> Duration) -> Vec<Seen> {
    frames
        .iter()
        .filter_map(|(i, link, frame)| {
            let p = parse(*link, frame).ok()?;
            MEDIA.contains(&p.dst.port()).then(|| Seen {
                src: p.src,
                dst: p.dst,
                payload: p.payload.to_vec(),
                vlan: p.vlan,
                outer_vlan: p.outer_vlan,
                first_fragment: p.first_fragment,
                timestamp: SystemTime::UNIX_EPOCH + timestamp(*i),
            })
        })
        .collect()
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

// ---- tests ----------------------------------------------------------------

#[test]
fn pcap_at_full_speed_yields_the_media_datagrams() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("media.pcap");
    let traffic = ethernet_traffic();
    write_pcap(&path, DataLink::ETHERNET, &traffic);

    let mut source = PcapSource::open(&path, ReplaySpeed::AsFastAsPossible, MEDIA).unwrap();
    assert_eq!(source.mode(), SourceMode::Pcap);
    assert_eq!(source.name(), format!("pcap {}", path.display()));
    let start = Instant::now();
    let (seen, _) = replay(&mut source, Duration::from_secs(1));
    assert!(start.elapsed() < Duration::from_millis(500), "no pacing at full speed");

    let frames: Vec<_> = traffic.iter().cloned().enumerate().map(|(i, f)| (i, LinkType::Ethernet, f)).collect();
    assert_eq!(seen, expected(&frames, at));

    // Checked by hand too, not only against the parser.
    let summary: Vec<_> =
        seen.iter().map(|s| (s.dst.port(), s.payload.len(), s.vlan, s.outer_vlan, s.first_fragment)).collect();
    assert_eq!(
        summary,
        vec![
            (20000, 5, None, None, false),
            (20002, 4, Some(100), None, false),
            (20000, 7, Some(100), Some(300), false),
            (20002, 1472, None, None, true),
            (20004, 6, None, None, false),
            (20000, 0, None, None, false),
            (20000, 4, None, None, false),
        ]
    );
    assert_eq!(seen[0].src, addr("198.18.0.1:4000"));
    assert_eq!(seen[2].dst, addr("[2001:db8::2]:20000"));
    assert_eq!(seen[0].timestamp, SystemTime::UNIX_EPOCH + at(0));
    assert_eq!(seen[6].timestamp, SystemTime::UNIX_EPOCH + at(10));

    let c = source.counters();
    assert_eq!((c.received, c.delivered, c.filtered, c.truncated, c.dropped), (11, 7, 1, 0, 0));
    assert_eq!(c.parse_errors.get(ParseErrorKind::UnsupportedEtherType), 1);
    assert_eq!(c.parse_errors.get(ParseErrorKind::NotUdp), 1);
    assert_eq!(c.parse_errors.get(ParseErrorKind::Fragment), 1);
    assert_eq!(c.parse_errors.total(), 3);
    assert_eq!(c.received, c.delivered + c.filtered + c.truncated + c.parse_errors.total());

    // Exhausted stays exhausted.
    let mut batch = PacketBatch::new(4, 2048);
    let err = source.recv_batch(&mut batch, Duration::ZERO).unwrap_err();
    assert!(err.is_end_of_capture());
    assert_eq!(err.to_string(), format!("end of capture: pcap {} has no more packets", path.display()));
}

#[test]
fn pcap_at_recorded_speed_keeps_the_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("paced.pcap");
    let traffic = ethernet_traffic();
    write_pcap(&path, DataLink::ETHERNET, &traffic);

    let mut source = PcapSource::open(&path, ReplaySpeed::Recorded, MEDIA).unwrap();
    assert_eq!(source.speed(), ReplaySpeed::Recorded);
    let start = Instant::now();
    // A per-call timeout shorter than the 100 ms gaps: calls time out empty
    // between packets instead of sleeping past the caller's deadline.
    let (seen, empty_calls) = replay(&mut source, Duration::from_millis(30));
    let elapsed = start.elapsed();
    // The file spans 1.0 s from first to last packet.
    assert!(elapsed >= Duration::from_millis(900), "replay took only {elapsed:?}");
    assert!(empty_calls >= 5, "only {empty_calls} empty calls");
    let frames: Vec<_> = traffic.iter().cloned().enumerate().map(|(i, f)| (i, LinkType::Ethernet, f)).collect();
    assert_eq!(seen, expected(&frames, at), "same datagrams as at full speed");
}

#[test]
fn pcapng_with_several_link_types_and_resolutions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.pcapng");
    write_pcapng(&path);
    let mut source = PcapSource::open(&path, ReplaySpeed::AsFastAsPossible, MEDIA).unwrap();
    let (seen, _) = replay(&mut source, Duration::from_secs(1));

    let traffic = ethernet_traffic();
    let frames: Vec<_> = traffic.iter().cloned().enumerate().map(|(i, f)| (i, LinkType::Ethernet, f)).collect();
    let mut want = expected(&frames, at);
    // The raw-IP and cooked datagrams, in file order after frame 5.
    let raw = Seen {
        src: addr("198.18.0.1:4001"),
        dst: addr("198.18.0.2:20004"),
        payload: b"raw-ip".to_vec(),
        vlan: None,
        outer_vlan: None,
        first_fragment: false,
        timestamp: SystemTime::UNIX_EPOCH + at(5) + Duration::from_millis(50),
    };
    let cooked = Seen {
        src: addr("[2001:db8::1]:4002"),
        dst: addr("[2001:db8::2]:20002"),
        payload: b"cooked".to_vec(),
        timestamp: SystemTime::UNIX_EPOCH + at(5) + Duration::from_millis(60),
        ..raw.clone()
    };
    let after_five = want.iter().position(|s| s.timestamp > SystemTime::UNIX_EPOCH + at(5)).unwrap();
    want.insert(after_five, cooked);
    want.insert(after_five, raw);
    assert_eq!(seen, want);

    let c = source.counters();
    assert_eq!((c.received, c.delivered, c.filtered), (14, 9, 1));
    // The 802.11 frame is counted with the non-IP frames.
    assert_eq!(c.parse_errors.get(ParseErrorKind::UnsupportedEtherType), 2);
}

#[test]
fn port_set_changes_apply_to_the_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ports.pcap");
    write_pcap(&path, DataLink::ETHERNET, &ethernet_traffic());
    let mut source = PcapSource::open(&path, ReplaySpeed::AsFastAsPossible, [20000]).unwrap();
    let ports = source.ports();
    assert!(ports.remove(20000));
    ports.add(5060).unwrap();
    ports.add(20004).unwrap();
    assert_eq!(ports.to_vec(), vec![5060, 20004]);
    let (seen, _) = replay(&mut source, Duration::from_secs(1));
    let dst_ports: Vec<u16> = seen.iter().map(|s| s.dst.port()).collect();
    assert_eq!(dst_ports, vec![5060, 20004]);
    assert_eq!(source.counters().filtered, 6);
}

#[test]
fn raw_ip_pcap_and_batch_buffer_limits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.pcap");
    let frames = vec![ipv4(17, 0, &udp(1, 20000, &[1; 100])), ipv6(17, &udp(1, 20000, &[2; 10]))];
    write_pcap(&path, DataLink::RAW, &frames);
    let mut source = PcapSource::open(&path, ReplaySpeed::AsFastAsPossible, [20000]).unwrap();
    let mut batch = PacketBatch::new(8, 64); // too small for the 100-byte payload
    let n = source.recv_batch(&mut batch, Duration::from_secs(1)).unwrap();
    assert_eq!(n, 1);
    assert_eq!(batch.get(0).unwrap().packet.payload, &[2; 10][..]);
    let c = source.counters();
    assert_eq!((c.delivered, c.truncated), (1, 1));
}

#[test]
fn unreadable_files_are_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("missing.pcap");
    let err = PcapSource::open(&missing, ReplaySpeed::Recorded, MEDIA).err().unwrap();
    assert!(matches!(err, CaptureError::OpenFile { .. }));
    assert!(
        err.to_string().starts_with(&format!("cannot open capture file {}: No such file", missing.display())),
        "{err}"
    );

    let garbage = dir.path().join("garbage.pcap");
    std::fs::write(&garbage, b"this is not a capture file at all").unwrap();
    let err = PcapSource::open(&garbage, ReplaySpeed::Recorded, MEDIA).err().unwrap();
    assert!(matches!(err, CaptureError::ReadFile { .. }), "{err:?}");
    assert!(err.to_string().contains("garbage.pcap"), "{err}");

    let wifi = dir.path().join("wifi.pcap");
    write_pcap(&wifi, DataLink::IEEE802_11, &[vec![0; 30]]);
    let err = PcapSource::open(&wifi, ReplaySpeed::Recorded, MEDIA).err().unwrap();
    assert!(matches!(err, CaptureError::UnsupportedLinkType { linktype: 105, .. }), "{err:?}");
    assert!(err.to_string().contains("link type 105 is not supported"), "{err}");

    // A file cut in the middle of a packet: what precedes the cut is replayed,
    // then the damage is reported.
    let cut = dir.path().join("cut.pcap");
    write_pcap(&cut, DataLink::ETHERNET, &ethernet_traffic());
    let bytes = std::fs::read(&cut).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 3]).unwrap();
    let mut source = PcapSource::open(&cut, ReplaySpeed::AsFastAsPossible, MEDIA).unwrap();
    let mut batch = PacketBatch::new(64, 2048);
    let mut delivered = 0;
    let err = loop {
        match source.recv_batch(&mut batch, Duration::from_secs(1)) {
            Ok(n) => delivered += n,
            Err(e) => break e,
        }
    };
    assert!(!err.is_end_of_capture(), "a damaged file is not a clean end: {err}");
    assert!(err.to_string().contains("cut.pcap"), "{err}");
    assert_eq!(delivered, 6, "the datagrams before the cut are delivered");
    assert!(source.recv_batch(&mut batch, Duration::ZERO).unwrap_err().is_end_of_capture());
}
