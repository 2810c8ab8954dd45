//! Crafted packet sequences through the jitter buffer: cadence, loss,
//! reordering, duplicates, silence, resync, drift, DTMF.
//!
//! The streams are PCMU made of a different tone in every 20 ms packet, so
//! each output frame can be matched to the packet it must contain, sample
//! for sample.

use std::time::{Duration, Instant};

use callguard_codecs::g711::{linear_to_ulaw, ulaw_to_linear};
use callguard_media::{Codec, FrameKind, JitterBuffer, PushOutcome, RtpPacket, StreamConfig, StreamPipeline};

const PT: u8 = 0;
const DTMF_PT: u8 = 101;
const WINDOW_MS: u64 = 60;

/// A 20 ms μ-law payload carrying a tone unique to `k`.
fn payload(k: usize) -> Vec<u8> {
    let freq = 200.0 + 37.0 * (k % 80) as f64;
    (0..160)
        .map(|i| {
            let t = (k * 160 + i) as f64 / 8000.0;
            linear_to_ulaw((8000.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16)
        })
        .collect()
}

fn decoded(payload: &[u8]) -> Vec<i16> {
    payload.iter().map(|&b| ulaw_to_linear(b)).collect()
}

#[derive(Clone)]
struct Sent {
    at_ms: u64,
    ssrc: u32,
    seq: u16,
    ts: u32,
    marker: bool,
    pt: u8,
    payload: Vec<u8>,
}

fn audio(at_ms: u64, ssrc: u32, seq: u16, ts: u32, k: usize) -> Sent {
    Sent { at_ms, ssrc, seq, ts, marker: false, pt: PT, payload: payload(k) }
}

/// A regular stream of `n` packets: packet k sent at 20k ms.
fn regular(n: usize) -> Vec<Sent> {
    (0..n).map(|k| audio(20 * k as u64, 0xA, 1000 + k as u16, 5000 + 160 * k as u32, k)).collect()
}

struct Out {
    index: u64,
    due_ms: u64,
    kind: FrameKind,
    samples: Vec<i16>,
}

struct Run {
    frames: Vec<Out>,
    outcomes: Vec<PushOutcome>,
    jb: JitterBuffer,
    max_buffered_ms: u64,
}

fn config() -> StreamConfig {
    StreamConfig::new(Codec::Pcmu, PT).with_telephone_event(DTMF_PT)
}

/// Pushes the packets at their arrival times and polls every millisecond
/// until `end_ms`.
fn simulate(cfg: StreamConfig, mut sent: Vec<Sent>, end_ms: u64) -> Run {
    sent.sort_by_key(|s| s.at_ms);
    let t0 = Instant::now();
    let mut jb = JitterBuffer::new(&cfg).unwrap();
    let mut frames = Vec::new();
    let mut outcomes = Vec::new();
    let mut next = 0;
    let mut max_buffered_ms = 0;
    for t in 0..=end_ms {
        let now = t0 + Duration::from_millis(t);
        while next < sent.len() && sent[next].at_ms == t {
            let s = &sent[next];
            let pkt = RtpPacket {
                ssrc: s.ssrc,
                sequence: s.seq,
                timestamp: s.ts,
                marker: s.marker,
                payload_type: s.pt,
                payload: &s.payload,
            };
            outcomes.push(jb.push(&pkt, now));
            next += 1;
        }
        while let Some(f) = jb.poll(now) {
            frames.push(Out {
                index: f.index,
                due_ms: f.due.duration_since(t0).as_millis() as u64,
                kind: f.kind,
                samples: f.samples.to_vec(),
            });
        }
        max_buffered_ms = max_buffered_ms.max(jb.buffered_ms());
    }
    Run { frames, outcomes, jb, max_buffered_ms }
}

/// Frames are consecutive, 160 samples, due every 20 ms from the first
/// packet's arrival plus the reorder window.
fn assert_cadence(run: &Run, first_arrival_ms: u64) {
    for (i, f) in run.frames.iter().enumerate() {
        assert_eq!(f.index, i as u64, "frame indices must be consecutive");
        assert_eq!(f.due_ms, first_arrival_ms + WINDOW_MS + 20 * i as u64, "frame {i} off cadence");
        assert_eq!(f.samples.len(), 160);
    }
}

fn assert_frame_is_packet(run: &Run, frame: usize, k: usize) {
    let f = &run.frames[frame];
    assert_eq!(f.kind, FrameKind::Audio, "frame {frame} should be audio of packet {k}");
    assert_eq!(f.samples, decoded(&payload(k)), "frame {frame} should hold packet {k} exactly");
}

#[test]
fn in_order_with_jitter_is_bit_exact_on_a_20ms_cadence() {
    // Up to 45 ms of jitter (below the 60 ms window), deterministic.
    let mut sent = regular(200);
    for (k, s) in sent.iter_mut().enumerate() {
        s.at_ms += ((k * 7919) % 46) as u64;
    }
    let first = sent.iter().map(|s| s.at_ms).min().unwrap();
    let run = simulate(config(), sent, 4200);
    assert_cadence(&run, first);
    for k in 0..200 {
        assert_frame_is_packet(&run, k, k);
    }
    let st = run.jb.stats();
    assert_eq!((st.packets, st.lost, st.late, st.duplicates, st.concealed_ms), (200, 0, 0, 0, 0));
    assert!(st.jitter_ms > 1.0, "jitter estimate {}", st.jitter_ms);
    // After the stream ends the cadence goes on with silence.
    assert!(run.frames[200..].iter().all(|f| f.kind == FrameKind::Silence));
    assert!(run.frames[200..].iter().all(|f| f.samples.iter().all(|&s| s == 0)));
}

#[test]
fn reordering_within_the_window_is_undone() {
    let mut sent = regular(100);
    // Swap neighbours, and deliver one packet 50 ms after its successor.
    for k in (10..60).step_by(2) {
        let a = sent[k].at_ms;
        sent[k].at_ms = sent[k + 1].at_ms;
        sent[k + 1].at_ms = a;
    }
    sent[70].at_ms += 55;
    let run = simulate(config(), sent, 2200);
    assert_cadence(&run, 0);
    for k in 0..100 {
        assert_frame_is_packet(&run, k, k);
    }
    let st = run.jb.stats();
    assert_eq!((st.lost, st.late, st.duplicates, st.concealed_ms), (0, 0, 0, 0));
}

#[test]
fn duplicates_are_dropped_and_counted() {
    let mut sent = regular(100);
    let dups: Vec<Sent> = (0..100)
        .step_by(5)
        .map(|k| {
            let mut d = sent[k].clone();
            d.at_ms += if k % 10 == 0 { 5 } else { 200 }; // before and after playout
            d
        })
        .collect();
    sent.extend(dups);
    let run = simulate(config(), sent, 2200);
    for k in 0..100 {
        assert_frame_is_packet(&run, k, k);
    }
    let st = run.jb.stats();
    assert_eq!(st.duplicates, 20);
    assert_eq!((st.lost, st.late, st.concealed_ms), (0, 0, 0));
    assert_eq!(run.outcomes.iter().filter(|o| **o == PushOutcome::Duplicate).count(), 20);
}

#[test]
fn a_late_packet_is_dropped_counted_and_concealed_not_lost() {
    let mut sent = regular(50);
    sent[10].at_ms += 100; // 40 ms after its playout time
    let run = simulate(config(), sent, 1200);
    assert_cadence(&run, 0);
    assert_eq!(run.frames[10].kind, FrameKind::Concealed);
    assert_frame_is_packet(&run, 11, 11);
    let st = run.jb.stats();
    assert_eq!((st.late, st.lost, st.concealed_ms), (1, 0, 20));
}

#[test]
fn concealment_stays_inside_the_gap_and_within_its_bound() {
    let lost = [20usize, 40, 41, 60, 61, 62, 100, 101, 102, 103];
    let sent: Vec<Sent> =
        regular(150).into_iter().enumerate().filter(|(k, _)| !lost.contains(k)).map(|(_, s)| s).collect();
    let run = simulate(config(), sent, 3200);
    assert_cadence(&run, 0);
    for k in 0..150 {
        if lost.contains(&k) {
            assert_ne!(run.frames[k].kind, FrameKind::Audio, "frame {k} was lost");
        } else {
            assert_frame_is_packet(&run, k, k);
        }
    }
    // 1, 2 and 3 losses: the next packet is buffered in time, so the gap is
    // known and concealed (20 + 40 + 60 ms). 4 losses exceed the 60 ms
    // window: the buffer runs dry first, which plays as silence, and no
    // audio is invented after silence.
    for k in [20, 40, 41, 60, 61, 62] {
        assert_eq!(run.frames[k].kind, FrameKind::Concealed, "frame {k}");
    }
    for k in 100..104 {
        assert_eq!(run.frames[k].kind, FrameKind::Silence, "frame {k}");
    }
    // Repeat-with-fade: the first concealed frame repeats the last one at
    // falling gain; the fade reaches zero at 60 ms.
    let prev = &run.frames[59].samples;
    let c0 = &run.frames[60].samples;
    assert!(c0.iter().zip(prev).all(|(&c, &p)| c.unsigned_abs() <= p.unsigned_abs()));
    assert!(c0[0] == prev[0]);
    let st = run.jb.stats();
    assert_eq!(st.lost, 10);
    assert_eq!(st.concealed_ms, 120);
    assert_eq!(st.late, 0);
}

#[test]
fn a_long_gap_is_concealed_up_to_the_bound_then_silence() {
    // A 200 ms window makes a 5-packet gap known in advance: 60 ms is
    // concealed (the bound), the other 40 ms are silence.
    let mut cfg = config();
    cfg.jitter.reorder_window = Duration::from_millis(200);
    let lost = 30..35usize;
    let sent: Vec<Sent> =
        regular(60).into_iter().enumerate().filter(|(k, _)| !lost.contains(k)).map(|(_, s)| s).collect();
    let run = simulate(cfg, sent, 1500);
    let kinds: Vec<FrameKind> = run.frames[30..35].iter().map(|f| f.kind).collect();
    use FrameKind::{Concealed as C, Silence as S};
    assert_eq!(kinds, [C, C, C, S, S]);
    assert!(run.frames[32].samples.iter().all(|&s| s.unsigned_abs() < 3000), "faded");
    assert_frame_is_packet(&run, 35, 35);
    let st = run.jb.stats();
    assert_eq!((st.lost, st.concealed_ms), (5, 60));
}

#[test]
fn silence_suppression_without_cn_plays_silence() {
    // 1 s talk, 1 s pause (no packets, timestamps jump, sequence numbers
    // continue), 1 s talk with the marker bit.
    let mut sent = regular(50);
    for k in 50..100 {
        let mut s = audio(20 * (k as u64 + 50), 0xA, 1000 + k as u16, 5000 + 160 * (k as u32 + 50), k);
        s.marker = k == 50;
        sent.push(s);
    }
    let run = simulate(config(), sent, 3200);
    assert_cadence(&run, 0);
    for k in 0..50 {
        assert_frame_is_packet(&run, k, k);
    }
    assert!(run.frames[50..100].iter().all(|f| f.kind == FrameKind::Silence));
    for k in 50..100 {
        assert_frame_is_packet(&run, k + 50, k);
    }
    let st = run.jb.stats();
    assert_eq!((st.lost, st.late, st.concealed_ms, st.resyncs), (0, 0, 0, 0));
    assert_eq!(st.silence_ms, 1000 + (run.frames.len() as u64 - 150) * 20);
}

#[test]
fn comfort_noise_is_silence_even_if_cn_packets_are_lost() {
    let mut sent = regular(30);
    // CN at seq 1030 (ts of packet 30), a lost CN refresh (seq 1031),
    // then speech again at seq 1032, 500 ms later.
    sent.push(Sent { at_ms: 600, ssrc: 0xA, seq: 1030, ts: 5000 + 160 * 30, marker: false, pt: 13, payload: vec![40] });
    for k in 30..60 {
        let shift = 25u32;
        sent.push(audio(20 * (k as u64 + 25), 0xA, 1002 + k as u16, 5000 + 160 * (k as u32 + shift), k));
    }
    let run = simulate(config(), sent, 1800);
    for k in 0..30 {
        assert_frame_is_packet(&run, k, k);
    }
    assert!(run.frames[30..55].iter().all(|f| f.kind == FrameKind::Silence));
    for k in 30..60 {
        assert_frame_is_packet(&run, k + 25, k);
    }
    let st = run.jb.stats();
    assert_eq!(st.concealed_ms, 0);
    assert_eq!(st.lost, 1, "the CN refresh");
}

#[test]
fn ssrc_change_mid_stream_resyncs() {
    let mut sent = regular(50);
    // New source: unrelated sequence and timestamp bases.
    for k in 50..100 {
        sent.push(audio(20 * k as u64, 0xB, 40_000 + k as u16, 3_000_000_000 + 160 * k as u32, k));
    }
    // A straggler from the old source after the switch.
    sent.push(audio(1100, 0xA, 1000 + 45, 5000 + 160 * 45, 45));
    let run = simulate(config(), sent, 2200);
    assert_cadence(&run, 0);
    for k in 0..100 {
        assert_frame_is_packet(&run, k, k);
    }
    let st = run.jb.stats();
    assert_eq!(st.resyncs, 1);
    assert_eq!((st.lost, st.concealed_ms), (0, 0));
    assert_eq!(st.late + st.duplicates, 1, "the straggler");
    assert!(run.outcomes[50] == PushOutcome::Resync);
}

#[test]
fn timestamp_jumps_resync() {
    let mut sent = regular(40);
    // Same SSRC and sequence, timestamp jumps 10 s ahead...
    for k in 40..80 {
        sent.push(audio(20 * k as u64, 0xA, 1000 + k as u16, 5000 + 80_000 + 160 * k as u32, k));
    }
    // ...then 1 hour back.
    for k in 80..120 {
        sent.push(audio(20 * k as u64, 0xA, 1000 + k as u16, (5000u32 + 160 * k as u32).wrapping_sub(28_800_000), k));
    }
    let run = simulate(config(), sent, 2600);
    assert_cadence(&run, 0);
    for k in 0..120 {
        assert_frame_is_packet(&run, k, k);
    }
    let st = run.jb.stats();
    assert_eq!(st.resyncs, 2);
    assert_eq!((st.lost, st.late, st.concealed_ms), (0, 0, 0));
}

#[test]
fn a_step_in_network_delay_resyncs_on_the_fifth_late_packet() {
    let mut sent = regular(100);
    for s in &mut sent[50..] {
        s.at_ms += 300;
    }
    let run = simulate(config(), sent, 2800);
    assert_cadence(&run, 0);
    for k in 0..50 {
        assert_frame_is_packet(&run, k, k);
    }
    let st = run.jb.stats();
    // Four are dropped as late; the fifth starts the new generation.
    assert_eq!((st.late, st.resyncs), (4, 1));
    assert_eq!(run.outcomes[54], PushOutcome::Resync);
    // From the resync on, every packet plays, in order, once.
    let first =
        run.frames.iter().position(|f| f.kind == FrameKind::Audio && f.samples == decoded(&payload(54))).unwrap();
    for k in 54..100 {
        assert_frame_is_packet(&run, first + k - 54, k);
    }
    assert!(run.frames[50..first].iter().all(|f| f.kind == FrameKind::Silence));
    assert_eq!(st.concealed_ms, 0, "the gap was not known in time: silence");
}

/// Speech-like on/off pattern: 1 s of tone packets, 1 s of μ-law silence.
fn drifting(n: usize, period_us: u64) -> Vec<Sent> {
    (0..n)
        .map(|k| {
            let mut s = audio(k as u64 * period_us / 1000, 0xA, k as u16, 160 * k as u32, k);
            if (k / 50) % 2 == 1 {
                s.payload = vec![0xFF; 160];
            }
            s
        })
        .collect()
}

fn loud_samples(frames: &[Out]) -> usize {
    frames.iter().flat_map(|f| &f.samples).filter(|s| s.unsigned_abs() > 256).count()
}

#[test]
fn a_fast_sender_clock_is_absorbed_by_dropping_silence() {
    // Sender clock 0.5 % fast for 60 s: 300 ms would pile up.
    let sent = drifting(3000, 19_900);
    let source_loud: usize = (0..3000)
        .filter(|k| (k / 50) % 2 == 0)
        .map(|k| decoded(&payload(k)).iter().filter(|s| s.unsigned_abs() > 256).count())
        .sum();
    let run = simulate(config(), sent, 60_500);
    let st = run.jb.stats();
    assert_eq!((st.lost, st.late, st.concealed_ms, st.resyncs), (0, 0, 0, 0));
    assert!(st.drift_dropped_ms >= 250, "dropped {} ms", st.drift_dropped_ms);
    assert!(run.max_buffered_ms <= WINDOW_MS + 60, "buffer grew to {} ms", run.max_buffered_ms);
    // Speech untouched: every loud sample is played exactly once.
    assert_eq!(loud_samples(&run.frames), source_loud);
}

#[test]
fn a_slow_sender_clock_is_absorbed_by_inserting_silence() {
    let sent = drifting(3000, 20_100);
    let source_loud: usize = (0..3000)
        .filter(|k| (k / 50) % 2 == 0)
        .map(|k| decoded(&payload(k)).iter().filter(|s| s.unsigned_abs() > 256).count())
        .sum();
    let run = simulate(config(), sent, 61_000);
    let st = run.jb.stats();

    assert_eq!((st.lost, st.late, st.concealed_ms, st.resyncs), (0, 0, 0, 0));
    assert!(st.drift_inserted_ms >= 250, "inserted {} ms", st.drift_inserted_ms);
    assert!(run.max_buffered_ms <= WINDOW_MS + 60, "buffer grew to {} ms", run.max_buffered_ms);
    assert_eq!(loud_samples(&run.frames), source_loud);
}

fn dtmf(at_ms: u64, seq: u16, ts: u32, digit: u8, end: bool, duration: u16, marker: bool) -> Sent {
    let d = duration.to_be_bytes();
    Sent {
        at_ms,
        ssrc: 0xA,
        seq,
        ts,
        marker,
        pt: DTMF_PT,
        payload: vec![digit, if end { 0x8A } else { 0x0A }, d[0], d[1]],
    }
}

#[test]
fn dtmf_in_the_stream_is_collapsed_and_gaps_are_not_loss() {
    // Audio 0..20, then key '5' for 100 ms (5 updates + 3 end packets,
    // sharing the sequence space), then audio again.
    let mut sent = regular(20);
    let ts = 5000 + 160 * 20;
    let mut seq = 1020u16;
    for (i, dur) in [160u16, 320, 480, 640, 800].into_iter().enumerate() {
        sent.push(dtmf(400 + 20 * i as u64, seq, ts, 5, false, dur, i == 0));
        seq += 1;
    }
    for i in 0..3 {
        sent.push(dtmf(500 + i, seq, ts, 5, true, 800, false));
        seq += 1;
    }
    for k in 25..50 {
        sent.push(audio(20 * k as u64, 0xA, seq, 5000 + 160 * k as u32, k));
        seq += 1;
    }
    let mut run = simulate(config(), sent, 1200);
    assert_cadence(&run, 0);
    assert!(run.frames[20..25].iter().all(|f| f.kind == FrameKind::Silence));
    for k in 25..50 {
        assert_frame_is_packet(&run, k, k);
    }
    let ev = run.jb.take_dtmf().expect("one key press");
    assert_eq!((ev.digit, ev.start_timestamp, ev.duration_ms), ('5', ts, 100));
    assert_eq!(run.jb.take_dtmf(), None);
    let st = run.jb.stats();
    assert_eq!((st.lost, st.concealed_ms, st.dtmf_events), (0, 0, 1));
}

#[test]
fn cadence_is_the_callers_clock_and_catches_up() {
    let cfg = config();
    let mut jb = JitterBuffer::new(&cfg).unwrap();
    let t0 = Instant::now();
    assert!(jb.poll(t0 + Duration::from_secs(5)).is_none(), "no frame before the first packet");
    let p = payload(0);
    let pkt = RtpPacket { ssrc: 1, sequence: 0, timestamp: 0, marker: true, payload_type: PT, payload: &p };
    jb.push(&pkt, t0);
    assert_eq!(jb.next_deadline(), Some(t0 + Duration::from_millis(60)));
    assert!(jb.poll(t0 + Duration::from_millis(59)).is_none());
    // A caller that wakes 100 ms late gets the missed frames at once.
    let mut n = 0;
    while let Some(f) = jb.poll(t0 + Duration::from_millis(160)) {
        assert_eq!(f.due, t0 + Duration::from_millis(60 + 20 * n));
        n += 1;
    }
    assert_eq!(n, 6);
}

#[test]
fn foreign_payload_types_and_bad_payloads_are_counted() {
    let cfg = config();
    let mut jb = JitterBuffer::new(&cfg).unwrap();
    let t0 = Instant::now();
    let p = payload(0);
    let mut pkt = RtpPacket { ssrc: 1, sequence: 0, timestamp: 0, marker: false, payload_type: 96, payload: &p };
    assert_eq!(jb.push(&pkt, t0), PushOutcome::UnknownPayloadType);
    pkt.payload_type = PT;
    pkt.payload = &[];
    assert_eq!(jb.push(&pkt, t0), PushOutcome::Invalid);
    pkt.payload_type = DTMF_PT;
    pkt.payload = &[1, 2];
    assert_eq!(jb.push(&pkt, t0), PushOutcome::Invalid);
    let st = jb.stats();
    assert_eq!((st.packets, st.unknown_payload_type, st.invalid), (3, 1, 2));
}

#[test]
fn g722_passes_through_at_16k_unchanged() {
    let mut stream = StreamPipeline::new(StreamConfig::new(Codec::G722, 9)).unwrap();
    let mut reference = callguard_codecs::new_decoder(Codec::G722).unwrap();
    let t0 = Instant::now();
    let mut expected = Vec::new();
    let mut got = Vec::new();
    for k in 0..20u16 {
        let payload: Vec<u8> = (0..160).map(|i| ((usize::from(k) * 31 + i * 7) % 256) as u8).collect();
        let mut pcm = [0i16; 320];
        reference.decode(&payload, &mut pcm).unwrap();
        expected.extend(pcm.iter().map(|&s| f32::from(s) / 32768.0));
        let now = t0 + Duration::from_millis(20 * u64::from(k));
        let pkt = RtpPacket {
            ssrc: 9,
            sequence: k,
            timestamp: 160 * u32::from(k),
            marker: false,
            payload_type: 9,
            payload: &payload,
        };
        stream.push(&pkt, now);
        while let Some(f) = stream.poll(now).unwrap() {
            got.extend_from_slice(&f.samples);
        }
    }
    assert_eq!(got.len(), 17 * 320);
    assert_eq!(got[..], expected[..got.len()]);
}

#[test]
fn opus_losses_use_libopus_plc() {
    let mut enc = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
    let mut stream = StreamPipeline::new(StreamConfig::new(Codec::Opus, 111)).unwrap();
    let t0 = Instant::now();
    let mut kinds = Vec::new();
    let mut energy_concealed = Vec::new();
    for k in 0..100u32 {
        let pcm: Vec<i16> = (0..960)
            .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * 300.0 * f64::from(k * 960 + i) / 48_000.0).sin()) as i16)
            .collect();
        let packet = enc.encode_vec(&pcm, 1500).unwrap();
        let now = t0 + Duration::from_millis(20 * u64::from(k));
        if k % 10 != 5 {
            let pkt = RtpPacket {
                ssrc: 7,
                sequence: k as u16,
                timestamp: 960 * k,
                marker: false,
                payload_type: 111,
                payload: &packet,
            };
            stream.push(&pkt, now);
        }
        while let Some(f) = stream.poll(now).unwrap() {
            if f.kind == FrameKind::Concealed {
                let rms = (f.samples.iter().map(|x| x * x).sum::<f32>() / 320.0).sqrt();
                energy_concealed.push(rms);
            }
            kinds.push(f.kind);
        }
    }
    let st = stream.stats();
    assert_eq!(st.lost, 10);
    assert_eq!(st.concealed_ms, 200);
    assert_eq!(kinds.iter().filter(|k| **k == FrameKind::Concealed).count(), 10);
    // PLC continues the tone (rms of the input is 0.17).
    assert!(energy_concealed.iter().all(|&e| e > 0.05), "{energy_concealed:?}");
}
