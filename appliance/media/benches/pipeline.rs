//! Cost of one stream: decode + jitter buffer + resample to 16 kHz, per
//! second of call audio, for PCMU, G.722 and Opus; and memory per stream.
//!
//! ```text
//! cargo bench --bench pipeline -- --warm-up-time 2 --measurement-time 5
//! ```
//!
//! Each iteration pushes 50 packets (one second of a 20 ms-packet stream,
//! in order, on time) into a long-lived pipeline and polls the 50 frames
//! out, so the figure is the steady-state cost of one stream-second.
//! Before the benchmarks, the resident memory of 1000 streams (each after
//! one second of audio) is measured from /proc/self/statm and printed.

use std::hint::black_box;
use std::time::{Duration, Instant};

use callguard_codecs::g711::linear_to_ulaw;
use callguard_media::{Codec, RtpPacket, StreamConfig, StreamPipeline};
use criterion::{Criterion, Throughput};

/// A voiced, speech-like test signal: harmonics of a gliding pitch.
fn voice(rate: u32, samples: usize) -> Vec<i16> {
    let mut phase = 0.0f64;
    (0..samples)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let f0 = 120.0 + 40.0 * (2.0 * std::f64::consts::PI * 0.5 * t).sin();
            phase += 2.0 * std::f64::consts::PI * f0 / f64::from(rate);
            let v: f64 = (1..=12).map(|h| (phase * f64::from(h)).sin() / f64::from(h)).sum();
            (4000.0 * v) as i16
        })
        .collect()
}

struct Source {
    codec: Codec,
    payload_type: u8,
    ts_per_packet: u32,
    packets: Vec<Vec<u8>>,
}

fn source(codec: Codec) -> Source {
    let seconds = 10;
    match codec {
        Codec::Pcmu => Source {
            codec,
            payload_type: 0,
            ts_per_packet: 160,
            packets: voice(8000, 8000 * seconds)
                .chunks(160)
                .map(|c| c.iter().map(|&s| linear_to_ulaw(s)).collect())
                .collect(),
        },
        Codec::G722 => {
            // G.722 decoding costs the same whatever the bits; a generator
            // stands in for an encoder.
            let mut x = 0x2545_F491u32;
            let packets = (0..50 * seconds)
                .map(|_| {
                    (0..160)
                        .map(|_| {
                            x ^= x << 13;
                            x ^= x >> 17;
                            x ^= x << 5;
                            x as u8
                        })
                        .collect()
                })
                .collect();
            Source { codec, payload_type: 9, ts_per_packet: 160, packets }
        }
        Codec::Opus => {
            let mut enc = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
            enc.set_bitrate(opus::Bitrate::Bits(32_000)).unwrap();
            let packets =
                voice(48_000, 48_000 * seconds).chunks(960).map(|c| enc.encode_vec(c, 1500).unwrap()).collect();
            Source { codec, payload_type: 111, ts_per_packet: 960, packets }
        }
        _ => unreachable!(),
    }
}

struct Stream {
    src: Source,
    pipeline: StreamPipeline,
    t0: Instant,
    k: u64,
}

impl Stream {
    fn new(codec: Codec) -> Self {
        let src = source(codec);
        let pipeline = StreamPipeline::new(StreamConfig::new(src.codec, src.payload_type)).unwrap();
        Self { src, pipeline, t0: Instant::now(), k: 0 }
    }

    /// One second: 50 packets in, 50 frames out. Returns a checksum.
    fn one_second(&mut self) -> f32 {
        let mut sum = 0.0;
        for _ in 0..50 {
            let k = self.k;
            let payload = &self.src.packets[(k % self.src.packets.len() as u64) as usize];
            let now = self.t0 + Duration::from_millis(20 * k);
            let pkt = RtpPacket {
                ssrc: 1,
                sequence: k as u16,
                timestamp: (k as u32).wrapping_mul(self.src.ts_per_packet),
                marker: false,
                payload_type: self.src.payload_type,
                payload,
            };
            self.pipeline.push(&pkt, now);
            while let Some(f) = self.pipeline.poll(now).unwrap() {
                sum += f.samples[17];
            }
            self.k += 1;
        }
        sum
    }
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// Measures one codec's streams in this process (run in a child process
/// per codec, so freed memory of one measurement cannot hide the next).
fn measure_memory(codec: Codec) {
    let template = source(codec);
    let packets: Vec<Vec<u8>> = template.packets[..50].to_vec();
    let payload_copies: usize = packets.iter().map(Vec::len).sum::<usize>() + 50 * 24;
    let before = rss_bytes();
    let mut streams: Vec<Stream> = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let pipeline = StreamPipeline::new(StreamConfig::new(codec, template.payload_type)).unwrap();
        let src = Source {
            codec,
            payload_type: template.payload_type,
            ts_per_packet: template.ts_per_packet,
            packets: packets.clone(),
        };
        let mut s = Stream { src, pipeline, t0: Instant::now(), k: 0 };
        s.one_second();
        streams.push(s);
    }
    let per_stream = rss_bytes().saturating_sub(before) / 1000;
    println!(
        "memory {codec}: {} B resident per stream over 1000 streams after 1 s of audio \
         (minus {payload_copies} B of the bench's own payload copies: {} B); \
         memory_bytes() = {} B; size_of::<StreamPipeline>() = {} B",
        per_stream,
        per_stream.saturating_sub(payload_copies),
        streams[0].pipeline.memory_bytes(),
        std::mem::size_of::<StreamPipeline>()
    );
}

fn report_memory() {
    let exe = std::env::current_exe().expect("bench executable path");
    for name in ["PCMU", "G722", "opus"] {
        let out = std::process::Command::new(&exe).env("CALLGUARD_BENCH_MEMORY", name).output();
        match out {
            Ok(o) => print!("{}", String::from_utf8_lossy(&o.stdout)),
            Err(e) => println!("memory {name}: could not run the measurement: {e}"),
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("stream_second");
    group.throughput(Throughput::Elements(1));
    for codec in [Codec::Pcmu, Codec::G722, Codec::Opus] {
        let mut stream = Stream::new(codec);
        // Past the start-up so every iteration is steady state.
        stream.one_second();
        group.bench_function(codec.name(), |b| b.iter(|| black_box(stream.one_second())));
    }
    group.finish();
}

fn main() {
    if let Ok(name) = std::env::var("CALLGUARD_BENCH_MEMORY") {
        let codec = [Codec::Pcmu, Codec::G722, Codec::Opus].into_iter().find(|c| c.name() == name).expect("codec name");
        measure_memory(codec);
        return;
    }
    if !std::env::args().any(|a| a == "--list") {
        report_memory();
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
