//! Builders for the frames the verdict tests feed the program.

pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_IPV6: u16 = 0x86dd;
pub const ETH_P_ARP: u16 = 0x0806;
pub const ETH_P_8021Q: u16 = 0x8100;
pub const ETH_P_8021AD: u16 = 0x88a8;

pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const NEXTHDR_HOP: u8 = 0;
pub const NEXTHDR_ROUTING: u8 = 43;
pub const NEXTHDR_FRAGMENT: u8 = 44;
pub const NEXTHDR_DEST: u8 = 60;

/// IPv4 "more fragments" flag in the flags/offset field.
pub const IP_MF: u16 = 0x2000;

/// Ethernet header with VLAN tags: each of `tpids` is one tag (outermost
/// first), then `ethertype`.
pub fn ethernet(tpids: &[u16], ethertype: u16) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02];
    for (i, tpid) in tpids.iter().enumerate() {
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&(100 + i as u16).to_be_bytes()); // VLAN id
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f
}

/// A UDP header and payload; the length field is right unless `len`
/// overrides it.
pub fn udp_with_len(dport: u16, payload: &[u8], len: Option<u16>) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&40000u16.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    let len = len.unwrap_or((8 + payload.len()) as u16);
    u.extend_from_slice(&len.to_be_bytes());
    u.extend_from_slice(&[0, 0]); // checksum: none
    u.extend_from_slice(payload);
    u
}

pub fn udp(dport: u16, payload: &[u8]) -> Vec<u8> {
    udp_with_len(dport, payload, None)
}

/// A 12-byte RTP header and 160 bytes of "audio", as a media datagram has.
pub fn rtp_payload() -> Vec<u8> {
    let mut p = vec![0x80, 0x00, 0x12, 0x34, 0, 0, 0x03, 0x20, 0xde, 0xad, 0xbe, 0xef];
    p.extend(std::iter::repeat_n(0xd5, 160));
    p
}

fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// IPv4 header (with `options`, a multiple of 4 bytes) and `l4`.
/// `flags_frag` is the raw flags/fragment-offset field.
pub fn ipv4(options: &[u8], flags_frag: u16, proto: u8, l4: &[u8]) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0, "IPv4 options are whole 32-bit words");
    let ihl = 5 + options.len() / 4;
    assert!(ihl <= 15);
    let total = ihl * 4 + l4.len();
    let mut h = vec![0x40 | ihl as u8, 0];
    h.extend_from_slice(&(total.min(0xffff) as u16).to_be_bytes());
    h.extend_from_slice(&0x1234u16.to_be_bytes());
    h.extend_from_slice(&flags_frag.to_be_bytes());
    h.extend_from_slice(&[64, proto, 0, 0]);
    h.extend_from_slice(&[198, 18, 0, 2]);
    h.extend_from_slice(&[198, 18, 0, 1]);
    h.extend_from_slice(options);
    let sum = checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h.extend_from_slice(l4);
    h
}

/// An IPv6 extension header: `(kind, body length in 8-octet units past the
/// first 8)`; the fragment header uses `frag_offset` (in 8-octet units).
#[derive(Clone, Copy, Debug)]
pub enum Ext {
    Opts(u8, u8),
    Fragment { frag_offset: u16, more: bool },
}

/// IPv6 header, the extension headers `exts` in order, then `l4` whose
/// protocol is `last`.
pub fn ipv6(exts: &[Ext], last: u8, l4: &[u8]) -> Vec<u8> {
    let mut chain = Vec::new();
    let kinds: Vec<u8> = exts
        .iter()
        .map(|e| match e {
            Ext::Opts(kind, _) => *kind,
            Ext::Fragment { .. } => NEXTHDR_FRAGMENT,
        })
        .collect();
    for (i, ext) in exts.iter().enumerate() {
        let next = kinds.get(i + 1).copied().unwrap_or(last);
        match *ext {
            Ext::Opts(_, hdrlen) => {
                let size = (hdrlen as usize + 1) * 8;
                let mut h = vec![next, hdrlen];
                // PadN option filling the rest.
                h.push(1);
                h.push((size - 4) as u8);
                h.resize(size, 0);
                chain.extend_from_slice(&h);
            }
            Ext::Fragment { frag_offset, more } => {
                let field = (frag_offset << 3) | u16::from(more);
                chain.extend_from_slice(&[next, 0]);
                chain.extend_from_slice(&field.to_be_bytes());
                chain.extend_from_slice(&0xcafe_f00du32.to_be_bytes());
            }
        }
    }
    let first = kinds.first().copied().unwrap_or(last);
    let payload_len = chain.len() + l4.len();
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload_len.min(0xffff) as u16).to_be_bytes());
    h.extend_from_slice(&[first, 64]);
    // 2001:db8::2 -> 2001:db8::1 (documentation prefix)
    let mut src = [0u8; 16];
    src[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    let mut dst = src;
    src[15] = 2;
    dst[15] = 1;
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(&chain);
    h.extend_from_slice(l4);
    h
}

/// Concatenates an Ethernet header and what it carries.
pub fn frame(eth: Vec<u8>, l3: Vec<u8>) -> Vec<u8> {
    let mut f = eth;
    f.extend_from_slice(&l3);
    f
}
