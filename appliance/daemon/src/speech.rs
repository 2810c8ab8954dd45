//! Speech-to-text of live calls: each leg's 20 ms frames from the data
//! plane are end-pointed into utterance chunks ([`CallSpeech`]), sent to
//! the supervised `callguard-stt` worker, and the cleaned text comes back
//! here, in memory only, to the call's scam detector ([`CallDetector`]).
//!
//! ```text
//!  media thread ──Legs / End──> speech thread (every 20 ms)
//!                                 FrameQueue per leg ─pop─> CallSpeech ─Chunk─> SttWorker ──> Done
//!                                 Done ─accept (clean-up, prompt)─> CallDetector ─Warn─> alerts thread
//! ```
//!
//! Nothing here writes audio or text anywhere: chunks, prompts and
//! segments zero themselves when dropped, and what leaves this module is
//! counts and states (`calls list`, status, metrics). While the worker is
//! down, chunks are counted as lost and the call is shown `degraded`; it
//! shows `transcribing` again from the first text after the worker is
//! back.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use callguard_config::SpeechConfig as SpeechSettings;
use callguard_dataplane::FrameQueue;
use callguard_detect::{CallDetector, Decision, DetectorConfig, Speaker, Turn};
use callguard_speech::{CallSpeech, DecodeOptions, EndpointConfig, FRAME_DURATION, Leg, SpeechConfig};
use callguard_stt_protocol::TranscribeRequest;
use serde::{Deserialize, Serialize};

use crate::alerts::{CallParties, Decided};
use crate::stt_worker::{Done, Job, SttWorker, WorkerSettings};

/// How long an ended call waits for the answers to its last chunks.
const LAST_ANSWERS: Duration = Duration::from_secs(30);

/// What the media side tells the speech thread.
pub(crate) enum SpeechCommand {
    /// The call's legs and their frame queues (a new call, or a change of streams).
    Legs { call_id: String, parties: CallParties, legs: Vec<(Leg, Arc<FrameQueue>)> },
    /// The call ended: its utterances in progress are transcribed, then it goes.
    End { call_id: String },
}

/// Speech-to-text and detection of one live call, for `calls list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallSpeechStatus {
    /// `transcribing`, or `degraded` while speech is being lost (worker down or behind).
    pub state: String,
    /// Utterances transcribed so far.
    pub utterances: u64,
    /// Chunks of speech lost (worker down, failed, or behind).
    pub chunks_lost: u64,
    /// The scam risk now, in [0, 1].
    pub risk: f32,
    /// Whether a warning was decided for the call.
    pub warned: bool,
}

/// The speech worker, for `callguard status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeechStatus {
    /// `up`, `starting or restarting`, or `off` with the reason.
    pub state: String,
    /// The model file in use.
    pub model: String,
    /// The worker's process id while it runs.
    pub pid: Option<u32>,
    /// Times the worker was restarted after a crash or hang.
    pub restarts: u64,
    /// Why it last went down.
    pub last_error: Option<String>,
}

impl SpeechStatus {
    pub(crate) fn off(reason: &str) -> SpeechStatus {
        SpeechStatus { state: format!("off: {reason}"), model: String::new(), pid: None, restarts: 0, last_error: None }
    }
}

/// Counters for metrics and the per-call states for `calls list`.
#[derive(Default)]
pub(crate) struct SpeechCounters {
    pub(crate) chunks: AtomicU64,
    pub(crate) chunks_lost: AtomicU64,
    pub(crate) utterances: AtomicU64,
    /// Sum and count of the time from a chunk's end to its text, in µs.
    pub(crate) latency_us: AtomicU64,
    pub(crate) latency_count: AtomicU64,
    calls: Mutex<HashMap<String, CallSpeechStatus>>,
}

impl SpeechCounters {
    /// The speech state of a live call.
    pub(crate) fn of(&self, call_id: &str) -> Option<CallSpeechStatus> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).get(call_id).cloned()
    }
}

/// The running speech side: the command channel for the media thread,
/// the report for status and metrics, and the thread.
pub(crate) struct SpeechService {
    pub(crate) commands: Sender<SpeechCommand>,
    pub(crate) report: Arc<SpeechReport>,
    thread: JoinHandle<()>,
}

/// What status, `calls list` and metrics read; holding it keeps the worker.
pub(crate) struct SpeechReport {
    pub(crate) counters: Arc<SpeechCounters>,
    worker: Arc<SttWorker>,
    model: PathBuf,
}

impl SpeechService {
    /// Starts the worker's supervisor and the speech thread; warnings
    /// decided on calls go to `decisions`.
    pub(crate) fn start(
        settings: &SpeechSettings,
        worker: WorkerSettings,
        detection: DetectorConfig,
        decisions: Sender<Decided>,
    ) -> Result<SpeechService, String> {
        let config = SpeechConfig { endpoint: endpoint_config(settings), ..SpeechConfig::default() };
        CallSpeech::new(&config).map_err(|e| e.to_string())?;
        let model = worker.model.clone();
        let (done_tx, done) = mpsc::channel();
        let worker = Arc::new(SttWorker::start(worker, done_tx).map_err(|e| e.to_string())?);
        let (commands, receiver) = mpsc::channel();
        let counters = Arc::new(SpeechCounters::default());
        let (thread_worker, thread_counters) = (worker.clone(), counters.clone());
        let thread = std::thread::Builder::new()
            .name("callguard-speech".into())
            .spawn(move || run(&config, &detection, &receiver, &done, &thread_worker, &thread_counters, &decisions))
            .map_err(|e| e.to_string())?;
        Ok(SpeechService { commands, report: Arc::new(SpeechReport { counters, worker, model }), thread })
    }

    /// Stops taking commands and waits for the speech thread (the calls
    /// still being answered get a moment); the worker is stopped when the
    /// last report goes.
    pub(crate) fn stop(self) {
        drop(self.commands);
        let _ = self.thread.join();
    }
}

impl SpeechReport {
    /// The worker's state.
    pub(crate) fn status(&self) -> SpeechStatus {
        let health = self.worker.health();
        SpeechStatus {
            state: if health.up() { "up" } else { "starting or restarting" }.to_owned(),
            model: self.model.display().to_string(),
            pid: health.pid(),
            restarts: health.restarts(),
            last_error: health.last_error(),
        }
    }

    /// Whether the worker is up, and its restarts, for metrics.
    pub(crate) fn worker_up_and_restarts(&self) -> (bool, u64) {
        (self.worker.health().up(), self.worker.health().restarts())
    }
}

/// End-pointing as configured.
pub(crate) fn endpoint_config(settings: &SpeechSettings) -> EndpointConfig {
    EndpointConfig {
        end_silence: Duration::from_millis(settings.end_silence_ms),
        max_chunk: Duration::from_secs(settings.max_utterance_seconds),
        ..EndpointConfig::default()
    }
}

/// Where the worker and the model (`model`, else `speech.model` in the
/// store) are, or why speech-to-text cannot run.
pub(crate) fn worker_settings(
    config: &callguard_config::Config,
    model: Option<PathBuf>,
) -> Result<WorkerSettings, String> {
    let speech = &config.speech;
    let binary = match &speech.worker {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("cannot find this program's directory: {e}"))?
            .with_file_name("callguard-stt"),
    };
    if !binary.is_file() {
        return Err(format!(
            "no speech worker at {} (build it: cargo build --release -p callguard-stt, or set speech.worker)",
            binary.display()
        ));
    }
    let paths = crate::Paths::of(config);
    let model = model.unwrap_or_else(|| paths.models.join(format!("{}.bin", speech.model)));
    let layout = std::fs::File::open(&model)
        .map_err(|e| e.to_string())
        .and_then(|file| callguard_models::read_layout(std::io::BufReader::new(file)).map_err(|e| e.to_string()));
    if let Err(e) = layout {
        return Err(format!(
            "the speech model {} is not usable ({e}): import it with `callguard models import`",
            model.display()
        ));
    }
    Ok(WorkerSettings {
        binary,
        model,
        socket: paths.state_dir.join("stt.sock"),
        states: speech.states,
        threads: speech.threads,
    })
}

/// A call being transcribed and judged.
struct Call {
    id: String,
    parties: CallParties,
    detector: CallDetector,
    legs: Vec<(Leg, Arc<FrameQueue>)>,
    speech: CallSpeech,
    /// Frames taken per leg: a frame's time on the call's clock.
    frames: [u64; 2],
    in_flight: usize,
    ended: Option<Instant>,
    status: CallSpeechStatus,
}

fn leg_index(leg: Leg) -> usize {
    match leg {
        Leg::Caller => 0,
        Leg::Callee => 1,
    }
}

fn run(
    config: &SpeechConfig,
    detection: &DetectorConfig,
    commands: &Receiver<SpeechCommand>,
    done: &Receiver<Done>,
    worker: &SttWorker,
    counters: &SpeechCounters,
    decisions: &Sender<Decided>,
) {
    let mut calls: HashMap<u64, Call> = HashMap::new();
    let mut keys: HashMap<String, u64> = HashMap::new();
    let mut next_key = 0u64;
    let mut next_id = 0u64;
    let mut open = true;
    while open || !calls.is_empty() {
        // One frame's time between passes: the frame queues hold a second.
        match commands.recv_timeout(FRAME_DURATION) {
            Ok(command) => apply(command, config, detection, &mut calls, &mut keys, &mut next_key),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                // The daemon is stopping: end every call.
                if open {
                    open = false;
                    for call in calls.values_mut() {
                        call.ended.get_or_insert_with(Instant::now);
                    }
                }
            }
        }
        while let Ok(command) = commands.try_recv() {
            apply(command, config, detection, &mut calls, &mut keys, &mut next_key);
        }
        for (&key, call) in &mut calls {
            for chunk in take_chunks(call) {
                next_id += 1;
                let options = DecodeOptions::default();
                let request = TranscribeRequest::from_chunk(next_id, &chunk, call.speech.prompt(chunk.leg), options);
                let job = Job { call: key, speech_ratio: chunk.speech_ratio, ready: Instant::now(), request };
                counters.chunks.fetch_add(1, Ordering::Relaxed);
                call.in_flight += 1;
                if let Some(left_out) = worker.submit(job) {
                    lost(counters, &mut call.status, 1);
                    call.in_flight -= 1;
                    drop(left_out);
                }
            }
        }
        while let Ok(answer) = done.try_recv() {
            let Some(call) = calls.get_mut(&answer.call) else { continue };
            call.in_flight = call.in_flight.saturating_sub(1);
            match answer.outcome {
                Ok(reply) => {
                    let kept = call.speech.accept(answer.leg, answer.speech_ratio, reply.segments);
                    judge(call, answer.leg, &kept, decisions);
                    counters.utterances.fetch_add(kept.len() as u64, Ordering::Relaxed);
                    counters.latency_us.fetch_add(answer.ready.elapsed().as_micros() as u64, Ordering::Relaxed);
                    counters.latency_count.fetch_add(1, Ordering::Relaxed);
                    call.status.utterances += kept.len() as u64;
                    call.status.state = "transcribing".into();
                }
                Err(_) => lost(counters, &mut call.status, 1),
            }
        }
        calls.retain(|_, call| {
            let gone = call.ended.is_some_and(|at| call.in_flight == 0 || at.elapsed() > LAST_ANSWERS);
            if gone {
                keys.remove(&call.id);
            }
            !gone
        });
        let mut shown = counters.calls.lock().unwrap_or_else(|p| p.into_inner());
        shown.clear();
        shown.extend(calls.values().map(|c| (c.id.clone(), c.status.clone())));
    }
}

/// Hands the call's new utterances to its detector; the first warning
/// goes to the alerts thread, without the words of its evidence.
fn judge(call: &mut Call, leg: Leg, utterances: &[callguard_speech::Segment], decisions: &Sender<Decided>) {
    let speaker = match leg {
        Leg::Caller => Speaker::Caller,
        Leg::Callee => Speaker::Callee,
    };
    for utterance in utterances {
        call.detector.on_turn(Turn { speaker, text: &utterance.text, at: Some(utterance.start) });
    }
    let assessment = call.detector.assessment();
    call.status.risk = assessment.risk;
    if matches!(assessment.decision, Decision::Warn { .. }) && !call.status.warned {
        call.status.warned = true;
        let mut assessment = assessment.clone();
        for hit in assessment.tactics.iter_mut().chain(assessment.safeguards.iter_mut()) {
            hit.span.clear();
        }
        let _ = decisions.send(Decided { call_id: call.id.clone(), parties: call.parties.clone(), assessment });
    }
}

fn lost(counters: &SpeechCounters, status: &mut CallSpeechStatus, chunks: u64) {
    counters.chunks_lost.fetch_add(chunks, Ordering::Relaxed);
    status.chunks_lost += chunks;
    status.state = "degraded".into();
}

fn apply(
    command: SpeechCommand,
    config: &SpeechConfig,
    detection: &DetectorConfig,
    calls: &mut HashMap<u64, Call>,
    keys: &mut HashMap<String, u64>,
    next_key: &mut u64,
) {
    match command {
        SpeechCommand::Legs { call_id, parties, legs } => {
            if let Some(call) = keys.get(&call_id).and_then(|key| calls.get_mut(key)) {
                call.legs = legs;
                return;
            }
            // The configuration was checked when the service started.
            let Ok(speech) = CallSpeech::new(config) else { return };
            *next_key += 1;
            keys.insert(call_id.clone(), *next_key);
            let status = CallSpeechStatus { state: "transcribing".into(), ..CallSpeechStatus::default() };
            let detection =
                DetectorConfig { caller_id: parties.caller.as_ref().map(ToString::to_string), ..detection.clone() };
            let detector = CallDetector::new(&detection);
            let call = Call {
                id: call_id,
                parties,
                detector,
                legs,
                speech,
                frames: [0; 2],
                in_flight: 0,
                ended: None,
                status,
            };
            calls.insert(*next_key, call);
        }
        SpeechCommand::End { call_id } => {
            if let Some(call) = keys.get(&call_id).and_then(|key| calls.get_mut(key)) {
                call.ended.get_or_insert_with(Instant::now);
            }
        }
    }
}

/// The chunks the call's new frames complete; all of what is left once
/// the call has ended.
fn take_chunks(call: &mut Call) -> Vec<callguard_speech::Chunk> {
    let mut chunks = Vec::new();
    if call.ended.is_some() {
        if !call.legs.is_empty() {
            call.legs.clear();
            chunks.extend(call.speech.finish());
        }
        return chunks;
    }
    for (leg, queue) in &call.legs {
        while let Some(frame) = queue.pop() {
            let count = &mut call.frames[leg_index(*leg)];
            let at = FRAME_DURATION * (*count as u32);
            *count += 1;
            chunks.extend(call.speech.push(*leg, at, &frame.samples));
        }
    }
    chunks
}
