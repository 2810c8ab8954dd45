//! What the SRS is willing to accept, and the caller-supplied resources
//! (ports, keys) the answer consumes.

use std::net::IpAddr;

use crate::crypto::{CryptoSuite, SrtpKeyMaterial};
use crate::media::Codec;

/// A codec the SRS can record, matched by encoding name (case-insensitive)
/// and RTP clock rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedCodec {
    /// Encoding name as in `a=rtpmap`.
    pub name: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
}

impl AcceptedCodec {
    /// A codec by name and RTP clock rate.
    pub fn new(name: impl Into<String>, clock_rate: u32) -> Self {
        Self { name: name.into(), clock_rate }
    }

    /// G.711 µ-law.
    pub fn pcmu() -> Self {
        Self::new("PCMU", 8000)
    }

    /// G.711 A-law.
    pub fn pcma() -> Self {
        Self::new("PCMA", 8000)
    }

    /// G.722, whose RTP clock is 8000 Hz although it samples at 16 kHz.
    pub fn g722() -> Self {
        Self::new("G722", 8000)
    }

    /// Opus, always signalled as `opus/48000/2`.
    pub fn opus() -> Self {
        Self::new("opus", 48000)
    }

    /// Whether an offered codec is this one.
    pub fn matches(&self, codec: &Codec) -> bool {
        codec.name.eq_ignore_ascii_case(&self.name) && codec.clock_rate == self.clock_rate
    }
}

/// How the SRS answers offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerPolicy {
    /// `o=` user name; a value that is not an SDP token becomes `-`.
    pub origin_username: String,
    /// `o=` session id of the first answer (re-answers keep the previous one).
    pub session_id: u64,
    /// `o=` version of the first answer (re-answers bump the previous one).
    pub session_version: u64,
    /// `o=` address.
    pub origin_address: IpAddr,
    /// The address the SRS receives media on, put in the answer's `c=`.
    pub connection_address: IpAddr,
    /// Media codecs the SRS records. Each stream gets the first codec in
    /// the offer's order that is in this list; the list order does not matter.
    pub codecs: Vec<AcceptedCodec>,
    /// Whether to accept `telephone-event` (RFC 4733) alongside the codec.
    pub telephone_event: bool,
    /// SRTP suites accepted; only the `AES_CM_128_HMAC_SHA1_*` suites can
    /// be answered, other entries never match. Empty refuses SRTP streams.
    pub srtp_suites: Vec<CryptoSuite>,
    /// Whether to accept `a=rtcp-mux` when offered.
    pub rtcp_mux: bool,
}

impl AnswerPolicy {
    /// A policy with the usual SIPREC settings: PCMU, PCMA, G722 and opus,
    /// telephone-event, both AES_CM_128 SRTP suites, rtcp-mux, version 1,
    /// and `address` for both `o=` and `c=`.
    pub fn new(origin_username: impl Into<String>, session_id: u64, address: IpAddr) -> Self {
        Self {
            origin_username: origin_username.into(),
            session_id,
            session_version: 1,
            origin_address: address,
            connection_address: address,
            codecs: vec![AcceptedCodec::pcmu(), AcceptedCodec::pcma(), AcceptedCodec::g722(), AcceptedCodec::opus()],
            telephone_event: true,
            srtp_suites: vec![CryptoSuite::AesCm128HmacSha1Tag80, CryptoSuite::AesCm128HmacSha1Tag32],
            rtcp_mux: true,
        }
    }
}

/// Supplies the per-stream resources an answer needs. Called only for
/// streams that are otherwise acceptable, in m-line order.
pub trait MediaAllocator {
    /// Reserves a local RTP port for the stream at `index`: with
    /// `rtcp_mux` false, port + 1 must be reserved for RTCP as well.
    /// `None` (or 0) rejects the stream with port 0. Ports the answer does
    /// not end up using are listed in [`Answer::released_ports`](crate::Answer::released_ports).
    fn allocate_port(&mut self, index: usize, rtcp_mux: bool) -> Option<u16>;

    /// 30 fresh random bytes (from a CSPRNG) for the SRS's own SRTP key of
    /// the stream at `index`. `None` rejects the stream.
    fn srtp_key(&mut self, index: usize) -> Option<SrtpKeyMaterial>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(name: &str, clock_rate: u32) -> Codec {
        Codec { payload_type: 96, name: name.into(), clock_rate, channels: None }
    }

    #[test]
    fn codecs_match_by_name_ignoring_case_and_by_clock() {
        assert!(AcceptedCodec::opus().matches(&codec("OPUS", 48000)));
        assert!(AcceptedCodec::g722().matches(&codec("G722", 8000)));
        assert!(!AcceptedCodec::g722().matches(&codec("G722", 16000)));
        assert!(!AcceptedCodec::pcmu().matches(&codec("PCMA", 8000)));
    }

    #[test]
    fn default_policy_uses_one_address_for_origin_and_media() {
        let policy = AnswerPolicy::new("srs", 9, "2001:db8::7".parse().unwrap());
        assert_eq!(policy.origin_address, policy.connection_address);
        assert_eq!(policy.codecs.len(), 4);
        assert!(policy.telephone_event && policy.rtcp_mux);
        assert_eq!(policy.srtp_suites.len(), 2);
    }
}
