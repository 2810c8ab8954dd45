//! What the rest of the appliance learns about recording sessions.
//!
//! The SRS emits [`CallEvent`]s; the daemon hands them to every
//! [`CallEventSink`] (media plane, detector, status), so this crate knows
//! none of them.

use std::net::SocketAddr;

use callguard_numbers::E164;
use callguard_sdp::SrtpParameters;
pub use callguard_siprec_metadata::LegRole;

/// A recording session, from the first INVITE to its end.
#[derive(Debug, Clone)]
pub enum CallEvent {
    /// A session was accepted: the SBC will now send media.
    Started(Box<CallStarted>),
    /// A re-INVITE or UPDATE changed the streams (added, removed, held, new codec).
    StreamsChanged {
        /// The call.
        call_id: String,
        /// The streams now recorded.
        streams: Vec<MediaStream>,
    },
    /// The session is over; its ports are free again.
    Ended {
        /// The call.
        call_id: String,
        /// Why it ended.
        reason: EndReason,
    },
}

impl CallEvent {
    /// The call the event is about.
    pub fn call_id(&self) -> &str {
        match self {
            CallEvent::Started(started) => &started.call_id,
            CallEvent::StreamsChanged { call_id, .. } | CallEvent::Ended { call_id, .. } => call_id,
        }
    }
}

/// Subscribes to call events without the SRS knowing the subscriber.
pub trait CallEventSink: Send + Sync {
    /// Called for every event, in order, from the SIP task: return quickly.
    fn on_event(&self, event: &CallEvent);
}

/// A new recording session.
#[derive(Debug, Clone)]
pub struct CallStarted {
    /// The recording session's SIP Call-ID: the appliance's call id.
    pub call_id: String,
    /// The protected subscriber.
    pub subscriber: E164,
    /// The remote party as E.164, when its number could be read.
    pub caller: Option<E164>,
    /// The remote party's address of record as the SBC gave it.
    pub caller_aor: Option<String>,
    /// Whether the call is incoming to the subscriber (`None`: not known).
    pub incoming: Option<bool>,
    /// The recorded streams, in SDP order.
    pub streams: Vec<MediaStream>,
    /// Whether the leg roles were inferred (SDP order, no metadata) rather
    /// than read from the metadata.
    pub legs_inferred: bool,
    /// Signaling facts for the evidence checks.
    pub signaling: SignalingFacts,
}

/// One recorded RTP stream.
#[derive(Debug, Clone)]
pub struct MediaStream {
    /// Position of its m= line in the offer.
    pub index: usize,
    /// Whose voice it carries.
    pub role: LegRole,
    /// The SDP label, if any.
    pub label: Option<String>,
    /// Local RTP port (RTCP on the next port unless `rtcp_mux`).
    pub local_port: u16,
    /// Whether RTCP shares the RTP port.
    pub rtcp_mux: bool,
    /// Where the SBC sends from, per its SDP (may differ on the wire).
    pub remote: Option<SocketAddr>,
    /// Codec name as in rtpmap (`PCMU`, `PCMA`, `G722`, `opus`).
    pub codec: String,
    /// RTP payload type of the codec.
    pub payload_type: u8,
    /// RTP clock rate of the codec.
    pub clock_rate: u32,
    /// Payload type of telephone-event (DTMF), if negotiated.
    pub dtmf_payload_type: Option<u8>,
    /// Whether the SBC is sending (false while on hold or inactive).
    pub active: bool,
    /// SRTP keys, for the media plane only (zeroized on drop, redacted in Debug).
    pub srtp: Option<SrtpParameters>,
}

/// Signaling facts later checks need (STIR/SHAKEN, spoofing, routing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignalingFacts {
    /// From of the original call (from the metadata), else of the recording INVITE.
    pub from: Option<String>,
    /// P-Asserted-Identity values, SIP headers first, then copied ones.
    pub p_asserted_identity: Vec<String>,
    /// The verstat value found on PAI or From (`TN-Validation-Passed`…).
    pub verstat: Option<String>,
    /// Identity headers (STIR/SHAKEN PASSporTs).
    pub identity: Vec<String>,
    /// Via addresses of the recording INVITE, top first.
    pub via: Vec<String>,
    /// Contact of the SRC.
    pub contact: Option<String>,
    /// Other headers of the original call the SRC forwarded (name, value).
    pub forwarded_headers: Vec<(String, String)>,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The SRC sent BYE.
    Bye,
    /// The SRC never acknowledged the 200 OK.
    NoAck,
    /// The SRC did not refresh the session before its session timer ran out.
    SessionExpired,
    /// The appliance ended it (media timeout, shutdown…).
    Terminated,
}
