//! RTP, RTCP and SRTP for callguard, the appliance that records SIPREC
//! calls' media to transcribe them in memory.
//!
//! # What it is for
//!
//! The SBC sends each recorded leg as an RTP stream, usually SRTP keyed by
//! SDES (`a=crypto`, RFC 4568) in the SIPREC SDP, with RTCP beside it. This
//! crate turns those datagrams into what the media plane needs:
//!
//! * [`SrtpReceiver::unprotect_rtp`] / [`unprotect_rtcp`](SrtpReceiver::unprotect_rtcp):
//!   authenticate, replay-check and decrypt in place (RFC 3711,
//!   `AES_CM_128_HMAC_SHA1_80` and `_32`).
//! * [`RtpPacket::parse`]: a zero-copy view of the header and payload
//!   (RFC 3550 section 5), padding removed.
//! * [`RtcpCompound`]: the packets of a compound RTCP datagram; sender and
//!   receiver reports and BYE are read, SDES and APP skipped.
//! * [`ReceiverStats`]: per-stream sequence tracking, loss, jitter,
//!   duplicates and late packets (RFC 3550 A.1, A.3, A.8), with SBC
//!   failover (a new SSRC mid-stream) handled as a restart.
//! * [`SrtpSender`] and [`RtpHeader`]: the protecting side, for tests and
//!   the test call generator.
//!
//! ```text
//! UDP datagram ──> SrtpReceiver::unprotect_rtp ──> RtpPacket::parse ──> ReceiverStats::on_rtp
//!   (capture)        auth tag, replay, ROC,           header, payload       loss, jitter,
//!                    AES-CM decrypt in place          (no copy)             extended seq ──> jitter buffer
//! RTCP datagram ──> SrtpReceiver::unprotect_rtcp ──> RtcpCompound ──> SR/RR/BYE for statistics
//! ```
//!
//! ```
//! use std::time::Instant;
//! use callguard_rtp::{
//!     PacketOutcome, ReceiverStats, RtpHeader, RtpPacket, SrtpConfig, SrtpError,
//!     SrtpMasterKey, SrtpProfile, SrtpReceiver, SrtpSender, StatsConfig,
//! };
//!
//! // The inline key of the SBC's a=crypto line, base64-decoded (30 bytes).
//! let key = SrtpMasterKey::from_slice(&[0x42; 30])?;
//! let profile = SrtpProfile::from_sdes_name("AES_CM_128_HMAC_SHA1_80").unwrap();
//! let mut receiver = SrtpReceiver::new(&key, SrtpConfig::new(profile))?;
//! let mut stats = ReceiverStats::new(StatsConfig { min_sequential: 1, ..StatsConfig::new(8000) });
//!
//! // What the SBC would send (here made by the sender side).
//! let mut sender = SrtpSender::new(&key, profile);
//! let header = RtpHeader { payload_type: 0, sequence: 7, timestamp: 1120, ssrc: 0x5BC, marker: true };
//! let mut datagram = header.to_packet(&[0xFF; 160]);
//! sender.protect_rtp(&mut datagram)?;
//!
//! let len = receiver.unprotect_rtp(&mut datagram)?;
//! let packet = RtpPacket::parse(&datagram[..len])?;
//! let outcome = stats.on_rtp(&packet, Instant::now());
//! assert!(matches!(outcome, PacketOutcome::InOrder { .. }));
//! assert_eq!(packet.payload().len(), 160);
//!
//! // The same sequence number again is a replay: dropped and counted.
//! assert!(matches!(receiver.unprotect_rtp(&mut datagram), Err(SrtpError::Replayed { .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Design
//!
//! * Sans I/O: no sockets, no clock, no async, no randomness. Arrival
//!   times come in as [`Instant`](std::time::Instant)s from the caller.
//! * Zero-copy: parsers borrow the datagram; SRTP decrypts in place and
//!   returns the plaintext length. Nothing on the receive path allocates
//!   except the first packet of a new SSRC.
//! * No hand-written cryptography: AES from `aes` with CTR from `ctr`,
//!   HMAC-SHA1 from `hmac` and `sha1` (RustCrypto). Tags are compared in
//!   constant time. Session keys are derived once per master key (key
//!   derivation rate 0) and each packet clones a keyed HMAC state.
//! * Keys live in [`SrtpMasterKey`] and in the session key state, all
//!   wiped on drop (`zeroize`, and the `zeroize` features of the RustCrypto
//!   crates); no `Debug` output shows them.
//! * The receiver checks the replay window before authenticating and
//!   changes state (rollover counter, window, new SSRC) only after the tag
//!   matched, so forged packets cannot desynchronise it.
//! * Errors are small `thiserror` enums ([`RtpError`], [`RtcpError`],
//!   [`SrtpError`]) whose text names the defect. No input panics; the fuzz
//!   targets in `fuzz/` check that. `Debug` of packets never prints payload.
//!
//! # Limits
//!
//! * SRTP: only the two AES-CM/HMAC-SHA1 suites; no AEAD (AES-GCM, RFC
//!   7714), no 256-bit keys, no MKI, no key derivation rate other than 0,
//!   no encrypted header extensions (RFC 6904) or cryptex. Keys come from
//!   SDES only; DTLS-SRTP is not supported.
//! * A new SSRC starts with rollover counter 0 unless
//!   [`SrtpReceiver::set_rollover_counter`] says otherwise; a stream joined
//!   after 65 536 packets without that fails authentication.
//! * RTCP: SDES, APP and feedback/XR packets are skipped, not parsed; the
//!   rule that a compound packet starts with SR or RR is not enforced.
//! * RTP header extensions are exposed raw with their RFC 8285 form;
//!   elements are not split out.
//! * Statistics: duplicates are recognised within the last 1024 sequence
//!   numbers; `received` excludes duplicates (RFC 3550 counts them), so
//!   loss is not hidden by them.

//!
//! # Tests
//!
//! * Unit tests beside the code, among them RFC 3711 Appendix B.2 (AES-CM
//!   keystream, first and last blocks of the 1 044 512-byte segment) and
//!   B.3 (key derivation: cipher key, salt, 94-byte auth key listing).
//! * `tests/srtp.rs`: protect/unprotect round trips (sequence wrap, rollover
//!   counter, reordering in the window, replays, tampering, wrong keys,
//!   SRTCP with and without the E flag).
//! * `tests/libsrtp.rs`: packets protected by libsrtp (made by
//!   `tests/data/gen_srtp.py` through PyPI's `pylibsrtp`) unprotect to the
//!   originals, and the sender reproduces them byte for byte.
//! * `tests/stats.rs`: loss, jitter, duplicates, late packets, restarts,
//!   SSRC change, report blocks.
//! * `fuzz/`: `rtp_parse`, `rtcp_parse`, `srtp_unprotect`
//!   (`RUSTC_BOOTSTRAP=1 cargo fuzz run srtp_unprotect -- -max_total_time=60`).
//! * `benches/unprotect.rs`: unprotect + parse of a 172-byte G.711 packet.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod rtcp;
mod rtp;
mod srtp;
mod stats;

pub use rtcp::{
    Goodbye, RTCP_APP, RTCP_BYE, RTCP_RR, RTCP_SDES, RTCP_SR, ReceiverReport, ReportBlock, ReportBlocks, RtcpCompound,
    RtcpError, RtcpPacket, SenderReport, write_receiver_report,
};
pub use rtp::{
    ExtensionForm, HeaderExtension, ONE_BYTE_EXTENSION_PROFILE, RTP_HEADER_LEN, RtpError, RtpHeader, RtpPacket,
};
pub use srtp::{MAX_REPLAY_WINDOW, SrtpConfig, SrtpError, SrtpMasterKey, SrtpProfile, SrtpReceiver, SrtpSender};
pub use stats::{PacketOutcome, ReceiverStats, StatsConfig, StreamStats};
