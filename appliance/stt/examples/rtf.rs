//! Real-time factor and word error rate of the whisper engine on the
//! espeak-ng script, with and without the reduced audio context.
//!
//! ```text
//! cargo run --release -p callguard-stt --example rtf [rtf|wer]
//! ```
//!
//! Prints, per chunk length (2, 5, 10, 30 s of concatenated script
//! speech), threads (1, 2) and audio context (full, fit), the median
//! decode time of 3 runs over the audio length; then the word error rate
//! of the script's sentences at 16 kHz and after G.711 µ-law, each way.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use callguard_speech::{AudioContext, DecodeOptions};
use callguard_stt::{WhisperModel, WhisperTranscriber};

const RATE: usize = 16_000;

fn to_f32(pcm: &[i16]) -> Vec<f32> {
    pcm.iter().map(|&s| f32::from(s) / 32768.0).collect()
}

fn decode(t: &mut WhisperTranscriber, samples: &[f32], audio_ctx: AudioContext) -> (Duration, String) {
    let started = Instant::now();
    let segments = t
        .transcribe_samples(samples, Duration::ZERO, "", &DecodeOptions { audio_ctx })
        .expect("whisper decodes the script");
    let text = segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
    (started.elapsed(), text)
}

fn main() {
    let model_path = support::model();
    let model = WhisperModel::load(&model_path).expect("load the model");
    let dir = tempfile::tempdir().unwrap();
    let contexts = [("full", AudioContext::Full), ("fit+64", AudioContext::Fit { margin: 64 })];
    println!("model {}", model_path.display());
    let only = std::env::args().nth(1);
    let run = |part: &str| only.as_deref().is_none_or(|o| o == part);

    // The script through G.711, end to end with 300 ms pauses, repeated
    // to 30 s.
    let mut phone = Vec::new();
    while phone.len() < 30 * RATE {
        for (voice, speed, text, _) in support::SCRIPT {
            phone.extend(support::speech(dir.path(), voice, *speed, text, true));
            phone.extend(std::iter::repeat_n(0i16, RATE * 3 / 10));
        }
    }

    if run("rtf") {
        println!("\nreal-time factor (decode time / audio time), median of 3");
        println!("{:>6} {:>7} {:>8} {:>10} {:>6}", "chunk", "threads", "ctx", "decode ms", "RTF");
        for threads in [1, 2] {
            let mut t = model.transcriber(threads).unwrap();
            decode(&mut t, &to_f32(&phone[..2 * RATE]), AudioContext::Full); // warm-up
            for secs in [2usize, 5, 10, 30] {
                let samples = to_f32(&phone[..secs * RATE]);
                for (name, ctx) in contexts {
                    let mut times: Vec<Duration> = (0..3).map(|_| decode(&mut t, &samples, ctx).0).collect();
                    times.sort();
                    let median = times[1];
                    println!(
                        "{:>5}s {:>7} {:>8} {:>10.0} {:>6.3}",
                        secs,
                        threads,
                        name,
                        median.as_secs_f64() * 1000.0,
                        median.as_secs_f64() / secs as f64
                    );
                }
            }
        }
    }

    if !run("wer") {
        return;
    }
    println!("\nword error rate over the script ({} sentences), 2 threads", support::SCRIPT.len());
    let mut t = model.transcriber(2).unwrap();
    for (path, g711) in [("16 kHz", false), ("G.711 µ-law", true)] {
        for (name, ctx) in contexts {
            let (mut errors, mut words) = (0.0, 0.0);
            for (voice, speed, text, _) in support::SCRIPT {
                let samples = to_f32(&support::speech(dir.path(), voice, *speed, text, g711));
                let (_, heard) = decode(&mut t, &samples, ctx);
                let n = support::words(text).len() as f64;
                errors += support::wer(text, &heard) * n;
                words += n;
            }
            println!(
                "{path:>12} {name:>8}: WER {:.1} % ({errors:.0} errors / {words:.0} words)",
                100.0 * errors / words
            );
        }
    }
}
