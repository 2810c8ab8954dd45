//! The whole stream path against sox/FFmpeg references, on speech made by
//! espeak-ng at test time in a temporary directory (nothing is committed).
//!
//! Needs Debian's `sox`, `ffmpeg`, `opus-tools` and `espeak-ng`; without
//! them the tests fail with an install hint.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use callguard_media::{Codec, FrameKind, JitterBuffer, RtpPacket, StreamConfig, StreamPipeline};
use callguard_testkit::audio::{self, p, read_s16le, run};

const TOOLS: &[&str] = &["sox", "ffmpeg", "opusenc", "espeak-ng"];
const SENTENCE: &str =
    "This is your bank. We noticed unusual activity. Please confirm the six digit code we just sent you.";

fn require_tools() {
    audio::require_tools(TOOLS);
}

fn speech_wav(dir: &Path, rate: u32) -> PathBuf {
    audio::speech_wav(dir, rate, SENTENCE)
}

/// Panics with the first differing index rather than printing the arrays.
fn assert_same<T: PartialEq + std::fmt::Debug>(ours: &[T], reference: &[T], what: &str) {
    assert_eq!(ours.len(), reference.len(), "{what}: lengths differ");
    if let Some(i) = ours.iter().zip(reference).position(|(a, b)| a != b) {
        let end = (i + 8).min(ours.len());
        panic!(
            "{what}: first difference at sample {i} of {}: ours {:?}, reference {:?}",
            ours.len(),
            &ours[i..end],
            &reference[i..end]
        );
    }
}

/// SNR in dB of `test` against `reference`, at the best delay in
/// `0..max_delay` (test lagging reference), over their common length.
fn best_snr(reference: &[f32], test: &[f32], max_delay: usize) -> (f64, usize) {
    (0..max_delay)
        .map(|d| {
            let n = reference.len().min(test.len().saturating_sub(d));
            let (mut sig, mut err) = (0f64, 0f64);
            for i in 0..n {
                let r = f64::from(reference[i]);
                sig += r * r;
                err += (r - f64::from(test[i + d])).powi(2);
            }
            (10.0 * (sig / err.max(1e-30)).log10(), d)
        })
        .fold((f64::MIN, 0), |a, b| if b.0 > a.0 { b } else { a })
}

/// Deterministic network: packet k sent at 20k ms, delayed 0-20 ms, and
/// pairs swapped now and then (so up to 40 ms late). No loss. This stays
/// inside three quarters of the 60 ms reorder window, so the drift control
/// has no reason to add delay and the output must be the input exactly.
fn arrivals(n: usize) -> Vec<(u64, usize)> {
    let mut v: Vec<(u64, usize)> = (0..n).map(|k| (20 * k as u64 + ((k * 7919) % 21) as u64, k)).collect();
    for k in (3..n - 1).step_by(17) {
        let a = v[k].0;
        v[k].0 = v[k + 1].0;
        v[k + 1].0 = a;
    }
    v.sort();
    v
}

/// Packets through a jitter buffer on a 1 ms clock; returns the frames'
/// samples and kinds.
fn play_native(cfg: &StreamConfig, packets: &[Vec<u8>], ts_step: u32) -> (Vec<i16>, Vec<FrameKind>) {
    let mut jb = JitterBuffer::new(cfg).unwrap();
    let t0 = Instant::now();
    let order = arrivals(packets.len());
    let mut i = 0;
    let (mut pcm, mut kinds) = (Vec::new(), Vec::new());
    let end = 20 * packets.len() as u64 + 200;
    for t in 0..end {
        let now = t0 + Duration::from_millis(t);
        while i < order.len() && order[i].0 == t {
            let k = order[i].1;
            let pkt = RtpPacket {
                ssrc: 0x5151,
                sequence: 60_000u16.wrapping_add(k as u16),
                timestamp: 4_294_000_000u32.wrapping_add(ts_step * k as u32),
                marker: k == 0,
                payload_type: cfg.payload_type,
                payload: &packets[k],
            };
            jb.push(&pkt, now);
            i += 1;
        }
        while let Some(f) = jb.poll(now) {
            pcm.extend_from_slice(f.samples);
            kinds.push(f.kind);
        }
    }
    let st = jb.stats();
    assert_eq!((st.lost, st.late, st.duplicates, st.concealed_ms), (0, 0, 0, 0), "{st:?}");
    assert_eq!((st.drift_dropped_ms, st.drift_inserted_ms, st.resyncs), (0, 0, 0), "{st:?}");
    (pcm, kinds)
}

fn play_16k(cfg: StreamConfig, packets: &[Vec<u8>], ts_step: u32) -> Vec<f32> {
    let mut stream = StreamPipeline::new(cfg).unwrap();
    let t0 = Instant::now();
    let order = arrivals(packets.len());
    let mut i = 0;
    let mut out = Vec::new();
    for t in 0..20 * packets.len() as u64 + 200 {
        let now = t0 + Duration::from_millis(t);
        while i < order.len() && order[i].0 == t {
            let k = order[i].1;
            let pt = stream.jitter_buffer().codec().static_payload_type().unwrap_or(111);
            let pkt = RtpPacket {
                ssrc: 0x5151,
                sequence: k as u16,
                timestamp: ts_step * k as u32,
                marker: false,
                payload_type: pt,
                payload: &packets[k],
            };
            stream.push(&pkt, now);
            i += 1;
        }
        while let Some(f) = stream.poll(now).unwrap() {
            assert_eq!(f.samples.len(), 320);
            out.extend_from_slice(&f.samples);
        }
    }
    let st = stream.stats();
    assert_eq!(
        (st.lost, st.late, st.concealed_ms, st.drift_dropped_ms, st.drift_inserted_ms),
        (0, 0, 0, 0, 0),
        "{st:?}"
    );
    out
}

fn g711(law: &str, codec: Codec, pt: u8) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wav = speech_wav(d, 8000);
    let encoded = d.join("enc.wav");
    run("sox", &[p(&wav), "-e", law, p(&encoded)]);
    let payload_file = d.join("payload.raw");
    run("sox", &[p(&encoded), "-t", "raw", p(&payload_file)]);
    let bytes = std::fs::read(&payload_file).unwrap();
    let reference_file = d.join("ref.raw");
    run("sox", &[p(&encoded), "-t", "raw", "-e", "signed", "-b", "16", p(&reference_file)]);
    let reference = read_s16le(&reference_file);
    let packets: Vec<Vec<u8>> = bytes.chunks_exact(160).map(<[u8]>::to_vec).collect();
    let whole = packets.len() * 160;

    // Native rate: bit-exact with sox's decoding, jitter and reordering
    // notwithstanding.
    let (pcm, kinds) = play_native(&StreamConfig::new(codec, pt), &packets, 160);
    assert!(kinds[..packets.len()].iter().all(|k| *k == FrameKind::Audio));
    assert_same(&pcm[..whole], &reference[..whole], &format!("{law}: jitter buffer output vs sox"));

    // 16 kHz: against sox's own 8 → 16 kHz conversion of its decoding.
    let up_file = d.join("ref16k.raw");
    run("sox", &[p(&encoded), "-t", "raw", "-e", "signed", "-b", "16", "-r", "16000", p(&up_file)]);
    let up: Vec<f32> = read_s16le(&up_file).iter().map(|&s| f32::from(s) / 32768.0).collect();
    let ours = play_16k(StreamConfig::new(codec, pt), &packets, 160);
    let (snr, delay) = best_snr(&up[..whole * 2], &ours, 200);
    eprintln!("{law} 16 kHz vs sox rate: SNR {snr:.1} dB at delay {delay} samples (bound {G711_16K_MIN_SNR_DB} dB)");
    assert!(snr >= G711_16K_MIN_SNR_DB, "{law}: 16 kHz output SNR {snr:.1} dB");
}

/// Our 16 kHz output against sox's `rate` upsampling of the same decoded
/// audio. Two good resamplers still differ in their transition band just
/// under 4 kHz (rubato's FFT filter and sox's default 95 % bandwidth
/// filter), which is where G.711 speech still has energy; measured 29 dB.
const G711_16K_MIN_SNR_DB: f64 = 25.0;

#[test]
fn pcmu_stream_is_bit_exact_with_sox() {
    require_tools();
    g711("u-law", Codec::Pcmu, 0);
}

#[test]
fn pcma_stream_is_bit_exact_with_sox() {
    require_tools();
    g711("a-law", Codec::Pcma, 8);
}

#[test]
fn g722_stream_equals_ffmpeg_decoding() {
    require_tools();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wav = speech_wav(d, 16000);
    let g722 = d.join("out.g722");
    run("ffmpeg", &["-loglevel", "error", "-i", p(&wav), "-ar", "16000", "-acodec", "g722", p(&g722)]);
    let reference_file = d.join("ref.raw");
    run(
        "ffmpeg",
        &[
            "-loglevel",
            "error",
            "-f",
            "g722",
            "-i",
            p(&g722),
            "-f",
            "s16le",
            "-acodec",
            "pcm_s16le",
            p(&reference_file),
        ],
    );
    let reference: Vec<f32> = read_s16le(&reference_file).iter().map(|&s| f32::from(s) / 32768.0).collect();
    let bytes = std::fs::read(&g722).unwrap();
    let packets: Vec<Vec<u8>> = bytes.chunks_exact(160).map(<[u8]>::to_vec).collect();
    let ours = play_16k(StreamConfig::new(Codec::G722, 9), &packets, 160);
    let n = packets.len() * 320;
    assert_same(&ours[..n], &reference[..n], "G.722 16 kHz output vs FFmpeg");
}

/// Opus at 48 kHz, decoded and brought to 16 kHz by us, against FFmpeg's
/// libopus decode brought to 16 kHz by sox.
const OPUS_16K_MIN_SNR_DB: f64 = 30.0;

#[test]
fn opus_stream_matches_ffmpeg_and_sox_at_16k() {
    require_tools();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wav = speech_wav(d, 48000);
    let ogg = d.join("out.opus");
    run("opusenc", &["--quiet", "--bitrate", "32", "--framesize", "20", p(&wav), p(&ogg)]);
    let data = std::fs::read(&ogg).unwrap();
    // Ogg pages → packets (skip OpusHead and OpusTags).
    let mut packets = Vec::new();
    let mut partial = Vec::new();
    let mut pos = 0;
    while pos + 27 <= data.len() {
        let nsegs = usize::from(data[pos + 26]);
        let mut body = pos + 27 + nsegs;
        for &len in &data[pos + 27..pos + 27 + nsegs] {
            partial.extend_from_slice(&data[body..body + usize::from(len)]);
            body += usize::from(len);
            if len < 255 {
                packets.push(std::mem::take(&mut partial));
            }
        }
        pos = body;
    }
    let pre_skip = usize::from(u16::from_le_bytes([packets[0][10], packets[0][11]]));
    let packets = packets.split_off(2);
    let reference_file = d.join("ref16k.raw");
    let ref48 = d.join("ref48k.wav");
    run("ffmpeg", &["-loglevel", "error", "-c:a", "libopus", "-i", p(&ogg), "-ar", "48000", p(&ref48)]);
    run("sox", &[p(&ref48), "-t", "raw", "-e", "signed", "-b", "16", "-r", "16000", p(&reference_file)]);
    let reference: Vec<f32> = read_s16le(&reference_file).iter().map(|&s| f32::from(s) / 32768.0).collect();
    let mut cfg = StreamConfig::new(Codec::Opus, 111);
    cfg.comfort_noise_payload_type = None;
    let ours = play_16k(cfg, &packets, 960);
    // Our output still holds the encoder's pre-skip (312 samples at 48 kHz).
    let ours = &ours[pre_skip / 3..];
    let n = reference.len().min(packets.len() * 320 - pre_skip / 3);
    let (snr, delay) = best_snr(&reference[..n], ours, 1000);
    eprintln!("Opus 16 kHz vs FFmpeg+sox: SNR {snr:.1} dB at delay {delay} (bound {OPUS_16K_MIN_SNR_DB} dB)");
    assert!(snr >= OPUS_16K_MIN_SNR_DB, "Opus 16 kHz SNR {snr:.1} dB");
}
