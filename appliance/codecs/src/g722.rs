//! G.722 decoder, 64 kbit/s mode (mode 1), 16 kHz output.
//!
//! Written from the ITU-T G.722 (09/2012) algorithm description: each octet
//! carries a 6-bit low-band and a 2-bit high-band ADPCM code word (high band
//! in the two most significant bits, the RTP packing of RFC 3551 §4.5.2).
//! Each sub-band is decoded by the blocks the standard names (INVQAL/INVQBL
//! inverse quantisers, LOGSCL/SCALEL scale-factor adaptation, and block 4's
//! pole-zero predictor: RECONS, PARREC, UPPOL1/2, UPZERO, DELAYA, FILTEP,
//! FILTEZ, PREDIC), then the two 8 kHz sub-band signals are recombined by
//! the 24-tap receive QMF into two 16 kHz samples.
//!
//! All arithmetic is the standard's fixed-point integer arithmetic, so the
//! output is bit-exact with other conforming implementations (the test
//! suite compares it with FFmpeg's decoder). The ITU "test mode" output
//! (un-QMF'd sub-band samples) and the 56/48 kbit/s modes are not
//! implemented: RTP G.722 is 64 kbit/s.
//!
//! Note the RTP clock of G.722 is 8000 Hz for historical reasons although
//! it carries 16 kHz audio (RFC 3551 §4.5.2): one octet is one RTP tick and
//! two output samples.

use crate::{Codec, DecodeError, Decoder, check_output};

/// Low-band 6-bit inverse quantiser output levels (INVQBL, Table 6/G.722).
const QM6: [i32; 64] = [
    -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576,
    -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040,
    -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
    4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
];
/// Low-band 4-bit inverse quantiser (INVQAL) used for predictor adaptation.
const QM4: [i32; 16] =
    [0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0];
/// High-band 2-bit inverse quantiser (INVQAH).
const QM2: [i32; 4] = [-7408, -1616, 7408, 1616];
/// Low-band log scale-factor multipliers (LOGSCL, W_L) indexed through RL42.
const WL: [i32; 8] = [-60, -30, 58, 172, 334, 538, 1198, 3042];
const RL42: [usize; 16] = [0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0];
/// High-band log scale-factor multipliers (LOGSCH, W_H) indexed through RH2.
const WH: [i32; 3] = [0, -214, 798];
const RH2: [usize; 4] = [2, 1, 2, 1];
/// Inverse log-to-linear table (ILB) used by SCALEL/SCALEH.
const ILB: [i32; 32] = [
    2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834, 2896, 2960, 3025,
    3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
];
/// Receive QMF coefficients (Table 11/G.722), half of the symmetric 24 taps.
const QMF: [i32; 12] = [3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11];

#[inline]
fn sat16(x: i32) -> i32 {
    x.clamp(-32768, 32767)
}

/// State of one sub-band ADPCM decoder (block 4 and the scale factor).
#[derive(Debug, Clone, Copy)]
struct Band {
    /// Signal estimate (PREDIC output).
    s: i32,
    /// Pole-section partial estimate (FILTEP).
    sp: i32,
    /// Zero-section partial estimate (FILTEZ).
    sz: i32,
    /// Reconstructed signal r[0..3].
    r: [i32; 3],
    /// Pole coefficients a[1..3] (index 0 unused).
    a: [i32; 3],
    ap: [i32; 3],
    /// Partially reconstructed signal p[0..3].
    p: [i32; 3],
    /// Quantised difference signal d[0..7].
    d: [i32; 7],
    /// Zero coefficients b[1..7] (index 0 unused).
    b: [i32; 7],
    bp: [i32; 7],
    sg: [i32; 7],
    /// Log scale factor (NBL / NBH).
    nb: i32,
    /// Linear scale factor (DETL / DETH).
    det: i32,
}

impl Band {
    fn new(det: i32) -> Self {
        Self {
            s: 0,
            sp: 0,
            sz: 0,
            r: [0; 3],
            a: [0; 3],
            ap: [0; 3],
            p: [0; 3],
            d: [0; 7],
            b: [0; 7],
            bp: [0; 7],
            sg: [0; 7],
            nb: 0,
            det,
        }
    }

    /// Block 4: reconstruction, predictor adaptation and prediction for the
    /// next sample, given the quantised difference `d`.
    fn block4(&mut self, d: i32) {
        // RECONS
        self.d[0] = d;
        self.r[0] = sat16(self.s + d);
        // PARREC
        self.p[0] = sat16(self.sz + d);

        // UPPOL2
        for i in 0..3 {
            self.sg[i] = self.p[i] >> 15;
        }
        let wd1 = sat16(self.a[1] << 2);
        let mut wd2 = if self.sg[0] == self.sg[1] { -wd1 } else { wd1 };
        if wd2 > 32767 {
            wd2 = 32767;
        }
        let mut wd3 = (wd2 >> 7) + if self.sg[0] == self.sg[2] { 128 } else { -128 };
        wd3 += (self.a[2] * 32512) >> 15;
        self.ap[2] = wd3.clamp(-12288, 12288);

        // UPPOL1
        self.sg[0] = self.p[0] >> 15;
        self.sg[1] = self.p[1] >> 15;
        let wd1 = if self.sg[0] == self.sg[1] { 192 } else { -192 };
        let wd2 = (self.a[1] * 32640) >> 15;
        let limit = sat16(15360 - self.ap[2]);
        self.ap[1] = sat16(wd1 + wd2).clamp(-limit, limit);

        // UPZERO
        let wd1 = if d == 0 { 0 } else { 128 };
        self.sg[0] = d >> 15;
        for i in 1..7 {
            self.sg[i] = self.d[i] >> 15;
            let wd2 = if self.sg[i] == self.sg[0] { wd1 } else { -wd1 };
            let wd3 = (self.b[i] * 32640) >> 15;
            self.bp[i] = sat16(wd2 + wd3);
        }

        // DELAYA
        for i in (1..7).rev() {
            self.d[i] = self.d[i - 1];
            self.b[i] = self.bp[i];
        }
        for i in (1..3).rev() {
            self.r[i] = self.r[i - 1];
            self.p[i] = self.p[i - 1];
            self.a[i] = self.ap[i];
        }

        // FILTEP
        let wd1 = (self.a[1] * sat16(self.r[1] + self.r[1])) >> 15;
        let wd2 = (self.a[2] * sat16(self.r[2] + self.r[2])) >> 15;
        self.sp = sat16(wd1 + wd2);

        // FILTEZ
        let mut sz = 0;
        for i in (1..7).rev() {
            sz += (self.b[i] * sat16(self.d[i] + self.d[i])) >> 15;
        }
        self.sz = sat16(sz);

        // PREDIC
        self.s = sat16(self.sp + self.sz);
    }
}

/// Scale-factor adaptation shared by both bands (LOGSCL/LOGSCH + SCALEL/SCALEH).
#[inline]
fn adapt_scale(band: &mut Band, w: i32, nb_max: i32, shift_base: i32) {
    let nb = ((band.nb * 127) >> 7) + w;
    band.nb = nb.clamp(0, nb_max);
    let wd1 = ((band.nb >> 6) & 31) as usize;
    let wd2 = shift_base - (band.nb >> 11);
    let wd3 = if wd2 < 0 { ILB[wd1] << -wd2 } else { ILB[wd1] >> wd2 };
    band.det = wd3 << 2;
}

/// G.722 64 kbit/s decoder. One payload octet yields two 16 kHz samples.
#[derive(Debug, Clone)]
pub struct G722Decoder {
    low: Band,
    high: Band,
    /// QMF delay line: the last 12 (rlow + rhigh, rlow - rhigh) pairs.
    qmf: [i32; 24],
}

impl Default for G722Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl G722Decoder {
    /// A decoder in the reset state of the standard (DETL = 32, DETH = 8).
    pub fn new() -> Self {
        Self { low: Band::new(32), high: Band::new(8), qmf: [0; 24] }
    }

    /// Decodes one octet into two 16 kHz samples.
    #[inline]
    fn decode_octet(&mut self, code: u8) -> [i16; 2] {
        let ilow = usize::from(code & 0x3F);
        let ihigh = usize::from(code >> 6);

        // Low band: INVQBL (6-bit) for the output, INVQAL (4-bit) for adaptation.
        let dlow6 = (self.low.det * QM6[ilow]) >> 15;
        let rlow = (self.low.s + dlow6).clamp(-16384, 16383);
        let ilow4 = ilow >> 2;
        let dlow4 = (self.low.det * QM4[ilow4]) >> 15;
        adapt_scale(&mut self.low, WL[RL42[ilow4]], 18432, 8);
        self.low.block4(dlow4);

        // High band: INVQAH.
        let dhigh = (self.high.det * QM2[ihigh]) >> 15;
        let rhigh = (dhigh + self.high.s).clamp(-16384, 16383);
        adapt_scale(&mut self.high, WH[RH2[ihigh]], 22528, 10);
        self.high.block4(dhigh);

        // Receive QMF.
        self.qmf.copy_within(2.., 0);
        self.qmf[22] = rlow + rhigh;
        self.qmf[23] = rlow - rhigh;
        let mut xout1 = 0i32;
        let mut xout2 = 0i32;
        for i in 0..12 {
            xout2 += self.qmf[2 * i] * QMF[i];
            xout1 += self.qmf[2 * i + 1] * QMF[11 - i];
        }
        [sat16(xout1 >> 11) as i16, sat16(xout2 >> 11) as i16]
    }
}

impl Decoder for G722Decoder {
    fn codec(&self) -> Codec {
        Codec::G722
    }

    fn samples_in(&self, payload: &[u8]) -> Result<usize, DecodeError> {
        if payload.is_empty() {
            return Err(DecodeError::EmptyPayload { codec: Codec::G722 });
        }
        Ok(payload.len() * 2)
    }

    fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, DecodeError> {
        let n = self.samples_in(payload)?;
        check_output(Codec::G722, n, out.len())?;
        for (pair, &code) in out.chunks_exact_mut(2).zip(payload) {
            pair.copy_from_slice(&self.decode_octet(code));
        }
        Ok(n)
    }

    fn reset(&mut self) {
        *self = Self::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_codes_decode_to_near_silence() {
        // 0xFF: low code 0x3F (smallest positive... -136 level), high 3.
        let mut d = G722Decoder::new();
        let mut out = vec![0i16; 320];
        d.decode(&[0xFF; 160], &mut out).unwrap();
        assert!(out.iter().all(|&s| s.abs() < 64), "{:?}", &out[..16]);
    }

    #[test]
    fn never_panics_on_any_octet_stream() {
        let mut d = G722Decoder::new();
        let mut out = vec![0i16; 512];
        let mut x: u32 = 1;
        for _ in 0..200 {
            let payload: Vec<u8> = (0..256)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            assert_eq!(d.decode(&payload, &mut out).unwrap(), 512);
        }
        // Extreme patterns too.
        for b in [0x00u8, 0x3F, 0x40, 0x80, 0xC0, 0xFF, 0x20] {
            d.decode(&[b; 256], &mut out).unwrap();
        }
    }

    #[test]
    fn reset_restores_initial_state() {
        let mut a = G722Decoder::new();
        let mut out = vec![0i16; 64];
        a.decode(&[0x12; 32], &mut out).unwrap();
        a.reset();
        let mut b = G722Decoder::new();
        let mut o1 = vec![0i16; 64];
        let mut o2 = vec![0i16; 64];
        a.decode(&[0x5A; 32], &mut o1).unwrap();
        b.decode(&[0x5A; 32], &mut o2).unwrap();
        assert_eq!(o1, o2);
    }
}
