//! RFC 4733 telephone-events: DTMF digits carried as RTP named events.
//!
//! [`TelephoneEvent::parse`] reads one 4-octet event report (event code,
//! end bit, volume, duration). [`DtmfCollector`] turns the packet train of
//! one stream into whole key presses: the sender repeats an event with a
//! growing duration under one RTP timestamp and retransmits the final
//! (end-bit) packet, usually three times; the collector reports each press
//! once, when its first end packet arrives, and drops the retransmissions.
//! A press whose end packets were all lost is reported when the next press
//! starts or on [`DtmfCollector::flush`]. Long presses split into segments
//! (RFC 4733 §2.5.1.3, duration overflow) are joined.
//!
//! Only the sixteen DTMF events (0-9, *, #, A-D) are surfaced; other named
//! events (flash, fax tones...) are parsed but not reported.

use std::collections::VecDeque;

/// Errors reading a telephone-event payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    /// The payload is shorter than one 4-octet event report.
    #[error("telephone-event payload of {len} octets is shorter than the 4-octet event report (RFC 4733 §2.3)")]
    TooShort {
        /// Length of the payload received.
        len: usize,
    },
}

/// One RFC 4733 event report as carried on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0-15 are DTMF).
    pub event: u8,
    /// The E bit: this report ends the event.
    pub end: bool,
    /// Power level in -dBm0 (0..=63), for DTMF.
    pub volume: u8,
    /// Duration so far in RTP timestamp units.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Parses the first event report of a payload. Extra reports (some
    /// senders append redundant ones) are ignored.
    pub fn parse(payload: &[u8]) -> Result<Self, DtmfError> {
        let [event, flags, d0, d1, ..] = *payload else {
            return Err(DtmfError::TooShort { len: payload.len() });
        };
        Ok(Self { event, end: flags & 0x80 != 0, volume: flags & 0x3F, duration: u16::from_be_bytes([d0, d1]) })
    }

    /// The DTMF key of this event, if it is one of the sixteen DTMF events.
    pub fn digit(&self) -> Option<char> {
        dtmf_digit(self.event)
    }
}

/// Maps an RFC 4733 event code to its DTMF key.
pub fn dtmf_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + (event - 12))),
        _ => None,
    }
}

/// One key press, reported once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfEvent {
    /// The key: '0'-'9', '*', '#', 'A'-'D'.
    pub digit: char,
    /// RTP timestamp at which the press started.
    pub start_timestamp: u32,
    /// Length of the press in milliseconds (from the last duration seen).
    pub duration_ms: u32,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    event: u8,
    start_timestamp: u32,
    /// Timestamp of the segment being received (differs from the start for
    /// presses longer than 0xFFFF ticks).
    segment_timestamp: u32,
    /// Duration of the finished segments before this one.
    earlier_segments: u64,
    duration: u16,
}

impl Current {
    fn total_ticks(&self) -> u64 {
        self.earlier_segments + u64::from(self.duration)
    }
}

/// How many reported presses are remembered to drop their retransmissions.
const RECENT: usize = 8;

/// Collects the telephone-event packets of one stream into [`DtmfEvent`]s.
#[derive(Debug, Clone)]
pub struct DtmfCollector {
    clock_rate: u32,
    current: Option<Current>,
    /// Start (segment) timestamps of presses already reported.
    recent: VecDeque<u32>,
    ready: VecDeque<DtmfEvent>,
}

impl DtmfCollector {
    /// A collector for a stream whose telephone-event RTP clock is
    /// `clock_rate` Hz (8000 for narrowband and G.722 calls, 48000 with Opus).
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate: clock_rate.max(1),
            current: None,
            recent: VecDeque::with_capacity(RECENT),
            ready: VecDeque::new(),
        }
    }

    /// Feeds one telephone-event RTP packet (its timestamp, marker bit and
    /// payload). Completed presses become available from [`Self::next_event`].
    pub fn push(&mut self, timestamp: u32, marker: bool, payload: &[u8]) -> Result<(), DtmfError> {
        let ev = TelephoneEvent::parse(payload)?;
        if ev.digit().is_none() {
            return Ok(());
        }
        if self.recent.contains(&timestamp) {
            // Retransmitted end packet, or a straggler of a reported press.
            return Ok(());
        }
        match self.current {
            Some(ref mut cur) if cur.segment_timestamp == timestamp => {
                cur.duration = cur.duration.max(ev.duration);
            }
            Some(cur)
                if ev.event == cur.event
                    && !marker
                    && timestamp == cur.segment_timestamp.wrapping_add(u32::from(cur.duration)) =>
            {
                // Next segment of a long press (RFC 4733 §2.5.1.3).
                let seg = self.current.as_mut().expect("matched Some");
                seg.earlier_segments += u64::from(cur.duration);
                seg.segment_timestamp = timestamp;
                seg.duration = ev.duration;
            }
            Some(cur) if (timestamp.wrapping_sub(cur.segment_timestamp) as i32) < 0 => {
                // Older than the press in progress: a reordered straggler.
                return Ok(());
            }
            Some(_) => {
                // A new press began; the previous one's end packets were lost.
                self.finish();
                self.start(timestamp, &ev);
            }
            None => self.start(timestamp, &ev),
        }
        if ev.end {
            self.finish();
        }
        Ok(())
    }

    fn start(&mut self, timestamp: u32, ev: &TelephoneEvent) {
        self.current = Some(Current {
            event: ev.event,
            start_timestamp: timestamp,
            segment_timestamp: timestamp,
            earlier_segments: 0,
            duration: ev.duration,
        });
    }

    fn finish(&mut self) {
        let Some(cur) = self.current.take() else { return };
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(cur.segment_timestamp);
        let ms = cur.total_ticks() * 1000 / u64::from(self.clock_rate);
        self.ready.push_back(DtmfEvent {
            digit: dtmf_digit(cur.event).unwrap_or('?'),
            start_timestamp: cur.start_timestamp,
            duration_ms: u32::try_from(ms).unwrap_or(u32::MAX),
        });
    }

    /// Reports a press still in progress (its end packets never came), for
    /// use when the stream ends.
    pub fn flush(&mut self) {
        self.finish();
    }

    /// The next completed press, oldest first.
    pub fn next_event(&mut self) -> Option<DtmfEvent> {
        self.ready.pop_front()
    }

    /// Forgets everything (new SSRC).
    pub fn reset(&mut self) {
        self.current = None;
        self.recent.clear();
        self.ready.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(event: u8, end: bool, volume: u8, duration: u16) -> [u8; 4] {
        let d = duration.to_be_bytes();
        [event, if end { 0x80 } else { 0 } | volume, d[0], d[1]]
    }

    #[test]
    fn parses_fields() {
        let ev = TelephoneEvent::parse(&[11, 0x80 | 10, 0x03, 0x20]).unwrap();
        assert_eq!(ev, TelephoneEvent { event: 11, end: true, volume: 10, duration: 800 });
        assert_eq!(ev.digit(), Some('#'));
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), Err(DtmfError::TooShort { len: 3 }));
        // The reserved bit is ignored.
        let ev = TelephoneEvent::parse(&[5, 0x40 | 7, 0, 160]).unwrap();
        assert!(!ev.end);
        assert_eq!(ev.volume, 7);
        assert_eq!(dtmf_digit(10), Some('*'));
        assert_eq!(dtmf_digit(15), Some('D'));
        assert_eq!(dtmf_digit(16), None);
    }

    #[test]
    fn one_press_with_retransmitted_ends_is_reported_once() {
        let mut c = DtmfCollector::new(8000);
        c.push(1000, true, &pkt(5, false, 10, 0)).unwrap();
        for d in [160u16, 320, 480, 640] {
            c.push(1000, false, &pkt(5, false, 10, d)).unwrap();
            assert_eq!(c.next_event(), None);
        }
        for _ in 0..3 {
            c.push(1000, false, &pkt(5, true, 10, 800)).unwrap();
        }
        assert_eq!(c.next_event(), Some(DtmfEvent { digit: '5', start_timestamp: 1000, duration_ms: 100 }));
        assert_eq!(c.next_event(), None);
    }

    #[test]
    fn lost_end_packets_are_reported_when_the_next_press_starts() {
        let mut c = DtmfCollector::new(8000);
        c.push(1000, true, &pkt(1, false, 10, 400)).unwrap();
        c.push(9000, true, &pkt(2, false, 10, 160)).unwrap();
        assert_eq!(c.next_event().unwrap().digit, '1');
        c.push(9000, false, &pkt(2, true, 10, 640)).unwrap();
        c.push(9000, false, &pkt(2, true, 10, 640)).unwrap();
        let e = c.next_event().unwrap();
        assert_eq!((e.digit, e.duration_ms), ('2', 80));
        // Straggler of the first press: ignored.
        c.push(1000, false, &pkt(1, true, 10, 480)).unwrap();
        assert_eq!(c.next_event(), None);
        // Press never ended, stream over.
        c.push(20000, true, &pkt(10, false, 10, 800)).unwrap();
        c.flush();
        assert_eq!(c.next_event().unwrap().digit, '*');
    }

    #[test]
    fn same_digit_twice_is_two_presses() {
        let mut c = DtmfCollector::new(8000);
        for ts in [1000u32, 3000] {
            c.push(ts, true, &pkt(7, false, 10, 160)).unwrap();
            for _ in 0..3 {
                c.push(ts, false, &pkt(7, true, 10, 480)).unwrap();
            }
        }
        assert_eq!(c.next_event().unwrap().start_timestamp, 1000);
        assert_eq!(c.next_event().unwrap().start_timestamp, 3000);
        assert_eq!(c.next_event(), None);
    }

    #[test]
    fn long_press_segments_are_joined() {
        let mut c = DtmfCollector::new(8000);
        c.push(0, true, &pkt(0, false, 10, 0xFF00)).unwrap();
        c.push(0, false, &pkt(0, false, 10, 0xFFFF)).unwrap();
        c.push(0xFFFF, false, &pkt(0, false, 10, 800)).unwrap();
        c.push(0xFFFF, false, &pkt(0, true, 10, 8000)).unwrap();
        let e = c.next_event().unwrap();
        assert_eq!(e.start_timestamp, 0);
        assert_eq!(e.duration_ms, (0xFFFF + 8000) * 1000 / 8000);
    }

    #[test]
    fn non_dtmf_events_are_ignored_and_48k_clock_is_honoured() {
        let mut c = DtmfCollector::new(48_000);
        c.push(0, true, &pkt(16, true, 10, 4800)).unwrap();
        assert_eq!(c.next_event(), None);
        c.push(4800, true, &pkt(9, true, 10, 4800)).unwrap();
        assert_eq!(c.next_event().unwrap().duration_ms, 100);
    }
}
