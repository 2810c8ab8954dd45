//! llama.cpp through llama-cpp-2: one GGUF model loaded once, and a
//! [`Judge`]: one llama context whose KV cache is split into slots, each
//! keeping the evaluated prompt of one call's last checkpoint.

use std::fs::File;
use std::io::Read;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use callguard_llm_protocol::{TIMEOUT_PREFIX, TokenCounts};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use zeroize::Zeroize;

use crate::answer::{self, Answer, AnswerError, JsonTracker};
use crate::prompt;

/// Prompt tokens decoded per llama.cpp call; the deadline is checked
/// between calls, so this bounds how late a timeout can be noticed while
/// the prompt is evaluated.
const PROMPT_CHUNK: usize = 128;

/// Errors of loading the model or setting up the judge.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The model file cannot be read.
    #[error("cannot read the LLM model {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a GGUF model at all.
    #[error("the LLM model {path} is not a GGUF file (it does not start with \"GGUF\"); give a llama.cpp .gguf model")]
    NotGguf {
        /// The file.
        path: String,
    },
    /// llama.cpp refused the file.
    #[error(
        "llama.cpp cannot load the LLM model {path}: {message} (a truncated or corrupt download, or an architecture this build does not know; fetch it again)"
    )]
    Load {
        /// The file.
        path: String,
        /// llama-cpp-2's message.
        message: String,
    },
    /// The context could not be created (usually out of memory).
    #[error("cannot create a llama context of {ctx} tokens × {slots} slots: {message}")]
    Context {
        /// Tokens per slot.
        ctx: u32,
        /// Slots.
        slots: u32,
        /// llama-cpp-2's message.
        message: String,
    },
    /// llama.cpp's backend could not start.
    #[error("cannot start llama.cpp: {0}")]
    Backend(String),
}

/// Why one judgement failed. None of these quotes call content.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// The deadline passed: nothing is returned (the evaluated prompt is
    /// kept for the call's next checkpoint).
    #[error("{TIMEOUT_PREFIX}: the deadline of {allowed:?} passed while {stage} ({done} of {total} tokens)")]
    Timeout {
        /// The time allowed.
        allowed: Duration,
        /// `waiting`, `evaluating the prompt` or `generating`.
        stage: &'static str,
        /// Tokens done in that stage.
        done: usize,
        /// Tokens of the stage (the budget, when generating).
        total: usize,
    },
    /// Even the last turn of the transcript does not fit with the output
    /// budget.
    #[error("the prompt does not fit: {tokens} tokens with the last turn alone, {room} available for the prompt")]
    TooLong {
        /// Tokens needed.
        tokens: usize,
        /// Room left by the output budget in the slot's context.
        room: usize,
    },
    /// llama.cpp failed.
    #[error("llama.cpp failed: {0}")]
    Llama(String),
    /// The answer is unusable.
    #[error(transparent)]
    Answer(#[from] AnswerError),
}

/// What a judgement needs.
#[derive(Clone, Copy)]
pub struct JudgeInput<'a> {
    /// The call, for context reuse.
    pub call: u64,
    /// Speaker-labelled transcript, a turn a line, oldest first. When it
    /// does not fit the context, its oldest lines are left out.
    pub transcript: &'a str,
    /// Signaling facts.
    pub signaling: &'a str,
    /// Most tokens to generate.
    pub max_tokens: usize,
    /// When to give up.
    pub deadline: Instant,
}

/// A judgement and what it cost.
#[derive(Debug)]
pub struct Judgement {
    /// The answer.
    pub answer: Answer,
    /// Tokens evaluated, reused and generated.
    pub tokens: TokenCounts,
    /// Time spent evaluating the prompt (tokenizing included).
    pub prompt_time: Duration,
    /// Time spent generating.
    pub generate_time: Duration,
}

/// How the judge's context is sized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JudgeConfig {
    /// Threads for evaluation and generation.
    pub threads: u32,
    /// Tokens per slot: a judgement's prompt and answer must fit.
    pub ctx: u32,
    /// Calls whose evaluated prompt is kept (KV cache sequences, least
    /// recently used evicted).
    pub slots: u32,
    /// Whether a later checkpoint of a call reuses the evaluated prompt of
    /// its earlier one (off only to measure what reuse gains).
    pub reuse: bool,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        Self { threads: 2, ctx: 2048, slots: 4, reuse: true }
    }
}

fn backend() -> Result<&'static LlamaBackend, EngineError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // llama.cpp logs to stderr by default; its log lines can name
            // prompt sizes and, at debug level, tokens. Silence it before
            // anything else runs.
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default().with_logs_enabled(false));
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| EngineError::Backend(e.clone()))
}

/// A loaded GGUF model and its prompt template.
pub struct LlmModel {
    model: LlamaModel,
    name: String,
    head: String,
    tail: String,
    template: &'static str,
}

impl std::fmt::Debug for LlmModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmModel").field("name", &self.name).field("template", &self.template).finish()
    }
}

impl LlmModel {
    /// Loads the GGUF model at `path`, `gpu_layers` of its layers
    /// offloaded (0 on a CPU build). The file is checked to be GGUF first:
    /// llama.cpp's own reasons are silenced with its logging.
    pub fn load(path: &Path, gpu_layers: u32) -> Result<Self, EngineError> {
        let shown = path.display().to_string();
        let mut magic = [0u8; 4];
        File::open(path)
            .and_then(|mut f| f.read_exact(&mut magic))
            .map_err(|source| EngineError::Read { path: shown.clone(), source })?;
        if &magic != b"GGUF" {
            return Err(EngineError::NotGguf { path: shown });
        }
        let backend = backend()?;
        let params = LlamaModelParams::default().with_n_gpu_layers(gpu_layers);
        let model = LlamaModel::load_from_file(backend, path, &params)
            .map_err(|e| EngineError::Load { path: shown.clone(), message: e.to_string() })?;
        let (head, tail, template) = match render_template(&model) {
            Some((head, tail)) => (head, tail, "model"),
            None => {
                let (head, tail) = prompt::chatml(prompt::SYSTEM);
                (head, tail, "chatml")
            }
        };
        let name = path.file_name().map_or(shown, |n| n.to_string_lossy().into_owned());
        Ok(Self { model, name, head, tail, template })
    }

    /// The model's file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `model` when the prompt follows the model's own chat template,
    /// `chatml` when it fell back.
    pub fn template(&self) -> &'static str {
        self.template
    }

    /// The context length the model was trained with.
    pub fn n_ctx_train(&self) -> u32 {
        self.model.n_ctx_train()
    }

    /// A judge on this model. Not `Send`: create it on the thread that
    /// uses it.
    pub fn judge(&self, config: JudgeConfig) -> Result<Judge<'_>, EngineError> {
        let slots = config.slots.max(1);
        let ctx = config.ctx.max(256);
        let context_error = |message: String| EngineError::Context { ctx, slots, message };
        let total =
            ctx.checked_mul(slots).and_then(NonZeroU32::new).ok_or_else(|| context_error("too large".into()))?;
        let threads = i32::try_from(config.threads.max(1)).unwrap_or(i32::MAX);
        let params = LlamaContextParams::default()
            .with_n_ctx(Some(total))
            .with_n_batch(PROMPT_CHUNK as u32)
            .with_n_ubatch(PROMPT_CHUNK as u32)
            .with_n_seq_max(slots)
            .with_kv_unified(false)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let context = self.model.new_context(backend()?, params).map_err(|e| context_error(e.to_string()))?;
        let vocab = self.model.vocab();
        let head = vocab.tokenize(self.head.as_bytes(), true, true);
        let tail = vocab.tokenize(self.tail.as_bytes(), false, true);
        Ok(Judge {
            model: self,
            context,
            batch: LlamaBatch::new(PROMPT_CHUNK, 1),
            slots: (0..slots).map(|_| Slot { call: None, tokens: Vec::new(), used: 0 }).collect(),
            ctx: ctx as usize,
            head,
            tail,
            grammar: prompt::grammar(),
            clock: 0,
            reuse: config.reuse,
        })
    }
}

/// The model's chat template applied to the system instruction and a
/// placeholder user message, split around the placeholder; `None` when
/// the model has no template llama.cpp can apply.
fn render_template(model: &LlamaModel) -> Option<(String, String)> {
    let template = model.chat_template(None).ok()?;
    let messages = [
        LlamaChatMessage::new("system".into(), prompt::SYSTEM.into()).ok()?,
        LlamaChatMessage::new("user".into(), prompt::PLACEHOLDER.into()).ok()?,
    ];
    let rendered = model.apply_chat_template(&template, &messages, true).ok()?;
    let (head, tail) = rendered.split_once(prompt::PLACEHOLDER)?;
    (!tail.contains(prompt::PLACEHOLDER) && head.contains(prompt::SYSTEM)).then(|| (head.to_owned(), tail.to_owned()))
}

/// One KV cache sequence and the tokens evaluated into it.
struct Slot {
    call: Option<u64>,
    tokens: Vec<LlamaToken>,
    used: u64,
}

fn wipe(tokens: &mut Vec<LlamaToken>, from: usize) {
    for token in tokens.iter_mut().skip(from) {
        token.0.zeroize();
    }
    tokens.truncate(from);
}

/// Judges transcripts, one at a time, reusing each call's evaluated
/// prompt.
pub struct Judge<'m> {
    model: &'m LlmModel,
    context: LlamaContext<'m>,
    batch: LlamaBatch<'static>,
    slots: Vec<Slot>,
    ctx: usize,
    head: Vec<LlamaToken>,
    tail: Vec<LlamaToken>,
    grammar: String,
    clock: u64,
    reuse: bool,
}

impl Judge<'_> {
    /// Tokens per slot.
    pub fn ctx(&self) -> usize {
        self.ctx
    }

    /// Drops what is cached for `call`. When no call is cached any more,
    /// the KV cache's memory is zeroed as well.
    pub fn forget(&mut self, call: u64) {
        if let Some(i) = self.slots.iter().position(|s| s.call == Some(call)) {
            self.reset_slot(i);
            self.slots[i].call = None;
        }
        if self.slots.iter().all(|s| s.call.is_none()) {
            self.context.clear_kv_cache();
        }
    }

    /// Calls cached now.
    pub fn cached_calls(&self) -> usize {
        self.slots.iter().filter(|s| s.call.is_some()).count()
    }

    fn reset_slot(&mut self, i: usize) {
        let _ = self.context.clear_kv_cache_seq(Some(i as u32), None, None);
        wipe(&mut self.slots[i].tokens, 0);
    }

    fn slot_for(&mut self, call: u64) -> usize {
        self.clock += 1;
        let i = match self.slots.iter().position(|s| s.call == Some(call)) {
            Some(i) => i,
            None => {
                let (i, _) = self
                    .slots
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, s)| (s.call.is_some(), s.used))
                    .expect("at least one slot");
                self.reset_slot(i);
                self.slots[i].call = Some(call);
                i
            }
        };
        self.slots[i].used = self.clock;
        i
    }

    /// The prompt's tokens, within `room`: the oldest transcript lines are
    /// left out until it fits.
    fn prompt_tokens(&self, input: &JudgeInput<'_>, room: usize) -> Result<Vec<LlamaToken>, JudgeError> {
        let vocab = self.model.model.vocab();
        let fixed = self.head.len() + self.tail.len();
        let mut transcript = input.transcript;
        loop {
            let mut user = prompt::user_message(input.signaling, transcript);
            // Content is not parsed for special tokens: a transcript
            // saying "<|im_end|>" stays text.
            let mut body = vocab.tokenize(user.as_bytes(), false, false);
            user.zeroize();
            let total = fixed + body.len();
            if total <= room {
                let mut tokens = Vec::with_capacity(total);
                tokens.extend_from_slice(&self.head);
                tokens.extend_from_slice(&body);
                tokens.extend_from_slice(&self.tail);
                wipe(&mut body, 0);
                return Ok(tokens);
            }
            wipe(&mut body, 0);
            // Leave out at least a line, and about as many bytes as three
            // times the tokens too many.
            let excess_bytes = (total - room) * 3;
            let mut cut = 0;
            for (at, _) in transcript.match_indices('\n') {
                cut = at + 1;
                if cut >= excess_bytes {
                    break;
                }
            }
            if cut == 0 || cut >= transcript.len() {
                return Err(JudgeError::TooLong { tokens: total, room });
            }
            transcript = &transcript[cut..];
        }
    }

    fn decode_one(&mut self, token: LlamaToken, pos: usize, seq: usize) -> Result<(), JudgeError> {
        self.batch.clear();
        self.batch.add(token, pos as i32, &[seq as i32], true).map_err(|e| JudgeError::Llama(e.to_string()))?;
        self.context.decode(&mut self.batch).map_err(|e| JudgeError::Llama(e.to_string()))
    }

    /// The next token: greedy, within the grammar. The best token is tried
    /// against the grammar alone first (llama.cpp's common sampler does
    /// the same); only if the grammar refuses it is the whole vocabulary
    /// filtered. The grammar sampler then accepts the token, once.
    fn pick(&mut self, grammar: &mut LlamaSampler, idx: i32) -> Result<LlamaToken, JudgeError> {
        let logits = self.context.get_logits_ith(idx);
        let (best, logit) = logits
            .iter()
            .enumerate()
            .fold((0usize, f32::NEG_INFINITY), |acc, (i, &l)| if l > acc.1 { (i, l) } else { acc });
        let best = LlamaToken(best as i32);
        let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(best, logit, 0.0)], false);
        grammar.apply(&mut one);
        let chosen = if one.data[0].logit().is_finite() {
            best
        } else {
            let mut all = self.context.token_data_array_ith(idx);
            grammar.apply(&mut all);
            all.data
                .iter()
                .filter(|d| d.logit().is_finite())
                .max_by(|a, b| a.logit().total_cmp(&b.logit()))
                .map(LlamaTokenData::id)
                .ok_or_else(|| JudgeError::Llama("the grammar allows no token here".into()))?
        };
        grammar.try_accept(chosen).map_err(|e| JudgeError::Llama(format!("the grammar refused a token: {e}")))?;
        Ok(chosen)
    }

    /// Judges one checkpoint of a call.
    pub fn judge(&mut self, input: &JudgeInput<'_>) -> Result<Judgement, JudgeError> {
        let started = Instant::now();
        let allowed = input.deadline.saturating_duration_since(started);
        let timeout = |stage, done, total| JudgeError::Timeout { allowed, stage, done, total };
        if allowed.is_zero() {
            return Err(timeout("waiting", 0, 0));
        }
        let max_tokens = input.max_tokens.max(1);
        let room = self.ctx.saturating_sub(max_tokens);
        let mut prompt = self.prompt_tokens(input, room)?;
        let seq = self.slot_for(input.call);
        if !self.reuse {
            self.reset_slot(seq);
        }

        // Keep what the call's previous checkpoint evaluated, as far as it
        // agrees with this prompt; at least the last prompt token is
        // evaluated again, for its logits.
        let cached = &self.slots[seq].tokens;
        let mut keep = cached.iter().zip(&prompt).take_while(|(a, b)| a == b).count().min(prompt.len() - 1);
        if keep < cached.len() {
            match self.context.clear_kv_cache_seq(Some(seq as u32), Some(keep as u32), None) {
                Ok(true) => wipe(&mut self.slots[seq].tokens, keep),
                _ => {
                    self.reset_slot(seq);
                    keep = 0;
                }
            }
        }

        let result = self.evaluate(&prompt, keep, seq, input, max_tokens, started, &timeout);
        wipe(&mut prompt, 0);
        if matches!(result, Err(JudgeError::Llama(_))) {
            // The cache may be in any state: start the call afresh.
            self.reset_slot(seq);
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn evaluate(
        &mut self,
        prompt: &[LlamaToken],
        keep: usize,
        seq: usize,
        input: &JudgeInput<'_>,
        max_tokens: usize,
        started: Instant,
        timeout: &dyn Fn(&'static str, usize, usize) -> JudgeError,
    ) -> Result<Judgement, JudgeError> {
        let fresh = &prompt[keep..];
        let mut done = 0;
        for chunk in fresh.chunks(PROMPT_CHUNK) {
            if Instant::now() >= input.deadline {
                return Err(timeout("evaluating the prompt", done, fresh.len()));
            }
            self.batch.clear();
            let last_chunk = done + chunk.len() == fresh.len();
            for (i, &token) in chunk.iter().enumerate() {
                let pos = (keep + done + i) as i32;
                let logits = last_chunk && i + 1 == chunk.len();
                self.batch.add(token, pos, &[seq as i32], logits).map_err(|e| JudgeError::Llama(e.to_string()))?;
            }
            self.context.decode(&mut self.batch).map_err(|e| JudgeError::Llama(e.to_string()))?;
            self.slots[seq].tokens.extend_from_slice(chunk);
            done += chunk.len();
        }
        let prompt_time = started.elapsed();

        let generating = Instant::now();
        let mut grammar = LlamaSampler::grammar(&self.model.model, &self.grammar, "root")
            .map_err(|e| JudgeError::Llama(format!("the answer grammar does not load: {e}")))?;
        let vocab = self.model.model.vocab();
        let mut text: Vec<u8> = Vec::with_capacity(256);
        let mut tracker = JsonTracker::default();
        let mut idx = self.batch.n_tokens() - 1;
        let mut generated = 0;
        let outcome = loop {
            if generated == max_tokens || self.slots[seq].tokens.len() >= self.ctx {
                break Ok(());
            }
            if Instant::now() >= input.deadline {
                break Err(timeout("generating", generated, max_tokens));
            }
            let token = match self.pick(&mut grammar, idx) {
                Ok(token) => token,
                Err(e) => break Err(e),
            };
            if vocab.is_eog(token) {
                break Ok(());
            }
            let mut piece = vocab.token_to_piece(token, false, None);
            text.extend_from_slice(&piece);
            tracker.feed(&piece);
            piece.zeroize();
            generated += 1;
            if tracker.complete() {
                break Ok(());
            }
            let pos = self.slots[seq].tokens.len();
            if let Err(e) = self.decode_one(token, pos, seq) {
                break Err(e);
            }
            self.slots[seq].tokens.push(token);
            idx = 0;
        };
        if let Err(e) = outcome {
            text.zeroize();
            return Err(e);
        }
        let generate_time = generating.elapsed();
        let answer = answer::parse(&mut text)?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(Judgement {
            answer,
            tokens: TokenCounts { prompt: count(fresh.len()), reused: count(keep), generated: count(generated) },
            prompt_time,
            generate_time,
        })
    }
}
