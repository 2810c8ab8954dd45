//! The speech-to-text engine's narrow interface. The daemon holds a client
//! of the `callguard-stt` worker behind it; the worker holds whisper behind
//! it; unit tests of the layers above hold a fake.

use std::fmt;
use std::time::Duration;

use zeroize::Zeroize;

use crate::chunk::Chunk;

/// Whisper's encoder sees 50 frames per second of audio; its full window
/// is 1500 frames (30 s).
pub const AUDIO_CTX_PER_SECOND: u32 = 50;
/// The full encoder window, in encoder frames.
pub const AUDIO_CTX_FULL: u16 = 1500;

/// How much of whisper's 30 s encoder window to compute.
///
/// whisper.cpp pads every input to 30 s and encodes all of it unless told
/// a smaller `audio_ctx`: for an 3 s chunk that is 10 times the work. A
/// reduced context is whisper.cpp's short-audio speed-up; it costs some
/// accuracy (the model was trained on full windows), measured by the
/// worker's bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioContext {
    /// Encode the full 30 s window, whatever the chunk length.
    Full,
    /// Encode just enough for the chunk plus `margin` encoder frames
    /// (20 ms each), rounded up to a multiple of 64.
    Fit {
        /// Extra encoder frames past the end of the audio.
        margin: u16,
    },
    /// A fixed number of encoder frames (capped at the full window).
    Fixed(u16),
}

/// A fitted window with a 64-frame (1.28 s) margin: with whisper tiny.en
/// on the espeak-ng script it was both faster and no less accurate than
/// the full window (word error rate 23 % against 30 % at 16 kHz, 46 %
/// against 50 % after G.711; see the worker's `rtf` bench).
impl Default for AudioContext {
    fn default() -> Self {
        AudioContext::Fit { margin: 64 }
    }
}

impl AudioContext {
    /// The encoder frames to compute for `samples` 16 kHz samples; `None`
    /// for the full window.
    pub fn frames_for(self, samples: usize) -> Option<u16> {
        let frames = match self {
            AudioContext::Full => return None,
            AudioContext::Fixed(frames) => u32::from(frames),
            AudioContext::Fit { margin } => {
                // ceil(samples / 16000 × 50) = ceil(samples / 320)
                let needed = (samples as u64).div_ceil(u64::from(crate::SAMPLE_RATE / AUDIO_CTX_PER_SECOND));
                let with_margin = needed.saturating_add(u64::from(margin));
                u32::try_from(with_margin.div_ceil(64) * 64).unwrap_or(u32::MAX)
            }
        };
        (frames < u32::from(AUDIO_CTX_FULL)).then(|| frames.max(1) as u16)
    }
}

/// Options of one transcription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeOptions {
    /// Encoder window.
    pub audio_ctx: AudioContext,
}

/// A piece of text and where it was said. `Debug` shows its length, not
/// its words, and the text is zeroed when dropped.
#[derive(Clone, PartialEq)]
pub struct Segment {
    /// Start, since the call started.
    pub start: Duration,
    /// End, since the call started.
    pub end: Duration,
    /// The words.
    pub text: String,
    /// The engine's confidence, 0..=1 (whisper: the mean token
    /// probability).
    pub confidence: f32,
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment")
            .field("start", &self.start)
            .field("end", &self.end)
            .field("text_chars", &self.text.chars().count())
            .field("confidence", &self.confidence)
            .finish()
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

/// Why a chunk could not be transcribed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TranscribeError {
    /// The engine is not there (the worker is down or restarting). The
    /// call goes on without text until it is back.
    #[error("speech-to-text is unavailable: {reason}")]
    Unavailable {
        /// What happened.
        reason: String,
    },
    /// The engine took longer than allowed; it is presumed hung.
    #[error("speech-to-text did not answer within {after:?}; the worker is presumed hung and should be restarted")]
    Timeout {
        /// The time allowed.
        after: Duration,
    },
    /// The engine refused or failed this chunk; others may succeed.
    #[error("speech-to-text failed on a {leg} chunk at {start:?}: {message}")]
    Failed {
        /// The chunk's leg.
        leg: crate::Leg,
        /// The chunk's start.
        start: Duration,
        /// The engine's message.
        message: String,
    },
}

/// Speech-to-text for one chunk at a time.
pub trait Transcriber {
    /// Transcribes `chunk`, conditioning the decoder on `prompt` (the
    /// previous text of the same leg). Segment times are since the call
    /// started.
    fn transcribe(
        &mut self,
        chunk: &Chunk,
        prompt: &str,
        options: &DecodeOptions,
    ) -> Result<Vec<Segment>, TranscribeError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_covers_the_audio_plus_margin_rounded_to_64() {
        let fit = AudioContext::Fit { margin: 64 };
        // 2 s = 100 encoder frames + 64 = 164 -> 192.
        assert_eq!(fit.frames_for(32_000), Some(192));
        // 5 s = 250 + 64 = 314 -> 320.
        assert_eq!(fit.frames_for(80_000), Some(320));
        // One sample still needs one frame: 1 + 64 -> 128.
        assert_eq!(fit.frames_for(1), Some(128));
        // 29 s = 1450 + 64 > 1500: the full window.
        assert_eq!(fit.frames_for(29 * 16_000), None);
    }

    #[test]
    fn full_and_oversized_fixed_contexts_mean_the_whole_window() {
        assert_eq!(AudioContext::Full.frames_for(16_000), None);
        assert_eq!(AudioContext::Fixed(1500).frames_for(16_000), None);
        assert_eq!(AudioContext::Fixed(768).frames_for(16_000), Some(768));
        assert_eq!(AudioContext::Fixed(0).frames_for(16_000), Some(1));
    }

    #[test]
    fn segment_debug_hides_the_words() {
        let s = Segment {
            start: Duration::ZERO,
            end: Duration::from_secs(1),
            text: "buy a gift card".into(),
            confidence: 0.9,
        };
        let shown = format!("{s:?}");
        assert!(!shown.contains("gift") && shown.contains("text_chars: 15"), "{shown}");
    }
}
