//! `callguard-stt --model FILE.bin --listen SOCKET [--states N] [--threads N]`

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use callguard_stt::{ServerConfig, WhisperModel, serve};
use clap::Parser;

/// callguard's speech-to-text worker: loads a whisper.cpp ggml model and
/// serves transcriptions on a Unix socket. Started by the callguard daemon.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// whisper.cpp ggml model (.bin).
    #[arg(long)]
    model: PathBuf,
    /// Unix socket path to listen on (created mode 0600; a stale one is
    /// replaced, a live one is an error).
    #[arg(long)]
    listen: PathBuf,
    /// Requests decoded at once (whisper states sharing the model).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    states: u16,
    /// Threads per request.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
    /// Requests waiting at most before new ones are refused.
    #[arg(long, default_value_t = 32)]
    queue: usize,
    /// Also stop when standard input reaches end of file (the daemon
    /// holds the other end of a pipe).
    #[arg(long)]
    exit_with_stdin: bool,
}

fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            bail!("{} is in use by another worker; stop it or choose another --listen path", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("cannot remove the stale socket {}", path.display()))?;
    }
    let listener = UnixListener::bind(path).with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {} to its owner", path.display()))?;
    Ok(listener)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone()).context("cannot install the signal handlers")?;
    }
    if args.exit_with_stdin {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut sink = [0u8; 64];
            let mut stdin = std::io::stdin();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            stop.store(true, Ordering::Relaxed);
        });
    }
    let model = WhisperModel::load(&args.model)?;
    let listener = bind(&args.listen)?;
    let config =
        ServerConfig { states: usize::from(args.states), threads: usize::from(args.threads), queue: args.queue };
    let served = serve(listener, &model, &config, &stop);
    let _ = std::fs::remove_file(&args.listen);
    Ok(served?)
}
