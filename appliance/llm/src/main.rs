//! `callguard-llm --model FILE.gguf --listen SOCKET [--threads N] [--ctx N] [--slots N] [--exit-with-stdin]`

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};
use callguard_llm::{JudgeConfig, LlmModel, ServerConfig, serve};
use clap::Parser;

/// Layers offloaded by default: all with a GPU back-end, none without.
const DEFAULT_GPU_LAYERS: u32 = if cfg!(any(feature = "cuda", feature = "vulkan")) { 999 } else { 0 };

/// callguard's LLM judge worker: loads a GGUF model and judges call
/// transcripts on a Unix socket. Started by the callguard daemon.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// llama.cpp GGUF model (.gguf).
    #[arg(long)]
    model: PathBuf,
    /// Unix socket path to listen on (created mode 0600; a stale one is
    /// replaced, a live one is an error).
    #[arg(long)]
    listen: PathBuf,
    /// Threads for prompt evaluation and generation.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: u32,
    /// Context per call, in tokens (prompt and answer).
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u32).range(256..=131_072))]
    ctx: u32,
    /// Calls whose evaluated prompt is kept for their next checkpoint
    /// (each takes a context of --ctx tokens in memory).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    slots: u32,
    /// Judgements waiting at most before new ones are refused.
    #[arg(long, default_value_t = 16)]
    queue: usize,
    /// Model layers offloaded to the GPU (GPU builds only).
    #[arg(long, default_value_t = DEFAULT_GPU_LAYERS)]
    gpu_layers: u32,
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
    let model = LlmModel::load(&args.model, args.gpu_layers)?;
    let listener = bind(&args.listen)?;
    let config = ServerConfig {
        judge: JudgeConfig { threads: args.threads, ctx: args.ctx, slots: args.slots, reuse: true },
        queue: args.queue,
    };
    let served = serve(listener, &model, &config, &stop);
    let _ = std::fs::remove_file(&args.listen);
    Ok(served?)
}
