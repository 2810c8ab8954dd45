//! The daemon's side: a blocking client of one worker connection, with
//! timeouts so that a hung worker is noticed, not waited on forever.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::WireError;
use crate::frame::{FrameError, read_reply, write_request};
use crate::message::{Hello, JudgeRequest, Reply, Request, Verdict};
use crate::{PROTOCOL_VERSION, TIMEOUT_PREFIX};

/// What went wrong talking to the worker.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No worker listening at the path.
    #[error("cannot connect to the LLM judge worker at {path}: {source}")]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The worker did not answer in time; presume it hung and restart it.
    #[error("the LLM judge worker did not answer within {after:?}")]
    Timeout {
        /// The time allowed.
        after: Duration,
    },
    /// The worker gave up on a judgement at its deadline (it is alive and
    /// the connection still usable: judge less often, or with less text).
    #[error("the LLM judge worker could not judge request {id} within its deadline: {message}")]
    DeadlineExceeded {
        /// The request.
        id: u64,
        /// The worker's message.
        message: String,
    },
    /// The worker closed the connection (it exited or crashed).
    #[error("the LLM judge worker closed the connection (exited or crashed)")]
    Closed,
    /// The worker did not greet as expected.
    #[error("the LLM judge worker's greeting was wrong: {0}")]
    Handshake(String),
    /// The worker reported an error.
    #[error("the LLM judge worker failed request {id:?}: {message}")]
    Worker {
        /// The request, if the error is tied to one.
        id: Option<u64>,
        /// The worker's message.
        message: String,
    },
    /// A reply nobody asked for.
    #[error("unexpected reply from the LLM judge worker: {0}")]
    Unexpected(String),
    /// An earlier error left the connection out of step; reconnect.
    #[error("the connection to the LLM judge worker is unusable after an earlier error; reconnect")]
    Broken,
    /// Framing or socket failure.
    #[error(transparent)]
    Frame(FrameError),
}

impl From<FrameError> for ClientError {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::Wire(WireError::Closed | WireError::Truncated { .. }) => ClientError::Closed,
            FrameError::Wire(WireError::Io(ref io))
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::NotConnected
                ) =>
            {
                ClientError::Closed
            }
            other => ClientError::Frame(other),
        }
    }
}

/// One connection to a `callguard-llm` worker.
///
/// Judgements are made one at a time with [`judge`](Self::judge), which
/// waits for the request's own deadline plus the client's timeout (the
/// worker may be finishing another call's judgement first); or pipelined
/// with [`send`](Self::send) and [`receive`](Self::receive). After a
/// timeout or a protocol error the connection is out of step and every
/// later call fails with [`ClientError::Broken`]: drop it, restart the
/// worker if it hung, and connect again. A judgement the worker itself
/// abandoned at its deadline ([`ClientError::DeadlineExceeded`]) leaves
/// the connection usable.
#[derive(Debug)]
pub struct LlmClient {
    stream: UnixStream,
    hello: Hello,
    timeout: Duration,
    next_id: u64,
    buf: Vec<u8>,
    broken: bool,
}

impl LlmClient {
    /// Connects to the worker at `path` and reads its greeting; `timeout`
    /// bounds the greeting, every write, a ping's answer, and the grace
    /// a judgement gets beyond its deadline.
    pub fn connect(path: &Path, timeout: Duration) -> Result<Self, ClientError> {
        let stream =
            UnixStream::connect(path).map_err(|source| ClientError::Connect { path: path.to_owned(), source })?;
        stream.set_write_timeout(Some(timeout)).map_err(|e| ClientError::Frame(FrameError::Wire(WireError::Io(e))))?;
        let mut client = Self {
            stream,
            hello: Hello { protocol: 0, model: String::new(), version: String::new(), ctx: 0 },
            timeout,
            next_id: 1,
            buf: Vec::new(),
            broken: false,
        };
        match client.receive_within(timeout)? {
            Reply::Hello(hello) if hello.protocol == PROTOCOL_VERSION => client.hello = hello,
            Reply::Hello(hello) => {
                return Err(ClientError::Handshake(format!(
                    "protocol {} spoken, {PROTOCOL_VERSION} expected (worker and daemon from different releases?)",
                    hello.protocol
                )));
            }
            other => return Err(ClientError::Handshake(format!("{other:?} instead of Hello"))),
        }
        Ok(client)
    }

    /// The worker's greeting.
    pub fn hello(&self) -> &Hello {
        &self.hello
    }

    /// A fresh request id for this connection.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Sends one request without waiting for its reply.
    pub fn send(&mut self, request: &Request) -> Result<(), ClientError> {
        if self.broken {
            return Err(ClientError::Broken);
        }
        write_request(&mut self.stream, request, &mut self.buf).map_err(|e| self.fail(e, self.timeout))
    }

    /// Waits up to the client's timeout for the next reply, whichever
    /// request it answers.
    pub fn receive(&mut self) -> Result<Reply, ClientError> {
        self.receive_within(self.timeout)
    }

    /// Waits up to `wait` for the next reply.
    pub fn receive_within(&mut self, wait: Duration) -> Result<Reply, ClientError> {
        if self.broken {
            return Err(ClientError::Broken);
        }
        // A zero timeout means "none" to the socket; never wait forever.
        let wait = wait.max(Duration::from_millis(1));
        if let Err(e) = self.stream.set_read_timeout(Some(wait)) {
            return Err(self.fail(FrameError::Wire(WireError::Io(e)), wait));
        }
        read_reply(&mut self.stream, &mut self.buf).map_err(|e| self.fail(e, wait))
    }

    fn fail(&mut self, e: FrameError, after: Duration) -> ClientError {
        self.broken = true;
        if e.is_timeout() { ClientError::Timeout { after } } else { e.into() }
    }

    /// Sends `request` and waits for its verdict, up to its deadline plus
    /// the client's timeout. Other judgements must not be outstanding on
    /// this connection.
    pub fn judge(&mut self, request: &JudgeRequest) -> Result<Verdict, ClientError> {
        let id = request.id;
        let started = Instant::now();
        let allowed = request.deadline() + self.timeout;
        self.send(&Request::Judge(request.clone()))?;
        loop {
            let left = allowed.saturating_sub(started.elapsed());
            if left.is_zero() {
                self.broken = true;
                return Err(ClientError::Timeout { after: allowed });
            }
            match self.receive_within(left)? {
                Reply::Verdict(verdict) if verdict.id == id => return Ok(verdict),
                Reply::Error { id: Some(got), message } if got == id => {
                    return Err(if message.starts_with(TIMEOUT_PREFIX) {
                        ClientError::DeadlineExceeded { id, message }
                    } else {
                        ClientError::Worker { id: Some(got), message }
                    });
                }
                Reply::Error { id: None, message } => {
                    self.broken = true;
                    return Err(ClientError::Worker { id: None, message });
                }
                Reply::Pong { .. } => {}
                other => {
                    self.broken = true;
                    return Err(ClientError::Unexpected(format!("{other:?} while waiting for request {id}")));
                }
            }
        }
    }

    /// Tells the worker that `call` ended, so it drops the call's cached
    /// context. Not answered.
    pub fn forget(&mut self, call: u64) -> Result<(), ClientError> {
        self.send(&Request::Forget { call })
    }

    /// Round trip of a ping, within the client's timeout: the worker's
    /// liveness check. Pings are answered ahead of queued judgements, but
    /// not while the connection's own judgement is outstanding.
    pub fn ping(&mut self) -> Result<Duration, ClientError> {
        let nonce = self.next_id();
        let sent = Instant::now();
        self.send(&Request::Ping { nonce })?;
        match self.receive()? {
            Reply::Pong { nonce: got } if got == nonce => Ok(sent.elapsed()),
            other => {
                self.broken = true;
                Err(ClientError::Unexpected(format!("{other:?} instead of Pong {nonce}")))
            }
        }
    }
}
