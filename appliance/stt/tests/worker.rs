//! The worker binary against the real model: keywords through G.711,
//! caller priority, death and shutdown. Needs a whisper ggml model (see
//! `support::model`), espeak-ng and sox.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callguard_speech::{AudioContext, DecodeOptions, Leg};
use callguard_stt_protocol::{ClientError, Reply, Request, SttClient, TranscribeRequest};

struct Worker {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl Worker {
    fn start(states: u16, threads: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("stt.sock");
        let child = Command::new(env!("CARGO_BIN_EXE_callguard-stt"))
            .args(["--model", support::model().to_str().unwrap(), "--listen", socket.to_str().unwrap()])
            .args(["--states", &states.to_string(), "--threads", &threads.to_string(), "--exit-with-stdin"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("start callguard-stt");
        let started = Instant::now();
        while !socket.exists() {
            assert!(started.elapsed() < Duration::from_secs(60), "the worker did not listen within 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, socket, _dir: dir }
    }

    fn connect(&self) -> SttClient {
        SttClient::connect(&self.socket, Duration::from_secs(60)).expect("connect to the worker")
    }

    /// Waits up to 10 s for the worker to exit; its exit code.
    fn wait(&mut self) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the worker did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request(id: u64, leg: Leg, pcm: Vec<i16>, audio_ctx: AudioContext) -> TranscribeRequest {
    TranscribeRequest {
        id,
        leg,
        start: Duration::from_secs(10),
        prompt: String::new(),
        options: DecodeOptions { audio_ctx },
        pcm,
    }
}

fn text_of(reply: &callguard_stt_protocol::SegmentsReply) -> String {
    reply.segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ")
}

#[test]
fn keywords_survive_g711_in_several_voices() {
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::start(1, 2);
    let mut client = worker.connect();
    assert_eq!(client.hello().states, 1);
    let (mut found, mut total, mut missed) = (0, 0, Vec::new());
    for (i, (voice, speed, text, keywords)) in support::SCRIPT.iter().enumerate() {
        let pcm = support::speech(dir.path(), voice, *speed, text, true);
        let samples = pcm.len();
        let reply = client.transcribe(&request(i as u64, Leg::Caller, pcm, AudioContext::default())).unwrap();
        let heard = text_of(&reply);
        let end = Duration::from_secs(10) + Duration::from_micros(samples as u64 * 1_000_000 / 16_000);
        for segment in &reply.segments {
            assert!(
                segment.start >= Duration::from_secs(10) && segment.end <= end,
                "{segment:?} outside 10 s..{end:?}"
            );
            assert!((0.0..=1.0).contains(&segment.confidence));
        }
        for keyword in *keywords {
            total += 1;
            if support::has_keyword(&heard, keyword) {
                found += 1;
            } else {
                missed.push(format!("{keyword:?} in {heard:?}"));
            }
        }
    }
    // A floor, not a goal: tiny.en (as converted by `callguard models
    // import`) on espeak-ng's synthetic voices through 8 kHz µ-law heard
    // 12 of these 22 when this was written (greedy decoding is
    // deterministic for a given thread count); the same script at 16 kHz
    // does much better (see the `rtf` bench's word error rates).
    assert!(found * 100 >= total * 50, "{found} of {total} keywords heard; missed: {missed:#?}");
}

#[test]
fn caller_chunks_are_served_before_queued_callee_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::start(1, 2);
    let mut client = worker.connect();
    let pcm = support::speech(dir.path(), "en-us", 160, "Please hold the line.", true);
    // One state: the first callee request starts at once; the next callee
    // and the two caller requests queue behind it.
    let order = [(1, Leg::Callee), (2, Leg::Callee), (3, Leg::Caller), (4, Leg::Caller)];
    for (id, leg) in order {
        client.send(&Request::Transcribe(request(id, leg, pcm.clone(), AudioContext::default()))).unwrap();
    }
    let replies: Vec<u64> = (0..4)
        .map(|_| match client.receive().unwrap() {
            Reply::Segments(s) => s.id,
            other => panic!("{other:?}"),
        })
        .collect();
    let at = |id| replies.iter().position(|&r| r == id).unwrap();
    assert!(at(3) < at(2) && at(4) < at(2), "callee 2 was served before a caller: {replies:?}");
}

#[test]
fn killing_the_worker_mid_request_is_a_clear_error_for_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let mut worker = Worker::start(1, 1);
    let mut client = worker.connect();
    let mut pcm = Vec::new();
    for (voice, speed, text, _) in &support::SCRIPT[..4] {
        pcm.extend(support::speech(dir.path(), voice, *speed, text, true));
    }
    client.send(&Request::Transcribe(request(1, Leg::Caller, pcm, AudioContext::Full))).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    worker.child.kill().unwrap();
    let err = client.receive().unwrap_err();
    assert!(matches!(err, ClientError::Closed), "{err}");
    assert!(err.to_string().contains("closed the connection"), "{err}");
}

#[test]
fn sigterm_and_closing_stdin_both_stop_the_worker_cleanly() {
    let mut worker = Worker::start(1, 1);
    worker.connect().ping().unwrap();
    let status = Command::new("kill").args(["-TERM", &worker.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert_eq!(worker.wait(), Some(0));
    assert!(!Path::new(&worker.socket).exists(), "the socket was left behind");

    let mut worker = Worker::start(1, 1);
    worker.connect().ping().unwrap();
    let mut stdin = worker.child.stdin.take().unwrap();
    stdin.flush().unwrap();
    drop(stdin);
    assert_eq!(worker.wait(), Some(0));
}

#[test]
fn a_foreign_model_file_is_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("model.bin");
    std::fs::write(&bogus, b"GGUF this is not whisper").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_callguard-stt"))
        .args(["--model", bogus.to_str().unwrap(), "--listen", dir.path().join("s.sock").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot load the whisper model") && stderr.contains("model.bin"), "{stderr}");
}

#[test]
fn word_error_rate_and_keywords_normalise_numbers_and_punctuation() {
    assert_eq!(support::wer("It is 4 7 1 9.", "it is four, seven, 19"), 0.0);
    assert_eq!(support::wer("buy a gift card", "buy gift cards"), 0.5);
    assert_eq!(support::wer("500 dollars", "$500"), 0.0);
    assert!(support::has_keyword("You need to buy gift cards.", "gift card"));
    assert!(!support::has_keyword("Florida department", "fraud"));
}
