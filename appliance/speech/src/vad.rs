//! Voice activity detection on telephone audio, one 20 ms frame at a time.
//!
//! Phone speech has passed through G.711 (300–3400 Hz) and often through
//! comfort-noise generators, tone generators and hold music, so the
//! detector looks at three things per frame:
//!
//! * **Band energy** between 300 and 3400 Hz, in dB relative to full scale.
//!   Below [`VadConfig::min_level_dbfs`] nothing is speech (line silence,
//!   low comfort noise).
//! * **Signal above the noise floor.** The floor is the lowest band energy
//!   seen in the last [`VadConfig::floor_window`]: speech always has gaps
//!   between syllables within a second or two, steady noise does not, so
//!   the minimum follows noise and ignores speech. A frame must stand
//!   [`VadConfig::snr_db`] above it.
//! * **Tonality**: the share of band energy held by the two strongest
//!   spectral peaks (each ±4 bins, ±125 Hz). Signalling tones (DTMF pairs,
//!   350/425/440/480 Hz dial and ringback, busy, the 1000 Hz test tone)
//!   put 99.5 % or more of their energy there, even after µ-law; voiced
//!   speech, however tonal (a high voice whose first formant sits on one
//!   harmonic), leaves more than 0.5 % to its other harmonics. Frames above
//!   [`VadConfig::max_tonality`] (0.99) are not speech: about 1 % of
//!   espeak-ng's voiced frames, which the hangover bridges.
//! * **Flatness** (geometric over arithmetic mean of the bin powers):
//!   white and pink noise sit at 0.4–0.6, voiced speech mostly below 0.1.
//!   Frames above [`VadConfig::max_flatness`] are not speech, so noise that
//!   starts after silence does not open an utterance while the floor
//!   catches up. Fricatives are lost too; the hangover keeps them when
//!   they sit between vowels.
//!
//! A hangover keeps the decision "speech" for a few frames after the last
//! speech frame, so a plosive or a soft consonant does not split a word.
//!
//! Limits: a tone buried in noise (in-band signal-to-noise ratio below
//! about 20 dB) is not pure enough to be rejected as a tone; a sudden
//! low-frequency rumble (brown noise) is not flat enough to be rejected as
//! noise and may open an utterance until the floor follows it (at most
//! 2 s). Music on hold is broadband and changing like speech; sustained
//! chords or melodies with several instruments pass as speech. What
//! whisper makes of them (usually "(music)" or nothing) is removed by the
//! hallucination clean-up. A single sung or whistled note is rejected as a
//! tone.

use crate::FRAME_SAMPLES;
use crate::spectrum::{BIN_HZ, Spectrum};

/// Detector tuning. The defaults are tuned on espeak-ng speech through
/// 8 kHz µ-law and back, against silence, white and pink noise, DTMF and
/// call-progress tones (see `tests/phone_audio.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct VadConfig {
    /// Quietest band energy that can be speech, in dBFS. Phone speech sits
    /// around −20 to −35 dBFS; comfort noise around −60 to −70.
    pub min_level_dbfs: f32,
    /// How far above the noise floor a speech frame must be, in dB.
    pub snr_db: f32,
    /// Frames over which the noise floor is the minimum band energy.
    pub floor_window: usize,
    /// Share of band energy in the two strongest peaks above which a frame
    /// is a tone, not speech.
    pub max_tonality: f32,
    /// Spectral flatness above which a frame is noise, not voiced speech.
    pub max_flatness: f32,
    /// Frames a speech decision is held after the last speech frame.
    pub hangover: usize,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            min_level_dbfs: -50.0,
            snr_db: 9.0,
            floor_window: 100,
            max_tonality: 0.99,
            max_flatness: 0.35,
            hangover: 4,
        }
    }
}

/// What the detector measured on one frame, and what it decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameVoice {
    /// Band (300–3400 Hz) energy in dBFS.
    pub level_dbfs: f32,
    /// The noise floor the frame was judged against, in dBFS.
    pub floor_dbfs: f32,
    /// Share of band energy in the two strongest peaks, 0..=1.
    pub tonality: f32,
    /// Spectral flatness of the band (geometric over arithmetic mean of
    /// the bin powers), 0..=1: about 0.56 for white noise, low for
    /// harmonic sounds.
    pub flatness: f32,
    /// The frame itself looks like speech.
    pub voiced: bool,
    /// The decision after hangover.
    pub speech: bool,
}

/// Floor of the dB scale: the level of digital silence.
const SILENCE_DBFS: f32 = -120.0;
/// 300 Hz and 3400 Hz as bins.
const BAND_LOW_BIN: usize = (300.0 / BIN_HZ) as usize + 1;
const BAND_HIGH_BIN: usize = (3400.0 / BIN_HZ) as usize;
/// Half-width of a spectral peak in bins: the main lobe of a 320-sample
/// Hann window zero-padded to 512 is ±3.2 bins; one more bin holds tone
/// pairs that beat within a frame (440 + 480 Hz ringback).
const PEAK_HALF_WIDTH: usize = 4;

/// A per-leg voice activity detector. Allocates once, at creation.
#[derive(Debug, Clone)]
pub struct VoiceDetector {
    config: VadConfig,
    spectrum: Spectrum,
    /// Recent band levels, a ring of `floor_window` entries.
    levels: Vec<f32>,
    next_level: usize,
    filled: usize,
    hangover_left: usize,
}

impl VoiceDetector {
    /// A detector with `config`.
    pub fn new(config: VadConfig) -> Self {
        let window = config.floor_window.max(1);
        Self {
            config,
            spectrum: Spectrum::new(),
            levels: vec![SILENCE_DBFS; window],
            next_level: 0,
            filled: 0,
            hangover_left: 0,
        }
    }

    /// Judges one 20 ms frame of 16 kHz samples in −1.0..=1.0.
    pub fn classify(&mut self, frame: &[f32; FRAME_SAMPLES]) -> FrameVoice {
        let power = self.spectrum.power(frame);
        let band = &power[BAND_LOW_BIN..=BAND_HIGH_BIN];
        let energy: f32 = band.iter().sum();
        let level_dbfs = to_dbfs(energy);
        let tonality = if energy > 0.0 { two_peak_share(band) / energy } else { 0.0 };
        let flatness = flatness(band, energy);

        // The floor is judged before this frame joins the window, so a
        // sudden onset is compared with what came before it.
        let floor_dbfs = self.floor();
        self.levels[self.next_level] = level_dbfs;
        self.next_level = (self.next_level + 1) % self.levels.len();
        self.filled = (self.filled + 1).min(self.levels.len());

        let voiced = level_dbfs >= self.config.min_level_dbfs
            && level_dbfs >= floor_dbfs + self.config.snr_db
            && tonality <= self.config.max_tonality
            && flatness <= self.config.max_flatness;
        let speech = if voiced {
            self.hangover_left = self.config.hangover;
            true
        } else if self.hangover_left > 0 {
            self.hangover_left -= 1;
            true
        } else {
            false
        };
        FrameVoice { level_dbfs, floor_dbfs, tonality, flatness, voiced, speech }
    }

    /// Lowest level in the window; digital silence until anything was seen.
    fn floor(&self) -> f32 {
        if self.filled == 0 {
            return SILENCE_DBFS;
        }
        self.levels[..self.filled].iter().copied().fold(f32::INFINITY, f32::min)
    }

    /// Forgets the hangover (the noise floor is kept: the line is the same).
    pub fn reset_hangover(&mut self) {
        self.hangover_left = 0;
    }
}

fn to_dbfs(mean_square: f32) -> f32 {
    // +3.01 dB so that a full-scale sine (mean square 0.5) reads 0 dBFS.
    if mean_square > 0.0 { (10.0 * mean_square.log10() + 3.01).max(SILENCE_DBFS) } else { SILENCE_DBFS }
}

/// Geometric over arithmetic mean of the band's bin powers.
fn flatness(band: &[f32], energy: f32) -> f32 {
    if energy <= 0.0 {
        return 1.0;
    }
    let mean = energy / band.len() as f32;
    let mean_log = band.iter().map(|&p| (p.max(mean * 1e-6)).ln()).sum::<f32>() / band.len() as f32;
    (mean_log.exp() / mean).min(1.0)
}

/// Energy within ±[`PEAK_HALF_WIDTH`] bins of the strongest band bin,
/// plus the same around the strongest bin outside that first peak.
fn two_peak_share(band: &[f32]) -> f32 {
    let lobe = |centre: usize| {
        let lo = centre.saturating_sub(PEAK_HALF_WIDTH);
        let hi = (centre + PEAK_HALF_WIDTH).min(band.len() - 1);
        (lo, hi)
    };
    let strongest = |skip: Option<(usize, usize)>| {
        band.iter()
            .enumerate()
            .filter(|(k, _)| skip.is_none_or(|(lo, hi)| *k + PEAK_HALF_WIDTH < lo || *k > hi + PEAK_HALF_WIDTH))
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(k, _)| k)
    };
    let Some(first) = strongest(None) else { return 0.0 };
    let first_lobe = lobe(first);
    let first_share: f32 = band[first_lobe.0..=first_lobe.1].iter().sum();
    let second_share = strongest(Some(first_lobe)).map_or(0.0, |second| {
        let (lo, hi) = lobe(second);
        band[lo..=hi].iter().sum::<f32>()
    });
    first_share + second_share
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tones(freqs: &[f32], amp: f32, frame_index: usize) -> [f32; FRAME_SAMPLES] {
        std::array::from_fn(|n| {
            let t = (frame_index * FRAME_SAMPLES + n) as f32 / 16_000.0;
            freqs.iter().map(|f| amp * (std::f32::consts::TAU * f * t).sin()).sum()
        })
    }

    /// A crude vowel: a 140 Hz pulse train (rich in harmonics) with a
    /// decaying oscillation at a formant, like a glottal source through a
    /// vocal tract resonance.
    fn vowel(frame_index: usize) -> [f32; FRAME_SAMPLES] {
        std::array::from_fn(|n| {
            let t = (frame_index * FRAME_SAMPLES + n) as f32 / 16_000.0;
            let since_pulse = t % (1.0 / 140.0);
            let decay = (-since_pulse * 600.0).exp();
            0.2 * decay
                * ((std::f32::consts::TAU * 700.0 * since_pulse).sin()
                    + 0.6 * (std::f32::consts::TAU * 1200.0 * since_pulse).sin())
        })
    }

    #[test]
    fn dtmf_and_call_progress_tones_are_not_speech() {
        let cases: &[&[f32]] =
            &[&[697.0, 1209.0], &[941.0, 1633.0], &[425.0], &[440.0, 480.0], &[350.0, 440.0], &[1000.0]];
        for freqs in cases {
            let mut vad = VoiceDetector::new(VadConfig::default());
            for i in 0..50 {
                let v = vad.classify(&tones(freqs, 0.3, i));
                assert!(!v.speech, "{freqs:?} Hz frame {i} judged speech: {v:?}");
            }
        }
    }

    #[test]
    fn a_harmonic_vowel_after_silence_is_speech() {
        let mut vad = VoiceDetector::new(VadConfig::default());
        for _ in 0..20 {
            assert!(!vad.classify(&[0.0; FRAME_SAMPLES]).speech);
        }
        let voiced = (0..10).filter(|&i| vad.classify(&vowel(i)).voiced).count();
        assert!(voiced >= 9, "only {voiced} of 10 vowel frames voiced");
    }

    #[test]
    fn quiet_signals_below_the_minimum_level_are_not_speech() {
        let mut vad = VoiceDetector::new(VadConfig::default());
        let quiet = vowel(0).map(|s| s * 0.003); // about −60 dBFS
        let v = vad.classify(&quiet);
        assert!(v.level_dbfs < -50.0 && !v.speech, "{v:?}");
    }

    #[test]
    fn hangover_holds_speech_for_the_configured_frames_then_releases() {
        let mut vad = VoiceDetector::new(VadConfig { hangover: 3, ..VadConfig::default() });
        assert!(vad.classify(&vowel(0)).speech);
        let held: Vec<bool> = (0..5).map(|_| vad.classify(&[0.0; FRAME_SAMPLES]).speech).collect();
        assert_eq!(held, [true, true, true, false, false]);
    }
}
