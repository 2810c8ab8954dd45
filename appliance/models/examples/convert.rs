//! Converts a faster-whisper (CTranslate2) model directory to a whisper.cpp ggml file, then inspects it.
//!
//! Usage: cargo run --release --example convert -- <ct2-model-dir> <out.bin>

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(model_dir), Some(out)) = (args.next(), args.next()) else {
        eprintln!("usage: convert <ct2-model-dir> <out.bin>");
        std::process::exit(2);
    };
    let started = Instant::now();
    let summary = callguard_models::convert_ct2_to_file(&model_dir, &out, &mut |_| {}).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    let converted = started.elapsed();
    let info = callguard_models::inspect(&out, &mut |_| {}).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(1);
    });
    println!("converted in {converted:.2?}: {} tensors, {} tokens", summary.tensor_count, summary.vocab_tokens);
    println!("{}: {}, {} bytes, sha256 {}", out.display(), info.kind, info.size_bytes, info.sha256);
}
