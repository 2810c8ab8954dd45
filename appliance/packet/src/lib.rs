//! Zero-copy parsing of captured frames down to UDP datagrams, for the
//! callguard media plane (RTP arrives as UDP).
//!
//! # What it is for
//!
//! A capture source (AF_PACKET, a pcap file, later AF_XDP or DPDK) hands
//! over raw frames; the media plane wants "a UDP datagram from A to B with
//! this payload". [`parse`] (or [`parse_ethernet`], [`parse_ip`],
//! [`parse_linux_sll`], [`parse_linux_sll2`]) turns one into the other and
//! returns a [`UdpPacket`] whose payload borrows the frame.
//!
//! ```
//! use callguard_packet::{LinkType, ParseError, parse};
//!
//! // Ethernet + IPv4 + UDP 198.18.0.1:4000 -> 198.18.0.2:20000, payload "rtp".
//! let frame = [
//!     2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,          // Ethernet
//!     0x45, 0, 0, 31, 0, 0, 0x40, 0, 64, 17, 0, 0,              // IPv4
//!     198, 18, 0, 1, 198, 18, 0, 2,
//!     0x0f, 0xa0, 0x4e, 0x20, 0, 11, 0, 0,                      // UDP
//!     b'r', b't', b'p',
//! ];
//! let packet = parse(LinkType::Ethernet, &frame)?;
//! assert_eq!(packet.dst, "198.18.0.2:20000".parse().unwrap());
//! assert_eq!(packet.payload, b"rtp");
//! assert_eq!(packet.vlan, None);
//! # Ok::<(), ParseError>(())
//! ```
//!
//! # Design
//!
//! * Layers understood: Ethernet II with up to two VLAN tags (802.1Q
//!   `0x8100`, 802.1ad `0x88a8`, in any order); Linux cooked captures v1
//!   and v2; IPv4 with options (IHL honoured); IPv6 with hop-by-hop,
//!   routing, fragment and destination-options headers, at most
//!   [`MAX_IPV6_EXTENSION_HEADERS`]; UDP.
//! * Lengths are honoured: the IPv4 total length and IPv6 payload length
//!   cut off link padding, and the UDP length bounds the payload; a frame
//!   shorter than a length it declares is [`ParseError::Truncated`] at that
//!   layer. A zero-length UDP payload is a valid datagram.
//! * Fragments: a non-first fragment (offset > 0) has no UDP header and is
//!   refused as [`ParseError::Fragment`]; a first fragment (more-fragments
//!   set at offset 0) parses, flagged [`UdpPacket::first_fragment`], with
//!   only the payload bytes it carries. Reassembly is not done here.
//! * Anything else is an error value, never a panic: every read is bounds
//!   checked, and [`ParseError::kind`] gives a dense [`ParseErrorKind`] for
//!   per-kind counters. Non-UDP traffic (ARP, TCP, ICMP) is reported the
//!   same way ([`ParseError::UnsupportedEtherType`], [`ParseError::NotUdp`]).
//! * No I/O, no allocation, no `unsafe`; a fuzz target lives in `fuzz/`.
//!
//! # Limits
//!
//! * Checksums (IPv4 header, UDP) are not verified: frames captured on the
//!   receiving host often carry partial checksums from offload, and the
//!   kernel verifies them for sockets.
//! * IPv4 options and IPv6 extension headers are skipped, not interpreted
//!   (no source routing, no jumbograms: [`ParseError::Ipv6Jumbogram`]).
//!   AH, ESP, tunnels (GRE, VXLAN, IP-in-IP) and MPLS are not followed.
//! * VLAN tags that the NIC or kernel stripped before capture are not
//!   visible here; [`UdpPacket::vlan`] only reports tags in the bytes.
//! * IPv6 addresses carry no scope id: link-local peers on different
//!   interfaces look alike.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod packet;
mod parse;

pub use error::{Layer, ParseError, ParseErrorKind};
pub use packet::UdpPacket;
pub use parse::{
    ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_QINQ, ETHERTYPE_VLAN, IPPROTO_UDP, LinkType, MAX_IPV6_EXTENSION_HEADERS,
    parse, parse_ethernet, parse_ip, parse_linux_sll, parse_linux_sll2,
};
