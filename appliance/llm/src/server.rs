//! The worker's service loop: accepts daemon connections on a Unix socket,
//! queues their judgements and forgets, and runs them one at a time on
//! the judge's thread, replying on each request's own connection.
//!
//! ```text
//!  connection thread ──Ping─────────────────────────────> Pong
//!  (one per client)  ──Judge / Forget──> JobQueue ──> judge thread ──> Verdict / Error (tagged by id)
//! ```

use std::io;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use callguard_llm_protocol::{
    FrameError, Hello, JudgeRequest, PROTOCOL_VERSION, Reply, Request, Verdict, WireError, read_request, write_reply,
};

use crate::engine::{EngineError, Judge, JudgeConfig, JudgeInput, LlmModel};
use crate::queue::{JobQueue, PushRefused};

/// How often the accept loop looks at the stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

/// The judge's context and the queue's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// The judge's context.
    pub judge: JudgeConfig,
    /// Judgements waiting at most, over all connections; beyond it a
    /// request is refused at once with an error.
    pub queue: usize,
}

/// Errors that stop the worker.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The judge could not be set up.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The listening socket failed.
    #[error("the listening socket failed: {0}")]
    Listen(#[source] io::Error),
}

enum Job {
    Judge { request: JudgeRequest, received: Instant, reply_to: Arc<Mutex<UnixStream>> },
    Forget { call: u64 },
}

/// Serves `listener` until `stop` is set: then stops accepting, lets the
/// judge finish the requests already queued (each bounded by its
/// deadline), and returns.
pub fn serve(
    listener: UnixListener,
    model: &LlmModel,
    config: &ServerConfig,
    stop: &AtomicBool,
) -> Result<(), ServeError> {
    let queue = Arc::new(JobQueue::<Job>::new(config.queue));
    thread::scope(|scope| {
        let (ready_tx, ready_rx) = mpsc::channel();
        let judge_queue = queue.clone();
        let judge_config = config.judge;
        let judge_thread = scope.spawn(move || {
            // The llama context is not Send: it lives on this thread.
            match model.judge(judge_config) {
                Ok(judge) => {
                    let _ = ready_tx.send(Ok(judge.ctx()));
                    judge_loop(judge, &judge_queue);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        });
        let ctx = match ready_rx.recv() {
            Ok(Ok(ctx)) => ctx,
            Ok(Err(e)) => return Err(ServeError::Engine(e)),
            Err(_) => return Err(ServeError::Engine(EngineError::Backend("the judge thread died".into()))),
        };
        let hello = Hello {
            protocol: PROTOCOL_VERSION,
            model: model.name().to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            ctx: u32::try_from(ctx).unwrap_or(u32::MAX),
        };
        let result = accept_loop(&listener, &queue, &hello, stop);
        queue.close();
        // A panicked judge has already lost its request; nothing to add.
        let _ = judge_thread.join();
        result
    })
}

fn accept_loop(
    listener: &UnixListener,
    queue: &Arc<JobQueue<Job>>,
    hello: &Hello,
    stop: &AtomicBool,
) -> Result<(), ServeError> {
    listener.set_nonblocking(true).map_err(ServeError::Listen)?;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        match listener.accept() {
            Ok((stream, _)) => {
                let (queue, hello) = (queue.clone(), hello.clone());
                thread::spawn(move || serve_connection(stream, &queue, &hello));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(STOP_POLL),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ServeError::Listen(e)),
        }
    }
}

fn judge_loop(mut judge: Judge<'_>, queue: &JobQueue<Job>) {
    while let Some(job) = queue.pop() {
        let (request, received, reply_to) = match job {
            Job::Forget { call } => {
                judge.forget(call);
                continue;
            }
            Job::Judge { request, received, reply_to } => (request, received, reply_to),
        };
        let started = Instant::now();
        let input = JudgeInput {
            call: request.call,
            transcript: &request.transcript,
            signaling: &request.signaling,
            max_tokens: usize::from(request.max_tokens),
            deadline: received + request.deadline(),
        };
        let reply = match judge.judge(&input) {
            Ok(judgement) => Reply::Verdict(Verdict {
                id: request.id,
                scam_probability: judgement.answer.scam_probability,
                tactics: judgement.answer.tactics.clone(),
                reason: judgement.answer.reason.clone(),
                tokens: judgement.tokens,
                elapsed_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            }),
            Err(e) => Reply::Error { id: Some(request.id), message: e.to_string() },
        };
        send(&reply_to, &reply, Some(request.id));
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
        let (job, id) = match read_request(&mut reader, &mut buf) {
            Ok(Request::Ping { nonce }) => {
                send(&writer, &Reply::Pong { nonce }, None);
                continue;
            }
            Ok(Request::Forget { call }) => (Job::Forget { call }, None),
            Ok(Request::Judge(request)) => {
                let id = request.id;
                (Job::Judge { request, received: Instant::now(), reply_to: writer.clone() }, Some(id))
            }
            Err(FrameError::Wire(WireError::Closed)) => break,
            Err(e) => {
                // Framing is lost; say why (no content: the messages name
                // fields, sizes and positions only) and hang up.
                send(&writer, &Reply::Error { id: None, message: e.to_string() }, None);
                break;
            }
        };
        // A refused forget is not answered (forgets never are): the
        // call's slot will be evicted in its turn.
        if let (Err((why, _)), Some(id)) = (queue.push(job, id.is_some()), id) {
            let message = match why {
                PushRefused::Full => "queue full: the worker is behind, try later or degrade",
                PushRefused::Closed => "the worker is shutting down",
            };
            send(&writer, &Reply::Error { id: Some(id), message: message.to_owned() }, Some(id));
        }
    }
    let _ = reader.shutdown(std::net::Shutdown::Both);
}
