//! whisper.cpp through whisper-rs: one model loaded once, any number of
//! decoding states sharing it, each state serving one request at a time.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use callguard_speech::{Chunk, DecodeOptions, SAMPLE_RATE, Segment, TranscribeError, Transcriber};
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState};
use zeroize::Zeroize;

/// Most prompt tokens passed to the decoder: whisper's limit is half its
/// 448-token text context.
const MAX_PROMPT_TOKENS: usize = 224;

/// Most text tokens decoded for `samples`: fast speech is about 4 words,
/// 6 tokens, a second; twice that plus a sentence is never reached by
/// speech, only by a decoder stuck in a loop, which this cuts short.
fn max_tokens(samples: usize) -> i32 {
    let seconds = samples.div_ceil(SAMPLE_RATE as usize);
    i32::try_from(seconds * 12 + 16).unwrap_or(i32::MAX)
}

/// Errors of the whisper engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The model file could not be loaded.
    #[error(
        "cannot load the whisper model {path}: {message} (is it a whisper.cpp ggml .bin? convert faster-whisper models with `callguard models import`)"
    )]
    Load {
        /// The file.
        path: String,
        /// whisper-rs's message.
        message: String,
    },
    /// A decoding state could not be created (usually out of memory).
    #[error("cannot create a whisper state: {0}")]
    State(String),
    /// Decoding failed.
    #[error("whisper failed: {0}")]
    Decode(String),
}

/// A loaded whisper model.
#[derive(Clone)]
pub struct WhisperModel {
    context: Arc<WhisperContext>,
    name: String,
}

impl std::fmt::Debug for WhisperModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperModel").field("name", &self.name).finish()
    }
}

impl WhisperModel {
    /// Loads the ggml model at `path`. whisper.cpp's own printing is
    /// silenced first (it would otherwise write to stderr).
    pub fn load(path: &Path) -> Result<Self, EngineError> {
        whisper_rs::install_logging_hooks();
        let shown = path.display().to_string();
        let path_str = path
            .to_str()
            .ok_or_else(|| EngineError::Load { path: shown.clone(), message: "path is not UTF-8".into() })?;
        let context = WhisperContext::new_with_params(path_str, WhisperContextParameters::default())
            .map_err(|e| EngineError::Load { path: shown.clone(), message: e.to_string() })?;
        let name = path.file_name().map_or(shown, |n| n.to_string_lossy().into_owned());
        Ok(Self { context: Arc::new(context), name })
    }

    /// The model's file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new decoding state sharing this model, decoding with `threads`
    /// threads.
    pub fn transcriber(&self, threads: usize) -> Result<WhisperTranscriber, EngineError> {
        let state = self.context.create_state().map_err(|e| EngineError::State(e.to_string()))?;
        Ok(WhisperTranscriber { model: self.clone(), state, threads: threads.max(1) })
    }
}

/// One decoding state: transcribes one chunk at a time.
pub struct WhisperTranscriber {
    model: WhisperModel,
    state: WhisperState,
    threads: usize,
}

impl WhisperTranscriber {
    /// Transcribes `samples` (16 kHz, −1.0..=1.0) that start `start` after
    /// the call began.
    ///
    /// Greedy decoding, English, with timestamp tokens (segments get their
    /// own times; and without them a reduced audio context sent tiny.en
    /// into loops: word error rate over 100 %), no temperature fallback
    /// (bounded time;
    /// loops are cut by a token budget and cleaned up downstream), no
    /// context carried over from the
    /// state's previous request (it may belong to another call): only the
    /// `prompt` given.
    pub fn transcribe_samples(
        &mut self,
        samples: &[f32],
        start: Duration,
        prompt: &str,
        options: &DecodeOptions,
    ) -> Result<Vec<Segment>, EngineError> {
        // Tokens are borrowed by the parameters rather than copied into a
        // C string that whisper-rs would never free (or zero).
        let prompt: String = prompt.chars().filter(|&c| c != '\0').collect();
        let mut tokens = if prompt.trim().is_empty() {
            Vec::new()
        } else {
            // A leading space, as whisper.cpp does for its initial prompt.
            let mut spaced = format!(" {}", prompt.trim());
            let tokens = self.model.context.tokenize(&spaced, MAX_PROMPT_TOKENS * 4);
            spaced.zeroize();
            let mut tokens = tokens.map_err(|e| EngineError::Decode(format!("cannot tokenize the prompt: {e}")))?;
            if tokens.len() > MAX_PROMPT_TOKENS {
                tokens.drain(..tokens.len() - MAX_PROMPT_TOKENS);
            }
            tokens
        };
        let mut prompt = prompt;
        prompt.zeroize();

        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(self.threads as i32);
        params.set_translate(false);
        params.set_no_context(true);
        params.set_no_timestamps(false);
        params.set_temperature_inc(0.0);
        params.set_suppress_blank(true);
        params.set_print_special(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_timestamps(false);
        params.set_tokens(&tokens);
        params.set_max_tokens(max_tokens(samples.len()));
        if let Some(frames) = options.audio_ctx.frames_for(samples.len()) {
            params.set_audio_ctx(i32::from(frames));
        }
        let result = self.state.full(params, samples);
        tokens.zeroize();
        result.map_err(|e| EngineError::Decode(e.to_string()))?;

        let eot = self.model.context.token_eot();
        let audio_len = Duration::from_micros(samples.len() as u64 * 1_000_000 / u64::from(SAMPLE_RATE));
        let mut segments = Vec::new();
        for segment in self.state.as_iter() {
            let text = segment.to_str_lossy().map_err(|e| EngineError::Decode(e.to_string()))?.trim().to_owned();
            if text.is_empty() {
                continue;
            }
            let (mut sum, mut count) = (0.0f32, 0u32);
            for i in 0..segment.n_tokens() {
                if let Some(token) = segment.get_token(i).filter(|t| t.token_id() < eot) {
                    sum += token.token_probability();
                    count += 1;
                }
            }
            let centis = |t: i64| Duration::from_millis(u64::try_from(t).unwrap_or(0) * 10).min(audio_len);
            segments.push(Segment {
                start: start + centis(segment.start_timestamp()),
                end: start + centis(segment.end_timestamp()).max(centis(segment.start_timestamp())),
                text,
                confidence: if count == 0 { 0.0 } else { sum / count as f32 },
            });
        }
        Ok(segments)
    }
}

impl Transcriber for WhisperTranscriber {
    fn transcribe(
        &mut self,
        chunk: &Chunk,
        prompt: &str,
        options: &DecodeOptions,
    ) -> Result<Vec<Segment>, TranscribeError> {
        self.transcribe_samples(&chunk.samples, chunk.start, prompt, options).map_err(|e| TranscribeError::Failed {
            leg: chunk.leg,
            start: chunk.start,
            message: e.to_string(),
        })
    }
}
