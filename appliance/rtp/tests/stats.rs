//! Receiver statistics (RFC 3550 A.1, A.3, A.8) on made-up arrival patterns.

use std::time::{Duration, Instant};

use callguard_rtp::{PacketOutcome, ReceiverStats, StatsConfig};

const SSRC: u32 = 0x0BAD_CAFE;
const PTIME: Duration = Duration::from_millis(20);

struct Feed {
    stats: ReceiverStats,
    t0: Instant,
}

impl Feed {
    fn new(config: StatsConfig) -> Self {
        Self { stats: ReceiverStats::new(config), t0: Instant::now() }
    }

    /// Packet `seq` of `ssrc` sent at slot `slot` (20 ms each, timestamp
    /// 160 per slot) arriving `delay_ms` late.
    fn packet(&mut self, ssrc: u32, seq: u16, slot: u32, delay_ms: u64) -> PacketOutcome {
        let arrival = self.t0 + PTIME * slot + Duration::from_millis(delay_ms);
        self.stats.on_packet(ssrc, seq, slot.wrapping_mul(160), arrival)
    }

    fn seq(&mut self, seq: u16, slot: u32) -> PacketOutcome {
        self.packet(SSRC, seq, slot, 0)
    }
}

#[test]
fn probation_then_in_order() {
    let mut f = Feed::new(StatsConfig::new(8000));
    assert_eq!(f.seq(1000, 0), PacketOutcome::Probation);
    assert_eq!(f.seq(1001, 1), PacketOutcome::InOrder { extended_seq: 65536 + 1001 });
    assert_eq!(f.seq(1002, 2), PacketOutcome::InOrder { extended_seq: 65536 + 1002 });
    let s = f.stats.stats();
    assert_eq!(s.ssrc, Some(SSRC));
    assert_eq!((s.expected, s.received, s.lost), (2, 2, 0));
    assert_eq!(s.discarded, 1, "the probation packet");
    assert_eq!(s.extended_highest_seq, 1002);
}

#[test]
fn probation_restarts_on_a_gap() {
    let mut f = Feed::new(StatsConfig::new(8000));
    assert_eq!(f.seq(10, 0), PacketOutcome::Probation);
    assert_eq!(f.seq(12, 1), PacketOutcome::Probation);
    assert!(matches!(f.seq(13, 2), PacketOutcome::InOrder { .. }));
    // min_sequential 3 needs three in a row.
    let mut f = Feed::new(StatsConfig { min_sequential: 3, ..StatsConfig::new(8000) });
    assert_eq!(f.seq(1, 0), PacketOutcome::Probation);
    assert_eq!(f.seq(2, 1), PacketOutcome::Probation);
    assert!(matches!(f.seq(3, 2), PacketOutcome::InOrder { .. }));
    // min_sequential 1 takes the first.
    let mut f = Feed::new(StatsConfig { min_sequential: 1, ..StatsConfig::new(8000) });
    assert!(matches!(f.seq(1, 0), PacketOutcome::InOrder { .. }));
}

#[test]
fn wrap_around_extends_the_sequence_number() {
    let mut f = Feed::new(StatsConfig::new(8000));
    let mut last = 0;
    for (slot, seq) in (65530..=65535u16).chain(0..10).enumerate() {
        match f.seq(seq, slot as u32) {
            PacketOutcome::Probation => {}
            PacketOutcome::InOrder { extended_seq } => {
                assert!(last == 0 || extended_seq == last + 1, "{seq}");
                last = extended_seq;
            }
            other => panic!("{seq}: {other:?}"),
        }
    }
    let s = f.stats.stats();
    assert_eq!(s.extended_highest_seq, 0x0001_0009, "one cycle, highest 9");
    assert_eq!((s.expected, s.received, s.lost), (15, 15, 0));
}

#[test]
fn loss_late_and_duplicates() {
    let mut f = Feed::new(StatsConfig::new(8000));
    f.seq(0, 0); // probation: counting starts at 1
    for seq in 1..=101u16 {
        if seq % 10 == 0 {
            continue; // lost
        }
        assert!(matches!(f.seq(seq, u32::from(seq)), PacketOutcome::InOrder { .. }));
    }
    let s = f.stats.stats();
    assert_eq!((s.expected, s.received, s.lost), (101, 91, 10));
    // 50 arrives late; 60 twice; 99 and 101 (the highest) duplicated.
    assert_eq!(f.seq(50, 101), PacketOutcome::Late { extended_seq: 65536 + 50 });
    assert!(matches!(f.seq(60, 101), PacketOutcome::Late { .. }));
    assert!(matches!(f.seq(60, 101), PacketOutcome::Duplicate { .. }));
    assert_eq!(f.seq(99, 101), PacketOutcome::Duplicate { extended_seq: 65536 + 99 });
    assert_eq!(f.seq(101, 101), PacketOutcome::Duplicate { extended_seq: 65536 + 101 });
    let s = f.stats.stats();
    assert_eq!((s.expected, s.received, s.lost), (101, 93, 8));
    assert_eq!((s.late, s.duplicates), (2, 3));
    assert!((s.loss_ratio() - 8.0 / 101.0).abs() < 1e-9);
}

#[test]
fn late_packets_across_the_wrap() {
    let mut f = Feed::new(StatsConfig::new(8000));
    f.seq(65533, 0);
    f.seq(65534, 1);
    // 65535 is overtaken by 0 and 1.
    assert_eq!(f.seq(0, 3), PacketOutcome::InOrder { extended_seq: 2 * 65536 });
    f.seq(1, 4);
    assert_eq!(f.seq(65535, 2), PacketOutcome::Late { extended_seq: 65536 + 65535 });
    let s = f.stats.stats();
    assert_eq!((s.expected, s.received, s.lost, s.late), (4, 4, 0, 1));
}

#[test]
fn a_single_jump_is_discarded_a_confirmed_one_resyncs() {
    let mut f = Feed::new(StatsConfig::new(8000));
    for seq in 0..10u16 {
        f.seq(seq, u32::from(seq));
    }
    // One stray packet far ahead, then the stream goes on.
    assert_eq!(f.seq(30_000, 10), PacketOutcome::Discarded);
    assert!(matches!(f.seq(10, 10), PacketOutcome::InOrder { .. }));
    // Far behind (more than max_misorder): also discarded.
    assert_eq!(f.seq(65_000, 11), PacketOutcome::Discarded);
    let before = f.stats.stats();
    assert_eq!((before.expected, before.received, before.discarded), (10, 10, 3));

    // The source restarts its numbering at 40 000: two in a row confirm.
    assert_eq!(f.seq(40_000, 12), PacketOutcome::Discarded);
    let PacketOutcome::Resynced { extended_seq } = f.seq(40_001, 13) else { panic!("no resync") };
    assert!(matches!(
        f.seq(40_002, 14),
        PacketOutcome::InOrder { extended_seq: e } if e == extended_seq + 1
    ));
    let s = f.stats.stats();
    assert_eq!(s.restarts, 1);
    assert_eq!((s.expected, s.received, s.lost), (12, 12, 0));
    assert_eq!(s.ssrc, Some(SSRC));
}

#[test]
fn ssrc_change_mid_stream_is_a_restart() {
    let mut f = Feed::new(StatsConfig::new(8000));
    for seq in 100..200u16 {
        f.seq(seq, u32::from(seq));
    }
    // SBC failover: new SSRC, new sequence and timestamp spaces.
    const NEW: u32 = 0x5EC0_0D55;
    assert_eq!(f.packet(NEW, 7, 200, 0), PacketOutcome::Probation);
    // The old source may still trickle in meanwhile.
    assert!(matches!(f.seq(200, 200), PacketOutcome::InOrder { .. }));
    let PacketOutcome::SsrcChanged { previous_ssrc, extended_seq } = f.packet(NEW, 8, 201, 0) else {
        panic!("no switch")
    };
    assert_eq!(previous_ssrc, SSRC);
    assert!(extended_seq > 65536 + 200, "keeps counting upward");
    assert!(matches!(f.packet(NEW, 9, 202, 0), PacketOutcome::InOrder { .. }));
    // The old SSRC is now the stranger.
    assert_eq!(f.seq(201, 203), PacketOutcome::Probation);
    let s = f.stats.stats();
    assert_eq!(s.ssrc, Some(NEW));
    assert_eq!(s.ssrc_changes, 1);
    assert_eq!((s.expected, s.received, s.lost), (100 + 2, 102, 0));
    assert_eq!(s.extended_highest_seq, 9);
}

#[test]
fn jitter_is_zero_for_constant_delay_and_tracks_variation() {
    let mut f = Feed::new(StatsConfig::new(8000));
    for seq in 0..200u16 {
        f.packet(SSRC, seq, u32::from(seq), 35);
    }
    assert_eq!(f.stats.stats().jitter, 0);

    // Alternating 0 / 10 ms delay: |D| = 80 timestamp units every packet,
    // so the estimate converges to 80 (A.8).
    let mut f = Feed::new(StatsConfig::new(8000));
    for seq in 0..500u16 {
        f.packet(SSRC, seq, u32::from(seq), if seq % 2 == 0 { 0 } else { 10 });
    }
    let s = f.stats.stats();
    assert!((78..=80).contains(&s.jitter), "{}", s.jitter);
    let d = s.jitter_duration(8000);
    assert!(d > Duration::from_micros(9_700) && d <= Duration::from_millis(10), "{d:?}");
}

#[test]
fn jitter_across_timestamp_wrap() {
    let mut f = Feed::new(StatsConfig::new(8000));
    // Slots near the top of the 32-bit timestamp space: 160 * slot wraps.
    let first = u32::MAX / 160 - 50;
    for i in 0..100u32 {
        let slot = first + i;
        let arrival = f.t0 + PTIME * i;
        f.stats.on_packet(SSRC, i as u16, slot.wrapping_mul(160), arrival);
    }
    assert_eq!(f.stats.stats().jitter, 0);
}

#[test]
fn report_blocks_fraction_lost_per_interval() {
    let mut f = Feed::new(StatsConfig { min_sequential: 1, ..StatsConfig::new(8000) });
    assert_eq!(f.stats.report(f.t0), None, "no valid source yet");
    for seq in 0..100u16 {
        if seq % 4 != 1 {
            f.seq(seq, u32::from(seq));
        }
    }
    let sr_ntp = 0x1111_2222_3333_4444u64;
    let sr_at = f.t0 + Duration::from_secs(1);
    f.stats.on_sender_report(sr_ntp, sr_at);
    let rb = f.stats.report(sr_at + Duration::from_millis(500)).unwrap();
    assert_eq!(rb.ssrc, SSRC);
    assert_eq!(rb.fraction_lost, 64, "25 of 100 lost = 64/256");
    assert_eq!(rb.cumulative_lost, 25);
    assert_eq!(rb.extended_highest_seq, 99);
    assert_eq!(rb.last_sr, 0x2222_3333);
    assert_eq!(rb.delay_since_last_sr, 32_768, "0.5 s in 1/65536 s");

    // Next interval: no loss.
    for seq in 100..=120u16 {
        f.seq(seq, u32::from(seq));
    }
    let rb = f.stats.report(sr_at).unwrap();
    assert_eq!(rb.fraction_lost, 0);
    assert_eq!(rb.cumulative_lost, 25);
    // Duplicates in an interval do not make loss negative.
    f.seq(120, 121);
    let rb = f.stats.report(sr_at).unwrap();
    assert_eq!(rb.fraction_lost, 0);
}
