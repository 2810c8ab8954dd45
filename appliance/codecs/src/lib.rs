//! Audio payload decoders for callguard's media plane.
//!
//! # What it is for
//!
//! The appliance records each call leg's RTP and turns it into 16 kHz mono
//! audio for speech-to-text. This crate is the codec layer of that path:
//! RTP payload bytes in, 16-bit PCM out at the codec's own rate, plus the
//! RFC 4733 telephone-events that carry DTMF key presses. Jitter buffering,
//! concealment policy and resampling are the next layer up
//! (`callguard-media`).
//!
//! | codec | RTP name / PT | RTP clock | output rate | PLC | implementation |
//! | --- | --- | --- | --- | --- | --- |
//! | [`Codec::Pcmu`] | PCMU / 0 | 8000 | 8000 | caller | [`g711`], pure Rust tables |
//! | [`Codec::Pcma`] | PCMA / 8 | 8000 | 8000 | caller | [`g711`], pure Rust tables |
//! | [`Codec::G722`] | G722 / 9 | 8000 | 16000 | caller | [`g722`], pure Rust (ITU-T G.722) |
//! | [`Codec::Opus`] | opus / dynamic | 48000 | 48000 | libopus | [`opus`](mod@opus), libopus via the `opus` crate |
//! | `Codec::AmrNb` (feature `amr`) | AMR / dynamic | 8000 | 8000 | opencore | `amr`, libopencore-amrnb (FFI) |
//! | `Codec::AmrWb` (feature `amr`) | AMR-WB / dynamic | 16000 | 16000 | opencore | `amr`, libopencore-amrwb (FFI) |
//!
//! ```
//! use callguard_codecs::{Codec, new_decoder};
//!
//! let codec = Codec::from_rtpmap("PCMU", 8000).unwrap();
//! let mut decoder = new_decoder(codec)?;
//! let payload = [0xFFu8; 160]; // 20 ms of μ-law silence
//! let mut pcm = [0i16; 160];
//! let n = decoder.decode(&payload, &mut pcm)?;
//! assert_eq!((n, pcm[0]), (160, 0));
//! assert!(!decoder.has_plc()); // the caller conceals G.711 losses
//! # Ok::<(), callguard_codecs::DecodeError>(())
//! ```
//!
//! # Design
//!
//! * One object-safe [`Decoder`] trait: `decode(payload, out)` writes into
//!   a caller buffer (no allocation per packet), `samples_in(payload)` says
//!   how many samples a payload will produce (so a jitter buffer can place
//!   it before decoding), and `conceal(samples, out)` is the lost-frame
//!   path. Codecs with their own packet loss concealment (Opus) return
//!   `has_plc() == true` and fill the gap; the others write nothing and the
//!   caller applies its own fade/repeat.
//! * G.711 decoding is a table look-up; both tables are computed at compile
//!   time from the G.711 segment formulae and checked in the tests against
//!   an independent transcription of the standard and, bit for bit, against
//!   sox.
//! * G.722 is implemented here from the ITU-T algorithm: no maintained
//!   stand-alone crate exists (`g722` is not on crates.io; the ones that
//!   exist ship inside larger VoIP frameworks). It is checked against
//!   FFmpeg's decoder.
//! * Opus uses libopus, the reference implementation, through the `opus`
//!   crate linked to the system library (Debian `libopus-dev`) with
//!   pkg-config.
//! * Bad input never panics: every failure is a [`DecodeError`] naming the
//!   codec and the defect.
//!
//! # Limits
//!
//! * Mono only (Opus stereo is down-mixed by libopus). G.722 is the
//!   64 kbit/s mode only; G.722's 56/48 kbit/s modes do not occur in RTP.
//! * No Opus in-band FEC (LBRR) recovery; losses go through PLC.
//! * AMR-NB/AMR-WB need the `amr` feature: there is no maintained safe
//!   Rust wrapper of Debian's opencore-amr, so the feature adds `unsafe`
//!   FFI to this crate, confined to `amr/ffi.rs` (three functions per
//!   library, declared by hand, linked by build.rs with pkg-config; needs
//!   `libopencore-amrnb-dev libopencore-amrwb-dev`). Both RFC 4867 payload
//!   formats (bandwidth-efficient, the default, and octet-aligned), single
//!   channel, without interleaving, CRC or robust sorting.
//! * Decoders hold state between packets but no audio history beyond what
//!   the algorithm needs (G.722: 12 QMF pairs; libopus: its own state).
//!   `unsafe` code is forbidden in this crate without the `amr` feature;
//!   libopus's FFI lives in the `opus`/`audiopus_sys` crates. With `amr`,
//!   `unsafe` is denied everywhere but the opencore FFI items.

#![cfg_attr(not(feature = "amr"), forbid(unsafe_code))]
#![cfg_attr(feature = "amr", deny(unsafe_code))]
#![warn(missing_docs)]

#[cfg(feature = "amr")]
pub mod amr;
pub mod dtmf;
pub mod g711;
pub mod g722;
pub mod opus;

#[cfg(feature = "amr")]
pub use amr::{AmrDecoder, AmrPayloadFormat};
pub use dtmf::{DtmfCollector, DtmfError, DtmfEvent, TelephoneEvent};
pub use g711::G711Decoder;
pub use g722::G722Decoder;
pub use opus::OpusDecoder;

/// The audio codecs the appliance decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// G.711 μ-law.
    Pcmu,
    /// G.711 A-law.
    Pcma,
    /// G.722 at 64 kbit/s.
    G722,
    /// Opus (RFC 7587).
    Opus,
    /// AMR-NB (RFC 4867, `AMR/8000`).
    #[cfg(feature = "amr")]
    AmrNb,
    /// AMR-WB (RFC 4867, `AMR-WB/16000`).
    #[cfg(feature = "amr")]
    AmrWb,
}

impl Codec {
    /// The codec of an SDP `a=rtpmap` encoding name and clock rate, or
    /// `None` if it is not one this crate decodes.
    pub fn from_rtpmap(encoding_name: &str, clock_rate: u32) -> Option<Self> {
        let codec = if encoding_name.eq_ignore_ascii_case("PCMU") {
            Self::Pcmu
        } else if encoding_name.eq_ignore_ascii_case("PCMA") {
            Self::Pcma
        } else if encoding_name.eq_ignore_ascii_case("G722") {
            Self::G722
        } else if encoding_name.eq_ignore_ascii_case("opus") {
            Self::Opus
        } else {
            amr_codec(encoding_name)?
        };
        (codec.rtp_clock_rate() == clock_rate).then_some(codec)
    }

    /// The codec of a static RTP payload type (RFC 3551), if any.
    pub fn from_static_payload_type(payload_type: u8) -> Option<Self> {
        match payload_type {
            0 => Some(Self::Pcmu),
            8 => Some(Self::Pcma),
            9 => Some(Self::G722),
            _ => None,
        }
    }

    /// The codec's static payload type, if it has one.
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            Self::Pcmu => Some(0),
            Self::Pcma => Some(8),
            Self::G722 => Some(9),
            Self::Opus => None,
            #[cfg(feature = "amr")]
            Self::AmrNb | Self::AmrWb => None,
        }
    }

    /// The SDP encoding name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
            Self::G722 => "G722",
            Self::Opus => "opus",
            #[cfg(feature = "amr")]
            Self::AmrNb => "AMR",
            #[cfg(feature = "amr")]
            Self::AmrWb => "AMR-WB",
        }
    }

    /// Rate of the decoded PCM, in Hz.
    pub fn sample_rate(self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma => 8_000,
            Self::G722 => 16_000,
            Self::Opus => 48_000,
            #[cfg(feature = "amr")]
            Self::AmrNb => 8_000,
            #[cfg(feature = "amr")]
            Self::AmrWb => 16_000,
        }
    }

    /// RTP timestamp clock rate, in Hz (8000 for G.722, RFC 3551 §4.5.2).
    pub fn rtp_clock_rate(self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma | Self::G722 => 8_000,
            Self::Opus => 48_000,
            #[cfg(feature = "amr")]
            Self::AmrNb => 8_000,
            #[cfg(feature = "amr")]
            Self::AmrWb => 16_000,
        }
    }

    /// Whether the codec conceals lost packets itself.
    pub fn has_plc(self) -> bool {
        match self {
            Self::Opus => true,
            #[cfg(feature = "amr")]
            Self::AmrNb | Self::AmrWb => true,
            _ => false,
        }
    }
}

/// The AMR codec of an rtpmap encoding name (clock rate checked by the caller).
#[cfg(feature = "amr")]
fn amr_codec(encoding_name: &str) -> Option<Codec> {
    if encoding_name.eq_ignore_ascii_case("AMR") {
        Some(Codec::AmrNb)
    } else if encoding_name.eq_ignore_ascii_case("AMR-WB") {
        Some(Codec::AmrWb)
    } else {
        None
    }
}

#[cfg(not(feature = "amr"))]
fn amr_codec(_encoding_name: &str) -> Option<Codec> {
    None
}

impl std::fmt::Display for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// An RTP packet with no payload where audio was expected.
    #[error("{codec} packet has an empty payload")]
    EmptyPayload {
        /// Codec of the stream.
        codec: Codec,
    },
    /// The caller's buffer is shorter than the decoded payload.
    #[error("{codec} payload decodes to {needed} samples but the output buffer holds {available}")]
    OutputTooSmall {
        /// Codec of the stream.
        codec: Codec,
        /// Samples the payload decodes to.
        needed: usize,
        /// Length of the buffer given.
        available: usize,
    },
    /// The payload is malformed for the codec.
    #[error("{codec} payload is malformed: {reason}")]
    Invalid {
        /// Codec of the stream.
        codec: Codec,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// libopus reported an error.
    #[error("opus: {context} failed: {message}")]
    Opus {
        /// What was being done.
        context: &'static str,
        /// libopus's description of the error.
        message: String,
    },
    /// The opencore AMR library failed.
    #[cfg(feature = "amr")]
    #[error("AMR: {context} failed")]
    Amr {
        /// What was being done.
        context: &'static str,
    },
}

pub(crate) fn check_output(codec: Codec, needed: usize, available: usize) -> Result<(), DecodeError> {
    if needed > available {
        return Err(DecodeError::OutputTooSmall { codec, needed, available });
    }
    Ok(())
}

/// A payload decoder for one RTP stream.
///
/// Decoders are stateful (G.722's ADPCM predictors, libopus): use one per
/// stream and [`Decoder::reset`] it when the stream's source changes.
pub trait Decoder: Send {
    /// The codec decoded.
    fn codec(&self) -> Codec;

    /// Rate of the PCM written by [`Decoder::decode`], in Hz.
    fn sample_rate(&self) -> u32 {
        self.codec().sample_rate()
    }

    /// How many samples `payload` decodes to, without decoding it.
    fn samples_in(&self, payload: &[u8]) -> Result<usize, DecodeError>;

    /// Decodes one RTP payload into `out`, returning the number of samples
    /// written (equal to [`Decoder::samples_in`]).
    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, DecodeError>;

    /// Whether [`Decoder::conceal`] produces audio.
    fn has_plc(&self) -> bool {
        false
    }

    /// The lost-frame path: fills up to `samples` samples of `out` with the
    /// codec's packet loss concealment and returns how many it wrote. Codecs
    /// without PLC write nothing and return 0; the caller then applies its
    /// own repeat/fade or silence. Opus conceals in multiples of 2.5 ms and
    /// may return less than asked.
    fn conceal(&mut self, samples: usize, out: &mut [i16]) -> Result<usize, DecodeError> {
        let _ = (samples, out);
        Ok(0)
    }

    /// Returns the decoder to its initial state.
    fn reset(&mut self);
}

/// A decoder for `codec`. AMR streams get the default bandwidth-efficient
/// payload format; use [`new_amr_decoder`] for an `octet-align=1` stream.
pub fn new_decoder(codec: Codec) -> Result<Box<dyn Decoder>, DecodeError> {
    Ok(match codec {
        Codec::Pcmu => Box::new(G711Decoder::pcmu()),
        Codec::Pcma => Box::new(G711Decoder::pcma()),
        Codec::G722 => Box::new(G722Decoder::new()),
        Codec::Opus => Box::new(OpusDecoder::new()?),
        #[cfg(feature = "amr")]
        Codec::AmrNb | Codec::AmrWb => Box::new(AmrDecoder::new(codec, AmrPayloadFormat::default())?),
    })
}

/// An AMR-NB or AMR-WB decoder for a stream in `format` (see
/// [`AmrPayloadFormat::from_fmtp`]).
#[cfg(feature = "amr")]
pub fn new_amr_decoder(codec: Codec, format: AmrPayloadFormat) -> Result<Box<dyn Decoder>, DecodeError> {
    Ok(Box::new(AmrDecoder::new(codec, format)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtpmap_names() {
        assert_eq!(Codec::from_rtpmap("pcmu", 8000), Some(Codec::Pcmu));
        assert_eq!(Codec::from_rtpmap("PCMA", 8000), Some(Codec::Pcma));
        assert_eq!(Codec::from_rtpmap("G722", 8000), Some(Codec::G722));
        assert_eq!(Codec::from_rtpmap("G722", 16000), None);
        assert_eq!(Codec::from_rtpmap("opus", 48000), Some(Codec::Opus));
        #[cfg(not(feature = "amr"))]
        assert_eq!(Codec::from_rtpmap("AMR", 8000), None);
        #[cfg(feature = "amr")]
        {
            assert_eq!(Codec::from_rtpmap("AMR", 8000), Some(Codec::AmrNb));
            assert_eq!(Codec::from_rtpmap("amr-wb", 16000), Some(Codec::AmrWb));
            assert_eq!(Codec::from_rtpmap("AMR-WB", 8000), None);
            assert_eq!(Codec::AmrWb.to_string(), "AMR-WB");
            assert_eq!((Codec::AmrNb.sample_rate(), Codec::AmrWb.sample_rate()), (8000, 16000));
            assert_eq!(Codec::AmrNb.static_payload_type(), None);
        }
        assert_eq!(Codec::from_static_payload_type(9), Some(Codec::G722));
        assert_eq!(Codec::Pcma.static_payload_type(), Some(8));
        assert_eq!(Codec::Opus.to_string(), "opus");
    }

    #[test]
    fn every_codec_builds_and_rejects_empty_payloads() {
        #[cfg(not(feature = "amr"))]
        let codecs = [Codec::Pcmu, Codec::Pcma, Codec::G722, Codec::Opus];
        #[cfg(feature = "amr")]
        let codecs = [Codec::Pcmu, Codec::Pcma, Codec::G722, Codec::Opus, Codec::AmrNb, Codec::AmrWb];
        for codec in codecs {
            let mut d = new_decoder(codec).unwrap();
            assert_eq!(d.codec(), codec);
            assert_eq!(d.sample_rate(), codec.sample_rate());
            assert_eq!(d.has_plc(), codec.has_plc());
            let mut out = [0i16; 8];
            assert!(d.decode(&[], &mut out).is_err());
            if !codec.has_plc() {
                assert_eq!(d.conceal(8, &mut out).unwrap(), 0);
            }
        }
    }
}
