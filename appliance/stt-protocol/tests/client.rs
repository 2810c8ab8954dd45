//! The client against a scripted worker on a real Unix socket.

use std::os::unix::net::{UnixListener, UnixStream};
use std::thread;
use std::time::Duration;

use callguard_speech::{Chunk, ChunkReason, DecodeOptions, Leg, Segment, TranscribeError, Transcriber};
use callguard_stt_protocol::{
    ClientError, Hello, PROTOCOL_VERSION, Reply, Request, SegmentsReply, SttClient, read_request, write_reply,
};

fn hello(protocol: u16) -> Reply {
    Reply::Hello(Hello { protocol, model: "fake".into(), version: "0".into(), states: 1 })
}

/// Starts a one-connection worker running `script` and returns its socket
/// directory (kept alive by the caller) and path.
fn worker(script: impl FnOnce(UnixStream) + Send + 'static) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stt.sock");
    let listener = UnixListener::bind(&path).unwrap();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        script(stream);
    });
    (dir, path)
}

fn chunk() -> Chunk {
    Chunk {
        leg: Leg::Caller,
        start: Duration::from_secs(3),
        samples: vec![0.25; 8000],
        reason: ChunkReason::EndOfUtterance,
        speech_ratio: 0.9,
    }
}

#[test]
fn transcribes_through_the_socket_with_the_prompt_and_audio_intact() {
    let (_dir, path) = worker(|mut s| {
        let mut buf = Vec::new();
        write_reply(&mut s, &hello(PROTOCOL_VERSION), &mut buf).unwrap();
        let Request::Transcribe(r) = read_request(&mut s, &mut buf).unwrap() else { panic!("not a transcribe") };
        assert_eq!(
            (r.leg, r.start, r.prompt.as_str(), r.pcm.len()),
            (Leg::Caller, Duration::from_secs(3), "before", 8000)
        );
        assert!(r.pcm.iter().all(|&x| x == 8192), "0.25 full scale is 8192");
        let text = Segment {
            start: r.start,
            end: r.start + Duration::from_millis(500),
            text: "gift card".into(),
            confidence: 0.8,
        };
        let reply =
            Reply::Segments(SegmentsReply { id: r.id, segments: vec![text], elapsed: Duration::from_millis(90) });
        write_reply(&mut s, &reply, &mut buf).unwrap();
    });
    let mut client = SttClient::connect(&path, Duration::from_secs(5)).unwrap();
    assert_eq!(client.hello().model, "fake");
    let segments = Transcriber::transcribe(&mut client, &chunk(), "before", &DecodeOptions::default()).unwrap();
    assert_eq!(segments.len(), 1);
    assert_eq!(segments[0].text, "gift card");
}

#[test]
fn a_worker_that_dies_mid_request_is_reported_as_unavailable() {
    let (_dir, path) = worker(|mut s| {
        let mut buf = Vec::new();
        write_reply(&mut s, &hello(PROTOCOL_VERSION), &mut buf).unwrap();
        let _ = read_request(&mut s, &mut buf).unwrap();
        // Dropping the stream is what the kernel does when a worker dies.
    });
    let mut client = SttClient::connect(&path, Duration::from_secs(5)).unwrap();
    let err = Transcriber::transcribe(&mut client, &chunk(), "", &DecodeOptions::default()).unwrap_err();
    assert!(matches!(&err, TranscribeError::Unavailable { reason } if reason.contains("closed")), "{err}");
    assert!(matches!(client.ping(), Err(ClientError::Broken)));
}

#[test]
fn a_hung_worker_times_out() {
    let (_dir, path) = worker(|mut s| {
        let mut buf = Vec::new();
        write_reply(&mut s, &hello(PROTOCOL_VERSION), &mut buf).unwrap();
        let _ = read_request(&mut s, &mut buf);
        thread::sleep(Duration::from_secs(2));
    });
    let mut client = SttClient::connect(&path, Duration::from_millis(300)).unwrap();
    let started = std::time::Instant::now();
    let err = Transcriber::transcribe(&mut client, &chunk(), "", &DecodeOptions::default()).unwrap_err();
    assert_eq!(err, TranscribeError::Timeout { after: Duration::from_millis(300) });
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn the_wrong_protocol_version_or_no_worker_is_a_clear_error() {
    let (_dir, path) = worker(|mut s| write_reply(&mut s, &hello(PROTOCOL_VERSION + 1), &mut Vec::new()).unwrap());
    let err = SttClient::connect(&path, Duration::from_secs(5)).unwrap_err();
    assert!(matches!(&err, ClientError::Handshake(m) if m.contains("protocol 2")), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let err = SttClient::connect(&dir.path().join("none.sock"), Duration::from_secs(1)).unwrap_err();
    assert!(err.to_string().contains("none.sock"), "{err}");
}

#[test]
fn a_worker_error_for_the_request_fails_only_that_chunk() {
    let (_dir, path) = worker(|mut s| {
        let mut buf = Vec::new();
        write_reply(&mut s, &hello(PROTOCOL_VERSION), &mut buf).unwrap();
        for _ in 0..2 {
            match read_request(&mut s, &mut buf).unwrap() {
                Request::Transcribe(r) => {
                    write_reply(&mut s, &Reply::Error { id: Some(r.id), message: "too long".into() }, &mut buf).unwrap()
                }
                Request::Ping { nonce } => write_reply(&mut s, &Reply::Pong { nonce }, &mut buf).unwrap(),
            }
        }
    });
    let mut client = SttClient::connect(&path, Duration::from_secs(5)).unwrap();
    let err = Transcriber::transcribe(&mut client, &chunk(), "", &DecodeOptions::default()).unwrap_err();
    assert!(matches!(err, TranscribeError::Failed { leg: Leg::Caller, .. }), "{err}");
    client.ping().expect("the connection is still usable");
}
