//! The parsers: link layer, VLAN tags, IPv4, IPv6 extension headers, UDP.
//!
//! Every read goes through `get`, so no input can index out of bounds.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::error::{Layer, ParseError};
use crate::packet::UdpPacket;

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType (TPID) of an 802.1Q VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType (TPID) of an 802.1ad service tag (QinQ outer tag).
pub const ETHERTYPE_QINQ: u16 = 0x88a8;

/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;

/// How many IPv6 extension headers are walked before giving up with
/// [`ParseError::ExtensionHeaderLimit`]. Real media traffic has none or one
/// (a fragment header); the bound keeps a hostile chain cheap.
pub const MAX_IPV6_EXTENSION_HEADERS: usize = 8;

const ETHERNET_HEADER_LEN: usize = 14;
const VLAN_TAG_LEN: usize = 4;
const SLL_HEADER_LEN: usize = 16;
const SLL2_HEADER_LEN: usize = 20;
const IPV4_MIN_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;
const UDP_HEADER_LEN: usize = 8;

const IPV6_HOP_BY_HOP: u8 = 0;
const IPV6_ROUTING: u8 = 43;
const IPV6_FRAGMENT: u8 = 44;
const IPV6_DESTINATION_OPTIONS: u8 = 60;

/// How the bytes of a captured frame begin: the pcap link type, reduced to
/// those this crate parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkType {
    /// Ethernet II, optionally with one or two VLAN tags (`DLT_EN10MB`, 1).
    Ethernet,
    /// A bare IPv4 or IPv6 packet, version from the first nibble
    /// (`LINKTYPE_RAW` 101, `DLT_RAW` 12 or 14).
    RawIp,
    /// A bare IPv4 packet (`LINKTYPE_IPV4`, 228).
    Ipv4,
    /// A bare IPv6 packet (`LINKTYPE_IPV6`, 229).
    Ipv6,
    /// Linux cooked capture v1, 16-byte header (`LINKTYPE_LINUX_SLL`, 113).
    LinuxSll,
    /// Linux cooked capture v2, 20-byte header (`LINKTYPE_LINUX_SLL2`, 276).
    LinuxSll2,
}

impl LinkType {
    /// The link type for a pcap/pcapng `LINKTYPE_*` (or `DLT_*`) number, or
    /// `None` for one this crate does not parse.
    pub const fn from_linktype(code: u32) -> Option<Self> {
        match code {
            1 => Some(Self::Ethernet),
            12 | 14 | 101 => Some(Self::RawIp),
            228 => Some(Self::Ipv4),
            229 => Some(Self::Ipv6),
            113 => Some(Self::LinuxSll),
            276 => Some(Self::LinuxSll2),
            _ => None,
        }
    }

    /// The canonical `LINKTYPE_*` number, as written in a pcap file header.
    pub const fn linktype(self) -> u32 {
        match self {
            Self::Ethernet => 1,
            Self::RawIp => 101,
            Self::Ipv4 => 228,
            Self::Ipv6 => 229,
            Self::LinuxSll => 113,
            Self::LinuxSll2 => 276,
        }
    }
}

/// Parse a frame of the given link type down to its UDP datagram.
pub fn parse(link: LinkType, data: &[u8]) -> Result<UdpPacket<'_>, ParseError> {
    match link {
        LinkType::Ethernet => parse_ethernet(data),
        LinkType::RawIp => parse_ip(data),
        LinkType::Ipv4 => parse_ipv4(data, Tags::NONE),
        LinkType::Ipv6 => parse_ipv6(data, Tags::NONE),
        LinkType::LinuxSll => parse_linux_sll(data),
        LinkType::LinuxSll2 => parse_linux_sll2(data),
    }
}

/// Parse an Ethernet II frame (FCS not included), with up to two VLAN tags
/// (802.1Q `0x8100` or 802.1ad `0x88a8`).
pub fn parse_ethernet(frame: &[u8]) -> Result<UdpPacket<'_>, ParseError> {
    let ethertype = be16(frame, 12).ok_or(ParseError::Truncated { layer: Layer::Link })?;
    let rest = frame.get(ETHERNET_HEADER_LEN..).unwrap_or_default();
    dispatch_ethertype(ethertype, rest)
}

/// Parse a bare IP packet, IPv4 or IPv6 by its version nibble (what a raw-IP
/// capture or a tunnel interface delivers).
pub fn parse_ip(packet: &[u8]) -> Result<UdpPacket<'_>, ParseError> {
    match packet.first().map(|b| b >> 4) {
        Some(4) => parse_ipv4(packet, Tags::NONE),
        Some(6) => parse_ipv6(packet, Tags::NONE),
        Some(v) => Err(ParseError::BadIpVersion(v)),
        None => Err(ParseError::Truncated { layer: Layer::Ipv4 }),
    }
}

/// Parse a Linux cooked capture v1 frame (`tcpdump -i any` before libpcap 1.10).
pub fn parse_linux_sll(frame: &[u8]) -> Result<UdpPacket<'_>, ParseError> {
    let protocol = be16(frame, 14).ok_or(ParseError::Truncated { layer: Layer::Link })?;
    dispatch_ethertype(protocol, frame.get(SLL_HEADER_LEN..).unwrap_or_default())
}

/// Parse a Linux cooked capture v2 frame (`tcpdump -i any` from libpcap 1.10).
pub fn parse_linux_sll2(frame: &[u8]) -> Result<UdpPacket<'_>, ParseError> {
    if frame.len() < SLL2_HEADER_LEN {
        return Err(ParseError::Truncated { layer: Layer::Link });
    }
    let protocol = be16(frame, 0).ok_or(ParseError::Truncated { layer: Layer::Link })?;
    dispatch_ethertype(protocol, frame.get(SLL2_HEADER_LEN..).unwrap_or_default())
}

/// VLAN IDs collected on the way down, outermost first.
#[derive(Clone, Copy)]
struct Tags {
    ids: [u16; 2],
    count: usize,
}

impl Tags {
    const NONE: Self = Self { ids: [0; 2], count: 0 };

    fn inner(self) -> Option<u16> {
        self.count.checked_sub(1).and_then(|i| self.ids.get(i).copied())
    }

    fn outer(self) -> Option<u16> {
        (self.count == 2).then_some(self.ids[0])
    }
}

/// Follow an EtherType (and the VLAN tags it may announce) to IPv4 or IPv6.
fn dispatch_ethertype(mut ethertype: u16, mut rest: &[u8]) -> Result<UdpPacket<'_>, ParseError> {
    let mut tags = Tags::NONE;
    loop {
        match ethertype {
            ETHERTYPE_IPV4 => return parse_ipv4(rest, tags),
            ETHERTYPE_IPV6 => return parse_ipv6(rest, tags),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ => {
                if tags.count == tags.ids.len() {
                    return Err(ParseError::TooManyVlanTags);
                }
                let tci = be16(rest, 0).ok_or(ParseError::Truncated { layer: Layer::Vlan })?;
                ethertype = be16(rest, 2).ok_or(ParseError::Truncated { layer: Layer::Vlan })?;
                tags.ids[tags.count] = tci & 0x0fff;
                tags.count += 1;
                rest = rest.get(VLAN_TAG_LEN..).unwrap_or_default();
            }
            other => return Err(ParseError::UnsupportedEtherType(other)),
        }
    }
}

fn parse_ipv4(packet: &[u8], tags: Tags) -> Result<UdpPacket<'_>, ParseError> {
    const TRUNCATED: ParseError = ParseError::Truncated { layer: Layer::Ipv4 };
    check_version(packet, 4, TRUNCATED)?;
    let header = packet.get(..IPV4_MIN_HEADER_LEN).ok_or(TRUNCATED)?;
    let ihl_words = header[0] & 0x0f;
    let header_len = usize::from(ihl_words) * 4;
    if header_len < IPV4_MIN_HEADER_LEN {
        return Err(ParseError::BadIpHeaderLength(ihl_words));
    }
    let total_len = u16::from_be_bytes([header[2], header[3]]);
    if usize::from(total_len) < header_len {
        return Err(ParseError::BadIpTotalLength(total_len));
    }
    // Bytes past the total length are link padding (a 60-byte minimum frame).
    let packet = packet.get(..usize::from(total_len)).ok_or(TRUNCATED)?;
    let protocol = header[9];
    if protocol != IPPROTO_UDP {
        return Err(ParseError::NotUdp(protocol));
    }
    let flags_fragment = u16::from_be_bytes([header[6], header[7]]);
    if flags_fragment & 0x1fff != 0 {
        return Err(ParseError::Fragment);
    }
    let more_fragments = flags_fragment & 0x2000 != 0;
    let src = Ipv4Addr::new(header[12], header[13], header[14], header[15]);
    let dst = Ipv4Addr::new(header[16], header[17], header[18], header[19]);
    let udp = packet.get(header_len..).ok_or(TRUNCATED)?;
    let (src_port, dst_port, payload) = parse_udp(udp, more_fragments)?;
    Ok(UdpPacket {
        src: SocketAddr::V4(SocketAddrV4::new(src, src_port)),
        dst: SocketAddr::V4(SocketAddrV4::new(dst, dst_port)),
        payload,
        vlan: tags.inner(),
        outer_vlan: tags.outer(),
        first_fragment: more_fragments,
    })
}

fn parse_ipv6(packet: &[u8], tags: Tags) -> Result<UdpPacket<'_>, ParseError> {
    const TRUNCATED: ParseError = ParseError::Truncated { layer: Layer::Ipv6 };
    const TRUNCATED_EXT: ParseError = ParseError::Truncated { layer: Layer::Ipv6Extension };
    check_version(packet, 6, TRUNCATED)?;
    let header = packet.get(..IPV6_HEADER_LEN).ok_or(TRUNCATED)?;
    let payload_len = u16::from_be_bytes([header[4], header[5]]);
    if payload_len == 0 {
        return Err(ParseError::Ipv6Jumbogram);
    }
    let packet = packet.get(..IPV6_HEADER_LEN + usize::from(payload_len)).ok_or(TRUNCATED)?;
    let mut next_header = header[6];
    let mut offset = IPV6_HEADER_LEN;
    let mut walked = 0;
    let mut more_fragments = false;
    while next_header != IPPROTO_UDP {
        let header_len = match next_header {
            IPV6_HOP_BY_HOP | IPV6_ROUTING | IPV6_DESTINATION_OPTIONS => {
                let len_units = *packet.get(offset + 1).ok_or(TRUNCATED_EXT)?;
                (usize::from(len_units) + 1) * 8
            }
            IPV6_FRAGMENT => {
                let fragment = be16(packet, offset + 2).ok_or(TRUNCATED_EXT)?;
                if fragment >> 3 != 0 {
                    return Err(ParseError::Fragment);
                }
                more_fragments |= fragment & 1 != 0;
                8
            }
            other => return Err(ParseError::NotUdp(other)),
        };
        walked += 1;
        if walked > MAX_IPV6_EXTENSION_HEADERS {
            return Err(ParseError::ExtensionHeaderLimit);
        }
        next_header = *packet.get(offset).ok_or(TRUNCATED_EXT)?;
        offset += header_len;
        if offset > packet.len() {
            return Err(TRUNCATED_EXT);
        }
    }
    let src = ipv6_at(header, 8);
    let dst = ipv6_at(header, 24);
    let udp = packet.get(offset..).unwrap_or_default();
    let (src_port, dst_port, payload) = parse_udp(udp, more_fragments)?;
    Ok(UdpPacket {
        src: SocketAddr::V6(SocketAddrV6::new(src, src_port, 0, 0)),
        dst: SocketAddr::V6(SocketAddrV6::new(dst, dst_port, 0, 0)),
        payload,
        vlan: tags.inner(),
        outer_vlan: tags.outer(),
        first_fragment: more_fragments,
    })
}

/// Ports and payload of a UDP datagram that `ip_payload` holds (the IP
/// payload, already cut to the IP length). A first fragment holds less than
/// the UDP length: its payload is what is there.
fn parse_udp(ip_payload: &[u8], first_fragment: bool) -> Result<(u16, u16, &[u8]), ParseError> {
    const TRUNCATED: ParseError = ParseError::Truncated { layer: Layer::Udp };
    let header = ip_payload.get(..UDP_HEADER_LEN).ok_or(TRUNCATED)?;
    let src_port = u16::from_be_bytes([header[0], header[1]]);
    let dst_port = u16::from_be_bytes([header[2], header[3]]);
    let udp_len = u16::from_be_bytes([header[4], header[5]]);
    if usize::from(udp_len) < UDP_HEADER_LEN {
        return Err(ParseError::BadUdpLength(udp_len));
    }
    let end = if first_fragment { usize::from(udp_len).min(ip_payload.len()) } else { usize::from(udp_len) };
    let payload = ip_payload.get(UDP_HEADER_LEN..end).ok_or(TRUNCATED)?;
    Ok((src_port, dst_port, payload))
}

/// The version nibble, checked before any length so that a packet of the
/// other IP version is named as such.
fn check_version(packet: &[u8], expected: u8, truncated: ParseError) -> Result<(), ParseError> {
    let version = packet.first().ok_or(truncated)? >> 4;
    if version == expected { Ok(()) } else { Err(ParseError::BadIpVersion(version)) }
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let pair = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([pair[0], pair[1]]))
}

fn ipv6_at(header: &[u8], at: usize) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    if let Some(src) = header.get(at..at + 16) {
        octets.copy_from_slice(src);
    }
    Ipv6Addr::from(octets)
}
