//! Latency and capacity of the real `callguard-stt` worker, used the way
//! the daemon uses it.
//!
//! ```text
//! cargo build --release -p callguard-stt --bins --examples
//! cargo run --release -p callguard-stt --example capacity [-- --legs 8,16,24 --seconds 40 --configs 1x2]
//! ```
//!
//! The worker binary (`target/release/callguard-stt`, or `--worker`) is
//! spawned as the daemon spawns it (`--model M --listen SOCK --states S
//! --threads T --exit-with-stdin`) and reached with one
//! `callguard_stt_protocol::SttClient` connection per whisper state. The
//! audio is the worker tests' espeak-ng script, through 8 kHz G.711 µ-law
//! and back, cut into utterance chunks by `callguard_speech::CallSpeech`
//! (one chunk per sentence, 2.4–4 s of speech); requests carry each leg's
//! previous text as prompt and the daemon's default decoding options
//! (reduced audio context), as the daemon sends them.
//!
//! For each configuration (`--configs`, default states=1 threads=2 and
//! states=2 threads=1) it prints two markdown tables:
//!
//! 1. **Latency**, an idle worker, one request at a time: request→text
//!    (socket round trip) per chunk, median and p90, with the reduced and
//!    with the full audio context; and the same plus the end-pointing
//!    delay each chunk had in `CallSpeech` (from the sentence's last
//!    sample within 40 dB of its peak to the end of the frame that
//!    completed the chunk: the 600 ms end silence and the 80 ms
//!    hangover), i.e. from the end of a sentence to its text.
//! 2. **Capacity**: N simulated call legs (N/2 calls, a caller and a
//!    callee each), every leg saying one chunk of the script after another
//!    with pauses so that one starts every `--period` seconds (±15 %,
//!    never less than the speech plus 0.8 s), legs starting at random
//!    phases. Each chunk is submitted at its real-time moment (the end of
//!    its speech plus its end-pointing delay) to a copy of the daemon's
//!    `JobQueue`: caller lane first, at most 4 × states jobs, a caller job
//!    pushing out the oldest callee job when full, otherwise the new job
//!    refused (lost). One thread per connection takes jobs and pings when
//!    idle, as the daemon's do. Chunks are submitted for `--seconds` of
//!    wall-clock time, then the queue is drained. Per N: chunks done and
//!    lost per leg, latency from submission to text (median/p90) per leg
//!    and the caller's p90 from the end of speech, whisper states' busy
//!    share, the worker's CPU (cores) and the whole machine's busy share
//!    (`/proc/stat`, so other load on the box shows). N grows until caller
//!    chunks are lost or the caller's submission→text p90 exceeds
//!    `--max-p90` seconds; that row is printed and the next configuration
//!    begins. The summary names the most legs that met that goal, and the
//!    most with nothing lost on either leg and both legs' p90 within it.
//!
//! Nothing of the audio or the text is printed or written anywhere; the
//! espeak-ng and sox files live in a temporary directory.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use callguard_speech::{AudioContext, CallSpeech, Chunk, DecodeOptions, FRAME_SAMPLES, Leg, SpeechConfig};
use callguard_stt_protocol::{ClientError, SegmentsReply, SttClient, TranscribeRequest};
use clap::Parser;

/// The daemon's reply timeout.
const REPLY_TIMEOUT: Duration = Duration::from_secs(20);
/// The daemon's idle ping interval (also the connections' wait for a job).
const IDLE_PING: Duration = Duration::from_secs(1);

/// Latency and capacity of the callguard-stt worker (see the source's header).
#[derive(Debug, Parser)]
struct Args {
    /// Worker configurations, STATESxTHREADS.
    #[arg(long, value_delimiter = ',', default_value = "1x2,2x1")]
    configs: Vec<String>,
    /// Numbers of concurrent legs tried, in order (even: a caller and a callee per call).
    #[arg(long, value_delimiter = ',', default_value = "8,16,24,32,48,64,80,96")]
    legs: Vec<usize>,
    /// Seconds of real time each number of legs runs.
    #[arg(long, default_value_t = 40.0)]
    seconds: f64,
    /// Mean seconds from the start of one utterance of a leg to the next.
    #[arg(long, default_value_t = 4.5)]
    period: f64,
    /// Caller p90 (submission to text, seconds) beyond which legs stop growing.
    #[arg(long, default_value_t = 2.0)]
    max_p90: f64,
    /// Passes over the script in the latency part.
    #[arg(long, default_value_t = 2)]
    reps: usize,
    /// Run only `latency` or `capacity`.
    #[arg(long)]
    only: Option<String>,
    /// The worker binary (default: callguard-stt beside this example's directory).
    #[arg(long)]
    worker: Option<PathBuf>,
}

// ---------------------------------------------------------------- audio

/// A chunk of the script as the end-pointer made it, how long its speech
/// lasted, and how long after the end of its speech it was complete.
struct ScriptChunk {
    chunk: Chunk,
    speech: Duration,
    endpoint_delay: Duration,
}

/// The script's sentences through G.711, end-pointed one by one (leading
/// 0.5 s and trailing 1.5 s of silence) by a `CallSpeech` as the daemon
/// configures it. A sentence's speech ends at its last sample within
/// 40 dB of its peak.
fn script_chunks(dir: &Path) -> Vec<ScriptChunk> {
    const LEAD: usize = 8_000;
    let mut out = Vec::new();
    for (voice, speed, text, _) in support::SCRIPT {
        let sentence = support::speech(dir, voice, *speed, text, true);
        let peak = sentence.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        let last = sentence.iter().rposition(|s| s.unsigned_abs() >= (peak / 100).max(1)).unwrap_or(0);
        let speech_end = Duration::from_secs_f64((LEAD + last + 1) as f64 / 16_000.0);
        let mut pcm = vec![0i16; LEAD];
        pcm.extend(sentence);
        pcm.extend(std::iter::repeat_n(0i16, 24_000));
        let mut call = CallSpeech::new(&SpeechConfig::default()).expect("default speech configuration");
        let mut frame = [0i16; FRAME_SAMPLES];
        for (i, samples) in pcm.chunks(FRAME_SAMPLES).enumerate() {
            frame.fill(0);
            frame[..samples.len()].copy_from_slice(samples);
            let at = Duration::from_millis(20 * i as u64);
            if let Some(chunk) = call.push_i16(Leg::Caller, at, &frame) {
                // Complete at the end of this frame.
                let endpoint_delay = (at + Duration::from_millis(20)).saturating_sub(speech_end);
                let speech = speech_end.saturating_sub(chunk.start);
                out.push(ScriptChunk { chunk, speech, endpoint_delay });
            }
        }
        assert!(call.finish().is_empty(), "every sentence ends within its trailing silence");
    }
    out
}

// ---------------------------------------------------------------- worker

/// A worker process, killed when dropped; its standard input is a pipe
/// held here, as the daemon holds it.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the worker as the daemon does and opens one connection per state.
fn launch(binary: &Path, model: &Path, socket: &Path, states: u16, threads: u16) -> (Worker, Vec<SttClient>) {
    let child = Command::new(binary)
        .arg("--model")
        .arg(model)
        .arg("--listen")
        .arg(socket)
        .args(["--states", &states.to_string(), "--threads", &threads.to_string()])
        .arg("--exit-with-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} ({e}): build it with --release first", binary.display()));
    let mut worker = Worker(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut clients = Vec::new();
    while clients.len() < usize::from(states) {
        if let Some(status) = worker.0.try_wait().unwrap() {
            panic!("the worker exited while starting ({status})");
        }
        match SttClient::connect(socket, REPLY_TIMEOUT) {
            Ok(client) => clients.push(client),
            Err(ClientError::Connect { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("cannot connect to the worker: {e}"),
        }
    }
    (worker, clients)
}

/// CPU seconds (user + system) a process has used so far.
fn process_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0 // USER_HZ is 100 on Linux
}

/// The machine's (busy, total) jiffies from `/proc/stat`.
fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let values: Vec<u64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

// ---------------------------------------------------------------- stats

fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "–".to_owned(), |d| format!("{:.2}", d.as_secs_f64()))
}

fn p50_p90(mut v: Vec<Duration>) -> (Option<Duration>, Option<Duration>) {
    v.sort();
    (percentile(&v, 0.5), percentile(&v, 0.9))
}

// ---------------------------------------------------------------- part 1

fn latency(clients: &mut [SttClient], chunks: &[ScriptChunk], reps: usize) {
    println!("| audio context | chunks | mean chunk s | request→text p50 / p90 s | speech end→text p50 / p90 s |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let client = &mut clients[0];
    let mean_len = chunks.iter().map(|c| c.chunk.duration().as_secs_f64()).sum::<f64>() / chunks.len() as f64;
    for (name, audio_ctx) in [("reduced (fit+64)", AudioContext::Fit { margin: 64 }), ("full", AudioContext::Full)] {
        let options = DecodeOptions { audio_ctx };
        let (mut worker, mut total) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let mut call = CallSpeech::new(&SpeechConfig::default()).unwrap();
            for c in chunks {
                let id = client.next_id();
                let request = TranscribeRequest::from_chunk(id, &c.chunk, call.prompt(Leg::Caller), options);
                let sent = Instant::now();
                let reply = client.transcribe(&request).expect("the worker transcribes");
                let took = sent.elapsed();
                call.accept(Leg::Caller, c.chunk.speech_ratio, reply.segments);
                worker.push(took);
                total.push(took + c.endpoint_delay);
            }
        }
        let n = worker.len();
        let ((w50, w90), (t50, t90)) = (p50_p90(worker), p50_p90(total));
        println!("| {name} | {n} | {mean_len:.2} | {} / {} | {} / {} |", secs(w50), secs(w90), secs(t50), secs(t90));
    }
}

// ---------------------------------------------------------------- part 2

/// A chunk on its way to the worker.
struct Job {
    call: usize,
    speech_ratio: f32,
    endpoint_delay: Duration,
    ready: Instant,
    request: TranscribeRequest,
}

/// Its answer.
struct Done {
    call: usize,
    leg: Leg,
    speech_ratio: f32,
    endpoint_delay: Duration,
    latency: Duration,
    outcome: Result<SegmentsReply, String>,
}

/// The daemon's `JobQueue`: caller lane first, bounded, a caller job
/// pushing out the oldest callee job when full.
struct JobQueue {
    lanes: Mutex<([VecDeque<Job>; 2], bool)>,
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
    fn lock(&self) -> MutexGuard<'_, ([VecDeque<Job>; 2], bool)> {
        self.lanes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, job: Job) -> Option<Job> {
        let mut guard = self.lock();
        let lanes = &mut guard.0;
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

    /// The next job; `None` after `wait` with nothing, or once closed and empty.
    fn pop(&self, wait: Duration) -> Option<Job> {
        let mut guard = self.lock();
        let deadline = Instant::now() + wait;
        loop {
            if let Some(job) = guard.0[0].pop_front().or_else(|| guard.0[1].pop_front()) {
                return Some(job);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || guard.1 {
                return None;
            }
            guard = self.ready.wait_timeout(guard, left).unwrap_or_else(|p| p.into_inner()).0;
        }
    }

    fn close(&self) {
        self.lock().1 = true;
        self.ready.notify_all();
    }
}

/// One connection, as the daemon's: takes jobs, asks the worker, hands
/// the answers on; pings when idle. Returns the time spent transcribing.
fn serve_connection(client: &mut SttClient, queue: &JobQueue, done: &mpsc::Sender<Done>, stop: &AtomicBool) -> f64 {
    let mut busy = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        match queue.pop(IDLE_PING) {
            Some(job) => {
                let started = Instant::now();
                let answer = client.transcribe(&job.request).map_err(|e| e.to_string());
                busy += started.elapsed();
                let _ = done.send(Done {
                    call: job.call,
                    leg: job.request.leg,
                    speech_ratio: job.speech_ratio,
                    endpoint_delay: job.endpoint_delay,
                    latency: job.ready.elapsed(),
                    outcome: answer,
                });
            }
            None if stop.load(Ordering::Relaxed) => break,
            None => {
                client.ping().expect("the worker answers pings");
            }
        }
    }
    busy.as_secs_f64()
}

/// A tiny deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One chunk submission: when (since the start), which leg, which chunk.
struct Event {
    at: Duration,
    leg: usize,
    chunk: usize,
}

/// Every leg's chunk submissions over `seconds`, in time order.
fn schedule(legs: usize, chunks: &[ScriptChunk], seconds: f64, period: f64) -> Vec<Event> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ legs as u64);
    let mut events = Vec::new();
    for leg in 0..legs {
        let mut start = rng.unit() * period;
        let mut k = (leg * 3) % chunks.len();
        loop {
            let c = &chunks[k];
            let at = start + (c.speech + c.endpoint_delay).as_secs_f64();
            if at >= seconds {
                break;
            }
            events.push(Event { at: Duration::from_secs_f64(at), leg, chunk: k });
            start += (period * (0.85 + 0.3 * rng.unit())).max(c.speech.as_secs_f64() + 0.8);
            k = (k + 1) % chunks.len();
        }
    }
    events.sort_by_key(|e| e.at);
    events
}

#[derive(Default)]
struct LegStats {
    submitted: usize,
    done: usize,
    lost: usize,
    latency: Vec<Duration>,
    from_speech_end: Vec<Duration>,
}

struct Row {
    legs: usize,
    stats: [LegStats; 2],
    states_busy: f64,
    worker_cores: f64,
    machine_busy: f64,
}

fn leg_of(leg: usize) -> Leg {
    if leg.is_multiple_of(2) { Leg::Caller } else { Leg::Callee }
}

/// Counts an answer and feeds its text to the leg's prompt.
fn take_answer(answer: Done, stats: &mut [LegStats; 2], calls: &mut [CallSpeech], in_flight: &mut usize) {
    *in_flight -= 1;
    let s = &mut stats[lane(answer.leg)];
    match answer.outcome {
        Ok(reply) => {
            calls[answer.call].accept(answer.leg, answer.speech_ratio, reply.segments);
            s.done += 1;
            s.latency.push(answer.latency);
            s.from_speech_end.push(answer.latency + answer.endpoint_delay);
        }
        Err(_) => s.lost += 1,
    }
}

fn capacity_run(clients: &mut [SttClient], pid: u32, chunks: &[ScriptChunk], legs: usize, args: &Args) -> Row {
    let events = schedule(legs, chunks, args.seconds, args.period);
    let queue = JobQueue {
        lanes: Mutex::new(([VecDeque::new(), VecDeque::new()], false)),
        ready: Condvar::new(),
        capacity: 4 * clients.len(),
    };
    let stop = AtomicBool::new(false);
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let mut calls: Vec<CallSpeech> =
        (0..legs.div_ceil(2)).map(|_| CallSpeech::new(&SpeechConfig::default()).unwrap()).collect();
    let mut stats: [LegStats; 2] = Default::default();
    let mut next_id = 0u64;
    let (cpu0, machine0) = (process_cpu(pid), machine_jiffies());
    let began = Instant::now();

    let busy: f64 = std::thread::scope(|scope| {
        let threads: Vec<_> = clients
            .iter_mut()
            .map(|client| {
                let (queue, done_tx, stop) = (&queue, done_tx.clone(), &stop);
                scope.spawn(move || serve_connection(client, queue, &done_tx, stop))
            })
            .collect();
        let mut in_flight = 0usize;
        for event in &events {
            // Take answers (they feed the prompts) until the event is due.
            loop {
                let due = (began + event.at).saturating_duration_since(Instant::now());
                if due.is_zero() {
                    break;
                }
                if let Ok(answer) = done_rx.recv_timeout(due) {
                    take_answer(answer, &mut stats, &mut calls, &mut in_flight);
                }
            }
            let leg = leg_of(event.leg);
            let c = &chunks[event.chunk];
            let call = event.leg / 2;
            next_id += 1;
            let id = next_id;
            let mut request =
                TranscribeRequest::from_chunk(id, &c.chunk, calls[call].prompt(leg), DecodeOptions::default());
            request.leg = leg;
            stats[lane(leg)].submitted += 1;
            in_flight += 1;
            let job = Job {
                call,
                speech_ratio: c.chunk.speech_ratio,
                endpoint_delay: c.endpoint_delay,
                ready: Instant::now(),
                request,
            };
            if let Some(left_out) = queue.push(job) {
                in_flight -= 1;
                stats[lane(left_out.request.leg)].lost += 1;
            }
        }
        // Drain what is queued and in flight.
        let deadline = Instant::now() + Duration::from_secs(60);
        while in_flight > 0 && Instant::now() < deadline {
            if let Ok(answer) = done_rx.recv_timeout(Duration::from_millis(100)) {
                take_answer(answer, &mut stats, &mut calls, &mut in_flight);
            }
        }
        stop.store(true, Ordering::Relaxed);
        queue.close();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    });

    let wall = began.elapsed().as_secs_f64();
    let machine1 = machine_jiffies();
    let machine_busy = (machine1.0 - machine0.0) as f64 / (machine1.1 - machine0.1).max(1) as f64;
    Row {
        legs,
        stats,
        states_busy: busy / (wall * clients.len() as f64),
        worker_cores: (process_cpu(pid) - cpu0) / wall,
        machine_busy,
    }
}

fn print_row(row: &Row) {
    let [caller, callee] = &row.stats;
    let (caller50, caller90) = p50_p90(caller.latency.clone());
    let (_, caller_end90) = p50_p90(caller.from_speech_end.clone());
    let (callee50, callee90) = p50_p90(callee.latency.clone());
    println!(
        "| {} | {} / {} | {} / {} | {} / {} | {} | {} / {} | {:.0} % | {:.2} | {:.0} % |",
        row.legs,
        caller.done,
        caller.lost,
        callee.done,
        callee.lost,
        secs(caller50),
        secs(caller90),
        secs(caller_end90),
        secs(callee50),
        secs(callee90),
        100.0 * row.states_busy,
        row.worker_cores,
        100.0 * row.machine_busy,
    );
}

fn capacity(clients: &mut [SttClient], pid: u32, chunks: &[ScriptChunk], args: &Args) {
    println!(
        "| legs | caller done / lost | callee done / lost | caller p50 / p90 s | caller p90 from speech end s \
         | callee p50 / p90 s | states busy | worker CPU cores | machine busy |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let (mut most_caller, mut most_all, mut all_ok) = (None, None, true);
    let within = |stats: &LegStats| {
        let (_, p90) = p50_p90(stats.latency.clone());
        stats.lost == 0 && stats.done == stats.submitted && p90.is_some_and(|p| p.as_secs_f64() <= args.max_p90)
    };
    for &legs in &args.legs {
        let row = capacity_run(clients, pid, chunks, legs, args);
        print_row(&row);
        if !within(&row.stats[0]) {
            break;
        }
        most_caller = Some(legs);
        all_ok &= within(&row.stats[1]);
        if all_ok {
            most_all = Some(legs);
        }
    }
    let shown = |n: Option<usize>| n.map_or_else(|| "none of those tried".to_owned(), |n| n.to_string());
    println!("\nmost legs with no caller chunk lost and caller p90 ≤ {} s: {}", args.max_p90, shown(most_caller));
    println!("most legs with nothing lost on either leg and both p90 ≤ {} s: {}", args.max_p90, shown(most_all));
}

// ---------------------------------------------------------------- main

fn main() {
    let args = Args::parse();
    let binary = args.worker.clone().unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("this program's path");
        exe.parent().and_then(Path::parent).expect("target/release/examples").join("callguard-stt")
    });
    let model = support::model();
    let dir = tempfile::tempdir().unwrap();
    let chunks = script_chunks(dir.path());
    let lengths: Vec<f64> = chunks.iter().map(|c| c.chunk.duration().as_secs_f64()).collect();
    let delays: Vec<Duration> = chunks.iter().map(|c| c.endpoint_delay).collect();
    println!(
        "worker {}, model {}, {} cores; {} chunks of {:.1}–{:.1} s (mean {:.2} s), end-pointing delay median {} s",
        binary.display(),
        model.display(),
        cores(),
        chunks.len(),
        lengths.iter().copied().fold(f64::INFINITY, f64::min),
        lengths.iter().copied().fold(0.0, f64::max),
        lengths.iter().sum::<f64>() / lengths.len() as f64,
        secs(p50_p90(delays).0),
    );
    let run = |part: &str| args.only.as_deref().is_none_or(|o| o == part);
    for config in &args.configs {
        let (states, threads) = config
            .split_once('x')
            .and_then(|(s, t)| Some((s.parse::<u16>().ok()?, t.parse::<u16>().ok()?)))
            .unwrap_or_else(|| panic!("--configs takes STATESxTHREADS, not {config}"));
        let socket = dir.path().join("stt.sock");
        let (worker, mut clients) = launch(&binary, &model, &socket, states, threads);
        // Warm-up: one request per state.
        for client in &mut clients {
            let id = client.next_id();
            let request = TranscribeRequest::from_chunk(id, &chunks[0].chunk, "", DecodeOptions::default());
            client.transcribe(&request).expect("the worker transcribes");
        }
        if run("latency") {
            println!("\n### Latency, states={states} threads={threads} (idle worker, one request at a time)\n");
            latency(&mut clients, &chunks, args.reps);
        }
        if run("capacity") {
            println!(
                "\n### Capacity, states={states} threads={threads} ({} s per row, an utterance every {} s per leg, \
                 queue {})\n",
                args.seconds,
                args.period,
                4 * states
            );
            capacity(&mut clients, worker.0.id(), &chunks, &args);
        }
        drop(clients);
        drop(worker);
    }
}
