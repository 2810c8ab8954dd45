//! Reference audio for decoder and pipeline tests, made at test time with
//! Debian's tools in a temporary directory (no audio file is ever committed).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Panics with an install hint when one of `tools` is missing, so a test
/// never passes silently without its references.
pub fn require_tools(tools: &[&str]) {
    let missing: Vec<&str> =
        tools.iter().copied().filter(|t| Command::new(t).arg("--version").output().is_err()).collect();
    assert!(
        missing.is_empty(),
        "reference tools {missing:?} are not installed: run `apt-get install sox ffmpeg opus-tools espeak-ng` \
         (scripts/install-deps does)"
    );
}

/// Runs a tool and panics with its standard error if it fails.
pub fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(out.status.success(), "{cmd} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A temporary path as the `&str` command lines take.
pub fn p(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// Raw signed 16-bit little-endian samples from a file.
pub fn read_s16le(path: &Path) -> Vec<i16> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    bytes.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()
}

/// Signal-to-noise ratio of `test` against `reference` in dB (infinite when equal).
pub fn snr_db(reference: &[i16], test: &[i16]) -> f64 {
    assert_eq!(reference.len(), test.len(), "lengths differ");
    let (mut sig, mut err) = (0f64, 0f64);
    for (&r, &t) in reference.iter().zip(test) {
        sig += f64::from(r).powi(2);
        err += (f64::from(r) - f64::from(t)).powi(2);
    }
    if err == 0.0 { f64::INFINITY } else { 10.0 * (sig / err).log10() }
}

/// `text` spoken by espeak-ng, as a mono 16-bit WAV at `rate` in `dir`.
pub fn speech_wav(dir: &Path, rate: u32, text: &str) -> PathBuf {
    let raw = dir.join("espeak.wav");
    run("espeak-ng", &["-w", p(&raw), text]);
    let out = dir.join(format!("speech{rate}.wav"));
    run("sox", &[p(&raw), "-r", &rate.to_string(), "-c", "1", "-b", "16", p(&out)]);
    out
}
