//! Cost per utterance of tactics + classifier + fusion.
//!
//! `cargo run --release --example bench_utterance -- data/train.jsonl`
//! replays every call of the file (repeatedly) and prints the mean and
//! worst time per `on_turn`, and the mean for a long (4 KiB) utterance.

use std::time::Instant;

use callguard_detect::{CallDetector, CallInput, DetectorConfig, Turn};

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| "data/train.jsonl".to_owned());
    let text = std::fs::read_to_string(&path).expect("read calls");
    let calls: Vec<CallInput> = text.lines().map(|l| serde_json::from_str(l).expect("call")).collect();
    let config = DetectorConfig::default();
    // Warm up (compiles the rules once).
    let _ =
        CallDetector::new(&config).on_turn(Turn { speaker: callguard_detect::Speaker::Caller, text: "hi", at: None });
    let (mut turns, mut worst) = (0u64, 0f64);
    let start = Instant::now();
    let mut sink = 0.0f32;
    for _ in 0..20 {
        for call in &calls {
            let mut d = CallDetector::new(&config);
            for t in &call.turns {
                let t0 = Instant::now();
                sink += d.on_turn(Turn { speaker: t.speaker, text: &t.text, at: None }).risk;
                worst = worst.max(t0.elapsed().as_secs_f64());
                turns += 1;
            }
        }
    }
    let mean = start.elapsed().as_secs_f64() / turns as f64;
    let long = "please read me the verification code we just sent to your phone so I can block the charge ".repeat(60);
    let long = &long[..4096];
    let mut d = CallDetector::new(&config);
    let t0 = Instant::now();
    for _ in 0..200 {
        sink += d.on_turn(Turn { speaker: callguard_detect::Speaker::Caller, text: long, at: None }).risk;
    }
    let long_mean = t0.elapsed().as_secs_f64() / 200.0;
    println!(
        "{turns} utterances: mean {:.1} µs, worst {:.1} µs; 4 KiB utterance: mean {:.1} µs (checksum {sink:.1})",
        mean * 1e6,
        worst * 1e6,
        long_mean * 1e6
    );
}
