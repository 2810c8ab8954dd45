//! End-pointing: turns one leg's stream of 20 ms frames into utterance
//! chunks.
//!
//! ```text
//!   idle ──(onset: voiced frames in a row)──> speaking ──(end silence)──> chunk, idle
//!    │  keeps pad_before + onset frames         │  frames accumulate
//!    │  as pre-roll                             ├──(max_chunk reached)──> chunk cut at the
//!    │                                          │   quietest frame of the last cut_search,
//!    │                                          │   the rest stays, still speaking
//!    └──────────── (gap in frame times, or finish) ──> chunk if enough speech, idle
//! ```
//!
//! Frames are expected every 20 ms of call time. A jump in the times (the
//! media queue dropped frames, or the stream re-anchored) closes the
//! current utterance as it stands, so timestamps stay true.

use std::time::Duration;

use zeroize::Zeroize;

use crate::chunk::{Chunk, ChunkReason, Leg};
use crate::vad::{VadConfig, VoiceDetector};
use crate::{FRAME_DURATION, FRAME_SAMPLES, SpeechError};

/// Longest chunk the end-pointer may be configured to make: whisper's
/// window is 30 s.
pub const MAX_CHUNK_LIMIT: Duration = Duration::from_secs(30);

/// End-pointing tuning. All durations are rounded to whole 20 ms frames.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointConfig {
    /// The voice detector's tuning.
    pub vad: VadConfig,
    /// Voiced frames in a row that start an utterance (60 ms): one click
    /// or one burst of noise does not.
    pub onset: Duration,
    /// Non-speech (after the detector's hangover) that ends an utterance.
    /// 600 ms by default: pauses inside a sentence are mostly shorter
    /// than 500 ms and pauses between sentences longer, and every
    /// millisecond here is added to the time before the detector sees
    /// the text.
    pub end_silence: Duration,
    /// Least voiced audio an utterance needs to be transcribed (200 ms, a
    /// short "no"); shorter ones are dropped as clicks, coughs, line noise.
    pub min_speech: Duration,
    /// Audio kept before the first voiced frame (200 ms), so that a soft
    /// first consonant is not lost.
    pub pad_before: Duration,
    /// Audio kept after the last speech frame (200 ms), for the fading
    /// end of the last word.
    pub pad_after: Duration,
    /// Longest chunk (8 s). Robocalls talk for 30 s without a pause; the
    /// detector should not wait for them, and whisper's cost grows with
    /// the chunk.
    pub max_chunk: Duration,
    /// How far back from `max_chunk` a forced cut looks for the quietest
    /// frame (1 s): a cut between words loses less than one inside a word.
    pub cut_search: Duration,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            vad: VadConfig::default(),
            onset: Duration::from_millis(60),
            end_silence: Duration::from_millis(600),
            min_speech: Duration::from_millis(200),
            pad_before: Duration::from_millis(200),
            pad_after: Duration::from_millis(200),
            max_chunk: Duration::from_secs(8),
            cut_search: Duration::from_secs(1),
        }
    }
}

/// [`EndpointConfig`] in frames, checked.
#[derive(Debug, Clone, Copy)]
struct Frames {
    onset: usize,
    end_silence: usize,
    min_speech: usize,
    pad_before: usize,
    pad_after: usize,
    max_chunk: usize,
    cut_search: usize,
}

impl Frames {
    fn from_config(config: &EndpointConfig) -> Result<Self, SpeechError> {
        let frames =
            |d: Duration| ((d.as_micros() + FRAME_DURATION.as_micros() / 2) / FRAME_DURATION.as_micros()) as usize;
        let f = Self {
            onset: frames(config.onset).max(1),
            end_silence: frames(config.end_silence).max(1),
            min_speech: frames(config.min_speech),
            pad_before: frames(config.pad_before),
            pad_after: frames(config.pad_after),
            max_chunk: frames(config.max_chunk),
            cut_search: frames(config.cut_search).max(1),
        };
        if config.max_chunk > MAX_CHUNK_LIMIT || config.max_chunk < Duration::from_secs(1) {
            return Err(SpeechError::Config {
                field: "max_chunk",
                problem: format!("{:?} is outside 1 s..=30 s", config.max_chunk),
            });
        }
        if f.cut_search >= f.max_chunk {
            return Err(SpeechError::Config {
                field: "cut_search",
                problem: format!("{:?} must be shorter than max_chunk {:?}", config.cut_search, config.max_chunk),
            });
        }
        if f.pad_before + f.onset >= f.max_chunk || f.pad_after >= f.end_silence {
            return Err(SpeechError::Config {
                field: "pad_before/pad_after",
                problem: "padding must be shorter than max_chunk (before) and end_silence (after)".to_owned(),
            });
        }
        Ok(f)
    }
}

/// What the end-pointer keeps about each buffered frame.
#[derive(Debug, Clone, Copy)]
struct FrameMark {
    voiced: bool,
    level_dbfs: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for speech; `voiced_run` voiced frames in a row so far.
    Idle { voiced_run: usize },
    /// In an utterance; `silence_run` non-speech frames in a row so far.
    Speaking { silence_run: usize },
}

/// One leg's end-pointer: frames in, [`Chunk`]s out. Pure and
/// allocation-light: the sample buffer grows to the longest utterance and
/// is reused; it is zeroed as audio leaves it and when dropped.
#[derive(Debug)]
pub struct Endpointer {
    leg: Leg,
    frames: Frames,
    vad: VoiceDetector,
    /// Buffered audio: pre-roll while idle, the utterance while speaking.
    samples: Vec<f32>,
    marks: Vec<FrameMark>,
    /// Call time of the first buffered frame.
    start: Duration,
    /// When the next frame is due, if any frame was seen.
    expected: Option<Duration>,
    state: State,
}

impl Endpointer {
    /// An end-pointer for `leg`; fails on an inconsistent configuration.
    pub fn new(leg: Leg, config: &EndpointConfig) -> Result<Self, SpeechError> {
        Ok(Self {
            leg,
            frames: Frames::from_config(config)?,
            vad: VoiceDetector::new(config.vad.clone()),
            samples: Vec::new(),
            marks: Vec::new(),
            start: Duration::ZERO,
            expected: None,
            state: State::Idle { voiced_run: 0 },
        })
    }

    /// The leg this end-pointer serves.
    pub fn leg(&self) -> Leg {
        self.leg
    }

    /// Whether an utterance is in progress.
    pub fn is_speaking(&self) -> bool {
        matches!(self.state, State::Speaking { .. })
    }

    /// Feeds one frame of 16-bit PCM starting `at` after the call began.
    pub fn push_i16(&mut self, at: Duration, frame: &[i16; FRAME_SAMPLES]) -> Option<Chunk> {
        let mut samples = frame.map(|s| f32::from(s) / 32768.0);
        let chunk = self.push(at, &samples);
        samples.zeroize();
        chunk
    }

    /// Feeds one frame of samples in −1.0..=1.0 starting `at` after the
    /// call began. Returns a chunk when this frame completes one.
    pub fn push(&mut self, at: Duration, frame: &[f32; FRAME_SAMPLES]) -> Option<Chunk> {
        let mut closed = None;
        if self.expected.is_some_and(|expected| at.abs_diff(expected) > FRAME_DURATION / 2) {
            closed = self.close(ChunkReason::EndOfUtterance);
            // Pre-roll from before the gap is not continuous with what follows.
            self.drain_front(self.marks.len());
        }
        if self.marks.is_empty() {
            self.start = at;
        }
        self.expected = Some(at + FRAME_DURATION);

        let voice = self.vad.classify(frame);
        self.samples.extend_from_slice(frame);
        self.marks.push(FrameMark { voiced: voice.voiced, level_dbfs: voice.level_dbfs });

        let made = match self.state {
            State::Idle { voiced_run } => {
                let voiced_run = if voice.voiced { voiced_run + 1 } else { 0 };
                if voiced_run >= self.frames.onset {
                    self.state = State::Speaking { silence_run: 0 };
                } else {
                    self.state = State::Idle { voiced_run };
                    self.keep_last(self.frames.pad_before + voiced_run);
                }
                None
            }
            State::Speaking { silence_run } => {
                let silence_run = if voice.speech { 0 } else { silence_run + 1 };
                self.state = State::Speaking { silence_run };
                if silence_run >= self.frames.end_silence {
                    self.close(ChunkReason::EndOfUtterance)
                } else if self.marks.len() >= self.frames.max_chunk {
                    Some(self.forced_cut())
                } else {
                    None
                }
            }
        };
        debug_assert!(closed.is_none() || made.is_none(), "a gap cannot be followed by a chunk in one frame");
        closed.or(made)
    }

    /// Ends the leg (call over, stream gone): the utterance in progress, if
    /// it holds enough speech, and every buffer zeroed.
    pub fn finish(&mut self) -> Option<Chunk> {
        let chunk = self.close(ChunkReason::CallEnded);
        self.drain_front(self.marks.len());
        self.expected = None;
        chunk
    }

    /// Closes the utterance in progress: trims the silence after the last
    /// speech frame to `pad_after`, returns it if it has `min_speech`, and
    /// goes idle keeping the trimmed tail as pre-roll.
    fn close(&mut self, reason: ChunkReason) -> Option<Chunk> {
        let State::Speaking { silence_run } = self.state else {
            return None;
        };
        self.state = State::Idle { voiced_run: 0 };
        self.vad.reset_hangover();
        let end = self.marks.len() - silence_run + self.frames.pad_after.min(silence_run);
        let voiced = self.marks[..end].iter().filter(|m| m.voiced).count();
        let chunk = (voiced >= self.frames.min_speech).then(|| self.take_front(end, reason));
        if chunk.is_none() {
            self.drain_front(end);
        }
        self.keep_last(self.frames.pad_before);
        chunk
    }

    /// Cuts a chunk at the quietest frame of the last `cut_search` frames;
    /// the frames after the cut start the next chunk.
    fn forced_cut(&mut self) -> Chunk {
        let len = self.marks.len();
        let from = len - self.frames.cut_search;
        let quietest = (from..len)
            .min_by(|&a, &b| self.marks[a].level_dbfs.total_cmp(&self.marks[b].level_dbfs))
            .unwrap_or(len - 1);
        let chunk = self.take_front(quietest + 1, ChunkReason::ForcedCut);
        // The frames left over are mid-utterance; the silence counted so
        // far lies among them only if it came after the cut.
        if let State::Speaking { silence_run } = self.state {
            self.state = State::Speaking { silence_run: silence_run.min(self.marks.len()) };
        }
        chunk
    }

    /// Moves the first `frames` buffered frames out as a chunk.
    fn take_front(&mut self, frames: usize, reason: ChunkReason) -> Chunk {
        let voiced = self.marks[..frames].iter().filter(|m| m.voiced).count();
        let chunk = Chunk {
            leg: self.leg,
            start: self.start,
            samples: self.samples[..frames * FRAME_SAMPLES].to_vec(),
            reason,
            speech_ratio: if frames == 0 { 0.0 } else { voiced as f32 / frames as f32 },
        };
        self.drain_front(frames);
        chunk
    }

    /// Keeps only the last `frames` buffered frames.
    fn keep_last(&mut self, frames: usize) {
        if self.marks.len() > frames {
            self.drain_front(self.marks.len() - frames);
        }
    }

    /// Drops the first `frames` buffered frames, zeroing the audio left
    /// behind in the buffer's spare capacity.
    fn drain_front(&mut self, frames: usize) {
        let len = self.samples.len();
        let cut = frames * FRAME_SAMPLES;
        self.samples.copy_within(cut.., 0);
        self.samples[len - cut..].zeroize();
        self.samples.truncate(len - cut);
        self.marks.drain(..frames);
        self.start += FRAME_DURATION * frames as u32;
    }
}

impl Drop for Endpointer {
    fn drop(&mut self) {
        self.samples.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SILENCE: [f32; FRAME_SAMPLES] = [0.0; FRAME_SAMPLES];

    /// Harmonic "speech": a 150 Hz pulse train through a 900 Hz resonance,
    /// at `amp`. Steady, so the tests start each plan with silence to hold
    /// the noise floor down (real speech has gaps that do that).
    fn voiced(frame_index: usize, amp: f32) -> [f32; FRAME_SAMPLES] {
        std::array::from_fn(|n| {
            let t = (frame_index * FRAME_SAMPLES + n) as f32 / 16_000.0;
            let since = t % (1.0 / 150.0);
            amp * (-since * 500.0).exp() * (std::f32::consts::TAU * 900.0 * since).sin()
        })
    }

    fn at(frame: usize) -> Duration {
        FRAME_DURATION * frame as u32
    }

    /// Feeds `plan` (true = voiced frame) and returns every chunk made.
    fn run(ep: &mut Endpointer, plan: &[bool]) -> Vec<Chunk> {
        plan.iter()
            .enumerate()
            .filter_map(|(i, &v)| ep.push(at(i), &if v { voiced(i, 0.3) } else { SILENCE }))
            .collect()
    }

    fn plan(parts: &[(bool, usize)]) -> Vec<bool> {
        parts.iter().flat_map(|&(v, n)| std::iter::repeat_n(v, n)).collect()
    }

    #[test]
    fn an_utterance_ends_after_the_configured_silence_with_padding() {
        let mut ep = Endpointer::new(Leg::Caller, &EndpointConfig::default()).unwrap();
        // 1 s silence, 1 s speech, 1 s silence.
        let chunks = run(&mut ep, &plan(&[(false, 50), (true, 50), (false, 50)]));
        assert_eq!(chunks.len(), 1);
        let c = &chunks[0];
        assert_eq!(c.reason, ChunkReason::EndOfUtterance);
        // Starts pad_before (10 frames) before the first voiced frame.
        assert_eq!(c.start, at(40));
        // Speech ends at frame 100; hangover 4 frames; pad_after 10 frames.
        assert_eq!(c.samples.len(), (10 + 50 + 4 + 10) * FRAME_SAMPLES);
        assert!(c.speech_ratio > 0.6 && c.speech_ratio < 0.75, "{}", c.speech_ratio);
    }

    #[test]
    fn a_pause_shorter_than_the_end_silence_does_not_split() {
        let mut ep = Endpointer::new(Leg::Callee, &EndpointConfig::default()).unwrap();
        let chunks = run(&mut ep, &plan(&[(false, 10), (true, 30), (false, 20), (true, 30), (false, 60)]));
        assert_eq!(chunks.len(), 1, "400 ms pause split the utterance");
        assert_eq!(chunks[0].leg, Leg::Callee);
    }

    #[test]
    fn bursts_shorter_than_the_minimum_speech_are_dropped() {
        let mut ep = Endpointer::new(Leg::Caller, &EndpointConfig::default()).unwrap();
        let chunks = run(&mut ep, &plan(&[(false, 20), (true, 6), (false, 60), (true, 2), (false, 60)]));
        assert!(chunks.is_empty(), "{chunks:?}");
        assert!(!ep.is_speaking());
    }

    #[test]
    fn a_monologue_is_cut_at_the_quietest_frame_of_the_last_second() {
        let config = EndpointConfig::default();
        let mut ep = Endpointer::new(Leg::Caller, &config).unwrap();
        // 200 ms of silence, then 19.8 s of speech with a dip every 500 ms
        // (syllables) and one silent frame, 380, in the last second before
        // the chunk reaches 8 s.
        let mut chunks = Vec::new();
        for i in 0..1000 {
            let amp = match i {
                380 => 0.0,
                _ if i % 25 == 24 => 0.01,
                _ => 0.3,
            };
            let frame = if i < 10 { SILENCE } else { voiced(i, amp) };
            if let Some(c) = ep.push(at(i), &frame) {
                chunks.push(c);
            }
        }
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        assert!(chunks.iter().all(|c| c.reason == ChunkReason::ForcedCut));
        // First chunk starts at frame 0 and ends just after frame 380.
        assert_eq!(chunks[0].start, at(0));
        assert_eq!(chunks[0].samples.len(), 381 * FRAME_SAMPLES);
        assert_eq!(chunks[1].start, at(381), "the next chunk starts where the cut was");
        // The second cut falls on the first of the equally quiet dips in
        // its last second, frame 749.
        assert_eq!(chunks[1].end(), at(750));
        let last = ep.finish().expect("the rest of the monologue at call end");
        assert_eq!(last.reason, ChunkReason::CallEnded);
        assert_eq!(last.end(), at(1000), "everything up to the call end is covered");
    }

    #[test]
    fn finish_flushes_the_utterance_in_progress_and_nothing_when_idle() {
        let mut ep = Endpointer::new(Leg::Caller, &EndpointConfig::default()).unwrap();
        assert!(run(&mut ep, &plan(&[(false, 10), (true, 40)])).is_empty());
        let c = ep.finish().expect("speech in progress");
        assert_eq!((c.reason, c.start), (ChunkReason::CallEnded, at(0)));
        assert!(ep.finish().is_none());
    }

    #[test]
    fn a_gap_in_frame_times_closes_the_utterance() {
        let mut ep = Endpointer::new(Leg::Caller, &EndpointConfig::default()).unwrap();
        for i in 0..40 {
            let frame = if i < 10 { SILENCE } else { voiced(i, 0.3) };
            assert!(ep.push(at(i), &frame).is_none());
        }
        let c = ep.push(at(100), &voiced(100, 0.3)).expect("gap closes the utterance");
        assert_eq!((c.start, c.end(), c.reason), (at(0), at(40), ChunkReason::EndOfUtterance));
        let c = ep.finish();
        assert!(c.is_none(), "one frame after the gap is not an utterance: {c:?}");
    }

    #[test]
    fn i16_frames_are_scaled_to_full_scale_floats() {
        let mut ep = Endpointer::new(Leg::Caller, &EndpointConfig::default()).unwrap();
        for i in 0..40 {
            let frame = if i < 10 { [0; FRAME_SAMPLES] } else { voiced(i, 0.3).map(|s| (s * 32768.0) as i16) };
            assert!(ep.push_i16(at(i), &frame).is_none());
        }
        let c = ep.finish().unwrap();
        let peak = c.samples.iter().fold(0f32, |m, s| m.max(s.abs()));
        assert!(peak > 0.2 && peak <= 0.3, "{peak}");
    }

    #[test]
    fn inconsistent_configurations_are_refused() {
        let long = EndpointConfig { max_chunk: Duration::from_secs(31), ..EndpointConfig::default() };
        assert!(matches!(Endpointer::new(Leg::Caller, &long), Err(SpeechError::Config { field: "max_chunk", .. })));
        let search = EndpointConfig { cut_search: Duration::from_secs(9), ..EndpointConfig::default() };
        assert!(matches!(Endpointer::new(Leg::Caller, &search), Err(SpeechError::Config { field: "cut_search", .. })));
    }
}
