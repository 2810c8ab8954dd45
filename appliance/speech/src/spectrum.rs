//! Power spectrum of one 20 ms frame: Hann window, zero-padded 512-point
//! radix-2 FFT. Written here rather than pulled in because the detector
//! needs exactly one fixed size and no allocation per frame.

use crate::FRAME_SAMPLES;

/// FFT length: 320 samples zero-padded to the next power of two.
pub(crate) const FFT_LEN: usize = 512;
/// Frequency resolution of a bin at 16 kHz.
pub(crate) const BIN_HZ: f32 = crate::SAMPLE_RATE as f32 / FFT_LEN as f32;

/// Reusable buffers and tables for [`Spectrum::power`].
#[derive(Debug, Clone)]
pub(crate) struct Spectrum {
    window: Vec<f32>,
    /// Sum of the squared window, to turn bin powers into mean square.
    window_energy: f32,
    twiddles: Vec<(f32, f32)>,
    re: Vec<f32>,
    im: Vec<f32>,
    power: Vec<f32>,
}

impl Spectrum {
    pub(crate) fn new() -> Self {
        let window: Vec<f32> = (0..FRAME_SAMPLES)
            .map(|n| {
                let x = std::f32::consts::TAU * n as f32 / FRAME_SAMPLES as f32;
                0.5 - 0.5 * x.cos()
            })
            .collect();
        let window_energy = window.iter().map(|w| w * w).sum();
        let twiddles = (0..FFT_LEN / 2)
            .map(|k| {
                let a = -std::f32::consts::TAU * k as f32 / FFT_LEN as f32;
                (a.cos(), a.sin())
            })
            .collect();
        Self {
            window,
            window_energy,
            twiddles,
            re: vec![0.0; FFT_LEN],
            im: vec![0.0; FFT_LEN],
            power: vec![0.0; FFT_LEN / 2 + 1],
        }
    }

    /// One-sided power per bin (0..=256), scaled so that summing the bins
    /// of a band gives that band's mean square: a full-scale sine sums
    /// to 0.5.
    pub(crate) fn power(&mut self, frame: &[f32; FRAME_SAMPLES]) -> &[f32] {
        for (i, (re, im)) in self.re.iter_mut().zip(self.im.iter_mut()).enumerate() {
            *re = if i < FRAME_SAMPLES { frame[i] * self.window[i] } else { 0.0 };
            *im = 0.0;
        }
        self.fft_in_place();
        let scale = 2.0 / (FFT_LEN as f32 * self.window_energy);
        for (k, p) in self.power.iter_mut().enumerate() {
            *p = (self.re[k] * self.re[k] + self.im[k] * self.im[k]) * scale;
        }
        &self.power
    }

    /// Iterative radix-2 decimation-in-time FFT.
    fn fft_in_place(&mut self) {
        let n = FFT_LEN;
        let bits = n.trailing_zeros();
        for i in 0..n {
            let j = i.reverse_bits() >> (usize::BITS - bits);
            if j > i {
                self.re.swap(i, j);
                self.im.swap(i, j);
            }
        }
        let mut len = 2;
        while len <= n {
            let step = n / len;
            for start in (0..n).step_by(len) {
                for k in 0..len / 2 {
                    let (wr, wi) = self.twiddles[k * step];
                    let (a, b) = (start + k, start + k + len / 2);
                    let tr = self.re[b] * wr - self.im[b] * wi;
                    let ti = self.re[b] * wi + self.im[b] * wr;
                    self.re[b] = self.re[a] - tr;
                    self.im[b] = self.im[a] - ti;
                    self.re[a] += tr;
                    self.im[a] += ti;
                }
            }
            len *= 2;
        }
    }
}

impl Drop for Spectrum {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.re.zeroize();
        self.im.zeroize();
        self.power.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, amp: f32) -> [f32; FRAME_SAMPLES] {
        std::array::from_fn(|n| amp * (std::f32::consts::TAU * freq * n as f32 / 16_000.0).sin())
    }

    #[test]
    fn a_sine_lands_in_its_bin_with_its_mean_square() {
        let mut spectrum = Spectrum::new();
        let power = spectrum.power(&sine(1000.0, 1.0)).to_vec();
        let peak = power.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(k, _)| k).unwrap();
        assert_eq!(peak, 32, "1000 Hz is bin 32 at 31.25 Hz per bin");
        let total: f32 = power.iter().sum();
        assert!((total - 0.5).abs() < 0.02, "mean square of a full-scale sine is 0.5, got {total}");
    }

    #[test]
    fn silence_has_no_power() {
        let mut spectrum = Spectrum::new();
        assert!(spectrum.power(&[0.0; FRAME_SAMPLES]).iter().all(|&p| p == 0.0));
    }
}
