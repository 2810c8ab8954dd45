//! Recording sessions once established: in-dialog requests (re-INVITE,
//! UPDATE, BYE, INFO), and ending a session with or without a BYE.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use callguard_sdp::{Answer, answer_reoffer};
use callguard_sip::{HeaderName, Method, Request, ResponseBuilder};
use callguard_siprec_metadata::RecordingMetadata;

use crate::answer::{Allocator, media_streams, policy_for, same_streams};
use crate::headers::{contact_for, random_token, sent_by};
use crate::siprec::{self, Refusal};
use crate::transaction::TxKey;
use crate::{ALLOW, CallEvent, CallStarted, EndReason, Entropy, Output, SUPPORTED, Source, Srs};

/// A dialog: Call-ID and the SRS's own tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DialogKey {
    pub(crate) call_id: String,
    pub(crate) local_tag: String,
}

pub(crate) struct Session<P> {
    pub(crate) source: Source<P>,
    pub(crate) remote_tag: String,
    /// From of the SRC as received (with its tag): the To of our requests.
    pub(crate) remote_party: String,
    /// To of the INVITE with our tag: the From of our requests.
    pub(crate) local_party: String,
    /// Where in-dialog requests go (the SRC's Contact URI).
    pub(crate) remote_target: String,
    pub(crate) route_set: Vec<String>,
    pub(crate) remote_cseq: u32,
    pub(crate) local_cseq: u32,
    pub(crate) answer: Answer,
    pub(crate) metadata: Option<RecordingMetadata>,
    pub(crate) started: CallStarted,
    pub(crate) started_at: Instant,
    pub(crate) confirmed: bool,
    /// When the session timer runs out without a refresh.
    pub(crate) expires_at: Option<Instant>,
    pub(crate) session_expires: Option<u32>,
}

impl<P: Copy> Srs<P> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_in_dialog(
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
        let dialog =
            DialogKey { call_id: headers.call_id().unwrap_or_default().to_owned(), local_tag: local_tag.to_owned() };
        let from_tag = headers.from().ok().and_then(|f| f.tag().map(str::to_owned)).unwrap_or_default();
        let cseq = headers.cseq().map(|c| c.seq).unwrap_or(0);
        let Some(session) = self.sessions.get_mut(&dialog).filter(|s| s.remote_tag == from_tag) else {
            let refusal = Refusal::new(481, "Call/Transaction Does Not Exist", "no such recording session");
            return self.reply(request, source, refusal, entropy, now, out);
        };
        if cseq <= session.remote_cseq {
            let refusal =
                Refusal::new(500, "Server Internal Error", format!("CSeq {cseq} is not above {}", session.remote_cseq));
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
            self.transactions.insert_final(
                key,
                source,
                bytes.clone(),
                is_invite,
                is_invite.then(|| (dialog.call_id.clone(), dialog.local_tag.clone())),
                now,
            );
            out.push(Output::Send { peer: source.peer, bytes });
        }
        if changed {
            out.push(Output::Event(CallEvent::StreamsChanged { call_id: dialog.call_id.clone(), streams }));
        }
    }

    /// Removes a session, frees its ports, optionally sends BYE, and emits `Ended`.
    pub(crate) fn end_session(
        &mut self,
        key: &DialogKey,
        reason: EndReason,
        send_bye: bool,
        now: Instant,
        entropy: &mut dyn Entropy,
        out: &mut Vec<Output<P>>,
    ) {
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
        let _ =
            write!(text, "Call-ID: {}\r\nCSeq: {} BYE\r\nContent-Length: 0\r\n\r\n", key.call_id, session.local_cseq);
        text.into_bytes()
    }
}
