//! What every inference worker the daemon runs has in common (the speech
//! worker now, the LLM judge next): the child process, killed when its
//! handle goes; waiting for its socket while it loads its model; and the
//! back-off between restarts.
//!
//! Workers are started with `--exit-with-stdin` and a pipe on their
//! standard input that only the daemon holds, so a worker exits with the
//! daemon whatever ends it, SIGKILL included.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a worker may take to load its model and listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Restart back-off: first wait, longest wait, and how long a worker must
/// have run for the next failure to start from the first wait again.
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// A worker process that is killed when this goes.
pub(crate) struct Worker(Child);

impl Worker {
    /// Starts `binary args… --exit-with-stdin`.
    pub(crate) fn spawn(binary: &Path, args: Vec<OsString>) -> Result<Worker, String> {
        Command::new(binary)
            .args(args)
            .arg("--exit-with-stdin")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .map(Worker)
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))
    }

    pub(crate) fn id(&self) -> u32 {
        self.0.id()
    }

    /// `Err` with its status once the process has exited.
    pub(crate) fn check_alive(&mut self) -> Result<(), String> {
        match self.0.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("the worker exited ({status})")),
            Err(e) => Err(e.to_string()),
        }
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// Calls `connect` until it gives a client, while the worker loads its
    /// model: `Ok(None)` from `connect` means "not listening yet". `None`
    /// when told to stop meanwhile.
    pub(crate) fn connect_when_ready<C>(
        &mut self,
        stop: &AtomicBool,
        mut connect: impl FnMut() -> Result<Option<C>, String>,
    ) -> Result<Option<C>, String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            self.check_alive().map_err(|e| format!("{e} while starting"))?;
            if stop.load(Ordering::Relaxed) {
                return Ok(None);
            }
            if let Some(client) = connect()? {
                return Ok(Some(client));
            }
            if Instant::now() >= deadline {
                return Err(format!("the worker did not listen within {START_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The wait before the next restart: doubling from half a second to 30 s,
/// back to half a second after a worker that ran a minute.
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff { next: BACKOFF_FIRST }
    }

    /// Waits before restarting a worker that ran for `ran`, unless `stop`.
    pub(crate) fn wait(&mut self, ran: Duration, stop: &AtomicBool) {
        if ran > HEALTHY_RUN {
            self.next = BACKOFF_FIRST;
        }
        let resume = Instant::now() + self.next;
        while Instant::now() < resume && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.next = (self.next * 2).min(BACKOFF_MAX);
    }
}
