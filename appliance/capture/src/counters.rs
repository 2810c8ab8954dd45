//! What a source has seen, for diagnostics and metrics.

use callguard_packet::ParseErrorKind;

/// Frames that did not parse to a UDP datagram, counted by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseErrorCounts([u64; ParseErrorKind::COUNT]);

impl ParseErrorCounts {
    /// Count one more error of `kind`.
    pub fn record(&mut self, kind: ParseErrorKind) {
        self.0[kind.index()] += 1;
    }

    /// How many errors of `kind`.
    pub fn get(&self, kind: ParseErrorKind) -> u64 {
        self.0[kind.index()]
    }

    /// All errors.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `(kind, count)` for every kind, zeros included, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = (ParseErrorKind, u64)> + '_ {
        ParseErrorKind::ALL.iter().map(|&kind| (kind, self.get(kind)))
    }
}

/// A snapshot of a source's counters since it was opened.
///
/// Every frame or datagram read ends in exactly one of `delivered`,
/// `filtered`, `truncated` or `parse_errors`, so
/// `received == delivered + filtered + truncated + parse_errors.total()`.
/// `dropped` counts what never reached the source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceCounters {
    /// Frames (AF_PACKET, pcap) or datagrams (sockets) read.
    pub received: u64,
    /// Datagrams handed over in a batch.
    pub delivered: u64,
    /// UDP datagrams to a port outside the port set.
    pub filtered: u64,
    /// Datagrams longer than a batch buffer (or than the receive buffer):
    /// not delivered.
    pub truncated: u64,
    /// Packets the kernel dropped before the source read them (socket
    /// receive-queue overflow, `SO_RXQ_OVFL`; AF_PACKET queue drops,
    /// `PACKET_STATISTICS`). Always 0 for a file.
    pub dropped: u64,
    /// Frames that did not parse to a UDP datagram: non-IP, non-UDP,
    /// later fragments, malformed.
    pub parse_errors: ParseErrorCounts,
}
