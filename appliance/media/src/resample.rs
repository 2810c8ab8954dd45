//! 20 ms frames at the codec's rate → 20 ms frames at 16 kHz, f32.

use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Resampler};
use zeroize::Zeroize;

use crate::MediaError;

/// Output rate of the media plane.
pub const OUTPUT_RATE: u32 = 16_000;
/// Samples in one 20 ms output frame.
pub const FRAME_SAMPLES: usize = 320;

/// Converts 20 ms of 16-bit PCM at the input rate into 320 f32 samples at
/// 16 kHz, within ±1.0 (full scale; resampling overshoot is clipped).
///
/// 8 kHz and 48 kHz go through rubato's synchronous FFT resampler (fixed
/// 160→320 and 960→320 chunks, Blackman-Harris anti-aliasing); 16 kHz is a
/// plain conversion. The FFT resampler delays the signal by
/// [`Resampler16k::delay_samples`] output samples (a constant, so frame
/// timing stays exact).
pub struct Resampler16k {
    input_rate: u32,
    inner: Option<Fft<f32>>,
    input: Vec<f32>,
}

impl std::fmt::Debug for Resampler16k {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler16k")
            .field("input_rate", &self.input_rate)
            .field("delay_samples", &self.delay_samples())
            .finish_non_exhaustive()
    }
}

impl Resampler16k {
    /// A resampler from `input_rate` Hz (which must divide into 20 ms
    /// frames: 8000, 16000, 48000...).
    pub fn new(input_rate: u32) -> Result<Self, MediaError> {
        if input_rate == 0 || !input_rate.is_multiple_of(50) {
            return Err(MediaError::UnsupportedRate { rate: input_rate });
        }
        let chunk = input_rate as usize / 50;
        let inner = if input_rate == OUTPUT_RATE {
            None
        } else {
            let r = Fft::<f32>::new(input_rate as usize, OUTPUT_RATE as usize, chunk, 1, FixedSync::Both)
                .map_err(|e| MediaError::Resampler { rate: input_rate, message: e.to_string() })?;
            if r.input_frames_next() != chunk || r.output_frames_next() != FRAME_SAMPLES {
                return Err(MediaError::Resampler {
                    rate: input_rate,
                    message: format!(
                        "resampler chose chunks of {} in / {} out, not {chunk} / {FRAME_SAMPLES}",
                        r.input_frames_next(),
                        r.output_frames_next()
                    ),
                });
            }
            Some(r)
        };
        Ok(Self { input_rate, inner, input: vec![0.0; chunk] })
    }

    /// Input rate in Hz.
    pub fn input_rate(&self) -> u32 {
        self.input_rate
    }

    /// Input samples per frame (`input_rate / 50`).
    pub fn input_frame_len(&self) -> usize {
        self.input.len()
    }

    /// Constant delay added by the resampler, in 16 kHz samples.
    pub fn delay_samples(&self) -> usize {
        self.inner.as_ref().map_or(0, Resampler::output_delay)
    }

    /// Resamples one 20 ms frame. `input` must hold exactly
    /// [`Self::input_frame_len`] samples.
    pub fn process(&mut self, input: &[i16], out: &mut [f32; FRAME_SAMPLES]) -> Result<(), MediaError> {
        if input.len() != self.input.len() {
            return Err(MediaError::FrameLength { expected: self.input.len(), got: input.len() });
        }
        let Some(inner) = self.inner.as_mut() else {
            for (o, &s) in out.iter_mut().zip(input) {
                *o = f32::from(s) / 32768.0;
            }
            return Ok(());
        };
        for (o, &s) in self.input.iter_mut().zip(input) {
            *o = f32::from(s) / 32768.0;
        }
        let chunk = self.input.len();
        let resample_error =
            |e: &dyn std::fmt::Display| MediaError::Resampler { rate: self.input_rate, message: e.to_string() };
        let src = SequentialSlice::new(&self.input[..], 1, chunk).map_err(|e| resample_error(&e))?;
        let mut dst = SequentialSlice::new_mut(&mut out[..], 1, FRAME_SAMPLES).map_err(|e| resample_error(&e))?;
        inner.process_into_buffer(&src, &mut dst, None).map_err(|e| resample_error(&e))?;
        // Band-limiting a full-scale signal overshoots (Gibbs); keep the
        // promised ±1.0 range.
        for s in out.iter_mut() {
            *s = s.clamp(-1.0, 1.0);
        }
        Ok(())
    }

    /// Clears the filter history (new source).
    pub fn reset(&mut self) {
        if let Some(r) = self.inner.as_mut() {
            r.reset();
        }
        self.input.zeroize();
    }
}

impl Drop for Resampler16k {
    fn drop(&mut self) {
        // rubato's reset zeroes its overlap and scratch buffers.
        self.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, freq: f64, n: usize, amp: f64) -> Vec<i16> {
        (0..n).map(|i| (amp * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as i16).collect()
    }

    /// SNR of `got` against an ideal sine of `freq` at 16 kHz, with the
    /// best phase found by least squares (so the delay does not matter).
    fn sine_snr_db(got: &[f32], freq: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * freq / 16_000.0;
        let (mut ss, mut sc, mut cc, mut xs, mut xc) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (n, &x) in got.iter().enumerate() {
            let (s, c) = ((w * n as f64).sin(), (w * n as f64).cos());
            ss += s * s;
            sc += s * c;
            cc += c * c;
            xs += f64::from(x) * s;
            xc += f64::from(x) * c;
        }
        let det = ss * cc - sc * sc;
        let a = (xs * cc - xc * sc) / det;
        let b = (xc * ss - xs * sc) / det;
        let (mut sig, mut err) = (0.0, 0.0);
        for (n, &x) in got.iter().enumerate() {
            let fit = a * (w * n as f64).sin() + b * (w * n as f64).cos();
            sig += fit * fit;
            err += (f64::from(x) - fit).powi(2);
        }
        10.0 * (sig / err).log10()
    }

    fn run(rate: u32, freq: f64, frames: usize) -> Vec<f32> {
        let mut r = Resampler16k::new(rate).unwrap();
        let input = tone(rate, freq, rate as usize / 50 * frames, 16_000.0);
        let mut out = Vec::new();
        let mut frame = [0f32; FRAME_SAMPLES];
        for chunk in input.chunks(rate as usize / 50) {
            r.process(chunk, &mut frame).unwrap();
            out.extend_from_slice(&frame);
        }
        // Skip the start-up (delay + filter settling).
        out.split_off(r.delay_samples() + 640)
    }

    /// Bound: a band-limited tone survives 8→16 kHz and 48→16 kHz with at
    /// least 60 dB SNR.
    #[test]
    fn tones_pass_cleanly() {
        for (rate, freq) in [(8000, 1000.0), (8000, 3000.0), (48_000, 1000.0), (48_000, 6000.0), (16_000, 440.0)] {
            let out = run(rate, freq, 50);
            let snr = sine_snr_db(&out, freq);
            assert!(snr > 60.0, "{rate} Hz, {freq} Hz tone: SNR {snr:.1} dB");
        }
    }

    /// Bound: 48 kHz content above 8 kHz is attenuated by at least 60 dB
    /// (no aliasing into the 16 kHz output).
    #[test]
    fn out_of_band_content_is_removed() {
        let out = run(48_000, 10_000.0, 50);
        let rms = (out.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / out.len() as f64).sqrt();
        let input_rms = 16_000.0 / 32768.0 / 2f64.sqrt();
        let atten = 20.0 * (input_rms / rms).log10();
        assert!(atten > 60.0, "10 kHz tone only attenuated by {atten:.1} dB");
    }

    #[test]
    fn rejects_wrong_lengths_and_rates() {
        assert!(Resampler16k::new(44_101).is_err());
        let mut r = Resampler16k::new(8000).unwrap();
        let mut out = [0f32; FRAME_SAMPLES];
        assert!(r.process(&[0; 100], &mut out).is_err());
        assert_eq!(r.input_frame_len(), 160);
        assert_eq!(Resampler16k::new(16_000).unwrap().delay_samples(), 0);
    }
}
