//! G.711 μ-law (PCMU, RTP payload type 0) and A-law (PCMA, payload type 8).
//!
//! Decoding is one table look-up per byte. The two 256-entry tables are
//! computed at compile time by `const fn`s that follow the ITU-T G.711
//! segment/mantissa description (the same arithmetic as the reference
//! `g711.c` that sox and most telephony stacks carry), so no hand-typed
//! numbers can be wrong. Output is 16-bit linear PCM at 8 kHz with the
//! usual scaling: μ-law spans ±32124, A-law ±32256.
//!
//! The encoders are provided for building test fixtures and for symmetry;
//! the appliance only decodes.

use crate::{Codec, DecodeError, Decoder, check_output};

/// μ-law byte → linear sample, for all 256 codes.
pub const ULAW_TO_LINEAR: [i16; 256] = build_ulaw_table();
/// A-law byte → linear sample, for all 256 codes.
pub const ALAW_TO_LINEAR: [i16; 256] = build_alaw_table();

const fn ulaw_expand(code: u8) -> i16 {
    // Bits are transmitted inverted. After inversion: sign (bit 7),
    // exponent (bits 4-6), mantissa (bits 0-3). Magnitude in 16-bit scale is
    // ((mantissa << 3) + 0x84) << exponent, minus the 0x84 bias.
    let u = !code;
    let mantissa = (u & 0x0F) as i32;
    let exponent = ((u >> 4) & 0x07) as i32;
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if u & 0x80 != 0 { -magnitude as i16 } else { magnitude as i16 }
}

const fn alaw_expand(code: u8) -> i16 {
    // Even bits are inverted on the line (XOR 0x55). Sign bit set means
    // positive. Segment 0 is linear, segments 1-7 double each time.
    let a = code ^ 0x55;
    let mantissa = (a & 0x0F) as i32;
    let segment = ((a >> 4) & 0x07) as i32;
    let magnitude = match segment {
        0 => (mantissa << 4) + 8,
        _ => ((mantissa << 4) + 0x108) << (segment - 1),
    };
    if a & 0x80 != 0 { magnitude as i16 } else { -magnitude as i16 }
}

const fn build_ulaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = ulaw_expand(i as u8);
        i += 1;
    }
    table
}

const fn build_alaw_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = alaw_expand(i as u8);
        i += 1;
    }
    table
}

/// Decodes one μ-law byte.
#[inline]
pub fn ulaw_to_linear(code: u8) -> i16 {
    ULAW_TO_LINEAR[usize::from(code)]
}

/// Decodes one A-law byte.
#[inline]
pub fn alaw_to_linear(code: u8) -> i16 {
    ALAW_TO_LINEAR[usize::from(code)]
}

/// Encodes one linear sample to μ-law (G.711, 14-bit magnitude, bias 33),
/// truncating 16 to 14 bits as the ITU-T G.191 reference does (sox rounds).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const CLIP: i32 = 8159;
    let mut value = i32::from(sample) >> 2;
    let mask: u8 = if value < 0 {
        value = -value;
        0x7F
    } else {
        0xFF
    };
    value = value.min(CLIP) + 33;
    // Segment = position of the highest set bit above bit 5.
    let mut segment = 0u8;
    while segment < 8 && value > ((0x40 << segment) - 1) {
        segment += 1;
    }
    if segment >= 8 {
        return 0x7F ^ mask;
    }
    let mantissa = ((value >> (segment + 1)) & 0x0F) as u8;
    ((segment << 4) | mantissa) ^ mask
}

/// Encodes one linear sample to A-law (G.711, 13-bit magnitude),
/// truncating 16 to 13 bits as the ITU-T G.191 reference does (sox rounds).
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut value = i32::from(sample) >> 3;
    let mask: u8 = if value >= 0 {
        0xD5
    } else {
        value = -value - 1;
        0x55
    };
    let mut segment = 0u8;
    while segment < 8 && value > ((0x20 << segment) - 1) {
        segment += 1;
    }
    if segment >= 8 {
        return 0x7F ^ mask;
    }
    let shift = if segment < 2 { 1 } else { segment };
    let mantissa = ((value >> shift) & 0x0F) as u8;
    ((segment << 4) | mantissa) ^ mask
}

/// Stateless G.711 decoder (PCMU or PCMA). One byte is one 8 kHz sample.
#[derive(Debug, Clone)]
pub struct G711Decoder {
    codec: Codec,
    table: &'static [i16; 256],
}

impl G711Decoder {
    /// A μ-law (PCMU) decoder.
    pub fn pcmu() -> Self {
        Self { codec: Codec::Pcmu, table: &ULAW_TO_LINEAR }
    }

    /// An A-law (PCMA) decoder.
    pub fn pcma() -> Self {
        Self { codec: Codec::Pcma, table: &ALAW_TO_LINEAR }
    }
}

impl Decoder for G711Decoder {
    fn codec(&self) -> Codec {
        self.codec
    }

    fn samples_in(&self, payload: &[u8]) -> Result<usize, DecodeError> {
        if payload.is_empty() {
            return Err(DecodeError::EmptyPayload { codec: self.codec });
        }
        Ok(payload.len())
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, DecodeError> {
        let n = self.samples_in(payload)?;
        check_output(self.codec, n, out.len())?;
        for (o, &b) in out.iter_mut().zip(payload) {
            *o = self.table[usize::from(b)];
        }
        Ok(n)
    }

    fn reset(&mut self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// G.711 μ-law expansion written directly from the standard's formula,
    /// independent of the table builder: 14-bit magnitude
    /// ((2m + 33) << e) - 33, scaled by 4 to 16 bits.
    fn ulaw_reference(code: u8) -> i16 {
        let c = !code;
        let sign_negative = c & 0x80 != 0;
        let e = u32::from((c >> 4) & 7);
        let m = i32::from(c & 0x0F);
        let magnitude14 = ((2 * m + 33) << e) - 33;
        let v = magnitude14 * 4;
        (if sign_negative { -v } else { v }) as i16
    }

    /// G.711 A-law expansion from the standard: 13-bit magnitude 2m + 1 in
    /// segment 0, (2m + 33) << (e - 1) above, scaled by 8 to 16 bits.
    fn alaw_reference(code: u8) -> i16 {
        let c = code ^ 0x55;
        let positive = c & 0x80 != 0;
        let e = u32::from((c >> 4) & 7);
        let m = i32::from(c & 0x0F);
        let magnitude13 = if e == 0 { 2 * m + 1 } else { (2 * m + 33) << (e - 1) };
        let v = magnitude13 * 8;
        (if positive { v } else { -v }) as i16
    }

    #[test]
    fn tables_match_the_g711_formulae() {
        for code in 0..=255u8 {
            assert_eq!(ulaw_to_linear(code), ulaw_reference(code), "μ-law code {code:#04x}");
            assert_eq!(alaw_to_linear(code), alaw_reference(code), "A-law code {code:#04x}");
        }
    }

    #[test]
    fn known_points() {
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
    }

    #[test]
    fn encode_decode_round_trip_is_idempotent() {
        // Decoding a code and encoding the result gives the code back
        // (except μ-law's two zero codes, which both decode to 0).
        for code in 0..=255u8 {
            let u = linear_to_ulaw(ulaw_to_linear(code));
            if code != 0x7F {
                assert_eq!(u, code, "μ-law {code:#04x}");
            }
            assert_eq!(linear_to_alaw(alaw_to_linear(code)), code, "A-law {code:#04x}");
        }
    }

    #[test]
    fn encoder_error_is_within_half_a_step() {
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let u = ulaw_to_linear(linear_to_ulaw(s));
            let a = alaw_to_linear(linear_to_alaw(s));
            // The largest G.711 step is 1024 (μ-law) and 1024 (A-law) in
            // 16-bit scale; clipping adds at most 644 at the ends.
            assert!((i32::from(u) - i32::from(s)).abs() <= 1024, "μ-law {s} -> {u}");
            assert!((i32::from(a) - i32::from(s)).abs() <= 1024, "A-law {s} -> {a}");
        }
    }

    #[test]
    fn decoder_checks_its_output_buffer() {
        let mut d = G711Decoder::pcmu();
        let mut out = [0i16; 2];
        assert!(matches!(
            d.decode(&[0xFF; 3], &mut out),
            Err(DecodeError::OutputTooSmall { needed: 3, available: 2, .. })
        ));
        assert!(matches!(d.decode(&[], &mut out), Err(DecodeError::EmptyPayload { .. })));
        assert_eq!(d.decode(&[0x80, 0x00], &mut out).unwrap(), 2);
        assert_eq!(out, [32124, -32124]);
    }
}
