//! The parsed view of one UDP datagram.

use std::net::SocketAddr;
use std::ops::Range;

/// One UDP datagram, as a view into the frame it was parsed from.
///
/// `payload` borrows the caller's buffer: parsing copies nothing and
/// allocates nothing. The addresses are those of the IP header (IPv6
/// addresses carry no scope id). Sources that receive through sockets build
/// it with [`UdpPacket::new`]; they never see VLAN tags or fragments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct UdpPacket<'a> {
    /// Source address and UDP port.
    pub src: SocketAddr,
    /// Destination address and UDP port.
    pub dst: SocketAddr,
    /// The UDP payload, bounded by the UDP length field (Ethernet padding and
    /// bytes past the IP length are cut off). May be empty.
    pub payload: &'a [u8],
    /// VLAN ID (12 bits) of the tag nearest the IP header: the only tag of an
    /// 802.1Q frame, the inner (customer) tag of a QinQ frame.
    pub vlan: Option<u16>,
    /// VLAN ID of the outer (service) tag of a QinQ frame; `None` with fewer
    /// than two tags.
    pub outer_vlan: Option<u16>,
    /// The datagram is the first fragment of a fragmented IP packet (IPv4 MF
    /// set at offset 0, or an IPv6 fragment header with M set at offset 0):
    /// `payload` is only what this fragment carries, shorter than the UDP
    /// length says. Later fragments are refused with
    /// [`ParseError::Fragment`](crate::ParseError::Fragment).
    pub first_fragment: bool,
}

impl<'a> UdpPacket<'a> {
    /// A datagram with no VLAN tags that is not a fragment: what a socket
    /// receives.
    pub const fn new(src: SocketAddr, dst: SocketAddr, payload: &'a [u8]) -> Self {
        Self { src, dst, payload, vlan: None, outer_vlan: None, first_fragment: false }
    }

    /// The same datagram metadata over another payload slice, typically a copy
    /// of this payload in a buffer that outlives the frame.
    pub const fn with_payload<'b>(&self, payload: &'b [u8]) -> UdpPacket<'b> {
        UdpPacket {
            src: self.src,
            dst: self.dst,
            payload,
            vlan: self.vlan,
            outer_vlan: self.outer_vlan,
            first_fragment: self.first_fragment,
        }
    }

    /// Where `payload` lies inside `buffer` (the frame this view was parsed
    /// from), or `None` when it does not lie inside it. Lets a caller keep
    /// the frame and the metadata, and rebuild the view later with
    /// [`with_payload`](Self::with_payload).
    pub fn payload_range_in(&self, buffer: &[u8]) -> Option<Range<usize>> {
        let base = buffer.as_ptr() as usize;
        let start = (self.payload.as_ptr() as usize).checked_sub(base)?;
        let end = start.checked_add(self.payload.len())?;
        (end <= buffer.len()).then_some(start..end)
    }
}
