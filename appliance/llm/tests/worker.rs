//! The worker binary against the real test model (SmolLM2-135M-Instruct
//! Q4_1, see `support::model`): verdict shape and bounds (not their
//! correctness: this model is no classifier), deadlines, context reuse
//! and forget, death, shutdown and bad model files.

mod support;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use callguard_llm_protocol::{
    ClientError, JudgeRequest, LlmClient, MAX_REASON_CHARS, MAX_TACTICS, Reply, Request, Verdict, is_tactic_code,
};

/// One worker at a time: each runs llama.cpp on 2 threads, and this
/// machine may have only 2 cores; workers side by side would make the
/// timings, and so the deadlines, meaningless.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Worker {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
    _turn: MutexGuard<'static, ()>,
}

impl Worker {
    fn start() -> Self {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("llm.sock");
        let child = Command::new(env!("CARGO_BIN_EXE_callguard-llm"))
            .args(["--model", support::model().to_str().unwrap(), "--listen", socket.to_str().unwrap()])
            .args(["--threads", "2", "--ctx", "2048", "--slots", "2", "--exit-with-stdin"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("start callguard-llm");
        let started = Instant::now();
        while !socket.exists() {
            assert!(started.elapsed() < Duration::from_secs(60), "the worker did not listen within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child, socket, _dir: dir, _turn: turn }
    }

    fn connect(&self) -> LlmClient {
        LlmClient::connect(&self.socket, Duration::from_secs(30)).expect("connect to the worker")
    }

    /// Waits up to 20 s for the worker to exit; its exit code.
    fn wait(&mut self) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(started.elapsed() < Duration::from_secs(20), "the worker did not exit");
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

fn request(id: u64, call: u64, lines: &[&str], max_tokens: u16, deadline_ms: u32) -> JudgeRequest {
    JudgeRequest {
        id,
        call,
        transcript: support::transcript(lines),
        signaling: "caller ID not attested".into(),
        max_tokens,
        deadline_ms,
    }
}

fn assert_well_formed(verdict: &Verdict, id: u64, max_tokens: u32) {
    assert_eq!(verdict.id, id);
    assert!((0.0..=1.0).contains(&verdict.scam_probability), "{verdict:?}");
    assert!(verdict.tactics.len() <= MAX_TACTICS && verdict.tactics.iter().all(|t| is_tactic_code(t)), "{verdict:?}");
    assert!(verdict.reason.chars().count() <= MAX_REASON_CHARS, "{verdict:?}");
    assert!(verdict.tokens.generated >= 1 && verdict.tokens.generated <= max_tokens, "{verdict:?}");
    assert!(verdict.tokens.prompt > 0 && verdict.elapsed() > Duration::ZERO, "{verdict:?}");
}

#[test]
fn a_scam_and_a_benign_call_each_get_a_well_formed_verdict() {
    let worker = Worker::start();
    let mut client = worker.connect();
    assert_eq!(client.hello().model, "SmolLM2-135M-Instruct.Q4_1.gguf");
    assert_eq!(client.hello().ctx, 2048);
    let mode = std::fs::metadata(&worker.socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "socket mode {mode:o}");
    for (id, lines) in [(1, support::SCAM), (2, support::BENIGN)] {
        let verdict = client.judge(&request(id, id, lines, 96, 60_000)).unwrap();
        assert_well_formed(&verdict, id, 96);
        // What the model said, for the log of a failing run (the test
        // transcripts are synthetic).
        eprintln!("call {id}: {} {:?} {:?}", verdict.scam_probability, verdict.tactics, verdict.reason);
    }
}

#[test]
fn a_later_checkpoint_reuses_the_call_context_until_forgotten() {
    let worker = Worker::start();
    let mut client = worker.connect();
    let n = support::SCAM.len();
    let first = client.judge(&request(1, 7, &support::SCAM[..n - 2], 16, 60_000)).unwrap();
    assert_eq!(first.tokens.reused, 0);
    let second = client.judge(&request(2, 7, support::SCAM, 16, 60_000)).unwrap();
    assert_well_formed(&second, 2, 16);
    assert!(
        second.tokens.reused + 8 >= first.tokens.prompt && second.tokens.prompt < first.tokens.prompt,
        "the second checkpoint should evaluate little more than its new turns: {first:?} then {second:?}"
    );
    client.forget(7).unwrap();
    let third = client.judge(&request(3, 7, support::SCAM, 16, 60_000)).unwrap();
    assert_eq!(third.tokens.reused, 0, "forgotten call still cached: {third:?}");
    // Another call does not reuse this one's context.
    let other = client.judge(&request(4, 8, support::SCAM, 16, 60_000)).unwrap();
    assert_eq!(other.tokens.reused, 0, "{other:?}");
}

#[test]
fn a_deadline_too_short_is_a_clear_timeout_and_the_worker_keeps_serving() {
    let worker = Worker::start();
    let mut client = worker.connect();
    let err = client.judge(&request(1, 1, support::SCAM, 64, 5)).unwrap_err();
    assert!(
        matches!(&err, ClientError::DeadlineExceeded { id: 1, message } if message.starts_with("timeout")),
        "{err}"
    );
    assert!(!err.to_string().contains("Officer"), "{err}");
    client.ping().expect("the connection is still usable");
    let verdict = client.judge(&request(2, 1, support::BENIGN, 32, 60_000)).unwrap();
    assert_well_formed(&verdict, 2, 32);
}

#[test]
fn killing_the_worker_mid_request_is_a_clear_error_for_the_client() {
    let mut worker = Worker::start();
    let mut client = worker.connect();
    client.send(&Request::Judge(request(1, 1, support::SCAM, 256, 60_000))).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    worker.child.kill().unwrap();
    let err = client.receive().unwrap_err();
    assert!(matches!(err, ClientError::Closed), "{err}");
    assert!(err.to_string().contains("closed the connection"), "{err}");
}

#[test]
fn sigterm_and_closing_stdin_both_stop_the_worker_cleanly() {
    let mut worker = Worker::start();
    worker.connect().ping().unwrap();
    let status = Command::new("kill").args(["-TERM", &worker.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    assert_eq!(worker.wait(), Some(0));
    assert!(!Path::new(&worker.socket).exists(), "the socket was left behind");
    drop(worker);

    let mut worker = Worker::start();
    worker.connect().ping().unwrap();
    let mut stdin = worker.child.stdin.take().unwrap();
    stdin.flush().unwrap();
    drop(stdin);
    assert_eq!(worker.wait(), Some(0));
}

#[test]
fn a_live_socket_is_refused_and_a_stale_one_replaced() {
    let worker = Worker::start();
    let out = Command::new(env!("CARGO_BIN_EXE_callguard-llm"))
        .args(["--model", support::model().to_str().unwrap(), "--listen", worker.socket.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use by another worker"));
    worker.connect().ping().expect("the first worker is unharmed");

    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let mut child = Command::new(env!("CARGO_BIN_EXE_callguard-llm"))
        .args(["--model", support::model().to_str().unwrap(), "--listen", stale.to_str().unwrap()])
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut client = loop {
        if let Ok(client) = LlmClient::connect(&stale, Duration::from_secs(10)) {
            break client;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no worker on the stale socket's path");
        std::thread::sleep(Duration::from_millis(50));
    };
    client.ping().unwrap();
    let _ = child.kill();
    let _ = child.wait();
}

fn refused(model: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_callguard-llm"))
        .args(["--model", model.to_str().unwrap(), "--listen", dir.path().join("s.sock").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a bad model was accepted");
    assert!(!dir.path().join("s.sock").exists(), "a socket was created for a bad model");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn missing_foreign_and_truncated_model_files_are_refused_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.gguf");
    let stderr = refused(&missing);
    assert!(stderr.contains("cannot read the LLM model") && stderr.contains("missing.gguf"), "{stderr}");

    let text = dir.path().join("notes.gguf");
    std::fs::write(&text, "this is a text file, not a model\n").unwrap();
    let stderr = refused(&text);
    assert!(stderr.contains("not a GGUF file") && stderr.contains("notes.gguf"), "{stderr}");

    let truncated = dir.path().join("truncated.gguf");
    let real = std::fs::read(support::model()).unwrap();
    std::fs::write(&truncated, &real[..real.len() / 3]).unwrap();
    let stderr = refused(&truncated);
    assert!(stderr.contains("cannot load the LLM model") && stderr.contains("truncated.gguf"), "{stderr}");
}

#[test]
fn a_garbled_frame_gets_an_error_and_the_connection_closes() {
    use std::io::Read;
    let worker = Worker::start();
    let mut stream = std::os::unix::net::UnixStream::connect(&worker.socket).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    assert!(matches!(callguard_llm_protocol::read_reply(&mut stream, &mut buf).unwrap(), Reply::Hello(_)));
    let body = br#"{"judge":{"id":"my PIN is 4719"}}"#;
    stream.write_all(&(body.len() as u32).to_le_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let reply = callguard_llm_protocol::read_reply(&mut stream, &mut buf).unwrap();
    assert!(
        matches!(&reply, Reply::Error { id: None, message } if message.contains("malformed") && !message.contains("4719")),
        "{reply:?}"
    );
    let mut rest = Vec::new();
    assert_eq!(stream.read_to_end(&mut rest).unwrap(), 0, "the worker should hang up");
    worker.connect().ping().expect("the worker still serves others");
}
