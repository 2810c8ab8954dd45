//! Decoders checked against independent implementations: sox (G.711),
//! FFmpeg (G.722), opus-tools/FFmpeg's libopus (Opus).
//!
//! Reference audio is made at test time in a temporary directory (speech
//! from espeak-ng, tones from sox) and deleted with it; no audio file is
//! committed. The tools come from Debian: `apt-get install sox ffmpeg
//! opus-tools espeak-ng`. Without them these tests fail with that hint.

use std::path::{Path, PathBuf};

use callguard_codecs::{Codec, Decoder, G711Decoder, G722Decoder, OpusDecoder, new_decoder};
use callguard_testkit::audio::{self, p, read_s16le, run, snr_db};

const TOOLS: &[&str] = &["sox", "ffmpeg", "opusenc", "espeak-ng"];

fn require_tools() {
    audio::require_tools(TOOLS);
}

/// Speech (espeak-ng) followed by a 300-3400 Hz sweep, mono WAV at `rate`.
fn make_test_wav(dir: &Path, rate: u32) -> PathBuf {
    let speech = dir.join("speech.wav");
    run(
        "espeak-ng",
        &[
            "-w",
            p(&speech),
            "Your bank account has been suspended. Press one to speak to an agent, then read me the code.",
        ],
    );
    let sweep = dir.join(format!("sweep{rate}.wav"));
    let r = rate.to_string();
    run("sox", &["-n", "-r", &r, "-c", "1", "-b", "16", p(&sweep), "synth", "2", "sine", "300-3400", "vol", "0.5"]);
    let speech_r = dir.join(format!("speech{rate}.wav"));
    run("sox", &[p(&speech), "-r", &r, "-c", "1", "-b", "16", p(&speech_r)]);
    let out = dir.join(format!("test{rate}.wav"));
    run("sox", &[p(&speech_r), p(&sweep), p(&out)]);
    out
}

fn g711_bit_exact(law: &str, decoder: &mut G711Decoder) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // 1. Every one of the 256 codes, decoded by sox.
    let codes = d.join("codes.raw");
    std::fs::write(&codes, (0..=255u8).collect::<Vec<u8>>()).unwrap();
    let codes_pcm = d.join("codes_pcm.raw");
    run(
        "sox",
        &[
            "-t",
            "raw",
            "-r",
            "8000",
            "-e",
            law,
            "-b",
            "8",
            "-c",
            "1",
            p(&codes),
            "-t",
            "raw",
            "-e",
            "signed",
            "-b",
            "16",
            p(&codes_pcm),
        ],
    );
    let reference = read_s16le(&codes_pcm);
    let mut ours = vec![0i16; 256];
    let all: Vec<u8> = (0..=255u8).collect();
    decoder.decode(&all, &mut ours).unwrap();
    assert_eq!(ours, reference, "{law}: table differs from sox");

    // 2. A WAV encoded by sox (-e u-law / -e a-law), decoded by sox and by
    //    us in 20 ms packets. (Encoders are not compared: sox rounds to the
    //    nearest 14/13-bit value before companding, the G.191 reference and
    //    `g711::linear_to_*` truncate, so they differ at half the decision
    //    boundaries. Only decoding matters to the appliance.)
    let wav = make_test_wav(d, 8000);
    let encoded = d.join("encoded.wav");
    run("sox", &[p(&wav), "-e", law, p(&encoded)]);
    let payload_file = d.join("payload.raw");
    run("sox", &[p(&encoded), "-t", "raw", p(&payload_file)]);
    let payload = std::fs::read(&payload_file).unwrap();
    let ref_file = d.join("ref.raw");
    run("sox", &[p(&encoded), "-t", "raw", "-e", "signed", "-b", "16", p(&ref_file)]);
    let reference = read_s16le(&ref_file);
    assert_eq!(reference.len(), payload.len());
    assert!(payload.len() > 8000 * 4, "test signal too short");
    let mut decoded = Vec::with_capacity(payload.len());
    let mut frame = [0i16; 160];
    for packet in payload.chunks(160) {
        let n = decoder.decode(packet, &mut frame).unwrap();
        decoded.extend_from_slice(&frame[..n]);
    }
    assert_eq!(decoded, reference, "{law}: decoded speech differs from sox");
}

#[test]
fn pcmu_is_bit_exact_with_sox() {
    require_tools();
    g711_bit_exact("u-law", &mut G711Decoder::pcmu());
}

#[test]
fn pcma_is_bit_exact_with_sox() {
    require_tools();
    g711_bit_exact("a-law", &mut G711Decoder::pcma());
}

/// Bound for G.722 against FFmpeg's decoder of the same bit stream. Both
/// implement the ITU fixed-point algorithm, so the expectation is bit
/// exactness; the bound leaves room only for rounding-level differences.
const G722_MIN_SNR_VS_FFMPEG_DB: f64 = 60.0;
/// Bound for the decoded signal against the encoder's input: G.722 at
/// 64 kbit/s reaches well above this on speech and tones.
const G722_MIN_SNR_VS_INPUT_DB: f64 = 15.0;

#[test]
fn g722_matches_ffmpeg() {
    require_tools();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wav = make_test_wav(d, 16000);
    let g722 = d.join("out.g722");
    run("ffmpeg", &["-loglevel", "error", "-i", p(&wav), "-ar", "16000", "-acodec", "g722", p(&g722)]);
    let reference_file = d.join("ref.raw");
    run(
        "ffmpeg",
        &[
            "-loglevel",
            "error",
            "-f",
            "g722",
            "-i",
            p(&g722),
            "-f",
            "s16le",
            "-acodec",
            "pcm_s16le",
            p(&reference_file),
        ],
    );
    let reference = read_s16le(&reference_file);
    let bitstream = std::fs::read(&g722).unwrap();

    let mut decoder = G722Decoder::new();
    let mut decoded = Vec::new();
    let mut frame = [0i16; 320];
    for packet in bitstream.chunks(160) {
        let n = decoder.decode(packet, &mut frame).unwrap();
        decoded.extend_from_slice(&frame[..n]);
    }
    assert_eq!(decoded.len(), reference.len());
    let identical = decoded.iter().zip(&reference).filter(|(a, b)| a == b).count();
    let snr = snr_db(&reference, &decoded);
    eprintln!(
        "G.722 vs FFmpeg: {identical}/{} samples identical, SNR {snr:.1} dB (bound {G722_MIN_SNR_VS_FFMPEG_DB} dB)",
        decoded.len()
    );
    assert!(snr >= G722_MIN_SNR_VS_FFMPEG_DB, "G.722 SNR against FFmpeg {snr:.1} dB");

    // Against the original input; the codec delays by 22 samples (QMF).
    let input_raw = d.join("input.raw");
    run("sox", &[p(&wav), "-t", "raw", "-e", "signed", "-b", "16", p(&input_raw)]);
    let input = read_s16le(&input_raw);
    let (best_delay, best_snr) = (0..40)
        .map(|delay| {
            let n = input.len().min(decoded.len() - delay);
            (delay, snr_db(&input[..n], &decoded[delay..delay + n]))
        })
        .fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
    eprintln!("G.722 vs input: SNR {best_snr:.1} dB at delay {best_delay} (bound {G722_MIN_SNR_VS_INPUT_DB} dB)");
    assert!(best_snr >= G722_MIN_SNR_VS_INPUT_DB);
}

/// Splits an Ogg Opus file into (pre-skip, audio packets).
fn ogg_opus_packets(data: &[u8]) -> (usize, Vec<Vec<u8>>) {
    let mut packets = Vec::new();
    let mut partial = Vec::new();
    let mut pos = 0;
    while pos + 27 <= data.len() {
        assert_eq!(&data[pos..pos + 4], b"OggS", "not an Ogg page at {pos}");
        let nsegs = usize::from(data[pos + 26]);
        let table = &data[pos + 27..pos + 27 + nsegs];
        let mut body = pos + 27 + nsegs;
        for &len in table {
            partial.extend_from_slice(&data[body..body + usize::from(len)]);
            body += usize::from(len);
            if len < 255 {
                packets.push(std::mem::take(&mut partial));
            }
        }
        pos = body;
    }
    assert!(packets[0].starts_with(b"OpusHead"), "first packet is not OpusHead");
    let pre_skip = usize::from(u16::from_le_bytes([packets[0][10], packets[0][11]]));
    (pre_skip, packets.split_off(2))
}

struct OpusFixture {
    _dir: tempfile::TempDir,
    input: Vec<i16>,
    pre_skip: usize,
    packets: Vec<Vec<u8>>,
    ffmpeg_libopus: Vec<i16>,
}

fn opus_fixture(bitrate_kbps: &str) -> OpusFixture {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wav = make_test_wav(d, 48000);
    let input_raw = d.join("input.raw");
    run("sox", &[p(&wav), "-t", "raw", "-e", "signed", "-b", "16", p(&input_raw)]);
    let ogg = d.join("out.opus");
    run("opusenc", &["--quiet", "--bitrate", bitrate_kbps, "--framesize", "20", p(&wav), p(&ogg)]);
    let (pre_skip, packets) = ogg_opus_packets(&std::fs::read(&ogg).unwrap());
    let reference_file = d.join("ref.raw");
    run(
        "ffmpeg",
        &[
            "-loglevel",
            "error",
            "-c:a",
            "libopus",
            "-i",
            p(&ogg),
            "-ar",
            "48000",
            "-f",
            "s16le",
            "-acodec",
            "pcm_s16le",
            p(&reference_file),
        ],
    );
    OpusFixture {
        input: read_s16le(&input_raw),
        pre_skip,
        packets,
        ffmpeg_libopus: read_s16le(&reference_file),
        _dir: dir,
    }
}

/// Our libopus decode against FFmpeg driving the same libopus (float path,
/// converted to 16 bits): only rounding separates them.
const OPUS_MIN_SNR_VS_FFMPEG_DB: f64 = 40.0;
/// Opus is not waveform-matching; a bound on the log-spectral distance
/// (see [`log_spectral_distance`]) against
/// the encoder input checks that the decoded audio is the input's.
const OPUS_MAX_LSD_VS_INPUT_DB: f64 = 6.0;

#[test]
fn opus_matches_ffmpeg_libopus_and_the_input_spectrum() {
    require_tools();
    let fx = opus_fixture("32");
    let mut decoder = OpusDecoder::new().unwrap();
    let mut decoded = Vec::new();
    let mut frame = vec![0i16; 5760];
    for packet in &fx.packets {
        assert_eq!(decoder.samples_in(packet).unwrap(), 960, "opusenc --framesize 20");
        let n = decoder.decode(packet, &mut frame).unwrap();
        decoded.extend_from_slice(&frame[..n]);
    }
    let decoded = &decoded[fx.pre_skip..];
    let n = decoded.len().min(fx.ffmpeg_libopus.len());
    assert!(n + 960 >= fx.ffmpeg_libopus.len(), "lengths {} vs {}", decoded.len(), fx.ffmpeg_libopus.len());
    let snr = snr_db(&fx.ffmpeg_libopus[..n], &decoded[..n]);
    eprintln!("Opus vs FFmpeg libopus: SNR {snr:.1} dB (bound {OPUS_MIN_SNR_VS_FFMPEG_DB} dB)");
    assert!(snr >= OPUS_MIN_SNR_VS_FFMPEG_DB, "Opus SNR against FFmpeg {snr:.1} dB");

    let m = n.min(fx.input.len());
    let lsd = log_spectral_distance(&fx.input[..m], &decoded[..m], 48_000);
    eprintln!("Opus vs input: log-spectral distance {lsd:.2} dB (bound {OPUS_MAX_LSD_VS_INPUT_DB} dB)");
    assert!(lsd <= OPUS_MAX_LSD_VS_INPUT_DB, "log-spectral distance {lsd:.2} dB");
}

/// PLC: drop every 10th packet. libopus's concealment must stay closer to
/// the lossless decode than inserting silence does, and must produce audio.
#[test]
fn opus_plc_beats_silence_insertion() {
    require_tools();
    let fx = opus_fixture("32");
    let decode = |conceal: bool| {
        let mut decoder = new_decoder(Codec::Opus).unwrap();
        let mut out = Vec::new();
        let mut frame = vec![0i16; 5760];
        for (i, packet) in fx.packets.iter().enumerate() {
            let n = if i % 10 == 5 {
                if conceal {
                    decoder.conceal(960, &mut frame).unwrap()
                } else {
                    frame[..960].fill(0);
                    decoder.reset();
                    960
                }
            } else {
                decoder.decode(packet, &mut frame).unwrap()
            };
            assert_eq!(n, 960);
            out.extend_from_slice(&frame[..n]);
        }
        out
    };
    let mut lossless = Vec::new();
    let mut d = new_decoder(Codec::Opus).unwrap();
    let mut frame = vec![0i16; 5760];
    for packet in &fx.packets {
        let n = d.decode(packet, &mut frame).unwrap();
        lossless.extend_from_slice(&frame[..n]);
    }
    let with_plc = decode(true);
    let with_silence = decode(false);
    let snr_plc = snr_db(&lossless, &with_plc);
    let snr_zero = snr_db(&lossless, &with_silence);
    let lsd_plc = log_spectral_distance(&lossless, &with_plc, 48_000);
    let lsd_zero = log_spectral_distance(&lossless, &with_silence, 48_000);
    eprintln!(
        "Opus 10% loss: PLC SNR {snr_plc:.1} dB / LSD {lsd_plc:.2} dB; silence SNR {snr_zero:.1} dB / LSD {lsd_zero:.2} dB"
    );
    // Concealment extrapolates the spectrum, not the exact waveform: the
    // spectral distance is the measure that shows it (2.9 vs 3.7 dB here);
    // waveform SNR of the two is within a fraction of a dB either way
    // (speech from espeak-ng varies slightly between versions), so PLC only
    // has to be no meaningfully worse there.
    assert!(lsd_plc + 0.3 < lsd_zero, "PLC should be spectrally closer than silence");
    assert!(snr_plc > snr_zero - 1.0, "PLC should not be much further than silence in waveform");
}

/// Mean over active frames (above -40 dBFS) of the RMS difference of log
/// power spectra (dB), 20 ms Hann-windowed frames, 100 Hz bins from 100 Hz
/// to 8 kHz, each spectrum floored at 50 dB below the reference frame's
/// strongest bin (so that coding noise in empty bins does not dominate).
fn log_spectral_distance(reference: &[i16], test: &[i16], rate: usize) -> f64 {
    let frame = rate / 50;
    let bins: Vec<f64> = (1..=80).map(|k| 100.0 * f64::from(k)).collect(); // 100 Hz..8 kHz
    let spectrum = |x: &[i16]| -> Vec<f64> {
        bins.iter()
            .map(|&f| {
                let w = 2.0 * std::f64::consts::PI * f / rate as f64;
                let (mut re, mut im) = (0.0, 0.0);
                for (n, &s) in x.iter().enumerate() {
                    let hann = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / x.len() as f64).cos();
                    let v = f64::from(s) * hann;
                    re += v * (w * n as f64).cos();
                    im -= v * (w * n as f64).sin();
                }
                10.0 * (re * re + im * im + 1e-9).log10()
            })
            .collect()
    };
    let mut total = 0.0;
    let mut count = 0;
    for (r, t) in reference.chunks_exact(frame).zip(test.chunks_exact(frame)) {
        let rms = (r.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / frame as f64).sqrt();
        if rms < 32768.0 * 10f64.powf(-40.0 / 20.0) {
            continue;
        }
        let (mut a, mut b) = (spectrum(r), spectrum(t));
        let floor = a.iter().copied().fold(f64::MIN, f64::max) - 50.0;
        a.iter_mut().chain(b.iter_mut()).for_each(|v| *v = v.max(floor));
        let d2 = a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / a.len() as f64;
        total += d2.sqrt();
        count += 1;
    }
    assert!(count > 20, "too few active frames ({count})");
    total / f64::from(count)
}
