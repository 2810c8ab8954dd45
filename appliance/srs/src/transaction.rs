//! The RFC 3261 transaction layer, server side, plus the client side of
//! the BYEs the SRS sends.
//!
//! Server transactions keep their final response for 64·T1, so a
//! retransmitted request gets the same answer again instead of being
//! processed twice. Final responses to INVITE are retransmitted over
//! unreliable transports (timer G: T1 doubling to T2) until the ACK
//! arrives or 64·T1 passes (timer H); a 2xx that is never acknowledged ends
//! its session.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use callguard_sip::{HeaderName, Request, Response, SipMessage};

use crate::{Output, Source, T1, T2};

/// How long a transaction absorbs retransmissions: 64·T1.
const LINGER: Duration = Duration::from_secs(32);
/// RFC 3261's magic cookie: branches that start with it identify transactions.
const MAGIC_COOKIE: &str = "z9hG4bK";

/// Identifies a server transaction (RFC 3261 section 17.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TxKey(String);

impl TxKey {
    /// The transaction a request belongs to.
    pub(crate) fn of(request: &Request) -> TxKey {
        Self::with_method(request, request.method().as_str())
    }

    /// The INVITE transaction a CANCEL refers to (same branch).
    pub(crate) fn of_invite_for_cancel(request: &Request) -> TxKey {
        Self::with_method(request, "INVITE")
    }

    /// The INVITE transaction an ACK for a non-2xx response completes.
    pub(crate) fn of_invite_for_ack(request: &Request) -> TxKey {
        Self::with_method(request, "INVITE")
    }

    fn with_method(request: &Request, method: &str) -> TxKey {
        let headers = request.headers();
        let via = headers.top_via().ok();
        match via.as_ref().and_then(|v| v.branch().filter(|b| b.starts_with(MAGIC_COOKIE)).map(|b| (v, b))) {
            Some((via, branch)) => TxKey(format!("{branch}|{}:{:?}|{method}", via.host(), via.port())),
            // RFC 2543 peers: match on the request's identifying headers.
            None => TxKey(format!(
                "{}|{}|{}|{}|{method}",
                headers.call_id().unwrap_or_default(),
                headers.cseq().map(|c| c.seq).unwrap_or(0),
                headers.from().ok().and_then(|f| f.tag().map(str::to_owned)).unwrap_or_default(),
                headers.get(&HeaderName::VIA).unwrap_or_default(),
            )),
        }
    }
}

struct ServerTx<P> {
    peer: P,
    response: Vec<u8>,
    invite: Option<InviteFinal>,
    remove_at: Instant,
}

/// A final response to INVITE waiting for its ACK.
struct InviteFinal {
    retransmit: Option<(Instant, Duration)>,
    give_up_at: Instant,
    acked: bool,
    /// (Call-ID, To tag) of the dialog a 2xx created or refreshed.
    dialog: Option<(String, String)>,
    /// (Call-ID, To tag, CSeq) an ACK must carry.
    ack_match: (String, Option<String>, u32),
}

struct ClientTx<P> {
    peer: P,
    request: Vec<u8>,
    retransmit: Option<(Instant, Duration)>,
    give_up_at: Instant,
}

/// All open transactions.
pub(crate) struct Transactions<P> {
    server: HashMap<TxKey, ServerTx<P>>,
    client: HashMap<String, ClientTx<P>>,
}

impl<P> Default for Transactions<P> {
    fn default() -> Self {
        Transactions { server: HashMap::new(), client: HashMap::new() }
    }
}

impl<P: Copy> Transactions<P> {
    /// The final response already sent in this transaction, if any.
    pub(crate) fn cached_response(&self, key: &TxKey) -> Option<Vec<u8>> {
        self.server.get(key).map(|tx| tx.response.clone())
    }

    /// The To tag of the final response of an INVITE server transaction,
    /// `None` when no such transaction exists. A CANCEL's 200 carries the
    /// same tag (RFC 3261 section 9.2).
    pub(crate) fn invite_to_tag(&self, key: &TxKey) -> Option<String> {
        let invite = self.server.get(key).and_then(|tx| tx.invite.as_ref())?;
        Some(invite.ack_match.1.clone().unwrap_or_default())
    }

    /// Records the final response of a transaction (already sent by the caller).
    pub(crate) fn insert_final(
        &mut self,
        key: TxKey,
        source: &Source<P>,
        response: Vec<u8>,
        is_invite: bool,
        dialog: Option<(String, String)>,
        now: Instant,
    ) {
        let invite = is_invite.then(|| {
            let parsed = SipMessage::parse(&response).ok();
            let headers = parsed.as_ref().map(SipMessage::headers);
            let ack_match = (
                headers.and_then(|h| h.call_id().ok()).unwrap_or_default().to_owned(),
                headers.and_then(|h| h.to().ok()).and_then(|t| t.tag().map(str::to_owned)),
                headers.and_then(|h| h.cseq().ok()).map_or(0, |c| c.seq),
            );
            InviteFinal {
                retransmit: (!source.reliable).then_some((now + T1, T1)),
                give_up_at: now + LINGER,
                acked: false,
                dialog,
                ack_match,
            }
        });
        self.server.insert(key, ServerTx { peer: source.peer, response, invite, remove_at: now + LINGER });
    }

    /// An ACK arrived: stop retransmitting the final response it acknowledges.
    pub(crate) fn on_ack(&mut self, key: &TxKey, call_id: &str, to_tag: Option<&str>, cseq: u32) {
        if let Some(invite) = self.server.get_mut(key).and_then(|tx| tx.invite.as_mut()) {
            invite.acked = true;
            return;
        }
        let wanted = (call_id, to_tag, cseq);
        for invite in self.server.values_mut().filter_map(|tx| tx.invite.as_mut()) {
            let (c, t, n) = &invite.ack_match;
            if (c.as_str(), t.as_deref(), *n) == wanted {
                invite.acked = true;
            }
        }
    }

    /// Records a request the SRS sent (BYE), to retransmit until answered.
    pub(crate) fn insert_client(&mut self, branch: String, peer: P, reliable: bool, request: Vec<u8>, now: Instant) {
        let retransmit = (!reliable).then_some((now + T1, T1));
        self.client.insert(branch, ClientTx { peer, request, retransmit, give_up_at: now + LINGER });
    }

    /// A response arrived: it may complete one of our requests.
    pub(crate) fn on_response(&mut self, response: &Response) {
        let Some(branch) = response.headers().top_via().ok().and_then(|v| v.branch().map(str::to_owned)) else {
            return;
        };
        if response.status() >= 200 {
            self.client.remove(&branch);
        } else if let Some(tx) = self.client.get_mut(&branch) {
            // A provisional answer: keep trying at T2 (RFC 3261 17.1.2.2).
            tx.retransmit = tx.retransmit.map(|(at, _)| (at, T2));
        }
    }

    /// Runs due timers; returns the dialogs whose 2xx was never acknowledged.
    pub(crate) fn poll(&mut self, now: Instant, out: &mut Vec<Output<P>>) -> Vec<(String, String)> {
        let mut abandoned = Vec::new();
        for tx in self.server.values_mut() {
            let Some(invite) = tx.invite.as_mut().filter(|i| !i.acked) else { continue };
            if invite.give_up_at <= now {
                invite.acked = true;
                invite.retransmit = None;
                abandoned.extend(invite.dialog.take());
            } else if let Some((at, interval)) = invite.retransmit.filter(|(at, _)| *at <= now) {
                out.push(Output::Send { peer: tx.peer, bytes: tx.response.clone() });
                let next = (interval * 2).min(T2);
                invite.retransmit = Some((at.max(now) + next, next));
            }
        }
        self.server.retain(|_, tx| tx.remove_at > now);
        self.client.retain(|_, tx| tx.give_up_at > now);
        for tx in self.client.values_mut() {
            if let Some((at, interval)) = tx.retransmit.filter(|(at, _)| *at <= now) {
                out.push(Output::Send { peer: tx.peer, bytes: tx.request.clone() });
                let next = (interval * 2).min(T2);
                tx.retransmit = Some((at.max(now) + next, next));
            }
        }
        abandoned
    }

    /// The earliest timer.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let server = self.server.values().flat_map(|tx| {
            let invite = tx.invite.as_ref().filter(|i| !i.acked);
            [Some(tx.remove_at), invite.map(|i| i.give_up_at), invite.and_then(|i| i.retransmit.map(|(at, _)| at))]
        });
        let client = self.client.values().flat_map(|tx| [Some(tx.give_up_at), tx.retransmit.map(|(at, _)| at)]);
        server.chain(client).flatten().min()
    }
}

/// Re-reads a message whose body is broken (e.g. Content-Length larger than
/// the body) from its header section alone, so it can still be answered 400.
pub(crate) fn head_only(bytes: &[u8]) -> Option<Request> {
    let end = find(bytes, b"\r\n\r\n").or_else(|| find(bytes, b"\n\n"))?;
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut head: String = text
        .lines()
        .filter(|line| {
            let name = line.split(':').next().unwrap_or("").trim();
            !(name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l"))
        })
        .map(|line| format!("{line}\r\n"))
        .collect();
    head.push_str("Content-Length: 0\r\n\r\n");
    match SipMessage::parse(head.as_bytes()).ok()? {
        SipMessage::Request(request) => Some(request),
        SipMessage::Response(_) => None,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
