//! The SIP task: transports in, the SRS in the middle, responses and call
//! events out.
//!
//! One task owns the [`Srs`] (it is not shared), fed by the transports'
//! channel, its own timers and commands from the control socket. Call
//! events go to every [`CallEventSink`] in order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use callguard_config::{Config, SipTransport};
use callguard_numbers::E164;
use callguard_sdp::AcceptedCodec;
use callguard_sip_transport::{Inbound, Peer, Transports};
use callguard_srs::{
    CallEvent, CallEventSink, Entropy, Output, PortPool, Protection, Register, SdpOrder, SessionSummary, Source,
    SourcePolicy, Srs, SrsConfig, SrsStats,
};
use tokio::sync::{mpsc, oneshot};

use crate::{DaemonError, Shared};

/// Messages queued from the transports before datagrams are dropped.
const INBOUND_QUEUE: usize = 4096;

/// What other tasks can ask of the SIP task.
pub(crate) enum SipCommand {
    /// The live sessions.
    Sessions(oneshot::Sender<Vec<SessionSummary>>),
    /// Counters and listeners.
    Stats(oneshot::Sender<SipStats>),
    /// End a call from the appliance's side (media timeout).
    Terminate(String),
    /// End every session with BYE and stop.
    Shutdown(oneshot::Sender<()>),
}

/// SIP counters and listeners for `status`.
#[derive(Debug, Clone)]
pub(crate) struct SipStats {
    pub(crate) listeners: Vec<(SipTransport, SocketAddr)>,
    pub(crate) srs: SrsStats,
    pub(crate) ports: (usize, usize),
    pub(crate) sessions: usize,
}

/// Binds the listeners and starts the SIP task.
pub(crate) async fn start(
    shared: Arc<Shared>,
    sinks: Vec<Arc<dyn CallEventSink>>,
    commands: mpsc::Receiver<SipCommand>,
) -> Result<tokio::task::JoinHandle<()>, DaemonError> {
    let (inbound_tx, inbound) = mpsc::channel(INBOUND_QUEUE);
    let transports = Transports::start(&shared.config.sip.listeners, inbound_tx)
        .await
        .map_err(|e| DaemonError::Sip(e.to_string()))?;
    let srs = Srs::new(srs_config(&shared.config), source_policy(&shared.config), port_pool(&shared.config));
    Ok(tokio::spawn(SipTask { shared, srs, transports, sinks, out: Vec::new() }.run(inbound, commands)))
}

fn srs_config(config: &Config) -> SrsConfig {
    SrsConfig {
        host: config.media.address.to_string(),
        media_address: config.media.address,
        codecs: config
            .media
            .codecs
            .iter()
            .map(|name| match name.to_ascii_lowercase().as_str() {
                "pcmu" => AcceptedCodec::pcmu(),
                "pcma" => AcceptedCodec::pcma(),
                "g722" => AcceptedCodec::g722(),
                _ => AcceptedCodec::opus(),
            })
            .collect(),
        home_country: config.appliance.home_country,
        decline_status: config.sip.decline_status,
        min_session_expires: config.sip.min_session_expires,
        sdp_order: match config.sip.sdp_order {
            callguard_config::SdpOrder::OriginatorFirst => SdpOrder::OriginatorFirst,
            callguard_config::SdpOrder::OriginatorSecond => SdpOrder::OriginatorSecond,
        },
    }
}

fn source_policy(config: &Config) -> SourcePolicy {
    let rate = config.sip.max_new_sessions_per_second;
    SourcePolicy::new(config.sip.allowed_sources.clone(), rate, rate)
}

fn port_pool(config: &Config) -> PortPool {
    let ranges: Vec<(u16, u16)> = config.media.rtp_ports.iter().map(|r| (r.first, r.last)).collect();
    PortPool::new(&ranges)
}

/// The register, read from the store.
struct StoreRegister<'a>(&'a Shared);

impl Register for StoreRegister<'_> {
    fn protection(&self, number: &E164) -> Protection {
        let store = self.0.store.lock().unwrap_or_else(|p| p.into_inner());
        match store.subscriber(number) {
            Ok(Some(s)) if s.opted_in => Protection::OptedIn,
            Ok(Some(_)) => Protection::OptedOut,
            Ok(None) => Protection::Unknown,
            Err(e) => {
                tracing::error!(error = %e, "subscriber lookup failed; declining the session");
                Protection::Unknown
            }
        }
    }
}

/// The operating system's CSPRNG.
struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        if let Err(e) = getrandom::fill(buf) {
            // Without randomness no tag or key is safe; this is not recoverable.
            panic!("the operating system's random number generator failed: {e}");
        }
    }
}

struct SipTask {
    shared: Arc<Shared>,
    srs: Srs<Peer>,
    transports: Transports,
    sinks: Vec<Arc<dyn CallEventSink>>,
    out: Vec<Output<Peer>>,
}

fn source_of(peer: Peer) -> Source<Peer> {
    Source {
        peer,
        remote: peer.remote,
        reliable: peer.transport != SipTransport::Udp,
        transport: match peer.transport {
            SipTransport::Udp => "UDP",
            SipTransport::Tcp => "TCP",
            SipTransport::Tls => "TLS",
        },
        local: peer.local,
    }
}

impl SipTask {
    async fn run(mut self, mut inbound: mpsc::Receiver<Inbound>, mut commands: mpsc::Receiver<SipCommand>) {
        loop {
            let deadline = self.srs.next_deadline().unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                Some(message) = inbound.recv() => {
                    let register = StoreRegister(&self.shared);
                    self.srs.handle(&message.bytes, source_of(message.peer), Instant::now(), &register, &mut OsEntropy, &mut self.out);
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    self.srs.poll(Instant::now(), &mut OsEntropy, &mut self.out);
                }
                command = commands.recv() => match command {
                    Some(SipCommand::Sessions(reply)) => {
                        let _ = reply.send(self.srs.sessions());
                    }
                    Some(SipCommand::Stats(reply)) => {
                        let _ = reply.send(SipStats {
                            listeners: self.transports.listening().to_vec(),
                            srs: self.srs.stats(),
                            ports: self.srs.port_usage(),
                            sessions: self.srs.session_count(),
                        });
                    }
                    Some(SipCommand::Terminate(call_id)) => {
                        self.srs.terminate(&call_id, Instant::now(), &mut OsEntropy, &mut self.out);
                    }
                    Some(SipCommand::Shutdown(done)) => {
                        for call_id in self.srs.sessions().into_iter().map(|s| s.call_id) {
                            self.srs.terminate(&call_id, Instant::now(), &mut OsEntropy, &mut self.out);
                        }
                        self.flush().await;
                        self.transports.shutdown().await;
                        let _ = done.send(());
                        return;
                    }
                    None => return,
                },
            }
            self.flush().await;
        }
    }

    async fn flush(&mut self) {
        for output in std::mem::take(&mut self.out) {
            match output {
                Output::Send { peer, bytes } => {
                    if let Err(e) = self.transports.send(&peer, bytes).await {
                        tracing::debug!(error = %e, "SIP send failed");
                    }
                }
                Output::Event(event) => {
                    log_event(&event);
                    for sink in &self.sinks {
                        sink.on_event(&event);
                    }
                }
            }
        }
    }
}

/// One log line per event: identifiers and roles, no content.
fn log_event(event: &CallEvent) {
    match event {
        CallEvent::Started(call) => {
            let legs: Vec<String> =
                call.streams.iter().map(|s| format!("{:?}:{}:{}", s.role, s.codec, s.local_port)).collect();
            tracing::info!(
                call_id = %call.call_id,
                subscriber = %call.subscriber,
                caller = call.caller.as_ref().map(E164::as_str).unwrap_or("unknown"),
                legs = %legs.join(","),
                inferred = call.legs_inferred,
                "recording session started"
            );
        }
        CallEvent::StreamsChanged { call_id, streams } => {
            tracing::info!(%call_id, streams = streams.len(), "recording session streams changed");
        }
        CallEvent::Ended { call_id, reason } => {
            tracing::info!(%call_id, reason = ?reason, "recording session ended");
        }
    }
}
