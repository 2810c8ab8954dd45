//! SRTP and SRTCP (RFC 3711) for the two SDES suites of RFC 4568 that SBCs
//! offer a recording server: `AES_CM_128_HMAC_SHA1_80` and
//! `AES_CM_128_HMAC_SHA1_32`.
//!
//! [`SrtpReceiver`] authenticates, replay-checks and decrypts in place;
//! [`SrtpSender`] encrypts and tags, for tests and the test call generator.
//! Each holds the session keys derived once from the master key (key
//! derivation rate 0, no MKI) and a crypto context per SSRC: the rollover
//! counter and highest sequence number for SRTP, the replay window for
//! SRTP and SRTCP.

mod keys;
mod replay;

use std::fmt;

use hmac::Mac;

use keys::SessionKeys;
pub use keys::SrtpMasterKey;
use replay::{Replay, ReplayWindow};

use crate::rtp::{RTP_HEADER_LEN, RtpError, header_layout};

/// Length of the SRTCP `E || SRTCP index` word.
const SRTCP_INDEX_LEN: usize = 4;
/// Highest SRTCP index (31 bits).
const SRTCP_INDEX_MAX: u32 = 0x7FFF_FFFF;
/// Largest replay window accepted (RFC 3711 asks for at least 64).
pub const MAX_REPLAY_WINDOW: u16 = 0x8000;

/// An SRTP crypto suite (RFC 4568 section 6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpProfile {
    /// `AES_CM_128_HMAC_SHA1_80`: 80-bit tags on SRTP and SRTCP.
    AesCm128HmacSha1Tag80,
    /// `AES_CM_128_HMAC_SHA1_32`: 32-bit tag on SRTP, 80-bit on SRTCP.
    AesCm128HmacSha1Tag32,
}

impl SrtpProfile {
    /// The suite named in an `a=crypto` line, if it is one of these.
    pub fn from_sdes_name(name: &str) -> Option<Self> {
        match name {
            "AES_CM_128_HMAC_SHA1_80" => Some(Self::AesCm128HmacSha1Tag80),
            "AES_CM_128_HMAC_SHA1_32" => Some(Self::AesCm128HmacSha1Tag32),
            _ => None,
        }
    }

    /// The suite's name in `a=crypto` lines.
    pub fn sdes_name(self) -> &'static str {
        match self {
            Self::AesCm128HmacSha1Tag80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1Tag32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// Bytes of authentication tag on an SRTP packet (10 or 4).
    pub fn rtp_tag_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1Tag80 => 10,
            Self::AesCm128HmacSha1Tag32 => 4,
        }
    }

    /// Bytes of authentication tag on an SRTCP packet: 10 for both suites
    /// (RFC 4568 section 6.2.2: the `_32` suite shortens only SRTP's).
    pub fn rtcp_tag_len(self) -> usize {
        10
    }
}

impl fmt::Display for SrtpProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sdes_name())
    }
}

/// Settings of an [`SrtpReceiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrtpConfig {
    /// The crypto suite.
    pub profile: SrtpProfile,
    /// Packets the replay window spans, 1 to [`MAX_REPLAY_WINDOW`]
    /// (64 by default, the minimum RFC 3711 recommends).
    pub replay_window: u16,
    /// SSRCs tracked at once; the least recently used is forgotten when a
    /// new one authenticates (4 by default: SBC failover adds one).
    pub max_streams: usize,
}

impl SrtpConfig {
    /// Defaults for `profile`: a 64-packet window and 4 streams.
    pub fn new(profile: SrtpProfile) -> Self {
        Self { profile, replay_window: 64, max_streams: 4 }
    }
}

/// Why a packet was not protected or unprotected. Authentication failures
/// and replays are expected under attack or misconfiguration: the caller
/// counts them and drops the packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SrtpError {
    /// The master key and salt are not 30 bytes.
    #[error("SRTP master key and salt must be 30 bytes (16 + 14), got {len}")]
    KeyLength {
        /// Length given.
        len: usize,
    },
    /// The configured replay window is 0 or too large.
    #[error("SRTP replay window of {size} packets is invalid: it must be 1 to 32768")]
    ReplayWindow {
        /// Size given.
        size: u16,
    },
    /// Too short to hold a header and an authentication tag.
    #[error("{protocol} packet of {len} bytes is shorter than the {min} bytes of header and trailer")]
    TooShort {
        /// `"SRTP"` or `"SRTCP"`.
        protocol: &'static str,
        /// Length of the packet.
        len: usize,
        /// Least length possible.
        min: usize,
    },
    /// The RTP header of an SRTP packet is malformed.
    #[error("SRTP packet has a malformed RTP header: {0}")]
    RtpHeader(#[from] RtpError),
    /// The first RTCP header of an SRTCP packet does not have version 2.
    #[error("SRTCP packet has RTCP version {version}, expected 2")]
    RtcpVersion {
        /// The version found.
        version: u8,
    },
    /// The authentication tag does not match: wrong key (check the SDES
    /// `a=crypto` lines of both sides), corrupted or forged packet, or a
    /// rollover counter out of step.
    #[error(
        "authentication failed for SSRC {ssrc:#010x}: wrong key, corrupted or forged packet, or rollover counter out of step"
    )]
    AuthenticationFailed {
        /// The packet's SSRC.
        ssrc: u32,
    },
    /// The packet index was already accepted.
    #[error("replayed packet: SSRC {ssrc:#010x} index {index} was already received")]
    Replayed {
        /// The packet's SSRC.
        ssrc: u32,
        /// Its SRTP (48-bit) or SRTCP (31-bit) index.
        index: u64,
    },
    /// The packet index is behind the replay window (it cannot be told
    /// from a replay).
    #[error("packet too old: SSRC {ssrc:#010x} index {index} is behind the replay window")]
    TooOld {
        /// The packet's SSRC.
        ssrc: u32,
        /// Its SRTP or SRTCP index.
        index: u64,
    },
    /// The rollover counter or SRTCP index would wrap: the master key must
    /// be replaced (RFC 3711 section 9.2).
    #[error("SSRC {ssrc:#010x} has used up its packet indices under this master key")]
    IndexExhausted {
        /// The SSRC.
        ssrc: u32,
    },
}

/// Per-SSRC state, in a small table that forgets the least recently used.
#[derive(Debug, Clone)]
struct StreamTable<T> {
    entries: Vec<(u32, u64, T)>,
    limit: usize,
    clock: u64,
}

impl<T> StreamTable<T> {
    fn new(limit: usize) -> Self {
        Self { entries: Vec::new(), limit: limit.max(1), clock: 0 }
    }

    fn get(&self, ssrc: u32) -> Option<&T> {
        self.entries.iter().find(|e| e.0 == ssrc).map(|e| &e.2)
    }

    /// The state of `ssrc`, made with `make` (evicting the least recently
    /// used) if missing.
    fn entry(&mut self, ssrc: u32, make: impl FnOnce() -> T) -> &mut T {
        self.clock += 1;
        let i = match self.entries.iter().position(|e| e.0 == ssrc) {
            Some(i) => i,
            None => {
                if self.entries.len() >= self.limit {
                    let oldest =
                        (0..self.entries.len()).min_by_key(|&i| self.entries[i].1).expect("table is not empty");
                    self.entries.swap_remove(oldest);
                }
                self.entries.push((ssrc, 0, make()));
                self.entries.len() - 1
            }
        };
        self.entries[i].1 = self.clock;
        &mut self.entries[i].2
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Rollover counter and highest sequence number of one SSRC.
#[derive(Debug, Clone, Copy)]
struct RocState {
    roc: u32,
    /// Highest sequence number under `roc` (RFC 3711 `s_l`); unset until the
    /// first packet, or after the rollover counter was set from outside.
    s_l: Option<u16>,
}

impl RocState {
    /// The rollover counter the packet was most likely sent under (RFC 3711
    /// section 3.3.1), as `i64` because it can be one below 0 or one above
    /// `u32::MAX`.
    fn guess(&self, seq: u16) -> i64 {
        let roc = i64::from(self.roc);
        let Some(s_l) = self.s_l else {
            return roc;
        };
        let (s_l, seq) = (i32::from(s_l), i32::from(seq));
        if s_l < 0x8000 {
            if seq - s_l > 0x8000 { roc - 1 } else { roc }
        } else if s_l - 0x8000 > seq {
            roc + 1
        } else {
            roc
        }
    }

    /// Moves `roc` and `s_l` on after a packet under `v` was accepted (by
    /// the receiver: only once it authenticated).
    fn advance(&mut self, v: u32, seq: u16) {
        match self.s_l {
            Some(s_l) if v == self.roc && seq <= s_l => {}
            Some(_) if v < self.roc => {}
            _ => {
                self.roc = v;
                self.s_l = Some(seq);
            }
        }
    }
}

/// SRTP context of one SSRC on the receiving side.
#[derive(Debug, Clone)]
struct RtpContext {
    roc: RocState,
    window: ReplayWindow,
}

/// The rollover counter `v` as a `u32`, or the error for a guess outside it.
fn checked_roc(v: i64, ssrc: u32, seq: u16) -> Result<u32, SrtpError> {
    if v < 0 {
        return Err(SrtpError::TooOld { ssrc, index: u64::from(seq) });
    }
    u32::try_from(v).map_err(|_| SrtpError::IndexExhausted { ssrc })
}

fn srtp_index(roc: u32, seq: u16) -> u64 {
    u64::from(roc) << 16 | u64::from(seq)
}

fn replay_error(e: Replay, ssrc: u32, index: u64) -> SrtpError {
    match e {
        Replay::Seen => SrtpError::Replayed { ssrc, index },
        Replay::TooOld => SrtpError::TooOld { ssrc, index },
    }
}

fn rtcp_ssrc(packet: &[u8]) -> u32 {
    u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]])
}

/// Checks the version of the first RTCP header and the length of an SRTCP
/// packet (`trailer` bytes after the RTCP packet).
fn check_rtcp(packet: &[u8], trailer: usize) -> Result<(), SrtpError> {
    if let Some(&first) = packet.first()
        && first >> 6 != 2
    {
        return Err(SrtpError::RtcpVersion { version: first >> 6 });
    }
    let min = 8 + trailer;
    if packet.len() < min {
        return Err(SrtpError::TooShort { protocol: "SRTCP", len: packet.len(), min });
    }
    Ok(())
}

/// The receiving side of one SDES key: unprotects SRTP and SRTCP packets of
/// any SSRC in place.
///
/// ```
/// use callguard_rtp::{RtpHeader, RtpPacket, SrtpConfig, SrtpError, SrtpMasterKey, SrtpProfile,
///     SrtpReceiver, SrtpSender};
///
/// let key = SrtpMasterKey::new([7; 30]); // from the SDP's a=crypto inline key
/// let profile = SrtpProfile::AesCm128HmacSha1Tag80;
/// let mut sender = SrtpSender::new(&key, profile);
/// let mut receiver = SrtpReceiver::new(&key, SrtpConfig::new(profile))?;
///
/// let header = RtpHeader { payload_type: 0, sequence: 1, timestamp: 160, ssrc: 9, marker: false };
/// let mut datagram = header.to_packet(&[0xD5; 160]);
/// sender.protect_rtp(&mut datagram)?;
/// assert_eq!(datagram.len(), 12 + 160 + 10);
///
/// let len = receiver.unprotect_rtp(&mut datagram)?;
/// let packet = RtpPacket::parse(&datagram[..len])?;
/// assert_eq!(packet.payload(), &[0xD5; 160]);
///
/// // The same index again is a replay, refused before anything else.
/// assert!(matches!(receiver.unprotect_rtp(&mut datagram), Err(SrtpError::Replayed { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SrtpReceiver {
    config: SrtpConfig,
    rtp_keys: SessionKeys,
    rtcp_keys: SessionKeys,
    rtp: StreamTable<RtpContext>,
    rtcp: StreamTable<ReplayWindow>,
}

impl SrtpReceiver {
    /// Derives the session keys of `key` for `config.profile`.
    pub fn new(key: &SrtpMasterKey, config: SrtpConfig) -> Result<Self, SrtpError> {
        if config.replay_window == 0 || config.replay_window > MAX_REPLAY_WINDOW {
            return Err(SrtpError::ReplayWindow { size: config.replay_window });
        }
        Ok(Self {
            config,
            rtp_keys: SessionKeys::derive(key, false),
            rtcp_keys: SessionKeys::derive(key, true),
            rtp: StreamTable::new(config.max_streams),
            rtcp: StreamTable::new(config.max_streams),
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &SrtpConfig {
        &self.config
    }

    /// Authenticates, replay-checks and decrypts one SRTP packet in place.
    ///
    /// On success returns the length of the RTP packet now at the start of
    /// `packet` (the tag is left behind it): parse `&packet[..len]` with
    /// [`RtpPacket::parse`](crate::RtpPacket::parse). On error nothing is
    /// decrypted and no state changes, so a forged packet cannot move the
    /// rollover counter or the replay window.
    pub fn unprotect_rtp(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.config.profile.rtp_tag_len();
        let len = packet.len();
        if len < RTP_HEADER_LEN + tag_len {
            // Still say so when it is not RTP at all.
            if let Err(e @ RtpError::WrongVersion { .. }) = header_layout(packet) {
                return Err(e.into());
            }
            return Err(SrtpError::TooShort { protocol: "SRTP", len, min: RTP_HEADER_LEN + tag_len });
        }
        let auth_len = len - tag_len;
        let layout = header_layout(&packet[..auth_len])?;
        let (ssrc, seq) = (layout.ssrc, layout.sequence);
        let context = self.rtp.get(ssrc);
        let v = context.map_or(0, |c| c.roc.guess(seq));
        let v = checked_roc(v, ssrc, seq)?;
        let index = srtp_index(v, seq);
        if let Some(context) = context {
            context.window.check(index).map_err(|e| replay_error(e, ssrc, index))?;
        }
        let (authenticated, tag) = packet.split_at_mut(auth_len);
        let mut mac = self.rtp_keys.auth.clone();
        mac.update(authenticated);
        mac.update(&v.to_be_bytes());
        mac.verify_truncated_left(tag).map_err(|_| SrtpError::AuthenticationFailed { ssrc })?;
        self.rtp_keys.crypt(ssrc, index, &mut authenticated[layout.len..]);
        let window = self.config.replay_window;
        let context = self
            .rtp
            .entry(ssrc, || RtpContext { roc: RocState { roc: v, s_l: None }, window: ReplayWindow::new(window) });
        context.roc.advance(v, seq);
        context.window.accept(index);
        Ok(auth_len)
    }

    /// Authenticates, replay-checks and (when its E flag says so) decrypts
    /// one SRTCP packet in place; returns the length of the compound RTCP
    /// packet now at the start of `packet`, for
    /// [`RtcpCompound::new`](crate::RtcpCompound::new). Packets sent with
    /// the E flag clear (authenticated only) are accepted as they are.
    pub fn unprotect_rtcp(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let tag_len = self.config.profile.rtcp_tag_len();
        check_rtcp(packet, SRTCP_INDEX_LEN + tag_len)?;
        let auth_len = packet.len() - tag_len;
        let rtcp_len = auth_len - SRTCP_INDEX_LEN;
        let word = u32::from_be_bytes(packet[rtcp_len..auth_len].try_into().expect("4 bytes of E || index"));
        let encrypted = word & 0x8000_0000 != 0;
        let index = u64::from(word & SRTCP_INDEX_MAX);
        let ssrc = rtcp_ssrc(packet);
        if let Some(window) = self.rtcp.get(ssrc) {
            window.check(index).map_err(|e| replay_error(e, ssrc, index))?;
        }
        let (authenticated, tag) = packet.split_at_mut(auth_len);
        let mut mac = self.rtcp_keys.auth.clone();
        mac.update(authenticated);
        mac.verify_truncated_left(tag).map_err(|_| SrtpError::AuthenticationFailed { ssrc })?;
        if encrypted {
            self.rtcp_keys.crypt(ssrc, index, &mut authenticated[8..rtcp_len]);
        }
        let window = self.config.replay_window;
        self.rtcp.entry(ssrc, || ReplayWindow::new(window)).accept(index);
        Ok(rtcp_len)
    }

    /// Sets the rollover counter of `ssrc` before its first packet, for a
    /// stream joined after it wrapped (the value comes from out of band);
    /// forgets what was known of that SSRC.
    pub fn set_rollover_counter(&mut self, ssrc: u32, roc: u32) {
        let fresh =
            RtpContext { roc: RocState { roc, s_l: None }, window: ReplayWindow::new(self.config.replay_window) };
        let slot = self.rtp.entry(ssrc, || fresh.clone());
        *slot = fresh;
    }

    /// The rollover counter of `ssrc`, once a packet of it authenticated.
    pub fn rollover_counter(&self, ssrc: u32) -> Option<u32> {
        self.rtp.get(ssrc).map(|c| c.roc.roc)
    }
}

impl fmt::Debug for SrtpReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpReceiver")
            .field("config", &self.config)
            .field("keys", &"redacted")
            .field("rtp_streams", &self.rtp.len())
            .field("rtcp_streams", &self.rtcp.len())
            .finish()
    }
}

/// SRTP context of one SSRC on the sending side.
#[derive(Debug, Clone, Copy)]
struct SendContext {
    roc: RocState,
    rtcp_index: u32,
}

/// The sending side of one SDES key: protects RTP and RTCP packets. Used by
/// tests and the test call generator; the appliance itself only receives.
///
/// The caller must not protect two different packets with the same SSRC and
/// sequence number (within one rollover cycle): they would share keystream.
#[derive(Clone)]
pub struct SrtpSender {
    profile: SrtpProfile,
    rtp_keys: SessionKeys,
    rtcp_keys: SessionKeys,
    streams: StreamTable<SendContext>,
}

impl SrtpSender {
    /// Most SSRCs one sender keeps a context for.
    const MAX_STREAMS: usize = 64;

    /// Derives the session keys of `key` for `profile`.
    pub fn new(key: &SrtpMasterKey, profile: SrtpProfile) -> Self {
        Self {
            profile,
            rtp_keys: SessionKeys::derive(key, false),
            rtcp_keys: SessionKeys::derive(key, true),
            streams: StreamTable::new(Self::MAX_STREAMS),
        }
    }

    fn context(&mut self, ssrc: u32) -> &mut SendContext {
        self.streams.entry(ssrc, || SendContext { roc: RocState { roc: 0, s_l: None }, rtcp_index: 0 })
    }

    /// Encrypts the payload of the RTP packet in `packet` and appends the
    /// authentication tag. The rollover counter of its SSRC moves on when
    /// the sequence number wraps.
    pub fn protect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let layout = header_layout(packet)?;
        let (ssrc, seq) = (layout.ssrc, layout.sequence);
        let roc = &mut self.context(ssrc).roc;
        let v = checked_roc(roc.guess(seq), ssrc, seq)?;
        roc.advance(v, seq);
        let index = srtp_index(v, seq);
        self.rtp_keys.crypt(ssrc, index, &mut packet[layout.len..]);
        let mut mac = self.rtp_keys.auth.clone();
        mac.update(packet);
        mac.update(&v.to_be_bytes());
        let tag = mac.finalize().into_bytes();
        packet.extend_from_slice(&tag[..self.profile.rtp_tag_len()]);
        Ok(())
    }

    /// Encrypts the compound RTCP packet in `packet` (all but its first 8
    /// bytes) and appends `E || SRTCP index` and the tag.
    pub fn protect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        self.protect_rtcp_as(packet, true)
    }

    /// Like [`protect_rtcp`](Self::protect_rtcp) but only authenticates,
    /// with the E flag clear (RFC 3711 section 3.4).
    pub fn protect_rtcp_unencrypted(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        self.protect_rtcp_as(packet, false)
    }

    fn protect_rtcp_as(&mut self, packet: &mut Vec<u8>, encrypt: bool) -> Result<(), SrtpError> {
        check_rtcp(packet, 0)?;
        let ssrc = rtcp_ssrc(packet);
        let context = self.context(ssrc);
        let index = context.rtcp_index;
        if index > SRTCP_INDEX_MAX {
            return Err(SrtpError::IndexExhausted { ssrc });
        }
        context.rtcp_index += 1;
        if encrypt {
            self.rtcp_keys.crypt(ssrc, u64::from(index), &mut packet[8..]);
        }
        let word = index | if encrypt { 0x8000_0000 } else { 0 };
        packet.extend_from_slice(&word.to_be_bytes());
        let mut mac = self.rtcp_keys.auth.clone();
        mac.update(packet);
        let tag = mac.finalize().into_bytes();
        packet.extend_from_slice(&tag[..self.profile.rtcp_tag_len()]);
        Ok(())
    }

    /// Sets the rollover counter of `ssrc` (and restarts its sequence
    /// tracking), to test wrap-around and late joins.
    pub fn set_rollover_counter(&mut self, ssrc: u32, roc: u32) {
        self.context(ssrc).roc = RocState { roc, s_l: None };
    }

    /// Sets the next SRTCP index of `ssrc` (31 bits; larger values make the
    /// next [`protect_rtcp`](Self::protect_rtcp) fail).
    pub fn set_rtcp_index(&mut self, ssrc: u32, index: u32) {
        self.context(ssrc).rtcp_index = index;
    }

    /// The rollover counter of `ssrc`, once it sent.
    pub fn rollover_counter(&self, ssrc: u32) -> Option<u32> {
        self.streams.get(ssrc).map(|c| c.roc.roc)
    }
}

impl fmt::Debug for SrtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpSender")
            .field("profile", &self.profile)
            .field("keys", &"redacted")
            .field("streams", &self.streams.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(roc: u32, s_l: u16) -> RocState {
        RocState { roc, s_l: Some(s_l) }
    }

    /// RFC 3711 section 3.3.1's estimate, at its boundaries.
    #[test]
    fn rollover_counter_guess() {
        assert_eq!(context(5, 100).guess(101), 5);
        assert_eq!(context(5, 100).guess(50), 5);
        assert_eq!(context(5, 100).guess(100 + 0x8000), 5);
        assert_eq!(context(5, 100).guess(101 + 0x8000), 4);
        assert_eq!(context(5, 65535).guess(0), 6);
        assert_eq!(context(5, 65535).guess(65535 - 0x8000), 5);
        assert_eq!(context(5, 65535).guess(65534 - 0x8000), 6);
        assert_eq!(context(0, 10).guess(60000), -1);
        assert_eq!(context(u32::MAX, 65000).guess(3), 1 << 32);
        let fresh = RocState { roc: 9, s_l: None };
        assert_eq!(fresh.guess(12345), 9);
    }

    #[test]
    fn profiles() {
        for p in [SrtpProfile::AesCm128HmacSha1Tag80, SrtpProfile::AesCm128HmacSha1Tag32] {
            assert_eq!(SrtpProfile::from_sdes_name(p.sdes_name()), Some(p));
            assert_eq!(p.rtcp_tag_len(), 10);
        }
        assert_eq!(SrtpProfile::AesCm128HmacSha1Tag32.rtp_tag_len(), 4);
        assert_eq!(SrtpProfile::from_sdes_name("AEAD_AES_128_GCM"), None);
    }

    #[test]
    fn stream_table_evicts_least_recently_used() {
        let mut t = StreamTable::new(2);
        *t.entry(1, || 10) += 0;
        *t.entry(2, || 20) += 0;
        *t.entry(1, || 0) += 1;
        *t.entry(3, || 30) += 0;
        assert_eq!(t.get(1), Some(&11));
        assert_eq!(t.get(2), None);
        assert_eq!(t.get(3), Some(&30));
    }
}
