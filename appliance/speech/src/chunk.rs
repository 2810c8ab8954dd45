//! What the end-pointer hands to speech-to-text: one leg's utterance, or a
//! piece of a long one, as 16 kHz samples placed on the call's clock.

use std::fmt;
use std::time::Duration;

use zeroize::Zeroize;

use crate::SAMPLE_RATE;

/// Which side of the call a signal or a text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Leg {
    /// The party who placed the call (for a protected subscriber, usually
    /// the suspected scammer). Served first when speech-to-text falls
    /// behind.
    Caller,
    /// The party who was called.
    Callee,
}

impl Leg {
    /// Both legs, caller first.
    pub const BOTH: [Leg; 2] = [Leg::Caller, Leg::Callee];
}

impl fmt::Display for Leg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Leg::Caller => "caller",
            Leg::Callee => "callee",
        })
    }
}

/// Why a chunk ends where it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkReason {
    /// The speaker paused for the configured end-of-utterance silence.
    EndOfUtterance,
    /// The utterance reached the longest chunk allowed and was cut at its
    /// quietest point near the end; the rest continues in the next chunk.
    ForcedCut,
    /// The call ended (or its audio stopped) while the leg was speaking.
    CallEnded,
}

/// A stretch of one leg's speech, ready for whisper.
///
/// The samples are zeroed when the chunk is dropped, and `Debug` does not
/// print them.
pub struct Chunk {
    /// The leg that spoke.
    pub leg: Leg,
    /// Time of the first sample since the call started.
    pub start: Duration,
    /// 16 kHz mono samples in −1.0..=1.0.
    pub samples: Vec<f32>,
    /// Why the chunk ends here.
    pub reason: ChunkReason,
    /// Share of its 20 ms frames the voice detector judged to be speech
    /// (before hangover), 0..=1. Padding and pauses make it less than 1.
    pub speech_ratio: f32,
}

impl Chunk {
    /// Length of the audio.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.samples.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// Time just after the last sample since the call started.
    pub fn end(&self) -> Duration {
        self.start + self.duration()
    }
}

impl fmt::Debug for Chunk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chunk")
            .field("leg", &self.leg)
            .field("start", &self.start)
            .field("samples", &self.samples.len())
            .field("reason", &self.reason)
            .field("speech_ratio", &self.speech_ratio)
            .finish()
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.samples.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_sample_count_not_the_samples() {
        let chunk = Chunk {
            leg: Leg::Caller,
            start: Duration::from_millis(1500),
            samples: vec![0.123_456; 16_000],
            reason: ChunkReason::EndOfUtterance,
            speech_ratio: 0.8,
        };
        let shown = format!("{chunk:?}");
        assert!(shown.contains("samples: 16000") && !shown.contains("0.123"), "{shown}");
        assert_eq!(chunk.duration(), Duration::from_secs(1));
        assert_eq!(chunk.end(), Duration::from_millis(2500));
    }
}
