//! `callguard media decode`: a capture file's streams as 16 kHz WAV files.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, anyhow};
use base64::Engine;
use callguard_capture::{PcapSource, ReplaySpeed};
use callguard_dataplane::{Codec, DecodeOptions, SrtpMasterKey, SrtpProfile, decode_recorded};
use serde::Serialize;

use crate::cli::MediaCommand;
use crate::failure::Failure;
use crate::output::{print_json, print_table};

#[derive(Serialize)]
struct StreamReport {
    file: String,
    source: String,
    destination: String,
    codec: &'static str,
    packets: u64,
    lost: u64,
    late: u64,
    duplicates: u64,
    concealed_ms: u64,
    jitter_ms: f64,
    dtmf_events: u64,
    srtp_rejected: u64,
    malformed: u64,
    seconds: f64,
}

/// Runs a `media` subcommand.
pub fn media(command: MediaCommand) -> Result<(), Failure> {
    let MediaCommand::Decode { file, out, codecs, dtmf, srtp_keys, json } = command;
    let options = DecodeOptions {
        payload_types: codecs.iter().map(|c| parse_codec(c)).collect::<Result<_, _>>().map_err(Failure::usage)?,
        telephone_event: dtmf,
        srtp: srtp_keys.iter().map(|k| parse_srtp_key(k)).collect::<Result<_, _>>().map_err(Failure::usage)?,
    };
    let mut source = PcapSource::open(&file, ReplaySpeed::AsFastAsPossible, 1..=u16::MAX)?;
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut writers: HashMap<usize, hound::WavWriter<std::io::BufWriter<std::fs::File>>> = HashMap::new();
    let mut failure: Option<anyhow::Error> = None;
    let (streams, undecodable) = decode_recorded(&mut source, &options, |index, frame| {
        if failure.is_some() {
            return;
        }
        let writer = match writers.entry(index) {
            std::collections::hash_map::Entry::Occupied(w) => w.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => match wav_writer(&out, index) {
                Ok(w) => slot.insert(w),
                Err(e) => {
                    failure = Some(e);
                    return;
                }
            },
        };
        for sample in frame.samples {
            if let Err(e) = writer.write_sample((sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16) {
                failure = Some(e.into());
                return;
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(Failure::runtime(e));
    }
    for (_, writer) in writers {
        writer.finalize().context("cannot finish a WAV file")?;
    }
    let reports: Vec<StreamReport> = streams
        .iter()
        .enumerate()
        .map(|(i, s)| StreamReport {
            file: out.join(wav_name(i)).display().to_string(),
            source: s.source.to_string(),
            destination: s.destination.to_string(),
            codec: s.codec.name(),
            packets: s.stats.packets,
            lost: s.stats.lost,
            late: s.stats.late,
            duplicates: s.stats.duplicates,
            concealed_ms: s.stats.concealed_ms,
            jitter_ms: s.stats.jitter_ms,
            dtmf_events: s.stats.dtmf_events,
            srtp_rejected: s.srtp_rejected,
            malformed: s.malformed,
            seconds: s.stats.frames as f64 * 0.02,
        })
        .collect();
    if json {
        print_json(&serde_json::json!({
            "streams": reports,
            "undecodable_flows": undecodable.flows,
            "undecodable_packets": undecodable.packets,
        }))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            vec![
                r.file.clone(),
                format!("{} → {}", r.source, r.destination),
                r.codec.to_owned(),
                r.packets.to_string(),
                r.lost.to_string(),
                format!("{:.1}", r.jitter_ms),
                r.concealed_ms.to_string(),
                format!("{:.1}", r.seconds),
            ]
        })
        .collect();
    print_table(&["FILE", "FLOW", "CODEC", "PACKETS", "LOST", "JITTER MS", "CONCEALED MS", "SECONDS"], &rows)?;
    if undecodable.flows > 0 {
        eprintln!(
            "{} flow(s), {} packet(s) skipped: unknown payload type (name it with --codec PT=NAME)",
            undecodable.flows, undecodable.packets
        );
    }
    Ok(())
}

fn wav_name(index: usize) -> String {
    format!("stream-{:02}.wav", index + 1)
}

fn wav_writer(dir: &Path, index: usize) -> anyhow::Result<hound::WavWriter<std::io::BufWriter<std::fs::File>>> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let path = dir.join(wav_name(index));
    hound::WavWriter::create(&path, spec).with_context(|| format!("cannot write {}", path.display()))
}

fn parse_codec(text: &str) -> anyhow::Result<(u8, Codec)> {
    let (pt, name) = text.split_once('=').ok_or_else(|| anyhow!("--codec `{text}` is not PT=NAME"))?;
    let pt: u8 = pt.trim().parse().map_err(|_| anyhow!("--codec `{text}`: `{pt}` is not a payload type"))?;
    let codec = ["PCMU", "PCMA", "G722", "opus"]
        .iter()
        .zip([Codec::Pcmu, Codec::Pcma, Codec::G722, Codec::Opus])
        .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
        .map(|(_, c)| c)
        .ok_or_else(|| anyhow!("--codec `{text}`: `{name}` is not one of PCMU, PCMA, G722, opus"))?;
    Ok((pt, codec))
}

fn parse_srtp_key(text: &str) -> anyhow::Result<(u16, (SrtpMasterKey, SrtpProfile))> {
    let (port, rest) = text.split_once('=').ok_or_else(|| anyhow!("--srtp-key `{text}` is not PORT=BASE64"))?;
    let port: u16 = port.trim().parse().map_err(|_| anyhow!("--srtp-key: `{port}` is not a port"))?;
    let (key, profile) = match rest.rsplit_once(':') {
        Some((key, "32")) => (key, SrtpProfile::AesCm128HmacSha1Tag32),
        Some((key, "80")) => (key, SrtpProfile::AesCm128HmacSha1Tag80),
        _ => (rest, SrtpProfile::AesCm128HmacSha1Tag80),
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .map_err(|e| anyhow!("--srtp-key for port {port}: not base64 ({e})"))?;
    let key = SrtpMasterKey::from_slice(&bytes).map_err(|e| anyhow!("--srtp-key for port {port}: {e}"))?;
    Ok((port, (key, profile)))
}
