//! Why a frame did not yield a UDP datagram.

use std::fmt;

/// The protocol layer at which a frame ended too early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Layer {
    /// The link-layer header: Ethernet II or Linux cooked capture (SLL/SLL2).
    Link,
    /// An 802.1Q / 802.1ad VLAN tag.
    Vlan,
    /// The IPv4 header, or the packet is shorter than its total length.
    Ipv4,
    /// The IPv6 fixed header, or the packet is shorter than its payload length.
    Ipv6,
    /// An IPv6 extension header (hop-by-hop, routing, fragment, destination options).
    Ipv6Extension,
    /// The UDP header, or the datagram is shorter than its UDP length.
    Udp,
}

impl Layer {
    /// A short lowercase name, for logs and metric labels.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Vlan => "vlan",
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
            Self::Ipv6Extension => "ipv6-extension",
            Self::Udp => "udp",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A frame or packet that is not a complete, inspectable UDP datagram.
///
/// Some variants are ordinary traffic rather than damage (ARP is
/// [`UnsupportedEtherType`](Self::UnsupportedEtherType), TCP is
/// [`NotUdp`](Self::NotUdp)); a capture source counts them by
/// [`kind`](Self::kind) and moves on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The bytes end before the header (or the length it declares) of `layer`.
    #[error("frame truncated in the {layer} header or payload")]
    Truncated {
        /// Where the bytes ran out.
        layer: Layer,
    },
    /// A link-layer protocol other than IPv4, IPv6 or a VLAN tag (ARP, LLDP,
    /// an 802.3 length field...).
    #[error("EtherType 0x{0:04x} is not IPv4, IPv6 or a VLAN tag")]
    UnsupportedEtherType(u16),
    /// More than two stacked VLAN tags.
    #[error("more than two stacked VLAN tags")]
    TooManyVlanTags,
    /// The IP version nibble does not match the layer it was read as.
    #[error("IP version {0} where IPv4 or IPv6 was expected")]
    BadIpVersion(u8),
    /// An IPv4 IHL below 5 words (20 bytes).
    #[error("IPv4 header length of {0} words is below the minimum of 5")]
    BadIpHeaderLength(u8),
    /// An IPv4 total length shorter than its own header.
    #[error("IPv4 total length {0} is shorter than the IPv4 header")]
    BadIpTotalLength(u16),
    /// An IPv6 packet with payload length 0 (a jumbogram, RFC 2675).
    #[error("IPv6 jumbogram (payload length 0) is not supported")]
    Ipv6Jumbogram,
    /// More IPv6 extension headers than [`MAX_IPV6_EXTENSION_HEADERS`](crate::MAX_IPV6_EXTENSION_HEADERS).
    #[error("more than {} IPv6 extension headers", crate::MAX_IPV6_EXTENSION_HEADERS)]
    ExtensionHeaderLimit,
    /// The transport protocol (IPv4 protocol or final IPv6 next header) is
    /// not UDP (17).
    #[error("IP protocol {0} is not UDP")]
    NotUdp(u8),
    /// A non-first IP fragment (offset > 0): it carries no UDP header, so it
    /// is not inspected. Reassembly is the kernel's job (sockets).
    #[error("non-first IP fragment: not inspected")]
    Fragment,
    /// A UDP length field below the 8-byte header (0 included: UDP jumbograms
    /// are not supported).
    #[error("UDP length {0} is below the 8-byte UDP header")]
    BadUdpLength(u16),
}

impl ParseError {
    /// The variant without its data, for counting errors by kind.
    pub const fn kind(&self) -> ParseErrorKind {
        match self {
            Self::Truncated { .. } => ParseErrorKind::Truncated,
            Self::UnsupportedEtherType(_) => ParseErrorKind::UnsupportedEtherType,
            Self::TooManyVlanTags => ParseErrorKind::TooManyVlanTags,
            Self::BadIpVersion(_) => ParseErrorKind::BadIpVersion,
            Self::BadIpHeaderLength(_) => ParseErrorKind::BadIpHeaderLength,
            Self::BadIpTotalLength(_) => ParseErrorKind::BadIpTotalLength,
            Self::Ipv6Jumbogram => ParseErrorKind::Ipv6Jumbogram,
            Self::ExtensionHeaderLimit => ParseErrorKind::ExtensionHeaderLimit,
            Self::NotUdp(_) => ParseErrorKind::NotUdp,
            Self::Fragment => ParseErrorKind::Fragment,
            Self::BadUdpLength(_) => ParseErrorKind::BadUdpLength,
        }
    }
}

/// [`ParseError`] without its data: a dense index for per-kind counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParseErrorKind {
    /// [`ParseError::Truncated`]
    Truncated,
    /// [`ParseError::UnsupportedEtherType`]
    UnsupportedEtherType,
    /// [`ParseError::TooManyVlanTags`]
    TooManyVlanTags,
    /// [`ParseError::BadIpVersion`]
    BadIpVersion,
    /// [`ParseError::BadIpHeaderLength`]
    BadIpHeaderLength,
    /// [`ParseError::BadIpTotalLength`]
    BadIpTotalLength,
    /// [`ParseError::Ipv6Jumbogram`]
    Ipv6Jumbogram,
    /// [`ParseError::ExtensionHeaderLimit`]
    ExtensionHeaderLimit,
    /// [`ParseError::NotUdp`]
    NotUdp,
    /// [`ParseError::Fragment`]
    Fragment,
    /// [`ParseError::BadUdpLength`]
    BadUdpLength,
}

impl ParseErrorKind {
    /// How many kinds there are.
    pub const COUNT: usize = 11;

    /// Every kind, in [`index`](Self::index) order.
    pub const ALL: [Self; Self::COUNT] = [
        Self::Truncated,
        Self::UnsupportedEtherType,
        Self::TooManyVlanTags,
        Self::BadIpVersion,
        Self::BadIpHeaderLength,
        Self::BadIpTotalLength,
        Self::Ipv6Jumbogram,
        Self::ExtensionHeaderLimit,
        Self::NotUdp,
        Self::Fragment,
        Self::BadUdpLength,
    ];

    /// Position in [`ALL`](Self::ALL), below [`COUNT`](Self::COUNT).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// A stable snake_case name, for metric labels.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Truncated => "truncated",
            Self::UnsupportedEtherType => "unsupported_ethertype",
            Self::TooManyVlanTags => "too_many_vlan_tags",
            Self::BadIpVersion => "bad_ip_version",
            Self::BadIpHeaderLength => "bad_ip_header_length",
            Self::BadIpTotalLength => "bad_ip_total_length",
            Self::Ipv6Jumbogram => "ipv6_jumbogram",
            Self::ExtensionHeaderLimit => "extension_header_limit",
            Self::NotUdp => "not_udp",
            Self::Fragment => "fragment",
            Self::BadUdpLength => "bad_udp_length",
        }
    }
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
