//! RTP packets (RFC 3550 section 5.1): a zero-copy view of one datagram,
//! and a writer for the fixed header.

use std::fmt;

/// Length of the fixed RTP header, before any CSRC.
pub const RTP_HEADER_LEN: usize = 12;

/// Profile value of the RFC 8285 one-byte header extension form.
pub const ONE_BYTE_EXTENSION_PROFILE: u16 = 0xBEDE;

/// A defect in an RTP packet. Every variant names what was found and where,
/// so a log line is enough to tell a truncated datagram from a non-RTP one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// The version field (first two bits) is not 2.
    #[error(
        "RTP version is {version}, expected 2: not an RTP packet (STUN, DTLS or another protocol on the media port?)"
    )]
    WrongVersion {
        /// The version found.
        version: u8,
    },
    /// Shorter than the 12-byte fixed header.
    #[error("RTP packet of {len} bytes is shorter than the 12-byte fixed header")]
    TruncatedHeader {
        /// Length of the datagram.
        len: usize,
    },
    /// The CSRC count announces more identifiers than the datagram holds.
    #[error("RTP CSRC count {count} needs {needed} header bytes but the packet has {len}")]
    CsrcPastEnd {
        /// The CSRC count (0 to 15).
        count: u8,
        /// Bytes the fixed header and CSRC list need.
        needed: usize,
        /// Length of the datagram.
        len: usize,
    },
    /// The X bit is set but the header extension runs past the end.
    #[error("RTP header extension needs {needed} header bytes but the packet has {len}")]
    ExtensionPastEnd {
        /// Bytes the header up to the end of the extension needs.
        needed: usize,
        /// Length of the datagram.
        len: usize,
    },
    /// The P bit is set but the padding count is zero or larger than what
    /// follows the header.
    #[error(
        "RTP padding count {padding} is invalid: {available} bytes follow the header and the count must be 1 to {available}"
    )]
    BadPadding {
        /// The padding count (last byte of the packet).
        padding: u8,
        /// Bytes after the header (payload plus padding).
        available: usize,
    },
}

/// Which RFC 8285 form a header extension uses, told by its profile field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionForm {
    /// Profile `0xBEDE`: one-byte element headers (ID 1-14, length 1-16).
    OneByte,
    /// Profile `0x100X`: two-byte element headers; `appbits` is the low nibble.
    TwoByte {
        /// The four application bits of the profile field.
        appbits: u8,
    },
    /// Any other profile-defined extension (RFC 3550 section 5.3.1).
    Other,
}

/// The RTP header extension: its 16-bit profile field and raw data (the
/// length field counts 32-bit words, so `data().len()` is a multiple of 4).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HeaderExtension<'a> {
    profile: u16,
    data: &'a [u8],
}

impl<'a> HeaderExtension<'a> {
    /// The profile-defined 16 bits (`0xBEDE` for the one-byte form).
    pub fn profile(&self) -> u16 {
        self.profile
    }

    /// The extension data after the 4-byte extension header, unparsed.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The RFC 8285 form the profile field announces.
    pub fn form(&self) -> ExtensionForm {
        if self.profile == ONE_BYTE_EXTENSION_PROFILE {
            ExtensionForm::OneByte
        } else if self.profile & 0xFFF0 == 0x1000 {
            ExtensionForm::TwoByte { appbits: (self.profile & 0x000F) as u8 }
        } else {
            ExtensionForm::Other
        }
    }
}

impl fmt::Debug for HeaderExtension<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeaderExtension")
            .field("profile", &format_args!("{:#06x}", self.profile))
            .field("len", &self.data.len())
            .finish()
    }
}

/// The parts of the RTP header SRTP needs, found without looking at the
/// payload or its padding (which SRTP encrypts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderLayout {
    /// Bytes of fixed header, CSRC list and header extension.
    pub(crate) len: usize,
    pub(crate) sequence: u16,
    pub(crate) ssrc: u32,
}

/// Checks the version, CSRC list and extension of the header at the start
/// of `data` and says how long the header is. Padding is not looked at.
pub(crate) fn header_layout(data: &[u8]) -> Result<HeaderLayout, RtpError> {
    if data.len() < RTP_HEADER_LEN {
        // A single byte can still tell that this is not RTP at all.
        if let Some(&first) = data.first()
            && first >> 6 != 2
        {
            return Err(RtpError::WrongVersion { version: first >> 6 });
        }
        return Err(RtpError::TruncatedHeader { len: data.len() });
    }
    let first = data[0];
    if first >> 6 != 2 {
        return Err(RtpError::WrongVersion { version: first >> 6 });
    }
    let count = first & 0x0F;
    let mut len = RTP_HEADER_LEN + 4 * usize::from(count);
    if data.len() < len {
        return Err(RtpError::CsrcPastEnd { count, needed: len, len: data.len() });
    }
    if first & 0x10 != 0 {
        if data.len() < len + 4 {
            return Err(RtpError::ExtensionPastEnd { needed: len + 4, len: data.len() });
        }
        let words = usize::from(u16::from_be_bytes([data[len + 2], data[len + 3]]));
        len += 4 + 4 * words;
        if data.len() < len {
            return Err(RtpError::ExtensionPastEnd { needed: len, len: data.len() });
        }
    }
    Ok(HeaderLayout {
        len,
        sequence: u16::from_be_bytes([data[2], data[3]]),
        ssrc: u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
    })
}

/// A parsed RTP packet borrowing its datagram.
///
/// ```
/// use callguard_rtp::RtpPacket;
///
/// let datagram = [
///     0x80, 0x00, 0x12, 0x34, // V=2, PT 0 (PCMU), sequence 0x1234
///     0x00, 0x00, 0x03, 0x20, // timestamp 800
///     0xCA, 0xFE, 0xBA, 0xBE, // SSRC
///     0xFF, 0xFF,             // payload
/// ];
/// let packet = RtpPacket::parse(&datagram)?;
/// assert_eq!((packet.payload_type(), packet.sequence()), (0, 0x1234));
/// assert_eq!(packet.payload(), &[0xFF, 0xFF]);
/// # Ok::<(), callguard_rtp::RtpError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    data: &'a [u8],
    header_len: usize,
    payload_end: usize,
}

impl<'a> RtpPacket<'a> {
    /// Parses one datagram (plain RTP, or SRTP after
    /// [`SrtpReceiver::unprotect_rtp`](crate::SrtpReceiver::unprotect_rtp)).
    /// Padding is removed from the payload when the P bit is set.
    pub fn parse(data: &'a [u8]) -> Result<Self, RtpError> {
        let layout = header_layout(data)?;
        let mut payload_end = data.len();
        if data[0] & 0x20 != 0 {
            let available = data.len() - layout.len;
            let padding = data[data.len() - 1];
            if padding == 0 || usize::from(padding) > available {
                return Err(RtpError::BadPadding { padding, available });
            }
            payload_end -= usize::from(padding);
        }
        Ok(Self { data, header_len: layout.len, payload_end })
    }

    /// The RTP version: always 2 for a parsed packet.
    pub fn version(&self) -> u8 {
        self.data[0] >> 6
    }

    /// Whether the P bit is set (the padding is already cut from [`payload`](Self::payload)).
    pub fn has_padding(&self) -> bool {
        self.data[0] & 0x20 != 0
    }

    /// Whether the X bit is set.
    pub fn has_extension(&self) -> bool {
        self.data[0] & 0x10 != 0
    }

    /// Number of CSRC identifiers (0 to 15).
    pub fn csrc_count(&self) -> u8 {
        self.data[0] & 0x0F
    }

    /// The contributing sources, in header order.
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        let end = RTP_HEADER_LEN + 4 * usize::from(self.csrc_count());
        self.data[RTP_HEADER_LEN..end].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// The marker bit (start of a talkspurt for audio).
    pub fn marker(&self) -> bool {
        self.data[1] & 0x80 != 0
    }

    /// The 7-bit payload type.
    pub fn payload_type(&self) -> u8 {
        self.data[1] & 0x7F
    }

    /// The 16-bit sequence number.
    pub fn sequence(&self) -> u16 {
        u16::from_be_bytes([self.data[2], self.data[3]])
    }

    /// The RTP timestamp, in the payload format's clock units.
    pub fn timestamp(&self) -> u32 {
        u32::from_be_bytes([self.data[4], self.data[5], self.data[6], self.data[7]])
    }

    /// The synchronisation source identifier.
    pub fn ssrc(&self) -> u32 {
        u32::from_be_bytes([self.data[8], self.data[9], self.data[10], self.data[11]])
    }

    /// The header extension, when the X bit is set.
    pub fn extension(&self) -> Option<HeaderExtension<'a>> {
        if !self.has_extension() {
            return None;
        }
        let at = RTP_HEADER_LEN + 4 * usize::from(self.csrc_count());
        Some(HeaderExtension {
            profile: u16::from_be_bytes([self.data[at], self.data[at + 1]]),
            data: &self.data[at + 4..self.header_len],
        })
    }

    /// Bytes of fixed header, CSRC list and header extension.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The payload, without padding.
    pub fn payload(&self) -> &'a [u8] {
        &self.data[self.header_len..self.payload_end]
    }

    /// Number of padding bytes removed (0 when the P bit is clear).
    pub fn padding_len(&self) -> usize {
        self.data.len() - self.payload_end
    }

    /// The whole datagram as parsed.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }
}

impl fmt::Debug for RtpPacket<'_> {
    /// Header fields only: the payload is call content and is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtpPacket")
            .field("payload_type", &self.payload_type())
            .field("marker", &self.marker())
            .field("sequence", &self.sequence())
            .field("timestamp", &self.timestamp())
            .field("ssrc", &format_args!("{:#010x}", self.ssrc()))
            .field("csrc_count", &self.csrc_count())
            .field("extension", &self.extension())
            .field("payload_len", &self.payload().len())
            .field("padding_len", &self.padding_len())
            .finish()
    }
}

/// The fixed header of a packet to send: no CSRC, no extension, no padding.
/// Used by tests and by the test call generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtpHeader {
    /// Marker bit.
    pub marker: bool,
    /// Payload type (7 bits; the high bit is ignored).
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
}

impl RtpHeader {
    /// Appends the 12-byte header and then `payload` to `out`.
    pub fn write(&self, payload: &[u8], out: &mut Vec<u8>) {
        out.reserve(RTP_HEADER_LEN + payload.len());
        out.push(0x80);
        out.push(u8::from(self.marker) << 7 | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(payload);
    }

    /// The header followed by `payload`, as a new vector.
    pub fn to_packet(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        self.write(payload, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(first: u8) -> Vec<u8> {
        vec![first, 0xE0, 0xFF, 0xFE, 0, 0, 1, 0, 1, 2, 3, 4]
    }

    #[test]
    fn fixed_header_fields() {
        let mut d = header(0x80);
        d.extend_from_slice(b"abc");
        let p = RtpPacket::parse(&d).unwrap();
        assert_eq!(p.version(), 2);
        assert!(p.marker());
        assert_eq!(p.payload_type(), 0x60);
        assert_eq!(p.sequence(), 0xFFFE);
        assert_eq!(p.timestamp(), 256);
        assert_eq!(p.ssrc(), 0x0102_0304);
        assert_eq!(p.csrcs().count(), 0);
        assert_eq!(p.extension(), None);
        assert_eq!(p.payload(), b"abc");
        assert_eq!(p.header_len(), 12);
    }

    #[test]
    fn csrcs_extension_and_padding() {
        // V=2, P, X, CC=2
        let mut d = header(0x80 | 0x20 | 0x10 | 2);
        d.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 9]);
        d.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0]);
        d.extend_from_slice(b"voice");
        d.extend_from_slice(&[0, 0, 3]);
        let p = RtpPacket::parse(&d).unwrap();
        assert_eq!(p.csrcs().collect::<Vec<_>>(), vec![7, 9]);
        let ext = p.extension().unwrap();
        assert_eq!(ext.profile(), 0xBEDE);
        assert_eq!(ext.form(), ExtensionForm::OneByte);
        assert_eq!(ext.data(), &[0x10, 0xAA, 0, 0]);
        assert_eq!(p.header_len(), 12 + 8 + 8);
        assert_eq!(p.payload(), b"voice");
        assert_eq!(p.padding_len(), 3);
    }

    #[test]
    fn two_byte_and_other_extension_forms() {
        for (profile, form) in [(0x1003u16, ExtensionForm::TwoByte { appbits: 3 }), (0x1234, ExtensionForm::Other)] {
            let mut d = header(0x90);
            d.extend_from_slice(&profile.to_be_bytes());
            d.extend_from_slice(&[0, 0]);
            let p = RtpPacket::parse(&d).unwrap();
            let ext = p.extension().unwrap();
            assert_eq!(ext.form(), form);
            assert!(ext.data().is_empty());
            assert!(p.payload().is_empty());
        }
    }

    #[test]
    fn errors() {
        assert_eq!(RtpPacket::parse(&[0x80; 11]), Err(RtpError::TruncatedHeader { len: 11 }));
        assert_eq!(RtpPacket::parse(&[]), Err(RtpError::TruncatedHeader { len: 0 }));
        assert_eq!(RtpPacket::parse(&header(0x40)), Err(RtpError::WrongVersion { version: 1 }));
        assert_eq!(RtpPacket::parse(&[0x00, 0x01]), Err(RtpError::WrongVersion { version: 0 }));
        assert_eq!(RtpPacket::parse(&header(0x81)), Err(RtpError::CsrcPastEnd { count: 1, needed: 16, len: 12 }));
        let mut d = header(0x90);
        d.extend_from_slice(&[0xBE, 0xDE]);
        assert_eq!(RtpPacket::parse(&d), Err(RtpError::ExtensionPastEnd { needed: 16, len: 14 }));
        d.extend_from_slice(&[0, 2, 1, 2, 3, 4]);
        assert_eq!(RtpPacket::parse(&d), Err(RtpError::ExtensionPastEnd { needed: 24, len: 20 }));
        let mut d = header(0xA0);
        d.extend_from_slice(&[1, 2, 4]);
        assert_eq!(RtpPacket::parse(&d), Err(RtpError::BadPadding { padding: 4, available: 3 }));
        let mut d = header(0xA0);
        d.push(0);
        assert_eq!(RtpPacket::parse(&d), Err(RtpError::BadPadding { padding: 0, available: 1 }));
        // P bit with nothing after the header.
        assert!(matches!(RtpPacket::parse(&header(0xA0)), Err(RtpError::BadPadding { available: 0, .. })));
    }

    #[test]
    fn padding_may_fill_the_whole_payload() {
        let mut d = header(0xA0);
        d.extend_from_slice(&[0, 0, 0, 4]);
        let p = RtpPacket::parse(&d).unwrap();
        assert!(p.payload().is_empty());
        assert_eq!(p.padding_len(), 4);
    }

    #[test]
    fn writer_round_trips() {
        let h = RtpHeader { marker: true, payload_type: 8, sequence: 65535, timestamp: 0xDEAD_BEEF, ssrc: 42 };
        let bytes = h.to_packet(&[1, 2, 3]);
        let p = RtpPacket::parse(&bytes).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), 8);
        assert_eq!(p.sequence(), 65535);
        assert_eq!(p.timestamp(), 0xDEAD_BEEF);
        assert_eq!(p.ssrc(), 42);
        assert_eq!(p.payload(), &[1, 2, 3]);
    }

    #[test]
    fn debug_never_prints_the_payload() {
        let bytes = RtpHeader::default().to_packet(b"SECRET");
        let text = format!("{:?}", RtpPacket::parse(&bytes).unwrap());
        assert!(!text.contains("83") && text.contains("payload_len: 6"), "{text}");
    }
}
