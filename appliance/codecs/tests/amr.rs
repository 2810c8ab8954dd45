//! AMR-NB / AMR-WB (feature `amr`) checked against sox's decode of the same
//! storage files through opencore-amr.
//!
//! Reference audio is made at test time in a temporary directory: speech
//! from espeak-ng, AMR-NB encoded by sox (`-C 7`, 12.2 kbit/s, DTX on, so
//! the stream has SID and NO_DATA frames), AMR-WB encoded by a 25-line C
//! program built here against libvo-amrwbenc (Debian's FFmpeg and sox have
//! no AMR encoder; 23.85 kbit/s, DTX on). Each storage file is packetized
//! into RFC 4867 payloads, bandwidth-efficient and octet-aligned, with 1 to
//! 4 frames per packet, decoded here and compared with sox's decode of the
//! file (sox decodes through the same opencore libraries, so the bound is
//! bit-exact). Tools: `apt-get install sox libsox-fmt-all espeak-ng gcc
//! libvo-amrwbenc-dev libopencore-amrnb-dev libopencore-amrwb-dev`.
#![cfg(feature = "amr")]

use std::path::Path;

use callguard_codecs::amr::{AMR_NB_FRAME_BITS, AMR_WB_FRAME_BITS};
use callguard_codecs::{AmrDecoder, AmrPayloadFormat, Codec, DecodeError, Decoder, new_amr_decoder};
use callguard_testkit::audio::{p, read_s16le, run, snr_db, speech_wav};

const SENTENCE: &str = "Your bank account has been suspended. Press one to speak to an agent, then read me the code.";

const WB_ENCODER_C: &str = r##"
#include <stdio.h>
#include <stdlib.h>
#include <vo-amrwbenc/enc_if.h>
int main(int argc, char **argv) {
    if (argc != 5) return 2;
    int mode = atoi(argv[1]), dtx = atoi(argv[2]);
    FILE *in = fopen(argv[3], "rb"), *out = fopen(argv[4], "wb");
    if (!in || !out) return 1;
    void *st = E_IF_init();
    short pcm[320];
    unsigned char buf[64];
    size_t n;
    fwrite("#!AMR-WB\n", 1, 9, out);
    while ((n = fread(pcm, 2, 320, in)) > 0) {
        for (size_t i = n; i < 320; i++) pcm[i] = 0;
        int len = E_IF_encode(st, mode, pcm, buf, dtx);
        fwrite(buf, 1, (size_t)len, out);
    }
    E_IF_exit(st);
    fclose(in);
    fclose(out);
    return 0;
}
"##;

/// One storage-format frame: FT, Q and its speech bytes (bits MSB first).
#[derive(Debug, Clone)]
struct Frame {
    ft: u8,
    q: bool,
    data: Vec<u8>,
}

fn read_storage(path: &Path, magic: &[u8], table: &[Option<u16>; 16]) -> Vec<Frame> {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(magic), "{} lacks the {:?} magic", path.display(), magic);
    let mut rest = &bytes[magic.len()..];
    let mut frames = Vec::new();
    while let Some((&h, tail)) = rest.split_first() {
        let ft = (h >> 3) & 0x0F;
        let bits = usize::from(table[usize::from(ft)].expect("valid FT in the storage file"));
        let n = bits.div_ceil(8);
        frames.push(Frame { ft, q: h & 0x04 != 0, data: tail[..n].to_vec() });
        rest = &tail[n..];
    }
    frames
}

/// MSB-first bit writer.
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    len: usize,
}

impl Bits {
    fn push(&mut self, value: u32, n: usize) {
        for i in (0..n).rev() {
            if self.len.is_multiple_of(8) {
                self.bytes.push(0);
            }
            let bit = ((value >> i) & 1) as u8;
            *self.bytes.last_mut().unwrap() |= bit << (7 - self.len % 8);
            self.len += 1;
        }
    }
}

/// RFC 4867 payload of `frames` (CMR 15 = no request).
fn packetize(frames: &[Frame], table: &[Option<u16>; 16], format: AmrPayloadFormat) -> Vec<u8> {
    let mut w = Bits::default();
    let octet = format == AmrPayloadFormat::OctetAligned;
    w.push(15, 4);
    if octet {
        w.push(0, 4);
    }
    for (i, f) in frames.iter().enumerate() {
        let more = u32::from(i + 1 < frames.len());
        w.push(more << 5 | u32::from(f.ft) << 1 | u32::from(f.q), 6);
        if octet {
            w.push(0, 2);
        }
    }
    for f in frames {
        let bits = usize::from(table[usize::from(f.ft)].unwrap());
        for b in 0..bits {
            w.push(u32::from((f.data[b / 8] >> (7 - b % 8)) & 1), 1);
        }
        if octet {
            let pad = (8 - w.len % 8) % 8;
            w.push(0, pad);
        }
    }
    w.bytes
}

struct Stream {
    frames: Vec<Frame>,
    reference: Vec<i16>,
    table: &'static [Option<u16>; 16],
    codec: Codec,
    per_frame: usize,
}

fn nb_stream(dir: &Path) -> Stream {
    let wav = speech_wav(dir, 8000, SENTENCE);
    let amr = dir.join("speech.amr");
    run("sox", &[p(&wav), "-t", "amr-nb", "-C", "7", p(&amr)]);
    let reference_file = dir.join("nb_ref.raw");
    run("sox", &["-t", "amr-nb", p(&amr), "-t", "raw", "-e", "signed", "-b", "16", p(&reference_file)]);
    let frames = read_storage(&amr, b"#!AMR\n", &AMR_NB_FRAME_BITS);
    Stream {
        frames,
        reference: read_s16le(&reference_file),
        table: &AMR_NB_FRAME_BITS,
        codec: Codec::AmrNb,
        per_frame: 160,
    }
}

fn wb_stream(dir: &Path) -> Stream {
    let wav = speech_wav(dir, 16000, SENTENCE);
    let pcm = dir.join("speech16.raw");
    run("sox", &[p(&wav), "-t", "raw", "-e", "signed", "-b", "16", p(&pcm)]);
    let src = dir.join("wbenc.c");
    std::fs::write(&src, WB_ENCODER_C).unwrap();
    let exe = dir.join("wbenc");
    run("cc", &["-O1", "-o", p(&exe), p(&src), "-lvo-amrwbenc"]);
    let awb = dir.join("speech.awb");
    run(p(&exe), &["8", "1", p(&pcm), p(&awb)]);
    let reference_file = dir.join("wb_ref.raw");
    run("sox", &["-t", "amr-wb", p(&awb), "-t", "raw", "-e", "signed", "-b", "16", p(&reference_file)]);
    let frames = read_storage(&awb, b"#!AMR-WB\n", &AMR_WB_FRAME_BITS);
    Stream {
        frames,
        reference: read_s16le(&reference_file),
        table: &AMR_WB_FRAME_BITS,
        codec: Codec::AmrWb,
        per_frame: 320,
    }
}

/// Packets of 1, 2, 3, 4, 1, 2, … frames.
fn packets(s: &Stream, format: AmrPayloadFormat) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let (mut i, mut k) = (0, 1);
    while i < s.frames.len() {
        let end = (i + k).min(s.frames.len());
        out.push(packetize(&s.frames[i..end], s.table, format));
        i = end;
        k = k % 4 + 1;
    }
    out
}

fn decode_all(s: &Stream, format: AmrPayloadFormat, packets: &[Vec<u8>]) -> Vec<i16> {
    let mut d = new_amr_decoder(s.codec, format).unwrap();
    let mut pcm = Vec::new();
    let mut buf = vec![0i16; 4 * s.per_frame];
    for pkt in packets {
        let n = d.samples_in(pkt).unwrap();
        assert_eq!(d.decode(pkt, &mut buf).unwrap(), n);
        pcm.extend_from_slice(&buf[..n]);
    }
    pcm
}

fn matches_sox(s: &Stream) {
    let kinds: Vec<u8> = s.frames.iter().map(|f| f.ft).collect();
    let sid = if s.codec == Codec::AmrNb { 8 } else { 9 };
    assert!(kinds.contains(&sid), "{}: the DTX stream should hold SID frames", s.codec);
    assert!(kinds.contains(&15), "{}: the DTX stream should hold NO_DATA frames", s.codec);
    assert_eq!(s.reference.len(), s.frames.len() * s.per_frame, "{}: sox decoded a different length", s.codec);
    for format in [AmrPayloadFormat::BandwidthEfficient, AmrPayloadFormat::OctetAligned] {
        let ours = decode_all(s, format, &packets(s, format));
        let snr = snr_db(&s.reference, &ours);
        eprintln!("{} {format:?}: {} frames, SNR vs sox {snr:.1} dB", s.codec, s.frames.len());
        // Same opencore decoder, same frames: bit-exact.
        assert_eq!(ours, s.reference, "{} {format:?}: differs from sox (SNR {snr:.1} dB)", s.codec);
    }
}

/// A lost packet goes through the decoder's bad-frame path: concealment in
/// the middle of speech has energy and differs from the decoded frame, and
/// decoding recovers afterwards. For AMR-NB, a received frame with Q = 0
/// and a lost frame give identical output (both enter opencore as FT 15,
/// `bfi = 1`); for AMR-WB they are distinct paths (`RX_SPEECH_BAD` vs
/// `_lost_frame`) and only both must decode without error.
fn loss(s: &Stream) {
    let format = AmrPayloadFormat::BandwidthEfficient;
    // The loudest speech frame, so the concealment has something to extend.
    let energy = |i: usize| -> f64 {
        s.reference[i * s.per_frame..(i + 1) * s.per_frame].iter().map(|&x| f64::from(x).powi(2)).sum()
    };
    let lost = (5..s.frames.len() - 5).max_by(|&a, &b| energy(a).total_cmp(&energy(b))).unwrap();
    let sid = if s.codec == Codec::AmrNb { 8 } else { 9 };
    assert!(s.frames[lost].ft < sid, "the loudest frame is speech");

    let mut concealed = AmrDecoder::new(s.codec, format).unwrap();
    let mut bad_q = AmrDecoder::new(s.codec, format).unwrap();
    let mut a = vec![0i16; s.per_frame];
    let mut b = vec![0i16; s.per_frame];
    let mut out_a = Vec::new();
    for (i, f) in s.frames.iter().enumerate() {
        let pkt = packetize(std::slice::from_ref(f), s.table, format);
        bad_q
            .decode(
                &if i == lost { packetize(&[Frame { q: false, ..f.clone() }], s.table, format) } else { pkt.clone() },
                &mut b,
            )
            .unwrap();
        if i == lost {
            assert_eq!(concealed.conceal(s.per_frame + 7, &mut a).unwrap(), s.per_frame);
        } else {
            concealed.decode(&pkt, &mut a).unwrap();
        }
        if s.codec == Codec::AmrNb {
            assert_eq!(a, b, "frame {i}: Q = 0 and a lost frame both go through bfi");
        }
        out_a.extend_from_slice(&a);
    }
    let seg = lost * s.per_frame..(lost + 1) * s.per_frame;
    let rms = (out_a[seg.clone()].iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / s.per_frame as f64).sqrt();
    assert!(rms > 100.0, "{}: concealed frame rms {rms}", s.codec);
    assert_ne!(&out_a[seg.clone()], &s.reference[seg], "{}: the lost frame was concealed, not decoded", s.codec);
    // The stream recovers: the last second matches closely again.
    let tail = out_a.len() - 50 * s.per_frame;
    let snr = snr_db(&s.reference[tail..], &out_a[tail..]);
    eprintln!("{}: after one lost frame, last second SNR {snr:.1} dB", s.codec);
    assert!(snr > 30.0, "{}: no recovery after a loss ({snr:.1} dB)", s.codec);
}

/// Cutting a real payload anywhere is an error, never a panic.
fn truncation(s: &Stream) {
    for format in [AmrPayloadFormat::BandwidthEfficient, AmrPayloadFormat::OctetAligned] {
        let mut d = AmrDecoder::new(s.codec, format).unwrap();
        let mut buf = vec![0i16; 4 * s.per_frame];
        for pkt in packets(s, format).iter().take(40) {
            for cut in 0..pkt.len() {
                // A payload of whole NO_DATA/SID frames can end early on a
                // TOC that still parses; what matters is no panic and no
                // mismatch between samples_in and decode.
                if let Ok(n) = d.samples_in(&pkt[..cut]) {
                    assert_eq!(d.decode(&pkt[..cut], &mut buf).unwrap(), n);
                } else {
                    assert!(matches!(
                        d.decode(&pkt[..cut], &mut buf),
                        Err(DecodeError::Invalid { .. } | DecodeError::EmptyPayload { .. })
                    ));
                }
            }
            let mut long = pkt.clone();
            long.push(0);
            assert!(d.decode(&long, &mut buf).is_err(), "a trailing octet is an error");
        }
    }
}

#[test]
fn amr_nb_matches_sox_opencore() {
    let dir = tempfile::tempdir().unwrap();
    let s = nb_stream(dir.path());
    matches_sox(&s);
    loss(&s);
    truncation(&s);
}

#[test]
fn amr_wb_matches_sox_opencore() {
    let dir = tempfile::tempdir().unwrap();
    let s = wb_stream(dir.path());
    matches_sox(&s);
    loss(&s);
    truncation(&s);
}
