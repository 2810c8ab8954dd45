//! Both legs of one call: end-pointing, prompts and clean-up together, so
//! the daemon's per-call task holds one value and calls three methods.

use std::time::Duration;

use crate::chunk::{Chunk, Leg};
use crate::endpoint::{EndpointConfig, Endpointer};
use crate::hallucination::HallucinationFilter;
use crate::prompt::{DEFAULT_PROMPT_CHARS, PromptHistory};
use crate::transcriber::{DecodeOptions, Segment, TranscribeError, Transcriber};
use crate::{FRAME_SAMPLES, SpeechError};

/// Tuning of a call's speech front.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeechConfig {
    /// End-pointing and voice detection, the same for both legs.
    pub endpoint: EndpointConfig,
    /// Clean-up of whisper's output.
    pub filter: HallucinationFilter,
    /// Characters of each leg's previous text kept as its prompt.
    pub prompt_chars: usize,
}

impl Default for SpeechConfig {
    fn default() -> Self {
        Self {
            endpoint: EndpointConfig::default(),
            filter: HallucinationFilter::default(),
            prompt_chars: DEFAULT_PROMPT_CHARS,
        }
    }
}

#[derive(Debug)]
struct LegSpeech {
    endpointer: Endpointer,
    prompt: PromptHistory,
}

/// One call's speech front: frames of both legs in, chunks out; segments
/// of those chunks in, cleaned segments out (and into the leg's prompt).
///
/// ```
/// use std::time::Duration;
/// use callguard_speech::{CallSpeech, Leg, SpeechConfig};
///
/// let mut call = CallSpeech::new(&SpeechConfig::default())?;
/// for i in 0..100u32 {
///     let at = Duration::from_millis(20 * u64::from(i));
///     assert!(call.push_i16(Leg::Caller, at, &[0; 320]).is_none()); // silence
/// }
/// assert!(call.finish().is_empty());
/// # Ok::<(), callguard_speech::SpeechError>(())
/// ```
#[derive(Debug)]
pub struct CallSpeech {
    caller: LegSpeech,
    callee: LegSpeech,
    filter: HallucinationFilter,
}

impl CallSpeech {
    /// A call's front; fails on an inconsistent configuration.
    pub fn new(config: &SpeechConfig) -> Result<Self, SpeechError> {
        let leg = |leg| -> Result<LegSpeech, SpeechError> {
            Ok(LegSpeech {
                endpointer: Endpointer::new(leg, &config.endpoint)?,
                prompt: PromptHistory::new(config.prompt_chars),
            })
        };
        Ok(Self { caller: leg(Leg::Caller)?, callee: leg(Leg::Callee)?, filter: config.filter })
    }

    fn leg_mut(&mut self, leg: Leg) -> &mut LegSpeech {
        match leg {
            Leg::Caller => &mut self.caller,
            Leg::Callee => &mut self.callee,
        }
    }

    /// Feeds one 20 ms frame of `leg` (samples in −1.0..=1.0) starting `at`
    /// after the call began.
    pub fn push(&mut self, leg: Leg, at: Duration, frame: &[f32; FRAME_SAMPLES]) -> Option<Chunk> {
        self.leg_mut(leg).endpointer.push(at, frame)
    }

    /// Feeds one 20 ms frame of `leg` as 16-bit PCM.
    pub fn push_i16(&mut self, leg: Leg, at: Duration, frame: &[i16; FRAME_SAMPLES]) -> Option<Chunk> {
        self.leg_mut(leg).endpointer.push_i16(at, frame)
    }

    /// The prompt for `leg`'s next chunk.
    pub fn prompt(&self, leg: Leg) -> &str {
        match leg {
            Leg::Caller => self.caller.prompt.as_str(),
            Leg::Callee => self.callee.prompt.as_str(),
        }
    }

    /// Takes the engine's segments for a chunk of `leg` whose speech ratio
    /// was `speech_ratio`: cleans them and appends what is left to the
    /// leg's prompt.
    pub fn accept(&mut self, leg: Leg, speech_ratio: f32, segments: Vec<Segment>) -> Vec<Segment> {
        let cleaned = self.filter.clean(segments, speech_ratio);
        let prompt = &mut self.leg_mut(leg).prompt;
        for segment in &cleaned {
            prompt.record(&segment.text);
        }
        cleaned
    }

    /// Transcribes `chunk` with `engine` in one step: the leg's prompt in,
    /// cleaned segments out. For callers that wait on the engine; the
    /// daemon, which does not, uses [`prompt`](Self::prompt) and
    /// [`accept`](Self::accept) around its own request.
    pub fn transcribe(
        &mut self,
        engine: &mut impl Transcriber,
        chunk: &Chunk,
        options: &DecodeOptions,
    ) -> Result<Vec<Segment>, TranscribeError> {
        let segments = engine.transcribe(chunk, self.prompt(chunk.leg), options)?;
        Ok(self.accept(chunk.leg, chunk.speech_ratio, segments))
    }

    /// The call ended: the utterances in progress (caller first), and
    /// every buffer and prompt zeroed.
    pub fn finish(&mut self) -> Vec<Chunk> {
        let chunks = [self.caller.endpointer.finish(), self.callee.endpointer.finish()];
        self.caller.prompt.clear();
        self.callee.prompt.clear();
        chunks.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChunkReason;

    /// Answers every chunk with fixed texts and records the prompts it got.
    struct ScriptedEngine {
        replies: Vec<&'static str>,
        prompts: Vec<String>,
    }

    impl Transcriber for ScriptedEngine {
        fn transcribe(
            &mut self,
            chunk: &Chunk,
            prompt: &str,
            _: &DecodeOptions,
        ) -> Result<Vec<Segment>, TranscribeError> {
            self.prompts.push(prompt.to_owned());
            Ok(self
                .replies
                .iter()
                .map(|t| Segment { start: chunk.start, end: chunk.end(), text: (*t).to_owned(), confidence: 0.9 })
                .collect())
        }
    }

    fn chunk(leg: Leg, speech_ratio: f32) -> Chunk {
        Chunk {
            leg,
            start: Duration::ZERO,
            samples: vec![0.0; 16_000],
            reason: ChunkReason::EndOfUtterance,
            speech_ratio,
        }
    }

    #[test]
    fn each_leg_gets_its_own_cleaned_text_as_prompt() {
        let mut call = CallSpeech::new(&SpeechConfig::default()).unwrap();
        let mut engine = ScriptedEngine { replies: vec!["This is the police.", "(sirens)"], prompts: Vec::new() };
        let out = call.transcribe(&mut engine, &chunk(Leg::Caller, 0.9), &DecodeOptions::default()).unwrap();
        assert_eq!(out.len(), 1);
        engine.replies = vec!["Oh no."];
        call.transcribe(&mut engine, &chunk(Leg::Callee, 0.9), &DecodeOptions::default()).unwrap();
        call.transcribe(&mut engine, &chunk(Leg::Caller, 0.9), &DecodeOptions::default()).unwrap();
        assert_eq!(engine.prompts, ["", "", "This is the police."]);
        assert_eq!(call.prompt(Leg::Caller), "This is the police. Oh no.");
        assert_eq!(call.prompt(Leg::Callee), "Oh no.");
    }

    #[test]
    fn silence_hallucinations_stay_out_of_the_prompt() {
        let mut call = CallSpeech::new(&SpeechConfig::default()).unwrap();
        let mut engine = ScriptedEngine { replies: vec!["Thank you."], prompts: Vec::new() };
        let out = call.transcribe(&mut engine, &chunk(Leg::Caller, 0.2), &DecodeOptions::default()).unwrap();
        assert!(out.is_empty());
        assert_eq!(call.prompt(Leg::Caller), "");
    }

    #[test]
    fn finish_clears_the_prompts() {
        let mut call = CallSpeech::new(&SpeechConfig::default()).unwrap();
        call.accept(
            Leg::Caller,
            1.0,
            vec![Segment { start: Duration::ZERO, end: Duration::ZERO, text: "x".into(), confidence: 1.0 }],
        );
        assert_eq!(call.prompt(Leg::Caller), "x");
        assert!(call.finish().is_empty());
        assert_eq!(call.prompt(Leg::Caller), "");
    }
}
