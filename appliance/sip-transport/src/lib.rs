//! SIP transports for the Session Recording Server: UDP, TCP and TLS.
//!
//! Each configured listener gets a task that turns what arrives into whole
//! SIP messages ([`Inbound`]) on one channel, and [`Transports::send`]
//! carries responses and requests back: over UDP from the socket the request
//! arrived on, over TCP and TLS on the connection it arrived on (RFC 3261
//! section 18.2.2). Message framing on streams uses
//! [`callguard_sip::frame_stream`]; CRLF keep-alive pings are answered with
//! a pong (RFC 5626 section 3.5.1).
//!
//! What this crate does not do: parse or judge messages. A peer that breaks
//! stream framing loses its connection; a datagram is passed on whatever it
//! holds, for the SRS to answer 400 or drop. When the SRS falls behind, new
//! datagrams are dropped and counted (the SBC retransmits) rather than
//! queued without bound; streams are back-pressured instead.

mod stream;
mod tls;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use callguard_config::{SipListener, SipTransport};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Largest datagram accepted; anything longer is truncated by the kernel
/// and then refused by the parser.
const MAX_DATAGRAM: usize = 65_535;

/// Identifies one TCP or TLS connection for the life of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(u64);

/// Who sent a message and how, so that the answer goes back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The transport it arrived on.
    pub transport: SipTransport,
    /// The sender's address and port as seen on the wire.
    pub remote: SocketAddr,
    /// The local listener's address.
    pub local: SocketAddr,
    /// The connection, for TCP and TLS.
    pub connection: Option<ConnectionId>,
}

/// One SIP message (or datagram) as received.
#[derive(Debug)]
pub struct Inbound {
    /// The message bytes: one datagram, or one framed stream message.
    pub bytes: Vec<u8>,
    /// Where it came from.
    pub peer: Peer,
}

/// Why a transport could not start or send.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A listening socket could not be opened.
    #[error("cannot listen for SIP over {transport} on {address}: {source}")]
    Bind {
        /// The transport.
        transport: SipTransport,
        /// The configured address.
        address: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate, key or CA could not be loaded.
    #[error("TLS listener {address}: {reason}")]
    Tls {
        /// The configured address.
        address: SocketAddr,
        /// What is wrong.
        reason: String,
    },
    /// The connection a message should go back on is closed.
    #[error("{transport} connection to {remote} is closed")]
    ConnectionClosed {
        /// The transport.
        transport: SipTransport,
        /// The peer.
        remote: SocketAddr,
    },
    /// No UDP listener has the local address a datagram should leave from.
    #[error("no UDP listener on {0}")]
    NoSocket(SocketAddr),
    /// Sending failed.
    #[error("cannot send to {remote}: {source}")]
    Send {
        /// The peer.
        remote: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Counters for status and metrics.
#[derive(Debug, Default)]
pub struct TransportStats {
    /// Messages handed to the SRS.
    pub received: AtomicU64,
    /// Datagrams dropped because the SRS was behind.
    pub dropped_overload: AtomicU64,
    /// Connections closed for broken framing or oversize messages.
    pub framing_errors: AtomicU64,
    /// TCP and TLS connections accepted.
    pub connections_accepted: AtomicU64,
    /// TLS handshakes that failed (bad certificate, wrong protocol…).
    pub tls_handshake_failures: AtomicU64,
    /// TLS peers refused because their certificate names no allowed SBC.
    pub tls_name_rejections: AtomicU64,
}

/// The open listeners, and the way back to every peer.
pub struct Transports {
    udp: HashMap<SocketAddr, Arc<UdpSocket>>,
    connections: Arc<Connections>,
    listening: Vec<(SipTransport, SocketAddr)>,
    stats: Arc<TransportStats>,
    tasks: JoinSet<()>,
}

/// Open stream connections, by id, with the channel to their writer.
#[derive(Default)]
pub(crate) struct Connections {
    next: AtomicU64,
    writers: Mutex<HashMap<ConnectionId, mpsc::Sender<Vec<u8>>>>,
}

impl Connections {
    pub(crate) fn register(&self, writer: mpsc::Sender<Vec<u8>>) -> ConnectionId {
        let id = ConnectionId(self.next.fetch_add(1, Ordering::Relaxed));
        self.writers.lock().unwrap_or_else(|p| p.into_inner()).insert(id, writer);
        id
    }

    pub(crate) fn remove(&self, id: ConnectionId) {
        self.writers.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    fn writer(&self, id: ConnectionId) -> Option<mpsc::Sender<Vec<u8>>> {
        self.writers.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }
}

impl Transports {
    /// Opens every listener and starts delivering messages to `inbound`.
    pub async fn start(
        listeners: &[SipListener],
        inbound: mpsc::Sender<Inbound>,
    ) -> Result<Transports, TransportError> {
        let mut transports = Transports {
            udp: HashMap::new(),
            connections: Arc::new(Connections::default()),
            listening: Vec::new(),
            stats: Arc::new(TransportStats::default()),
            tasks: JoinSet::new(),
        };
        for listener in listeners {
            let bind_err =
                |source| TransportError::Bind { transport: listener.transport, address: listener.address, source };
            let local = match listener.transport {
                SipTransport::Udp => {
                    let socket = Arc::new(UdpSocket::bind(listener.address).await.map_err(bind_err)?);
                    let local = socket.local_addr().map_err(bind_err)?;
                    transports.udp.insert(local, socket.clone());
                    transports.tasks.spawn(receive_datagrams(socket, local, inbound.clone(), transports.stats.clone()));
                    local
                }
                SipTransport::Tcp | SipTransport::Tls => {
                    let tls = match listener.transport {
                        SipTransport::Tls => Some(tls::server(listener)?),
                        _ => None,
                    };
                    let socket = TcpListener::bind(listener.address).await.map_err(bind_err)?;
                    let local = socket.local_addr().map_err(bind_err)?;
                    let streams = stream::StreamListener {
                        transport: listener.transport,
                        local,
                        tls,
                        connections: transports.connections.clone(),
                        inbound: inbound.clone(),
                        stats: transports.stats.clone(),
                    };
                    transports.tasks.spawn(streams.accept_loop(socket));
                    local
                }
            };
            tracing::info!(transport = %listener.transport, address = %local, "SIP listening");
            transports.listening.push((listener.transport, local));
        }
        Ok(transports)
    }

    /// The bound listeners (with the ports the kernel chose for port 0).
    pub fn listening(&self) -> &[(SipTransport, SocketAddr)] {
        &self.listening
    }

    /// Counters.
    pub fn stats(&self) -> &TransportStats {
        &self.stats
    }

    /// Sends `bytes` back the way `peer` came in.
    pub async fn send(&self, peer: &Peer, bytes: Vec<u8>) -> Result<(), TransportError> {
        match (peer.transport, peer.connection) {
            (SipTransport::Udp, _) => {
                let socket = self.udp.get(&peer.local).ok_or(TransportError::NoSocket(peer.local))?;
                socket
                    .send_to(&bytes, peer.remote)
                    .await
                    .map(|_| ())
                    .map_err(|source| TransportError::Send { remote: peer.remote, source })
            }
            (transport, Some(id)) => {
                let closed = || TransportError::ConnectionClosed { transport, remote: peer.remote };
                let writer = self.connections.writer(id).ok_or_else(closed)?;
                writer.send(bytes).await.map_err(|_| closed())
            }
            (transport, None) => Err(TransportError::ConnectionClosed { transport, remote: peer.remote }),
        }
    }

    /// Closes every listener and connection.
    pub async fn shutdown(&mut self) {
        self.tasks.shutdown().await;
    }
}

async fn receive_datagrams(
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    inbound: mpsc::Sender<Inbound>,
    stats: Arc<TransportStats>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, remote) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            // ICMP errors from earlier sends surface here on some kernels.
            Err(e) => {
                tracing::debug!(error = %e, "UDP receive error");
                continue;
            }
        };
        let bytes = &buf[..len];
        if bytes.iter().all(|b| *b == b'\r' || *b == b'\n') {
            continue; // keep-alive
        }
        let peer = Peer { transport: SipTransport::Udp, remote, local, connection: None };
        match inbound.try_send(Inbound { bytes: bytes.to_vec(), peer }) {
            Ok(()) => {
                stats.received.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                stats.dropped_overload.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}
