//! RTCP packets (RFC 3550 section 6): compound datagrams cut into packets,
//! with sender reports, receiver reports and BYE read for statistics. SDES,
//! APP and any other packet type are skipped over by their length field.

use std::fmt;

/// Packet type of a sender report.
pub const RTCP_SR: u8 = 200;
/// Packet type of a receiver report.
pub const RTCP_RR: u8 = 201;
/// Packet type of source descriptions.
pub const RTCP_SDES: u8 = 202;
/// Packet type of BYE.
pub const RTCP_BYE: u8 = 203;
/// Packet type of application-defined packets.
pub const RTCP_APP: u8 = 204;

const REPORT_BLOCK_LEN: usize = 24;

/// A defect in an RTCP datagram. `offset` is where the offending packet
/// starts inside the compound datagram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtcpError {
    /// Fewer than the 4 bytes of a common header remain.
    #[error("RTCP packet at byte {offset} is cut short: {len} bytes left, a header needs 4")]
    TruncatedHeader {
        /// Start of the packet.
        offset: usize,
        /// Bytes left from there.
        len: usize,
    },
    /// The version field is not 2.
    #[error("RTCP packet at byte {offset} has version {version}, expected 2 (not RTCP, or still SRTCP-encrypted?)")]
    WrongVersion {
        /// Start of the packet.
        offset: usize,
        /// The version found.
        version: u8,
    },
    /// The length field points past the end of the datagram.
    #[error("RTCP packet at byte {offset} declares {declared} bytes but only {available} remain")]
    LengthPastEnd {
        /// Start of the packet.
        offset: usize,
        /// Length the header declares, header included.
        declared: usize,
        /// Bytes left from the packet start.
        available: usize,
    },
    /// The P bit is set but the padding count is zero or too large.
    #[error(
        "RTCP packet at byte {offset} has padding count {padding}, must be 1 to {available} (the bytes after its header)"
    )]
    BadPadding {
        /// Start of the packet.
        offset: usize,
        /// The padding count (last byte of the packet).
        padding: u8,
        /// Bytes after the 4-byte header.
        available: usize,
    },
    /// The body is too short for its packet type and report or source count.
    #[error("RTCP packet type {packet_type} at byte {offset} with count {count} needs {needed} bytes but is {len}")]
    BodyTooShort {
        /// Start of the packet.
        offset: usize,
        /// The packet type.
        packet_type: u8,
        /// The 5-bit count field (reports, sources or APP subtype).
        count: u8,
        /// Bytes the packet needs, header included.
        needed: usize,
        /// Bytes the packet has (length field, padding removed).
        len: usize,
    },
}

/// One reception report block of an SR or RR (RFC 3550 section 6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed; duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received (cycles << 16 | highest).
    pub extended_highest_seq: u32,
    /// Interarrival jitter, in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received (LSR).
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 seconds (DLSR).
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    fn parse(b: &[u8]) -> Self {
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        // 24-bit two's complement, sign-extended.
        let lost = (i32::from_be_bytes([b[5], b[6], b[7], 0])) >> 8;
        Self {
            ssrc: word(0),
            fraction_lost: b[4],
            cumulative_lost: lost,
            extended_highest_seq: word(8),
            jitter: word(12),
            last_sr: word(16),
            delay_since_last_sr: word(20),
        }
    }

    /// Appends the 24 wire bytes (cumulative loss clamped to 24 bits).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.push(self.fraction_lost);
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF);
        out.extend_from_slice(&lost.to_be_bytes()[1..]);
        out.extend_from_slice(&self.extended_highest_seq.to_be_bytes());
        out.extend_from_slice(&self.jitter.to_be_bytes());
        out.extend_from_slice(&self.last_sr.to_be_bytes());
        out.extend_from_slice(&self.delay_since_last_sr.to_be_bytes());
    }
}

/// Report blocks of an SR or RR, read lazily.
#[derive(Clone)]
pub struct ReportBlocks<'a> {
    rest: &'a [u8],
}

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        if self.rest.len() < REPORT_BLOCK_LEN {
            return None;
        }
        let (block, rest) = self.rest.split_at(REPORT_BLOCK_LEN);
        self.rest = rest;
        Some(ReportBlock::parse(block))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.rest.len() / REPORT_BLOCK_LEN;
        (n, Some(n))
    }
}

impl ExactSizeIterator for ReportBlocks<'_> {}

impl fmt::Debug for ReportBlocks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

fn word(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A sender report (packet type 200).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SenderReport<'a> {
    /// Body after the 4-byte common header, padding removed, length checked.
    body: &'a [u8],
    count: u8,
}

impl<'a> SenderReport<'a> {
    /// SSRC of the sender.
    pub fn ssrc(&self) -> u32 {
        word(self.body, 0)
    }

    /// 64-bit NTP timestamp of the report (seconds << 32 | fraction).
    pub fn ntp_timestamp(&self) -> u64 {
        u64::from(word(self.body, 4)) << 32 | u64::from(word(self.body, 8))
    }

    /// The RTP timestamp that corresponds to [`ntp_timestamp`](Self::ntp_timestamp).
    pub fn rtp_timestamp(&self) -> u32 {
        word(self.body, 12)
    }

    /// Packets sent since the sender started.
    pub fn packet_count(&self) -> u32 {
        word(self.body, 16)
    }

    /// Payload octets sent since the sender started.
    pub fn octet_count(&self) -> u32 {
        word(self.body, 20)
    }

    /// The reception report blocks (the sender's view of what it receives).
    pub fn report_blocks(&self) -> ReportBlocks<'a> {
        let end = 24 + REPORT_BLOCK_LEN * usize::from(self.count);
        ReportBlocks { rest: &self.body[24..end] }
    }
}

impl fmt::Debug for SenderReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderReport")
            .field("ssrc", &format_args!("{:#010x}", self.ssrc()))
            .field("ntp_timestamp", &self.ntp_timestamp())
            .field("rtp_timestamp", &self.rtp_timestamp())
            .field("packet_count", &self.packet_count())
            .field("octet_count", &self.octet_count())
            .field("report_blocks", &self.report_blocks())
            .finish()
    }
}

/// A receiver report (packet type 201).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    body: &'a [u8],
    count: u8,
}

impl<'a> ReceiverReport<'a> {
    /// SSRC of the packet's sender.
    pub fn ssrc(&self) -> u32 {
        word(self.body, 0)
    }

    /// The reception report blocks.
    pub fn report_blocks(&self) -> ReportBlocks<'a> {
        let end = 4 + REPORT_BLOCK_LEN * usize::from(self.count);
        ReportBlocks { rest: &self.body[4..end] }
    }
}

impl fmt::Debug for ReceiverReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverReport")
            .field("ssrc", &format_args!("{:#010x}", self.ssrc()))
            .field("report_blocks", &self.report_blocks())
            .finish()
    }
}

/// A BYE packet (packet type 203).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Goodbye<'a> {
    body: &'a [u8],
    count: u8,
}

impl<'a> Goodbye<'a> {
    /// The sources leaving.
    pub fn ssrcs(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        self.body[..4 * usize::from(self.count)].chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// The reason for leaving, as sent (RFC 3550 says UTF-8), when present
    /// and complete.
    pub fn reason(&self) -> Option<&'a [u8]> {
        let rest = &self.body[4 * usize::from(self.count)..];
        let (&len, text) = rest.split_first()?;
        text.get(..usize::from(len))
    }
}

impl fmt::Debug for Goodbye<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ssrcs: Vec<_> = self.ssrcs().map(|s| format!("{s:#010x}")).collect();
        f.debug_struct("Goodbye")
            .field("ssrcs", &ssrcs)
            .field("reason", &self.reason().map(String::from_utf8_lossy))
            .finish()
    }
}

/// One packet of a compound RTCP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket<'a> {
    /// SR: sender information and report blocks.
    SenderReport(SenderReport<'a>),
    /// RR: report blocks.
    ReceiverReport(ReceiverReport<'a>),
    /// SDES, skipped: only the number of chunks is kept.
    SourceDescription {
        /// The source count field.
        chunks: u8,
    },
    /// BYE.
    Goodbye(Goodbye<'a>),
    /// APP, skipped: its name and sender are kept, the data is not.
    App {
        /// The 5-bit subtype.
        subtype: u8,
        /// SSRC or CSRC of the sender.
        ssrc: u32,
        /// The 4-character ASCII name.
        name: [u8; 4],
    },
    /// Any other type (feedback, XR, ...), skipped.
    Other {
        /// The packet type.
        packet_type: u8,
        /// The 5-bit count or format field.
        count: u8,
        /// Length in bytes, header included.
        len: usize,
    },
}

/// The packets of a compound RTCP datagram, cut one by one.
///
/// Every packet must have version 2 and a length inside the datagram; a
/// defect ends the iteration with one `Err`. The RFC 3550 rule that a
/// compound packet starts with SR or RR is not enforced (RFC 5506
/// reduced-size RTCP exists, and statistics are read from any SR/RR).
///
/// ```
/// use callguard_rtp::{RtcpCompound, RtcpPacket};
///
/// // An RR from 0x01020304 without report blocks, then a BYE for it.
/// let datagram = [
///     0x80, 201, 0, 1, 1, 2, 3, 4,
///     0x81, 203, 0, 1, 1, 2, 3, 4,
/// ];
/// let packets: Vec<_> = RtcpCompound::new(&datagram).collect::<Result<_, _>>()?;
/// assert!(matches!(packets[0], RtcpPacket::ReceiverReport(rr) if rr.ssrc() == 0x01020304));
/// assert!(matches!(packets[1], RtcpPacket::Goodbye(_)));
/// # Ok::<(), callguard_rtp::RtcpError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RtcpCompound<'a> {
    data: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> RtcpCompound<'a> {
    /// Starts cutting `data` (one datagram, after SRTCP unprotection if any).
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, offset: 0, failed: false }
    }

    fn next_packet(&mut self) -> Result<RtcpPacket<'a>, RtcpError> {
        let offset = self.offset;
        let rest = &self.data[offset..];
        if rest.len() < 4 {
            return Err(RtcpError::TruncatedHeader { offset, len: rest.len() });
        }
        let first = rest[0];
        if first >> 6 != 2 {
            return Err(RtcpError::WrongVersion { offset, version: first >> 6 });
        }
        let count = first & 0x1F;
        let packet_type = rest[1];
        let declared = 4 * (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1);
        if declared > rest.len() {
            return Err(RtcpError::LengthPastEnd { offset, declared, available: rest.len() });
        }
        let packet = &rest[..declared];
        let mut len = declared;
        if first & 0x20 != 0 {
            let padding = packet[declared - 1];
            if padding == 0 || usize::from(padding) > declared - 4 {
                return Err(RtcpError::BadPadding { offset, padding, available: declared - 4 });
            }
            len -= usize::from(padding);
        }
        self.offset += declared;
        let body = &packet[4..len];
        let need = |needed: usize| {
            if len < needed { Err(RtcpError::BodyTooShort { offset, packet_type, count, needed, len }) } else { Ok(()) }
        };
        Ok(match packet_type {
            RTCP_SR => {
                need(4 + 24 + REPORT_BLOCK_LEN * usize::from(count))?;
                RtcpPacket::SenderReport(SenderReport { body, count })
            }
            RTCP_RR => {
                need(4 + 4 + REPORT_BLOCK_LEN * usize::from(count))?;
                RtcpPacket::ReceiverReport(ReceiverReport { body, count })
            }
            RTCP_SDES => RtcpPacket::SourceDescription { chunks: count },
            RTCP_BYE => {
                need(4 + 4 * usize::from(count))?;
                RtcpPacket::Goodbye(Goodbye { body, count })
            }
            RTCP_APP => {
                need(12)?;
                RtcpPacket::App { subtype: count, ssrc: word(body, 0), name: [body[4], body[5], body[6], body[7]] }
            }
            _ => RtcpPacket::Other { packet_type, count, len: declared },
        })
    }
}

impl<'a> Iterator for RtcpCompound<'a> {
    type Item = Result<RtcpPacket<'a>, RtcpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.data.len() {
            return None;
        }
        let item = self.next_packet();
        self.failed = item.is_err();
        Some(item)
    }
}

impl std::iter::FusedIterator for RtcpCompound<'_> {}

/// Appends a receiver report (packet type 201) from `ssrc` carrying up to
/// 31 `blocks` (more are an error of the caller and are cut).
pub fn write_receiver_report(ssrc: u32, blocks: &[ReportBlock], out: &mut Vec<u8>) {
    let blocks = &blocks[..blocks.len().min(31)];
    let words = 1 + 6 * blocks.len();
    out.push(0x80 | blocks.len() as u8);
    out.push(RTCP_RR);
    out.extend_from_slice(&(words as u16).to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    for b in blocks {
        b.write(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ssrc: u32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 25,
            cumulative_lost: -3,
            extended_highest_seq: 0x0001_0005,
            jitter: 80,
            last_sr: 0x1234_5678,
            delay_since_last_sr: 65536,
        }
    }

    fn sender_report(blocks: &[ReportBlock]) -> Vec<u8> {
        let mut out = vec![0x80 | blocks.len() as u8, RTCP_SR];
        out.extend_from_slice(&((6 + 6 * blocks.len()) as u16).to_be_bytes());
        out.extend_from_slice(&0xAABB_CCDDu32.to_be_bytes());
        out.extend_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
        out.extend_from_slice(&160u32.to_be_bytes());
        out.extend_from_slice(&10u32.to_be_bytes());
        out.extend_from_slice(&1600u32.to_be_bytes());
        for b in blocks {
            b.write(&mut out);
        }
        out
    }

    #[test]
    fn compound_sr_sdes_bye_app() {
        let mut d = sender_report(&[block(7), block(8)]);
        // SDES with one chunk: SSRC, CNAME "ab", end, pad to a word.
        d.extend_from_slice(&[0x81, RTCP_SDES, 0, 2, 0, 0, 0, 7, 1, 2, b'a', b'b']);
        // APP "TEST" with 4 bytes of data.
        d.extend_from_slice(&[0x83, RTCP_APP, 0, 3, 0, 0, 0, 9, b'T', b'E', b'S', b'T', 1, 2, 3, 4]);
        // BYE with a reason and padding bit set (3 bytes of padding... in a
        // word: reason len 3 "bye", then 4 bytes padding with count 4).
        d.extend_from_slice(&[0xA1, RTCP_BYE, 0, 3, 0, 0, 0, 7, 3, b'b', b'y', b'e', 0, 0, 0, 4]);
        let packets: Vec<_> = RtcpCompound::new(&d).collect::<Result<_, _>>().unwrap();
        assert_eq!(packets.len(), 4);
        let RtcpPacket::SenderReport(sr) = packets[0] else { panic!("{:?}", packets[0]) };
        assert_eq!(sr.ssrc(), 0xAABB_CCDD);
        assert_eq!(sr.ntp_timestamp(), 0x0102_0304_0506_0708);
        assert_eq!(sr.rtp_timestamp(), 160);
        assert_eq!(sr.packet_count(), 10);
        assert_eq!(sr.octet_count(), 1600);
        assert_eq!(sr.report_blocks().collect::<Vec<_>>(), vec![block(7), block(8)]);
        assert_eq!(packets[1], RtcpPacket::SourceDescription { chunks: 1 });
        assert_eq!(packets[2], RtcpPacket::App { subtype: 3, ssrc: 9, name: *b"TEST" });
        let RtcpPacket::Goodbye(bye) = packets[3] else { panic!("{:?}", packets[3]) };
        assert_eq!(bye.ssrcs().collect::<Vec<_>>(), vec![7]);
        assert_eq!(bye.reason(), Some(&b"bye"[..]));
    }

    #[test]
    fn receiver_report_round_trip() {
        let mut d = Vec::new();
        write_receiver_report(5, &[block(1)], &mut d);
        assert_eq!(d.len(), 8 + 24);
        let p = RtcpCompound::new(&d).next().unwrap().unwrap();
        let RtcpPacket::ReceiverReport(rr) = p else { panic!("{p:?}") };
        assert_eq!(rr.ssrc(), 5);
        assert_eq!(rr.report_blocks().collect::<Vec<_>>(), vec![block(1)]);
    }

    #[test]
    fn cumulative_loss_is_24_bit_signed() {
        let mut out = Vec::new();
        for lost in [-0x80_0000, -1, 0, 1, 0x7F_FFFF] {
            out.clear();
            ReportBlock { cumulative_lost: lost, ..block(1) }.write(&mut out);
            assert_eq!(ReportBlock::parse(&out).cumulative_lost, lost);
        }
        out.clear();
        ReportBlock { cumulative_lost: i32::MAX, ..block(1) }.write(&mut out);
        assert_eq!(ReportBlock::parse(&out).cumulative_lost, 0x7F_FFFF);
    }

    #[test]
    fn errors_end_the_iteration() {
        let e = |d: &[u8]| RtcpCompound::new(d).find_map(Result::err).unwrap();
        assert_eq!(e(&[0x80, 201, 0]), RtcpError::TruncatedHeader { offset: 0, len: 3 });
        assert_eq!(e(&[0x40, 201, 0, 1, 0, 0, 0, 0]), RtcpError::WrongVersion { offset: 0, version: 1 });
        assert_eq!(
            e(&[0x80, 201, 0, 2, 0, 0, 0, 0]),
            RtcpError::LengthPastEnd { offset: 0, declared: 12, available: 8 }
        );
        assert_eq!(e(&[0xA0, 201, 0, 1, 0, 0, 0, 5]), RtcpError::BadPadding { offset: 0, padding: 5, available: 4 });
        // RR claiming one report block without one.
        assert!(matches!(e(&[0x81, 201, 0, 1, 0, 0, 0, 5]), RtcpError::BodyTooShort { needed: 32, len: 8, .. }));
        // SR too short for sender info.
        assert!(matches!(e(&[0x80, 200, 0, 1, 0, 0, 0, 5]), RtcpError::BodyTooShort { packet_type: 200, .. }));
        // BYE with 2 sources but room for 1.
        assert!(matches!(e(&[0x82, 203, 0, 1, 0, 0, 0, 5]), RtcpError::BodyTooShort { packet_type: 203, .. }));
        // A good packet, then garbage at byte 8.
        let mut d = vec![0x80, 201, 0, 1, 0, 0, 0, 5];
        d.extend_from_slice(&[0, 0]);
        let mut it = RtcpCompound::new(&d);
        assert!(it.next().unwrap().is_ok());
        assert_eq!(it.next(), Some(Err(RtcpError::TruncatedHeader { offset: 8, len: 2 })));
        assert_eq!(it.next(), None);
    }

    #[test]
    fn unknown_types_are_skipped() {
        let d = [0x81, 205, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0x80, 201, 0, 1, 0, 0, 0, 3];
        let packets: Vec<_> = RtcpCompound::new(&d).collect::<Result<_, _>>().unwrap();
        assert_eq!(packets[0], RtcpPacket::Other { packet_type: 205, count: 1, len: 12 });
        assert!(matches!(packets[1], RtcpPacket::ReceiverReport(_)));
    }

    #[test]
    fn bye_reason_cut_short_is_none() {
        let d = [0x81, 203, 0, 2, 0, 0, 0, 7, 9, b'x', 0, 0];
        let Some(Ok(RtcpPacket::Goodbye(bye))) = RtcpCompound::new(&d).next() else { panic!() };
        assert_eq!(bye.reason(), None);
    }
}
