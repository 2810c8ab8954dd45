//! Crafted frames for every layer and defect the parser knows.

use std::net::SocketAddr;

use callguard_packet::{
    ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN, Layer, LinkType, MAX_IPV6_EXTENSION_HEADERS,
    ParseError, ParseErrorKind, UdpPacket, parse, parse_ethernet, parse_ip, parse_linux_sll, parse_linux_sll2,
};

// ---- builders -------------------------------------------------------------

const V4_SRC: [u8; 4] = [198, 18, 0, 1];
const V4_DST: [u8; 4] = [198, 18, 0, 2];
const V6_SRC: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_DST: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn udp(src_port: u16, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&src_port.to_be_bytes());
    out.extend_from_slice(&dst_port.to_be_bytes());
    out.extend_from_slice(&u16::try_from(8 + payload.len()).unwrap().to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(payload);
    out
}

/// IPv4 header (with `options`, a multiple of 4 bytes) + `payload`.
fn ipv4(protocol: u8, flags_fragment: u16, options: &[u8], payload: &[u8]) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let header_len = 20 + options.len();
    let total = u16::try_from(header_len + payload.len()).unwrap();
    let mut out = vec![0x40 | u8::try_from(header_len / 4).unwrap(), 0xb8];
    out.extend_from_slice(&total.to_be_bytes());
    out.extend_from_slice(&[0x12, 0x34]);
    out.extend_from_slice(&flags_fragment.to_be_bytes());
    out.extend_from_slice(&[64, protocol, 0, 0]);
    out.extend_from_slice(&V4_SRC);
    out.extend_from_slice(&V4_DST);
    out.extend_from_slice(options);
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

/// A generic IPv6 extension header (hop-by-hop, routing, destination
/// options) of `8 * (units + 1)` bytes.
fn ext(next_header: u8, units: u8) -> Vec<u8> {
    let mut out = vec![next_header, units];
    out.resize(8 * (usize::from(units) + 1), 0);
    out
}

fn fragment_ext(next_header: u8, offset_units: u16, more: bool) -> Vec<u8> {
    let field = (offset_units << 3) | u16::from(more);
    let mut out = vec![next_header, 0];
    out.extend_from_slice(&field.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 7]);
    out
}

/// Ethernet II with VLAN tags `(tpid, tci)`, outermost first.
fn ethernet(tags: &[(u16, u16)], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    for (tpid, tci) in tags {
        out.extend_from_slice(&tpid.to_be_bytes());
        out.extend_from_slice(&tci.to_be_bytes());
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

fn sll2(protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = protocol.to_be_bytes().to_vec();
    out.extend_from_slice(&[0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
    out.extend_from_slice(payload);
    out
}

fn v4_frame(payload: &[u8]) -> Vec<u8> {
    ethernet(&[], ETHERTYPE_IPV4, &ipv4(17, 0x4000, &[], &udp(4000, 20000, payload)))
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

// ---- Ethernet and VLAN ----------------------------------------------------

#[test]
fn ethernet_ipv4_udp() {
    let frame = v4_frame(b"hello");
    let p = parse_ethernet(&frame).unwrap();
    assert_eq!(p.src, addr("198.18.0.1:4000"));
    assert_eq!(p.dst, addr("198.18.0.2:20000"));
    assert_eq!(p.payload, b"hello");
    assert_eq!((p.vlan, p.outer_vlan, p.first_fragment), (None, None, false));
    assert_eq!(parse(LinkType::Ethernet, &frame), Ok(p));
}

#[test]
fn single_vlan_tag_masks_priority_bits() {
    let ip = ipv4(17, 0, &[], &udp(1, 2, b"x"));
    // PCP 5, DEI 1, VID 100.
    let frame = ethernet(&[(ETHERTYPE_VLAN, 0xb064)], ETHERTYPE_IPV4, &ip);
    let p = parse_ethernet(&frame).unwrap();
    assert_eq!((p.vlan, p.outer_vlan), (Some(100), None));
    assert_eq!(p.payload, b"x");
}

#[test]
fn qinq_reports_inner_and_outer() {
    let ip = ipv6(17, &udp(5004, 30000, b"media"));
    for outer_tpid in [ETHERTYPE_QINQ, ETHERTYPE_VLAN] {
        let frame = ethernet(&[(outer_tpid, 200), (ETHERTYPE_VLAN, 0x0fff)], ETHERTYPE_IPV6, &ip);
        let p = parse_ethernet(&frame).unwrap();
        assert_eq!((p.vlan, p.outer_vlan), (Some(4095), Some(200)));
        assert_eq!(p.dst, addr("[2001:db8::2]:30000"));
        assert_eq!(p.payload, b"media");
    }
}

#[test]
fn three_tags_are_refused() {
    let ip = ipv4(17, 0, &[], &udp(1, 2, b""));
    let frame = ethernet(&[(ETHERTYPE_QINQ, 1), (ETHERTYPE_VLAN, 2), (ETHERTYPE_VLAN, 3)], ETHERTYPE_IPV4, &ip);
    assert_eq!(parse_ethernet(&frame), Err(ParseError::TooManyVlanTags));
}

#[test]
fn non_ip_ethertypes_are_reported() {
    let arp = ethernet(&[], 0x0806, &[0; 28]);
    assert_eq!(parse_ethernet(&arp), Err(ParseError::UnsupportedEtherType(0x0806)));
    let tagged_lldp = ethernet(&[(ETHERTYPE_VLAN, 7)], 0x88cc, &[0; 20]);
    assert_eq!(parse_ethernet(&tagged_lldp), Err(ParseError::UnsupportedEtherType(0x88cc)));
    let ieee8023 = ethernet(&[], 46, &[0; 46]);
    assert_eq!(parse_ethernet(&ieee8023), Err(ParseError::UnsupportedEtherType(46)));
}

// ---- IPv4 -----------------------------------------------------------------

#[test]
fn ipv4_options_are_skipped() {
    // IHL 7: 8 bytes of options (NOP NOP + a 6-byte timestamp-like option).
    let options = [1, 1, 68, 6, 5, 0, 0, 0];
    let frame = ethernet(&[], ETHERTYPE_IPV4, &ipv4(17, 0, &options, &udp(7, 8, b"opt")));
    let p = parse_ethernet(&frame).unwrap();
    assert_eq!((p.src.port(), p.dst.port(), p.payload), (7, 8, &b"opt"[..]));
    // The maximum: IHL 15, 40 bytes of options.
    let frame = ethernet(&[], ETHERTYPE_IPV4, &ipv4(17, 0, &[1; 40], &udp(7, 8, b"max")));
    assert_eq!(parse_ethernet(&frame).unwrap().payload, b"max");
}

#[test]
fn bad_ihl_is_refused() {
    for ihl in 0..5u8 {
        let mut ip = ipv4(17, 0, &[], &udp(1, 2, b"x"));
        ip[0] = 0x40 | ihl;
        assert_eq!(parse_ip(&ip), Err(ParseError::BadIpHeaderLength(ihl)), "IHL {ihl}");
    }
    // IHL 15 (60 bytes) on a packet whose total length is only 29.
    let mut ip = ipv4(17, 0, &[], &udp(1, 2, b"x"));
    ip[0] = 0x4f;
    assert_eq!(parse_ip(&ip), Err(ParseError::BadIpTotalLength(29)));
    // IHL 15 and a total length that claims room for it, on a short packet.
    ip[2..4].copy_from_slice(&68u16.to_be_bytes());
    assert_eq!(parse_ip(&ip), Err(ParseError::Truncated { layer: Layer::Ipv4 }));
}

#[test]
fn ipv4_total_length_cuts_padding_and_detects_truncation() {
    // A minimum 60-byte Ethernet frame: 14 + 20 + 8 + 2 = 44, padded with 16 bytes.
    let mut frame = v4_frame(b"ab");
    frame.resize(60, 0xee);
    assert_eq!(parse_ethernet(&frame).unwrap().payload, b"ab");
    // Total length beyond the frame.
    let mut frame = v4_frame(b"ab");
    frame[16..18].copy_from_slice(&40u16.to_be_bytes());
    assert_eq!(parse_ethernet(&frame), Err(ParseError::Truncated { layer: Layer::Ipv4 }));
    // Total length shorter than the header.
    frame[16..18].copy_from_slice(&19u16.to_be_bytes());
    assert_eq!(parse_ethernet(&frame), Err(ParseError::BadIpTotalLength(19)));
}

#[test]
fn ipv4_fragments() {
    let datagram = udp(4000, 20000, &[0x5a; 100]);
    // First fragment: MF set, offset 0, carries 48 bytes of the 108-byte datagram.
    let first = ethernet(&[], ETHERTYPE_IPV4, &ipv4(17, 0x2000, &[], &datagram[..56]));
    let p = parse_ethernet(&first).unwrap();
    assert!(p.first_fragment);
    assert_eq!(p.payload, &[0x5a; 48][..]);
    assert_eq!(p.dst.port(), 20000);
    // A middle fragment (MF set, offset 7 * 8 = 56).
    let later = ethernet(&[], ETHERTYPE_IPV4, &ipv4(17, 0x2007, &[], &datagram[56..]));
    assert_eq!(parse_ethernet(&later), Err(ParseError::Fragment));
    // The last fragment (MF clear, offset > 0).
    let last = ethernet(&[], ETHERTYPE_IPV4, &ipv4(17, 0x0007, &[], &datagram[56..]));
    assert_eq!(parse_ethernet(&last), Err(ParseError::Fragment));
    // A first fragment too short to hold the UDP header.
    let runt = ethernet(&[], ETHERTYPE_IPV4, &ipv4(17, 0x2000, &[], &datagram[..4]));
    assert_eq!(parse_ethernet(&runt), Err(ParseError::Truncated { layer: Layer::Udp }));
    // DF alone is not a fragment.
    let df = ethernet(&[], ETHERTYPE_IPV4, &ipv4(17, 0x4000, &[], &datagram));
    assert!(!parse_ethernet(&df).unwrap().first_fragment);
}

#[test]
fn non_udp_protocols_are_reported() {
    let tcp = ethernet(&[], ETHERTYPE_IPV4, &ipv4(6, 0, &[], &[0; 20]));
    assert_eq!(parse_ethernet(&tcp), Err(ParseError::NotUdp(6)));
    let icmp = ipv4(1, 0, &[], &[8, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(parse_ip(&icmp), Err(ParseError::NotUdp(1)));
    // A later fragment of TCP counts as not-UDP, not as a UDP fragment.
    let tcp_fragment = ipv4(6, 0x0010, &[], &[0; 8]);
    assert_eq!(parse_ip(&tcp_fragment), Err(ParseError::NotUdp(6)));
}

// ---- IPv6 -----------------------------------------------------------------

#[test]
fn ipv6_udp() {
    let frame = ethernet(&[], ETHERTYPE_IPV6, &ipv6(17, &udp(5004, 16384, b"v6")));
    let p = parse_ethernet(&frame).unwrap();
    assert_eq!(p.src, addr("[2001:db8::1]:5004"));
    assert_eq!(p.dst, addr("[2001:db8::2]:16384"));
    assert_eq!(p.payload, b"v6");
}

#[test]
fn ipv6_extension_headers_are_walked() {
    // hop-by-hop -> routing (24 bytes) -> fragment (atomic) -> dest options -> UDP
    let mut chain = ext(43, 0);
    chain.extend(ext(44, 2));
    chain.extend(fragment_ext(60, 0, false));
    chain.extend(ext(17, 1));
    chain.extend(udp(1, 2, b"chain"));
    let packet = ipv6(0, &chain);
    let p = parse_ip(&packet).unwrap();
    assert_eq!(p.payload, b"chain");
    assert!(!p.first_fragment);
}

#[test]
fn ipv6_fragment_header() {
    let datagram = udp(1, 2, &[9; 64]);
    let mut first = fragment_ext(17, 0, true);
    first.extend_from_slice(&datagram[..40]);
    let packet = ipv6(44, &first);
    let p = parse_ip(&packet).unwrap();
    assert!(p.first_fragment);
    assert_eq!(p.payload, &[9; 32][..]);

    let mut later = fragment_ext(17, 5, false);
    later.extend_from_slice(&datagram[40..]);
    assert_eq!(parse_ip(&ipv6(44, &later)), Err(ParseError::Fragment));
    // Behind a hop-by-hop header too.
    let mut chain = ext(44, 0);
    chain.extend(fragment_ext(17, 5, true));
    chain.extend_from_slice(&datagram[40..]);
    assert_eq!(parse_ip(&ipv6(0, &chain)), Err(ParseError::Fragment));
}

#[test]
fn ipv6_extension_header_limit() {
    let build = |count: usize| {
        let mut chain = Vec::new();
        for i in 0..count {
            chain.extend(ext(if i + 1 == count { 17 } else { 60 }, 0));
        }
        chain.extend(udp(1, 2, b"deep"));
        ipv6(60, &chain)
    };
    assert_eq!(parse_ip(&build(MAX_IPV6_EXTENSION_HEADERS)).unwrap().payload, b"deep");
    assert_eq!(parse_ip(&build(MAX_IPV6_EXTENSION_HEADERS + 1)), Err(ParseError::ExtensionHeaderLimit));
}

#[test]
fn ipv6_defects() {
    // Extension header longer than the packet.
    let mut chain = ext(17, 4);
    chain.truncate(16);
    assert_eq!(parse_ip(&ipv6(60, &chain)), Err(ParseError::Truncated { layer: Layer::Ipv6Extension }));
    // Not UDP: ICMPv6, no next header, ESP.
    for next in [58, 59, 50] {
        assert_eq!(parse_ip(&ipv6(next, &[0; 16])), Err(ParseError::NotUdp(next)));
    }
    let mut chain = ext(6, 0);
    chain.extend([0; 20]);
    assert_eq!(parse_ip(&ipv6(0, &chain)), Err(ParseError::NotUdp(6)));
    // Jumbogram.
    let mut jumbo = ipv6(17, &udp(1, 2, b"j"));
    jumbo[4..6].copy_from_slice(&[0, 0]);
    assert_eq!(parse_ip(&jumbo), Err(ParseError::Ipv6Jumbogram));
    // Payload length beyond the bytes.
    let mut long = ipv6(17, &udp(1, 2, b"j"));
    long[4..6].copy_from_slice(&100u16.to_be_bytes());
    assert_eq!(parse_ip(&long), Err(ParseError::Truncated { layer: Layer::Ipv6 }));
    // Wrong version for the declared layer.
    let v6 = ipv6(17, &udp(1, 2, b""));
    assert_eq!(parse(LinkType::Ipv4, &v6), Err(ParseError::BadIpVersion(6)));
    let v4 = ipv4(17, 0, &[], &udp(1, 2, b""));
    assert_eq!(parse(LinkType::Ipv6, &v4), Err(ParseError::BadIpVersion(4)));
    assert_eq!(parse_ip(&[0x50; 40]), Err(ParseError::BadIpVersion(5)));
    let v6_in_ethertype_v4 = ethernet(&[], ETHERTYPE_IPV4, &v6);
    assert_eq!(parse_ethernet(&v6_in_ethertype_v4), Err(ParseError::BadIpVersion(6)));
}

// ---- UDP ------------------------------------------------------------------

#[test]
fn zero_length_udp_payload() {
    let frame = v4_frame(b"");
    assert!(parse_ethernet(&frame).unwrap().payload.is_empty());
    let packet = ipv6(17, &udp(1, 2, b""));
    assert!(parse_ip(&packet).unwrap().payload.is_empty());
}

#[test]
fn udp_length_is_honoured() {
    // UDP length 10 inside a longer IP payload: the rest is not payload.
    let mut datagram = udp(1, 2, b"abcdef");
    datagram[4..6].copy_from_slice(&10u16.to_be_bytes());
    assert_eq!(parse_ip(&ipv4(17, 0, &[], &datagram)).unwrap().payload, b"ab");
    // UDP length past the IP payload.
    datagram[4..6].copy_from_slice(&15u16.to_be_bytes());
    assert_eq!(parse_ip(&ipv4(17, 0, &[], &datagram)), Err(ParseError::Truncated { layer: Layer::Udp }));
    // UDP length below the header (0 included).
    for bad in [0u16, 7] {
        datagram[4..6].copy_from_slice(&bad.to_be_bytes());
        assert_eq!(parse_ip(&ipv6(17, &datagram)), Err(ParseError::BadUdpLength(bad)));
    }
}

#[test]
fn jumbo_frame_of_9000_bytes() {
    let payload: Vec<u8> = (0..9000 - 14 - 20 - 8).map(|i| (i % 251) as u8).collect();
    let frame = v4_frame(&payload);
    assert_eq!(frame.len(), 9000);
    let p = parse_ethernet(&frame).unwrap();
    assert_eq!(p.payload.len(), 8958);
    assert_eq!(p.payload, &payload[..]);
    // And an IPv6 jumbo frame.
    let payload6 = &payload[..9000 - 14 - 40 - 8];
    let frame6 = ethernet(&[], ETHERTYPE_IPV6, &ipv6(17, &udp(1, 2, payload6)));
    assert_eq!(frame6.len(), 9000);
    assert_eq!(parse_ethernet(&frame6).unwrap().payload, payload6);
}

// ---- other link types -----------------------------------------------------

#[test]
fn linux_cooked_and_raw_ip() {
    let ip4 = ipv4(17, 0, &[], &udp(4000, 20000, b"sll"));
    let ip6 = ipv6(17, &udp(4000, 20000, b"sll"));
    for (link, frame) in [
        (LinkType::LinuxSll, sll(ETHERTYPE_IPV4, &ip4)),
        (LinkType::LinuxSll, sll(ETHERTYPE_IPV6, &ip6)),
        (LinkType::LinuxSll2, sll2(ETHERTYPE_IPV4, &ip4)),
        (LinkType::LinuxSll2, sll2(ETHERTYPE_IPV6, &ip6)),
        (LinkType::RawIp, ip4.clone()),
        (LinkType::RawIp, ip6.clone()),
        (LinkType::Ipv4, ip4.clone()),
        (LinkType::Ipv6, ip6.clone()),
    ] {
        let p = parse(link, &frame).unwrap_or_else(|e| panic!("{link:?}: {e}"));
        assert_eq!((p.dst.port(), p.payload), (20000, &b"sll"[..]), "{link:?}");
    }
    assert_eq!(
        parse_linux_sll(&sll(ETHERTYPE_VLAN, &[0, 42, 0x08, 0x00])),
        Err(ParseError::Truncated { layer: Layer::Ipv4 })
    );
    let mut tagged = vec![0, 42, 0x08, 0x00];
    tagged.extend_from_slice(&ip4);
    assert_eq!(parse_linux_sll2(&sll2(ETHERTYPE_VLAN, &tagged)).unwrap().vlan, Some(42));
    // Netlink in an "any" capture.
    assert_eq!(parse_linux_sll(&sll(0x0010, &[0; 20])), Err(ParseError::UnsupportedEtherType(0x0010)));
}

#[test]
fn link_type_numbers() {
    for link in
        [LinkType::Ethernet, LinkType::RawIp, LinkType::Ipv4, LinkType::Ipv6, LinkType::LinuxSll, LinkType::LinuxSll2]
    {
        assert_eq!(LinkType::from_linktype(link.linktype()), Some(link));
    }
    assert_eq!(LinkType::from_linktype(12), Some(LinkType::RawIp));
    assert_eq!(LinkType::from_linktype(0), None);
    assert_eq!(LinkType::from_linktype(105), None);
}

// ---- truncation, views, kinds ---------------------------------------------

#[test]
fn truncation_at_every_byte_is_an_error() {
    let mut v6_chain = ext(44, 0);
    v6_chain.extend(fragment_ext(17, 0, false));
    v6_chain.extend(udp(1, 2, b"payload"));
    let tagged = ethernet(
        &[(ETHERTYPE_QINQ, 10), (ETHERTYPE_VLAN, 20)],
        ETHERTYPE_IPV4,
        &ipv4(17, 0, &[1, 1, 1, 1], &udp(1, 2, b"payload")),
    );
    let cases = [
        (LinkType::Ethernet, v4_frame(b"payload")),
        (LinkType::Ethernet, v4_frame(b"")),
        (LinkType::Ethernet, tagged),
        (LinkType::Ethernet, ethernet(&[], ETHERTYPE_IPV6, &ipv6(0, &v6_chain))),
        (LinkType::LinuxSll, sll(ETHERTYPE_IPV6, &ipv6(17, &udp(1, 2, b"p")))),
        (LinkType::LinuxSll2, sll2(ETHERTYPE_IPV4, &ipv4(17, 0, &[], &udp(1, 2, b"p")))),
        (LinkType::RawIp, ipv6(60, &v6_chain)),
    ];
    for (link, frame) in cases {
        let full = parse(link, &frame).unwrap();
        for cut in 0..frame.len() {
            match parse(link, &frame[..cut]) {
                Err(ParseError::Truncated { .. }) => {}
                other => panic!("{link:?} cut at {cut} of {}: {other:?} (full: {full:?})", frame.len()),
            }
        }
    }
}

#[test]
fn payload_view_can_be_detached_and_rebuilt() {
    let frame = v4_frame(b"rtp!");
    let p = parse_ethernet(&frame).unwrap();
    let range = p.payload_range_in(&frame).unwrap();
    assert_eq!(range, 42..46);
    assert_eq!(p.payload_range_in(b"elsewhere"), None);
    let copy = frame.clone();
    let q: UdpPacket<'_> = p.with_payload(&copy[range]);
    assert_eq!(p, q);
    let header_only: UdpPacket<'static> = p.with_payload(&[]);
    assert_eq!(header_only.dst, p.dst);
    let built = UdpPacket::new(p.src, p.dst, b"rtp!");
    assert_eq!(built, p);
}

#[test]
fn error_kinds_are_dense_and_named() {
    for (i, kind) in ParseErrorKind::ALL.iter().enumerate() {
        assert_eq!(kind.index(), i);
        assert!(!kind.name().is_empty());
    }
    assert_eq!(ParseError::NotUdp(6).kind(), ParseErrorKind::NotUdp);
    assert_eq!(ParseError::Truncated { layer: Layer::Udp }.to_string(), "frame truncated in the udp header or payload");
    assert_eq!(ParseError::UnsupportedEtherType(0x806).to_string(), "EtherType 0x0806 is not IPv4, IPv6 or a VLAN tag");
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap deterministic sweep; the fuzz target goes further.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut buf = [0u8; 96];
    let seeds = [v4_frame(b"0123456789"), ethernet(&[], ETHERTYPE_IPV6, &ipv6(0, &ext(17, 0)))];
    for round in 0..20_000 {
        let seed = &seeds[round % 2];
        let len = seed.len().min(buf.len());
        buf[..len].copy_from_slice(&seed[..len]);
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state as usize) % len;
            buf[at] = (state >> 32) as u8;
        }
        for link in [LinkType::Ethernet, LinkType::RawIp, LinkType::LinuxSll, LinkType::LinuxSll2] {
            if let Ok(p) = parse(link, &buf[..len]) {
                assert!(p.payload_range_in(&buf[..len]).is_some());
            }
        }
    }
}
