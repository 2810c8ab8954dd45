//! `callguard media decode` on a capture file made here: an RTP stream and
//! an SRTP stream become WAV files with their statistics.

use std::fs::File;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use callguard_rtp::{RtpHeader, SrtpMasterKey, SrtpProfile, SrtpSender};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

/// Ethernet + IPv4 + UDP around `payload`, from 198.18.0.2:`src` to 198.18.0.1:`dst`.
fn frame(src: u16, dst: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let total = (20 + 8 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&[198, 18, 0, 2, 198, 18, 0, 1]);
    f.extend_from_slice(&src.to_be_bytes());
    f.extend_from_slice(&dst.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// 20 ms of a 440 Hz tone, μ-law-ish: a square wave is enough to carry energy.
fn payload(sequence: u16) -> Vec<u8> {
    (0..160).map(|i| if ((u32::from(sequence) * 160 + i) / 9) % 2 == 0 { 0x20 } else { 0xa0 }).collect()
}

#[test]
fn a_capture_decodes_to_one_wav_per_stream() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("call.pcap");
    let key = [9u8; 30];
    let mut sender = SrtpSender::new(&SrtpMasterKey::new(key), SrtpProfile::AesCm128HmacSha1Tag80);
    {
        let header = PcapHeader { datalink: DataLink::ETHERNET, ..PcapHeader::default() };
        let mut writer = PcapWriter::with_header(File::create(&pcap).unwrap(), header).unwrap();
        for sequence in 0..50u16 {
            let at = Duration::from_millis(1_700_000_000_000 + 20 * u64::from(sequence));
            let rtp = |ssrc| {
                RtpHeader {
                    marker: sequence == 0,
                    payload_type: 0,
                    sequence,
                    timestamp: u32::from(sequence) * 160,
                    ssrc,
                }
                .to_packet(&payload(sequence))
            };
            let plain = frame(41000, 20000, &rtp(1));
            writer.write_packet(&PcapPacket::new(at, plain.len() as u32, &plain)).unwrap();
            let mut secure = rtp(2);
            sender.protect_rtp(&mut secure).unwrap();
            let secure = frame(41002, 20002, &secure);
            writer.write_packet(&PcapPacket::new(at, secure.len() as u32, &secure)).unwrap();
        }
    }
    let out = dir.path().join("wav");
    let key = base64::engine::general_purpose::STANDARD.encode(key);
    let run = Command::new(env!("CARGO_BIN_EXE_callguard"))
        .args(["media", "decode", pcap.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(["--srtp-key", &format!("20002={key}"), "--json"])
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let streams = report["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2, "{report}");
    let mut decoded = Vec::new();
    for stream in streams {
        assert_eq!(stream["packets"], 50, "{stream}");
        assert_eq!(stream["lost"], 0, "{stream}");
        assert_eq!(stream["srtp_rejected"], 0, "{stream}");
        let mut wav = hound::WavReader::open(stream["file"].as_str().unwrap()).unwrap();
        assert_eq!(wav.spec().sample_rate, 16_000);
        let samples: Vec<i16> = wav.samples::<i16>().map(Result::unwrap).collect();
        assert!(samples.len() >= 15_000, "{} samples", samples.len());
        assert!(samples.iter().any(|s| s.unsigned_abs() > 1000), "the WAV holds the tone");
        decoded.push(samples);
    }
    assert_eq!(decoded[0], decoded[1], "the SRTP stream decodes to exactly the audio of the same RTP stream");

    // A wrong key: the SRTP stream is rejected packet by packet, nothing invented.
    let wrong = base64::engine::general_purpose::STANDARD.encode([1u8; 30]);
    let run = Command::new(env!("CARGO_BIN_EXE_callguard"))
        .args(["media", "decode", pcap.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .args(["--srtp-key", &format!("20002={wrong}"), "--json"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let secure = report["streams"].as_array().unwrap().iter().find(|s| s["destination"] == "198.18.0.1:20002").unwrap();
    assert_eq!(secure["srtp_rejected"], 50, "{secure}");

    let bad = Command::new(env!("CARGO_BIN_EXE_callguard"))
        .args(["media", "decode", pcap.to_str().unwrap(), "--out", out.to_str().unwrap(), "--codec", "96=speex"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("speex"));
}
