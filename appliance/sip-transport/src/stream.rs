//! TCP and TLS: accepting connections, framing messages, writing answers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use callguard_config::SipTransport;
use callguard_sip::{Frame, FramingLimits, frame_stream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::tls::TlsServer;
use crate::{Connections, Inbound, Peer, TransportStats};

/// Most connections served at once; beyond, new ones are closed at accept.
const MAX_CONNECTIONS: usize = 4096;
/// Messages queued for one connection's writer.
const WRITE_QUEUE: usize = 64;

pub(crate) struct StreamListener {
    pub(crate) transport: SipTransport,
    pub(crate) local: SocketAddr,
    pub(crate) tls: Option<TlsServer>,
    pub(crate) connections: Arc<Connections>,
    pub(crate) inbound: mpsc::Sender<Inbound>,
    pub(crate) stats: Arc<TransportStats>,
}

impl StreamListener {
    pub(crate) async fn accept_loop(self, socket: TcpListener) {
        let this = Arc::new(self);
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            let (stream, remote) = match socket.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, transport = %this.transport, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            while tasks.try_join_next().is_some() {}
            if tasks.len() >= MAX_CONNECTIONS {
                tracing::warn!(%remote, "too many SIP connections; refusing");
                continue;
            }
            let _ = stream.set_nodelay(true);
            this.stats.connections_accepted.fetch_add(1, Ordering::Relaxed);
            let this = this.clone();
            tasks.spawn(async move {
                match &this.tls {
                    None => this.serve(stream, remote).await,
                    Some(server) => match server.acceptor.accept(stream).await {
                        Ok(tls) if server.peer_allowed(tls.get_ref().1.peer_certificates()) => {
                            this.serve(tls, remote).await
                        }
                        Ok(_) => {
                            this.stats.tls_name_rejections.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(%remote, "TLS peer's certificate names no allowed SBC; closing");
                        }
                        Err(e) => {
                            this.stats.tls_handshake_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(%remote, error = %e, "TLS handshake failed");
                        }
                    },
                }
            });
        }
    }

    async fn serve<S: AsyncRead + AsyncWrite + Send + 'static>(&self, stream: S, remote: SocketAddr) {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(WRITE_QUEUE);
        let id = self.connections.register(tx.clone());
        let peer = Peer { transport: self.transport, remote, local: self.local, connection: Some(id) };
        let write_task = tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if writer.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            let _ = writer.shutdown().await;
        });
        if let Err(reason) = self.read_messages(&mut reader, &peer, &tx).await {
            self.stats.framing_errors.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%remote, transport = %self.transport, %reason, "closing SIP connection");
        }
        self.connections.remove(id);
        drop(tx);
        let _ = write_task.await;
    }

    /// Reads until the peer closes (Ok) or breaks framing (Err).
    async fn read_messages<R: AsyncRead + Unpin>(
        &self,
        reader: &mut R,
        peer: &Peer,
        writer: &mpsc::Sender<Vec<u8>>,
    ) -> Result<(), String> {
        let limits = FramingLimits::default();
        let mut buf: Vec<u8> = Vec::with_capacity(8192);
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            loop {
                match frame_stream(&buf, &limits).map_err(|e| e.to_string())? {
                    Frame::Complete { keepalive, len } => {
                        let message = buf[keepalive..keepalive + len].to_vec();
                        buf.drain(..keepalive + len);
                        self.stats.received.fetch_add(1, Ordering::Relaxed);
                        if self.inbound.send(Inbound { bytes: message, peer: *peer }).await.is_err() {
                            return Ok(());
                        }
                    }
                    Frame::Incomplete { keepalive } => {
                        if keepalive > 0 {
                            // A double CRLF is a ping; answer with a single CRLF pong.
                            if buf[..keepalive].windows(4).any(|w| w == b"\r\n\r\n") {
                                let _ = writer.try_send(b"\r\n".to_vec());
                            }
                            buf.drain(..keepalive);
                        }
                        break;
                    }
                }
            }
            let n = reader.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
}
