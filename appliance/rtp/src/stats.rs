//! Receiver statistics for one RTP stream (RFC 3550 appendices A.1, A.3
//! and A.8): source validation, extended sequence numbers, loss, jitter,
//! duplicates and late packets.
//!
//! One [`ReceiverStats`] follows one media stream (one recording port). The
//! counters run for the whole stream: a sequence-number jump that the next
//! packet confirms (A.1 re-synchronisation) and a change of SSRC (an SBC
//! failing over mid-call) restart sequence tracking but keep the totals, and
//! the outcome of the packet that caused it tells the caller, whose jitter
//! buffer and decoder must restart too.

use std::time::{Duration, Instant};

use crate::rtcp::ReportBlock;
use crate::rtp::RtpPacket;

const SEQ_MOD: u64 = 1 << 16;
/// Extended sequence numbers start one cycle up, so that a packet reordered
/// before the first one of a source still has one.
const EXTENDED_BASE: u64 = SEQ_MOD;
/// Sequence numbers remembered for duplicate detection.
const HISTORY_BITS: u64 = 1024;

/// Tuning of [`ReceiverStats`]; [`StatsConfig::new`] gives RFC 3550's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsConfig {
    /// RTP clock rate of the payload format in Hz (8000 for G.711), used to
    /// turn arrival times into timestamp units for the jitter.
    pub clock_rate: u32,
    /// Sequential packets a new source must send before it counts
    /// (`MIN_SEQUENTIAL`, 2). 0 and 1 accept the first packet.
    pub min_sequential: u16,
    /// Largest forward jump still taken as loss, not as a restart
    /// (`MAX_DROPOUT`, 3000).
    pub max_dropout: u16,
    /// Largest backward distance taken as reordering, not as a restart
    /// (`MAX_MISORDER`, 100). Duplicates are recognised within the last
    /// 1024 sequence numbers whatever this says.
    pub max_misorder: u16,
}

impl StatsConfig {
    /// RFC 3550 A.1's values for a payload format with `clock_rate`.
    pub fn new(clock_rate: u32) -> Self {
        Self { clock_rate, min_sequential: 2, max_dropout: 3000, max_misorder: 100 }
    }
}

/// What [`ReceiverStats::on_packet`] made of one packet.
///
/// Extended sequence numbers count on across wrap-around, restarts and SSRC
/// changes, so a jitter buffer can order packets by them. They start at
/// 65 536 plus the sequence number of a source's first counted packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketOutcome {
    /// The next packet, or one after a gap (the gap counts as loss until
    /// its packets arrive late).
    InOrder {
        /// Extended sequence number of the packet.
        extended_seq: u64,
    },
    /// A packet older than the newest one, not seen before: counted, and
    /// still usable if the caller's playout has not passed it.
    Late {
        /// Extended sequence number of the packet.
        extended_seq: u64,
    },
    /// A packet already received: not counted again.
    Duplicate {
        /// Extended sequence number of the packet.
        extended_seq: u64,
    },
    /// From a source that has not yet sent `min_sequential` packets in a
    /// row: not counted. The first packets of a stream, and those of a new
    /// SSRC while the current one is still valid, are here.
    Probation,
    /// A jump of more than `max_dropout` forward or `max_misorder` back:
    /// dropped unless the next packet follows it.
    Discarded,
    /// The packet after a discarded jump followed it: the source restarted
    /// its sequence numbers (A.1). Sequence tracking restarted here.
    Resynced {
        /// Extended sequence number of the packet.
        extended_seq: u64,
    },
    /// A new SSRC passed probation and replaced the previous one (SBC
    /// failover): tracking restarted with this packet.
    SsrcChanged {
        /// The source it replaces.
        previous_ssrc: u32,
        /// Extended sequence number of the packet.
        extended_seq: u64,
    },
}

/// Counters of a stream, as [`ReceiverStats::stats`] reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamStats {
    /// The current valid source, once one has passed probation.
    pub ssrc: Option<u32>,
    /// RFC 3550's extended highest sequence number of the current source
    /// (cycles << 16 | highest sequence number).
    pub extended_highest_seq: u32,
    /// Packets expected: for each stretch of tracking (between restarts and
    /// SSRC changes), highest minus first extended sequence number plus one.
    pub expected: u64,
    /// Distinct packets received and counted (duplicates excluded, unlike
    /// RFC 3550, so loss does not hide behind duplicates).
    pub received: u64,
    /// `expected - received` (negative only if duplicates older than the
    /// 1024-packet history were counted again).
    pub lost: i64,
    /// Packets received a second time.
    pub duplicates: u64,
    /// Packets that arrived after a later one (counted in `received`).
    pub late: u64,
    /// Packets dropped as sequence jumps, or sent during probation.
    pub discarded: u64,
    /// Restarts of the sequence numbers within one SSRC.
    pub restarts: u64,
    /// Changes of SSRC after the first valid one.
    pub ssrc_changes: u64,
    /// Interarrival jitter estimate in RTP timestamp units (A.8).
    pub jitter: u32,
}

impl StreamStats {
    /// The jitter as a duration, for `clock_rate` in Hz.
    pub fn jitter_duration(&self, clock_rate: u32) -> Duration {
        if clock_rate == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(u64::from(self.jitter) * 1_000_000_000 / u64::from(clock_rate))
    }

    /// Lost packets as a share of expected ones, 0.0 to 1.0.
    pub fn loss_ratio(&self) -> f64 {
        if self.expected == 0 || self.lost <= 0 { 0.0 } else { self.lost as f64 / self.expected as f64 }
    }
}

/// Tracking state of the valid source (A.1 `source` less probation).
#[derive(Debug, Clone)]
struct Source {
    ssrc: u32,
    /// Extended sequence number of sequence number 0 in the first cycle,
    /// the origin of RFC 3550's extended highest sequence number.
    cycle_origin: u64,
    /// Extended sequence number of the first counted packet.
    base: u64,
    /// Extended highest sequence number.
    max: u64,
    /// Sequence number that confirms a jump (A.1 `bad_seq`), if one is pending.
    bad_seq: Option<u16>,
    /// Which of the last `HISTORY_BITS` extended sequence numbers arrived.
    history: [u64; (HISTORY_BITS / 64) as usize],
    /// Arrival of the source's first packet, the origin of arrival times.
    origin: Instant,
    /// Previous relative transit time (A.8), unset after a restart.
    transit: Option<u32>,
}

impl Source {
    fn new(ssrc: u32, cycle_origin: u64, extended: u64, arrival: Instant) -> Self {
        let mut s = Self {
            ssrc,
            cycle_origin,
            base: extended,
            max: extended,
            bad_seq: None,
            history: [0; (HISTORY_BITS / 64) as usize],
            origin: arrival,
            transit: None,
        };
        s.mark(extended);
        s
    }

    fn max_seq(&self) -> u16 {
        (self.max % SEQ_MOD) as u16
    }

    fn bit(ext: u64) -> (usize, u64) {
        let pos = ext % HISTORY_BITS;
        ((pos / 64) as usize, 1 << (pos % 64))
    }

    /// Marks `ext` as received; returns whether it already was.
    fn mark(&mut self, ext: u64) -> bool {
        let (word, mask) = Self::bit(ext);
        let seen = self.history[word] & mask != 0;
        self.history[word] |= mask;
        seen
    }

    /// Moves the highest sequence number forward, forgetting history that
    /// falls out of the window.
    fn advance(&mut self, new_max: u64) {
        if new_max - self.max >= HISTORY_BITS {
            self.history = [0; (HISTORY_BITS / 64) as usize];
        } else {
            for ext in self.max + 1..=new_max {
                let (word, mask) = Self::bit(ext);
                self.history[word] &= !mask;
            }
        }
        self.max = new_max;
    }

    fn expected(&self) -> u64 {
        self.max - self.base + 1
    }
}

/// A source on probation: A.1's `probation` counter, kept apart so that a
/// stray SSRC cannot disturb the valid source until it proves itself.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    ssrc: u32,
    last_seq: u16,
    in_a_row: u16,
}

/// Statistics of one received RTP stream.
///
/// ```
/// use std::time::{Duration, Instant};
/// use callguard_rtp::{PacketOutcome, ReceiverStats, StatsConfig};
///
/// let mut stats = ReceiverStats::new(StatsConfig::new(8000));
/// let t0 = Instant::now();
/// for (i, seq) in [10u16, 11, 13, 12, 12].into_iter().enumerate() {
///     let arrival = t0 + Duration::from_millis(20 * i as u64);
///     stats.on_packet(0xCAFE, seq, u32::from(seq) * 160, arrival);
/// }
/// let s = stats.stats();
/// assert_eq!((s.expected, s.received, s.lost), (3, 3, 0)); // 11, 12, 13: 10 was probation
/// assert_eq!((s.late, s.duplicates), (1, 1));
/// ```
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    config: StatsConfig,
    source: Option<Source>,
    candidate: Option<Candidate>,
    /// Expected packets of tracking stretches already closed.
    expected_before: u64,
    /// Extended sequence numbers of closed stretches, so the next one
    /// starts above them.
    next_base: u64,
    received: u64,
    duplicates: u64,
    late: u64,
    discarded: u64,
    restarts: u64,
    ssrc_changes: u64,
    /// Jitter in 1/16 timestamp units (A.8's integer form).
    jitter_q4: u32,
    expected_prior: u64,
    received_prior: u64,
    /// Middle 32 bits of the last SR's NTP time, and when it arrived.
    last_sr: Option<(u32, Instant)>,
}

impl ReceiverStats {
    /// A stream that has seen no packet.
    pub fn new(config: StatsConfig) -> Self {
        Self {
            config,
            source: None,
            candidate: None,
            expected_before: 0,
            next_base: EXTENDED_BASE,
            received: 0,
            duplicates: 0,
            late: 0,
            discarded: 0,
            restarts: 0,
            ssrc_changes: 0,
            jitter_q4: 0,
            expected_prior: 0,
            received_prior: 0,
            last_sr: None,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &StatsConfig {
        &self.config
    }

    /// Counts a parsed packet that arrived at `arrival`.
    pub fn on_rtp(&mut self, packet: &RtpPacket<'_>, arrival: Instant) -> PacketOutcome {
        self.on_packet(packet.ssrc(), packet.sequence(), packet.timestamp(), arrival)
    }

    /// Counts a packet from its header fields and arrival time.
    pub fn on_packet(&mut self, ssrc: u32, seq: u16, rtp_timestamp: u32, arrival: Instant) -> PacketOutcome {
        let outcome = match &self.source {
            Some(source) if source.ssrc == ssrc => self.update_seq(seq, arrival),
            _ => self.probation(ssrc, seq, arrival),
        };
        if let PacketOutcome::InOrder { .. }
        | PacketOutcome::Late { .. }
        | PacketOutcome::Resynced { .. }
        | PacketOutcome::SsrcChanged { .. } = outcome
        {
            self.update_jitter(rtp_timestamp, arrival);
        }
        outcome
    }

    /// A.1's probation, for a first source or one that would replace it.
    fn probation(&mut self, ssrc: u32, seq: u16, arrival: Instant) -> PacketOutcome {
        let in_a_row = match self.candidate {
            Some(c) if c.ssrc == ssrc && seq == c.last_seq.wrapping_add(1) => c.in_a_row + 1,
            _ => 1,
        };
        if in_a_row < self.config.min_sequential {
            self.candidate = Some(Candidate { ssrc, last_seq: seq, in_a_row });
            self.discarded += 1;
            return PacketOutcome::Probation;
        }
        self.candidate = None;
        let previous = self.close_stretch();
        if previous.is_some() {
            self.ssrc_changes += 1;
        }
        let extended_seq = self.start_source(ssrc, seq, arrival);
        match previous {
            Some(previous_ssrc) => PacketOutcome::SsrcChanged { previous_ssrc, extended_seq },
            None => PacketOutcome::InOrder { extended_seq },
        }
    }

    /// Ends the current stretch of tracking, keeping its expected count.
    /// Returns the SSRC it tracked.
    fn close_stretch(&mut self) -> Option<u32> {
        let source = self.source.take()?;
        self.expected_before += source.expected();
        // Leave room for packets of the old stretch arriving late.
        self.next_base = (source.max + SEQ_MOD).next_multiple_of(SEQ_MOD);
        Some(source.ssrc)
    }

    /// A.1 `init_seq` plus the count of the packet that starts tracking.
    fn start_source(&mut self, ssrc: u32, seq: u16, arrival: Instant) -> u64 {
        let extended = self.next_base + u64::from(seq);
        self.source = Some(Source::new(ssrc, self.next_base, extended, arrival));
        self.received += 1;
        extended
    }

    /// A.1 `update_seq` for the valid source.
    fn update_seq(&mut self, seq: u16, arrival: Instant) -> PacketOutcome {
        let cfg = self.config;
        let Some(source) = self.source.as_mut() else {
            return PacketOutcome::Probation;
        };
        let udelta = seq.wrapping_sub(source.max_seq());
        if udelta < cfg.max_dropout {
            if udelta == 0 {
                self.duplicates += 1;
                return PacketOutcome::Duplicate { extended_seq: source.max };
            }
            let ext = source.max + u64::from(udelta);
            source.advance(ext);
            source.mark(ext);
            source.bad_seq = None;
            self.received += 1;
            PacketOutcome::InOrder { extended_seq: ext }
        } else if u32::from(udelta) <= SEQ_MOD as u32 - u32::from(cfg.max_misorder) {
            if source.bad_seq == Some(seq) {
                // Two sequential packets after a jump: the source restarted.
                let ssrc = source.ssrc;
                self.close_stretch();
                self.restarts += 1;
                let extended_seq = self.start_source(ssrc, seq, arrival);
                PacketOutcome::Resynced { extended_seq }
            } else {
                source.bad_seq = Some(seq.wrapping_add(1));
                self.discarded += 1;
                PacketOutcome::Discarded
            }
        } else {
            // Within max_misorder behind the highest: reordered or duplicate.
            let back = SEQ_MOD - u64::from(udelta);
            let Some(ext) = source.max.checked_sub(back) else {
                self.discarded += 1;
                return PacketOutcome::Discarded;
            };
            if back >= HISTORY_BITS || ext < source.base {
                // Too old to tell, or from before tracking began: counting
                // it would make `received` exceed `expected` for nothing.
                if ext < source.base {
                    self.discarded += 1;
                    return PacketOutcome::Discarded;
                }
                self.late += 1;
                self.received += 1;
                return PacketOutcome::Late { extended_seq: ext };
            }
            if source.mark(ext) {
                self.duplicates += 1;
                PacketOutcome::Duplicate { extended_seq: ext }
            } else {
                self.late += 1;
                self.received += 1;
                PacketOutcome::Late { extended_seq: ext }
            }
        }
    }

    /// A.8: jitter from the spread of relative transit times.
    fn update_jitter(&mut self, rtp_timestamp: u32, arrival: Instant) {
        let Some(source) = self.source.as_mut() else {
            return;
        };
        let elapsed = arrival.saturating_duration_since(source.origin).as_nanos();
        let arrival_units = (elapsed * u128::from(self.config.clock_rate) / 1_000_000_000) as u32;
        let transit = arrival_units.wrapping_sub(rtp_timestamp);
        if let Some(previous) = source.transit.replace(transit) {
            let d = (transit.wrapping_sub(previous) as i32).unsigned_abs();
            // jitter += (|D| - jitter) / 16, kept scaled by 16.
            self.jitter_q4 = self.jitter_q4.wrapping_add(d.min(u32::MAX >> 5)).wrapping_sub((self.jitter_q4 + 8) >> 4);
        }
    }

    /// Notes a sender report from the stream's source, for the LSR and
    /// DLSR of the next [`report`](Self::report).
    pub fn on_sender_report(&mut self, ntp_timestamp: u64, arrival: Instant) {
        self.last_sr = Some(((ntp_timestamp >> 16) as u32, arrival));
    }

    /// The counters now.
    pub fn stats(&self) -> StreamStats {
        let expected = self.expected();
        StreamStats {
            ssrc: self.source.as_ref().map(|s| s.ssrc),
            extended_highest_seq: self.source.as_ref().map_or(0, |s| (s.max - s.cycle_origin) as u32),
            expected,
            received: self.received,
            lost: expected as i64 - self.received as i64,
            duplicates: self.duplicates,
            late: self.late,
            discarded: self.discarded,
            restarts: self.restarts,
            ssrc_changes: self.ssrc_changes,
            jitter: self.jitter_q4 >> 4,
        }
    }

    fn expected(&self) -> u64 {
        self.expected_before + self.source.as_ref().map_or(0, Source::expected)
    }

    /// An RFC 3550 report block on the current source (A.3), with the loss
    /// fraction since the previous call; `None` before a source is valid.
    pub fn report(&mut self, now: Instant) -> Option<ReportBlock> {
        let source = self.source.as_ref()?;
        let stats = self.stats();
        let expected_interval = stats.expected - self.expected_prior;
        let received_interval = self.received - self.received_prior;
        self.expected_prior = stats.expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => {
                let delay = now.saturating_duration_since(at);
                let units = delay.as_nanos() * 65_536 / 1_000_000_000;
                (lsr, units.min(u128::from(u32::MAX)) as u32)
            }
            None => (0, 0),
        };
        Some(ReportBlock {
            ssrc: source.ssrc,
            fraction_lost,
            cumulative_lost: stats.lost.clamp(-0x80_0000, 0x7F_FFFF) as i32,
            extended_highest_seq: stats.extended_highest_seq,
            jitter: stats.jitter,
            last_sr,
            delay_since_last_sr,
        })
    }
}
