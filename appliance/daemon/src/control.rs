//! The control socket: newline-delimited JSON, one request and one
//! response per line, on a Unix socket only local users with access to the
//! state directory can reach.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::task::JoinSet;

use crate::sip::SipCommand;
use crate::{CallSummary, Lifecycle, Shared, SipStatus, Status};

/// Longest request line accepted; anything longer is a client bug.
const MAX_REQUEST: usize = 64 * 1024;

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Request {
    /// The daemon's [`Status`].
    Status,
    /// The live calls.
    Calls,
    /// Metrics in the Prometheus text format.
    Metrics,
}

/// What the daemon answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    /// Answer to [`Request::Status`].
    Status(Box<Status>),
    /// Answer to [`Request::Calls`].
    Calls {
        /// The live calls.
        calls: Vec<CallSummary>,
    },
    /// Answer to [`Request::Metrics`].
    Metrics {
        /// Prometheus text exposition.
        text: String,
    },
    /// The request could not be served.
    Error {
        /// Why.
        message: String,
    },
}

/// Why a control request failed on the client side.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Nothing is listening: the daemon is not running.
    #[error("the callguard daemon is not running (nothing listens on {}); start it with `callguard run` or `systemctl start callguard`", path.display())]
    NotRunning {
        /// The socket path tried.
        path: PathBuf,
    },
    /// The socket exists but talking to it failed.
    #[error("control socket {}: {source}", path.display())]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The daemon answered something this client does not understand.
    #[error("the daemon's answer could not be read ({0}); is it a different version? check `callguard version`")]
    Protocol(String),
    /// The daemon answered with an error.
    #[error("the daemon refused the request: {0}")]
    Refused(String),
}

/// Sends one request to the daemon listening on `socket` and waits for the answer.
pub fn request(socket: &Path, request: &Request) -> Result<Response, ControlError> {
    let io = |source| ControlError::Io { path: socket.to_path_buf(), source };
    let mut stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            ControlError::NotRunning { path: socket.to_path_buf() }
        }
        _ => io(e),
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(io)?;
    let mut line = serde_json::to_string(request).map_err(|e| ControlError::Protocol(e.to_string()))?;
    line.push('\n');
    stream.write_all(line.as_bytes()).map_err(io)?;
    let mut answer = String::new();
    BufReader::new(&stream).read_line(&mut answer).map_err(io)?;
    match serde_json::from_str(&answer).map_err(|e| ControlError::Protocol(e.to_string()))? {
        Response::Error { message } => Err(ControlError::Refused(message)),
        response => Ok(response),
    }
}

/// Accepts control connections until the daemon starts stopping.
pub(crate) async fn serve(listener: UnixListener, shared: Arc<Shared>) {
    let mut lifecycle = shared.lifecycle.subscribe();
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(handle(stream, shared.clone()));
                }
                Err(e) => tracing::warn!(error = %e, "control socket accept failed"),
            },
            changed = lifecycle.changed() => {
                if changed.is_err() || *lifecycle.borrow() == Lifecycle::Stopping {
                    break;
                }
            }
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn handle(stream: tokio::net::UnixStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(read.take_limit()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let response = match serde_json::from_str::<Request>(&line) {
            Ok(request) => answer(request, &shared).await,
            Err(e) => Response::Error { message: format!("not a valid request: {e}") },
        };
        let mut text = serde_json::to_string(&response).unwrap_or_default();
        text.push('\n');
        if write.write_all(text.as_bytes()).await.is_err() {
            break;
        }
    }
}

async fn answer(request: Request, shared: &Arc<Shared>) -> Response {
    match request {
        Request::Status => {
            let sip = ask_sip(shared, SipCommand::Stats).await.map(|stats| SipStatus::from_stats(&stats));
            let shared = shared.clone();
            match tokio::task::spawn_blocking(move || Status::collect(&shared, sip)).await {
                Ok(Ok(status)) => Response::Status(Box::new(status)),
                Ok(Err(e)) => Response::Error { message: e.to_string() },
                Err(e) => Response::Error { message: format!("status collection failed: {e}") },
            }
        }
        Request::Metrics => {
            let sip = ask_sip(shared, SipCommand::Stats).await.map(|stats| SipStatus::from_stats(&stats));
            let shared = shared.clone();
            match tokio::task::spawn_blocking(move || crate::metrics::render(&shared, sip.as_ref())).await {
                Ok(Ok(text)) => Response::Metrics { text },
                Ok(Err(e)) => Response::Error { message: e.to_string() },
                Err(e) => Response::Error { message: format!("metrics failed: {e}") },
            }
        }
        Request::Calls => match ask_sip(shared, SipCommand::Sessions).await {
            Some(sessions) => {
                let media = shared.media.get().map(|m| m.as_ref());
                let speech = shared.speech.get().and_then(|s| s.as_ref().ok()).map(|s| s.counters.as_ref());
                let calls = sessions.iter().map(|s| CallSummary::of(s, media, speech)).collect();
                Response::Calls { calls }
            }
            None => Response::Error { message: "the SIP service is not running".into() },
        },
    }
}

/// Asks the SIP task something; `None` when it is not running.
async fn ask_sip<T>(shared: &Shared, command: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> SipCommand) -> Option<T> {
    let sip = shared.sip.get()?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    sip.send(command(reply)).await.ok()?;
    answer.await.ok()
}

/// Caps how much a client can make the daemon buffer.
trait TakeLimit: tokio::io::AsyncRead + Sized {
    fn take_limit(self) -> tokio::io::Take<Self> {
        tokio::io::AsyncReadExt::take(self, MAX_REQUEST as u64)
    }
}

impl<T: tokio::io::AsyncRead> TakeLimit for T {}
