//! The client against a scripted worker on a real Unix socket.

use std::os::unix::net::{UnixListener, UnixStream};
use std::thread;
use std::time::{Duration, Instant};

use callguard_llm_protocol::{
    ClientError, Hello, JudgeRequest, LlmClient, PROTOCOL_VERSION, Reply, Request, TokenCounts, Verdict, read_request,
    write_reply,
};

fn hello(protocol: u16) -> Reply {
    Reply::Hello(Hello { protocol, model: "fake.gguf".into(), version: "0".into(), ctx: 2048 })
}

/// Starts a one-connection worker running `script` and returns its socket
/// directory (kept alive by the caller) and path.
fn worker(script: impl FnOnce(UnixStream) + Send + 'static) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("llm.sock");
    let listener = UnixListener::bind(&path).unwrap();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        script(stream);
    });
    (dir, path)
}

fn request(id: u64, deadline_ms: u32) -> JudgeRequest {
    JudgeRequest {
        id,
        call: 42,
        transcript: "caller: This is your bank. Read me the code we just sent.".into(),
        signaling: "caller ID not attested".into(),
        max_tokens: 64,
        deadline_ms,
    }
}

fn verdict(id: u64) -> Reply {
    Reply::Verdict(Verdict {
        id,
        scam_probability: 0.9,
        tactics: vec!["bank_impersonation".into(), "otp_request".into()],
        reason: "The caller claims to be your bank and asks for a code.".into(),
        tokens: TokenCounts { prompt: 80, reused: 0, generated: 30 },
        elapsed_us: 500_000,
    })
}

#[test]
fn judges_through_the_socket_with_the_text_intact() {
    let (_dir, path) = worker(|mut s| {
        let mut buf = Vec::new();
        write_reply(&mut s, &hello(PROTOCOL_VERSION), &mut buf).unwrap();
        let Request::Judge(r) = read_request(&mut s, &mut buf).unwrap() else { panic!("not a judge") };
        assert_eq!((r.call, r.max_tokens, r.deadline_ms), (42, 64, 3000));
        assert!(r.transcript.starts_with("caller: This is your bank"));
        assert_eq!(r.signaling, "caller ID not attested");
        write_reply(&mut s, &verdict(r.id), &mut buf).unwrap();
        assert_eq!(read_request(&mut s, &mut buf).unwrap(), Request::Forget { call: 42 });
    });
    let mut client = LlmClient::connect(&path, Duration::from_secs(5)).unwrap();
    assert_eq!((client.hello().model.as_str(), client.hello().ctx), ("fake.gguf", 2048));
    let id = client.next_id();
    let verdict = client.judge(&request(id, 3000)).unwrap();
    assert_eq!(verdict.id, id);
    assert_eq!(verdict.tactics, ["bank_impersonation", "otp_request"]);
    assert_eq!(verdict.elapsed(), Duration::from_millis(500));
    client.forget(42).unwrap();
}

#[test]
fn a_worker_timeout_error_is_told_apart_and_keeps_the_connection() {
    let (_dir, path) = worker(|mut s| {
        let mut buf = Vec::new();
        write_reply(&mut s, &hello(PROTOCOL_VERSION), &mut buf).unwrap();
        for _ in 0..3 {
            match read_request(&mut s, &mut buf).unwrap() {
                Request::Judge(r) if r.id == 1 => {
                    let message = "timeout: the deadline of 10 ms passed after 3 of 64 tokens".to_owned();
                    write_reply(&mut s, &Reply::Error { id: Some(1), message }, &mut buf).unwrap()
                }
                Request::Judge(r) => {
                    write_reply(&mut s, &Reply::Error { id: Some(r.id), message: "prompt too long".into() }, &mut buf)
                        .unwrap()
                }
                Request::Ping { nonce } => write_reply(&mut s, &Reply::Pong { nonce }, &mut buf).unwrap(),
                Request::Forget { .. } => panic!("no forget sent"),
            }
        }
    });
    let mut client = LlmClient::connect(&path, Duration::from_secs(5)).unwrap();
    let err = client.judge(&request(1, 10)).unwrap_err();
    assert!(matches!(&err, ClientError::DeadlineExceeded { id: 1, .. }), "{err}");
    let err = client.judge(&request(2, 10)).unwrap_err();
    assert!(matches!(&err, ClientError::Worker { id: Some(2), message } if message == "prompt too long"), "{err}");
    client.ping().expect("the connection is still usable");
}

#[test]
fn a_worker_that_dies_mid_request_is_reported_as_closed() {
    let (_dir, path) = worker(|mut s| {
        let mut buf = Vec::new();
        write_reply(&mut s, &hello(PROTOCOL_VERSION), &mut buf).unwrap();
        let _ = read_request(&mut s, &mut buf).unwrap();
        // Dropping the stream is what the kernel does when a worker dies.
    });
    let mut client = LlmClient::connect(&path, Duration::from_secs(5)).unwrap();
    let err = client.judge(&request(1, 3000)).unwrap_err();
    assert!(matches!(err, ClientError::Closed), "{err}");
    assert!(err.to_string().contains("closed the connection"), "{err}");
    assert!(matches!(client.ping(), Err(ClientError::Broken)));
}

#[test]
fn a_hung_worker_times_out_after_the_deadline_and_the_grace() {
    let (_dir, path) = worker(|mut s| {
        let mut buf = Vec::new();
        write_reply(&mut s, &hello(PROTOCOL_VERSION), &mut buf).unwrap();
        let _ = read_request(&mut s, &mut buf);
        thread::sleep(Duration::from_secs(3));
    });
    let mut client = LlmClient::connect(&path, Duration::from_millis(300)).unwrap();
    let started = Instant::now();
    let err = client.judge(&request(1, 200)).unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(480) && waited < Duration::from_millis(1500), "{waited:?}");
    assert!(matches!(client.ping(), Err(ClientError::Broken)));
}

#[test]
fn a_silent_peer_fails_the_greeting_in_time() {
    let (_dir, path) = worker(|_s| thread::sleep(Duration::from_secs(3)));
    let started = Instant::now();
    let err = LlmClient::connect(&path, Duration::from_millis(200)).unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn the_wrong_protocol_version_or_no_worker_is_a_clear_error() {
    let (_dir, path) = worker(|mut s| write_reply(&mut s, &hello(PROTOCOL_VERSION + 1), &mut Vec::new()).unwrap());
    let err = LlmClient::connect(&path, Duration::from_secs(5)).unwrap_err();
    assert!(matches!(&err, ClientError::Handshake(m) if m.contains("protocol 2")), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let err = LlmClient::connect(&dir.path().join("none.sock"), Duration::from_secs(1)).unwrap_err();
    assert!(err.to_string().contains("none.sock"), "{err}");
}

#[test]
fn a_garbled_reply_breaks_the_connection_with_a_decode_error() {
    use std::io::Write;
    let (_dir, path) = worker(|mut s| {
        let mut buf = Vec::new();
        write_reply(&mut s, &hello(PROTOCOL_VERSION), &mut buf).unwrap();
        let _ = read_request(&mut s, &mut buf).unwrap();
        let body = br#"{"verdict":{"id":1,"scam_probability":7}}"#;
        s.write_all(&(body.len() as u32).to_le_bytes()).unwrap();
        s.write_all(body).unwrap();
        thread::sleep(Duration::from_millis(500));
    });
    let mut client = LlmClient::connect(&path, Duration::from_secs(5)).unwrap();
    let err = client.judge(&request(1, 1000)).unwrap_err();
    assert!(matches!(err, ClientError::Frame(_)), "{err}");
    assert!(err.to_string().contains("undecodable frame"), "{err}");
}
