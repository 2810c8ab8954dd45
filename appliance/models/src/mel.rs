//! The mel filterbank that whisper.cpp reads from the model file.
//!
//! OpenAI's Whisper computes its log-mel spectrogram with filters made by
//! `librosa.filters.mel(sr=16000, n_fft=400, n_mels=80 or 128)` (Slaney mel
//! scale, Slaney area normalisation), and whisper.cpp expects the same
//! matrix in the ggml file. A CTranslate2 model does not carry it, so it is
//! computed here, following librosa's arithmetic step by step so the values
//! match its float32 output.

/// Audio sample rate Whisper models are trained on, in Hz.
pub const SAMPLE_RATE: u32 = 16_000;
/// FFT window length of Whisper's spectrogram, in samples (25 ms).
pub const N_FFT: usize = 400;
/// Number of frequency bins of one FFT frame (`N_FFT / 2 + 1`), the filterbank's width.
pub const N_FREQ_BINS: usize = N_FFT / 2 + 1;

/// Linear part of the Slaney scale: 200/3 Hz per mel below 1 kHz.
const F_SP: f64 = 200.0 / 3.0;
/// Where the Slaney scale turns logarithmic.
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ { MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / log_step() } else { hz / F_SP }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL { MIN_LOG_HZ * (log_step() * (mel - MIN_LOG_MEL)).exp() } else { F_SP * mel }
}

/// The Whisper mel filterbank: `n_mels` rows of [`N_FREQ_BINS`] weights, row-major.
///
/// Row `m` weights each FFT bin's power into mel band `m`: a triangle
/// between the band's neighbours on the Slaney scale, scaled so each
/// triangle has the same area (librosa's `norm="slaney"`).
pub fn whisper_mel_filters(n_mels: usize) -> Vec<f32> {
    let sample_rate = f64::from(SAMPLE_RATE);
    // np.fft.rfftfreq(n_fft, 1/sr): bin k is at k / (n_fft * (1/sr)) Hz.
    let bin_step = 1.0 / (N_FFT as f64 * (1.0 / sample_rate));
    let fft_freqs: Vec<f64> = (0..N_FREQ_BINS).map(|k| k as f64 * bin_step).collect();

    // n_mels + 2 band edges evenly spaced in mel from 0 Hz to Nyquist (np.linspace).
    let max_mel = hz_to_mel(sample_rate / 2.0);
    let edges = n_mels + 2;
    let mel_step = max_mel / (edges - 1) as f64;
    let edge_hz: Vec<f64> =
        (0..edges).map(|i| if i == edges - 1 { max_mel } else { i as f64 * mel_step }).map(mel_to_hz).collect();

    let mut filters = Vec::with_capacity(n_mels * N_FREQ_BINS);
    for m in 0..n_mels {
        let (low, centre, high) = (edge_hz[m], edge_hz[m + 1], edge_hz[m + 2]);
        let area_norm = 2.0 / (high - low);
        for &freq in &fft_freqs {
            let rising = (freq - low) / (centre - low);
            let falling = (high - freq) / (high - centre);
            // librosa stores the triangle as float32, then scales it by the float64 norm.
            let triangle = rising.min(falling).max(0.0) as f32;
            filters.push((f64::from(triangle) * area_norm) as f32);
        }
    }
    filters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(filters: &[f32], mel: usize, bin: usize, expected: f64) {
        let got = f64::from(filters[mel * N_FREQ_BINS + bin]);
        assert!(
            (got - expected).abs() <= 1e-9 + expected.abs() * 1e-6,
            "filter[{mel}][{bin}] = {got}, want {expected}"
        );
    }

    /// Reference values from librosa 0.11.0 (numpy 2.4.6):
    /// `librosa.filters.mel(sr=16000, n_fft=400, n_mels=80)[mel, bin]`.
    #[test]
    fn matches_librosa_for_80_mels() {
        let filters = whisper_mel_filters(80);
        assert_eq!(filters.len(), 80 * 201);
        assert_close(&filters, 0, 0, 0.0);
        assert_close(&filters, 0, 1, 0.02486259490251541);
        assert_close(&filters, 0, 2, 0.0);
        assert_close(&filters, 1, 1, 0.001990821911022067);
        assert_close(&filters, 1, 2, 0.022871771827340126);
        assert_close(&filters, 10, 10, 0.01990821771323681);
        assert_close(&filters, 10, 11, 0.004954374860972166);
        assert_close(&filters, 40, 42, 0.005411104764789343);
        assert_close(&filters, 40, 43, 0.014735566452145576);
        assert_close(&filters, 40, 44, 0.006518189795315266);
        assert_close(&filters, 79, 186, 0.000366741674952209);
        assert_close(&filters, 79, 190, 0.0022320549469441175);
        assert_close(&filters, 79, 199, 0.0004487590049393475);
        assert_close(&filters, 79, 200, 0.0);
        // Sum of the whole matrix, in float64: 1.999024092387117.
        let sum: f64 = filters.iter().map(|&w| f64::from(w)).sum();
        assert!((sum - 1.999024092387117).abs() < 1e-9, "sum {sum}");
    }

    /// Reference values from librosa 0.11.0: `librosa.filters.mel(sr=16000, n_fft=400, n_mels=128)`,
    /// the filterbank of large-v3 models.
    #[test]
    fn matches_librosa_for_128_mels() {
        let filters = whisper_mel_filters(128);
        assert_close(&filters, 0, 1, 0.012373986653983593);
        assert_close(&filters, 64, 60, 0.0);
        assert_close(&filters, 127, 195, 0.005041601601988077);
        let sum: f64 = filters.iter().map(|&w| f64::from(w)).sum();
        assert!((sum - 3.1909855409403463).abs() < 1e-9, "sum {sum}");
    }
}
