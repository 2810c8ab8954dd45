//! The worker's service loop: accepts daemon connections on a Unix socket,
//! queues their requests (caller leg first) and serves them with a pool of
//! whisper states, replying on each request's own connection.
//!
//! ```text
//!  connection thread ──Ping──────────────────────────────> Pong
//!  (one per client)  ──Transcribe──> JobQueue ──> state 1 ─┐
//!                                    caller lane  state 2 ─┼─> Segments / Error (tagged by id)
//!                                    callee lane  state N ─┘
//! ```

use std::io;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use callguard_stt_protocol::{
    FrameError, Hello, PROTOCOL_VERSION, Reply, Request, SegmentsReply, TranscribeRequest, WireError, read_request,
    write_reply,
};
use zeroize::Zeroize;

use crate::engine::{EngineError, WhisperModel, WhisperTranscriber};
use crate::queue::{JobQueue, PushRefused};

/// How often the accept loop looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

/// Pool and queue sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// Whisper states, i.e. requests decoded at once.
    pub states: usize,
    /// Threads each state decodes with.
    pub threads: usize,
    /// Requests waiting at most, over all connections; beyond it a request
    /// is refused at once with an error, so the daemon degrades rather
    /// than waits.
    pub queue: usize,
}

/// Errors that stop the worker.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The whisper pool could not be built.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The listening socket failed.
    #[error("the listening socket failed: {0}")]
    Listen(#[source] io::Error),
}

/// A queued request and where its reply goes.
struct Job {
    request: TranscribeRequest,
    reply_to: Arc<Mutex<UnixStream>>,
}

/// Serves `listener` until `stop` is set: then stops accepting, lets the
/// states finish the requests already queued, and returns.
pub fn serve(
    listener: UnixListener,
    model: &WhisperModel,
    config: &ServerConfig,
    stop: &AtomicBool,
) -> Result<(), ServeError> {
    let states = config.states.max(1);
    let transcribers =
        (0..states).map(|_| model.transcriber(config.threads)).collect::<Result<Vec<_>, EngineError>>()?;
    let hello = Hello {
        protocol: PROTOCOL_VERSION,
        model: model.name().to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        states: u16::try_from(states).unwrap_or(u16::MAX),
    };
    let queue = Arc::new(JobQueue::<Job>::new(config.queue));
    let workers: Vec<_> = transcribers
        .into_iter()
        .map(|transcriber| {
            let queue = queue.clone();
            thread::spawn(move || decode_loop(transcriber, &queue))
        })
        .collect();

    listener.set_nonblocking(true).map_err(ServeError::Listen)?;
    let result = loop {
        if stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        match listener.accept() {
            Ok((stream, _)) => {
                let (queue, hello) = (queue.clone(), hello.clone());
                thread::spawn(move || serve_connection(stream, &queue, &hello));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(STOP_POLL),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(ServeError::Listen(e)),
        }
    };
    queue.close();
    for worker in workers {
        // A panicked decoder has already lost its request; nothing to add.
        let _ = worker.join();
    }
    result
}

fn decode_loop(mut transcriber: WhisperTranscriber, queue: &JobQueue<Job>) {
    while let Some(job) = queue.pop() {
        let started = Instant::now();
        let request = &job.request;
        let mut samples: Vec<f32> = request.pcm.iter().map(|&s| f32::from(s) / 32768.0).collect();
        let reply = match transcriber.transcribe_samples(&samples, request.start, &request.prompt, &request.options) {
            Ok(segments) => Reply::Segments(SegmentsReply { id: request.id, segments, elapsed: started.elapsed() }),
            Err(e) => Reply::Error { id: Some(request.id), message: e.to_string() },
        };
        samples.zeroize();
        send(&job.reply_to, &reply, Some(request.id));
    }
}

/// Writes `reply`; one too large to encode becomes an error for `id`. A
/// connection that is gone is the daemon's business: nothing to do.
fn send(stream: &Mutex<UnixStream>, reply: &Reply, id: Option<u64>) {
    let mut stream = stream.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut buf = Vec::new();
    if let Err(FrameError::Encode(e)) = write_reply(&mut *stream, reply, &mut buf) {
        let _ = write_reply(&mut *stream, &Reply::Error { id, message: e.to_string() }, &mut buf);
    }
}

fn serve_connection(stream: UnixStream, queue: &JobQueue<Job>, hello: &Hello) {
    let Ok(writer) = stream.try_clone() else { return };
    let writer = Arc::new(Mutex::new(writer));
    send(&writer, &Reply::Hello(hello.clone()), None);
    let mut reader = stream;
    let mut buf = Vec::new();
    loop {
        match read_request(&mut reader, &mut buf) {
            Ok(Request::Ping { nonce }) => send(&writer, &Reply::Pong { nonce }, None),
            Ok(Request::Transcribe(request)) => {
                let (id, leg) = (request.id, request.leg);
                if let Err((why, _)) = queue.push(leg, Job { request, reply_to: writer.clone() }) {
                    let message = match why {
                        PushRefused::Full => "queue full: the worker is behind, try later or degrade",
                        PushRefused::Closed => "the worker is shutting down",
                    };
                    send(&writer, &Reply::Error { id: Some(id), message: message.to_owned() }, Some(id));
                }
            }
            Err(FrameError::Wire(WireError::Closed)) => break,
            Err(e) => {
                // Framing is lost; say why (no content: the messages name
                // fields and sizes only) and hang up.
                send(&writer, &Reply::Error { id: None, message: e.to_string() }, None);
                break;
            }
        }
    }
    let _ = reader.shutdown(std::net::Shutdown::Both);
}
