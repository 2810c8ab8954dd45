//! `callguard transcribe`: a recording through the appliance's speech path.

use std::path::Path;

use anyhow::{Context, anyhow, bail};
use callguard_codecs::g711::{alaw_to_linear, ulaw_to_linear};
use callguard_media::{FRAME_SAMPLES, Resampler16k};
use callguard_speech::Leg;

use crate::cli::{GlobalArgs, RawCodec, TranscribeArgs};
use crate::failure::Failure;
use crate::output::print_json;

/// Runs `callguard transcribe`.
pub fn transcribe(global: &GlobalArgs, args: TranscribeArgs) -> Result<(), Failure> {
    let (config, _) = super::load_config(global)?;
    let (rate, channels) = read_audio(&args.file, args.codec).map_err(Failure::usage)?;
    let seconds = channels.first().map_or(0.0, |c| c.len() as f64 / f64::from(rate));
    let legs: Vec<(Leg, Vec<[f32; FRAME_SAMPLES]>)> = channels
        .iter()
        .zip(Leg::BOTH)
        .map(|(samples, leg)| Ok((leg, frames_16k(rate, samples)?)))
        .collect::<anyhow::Result<_>>()
        .map_err(Failure::usage)?;
    let model = args.model.as_deref().map(|m| callguard_daemon::model_override(&config, m));
    if !args.json {
        eprintln!("transcribing {seconds:.1} s of audio ({} leg(s))…", legs.len());
    }
    let mut all = Vec::new();
    let mut heard = 0;
    let chunks = callguard_daemon::transcribe_recording(&config, model, legs, |u| {
        heard += 1;
        if args.json {
            all.push(u);
        } else {
            println!("[{:>7.2} – {:>7.2}] {:<6} {} ({:.0} %)", u.start, u.end, u.leg, u.text, u.confidence * 100.0);
        }
    })
    .map_err(|e| Failure::runtime(anyhow!(e)))?;
    if args.json {
        print_json(&all)?;
    } else {
        eprintln!("{heard} utterance(s) from {chunks} chunk(s) of speech");
    }
    Ok(())
}

/// The file's sample rate and its channels as 16-bit samples.
fn read_audio(path: &Path, codec: Option<RawCodec>) -> anyhow::Result<(u32, Vec<Vec<i16>>)> {
    if let Some(codec) = codec {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let decode = match codec {
            RawCodec::Pcmu => ulaw_to_linear,
            RawCodec::Pcma => alaw_to_linear,
        };
        return Ok((8000, vec![bytes.into_iter().map(decode).collect()]));
    }
    let mut reader = hound::WavReader::open(path).with_context(|| {
        format!("cannot read {} as WAV (for raw G.711 give --codec pcmu or --codec pcma)", path.display())
    })?;
    let spec = reader.spec();
    if !(1..=2).contains(&spec.channels) {
        bail!(
            "{} has {} channels: give a mono file, or a stereo one (caller left, callee right)",
            path.display(),
            spec.channels
        );
    }
    let samples: Vec<i16> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, bits @ 1..=32) => {
            let scale = 32768.0 / f64::from(1u32 << (bits - 1));
            reader
                .samples::<i32>()
                .map(|s| s.map(|s| (f64::from(s) * scale).clamp(-32768.0, 32767.0) as i16))
                .collect::<Result<_, _>>()?
        }
        (hound::SampleFormat::Float, 32) => reader
            .samples::<f32>()
            .map(|s| s.map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16))
            .collect::<Result<_, _>>()?,
        (format, bits) => bail!("{}: {bits}-bit {format:?} samples are not supported", path.display()),
    };
    let n = usize::from(spec.channels);
    let channels = (0..n).map(|c| samples.iter().skip(c).step_by(n).copied().collect()).collect();
    Ok((spec.sample_rate, channels))
}

/// 20 ms frames at 16 kHz, the last one padded with silence.
fn frames_16k(rate: u32, samples: &[i16]) -> anyhow::Result<Vec<[f32; FRAME_SAMPLES]>> {
    let mut resampler = Resampler16k::new(rate)
        .map_err(|e| anyhow!("{e}: use a rate that divides into 20 ms frames (8000, 16000, 22050, 48000 Hz…)"))?;
    let chunk = resampler.input_frame_len();
    let mut frames = Vec::with_capacity(samples.len() / chunk + 1);
    let mut input = vec![0i16; chunk];
    for piece in samples.chunks(chunk) {
        input[..piece.len()].copy_from_slice(piece);
        input[piece.len()..].fill(0);
        let mut frame = [0.0; FRAME_SAMPLES];
        resampler.process(&input, &mut frame)?;
        frames.push(frame);
    }
    Ok(frames)
}
