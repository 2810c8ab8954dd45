//! The `callguard-stt` worker process: started, connected, watched and
//! restarted here, so that a crash or a hang of whisper.cpp never takes
//! the daemon, SIP or media with it.
//!
//! ```text
//!  speech thread ──submit──> JobQueue (caller lane first, bounded)
//!                                 │ pop
//!                  connection thread × states ──Transcribe──> worker ──Segments──> Done ──> speech thread
//!                  (one per whisper state, so the worker never queues)    idle: Ping, to notice a hang
//!  supervisor: spawn worker ─> connect × states ─> wait for a failure ─> kill ─> back off ─> again
//! ```
//!
//! A connection that times out (a hung worker), closes (a crash) or falls
//! out of step brings the whole worker down and up again: jobs in flight
//! and queued are answered as failed, so their calls show as degraded
//! until the worker is back. The worker reads its standard input, which
//! only the daemon holds, so it exits with the daemon whatever the cause.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use callguard_speech::Leg;
use callguard_stt_protocol::{ClientError, SegmentsReply, SttClient, TranscribeRequest};

use crate::worker_process::{Backoff, Worker};

/// How long a reply may take before the worker is presumed hung: well
/// above what the longest chunk (30 s) costs a slow CPU.
const REPLY_TIMEOUT: Duration = Duration::from_secs(20);
/// How often an idle connection pings the worker.
const IDLE_PING: Duration = Duration::from_secs(1);

/// How to run the worker.
#[derive(Debug, Clone)]
pub(crate) struct WorkerSettings {
    /// The `callguard-stt` binary.
    pub(crate) binary: PathBuf,
    /// The ggml model file.
    pub(crate) model: PathBuf,
    /// The Unix socket it listens on.
    pub(crate) socket: PathBuf,
    /// Whisper states, i.e. chunks decoded at once.
    pub(crate) states: u16,
    /// Threads per state.
    pub(crate) threads: u16,
}

/// A chunk on its way to the worker, with what its answer needs.
pub(crate) struct Job {
    /// The call, by the speech service's key.
    pub(crate) call: u64,
    /// Share of the chunk's frames that were speech, for the clean-up.
    pub(crate) speech_ratio: f32,
    /// When the chunk was complete: latency is measured from here.
    pub(crate) ready: Instant,
    /// The request; its audio is zeroed when it is dropped.
    pub(crate) request: TranscribeRequest,
}

/// A job's answer.
pub(crate) struct Done {
    pub(crate) call: u64,
    pub(crate) leg: Leg,
    pub(crate) speech_ratio: f32,
    pub(crate) ready: Instant,
    /// The segments, or why there are none (the message never quotes content).
    pub(crate) outcome: Result<SegmentsReply, String>,
}

impl Job {
    fn done(self, outcome: Result<SegmentsReply, String>) -> Done {
        Done { call: self.call, leg: self.request.leg, speech_ratio: self.speech_ratio, ready: self.ready, outcome }
    }
}

/// Jobs waiting for a connection, caller leg first.
struct JobQueue {
    lanes: Mutex<[VecDeque<Job>; 2]>,
    ready: Condvar,
    capacity: usize,
}

fn lane(leg: Leg) -> usize {
    match leg {
        Leg::Caller => 0,
        Leg::Callee => 1,
    }
}

impl JobQueue {
    fn lock(&self) -> MutexGuard<'_, [VecDeque<Job>; 2]> {
        self.lanes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `job`. When full, a caller job pushes out the oldest callee
    /// job; otherwise the new job is refused. Returns the job left out.
    fn push(&self, job: Job) -> Option<Job> {
        let mut lanes = self.lock();
        let mut left_out = None;
        if lanes[0].len() + lanes[1].len() >= self.capacity {
            if job.request.leg == Leg::Caller && !lanes[1].is_empty() {
                left_out = lanes[1].pop_front();
            } else {
                return Some(job);
            }
        }
        lanes[lane(job.request.leg)].push_back(job);
        self.ready.notify_one();
        left_out
    }

    fn pop(&self, wait: Duration) -> Option<Job> {
        let mut lanes = self.lock();
        let deadline = Instant::now() + wait;
        loop {
            if let Some(job) = lanes[0].pop_front().or_else(|| lanes[1].pop_front()) {
                return Some(job);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            lanes = self.ready.wait_timeout(lanes, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    fn drain(&self) -> Vec<Job> {
        let mut lanes = self.lock();
        lanes.iter_mut().flat_map(|l| l.drain(..)).collect()
    }
}

/// The worker's state, for status and metrics.
#[derive(Default)]
pub(crate) struct WorkerHealth {
    up: AtomicBool,
    pid: AtomicU32,
    restarts: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl WorkerHealth {
    pub(crate) fn up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// The running worker's process id.
    pub(crate) fn pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::Relaxed)).filter(|&p| p != 0 && self.up())
    }

    pub(crate) fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The supervised worker.
pub(crate) struct SttWorker {
    queue: Arc<JobQueue>,
    health: Arc<WorkerHealth>,
    stop: Arc<AtomicBool>,
    supervisor: Option<JoinHandle<()>>,
}

impl SttWorker {
    /// Starts supervising; answers arrive on `done`.
    pub(crate) fn start(settings: WorkerSettings, done: mpsc::Sender<Done>) -> std::io::Result<SttWorker> {
        let queue = Arc::new(JobQueue {
            lanes: Mutex::new([VecDeque::new(), VecDeque::new()]),
            ready: Condvar::new(),
            capacity: 4 * usize::from(settings.states),
        });
        let health = Arc::new(WorkerHealth::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (q, h, s) = (queue.clone(), health.clone(), stop.clone());
        let supervisor = std::thread::Builder::new()
            .name("callguard-stt-sup".into())
            .spawn(move || supervise(&settings, &q, &h, &s, &done))?;
        Ok(SttWorker { queue, health, stop, supervisor: Some(supervisor) })
    }

    /// Queues a chunk. While the worker is down, or when the queue is full
    /// of work at least as urgent, a job is left out and returned (the
    /// caller counts it lost; dropping it zeroes its audio).
    pub(crate) fn submit(&self, job: Job) -> Option<Job> {
        if !self.health.up() {
            return Some(job);
        }
        self.queue.push(job)
    }

    pub(crate) fn health(&self) -> &WorkerHealth {
        &self.health
    }
}

impl Drop for SttWorker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(supervisor) = self.supervisor.take() {
            let _ = supervisor.join();
        }
    }
}

fn supervise(
    settings: &WorkerSettings,
    queue: &JobQueue,
    health: &WorkerHealth,
    stop: &AtomicBool,
    done: &mpsc::Sender<Done>,
) {
    let mut backoff = Backoff::new();
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        if !first {
            health.restarts.fetch_add(1, Ordering::Relaxed);
        }
        first = false;
        let started = Instant::now();
        let result = run_once(settings, queue, health, stop, done);
        health.up.store(false, Ordering::Relaxed);
        for job in queue.drain() {
            let _ = done.send(job.done(Err("the speech-to-text worker stopped".into())));
        }
        let Err(error) = result else { return };
        tracing::warn!(%error, "speech-to-text worker down: its calls are judged without speech until it is back");
        *health.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
        backoff.wait(started.elapsed(), stop);
    }
}

/// Starts a worker and connects to each of its states; `None` when told
/// to stop meanwhile.
pub(crate) fn launch(settings: &WorkerSettings, stop: &AtomicBool) -> Result<Option<(Worker, Vec<SttClient>)>, String> {
    let _ = std::fs::remove_file(&settings.socket);
    let args: Vec<OsString> = vec![
        "--model".into(),
        settings.model.clone().into(),
        "--listen".into(),
        settings.socket.clone().into(),
        "--states".into(),
        settings.states.to_string().into(),
        "--threads".into(),
        settings.threads.to_string().into(),
    ];
    let mut worker = Worker::spawn(&settings.binary, args)?;
    let mut clients = Vec::with_capacity(usize::from(settings.states));
    while clients.len() < usize::from(settings.states) {
        let connected =
            worker.connect_when_ready(stop, || match SttClient::connect(&settings.socket, REPLY_TIMEOUT) {
                Ok(client) => Ok(Some(client)),
                Err(ClientError::Connect { .. }) => Ok(None),
                Err(e) => Err(format!("cannot connect to the worker: {e}")),
            })?;
        match connected {
            Some(client) => clients.push(client),
            None => return Ok(None),
        }
    }
    Ok(Some((worker, clients)))
}

/// Runs one worker until it fails (`Err`, why) or the daemon stops (`Ok`).
fn run_once(
    settings: &WorkerSettings,
    queue: &JobQueue,
    health: &WorkerHealth,
    stop: &AtomicBool,
    done: &mpsc::Sender<Done>,
) -> Result<(), String> {
    let Some((mut worker, clients)) = launch(settings, stop)? else { return Ok(()) };
    health.pid.store(worker.id(), Ordering::Relaxed);
    let hello = clients[0].hello().clone();
    tracing::info!(
        pid = worker.id(),
        model = %hello.model,
        version = %hello.version,
        states = hello.states,
        "speech-to-text worker ready"
    );
    health.up.store(true, Ordering::Relaxed);

    let (failed_tx, failed) = mpsc::channel();
    let connections_stop = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        for client in clients {
            let (failed_tx, done, connections_stop) = (failed_tx.clone(), done.clone(), &connections_stop);
            scope.spawn(move || serve_connection(client, queue, &done, &failed_tx, connections_stop));
        }
        let result = loop {
            if stop.load(Ordering::Relaxed) {
                break Ok(());
            }
            if let Ok(error) = failed.recv_timeout(Duration::from_millis(100)) {
                break Err(error);
            }
            if let Err(e) = worker.check_alive() {
                break Err(e);
            }
        };
        health.up.store(false, Ordering::Relaxed);
        // Kill first: a connection waiting on a hung worker returns at once.
        worker.kill();
        connections_stop.store(true, Ordering::Relaxed);
        result
    })
}

/// One connection: takes jobs, asks the worker, hands the answers on; an
/// idle connection pings. Reports and returns on the first failure of the
/// connection itself.
fn serve_connection(
    mut client: SttClient,
    queue: &JobQueue,
    done: &mpsc::Sender<Done>,
    failed: &mpsc::Sender<String>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        let outcome = match queue.pop(IDLE_PING) {
            Some(job) => {
                let answer = client.transcribe(&job.request);
                let broken = match &answer {
                    Ok(_) | Err(ClientError::Worker { id: Some(_), .. }) => None,
                    Err(e) => Some(e.to_string()),
                };
                let _ = done.send(job.done(answer.map_err(|e| e.to_string())));
                broken
            }
            None => client.ping().err().map(|e| e.to_string()),
        };
        if let Some(error) = outcome {
            let _ = failed.send(error);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use callguard_speech::DecodeOptions;

    fn job(leg: Leg, id: u64) -> Job {
        let request = TranscribeRequest {
            id,
            leg,
            start: Duration::ZERO,
            prompt: String::new(),
            options: DecodeOptions::default(),
            pcm: vec![0; 320],
        };
        Job { call: 1, speech_ratio: 1.0, ready: Instant::now(), request }
    }

    #[test]
    fn the_caller_lane_goes_first_and_pushes_out_callee_work_when_full() {
        let queue =
            JobQueue { lanes: Mutex::new([VecDeque::new(), VecDeque::new()]), ready: Condvar::new(), capacity: 3 };
        assert!(queue.push(job(Leg::Callee, 1)).is_none());
        assert!(queue.push(job(Leg::Callee, 2)).is_none());
        assert!(queue.push(job(Leg::Caller, 3)).is_none());
        // Full: a callee job is refused, a caller job displaces the oldest callee one.
        assert_eq!(queue.push(job(Leg::Callee, 4)).map(|j| j.request.id), Some(4));
        assert_eq!(queue.push(job(Leg::Caller, 5)).map(|j| j.request.id), Some(1));
        let order: Vec<u64> = std::iter::from_fn(|| queue.pop(Duration::ZERO)).map(|j| j.request.id).collect();
        assert_eq!(order, vec![3, 5, 2]);
    }
}
