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

mod events;
mod policy;
mod ports;
mod siprec;
mod transaction;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use callguard_numbers::{E164, HomeCountry};
use callguard_sdp::{AcceptedCodec, Answer, AnswerPolicy, MediaAllocator, SrtpKeyMaterial, answer_offer, answer_reoffer};
use callguard_sip::{HeaderName, Method, Request, ResponseBuilder, SipMessage};
use callguard_siprec_metadata::{CallDirection, PartyVerdict, RecordingMetadata};
pub use callguard_siprec_metadata::SdpOrder;

pub use events::{CallEvent, CallEventSink, CallStarted, EndReason, LegRole, MediaStream, SignalingFacts};
pub use policy::SourcePolicy;
pub use ports::PortPool;
use siprec::Refusal;
use transaction::{TxKey, Transactions};

/// RFC 3261 timer T1: the round-trip estimate.
pub const T1: Duration = Duration::from_millis(500);
/// RFC 3261 timer T2: the longest retransmission interval.
pub const T2: Duration = Duration::from_secs(4);

const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, INFO";
const ACCEPT: &str = "application/sdp, application/rs-metadata+xml, multipart/mixed";
const SUPPORTED: &str = "siprec, timer";

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

/// A dialog: Call-ID and the SRS's own tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DialogKey {
    call_id: String,
    local_tag: String,
}

struct Session<P> {
    source: Source<P>,
    remote_tag: String,
    /// From of the SRC as received (with its tag): the To of our requests.
    remote_party: String,
    /// To of the INVITE with our tag: the From of our requests.
    local_party: String,
    /// Where in-dialog requests go (the SRC's Contact URI).
    remote_target: String,
    route_set: Vec<String>,
    remote_cseq: u32,
    local_cseq: u32,
    answer: Answer,
    metadata: Option<RecordingMetadata>,
    started: CallStarted,
    started_at: Instant,
    confirmed: bool,
    /// When the session timer runs out without a refresh.
    expires_at: Option<Instant>,
    session_expires: Option<u32>,
}

impl<P: Copy + Eq + std::fmt::Debug> Srs<P> {
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
                    self.reply(&request, &source, Refusal::new(400, "Bad Request", defect.to_string()), entropy, now, out);
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
            return self.reply(&request, &source, Refusal::new(483, "Too Many Hops", "Max-Forwards is 0"), entropy, now, out);
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
                let refusal = Refusal::new(481, "Call/Transaction Does Not Exist", "no dialog for a request without To tag");
                self.reply(&request, &source, refusal, entropy, now, out);
            }
            (m, _) => {
                let known = [Method::REGISTER, Method::SUBSCRIBE, Method::NOTIFY, Method::REFER, Method::MESSAGE, Method::PRACK, Method::PUBLISH];
                let (status, reason) = if known.contains(&m) { (405, "Method Not Allowed") } else { (501, "Not Implemented") };
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
    pub fn terminate(&mut self, call_id: &str, now: Instant, entropy: &mut dyn Entropy, out: &mut Vec<Output<P>>) -> bool {
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

    fn on_cancel(&mut self, request: &Request, key: TxKey, source: &Source<P>, entropy: &mut dyn Entropy, now: Instant, out: &mut Vec<Output<P>>) {
        let response = match self.transactions.invite_to_tag(&TxKey::of_invite_for_cancel(request)) {
            Some(tag) => {
                let tag = if tag.is_empty() { random_token(entropy) } else { tag };
                ResponseBuilder::new(request, 200, "OK", Some(&tag))
            }
            None => ResponseBuilder::new(request, 481, "Call/Transaction Does Not Exist", Some(&random_token(entropy))),
        };
        self.send_final(request, key, response, source, now, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_new_invite(
        &mut self,
        request: &Request,
        key: TxKey,
        source: &Source<P>,
        register: &dyn Register,
        entropy: &mut dyn Entropy,
        now: Instant,
        out: &mut Vec<Output<P>>,
    ) {
        out.push(Output::Send { peer: source.peer, bytes: Self::trying(request) });
        if !self.policy.take_session_token(source.remote.ip(), now) {
            self.stats.rate_limited += 1;
            let response = ResponseBuilder::new(request, 503, "Service Unavailable", Some(&random_token(entropy)))
                .and_then(|b| b.header(HeaderName::RETRY_AFTER, "5"))
                .and_then(|b| warning(b, &self.config.host, "new-session rate of this SBC exceeded"));
            return self.send_final(request, key, response, source, now, out);
        }
        let session_expires = match self.session_timer(request) {
            Ok(se) => se,
            Err(refusal) => {
                let response = ResponseBuilder::new(request, refusal.status, refusal.reason, Some(&random_token(entropy)))
                    .and_then(|b| b.header(HeaderName::MIN_SE, &self.config.min_session_expires.to_string()));
                return self.send_final(request, key, response, source, now, out);
            }
        };
        let offer = match siprec::read_offer(request) {
            Ok(offer) => offer,
            Err(refusal) => return self.reply(request, source, refusal, entropy, now, out),
        };
        let Some(sdp) = offer.sdp else {
            let refusal = Refusal::new(488, "Not Acceptable Here", "the SRS needs an SDP offer in the INVITE");
            return self.reply(request, source, refusal, entropy, now, out);
        };
        let home = self.config.home_country;
        let legs = siprec::map_call(&sdp, offer.metadata.as_ref(), request, self.config.sdp_order, |aor| {
            siprec::aor_number(aor, home).is_some_and(|n| register.protection(&n) == Protection::OptedIn)
        });
        let subscriber = legs.parties.subscriber.as_ref().and_then(|p| p.aor.as_deref()).and_then(|a| siprec::aor_number(a, home));
        let (PartyVerdict::Decided, Some(subscriber)) = (legs.parties.verdict, subscriber) else {
            self.stats.declined += 1;
            let why = match legs.parties.verdict {
                PartyVerdict::SeveralProtected => "more than one party of the call is a protected subscriber",
                _ => "no party of the call is a protected, opted-in subscriber",
            };
            let refusal = Refusal::new(self.config.decline_status, "Declined", why);
            return self.reply(request, source, refusal, entropy, now, out);
        };

        let local_tag = random_token(entropy);
        let policy = policy_for(&self.config, entropy_u64(entropy));
        let mut allocator = Allocator { ports: &mut self.ports, entropy, allocated: Vec::new() };
        let answer = answer_offer(&sdp, &policy, &mut allocator);
        let allocated = allocator.allocated;
        let unused: Vec<u16> = allocated.iter().copied().filter(|p| !answer.streams.iter().any(|s| s.local_port == *p)).collect();
        for port in unused.into_iter().chain(answer.released_ports.iter().copied()) {
            self.ports.release(port);
        }
        if answer.streams.is_empty() {
            let reasons: Vec<String> = answer.rejected.iter().map(|r| format!("stream {}: {:?}", r.index, r.reason)).collect();
            let refusal = Refusal::new(488, "Not Acceptable Here", format!("no stream can be recorded ({})", reasons.join("; ")));
            return self.reply(request, source, refusal, entropy, now, out);
        }

        let headers = request.headers();
        let caller_aor = legs.parties.caller.as_ref().and_then(|p| p.aor.clone());
        let started = CallStarted {
            call_id: headers.call_id().unwrap_or_default().to_owned(),
            subscriber,
            caller: caller_aor.as_deref().and_then(|a| siprec::aor_number(a, home)),
            caller_aor,
            incoming: legs.parties.direction.map(|d| d == CallDirection::Incoming),
            streams: media_streams(&answer, &legs.streams),
            legs_inferred: legs.is_inferred(),
            signaling: siprec::signaling_facts(request, offer.metadata.as_ref()),
        };
        let mut response = ResponseBuilder::new(request, 200, "OK", Some(&local_tag))
            .and_then(|b| b.header(HeaderName::CONTACT, &self.contact(source)))
            .and_then(|b| b.header(HeaderName::ALLOW, ALLOW))
            .and_then(|b| b.header(HeaderName::SUPPORTED, SUPPORTED));
        if request.headers().requires("siprec") {
            response = response.and_then(|b| b.header(HeaderName::REQUIRE, "siprec"));
        }
        if let Some(se) = session_expires {
            response = response
                .and_then(|b| b.header(HeaderName::REQUIRE, "timer"))
                .and_then(|b| b.header(HeaderName::SESSION_EXPIRES, &format!("{se};refresher=uac")));
        }
        let response = response.and_then(|b| b.body("application/sdp", answer.sdp.to_string().into_bytes()));
        let Ok(response) = response.map(ResponseBuilder::build) else {
            for stream in &answer.streams {
                self.ports.release(stream.local_port);
            }
            return;
        };
        let dialog = DialogKey { call_id: started.call_id.clone(), local_tag: local_tag.clone() };
        let session = Session {
            source: *source,
            remote_tag: headers.from().ok().and_then(|f| f.tag().map(str::to_owned)).unwrap_or_default(),
            remote_party: headers.get(&HeaderName::FROM).unwrap_or_default().to_owned(),
            local_party: response.headers().get(&HeaderName::TO).unwrap_or_default().to_owned(),
            remote_target: remote_target(request),
            route_set: headers.values(&HeaderName::RECORD_ROUTE).map(str::to_owned).collect(),
            remote_cseq: headers.cseq().map(|c| c.seq).unwrap_or(0),
            local_cseq: self.next_local_cseq(),
            answer,
            metadata: offer.metadata,
            started: started.clone(),
            started_at: now,
            confirmed: false,
            expires_at: session_expires.map(|se| now + Duration::from_secs(u64::from(se))),
            session_expires,
        };
        self.transactions.insert_final(key, source, response.to_bytes(), true, Some((dialog.call_id.clone(), local_tag)), now);
        out.push(Output::Send { peer: source.peer, bytes: response.to_bytes() });
        self.sessions.insert(dialog, session);
        self.stats.sessions_started += 1;
        out.push(Output::Event(CallEvent::Started(Box::new(started))));
    }

    #[allow(clippy::too_many_arguments)]
    fn on_in_dialog(
        &mut self,
        request: &Request,
        key: TxKey,
        local_tag: &str,
        source: &Source<P>,
        entropy: &mut dyn Entropy,
        now: Instant,
        out: &mut Vec<Output<P>>,
    ) {
        let headers = request.headers();
        let dialog = DialogKey { call_id: headers.call_id().unwrap_or_default().to_owned(), local_tag: local_tag.to_owned() };
        let from_tag = headers.from().ok().and_then(|f| f.tag().map(str::to_owned)).unwrap_or_default();
        let cseq = headers.cseq().map(|c| c.seq).unwrap_or(0);
        let Some(session) = self.sessions.get_mut(&dialog).filter(|s| s.remote_tag == from_tag) else {
            let refusal = Refusal::new(481, "Call/Transaction Does Not Exist", "no such recording session");
            return self.reply(request, source, refusal, entropy, now, out);
        };
        if cseq <= session.remote_cseq {
            let refusal = Refusal::new(500, "Server Internal Error", format!("CSeq {cseq} is not above {}", session.remote_cseq));
            return self.reply(request, source, refusal, entropy, now, out);
        }
        session.remote_cseq = cseq;
        let method = request.method().clone();
        if method == Method::BYE {
            let response = ResponseBuilder::new(request, 200, "OK", None);
            self.send_final(request, key, response, source, now, out);
            return self.end_session(&dialog, EndReason::Bye, false, now, entropy, out);
        }
        if method == Method::INFO {
            let response = ResponseBuilder::new(request, 200, "OK", None);
            return self.send_final(request, key, response, source, now, out);
        }
        // re-INVITE or UPDATE: a refresh, possibly with a new offer and metadata.
        let session_expires = match self.session_timer(request) {
            Ok(se) => se,
            Err(refusal) => {
                let response = ResponseBuilder::new(request, refusal.status, refusal.reason, None)
                    .and_then(|b| b.header(HeaderName::MIN_SE, &self.config.min_session_expires.to_string()));
                return self.send_final(request, key, response, source, now, out);
            }
        };
        let offer = match siprec::read_offer(request) {
            Ok(offer) => offer,
            Err(refusal) => return self.reply(request, source, refusal, entropy, now, out),
        };
        let session = self.sessions.get_mut(&dialog).expect("checked above");
        if let Some(update) = offer.metadata {
            match &mut session.metadata {
                Some(metadata) => metadata.apply_update(update),
                none => *none = Some(update),
            }
        }
        let mut changed = false;
        if let Some(sdp) = offer.sdp {
            let mut policy = policy_for(&self.config, session.answer.sdp.origin.session_id);
            policy.session_version = session.answer.sdp.origin.session_version;
            let mut allocator = Allocator { ports: &mut self.ports, entropy, allocated: Vec::new() };
            let answer = answer_reoffer(&session.answer, &sdp, &policy, &mut allocator);
            let allocated = allocator.allocated;
            for port in allocated.iter().copied().filter(|p| !answer.streams.iter().any(|s| s.local_port == *p)) {
                self.ports.release(port);
            }
            for port in &answer.released_ports {
                self.ports.release(*port);
            }
            let home = self.config.home_country;
            let subscriber = session.started.subscriber.clone();
            let legs = siprec::map_call(&sdp, session.metadata.as_ref(), request, self.config.sdp_order, |aor| {
                siprec::aor_number(aor, home).as_ref() == Some(&subscriber)
            });
            let streams = media_streams(&answer, &legs.streams);
            changed = answer.sdp != session.answer.sdp || !same_streams(&streams, &session.started.streams);
            session.started.streams = streams;
            session.answer = answer;
        }
        session.session_expires = session_expires.or(session.session_expires);
        session.expires_at = session.session_expires.map(|se| now + Duration::from_secs(u64::from(se)));
        let mut response = ResponseBuilder::new(request, 200, "OK", None)
            .and_then(|b| b.header(HeaderName::CONTACT, &contact_for(&self.config, source)))
            .and_then(|b| b.header(HeaderName::ALLOW, ALLOW))
            .and_then(|b| b.header(HeaderName::SUPPORTED, SUPPORTED));
        if let Some(se) = session.session_expires.filter(|_| session_expires.is_some()) {
            response = response
                .and_then(|b| b.header(HeaderName::REQUIRE, "timer"))
                .and_then(|b| b.header(HeaderName::SESSION_EXPIRES, &format!("{se};refresher=uac")));
        }
        if !request.body().is_empty() || method == Method::INVITE {
            // An INVITE without an offer gets the current SDP as the offer in the 200.
            response = response.and_then(|b| b.body("application/sdp", session.answer.sdp.to_string().into_bytes()));
        }
        let streams = session.started.streams.clone();
        let is_invite = method == Method::INVITE;
        if let Ok(response) = response.map(ResponseBuilder::build) {
            let bytes = response.to_bytes();
            self.transactions.insert_final(key, source, bytes.clone(), is_invite, is_invite.then(|| (dialog.call_id.clone(), dialog.local_tag.clone())), now);
            out.push(Output::Send { peer: source.peer, bytes });
        }
        if changed {
            out.push(Output::Event(CallEvent::StreamsChanged { call_id: dialog.call_id.clone(), streams }));
        }
    }

    /// Removes a session, frees its ports, optionally sends BYE, and emits `Ended`.
    fn end_session(&mut self, key: &DialogKey, reason: EndReason, send_bye: bool, now: Instant, entropy: &mut dyn Entropy, out: &mut Vec<Output<P>>) {
        let Some(mut session) = self.sessions.remove(key) else { return };
        for stream in &session.answer.streams {
            self.ports.release(stream.local_port);
        }
        if send_bye {
            session.local_cseq += 1;
            let branch = format!("z9hG4bK{}", random_token(entropy));
            let bye = self.bye(key, &session, &branch);
            self.transactions.insert_client(branch, session.source.peer, session.source.reliable, bye.clone(), now);
            out.push(Output::Send { peer: session.source.peer, bytes: bye });
        }
        out.push(Output::Event(CallEvent::Ended { call_id: key.call_id.clone(), reason }));
    }

    fn bye(&self, key: &DialogKey, session: &Session<P>, branch: &str) -> Vec<u8> {
        let source = &session.source;
        let mut text = String::new();
        let _ = write!(text, "BYE {} SIP/2.0\r\n", session.remote_target);
        let _ = write!(text, "Via: SIP/2.0/{} {};branch={branch}\r\n", source.transport, sent_by(source.local));
        let _ = write!(text, "Max-Forwards: 70\r\n");
        for route in &session.route_set {
            let _ = write!(text, "Route: {route}\r\n");
        }
        let _ = write!(text, "From: {}\r\nTo: {}\r\n", session.local_party, session.remote_party);
        let _ = write!(text, "Call-ID: {}\r\nCSeq: {} BYE\r\nContent-Length: 0\r\n\r\n", key.call_id, session.local_cseq);
        text.into_bytes()
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
    fn reply(&mut self, request: &Request, source: &Source<P>, refusal: Refusal, entropy: &mut dyn Entropy, now: Instant, out: &mut Vec<Output<P>>) {
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

fn policy_for(config: &SrsConfig, session_id: u64) -> AnswerPolicy {
    let mut policy = AnswerPolicy::new("callguard", session_id, config.media_address);
    policy.codecs = config.codecs.clone();
    policy
}

/// The SRS's Contact: the address the request arrived on, or the configured
/// host when the listener is bound to a wildcard address.
fn contact_for<P>(config: &SrsConfig, source: &Source<P>) -> String {
    let transport = source.transport.to_ascii_lowercase();
    let scheme = if transport == "tls" { "sips" } else { "sip" };
    let host = if source.local.ip().is_unspecified() {
        config.host.parse::<IpAddr>().map_or_else(|_| config.host.clone(), |ip| sent_by(SocketAddr::new(ip, 0)))
    } else {
        sent_by(SocketAddr::new(source.local.ip(), 0))
    };
    let host = host.strip_suffix(":0").unwrap_or(&host);
    let param = if transport == "udp" || scheme == "sips" { String::new() } else { format!(";transport={transport}") };
    format!("<{scheme}:srs@{host}:{}{param}>;+sip.srs", source.local.port())
}

fn sent_by(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => v4.to_string(),
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
    }
}

fn warning(builder: ResponseBuilder, host: &str, text: &str) -> Result<ResponseBuilder, callguard_sip::ParseError> {
    let clean: String = text.chars().map(|c| if c == '"' || c == '\\' || c.is_control() { '\'' } else { c }).collect();
    builder.header(HeaderName::WARNING, &format!("399 {host} \"{clean}\""))
}

/// Where requests in the dialog go: the Contact of the INVITE, else the From URI.
fn remote_target(request: &Request) -> String {
    let headers = request.headers();
    let from_contact = headers.get(&HeaderName::CONTACT).and_then(uri_of);
    from_contact.or_else(|| headers.get(&HeaderName::FROM).and_then(uri_of)).unwrap_or_else(|| request.uri().to_string())
}

fn uri_of(value: &str) -> Option<String> {
    let start = value.find('<')?;
    let end = value[start..].find('>')? + start;
    Some(value[start + 1..end].to_owned())
}

fn random_token(entropy: &mut dyn Entropy) -> String {
    let mut bytes = [0u8; 8];
    entropy.fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn entropy_u64(entropy: &mut dyn Entropy) -> u64 {
    let mut bytes = [0u8; 8];
    entropy.fill(&mut bytes);
    u64::from_be_bytes(bytes) >> 1
}

/// Ports from the pool and SRTP keys from the entropy source, for the answer.
struct Allocator<'a> {
    ports: &'a mut PortPool,
    entropy: &'a mut dyn Entropy,
    allocated: Vec<u16>,
}

impl MediaAllocator for Allocator<'_> {
    fn allocate_port(&mut self, _index: usize, _rtcp_mux: bool) -> Option<u16> {
        let port = self.ports.allocate()?;
        self.allocated.push(port);
        Some(port)
    }

    fn srtp_key(&mut self, _index: usize) -> Option<SrtpKeyMaterial> {
        let mut bytes = [0u8; SrtpKeyMaterial::LEN];
        self.entropy.fill(&mut bytes);
        Some(SrtpKeyMaterial::new(bytes))
    }
}

fn media_streams(answer: &Answer, legs: &[callguard_siprec_metadata::StreamLeg]) -> Vec<MediaStream> {
    answer
        .streams
        .iter()
        .map(|s| MediaStream {
            index: s.index,
            role: legs.iter().find(|l| l.index == s.index).map_or(LegRole::Unknown, |l| l.role),
            label: s.label.clone(),
            local_port: s.local_port,
            rtcp_mux: s.rtcp_mux,
            remote: s.remote_rtp.address.ip().map(|ip| SocketAddr::new(ip, s.remote_rtp.port)),
            codec: s.codec.name.clone(),
            payload_type: s.codec.payload_type,
            clock_rate: s.codec.clock_rate,
            dtmf_payload_type: s.telephone_event,
            active: s.direction.receives(),
            srtp: s.srtp.clone(),
        })
        .collect()
}

fn same_streams(a: &[MediaStream], b: &[MediaStream]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            (x.index, x.role, x.local_port, &x.codec, x.payload_type, x.active, x.remote)
                == (y.index, y.role, y.local_port, &y.codec, y.payload_type, y.active, y.remote)
        })
}
