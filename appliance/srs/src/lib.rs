//! The SIPREC Session Recording Server (RFC 7866), sans I/O.
//!
//! ```text
//!  bytes + source + now ──> Srs::handle ──> Output::Send (responses, BYEs)
//!                  now ──> Srs::poll   ──> Output::Event (CallStarted, …)
//! ```
//!
//! The caller (the daemon) owns the sockets and the clock: it feeds every
//! received message to [`Srs::handle`], calls [`Srs::poll`] at
//! [`Srs::next_deadline`], and carries out the [`Output`]s. The peer token
//! `P` is whatever the transport needs to send back the same way (socket
//! and connection); this crate only stores and returns it.
//!
//! What it implements: the RFC 3261 server transaction layer (retransmitted
//! requests answered from the cached response, final INVITE responses
//! retransmitted over unreliable transports until ACK with timers G/H,
//! 64·T1 absorption of late retransmissions), dialogs for recording
//! sessions (re-INVITE, UPDATE, BYE, INFO), CANCEL, OPTIONS keepalives,
//! RFC 4028 session timers (the SRC refreshes; the SRS ends a session that
//! is not refreshed), policy (allowed SBC networks, per-source rate,
//! protected subscriber in the register) and the SIPREC offer/answer with
//! leg mapping. Malformed requests get 400 with a Warning naming the defect
//! when they can be answered, and are dropped when they cannot.
//!
//! Limits: the SRS answers INVITEs at once, so a CANCEL always finds the
//! INVITE answered and only gets its own 200 (RFC 3261 section 9.2: the SBC
//! then ends the session with BYE). Requests the SRS sends (BYE) go back to
//! the address the session came from, which is where SBCs expect them.

mod answer;
mod dialog;
mod events;
mod headers;
mod invite;
mod policy;
mod ports;
mod siprec;
mod transaction;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use callguard_numbers::{E164, HomeCountry};
use callguard_sdp::AcceptedCodec;
use callguard_sip::{HeaderName, Method, Request, ResponseBuilder, SipMessage};
pub use callguard_siprec_metadata::SdpOrder;

use dialog::{DialogKey, Session};
pub use events::{CallEvent, CallEventSink, CallStarted, EndReason, LegRole, MediaStream, SignalingFacts};
use headers::{contact_for, random_token, warning};
pub use policy::SourcePolicy;
pub use ports::PortPool;
use siprec::Refusal;
use transaction::{Transactions, TxKey};

/// RFC 3261 timer T1: the round-trip estimate.
pub const T1: Duration = Duration::from_millis(500);
/// RFC 3261 timer T2: the longest retransmission interval.
pub const T2: Duration = Duration::from_secs(4);

pub(crate) const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO";
const ACCEPT: &str = "application/sdp, application/rs-metadata+xml, multipart/mixed";
pub(crate) const SUPPORTED: &str = "siprec, timer";

/// How the SRS behaves; built from the appliance configuration.
#[derive(Debug, Clone)]
pub struct SrsConfig {
    /// Host (address) the SRS names in its Contact, Via and Warning headers.
    pub host: String,
    /// Address for the SDP answer's `o=` and `c=` lines.
    pub media_address: IpAddr,
    /// Codecs recorded, in no particular order (the offer's order decides).
    pub codecs: Vec<AcceptedCodec>,
    /// Country for national-format numbers.
    pub home_country: HomeCountry,
    /// Status sent when the subscriber is not protected (403 by default).
    pub decline_status: u16,
    /// Smallest Session-Expires accepted (RFC 4028 Min-SE).
    pub min_session_expires: u32,
    /// The SDP-order convention of the SBCs for calls without metadata.
    pub sdp_order: SdpOrder,
}

/// How the subscriber register answers for a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Registered and opted in: calls are analysed.
    OptedIn,
    /// Registered, but not (or no longer) opted in.
    OptedOut,
    /// Not in the register.
    Unknown,
}

/// The subscriber register, as the SRS needs it.
pub trait Register {
    /// Whether `number` is protected.
    fn protection(&self, number: &E164) -> Protection;
}

/// A source of randomness for tags, branches and SRTP keys (the daemon uses
/// the operating system's CSPRNG).
pub trait Entropy {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// Where a message came from, and the token to answer it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source<P> {
    /// The transport's token for sending back.
    pub peer: P,
    /// The sender's address as seen on the wire.
    pub remote: SocketAddr,
    /// `false` for UDP: the SRS then retransmits what it must.
    pub reliable: bool,
    /// Transport name for Via and Contact (`UDP`, `TCP`, `TLS`).
    pub transport: &'static str,
    /// The local address the message arrived on.
    pub local: SocketAddr,
}

/// What the caller must do.
#[derive(Debug)]
pub enum Output<P> {
    /// Send these bytes to this peer.
    Send {
        /// Where.
        peer: P,
        /// The message.
        bytes: Vec<u8>,
    },
    /// Tell the rest of the appliance.
    Event(CallEvent),
}

/// Counters for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SrsStats {
    /// Messages handed to the SRS.
    pub received: u64,
    /// Requests answered 400, or dropped because they could not be answered.
    pub malformed: u64,
    /// Requests refused because their source is not a configured SBC.
    pub forbidden_sources: u64,
    /// New sessions refused because their source exceeded its rate.
    pub rate_limited: u64,
    /// Sessions declined because no protected subscriber is in the call.
    pub declined: u64,
    /// Sessions accepted.
    pub sessions_started: u64,
    /// Retransmitted requests answered from the transaction layer.
    pub retransmissions: u64,
}

/// A live recording session, for `callguard calls list`.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    /// The call.
    pub call_id: String,
    /// The protected subscriber.
    pub subscriber: E164,
    /// The remote caller, when known.
    pub caller: Option<E164>,
    /// The streams.
    pub streams: Vec<MediaStream>,
    /// When the session started.
    pub started: Instant,
}

/// The Session Recording Server.
pub struct Srs<P> {
    config: SrsConfig,
    policy: SourcePolicy,
    ports: PortPool,
    transactions: Transactions<P>,
    sessions: HashMap<DialogKey, Session<P>>,
    stats: SrsStats,
    local_cseq_seed: u32,
}

impl<P: Copy> Srs<P> {
    /// An SRS with no sessions.
    pub fn new(config: SrsConfig, policy: SourcePolicy, ports: PortPool) -> Srs<P> {
        Srs {
            config,
            policy,
            ports,
            transactions: Transactions::default(),
            sessions: HashMap::new(),
            stats: SrsStats::default(),
            local_cseq_seed: 1,
        }
    }

    /// Counters.
    pub fn stats(&self) -> SrsStats {
        self.stats
    }

    /// RTP ports in use and available.
    pub fn port_usage(&self) -> (usize, usize) {
        (self.ports.in_use(), self.ports.capacity())
    }

    /// How many sessions are live.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// The live sessions.
    pub fn sessions(&self) -> Vec<SessionSummary> {
        self.sessions
            .iter()
            .map(|(key, s)| SessionSummary {
                call_id: key.call_id.clone(),
                subscriber: s.started.subscriber.clone(),
                caller: s.started.caller.clone(),
                streams: s.started.streams.clone(),
                started: s.started_at,
            })
            .collect()
    }

    /// When [`Srs::poll`] must next be called.
    pub fn next_deadline(&self) -> Option<Instant> {
        let sessions = self.sessions.values().filter_map(|s| s.expires_at);
        self.transactions.next_deadline().into_iter().chain(sessions).min()
    }

    /// Handles one received message.
    pub fn handle(
        &mut self,
        bytes: &[u8],
        source: Source<P>,
        now: Instant,
        register: &dyn Register,
        entropy: &mut dyn Entropy,
        out: &mut Vec<Output<P>>,
    ) {
        self.stats.received += 1;
        let message = match SipMessage::parse(bytes) {
            Ok(message) => message,
            Err(defect) => {
                self.stats.malformed += 1;
                if let Some(request) = transaction::head_only(bytes) {
                    self.reply(
                        &request,
                        &source,
                        Refusal::new(400, "Bad Request", defect.to_string()),
                        entropy,
                        now,
                        out,
                    );
                }
                return;
            }
        };
        let mut request = match message {
            SipMessage::Response(response) => return self.transactions.on_response(&response),
            SipMessage::Request(request) => request,
        };
        if let Err(defect) = request.validate() {
            self.stats.malformed += 1;
            if *request.method() != Method::ACK {
                self.reply(&request, &source, Refusal::new(400, "Bad Request", defect.to_string()), entropy, now, out);
            }
            return;
        }
        let _ = request.stamp_top_via(source.remote);
        if *request.method() == Method::ACK {
            return self.on_ack(&request);
        }
        let key = TxKey::of(&request);
        if let Some(bytes) = self.transactions.cached_response(&key) {
            self.stats.retransmissions += 1;
            out.push(Output::Send { peer: source.peer, bytes });
            return;
        }
        if !self.policy.is_allowed(source.remote.ip()) {
            self.stats.forbidden_sources += 1;
            let refusal = Refusal::new(403, "Forbidden", format!("{} is not a configured SBC", source.remote.ip()));
            return self.reply(&request, &source, refusal, entropy, now, out);
        }
        if request.headers().max_forwards().ok().flatten() == Some(0) && *request.method() != Method::OPTIONS {
            return self.reply(
                &request,
                &source,
                Refusal::new(483, "Too Many Hops", "Max-Forwards is 0"),
                entropy,
                now,
                out,
            );
        }
        let unsupported: Vec<String> = request
            .headers()
            .option_tags(&HeaderName::REQUIRE)
            .unwrap_or_default()
            .into_iter()
            .filter(|tag| !["siprec", "timer"].iter().any(|s| s.eq_ignore_ascii_case(tag)))
            .map(str::to_owned)
            .collect();
        if !unsupported.is_empty() && *request.method() != Method::CANCEL {
            let response = ResponseBuilder::new(&request, 420, "Bad Extension", Some(&random_token(entropy)))
                .and_then(|b| b.header(HeaderName::UNSUPPORTED, &unsupported.join(", ")));
            return self.send_final(&request, key, response, &source, now, out);
        }
        let in_dialog = request.headers().to().ok().and_then(|to| to.tag().map(str::to_owned));
        let method = request.method().clone();
        match (method, in_dialog) {
            (m, _) if m == Method::OPTIONS => {
                let response = ResponseBuilder::new(&request, 200, "OK", Some(&random_token(entropy)))
                    .and_then(|b| b.header(HeaderName::ALLOW, ALLOW))
                    .and_then(|b| b.header(HeaderName::ACCEPT, ACCEPT))
                    .and_then(|b| b.header(HeaderName::SUPPORTED, SUPPORTED));
                self.send_final(&request, key, response, &source, now, out);
            }
            (m, _) if m == Method::CANCEL => self.on_cancel(&request, key, &source, entropy, now, out),
            (m, None) if m == Method::INVITE => self.on_new_invite(&request, key, &source, register, entropy, now, out),
            (m, Some(tag)) if [Method::INVITE, Method::UPDATE, Method::BYE, Method::INFO].contains(&m) => {
                self.on_in_dialog(&request, key, &tag, &source, entropy, now, out)
            }
            (m, None) if [Method::BYE, Method::UPDATE, Method::INFO].contains(&m) => {
                let refusal =
                    Refusal::new(481, "Call/Transaction Does Not Exist", "no dialog for a request without To tag");
                self.reply(&request, &source, refusal, entropy, now, out);
            }
            (m, _) => {
                let known = [
                    Method::REGISTER,
                    Method::SUBSCRIBE,
                    Method::NOTIFY,
                    Method::REFER,
                    Method::MESSAGE,
                    Method::PRACK,
                    Method::PUBLISH,
                ];
                let (status, reason) =
                    if known.contains(&m) { (405, "Method Not Allowed") } else { (501, "Not Implemented") };
                let response = ResponseBuilder::new(&request, status, reason, Some(&random_token(entropy)))
                    .and_then(|b| b.header(HeaderName::ALLOW, ALLOW));
                self.send_final(&request, key, response, &source, now, out);
            }
        }
    }

    /// Runs the timers due at `now`: retransmissions, ACK and session-timer
    /// expiry, transaction clean-up.
    pub fn poll(&mut self, now: Instant, entropy: &mut dyn Entropy, out: &mut Vec<Output<P>>) {
        for dialog in self.transactions.poll(now, out) {
            if let Some(key) = self.dialog_key(&dialog) {
                self.end_session(&key, EndReason::NoAck, true, now, entropy, out);
            }
        }
        let expired: Vec<DialogKey> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.expires_at.is_some_and(|at| at <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.end_session(&key, EndReason::SessionExpired, true, now, entropy, out);
        }
    }

    /// Ends a session from the appliance's side (media timeout, shutdown):
    /// sends BYE to the SRC and emits [`CallEvent::Ended`]. `false` if no
    /// such call is live.
    pub fn terminate(
        &mut self,
        call_id: &str,
        now: Instant,
        entropy: &mut dyn Entropy,
        out: &mut Vec<Output<P>>,
    ) -> bool {
        let keys: Vec<DialogKey> = self.sessions.keys().filter(|k| k.call_id == call_id).cloned().collect();
        for key in &keys {
            self.end_session(key, EndReason::Terminated, true, now, entropy, out);
        }
        !keys.is_empty()
    }

    fn dialog_key(&self, (call_id, local_tag): &(String, String)) -> Option<DialogKey> {
        let key = DialogKey { call_id: call_id.clone(), local_tag: local_tag.clone() };
        self.sessions.contains_key(&key).then_some(key)
    }

    fn on_ack(&mut self, request: &Request) {
        let headers = request.headers();
        let (Ok(call_id), Ok(to), Ok(cseq)) = (headers.call_id(), headers.to(), headers.cseq()) else { return };
        // An ACK for a non-2xx final response belongs to the INVITE transaction.
        self.transactions.on_ack(&TxKey::of_invite_for_ack(request), call_id, to.tag(), cseq.seq);
        if let Some(tag) = to.tag() {
            let key = DialogKey { call_id: call_id.to_owned(), local_tag: tag.to_owned() };
            if let Some(session) = self.sessions.get_mut(&key) {
                session.confirmed = true;
            }
        }
    }

    fn on_cancel(
        &mut self,
        request: &Request,
        key: TxKey,
        source: &Source<P>,
        entropy: &mut dyn Entropy,
        now: Instant,
        out: &mut Vec<Output<P>>,
    ) {
        let response = match self.transactions.invite_to_tag(&TxKey::of_invite_for_cancel(request)) {
            Some(tag) => {
                let tag = if tag.is_empty() { random_token(entropy) } else { tag };
                ResponseBuilder::new(request, 200, "OK", Some(&tag))
            }
            None => ResponseBuilder::new(request, 481, "Call/Transaction Does Not Exist", Some(&random_token(entropy))),
        };
        self.send_final(request, key, response, source, now, out);
    }

    fn next_local_cseq(&mut self) -> u32 {
        self.local_cseq_seed = self.local_cseq_seed.wrapping_add(1);
        self.local_cseq_seed
    }

    /// The Session-Expires to use, or 422 when the SRC asks for less than Min-SE.
    fn session_timer(&self, request: &Request) -> Result<Option<u32>, Refusal> {
        match request.headers().session_expires() {
            Ok(Some(se)) if se.delta() < self.config.min_session_expires => Err(Refusal::new(
                422,
                "Session Interval Too Small",
                format!("Session-Expires {} is below Min-SE {}", se.delta(), self.config.min_session_expires),
            )),
            Ok(Some(se)) => Ok(Some(se.delta())),
            _ => Ok(None),
        }
    }

    fn contact(&self, source: &Source<P>) -> String {
        contact_for(&self.config, source)
    }

    fn trying(request: &Request) -> Vec<u8> {
        ResponseBuilder::new(request, 100, "Trying", None).map(|b| b.build().to_bytes()).unwrap_or_default()
    }

    /// Sends a refusal (with Warning) as the final response.
    fn reply(
        &mut self,
        request: &Request,
        source: &Source<P>,
        refusal: Refusal,
        entropy: &mut dyn Entropy,
        now: Instant,
        out: &mut Vec<Output<P>>,
    ) {
        let has_tag = request.headers().to().ok().is_some_and(|t| t.tag().is_some());
        let tag = (!has_tag).then(|| random_token(entropy));
        let response = ResponseBuilder::new(request, refusal.status, refusal.reason, tag.as_deref())
            .and_then(|b| warning(b, &self.config.host, &refusal.warning));
        let key = TxKey::of(request);
        self.send_final(request, key, response, source, now, out);
    }

    fn send_final(
        &mut self,
        request: &Request,
        key: TxKey,
        response: Result<ResponseBuilder, callguard_sip::ParseError>,
        source: &Source<P>,
        now: Instant,
        out: &mut Vec<Output<P>>,
    ) {
        // A response that cannot be built (e.g. no usable Via) cannot be sent: drop.
        let Ok(response) = response else { return };
        let bytes = response.build().to_bytes();
        let is_invite = *request.method() == Method::INVITE;
        self.transactions.insert_final(key, source, bytes.clone(), is_invite, None, now);
        out.push(Output::Send { peer: source.peer, bytes });
    }
}
