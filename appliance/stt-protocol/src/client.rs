//! The daemon's side: a blocking client of one worker connection, with
//! timeouts so that a hung worker is noticed, not waited on forever.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use callguard_speech::{Chunk, DecodeOptions, Segment, TranscribeError, Transcriber};

use crate::PROTOCOL_VERSION;
use crate::WireError;
use crate::frame::{FrameError, read_reply, write_request};
use crate::message::{Hello, Reply, Request, SegmentsReply, TranscribeRequest};

/// What went wrong talking to the worker.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No worker listening at the path.
    #[error("cannot connect to the speech-to-text worker at {path}: {source}")]
    Connect {
        /// The socket path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The worker did not answer in time; presume it hung and restart it.
    #[error("the speech-to-text worker did not answer within {after:?}")]
    Timeout {
        /// The time allowed.
        after: Duration,
    },
    /// The worker closed the connection (it exited or crashed).
    #[error("the speech-to-text worker closed the connection (exited or crashed)")]
    Closed,
    /// The worker did not greet as expected.
    #[error("the speech-to-text worker's greeting was wrong: {0}")]
    Handshake(String),
    /// The worker reported an error.
    #[error("the speech-to-text worker failed request {id:?}: {message}")]
    Worker {
        /// The request, if the error is tied to one.
        id: Option<u64>,
        /// The worker's message.
        message: String,
    },
    /// A reply nobody asked for.
    #[error("unexpected reply from the speech-to-text worker: {0}")]
    Unexpected(String),
    /// An earlier error left the connection out of step; reconnect.
    #[error("the connection to the speech-to-text worker is unusable after an earlier error; reconnect")]
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

/// One connection to a `callguard-stt` worker.
///
/// Requests may be pipelined with [`send`](Self::send) and
/// [`receive`](Self::receive) (replies come back tagged, possibly out of
/// order), or made one at a time with [`transcribe`](Self::transcribe).
/// After a timeout or a protocol error the connection is out of step and
/// every later call fails with [`ClientError::Broken`]: drop it, restart
/// the worker if it hung, and connect again.
#[derive(Debug)]
pub struct SttClient {
    stream: UnixStream,
    hello: Hello,
    timeout: Duration,
    next_id: u64,
    buf: Vec<u8>,
    broken: bool,
}

impl SttClient {
    /// Connects to the worker at `path` and reads its greeting; `timeout`
    /// bounds every later wait for a reply (and every write).
    pub fn connect(path: &Path, timeout: Duration) -> Result<Self, ClientError> {
        let stream =
            UnixStream::connect(path).map_err(|source| ClientError::Connect { path: path.to_owned(), source })?;
        let set = |s: &UnixStream| {
            s.set_read_timeout(Some(timeout))?;
            s.set_write_timeout(Some(timeout))
        };
        set(&stream).map_err(|e| ClientError::Frame(FrameError::Wire(WireError::Io(e))))?;
        let mut client = Self {
            stream,
            hello: Hello { protocol: 0, model: String::new(), version: String::new(), states: 0 },
            timeout,
            next_id: 1,
            buf: Vec::new(),
            broken: false,
        };
        match client.receive()? {
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
        write_request(&mut self.stream, request, &mut self.buf).map_err(|e| self.fail(e))
    }

    /// Waits up to the timeout for the next reply, whichever request it
    /// answers.
    pub fn receive(&mut self) -> Result<Reply, ClientError> {
        if self.broken {
            return Err(ClientError::Broken);
        }
        read_reply(&mut self.stream, &mut self.buf).map_err(|e| self.fail(e))
    }

    fn fail(&mut self, e: FrameError) -> ClientError {
        self.broken = true;
        if e.is_timeout() { ClientError::Timeout { after: self.timeout } } else { e.into() }
    }

    /// Sends `request` and waits for its segments. Other requests must not
    /// be outstanding on this connection.
    pub fn transcribe(&mut self, request: &TranscribeRequest) -> Result<SegmentsReply, ClientError> {
        let id = request.id;
        self.send(&Request::Transcribe(request.clone()))?;
        loop {
            match self.receive()? {
                Reply::Segments(reply) if reply.id == id => return Ok(reply),
                Reply::Error { id: Some(got), message } if got == id => {
                    return Err(ClientError::Worker { id: Some(got), message });
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

    /// Round trip of a ping: the worker's liveness check.
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

impl Transcriber for SttClient {
    fn transcribe(
        &mut self,
        chunk: &Chunk,
        prompt: &str,
        options: &DecodeOptions,
    ) -> Result<Vec<Segment>, TranscribeError> {
        let id = self.next_id();
        let request = TranscribeRequest::from_chunk(id, chunk, prompt, *options);
        match SttClient::transcribe(self, &request) {
            Ok(reply) => Ok(reply.segments),
            Err(ClientError::Timeout { after }) => Err(TranscribeError::Timeout { after }),
            Err(ClientError::Worker { id: Some(_), message }) => {
                Err(TranscribeError::Failed { leg: chunk.leg, start: chunk.start, message })
            }
            Err(other) => Err(TranscribeError::Unavailable { reason: other.to_string() }),
        }
    }
}
