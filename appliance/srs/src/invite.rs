//! A new recording session: the first INVITE, from policy to the 200 OK.

use std::time::{Duration, Instant};

use callguard_sdp::answer_offer;
use callguard_sip::{HeaderName, Request, ResponseBuilder};
use callguard_siprec_metadata::{CallDirection, PartyVerdict};

use crate::answer::{Allocator, media_streams, policy_for};
use crate::dialog::{DialogKey, Session};
use crate::headers::{entropy_u64, random_token, remote_target, warning};
use crate::siprec::{self, Refusal};
use crate::transaction::TxKey;
use crate::{ALLOW, CallEvent, CallStarted, Entropy, Output, Protection, Register, SUPPORTED, Source, Srs};

impl<P: Copy> Srs<P> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_new_invite(
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
                let response =
                    ResponseBuilder::new(request, refusal.status, refusal.reason, Some(&random_token(entropy)))
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
        let subscriber =
            legs.parties.subscriber.as_ref().and_then(|p| p.aor.as_deref()).and_then(|a| siprec::aor_number(a, home));
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
        let unused: Vec<u16> =
            allocated.iter().copied().filter(|p| !answer.streams.iter().any(|s| s.local_port == *p)).collect();
        for port in unused.into_iter().chain(answer.released_ports.iter().copied()) {
            self.ports.release(port);
        }
        if answer.streams.is_empty() {
            let reasons: Vec<String> =
                answer.rejected.iter().map(|r| format!("stream {}: {:?}", r.index, r.reason)).collect();
            let refusal =
                Refusal::new(488, "Not Acceptable Here", format!("no stream can be recorded ({})", reasons.join("; ")));
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
        self.transactions.insert_final(
            key,
            source,
            response.to_bytes(),
            true,
            Some((dialog.call_id.clone(), local_tag)),
            now,
        );
        out.push(Output::Send { peer: source.peer, bytes: response.to_bytes() });
        self.sessions.insert(dialog, session);
        self.stats.sessions_started += 1;
        out.push(Output::Event(CallEvent::Started(Box::new(started))));
    }
}
