//! What an answer produces: the answer SDP and, per accepted stream, what
//! the media plane needs to receive it.

use crate::attributes::Direction;
use crate::connection::Address;
use crate::crypto::{CryptoSuite, KeyLifetime, Mki, SrtpKeyMaterial, SrtpSessionParam};
use crate::media::{Codec, MediaType, Protocol};
use crate::session::SessionDescription;

/// An address and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// IP literal, or a name the caller must resolve.
    pub address: Address,
    /// UDP port.
    pub port: u16,
}

/// One of the SBC's SRTP master keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpKey {
    /// Key and salt.
    pub material: SrtpKeyMaterial,
    /// Lifetime, if the SBC gave one.
    pub lifetime: Option<KeyLifetime>,
    /// MKI carried in each packet, if any.
    pub mki: Option<Mki>,
}

/// SDES-SRTP parameters of an accepted stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrtpParameters {
    /// Tag of the chosen `a=crypto` line.
    pub tag: u32,
    /// Chosen suite.
    pub suite: CryptoSuite,
    /// The SBC's keys, for decrypting what it sends.
    pub remote_keys: Vec<SrtpKey>,
    /// The SBC's session parameters (KDR, WSH, UNENCRYPTED_*...).
    pub session_params: Vec<SrtpSessionParam>,
    /// The SRS's own key, sent in the answer (for the SRTCP it sends).
    pub local_key: SrtpKeyMaterial,
}

/// What the media plane needs to receive one accepted stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedStream {
    /// Position of the m= line (0-based).
    pub index: usize,
    /// `a=label`, which the SIPREC metadata uses to name the participant.
    pub label: Option<String>,
    /// Media type.
    pub media_type: MediaType,
    /// Transport protocol.
    pub protocol: Protocol,
    /// Where the SBC sends RTP from (and expects RTCP at).
    pub remote_rtp: Endpoint,
    /// The SBC's RTCP endpoint.
    pub remote_rtcp: Endpoint,
    /// Whether RTP and RTCP share one port.
    pub rtcp_mux: bool,
    /// Local RTP port.
    pub local_port: u16,
    /// Local RTCP port (the RTP port when muxed).
    pub local_rtcp_port: u16,
    /// The codec chosen.
    pub codec: Codec,
    /// Payload type of telephone-event, when accepted.
    pub telephone_event: Option<u8>,
    /// Packet time offered, in milliseconds.
    pub ptime: Option<u32>,
    /// Direction in the answer: `RecvOnly`, or `Inactive` while on hold.
    pub direction: Direction,
    /// SRTP keys, for RTP/SAVP(F) streams.
    pub srtp: Option<SrtpParameters>,
}

/// Why a stream got port 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The offer itself has port 0 (stream removed or refused).
    PortZero,
    /// Neither RTP/AVP(F) nor SDES-keyed RTP/SAVP(F).
    UnsupportedProtocol,
    /// No `c=` at media or session level.
    NoConnectionAddress,
    /// No offered codec is in the policy.
    NoAcceptableCodec,
    /// An SRTP stream without a usable `a=crypto` line.
    NoAcceptableCrypto,
    /// The allocator gave no SRTP key.
    NoKeyMaterial,
    /// The allocator gave no (usable) port.
    NoPortAvailable,
}

/// A stream answered with port 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RejectedStream {
    /// Position of the m= line.
    pub index: usize,
    /// Why.
    pub reason: RejectReason,
}

/// The result of answering an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer SDP.
    pub sdp: SessionDescription,
    /// Accepted streams, in m-line order.
    pub streams: Vec<NegotiatedStream>,
    /// Rejected streams, in m-line order.
    pub rejected: Vec<RejectedStream>,
    /// Ports the caller should free: those of streams that a re-offer
    /// removed, rejected or replaced, and any allocated but left unused.
    pub released_ports: Vec<u16>,
}
