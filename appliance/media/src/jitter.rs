//! The per-stream jitter buffer: RTP packets in, 20 ms PCM frames out at
//! the codec's own rate, on the caller's clock.
//!
//! See the crate documentation for the model; the comments here explain
//! the mechanics.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use callguard_codecs::{Codec, Decoder, DtmfCollector, DtmfEvent, new_decoder};
use zeroize::Zeroize;

use crate::{MediaError, StreamConfig, StreamStats};

/// RFC 3550 A.1: a sequence number this far ahead is a restart, not loss.
const MAX_DROPOUT: i64 = 3000;
/// RFC 3550 A.1: a sequence number this far behind is a straggler.
const MAX_MISORDER: i64 = 100;
/// Frames per drift-measurement window (1 s).
const DRIFT_WINDOW_FRAMES: u32 = 50;

/// Tuning of the jitter buffer; [`Default`] gives the defaults stated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JitterConfig {
    /// Playout delay after the first packet of a stream (or after a
    /// resync), and so how late a packet may arrive and still be played,
    /// i.e. how much reordering is absorbed. Default: 60 ms.
    pub reorder_window: Duration,
    /// Longest stretch of invented audio per gap (codec PLC, or repeat of
    /// the last 20 ms fading linearly to zero); the rest of a longer gap is
    /// silence. Default: 60 ms.
    pub max_conceal: Duration,
    /// A packet timestamped further ahead of the playout point than this is
    /// a timestamp jump: the stream is resynchronised on it. Default: 1 s.
    pub max_lead: Duration,
    /// A newer-sequence packet timestamped further behind the playout point
    /// than this is a backward timestamp jump: resync. Default: 1 s.
    pub max_late: Duration,
    /// The packet completing a run of this many consecutive late packets
    /// (a step in network delay, or a sender clock slower than ours) starts
    /// a resync; the ones before it are dropped as late. Default: 5.
    pub late_run_resync: u32,
    /// Packets held at most (per generation); more are dropped. Default: 512.
    ///
    /// Payloads are further limited to 1500 samples for G.711, 3000 for
    /// G.722 (one 1500-octet payload) and 120 ms for Opus.
    pub max_packets: usize,
    /// Largest drift correction applied to one silent frame. Default: 5 ms.
    pub drift_step: Duration,
    /// Drift control adds delay only while the earliest packets of the last
    /// second were held less than the reorder window plus this. Default: 200 ms.
    pub max_added_delay: Duration,
    /// A frame whose samples all stay within ±this is "silent" for drift
    /// correction (about -42 dBFS). Default: 256.
    pub silence_level: i16,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            reorder_window: Duration::from_millis(60),
            max_conceal: Duration::from_millis(60),
            max_lead: Duration::from_secs(1),
            max_late: Duration::from_secs(1),
            late_run_resync: 5,
            max_packets: 512,
            drift_step: Duration::from_millis(5),
            max_added_delay: Duration::from_millis(200),
            silence_level: 256,
        }
    }
}

/// One RTP packet, as parsed by the capture/RTP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Synchronisation source.
    pub ssrc: u32,
    /// Sequence number.
    pub sequence: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Marker bit (first packet of a talk spurt, for audio).
    pub marker: bool,
    /// Payload type.
    pub payload_type: u8,
    /// Payload (after any SRTP decryption and header extensions).
    pub payload: &'a [u8],
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Stored for playout.
    Buffered,
    /// Stored, and it starts a new generation (first packet, SSRC change,
    /// timestamp or sequence jump, or a run of late packets): playout moves
    /// to it once the packets before it are played.
    Resync,
    /// A copy of a packet already held or played: dropped.
    Duplicate,
    /// Arrived after its playout time: dropped.
    Late,
    /// Payload type neither the stream's codec, comfort noise nor
    /// telephone-event: dropped.
    UnknownPayloadType,
    /// The payload cannot be decoded (empty, malformed): dropped.
    Invalid,
    /// The buffer is full: dropped.
    Overflow,
}

/// Where the samples of a frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// Decoded from received packets (possibly with some silence).
    Audio,
    /// Contains invented audio (PLC or repeat-with-fade) for lost packets.
    Concealed,
    /// Nothing was received for this interval: zeros (comfort noise,
    /// silence suppression, underrun, before the first packet).
    Silence,
}

/// A 20 ms frame of PCM at the codec's rate, borrowed from the buffer.
#[derive(Debug)]
pub struct PcmFrame<'a> {
    /// Frame number since the stream started (one per 20 ms).
    pub index: u64,
    /// The instant this frame was due.
    pub due: Instant,
    /// What the samples are.
    pub kind: FrameKind,
    /// The samples: `rate / 50` of them.
    pub samples: &'a [i16],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Audio,
    Concealed,
    Silence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PacketKind {
    Audio,
    ComfortNoise,
    Event,
}

struct Packet {
    ext_ts: i64,
    /// Native samples (0 for CN and events).
    duration: usize,
    kind: PacketKind,
    payload: Vec<u8>,
}

impl Drop for Packet {
    fn drop(&mut self) {
        self.payload.zeroize();
    }
}

/// Extends 16-bit sequence numbers and 32-bit timestamps to i64.
#[derive(Debug, Clone, Copy)]
struct Unwrap {
    bits: u32,
    last: u32,
    ext: i64,
}

impl Unwrap {
    fn new(bits: u32, first: u32) -> Self {
        Self { bits, last: first, ext: i64::from(first) }
    }

    fn delta(&self, v: u32) -> i64 {
        let shift = 64 - self.bits;
        let d = (u64::from(v).wrapping_sub(u64::from(self.last)) << shift) as i64;
        d >> shift
    }

    fn peek(&self, v: u32) -> i64 {
        self.ext + self.delta(v)
    }

    fn unwrap(&mut self, v: u32) -> i64 {
        let e = self.peek(v);
        if e > self.ext {
            self.ext = e;
            self.last = v;
        }
        e
    }
}

/// A run of packets with one SSRC and continuous numbering. A new one
/// starts on SSRC change or a jump; playout moves to it once the previous
/// one is exhausted.
struct Generation {
    ssrc: u32,
    seq: Unwrap,
    ts: Unwrap,
    packets: BTreeMap<i64, Packet>,
    /// When playout may start on it (first arrival + reorder window).
    start_at: Instant,
    /// Native position of extended timestamp 0, once playing.
    origin: Option<i64>,
    last_consumed: Option<i64>,
    first_consumed: Option<i64>,
    /// Bit k set: sequence `last_consumed - k` was played.
    consumed_bits: u128,
    /// Sequences that arrived too late (and so are not "lost").
    late_seqs: BTreeSet<i64>,
    first_ts: i64,
    /// RFC 3550 jitter state: previous (arrival, ts) and estimate in ticks.
    transit_prev: Option<f64>,
    jitter_ticks: f64,
}

impl Generation {
    fn new(pkt: &RtpPacket<'_>, arrival: Instant, window: Duration) -> Self {
        let seq = Unwrap::new(16, u32::from(pkt.sequence));
        let ts = Unwrap::new(32, pkt.timestamp);
        Self {
            ssrc: pkt.ssrc,
            first_ts: ts.ext,
            seq,
            ts,
            packets: BTreeMap::new(),
            start_at: arrival + window,
            origin: None,
            last_consumed: None,
            first_consumed: None,
            consumed_bits: 0,
            late_seqs: BTreeSet::new(),
            transit_prev: None,
            jitter_ticks: 0.0,
        }
    }

    fn seq_delta(&self, seq: u16) -> i64 {
        self.seq.delta(u32::from(seq))
    }

    fn was_consumed(&self, ext_seq: i64) -> bool {
        match self.last_consumed {
            Some(last) if ext_seq <= last => {
                let k = last - ext_seq;
                k >= 128 || self.consumed_bits & (1u128 << k) != 0
            }
            _ => false,
        }
    }

    fn mark_consumed(&mut self, ext_seq: i64) {
        self.first_consumed.get_or_insert(ext_seq);
        match self.last_consumed {
            Some(last) if ext_seq > last => {
                let shift = ext_seq - last;
                self.consumed_bits = if shift >= 128 { 0 } else { self.consumed_bits << shift };
                self.consumed_bits |= 1;
                self.last_consumed = Some(ext_seq);
            }
            Some(last) => {
                let k = last - ext_seq;
                if k < 128 {
                    self.consumed_bits |= 1u128 << k;
                }
            }
            None => {
                self.consumed_bits = 1;
                self.last_consumed = Some(ext_seq);
            }
        }
        while self.late_seqs.first().is_some_and(|&s| s < ext_seq - MAX_DROPOUT) {
            self.late_seqs.pop_first();
        }
    }

    /// Sequence numbers skipped between the last consumed packet and
    /// `ext_seq` that never arrived.
    fn missing_before(&self, ext_seq: i64) -> u64 {
        let Some(last) = self.last_consumed else { return 0 };
        if ext_seq <= last + 1 {
            return 0;
        }
        let gap = (ext_seq - last - 1) as u64;
        let arrived_late = self.late_seqs.range(last + 1..ext_seq).count() as u64;
        gap.saturating_sub(arrived_late)
    }

    fn update_jitter(&mut self, arrival_s: f64, ext_ts: i64, clock: f64) {
        let transit = arrival_s * clock - ext_ts as f64;
        if let Some(prev) = self.transit_prev {
            let d = (transit - prev).abs();
            self.jitter_ticks += (d - self.jitter_ticks) / 16.0;
        }
        self.transit_prev = Some(transit);
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    packets: u64,
    lost: u64,
    late: u64,
    duplicates: u64,
    concealed_samples: u64,
    silence_samples: u64,
    resyncs: u64,
    discarded: u64,
    unknown_payload_type: u64,
    invalid: u64,
    overflow: u64,
    decode_errors: u64,
    drift_dropped_samples: u64,
    drift_inserted_samples: u64,
    frames: u64,
    dtmf_events: u64,
}

/// Jitter buffer and decoder of one RTP stream. See the crate docs.
pub struct JitterBuffer {
    cfg: JitterConfig,
    codec: Codec,
    payload_type: u8,
    cn_payload_type: Option<u8>,
    event_payload_type: Option<u8>,
    decoder: Box<dyn Decoder>,
    /// Native samples per RTP tick (2 for G.722, else 1).
    ratio: i64,
    rate: u32,
    clock: u32,
    frame_len: usize,
    max_conceal: usize,
    drift_step: usize,
    max_added: i64,
    epoch: Option<Instant>,

    current: Option<Generation>,
    next: Option<Generation>,
    /// SSRC and highest sequence of the generation played before the
    /// current one, to drop its stragglers.
    retired: Option<(u32, Unwrap)>,

    playout_pos: i64,
    pending: VecDeque<i16>,
    runs: VecDeque<(usize, Source)>,
    out: Vec<i16>,
    scratch: Vec<i16>,
    last_audio: Vec<i16>,
    conceal_pos: usize,
    conceal_allowed: bool,
    in_comfort_noise: bool,

    next_due: Option<Instant>,
    frame_index: u64,
    late_run: u32,
    /// Drift control: smallest and largest slack (samples) seen in the
    /// current window, frames counted in it, and the pending correction
    /// (+ drop, - insert).
    window_min_slack: Option<i64>,
    window_max_slack: Option<i64>,
    window_frames: u32,
    adjust: i64,

    dtmf: Option<DtmfCollector>,
    counters: Counters,
}

impl std::fmt::Debug for JitterBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitterBuffer")
            .field("codec", &self.codec)
            .field("frame_index", &self.frame_index)
            .field("playout_pos", &self.playout_pos)
            .finish_non_exhaustive()
    }
}

/// The longest payload accepted, in samples: 120 ms for Opus, one
/// 1500-octet payload for the others (larger ones are counted invalid).
fn max_packet_samples(codec: Codec) -> usize {
    match codec {
        Codec::Opus => callguard_codecs::opus::MAX_PACKET_SAMPLES,
        Codec::G722 => 3000,
        _ => 1500,
    }
}

fn samples(d: Duration, rate: u32) -> usize {
    (d.as_micros() * u128::from(rate) / 1_000_000) as usize
}

impl JitterBuffer {
    /// A buffer for one stream.
    pub fn new(config: &StreamConfig) -> Result<Self, MediaError> {
        let decoder =
            new_decoder(config.codec).map_err(|source| MediaError::Decoder { codec: config.codec, source })?;
        let cfg = config.jitter.clone();
        let rate = config.codec.sample_rate();
        let clock = config.codec.rtp_clock_rate();
        let frame_len = rate as usize / 50;
        // Opus conceals and adjusts in 2.5 ms quanta.
        let quantum = if config.codec == Codec::Opus { 120 } else { 1 };
        let drift_step = samples(cfg.drift_step, rate) / quantum * quantum;
        Ok(Self {
            max_conceal: samples(cfg.max_conceal, rate),
            max_added: samples(cfg.max_added_delay, rate) as i64,
            drift_step: drift_step.min(frame_len / 2),
            codec: config.codec,
            payload_type: config.payload_type,
            cn_payload_type: config.comfort_noise_payload_type,
            event_payload_type: config.telephone_event_payload_type,
            decoder,
            ratio: i64::from(rate / clock),
            rate,
            clock,
            frame_len,
            epoch: None,
            current: None,
            next: None,
            retired: None,
            playout_pos: 0,
            pending: VecDeque::with_capacity(frame_len * 2),
            runs: VecDeque::new(),
            out: vec![0; frame_len],
            scratch: vec![0; max_packet_samples(config.codec).max(frame_len)],
            last_audio: vec![0; frame_len],
            conceal_pos: 0,
            conceal_allowed: false,
            in_comfort_noise: false,
            next_due: None,
            frame_index: 0,
            late_run: 0,
            window_min_slack: None,
            window_max_slack: None,
            window_frames: 0,
            adjust: 0,
            dtmf: config.telephone_event_payload_type.map(|_| DtmfCollector::new(clock)),
            counters: Counters::default(),
            cfg,
        })
    }

    /// Codec of the stream.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Rate of the frames from [`Self::poll`], in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// When the next frame is due, once the first packet has arrived.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_due
    }

    /// Takes one packet that arrived at `arrival`.
    pub fn push(&mut self, pkt: &RtpPacket<'_>, arrival: Instant) -> PushOutcome {
        self.counters.packets += 1;
        let kind = if pkt.payload_type == self.payload_type {
            PacketKind::Audio
        } else if Some(pkt.payload_type) == self.cn_payload_type {
            PacketKind::ComfortNoise
        } else if Some(pkt.payload_type) == self.event_payload_type {
            PacketKind::Event
        } else {
            self.counters.unknown_payload_type += 1;
            return PushOutcome::UnknownPayloadType;
        };
        let duration = match kind {
            PacketKind::Audio => match self.decoder.samples_in(pkt.payload) {
                Ok(n) if n <= self.scratch.len() => n,
                _ => {
                    self.counters.invalid += 1;
                    return PushOutcome::Invalid;
                }
            },
            _ => 0,
        };
        if kind == PacketKind::Event
            && let Some(dtmf) = self.dtmf.as_mut()
            && dtmf.push(pkt.timestamp, pkt.marker, pkt.payload).is_err()
        {
            self.counters.invalid += 1;
            return PushOutcome::Invalid;
        }
        let epoch = *self.epoch.get_or_insert(arrival);
        let arrival_s = arrival.saturating_duration_since(epoch).as_secs_f64();
        let outcome = self.route(pkt, kind, duration, arrival, arrival_s);
        match outcome {
            PushOutcome::Late => self.counters.late += 1,
            PushOutcome::Duplicate => self.counters.duplicates += 1,
            PushOutcome::Overflow => self.counters.overflow += 1,
            _ => {}
        }
        outcome
    }

    fn route(
        &mut self,
        pkt: &RtpPacket<'_>,
        kind: PacketKind,
        duration: usize,
        arrival: Instant,
        arrival_s: f64,
    ) -> PushOutcome {
        if let Some(cur) = self.current.as_ref()
            && cur.ssrc == pkt.ssrc
        {
            let d = cur.seq_delta(pkt.sequence);
            if (-MAX_MISORDER..=0).contains(&d) {
                // Older than the newest seen: a reordered, late or
                // duplicate packet of the current stream; never a resync.
                return self.insert_current(pkt, kind, duration, arrival, arrival_s, false);
            }
            if (1..=MAX_DROPOUT).contains(&d) {
                if self.next_matches(pkt) {
                    return self.insert_next(pkt, kind, duration, arrival, arrival_s);
                }
                let outcome = self.insert_current(pkt, kind, duration, arrival, arrival_s, true);
                if outcome == PushOutcome::Resync {
                    return self.start_next(pkt, kind, duration, arrival, arrival_s);
                }
                if outcome == PushOutcome::Buffered {
                    // The current stream goes on past a pending resync
                    // of the same source: that was a stray packet.
                    if self.next.as_ref().is_some_and(|n| n.ssrc == pkt.ssrc) {
                        let n = self.next.take().expect("checked");
                        self.counters.discarded += n.packets.len() as u64;
                    }
                }
                return outcome;
            }
        }
        if self.next_matches(pkt) {
            return self.insert_next(pkt, kind, duration, arrival, arrival_s);
        }
        if let Some((ssrc, seq)) = self.retired.as_ref()
            && *ssrc == pkt.ssrc
            && (-MAX_MISORDER..=0).contains(&seq.delta(u32::from(pkt.sequence)))
        {
            return PushOutcome::Late;
        }
        self.start_next(pkt, kind, duration, arrival, arrival_s)
    }

    fn next_matches(&self, pkt: &RtpPacket<'_>) -> bool {
        let Some(n) = self.next.as_ref() else { return false };
        if n.ssrc != pkt.ssrc {
            return false;
        }
        let d = n.seq_delta(pkt.sequence);
        let lead = n.ts.peek(pkt.timestamp) - n.first_ts;
        (-MAX_MISORDER..=MAX_DROPOUT).contains(&d)
            && lead.unsigned_abs() as usize <= samples(self.cfg.max_lead, self.clock)
    }

    fn start_next(
        &mut self,
        pkt: &RtpPacket<'_>,
        kind: PacketKind,
        duration: usize,
        arrival: Instant,
        arrival_s: f64,
    ) -> PushOutcome {
        let first = self.current.is_none() && self.next.is_none();
        if let Some(old) = self.next.take() {
            self.counters.discarded += old.packets.len() as u64;
        }
        if self.next_due.is_none() {
            self.next_due = Some(arrival + self.cfg.reorder_window);
        }
        self.next = Some(Generation::new(pkt, arrival, self.cfg.reorder_window));
        let outcome = self.insert_next(pkt, kind, duration, arrival, arrival_s);
        if outcome == PushOutcome::Buffered && !first { PushOutcome::Resync } else { outcome }
    }

    fn insert_next(
        &mut self,
        pkt: &RtpPacket<'_>,
        kind: PacketKind,
        duration: usize,
        _arrival: Instant,
        arrival_s: f64,
    ) -> PushOutcome {
        let max_packets = self.cfg.max_packets;
        let clock = f64::from(self.clock);
        let n = self.next.as_mut().expect("next exists");
        let ext_seq = n.seq.unwrap(u32::from(pkt.sequence));
        let ext_ts = n.ts.unwrap(pkt.timestamp);
        if n.packets.contains_key(&ext_seq) {
            return PushOutcome::Duplicate;
        }
        if n.packets.len() >= max_packets {
            return PushOutcome::Overflow;
        }
        if kind == PacketKind::Audio {
            n.update_jitter(arrival_s, ext_ts, clock);
        }
        n.packets.insert(ext_seq, Packet { ext_ts, duration, kind, payload: pkt.payload.to_vec() });
        PushOutcome::Buffered
    }

    fn insert_current(
        &mut self,
        pkt: &RtpPacket<'_>,
        kind: PacketKind,
        duration: usize,
        arrival: Instant,
        arrival_s: f64,
        newer: bool,
    ) -> PushOutcome {
        let ratio = self.ratio;
        let playout_pos = self.playout_pos;
        let max_lead = samples(self.cfg.max_lead, self.rate) as i64;
        let max_late = samples(self.cfg.max_late, self.rate) as i64;
        let max_packets = self.cfg.max_packets;
        let clock = f64::from(self.clock);
        let rate = self.rate;
        let next_due = self.next_due;
        let late_run_resync = self.cfg.late_run_resync;
        let frame_len = self.frame_len as i64;
        let cur = self.current.as_mut().expect("current exists");
        let ext_seq = cur.seq.peek(u32::from(pkt.sequence));
        let ext_ts = cur.ts.peek(pkt.timestamp);
        if cur.packets.contains_key(&ext_seq) || cur.was_consumed(ext_seq) {
            return PushOutcome::Duplicate;
        }
        if cur.last_consumed.is_some_and(|last| ext_seq <= last) {
            // Its place was skipped (and counted lost) unless it precedes
            // the first packet played.
            if cur.first_consumed.is_some_and(|first| ext_seq > first) && cur.late_seqs.insert(ext_seq) {
                self.counters.lost = self.counters.lost.saturating_sub(1);
            }
            return PushOutcome::Late;
        }
        if kind == PacketKind::Audio {
            let origin = cur.origin.expect("the current generation is playing");
            let start = origin + ext_ts * ratio;
            let lead = start - playout_pos;
            if newer && (lead > max_lead || lead < -max_late) {
                return PushOutcome::Resync;
            }
            if start + duration as i64 <= playout_pos {
                cur.late_seqs.insert(ext_seq);
                if newer {
                    cur.seq.unwrap(u32::from(pkt.sequence));
                    cur.ts.unwrap(pkt.timestamp);
                    self.late_run += 1;
                    if self.late_run >= late_run_resync {
                        self.late_run = 0;
                        return PushOutcome::Resync;
                    }
                }
                return PushOutcome::Late;
            }
            self.late_run = 0;
            // Slack: how long before it is needed the packet arrived. It is
            // needed when the frame holding its first sample is due.
            if let Some(due) = next_due {
                let until_due = due.saturating_duration_since(arrival).as_micros() as i64
                    - arrival.saturating_duration_since(due).as_micros() as i64;
                let slack = until_due * i64::from(rate) / 1_000_000 + lead.div_euclid(frame_len) * frame_len;
                self.window_min_slack = Some(self.window_min_slack.map_or(slack, |m| m.min(slack)));
                self.window_max_slack = Some(self.window_max_slack.map_or(slack, |m| m.max(slack)));
            }
            cur.update_jitter(arrival_s, ext_ts, clock);
        }
        if cur.packets.len() >= max_packets {
            return PushOutcome::Overflow;
        }
        cur.seq.unwrap(u32::from(pkt.sequence));
        cur.ts.unwrap(pkt.timestamp);
        cur.packets.insert(ext_seq, Packet { ext_ts, duration, kind, payload: pkt.payload.to_vec() });
        PushOutcome::Buffered
    }

    /// The next 20 ms frame if it is due at `now`, else `None`. Call until
    /// it returns `None`: a caller that fell behind gets the missed frames
    /// one after the other (each stamped with the instant it was due).
    pub fn poll(&mut self, now: Instant) -> Option<PcmFrame<'_>> {
        let due = self.next_due?;
        if now < due {
            return None;
        }
        self.next_due = Some(due + Duration::from_millis(20));
        let kind = self.produce(due);
        let index = self.frame_index;
        self.frame_index += 1;
        self.counters.frames += 1;
        Some(PcmFrame { index, due, kind, samples: &self.out })
    }

    /// Completed DTMF key presses, oldest first.
    pub fn take_dtmf(&mut self) -> Option<DtmfEvent> {
        let ev = self.dtmf.as_mut()?.next_event();
        if ev.is_some() {
            self.counters.dtmf_events += 1;
        }
        ev
    }

    /// Reports a key press whose end packets never came (at stream end).
    pub fn flush_dtmf(&mut self) {
        if let Some(d) = self.dtmf.as_mut() {
            d.flush();
        }
    }

    fn produce(&mut self, due: Instant) -> FrameKind {
        let f = self.frame_len;
        let step = self.drift_step;
        let mut used = f;
        let mut insert = 0;
        if self.adjust > 0 && step > 0 {
            let k = step.min(self.adjust as usize);
            self.fill(f + k, due);
            if self.is_silent(f + k) {
                used = f + k;
                self.adjust -= k as i64;
                self.counters.drift_dropped_samples += k as u64;
            }
        } else if self.adjust < 0 && step > 0 {
            let k = step.min((-self.adjust) as usize);
            self.fill(f - k, due);
            if self.is_silent(f - k) {
                used = f - k;
                insert = k;
                self.adjust += k as i64;
                self.counters.drift_inserted_samples += k as u64;
            }
        }
        if used == f {
            self.fill(f, due);
        }
        let take = used.min(f);
        for (o, s) in self.out.iter_mut().zip(self.pending.drain(..take)) {
            *o = s;
        }
        self.out[take..].fill(0);
        if used > f {
            self.pending.drain(..used - f);
        }
        let (audio, concealed, _) = self.consume_runs(used);
        self.playout_pos += used as i64;
        if insert > 0 {
            self.counters.silence_samples += insert as u64;
        }
        self.update_drift();
        if concealed > 0 {
            FrameKind::Concealed
        } else if audio > 0 {
            FrameKind::Audio
        } else {
            FrameKind::Silence
        }
    }

    fn is_silent(&self, n: usize) -> bool {
        let level = self.cfg.silence_level;
        self.pending.len() >= n && self.pending.range(..n).all(|&s| s.unsigned_abs() <= level.unsigned_abs())
    }

    fn consume_runs(&mut self, mut n: usize) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        while n > 0 {
            let Some((len, src)) = self.runs.front_mut() else { break };
            let k = (*len).min(n);
            match src {
                Source::Audio => counts.0 += k,
                Source::Concealed => counts.1 += k,
                Source::Silence => counts.2 += k,
            }
            *len -= k;
            n -= k;
            if *len == 0 {
                self.runs.pop_front();
            }
        }
        counts
    }

    fn update_drift(&mut self) {
        self.window_frames += 1;
        if self.window_frames < DRIFT_WINDOW_FRAMES {
            return;
        }
        self.window_frames = 0;
        let max_slack = self.window_max_slack.take();
        let Some(min_slack) = self.window_min_slack.take() else { return };
        let window = samples(self.cfg.reorder_window, self.rate) as i64;
        let high = window + self.frame_len as i64;
        let low = window / 4;
        let cap = window.max(self.frame_len as i64);
        if min_slack > high {
            // Packets arrive earlier than needed: the sender's clock is
            // fast or the network got quicker. Shed the excess, back to
            // the reorder window.
            self.adjust = (min_slack - window).min(cap);
        } else if min_slack < low {
            // Packets arrive at the last moment or late (sender clock slow,
            // or more jitter): add delay back to half the window, as long
            // as the earliest packets are not held longer than the window
            // plus the configured bound.
            let room = (window + self.max_added - max_slack.unwrap_or(min_slack)).max(0);
            self.adjust = -((window / 2 - min_slack).min(cap).min(room));
        } else {
            self.adjust = 0;
        }
    }

    fn push_samples(&mut self, src: Source, samples: impl IntoIterator<Item = i16>) {
        let before = self.pending.len();
        self.pending.extend(samples);
        let n = self.pending.len() - before;
        if n == 0 {
            return;
        }
        match self.runs.back_mut() {
            Some((len, s)) if *s == src => *len += n,
            _ => self.runs.push_back((n, src)),
        }
    }

    fn push_silence(&mut self, n: usize) {
        self.counters.silence_samples += n as u64;
        self.push_samples(Source::Silence, std::iter::repeat_n(0, n));
    }

    /// Invents up to `n` samples for lost packets, then silence.
    fn conceal(&mut self, n: usize) {
        let mut remaining = n;
        if self.conceal_allowed && self.conceal_pos < self.max_conceal {
            let k = remaining.min(self.max_conceal - self.conceal_pos);
            let produced = if self.decoder.has_plc() {
                match self.decoder.conceal(k, &mut self.scratch) {
                    Ok(got) => {
                        let got = got.min(k);
                        let scratch = std::mem::take(&mut self.scratch);
                        self.push_samples(Source::Concealed, scratch[..got].iter().copied());
                        self.scratch = scratch;
                        got
                    }
                    Err(_) => {
                        self.counters.decode_errors += 1;
                        0
                    }
                }
            } else {
                let f = self.frame_len;
                let max = self.max_conceal as f32;
                let start = self.conceal_pos;
                let last = std::mem::take(&mut self.last_audio);
                self.push_samples(
                    Source::Concealed,
                    (0..k).map(|i| {
                        let p = start + i;
                        let gain = 1.0 - p as f32 / max;
                        (f32::from(last[p % f]) * gain) as i16
                    }),
                );
                self.last_audio = last;
                k
            };
            self.counters.concealed_samples += produced as u64;
            self.conceal_pos += k;
            remaining -= produced;
        }
        self.push_silence(remaining);
    }

    fn switch_generation(&mut self, cursor: i64) {
        let mut next = self.next.take().expect("next exists");
        let anchor = next
            .packets
            .values()
            .filter(|p| p.kind == PacketKind::Audio)
            .map(|p| p.ext_ts)
            .min()
            .unwrap_or(next.first_ts);
        next.origin = Some(cursor - anchor * self.ratio);
        if let Some(old) = self.current.take() {
            self.counters.discarded += old.packets.len() as u64;
            self.retired = Some((old.ssrc, old.seq));
            self.counters.resyncs += 1;
            self.decoder.reset();
            if old.ssrc != next.ssrc
                && let Some(d) = self.dtmf.as_mut()
            {
                d.flush();
            }
        }
        self.current = Some(next);
        self.conceal_allowed = false;
        self.in_comfort_noise = false;
        self.late_run = 0;
        self.window_min_slack = None;
        self.window_max_slack = None;
    }

    /// Fills `pending` to at least `need` samples.
    fn fill(&mut self, need: usize, due: Instant) {
        while self.pending.len() < need {
            let cursor = self.playout_pos + self.pending.len() as i64;
            let want_end = self.playout_pos + need as i64;
            let current_empty = self.current.as_ref().is_none_or(|g| g.packets.is_empty());
            if current_empty && self.next.as_ref().is_some_and(|n| n.start_at <= due) {
                self.switch_generation(cursor);
                continue;
            }
            let Some(cur) = self.current.as_mut() else {
                self.push_silence((want_end - cursor) as usize);
                continue;
            };
            let Some((&ext_seq, pkt)) = cur.packets.first_key_value() else {
                // Nothing buffered: loss, silence suppression or the end of
                // the stream cannot be told apart yet. Play silence, and do
                // not invent audio after it.
                self.conceal_allowed = false;
                self.push_silence((want_end - cursor) as usize);
                continue;
            };
            let origin = cur.origin.expect("current generation is playing");
            match pkt.kind {
                PacketKind::ComfortNoise | PacketKind::Event => {
                    let missing = cur.missing_before(ext_seq);
                    if pkt.kind == PacketKind::ComfortNoise {
                        self.in_comfort_noise = true;
                        self.conceal_allowed = false;
                    }
                    cur.packets.remove(&ext_seq);
                    cur.mark_consumed(ext_seq);
                    self.counters.lost += missing;
                }
                PacketKind::Audio => {
                    let start = origin + pkt.ext_ts * self.ratio;
                    let end = start + pkt.duration as i64;
                    if end <= cursor {
                        cur.packets.remove(&ext_seq);
                        cur.late_seqs.insert(ext_seq);
                        self.counters.late += 1;
                        continue;
                    }
                    if start > cursor {
                        let fill = (start.min(want_end) - cursor) as usize;
                        let missing = cur.missing_before(ext_seq);
                        if missing == 0 || self.in_comfort_noise {
                            // Consecutive sequence numbers around a timestamp
                            // gap: the sender chose not to send (DTX).
                            self.conceal_allowed = false;
                            self.push_silence(fill);
                        } else {
                            self.conceal(fill);
                        }
                        continue;
                    }
                    let missing = cur.missing_before(ext_seq);
                    let pkt = cur.packets.remove(&ext_seq).expect("present");
                    cur.mark_consumed(ext_seq);
                    self.counters.lost += missing;
                    let skip = (cursor - start) as usize;
                    match self.decoder.decode(&pkt.payload, &mut self.scratch) {
                        Ok(n) if n > skip => {
                            let f = self.frame_len;
                            // Remember the last 20 ms for repeat concealment.
                            let decoded = &self.scratch[..n];
                            if n >= f {
                                self.last_audio.copy_from_slice(&decoded[n - f..]);
                            } else {
                                self.last_audio.rotate_left(n);
                                self.last_audio[f - n..].copy_from_slice(decoded);
                            }
                            let mut scratch = std::mem::take(&mut self.scratch);
                            self.push_samples(Source::Audio, scratch[skip..n].iter().copied());
                            scratch[..n].zeroize();
                            self.scratch = scratch;
                            self.conceal_allowed = true;
                            self.conceal_pos = 0;
                            self.in_comfort_noise = false;
                        }
                        Ok(_) => {}
                        Err(_) => {
                            self.counters.decode_errors += 1;
                            let dur = pkt.duration.saturating_sub(skip);
                            self.conceal(dur);
                        }
                    }
                }
            }
        }
    }

    /// Packets held (not yet played), all generations.
    pub fn buffered_packets(&self) -> usize {
        [self.current.as_ref(), self.next.as_ref()].into_iter().flatten().map(|g| g.packets.len()).sum()
    }

    /// Media time held ahead of the playout point, in ms: decoded samples
    /// waiting plus buffered audio packets.
    pub fn buffered_ms(&self) -> u64 {
        let packets: usize = [self.current.as_ref(), self.next.as_ref()]
            .into_iter()
            .flatten()
            .flat_map(|g| g.packets.values())
            .map(|p| p.duration)
            .sum();
        ((packets + self.pending.len()) as u64) * 1000 / u64::from(self.rate)
    }

    /// Counters and estimates for this stream.
    pub fn stats(&self) -> StreamStats {
        let c = &self.counters;
        let ms = |s: u64| s * 1000 / u64::from(self.rate);
        let jitter_ms = self
            .current
            .as_ref()
            .or(self.next.as_ref())
            .map_or(0.0, |g| g.jitter_ticks * 1000.0 / f64::from(self.clock));
        StreamStats {
            codec: self.codec,
            packets: c.packets,
            lost: c.lost,
            late: c.late,
            duplicates: c.duplicates,
            concealed_ms: ms(c.concealed_samples),
            silence_ms: ms(c.silence_samples),
            jitter_ms,
            resyncs: c.resyncs,
            discarded: c.discarded,
            unknown_payload_type: c.unknown_payload_type,
            invalid: c.invalid,
            overflow: c.overflow,
            decode_errors: c.decode_errors,
            drift_dropped_ms: ms(c.drift_dropped_samples),
            drift_inserted_ms: ms(c.drift_inserted_samples),
            frames: c.frames,
            dtmf_events: c.dtmf_events,
        }
    }

    /// Bytes held by this buffer now: its own size, sample buffers, held
    /// packets. Decoder state inside libopus is not included (see the
    /// crate docs).
    pub fn memory_bytes(&self) -> usize {
        let packets: usize = [self.current.as_ref(), self.next.as_ref()]
            .into_iter()
            .flatten()
            .map(|g| {
                g.packets.values().map(|p| p.payload.capacity() + std::mem::size_of::<Packet>() + 16).sum::<usize>()
                    + g.late_seqs.len() * 16
                    + std::mem::size_of::<Generation>()
            })
            .sum();
        std::mem::size_of::<Self>()
            + (self.pending.capacity() + self.out.capacity() + self.scratch.capacity() + self.last_audio.capacity()) * 2
            + self.runs.capacity() * std::mem::size_of::<(usize, Source)>()
            + packets
    }
}

impl Drop for JitterBuffer {
    fn drop(&mut self) {
        let (a, b) = self.pending.as_mut_slices();
        a.zeroize();
        b.zeroize();
        self.out.zeroize();
        self.scratch.zeroize();
        self.last_audio.zeroize();
        // Packets zero their payloads as they drop.
    }
}
