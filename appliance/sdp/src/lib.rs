//! SDP for callguard's SIPREC Session Recording Server.
//!
//! callguard sits next to an operator's SBC as a SIPREC SRS (RFC 7866): the
//! SBC's INVITE carries an SDP offer with the call's media streams (usually
//! one per call leg, sometimes one mixed stream), and the SRS answers to
//! receive them. This crate turns that offer into an answer and into a
//! description of each stream for the media plane.
//!
//! # Design
//!
//! * [`SessionDescription::parse`] / [`SessionDescription::parse_bytes`]
//!   read SDP (RFC 8866) with CRLF or bare-LF line ends into typed structs;
//!   `Display` writes it back with CRLF. Attributes the SRS acts on are typed
//!   ([`Attribute`]); unknown attributes and unknown line types are kept
//!   verbatim, so nothing is lost in a round trip.
//! * [`answer_offer`] and [`answer_reoffer`] implement RFC 3264 offer/answer
//!   for a receive-only SRS under an [`AnswerPolicy`], taking ports and SRTP
//!   keys from a caller's [`MediaAllocator`]. They return an [`Answer`]: the
//!   answer SDP plus one [`NegotiatedStream`] per accepted stream.
//! * No I/O, async, clock or randomness: session ids, ports and key material
//!   all come from the caller, so every function is deterministic.
//! * No input panics. Errors are [`SdpError`], whose message names the
//!   defect and its line number and never quotes key material.
//! * Key material is held in [`SrtpKeyMaterial`] and [`SecretBytes`], which
//!   are zeroized on drop and redacted in `Debug`.
//!
//! # Limits
//!
//! * Parsing is strict about the typed parts (numbers, addresses, keys,
//!   attributes the SRS uses) and refuses the whole description on a defect,
//!   e.g. `a=ptime:20.0`. The order of session-level lines is not enforced,
//!   and `t=` may be missing.
//! * Lines end in LF or CRLF; a bare CR is not a line end. Empty lines are
//!   skipped. Serialization is canonical (single spaces, RFC line order,
//!   unknown lines last in their section), not byte-for-byte.
//! * One `c=` per section; multicast layered encodings (several `c=`) are
//!   refused. Names in `c=` are kept, not resolved.
//! * Only SDES-SRTP with the `AES_CM_128_HMAC_SHA1_80/_32` suites can be
//!   answered; DTLS-SRTP, ICE and BUNDLE are not supported and such streams
//!   are rejected. `k=` lines and `FEC_KEY` parameters are kept as plain text.
//! * The SDP text itself carries keys in base64; wiping it is the caller's
//!   business.
//!
//! # Example
//!
//! ```
//! use callguard_sdp::{AnswerPolicy, MediaAllocator, SessionDescription, SrtpKeyMaterial, answer_offer};
//!
//! /// Hands out even ports; a real SRS also fills SRTP keys from a CSPRNG.
//! struct Ports(u16);
//!
//! impl MediaAllocator for Ports {
//!     fn allocate_port(&mut self, _index: usize, _rtcp_mux: bool) -> Option<u16> {
//!         self.0 = self.0.checked_add(2)?;
//!         Some(self.0)
//!     }
//!
//!     fn srtp_key(&mut self, _index: usize) -> Option<SrtpKeyMaterial> {
//!         None
//!     }
//! }
//!
//! let offer = SessionDescription::parse(
//!     "v=0\r\no=SBC 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n\
//!      m=audio 20000 RTP/AVP 18 8 0\r\na=label:1\r\na=sendonly\r\n",
//! )?;
//! let policy = AnswerPolicy::new("callguard", 4242, "192.0.2.10".parse().unwrap());
//! let answer = answer_offer(&offer, &policy, &mut Ports(30000));
//! let text = answer.sdp.to_string();
//! assert!(text.contains("m=audio 30002 RTP/AVP 8\r\n"));
//! assert!(text.contains("a=recvonly\r\n"));
//! assert_eq!(answer.streams[0].codec.name, "PCMA");
//! assert_eq!(answer.streams[0].remote_rtp.port, 20000);
//! # Ok::<(), callguard_sdp::SdpError>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod answer;
mod attributes;
mod connection;
mod crypto;
mod error;
mod media;
mod negotiated;
mod parse;
mod policy;
mod serialize;
mod session;

pub use answer::{answer_offer, answer_reoffer};
pub use attributes::{Attribute, Direction, Fmtp, Rtcp, Rtpmap};
pub use connection::{Address, AddressType, Connection};
pub use crypto::{
    Crypto, CryptoSuite, InlineKey, KeyLifetime, KeyParam, Mki, SecretBytes, SrtpKeyMaterial, SrtpSessionParam,
};
pub use error::SdpError;
pub use media::{Codec, MediaDescription, MediaType, Protocol, static_codec};
pub use negotiated::{Answer, Endpoint, NegotiatedStream, RejectReason, RejectedStream, SrtpKey, SrtpParameters};
pub use policy::{AcceptedCodec, AnswerPolicy, MediaAllocator};
pub use session::{Bandwidth, Origin, SessionDescription, Timing, UnknownLine};
