//! Opus (RFC 6716, RTP payload RFC 7587) through libopus.
//!
//! The decoder always runs at 48 kHz mono: RFC 7587 fixes the RTP clock at
//! 48 kHz whatever the encoder's internal bandwidth, and a stereo stream is
//! down-mixed by libopus when decoded to one channel. Packet loss
//! concealment is libopus's own: [`Decoder::conceal`] calls `opus_decode`
//! with no data, which extrapolates from the decoder state (and fades out
//! by itself over long gaps).
//!
//! The unsafe FFI lives in the maintained `opus` crate (which links Debian's
//! libopus through `audiopus_sys` and pkg-config); this module is safe code.

use crate::{Codec, DecodeError, Decoder, check_output};

/// Opus output rate used here (and the RTP clock rate of RFC 7587).
pub const OPUS_RATE: u32 = 48_000;
/// The longest Opus packet: 120 ms at 48 kHz.
pub const MAX_PACKET_SAMPLES: usize = 5_760;
/// Concealment granularity: libopus conceals in multiples of 2.5 ms.
pub const CONCEAL_QUANTUM: usize = 120;

/// Opus decoder producing 48 kHz mono 16-bit PCM.
pub struct OpusDecoder {
    inner: opus::Decoder,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder").finish_non_exhaustive()
    }
}

fn opus_error(context: &'static str, e: opus::Error) -> DecodeError {
    DecodeError::Opus { context, message: e.description().to_owned() }
}

impl OpusDecoder {
    /// A 48 kHz mono decoder.
    pub fn new() -> Result<Self, DecodeError> {
        let inner =
            opus::Decoder::new(OPUS_RATE, opus::Channels::Mono).map_err(|e| opus_error("creating the decoder", e))?;
        Ok(Self { inner })
    }
}

impl Decoder for OpusDecoder {
    fn codec(&self) -> Codec {
        Codec::Opus
    }

    fn samples_in(&self, payload: &[u8]) -> Result<usize, DecodeError> {
        if payload.is_empty() {
            return Err(DecodeError::EmptyPayload { codec: Codec::Opus });
        }
        let n = opus::packet::get_nb_samples(payload, OPUS_RATE)
            .map_err(|e| opus_error("reading the packet's duration", e))?;
        if n == 0 || n > MAX_PACKET_SAMPLES {
            return Err(DecodeError::Invalid { codec: Codec::Opus, reason: "packet duration outside 2.5..120 ms" });
        }
        Ok(n)
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, DecodeError> {
        let n = self.samples_in(payload)?;
        check_output(Codec::Opus, n, out.len())?;
        let got = self.inner.decode(payload, &mut out[..n], false).map_err(|e| opus_error("decoding a packet", e))?;
        Ok(got)
    }

    fn has_plc(&self) -> bool {
        true
    }

    /// Runs libopus's loss concealment for `samples` samples, rounded down
    /// to a multiple of 2.5 ms (120 samples); returns how many it wrote.
    fn conceal(&mut self, samples: usize, out: &mut [i16]) -> Result<usize, DecodeError> {
        let wanted = samples.min(out.len()) / CONCEAL_QUANTUM * CONCEAL_QUANTUM;
        let mut done = 0;
        while done < wanted {
            let chunk = (wanted - done).min(MAX_PACKET_SAMPLES);
            let got = self
                .inner
                .decode(&[], &mut out[done..done + chunk], false)
                .map_err(|e| opus_error("concealing a lost packet", e))?;
            if got == 0 {
                break;
            }
            done += got;
        }
        Ok(done)
    }

    fn reset(&mut self) {
        // reset_state only fails on a destroyed decoder; recreate if it does.
        if self.inner.reset_state().is_err()
            && let Ok(fresh) = Self::new()
        {
            *self = fresh;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_tone(frames: usize) -> Vec<Vec<u8>> {
        let mut enc = opus::Encoder::new(OPUS_RATE, opus::Channels::Mono, opus::Application::Voip).unwrap();
        let mut packets = Vec::new();
        for f in 0..frames {
            let pcm: Vec<i16> = (0..960)
                .map(|i| {
                    let t = (f * 960 + i) as f64 / 48_000.0;
                    (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
                })
                .collect();
            packets.push(enc.encode_vec(&pcm, 1500).unwrap());
        }
        packets
    }

    #[test]
    fn decodes_and_conceals() {
        let packets = encode_tone(10);
        let mut d = OpusDecoder::new().unwrap();
        let mut out = vec![0i16; MAX_PACKET_SAMPLES];
        for p in &packets {
            assert_eq!(d.samples_in(p).unwrap(), 960);
            assert_eq!(d.decode(p, &mut out).unwrap(), 960);
        }
        // Concealment continues the tone with energy, rounded to 2.5 ms.
        assert_eq!(d.conceal(1000, &mut out).unwrap(), 960);
        let energy: f64 = out[..960].iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / 960.0;
        assert!(energy.sqrt() > 500.0, "PLC output rms {}", energy.sqrt());
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        let mut d = OpusDecoder::new().unwrap();
        let mut out = vec![0i16; MAX_PACKET_SAMPLES];
        assert!(d.decode(&[], &mut out).is_err());
        // Code 3 packet with an impossible frame count.
        assert!(d.decode(&[0x03, 0xFF], &mut out).is_err());
        let mut small = [0i16; 10];
        let packets = encode_tone(1);
        assert!(matches!(d.decode(&packets[0], &mut small), Err(DecodeError::OutputTooSmall { .. })));
    }
}
