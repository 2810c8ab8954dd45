//! `callguard transcribe`: a recording through the same end-pointing and
//! the same worker as live calls, so a technician or a tuner hears what
//! the appliance hears. The text goes to the caller only; nothing is kept.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use callguard_config::Config;
use callguard_speech::{CallSpeech, Chunk, DecodeOptions, FRAME_DURATION, FRAME_SAMPLES, Leg};
use callguard_stt_protocol::{SttClient, TranscribeRequest};
use serde::Serialize;

use crate::speech::{endpoint_config, worker_settings};
use crate::stt_worker::launch;

/// One transcribed utterance of a recording.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Utterance {
    /// `caller` or `callee`.
    pub leg: String,
    /// Start, seconds from the beginning of the recording.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
    /// What was said.
    pub text: String,
    /// Whisper's confidence, 0 to 1.
    pub confidence: f32,
}

/// Which model to use instead of `speech.model`: a name in the model
/// store, or the path of a ggml file.
pub fn model_override(config: &Config, model: &str) -> PathBuf {
    let path = Path::new(model);
    if path.is_file() { path.to_owned() } else { crate::Paths::of(config).models.join(format!("{model}.bin")) }
}

/// Transcribes 16 kHz frames per leg with the configured end-pointing and
/// a worker of its own (the model `model`, or `speech.model`), reporting
/// each utterance to `on_utterance` as it comes. Returns how many chunks
/// were transcribed.
pub fn transcribe_recording(
    config: &Config,
    model: Option<PathBuf>,
    legs: Vec<(Leg, Vec<[f32; FRAME_SAMPLES]>)>,
    mut on_utterance: impl FnMut(Utterance),
) -> Result<usize, String> {
    let mut settings = worker_settings(config, model)?;
    let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    settings.socket = dir.path().join("stt.sock");
    settings.states = 1;
    let Some((_worker, mut clients)) = launch(&settings, &AtomicBool::new(false))? else {
        return Err("the worker did not start".into());
    };
    let client = &mut clients[0];
    let mut speech = CallSpeech::new(&callguard_speech::SpeechConfig {
        endpoint: endpoint_config(&config.speech),
        ..Default::default()
    })
    .map_err(|e| e.to_string())?;
    let longest = legs.iter().map(|(_, frames)| frames.len()).max().unwrap_or(0);
    let mut chunks = 0;
    for index in 0..longest {
        let at = FRAME_DURATION * index as u32;
        for (leg, frames) in &legs {
            if let Some(chunk) = frames.get(index).and_then(|frame| speech.push(*leg, at, frame)) {
                chunks += 1;
                transcribe(client, &mut speech, &chunk, chunks, &mut on_utterance)?;
            }
        }
    }
    for chunk in speech.finish() {
        chunks += 1;
        transcribe(client, &mut speech, &chunk, chunks, &mut on_utterance)?;
    }
    Ok(chunks)
}

fn transcribe(
    client: &mut SttClient,
    speech: &mut CallSpeech,
    chunk: &Chunk,
    id: usize,
    on_utterance: &mut impl FnMut(Utterance),
) -> Result<(), String> {
    let request = TranscribeRequest::from_chunk(id as u64, chunk, speech.prompt(chunk.leg), DecodeOptions::default());
    let reply = client.transcribe(&request).map_err(|e| e.to_string())?;
    for segment in speech.accept(chunk.leg, chunk.speech_ratio, reply.segments) {
        let seconds = |d: Duration| (d.as_secs_f64() * 100.0).round() / 100.0;
        on_utterance(Utterance {
            leg: chunk.leg.to_string(),
            start: seconds(segment.start),
            end: seconds(segment.end),
            text: segment.text.trim().to_owned(),
            confidence: segment.confidence,
        });
    }
    Ok(())
}
