//! The data plane on real sockets: RTP and SRTP in, 16 kHz frames out.

use std::net::UdpSocket;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use callguard_capture::{SocketConfig, SocketSource};
use callguard_codecs::g711::linear_to_ulaw;
use callguard_dataplane::{Codec, DataPlane, FrameQueue, SrtpMasterKey, SrtpProfile, StreamConfig, StreamSpec};
use callguard_rtp::{RtpHeader, SrtpSender};

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn plane() -> DataPlane {
    let source = SocketSource::new(SocketConfig::new("127.0.0.1".parse().unwrap())).unwrap();
    DataPlane::start(Box::new(source)).unwrap()
}

/// 20 ms of a 1 kHz tone at 8 kHz, μ-law.
fn tone_payload(packet: u32) -> Vec<u8> {
    (0..160u32)
        .map(|i| {
            let t = (packet * 160 + i) as f32 / 8000.0;
            linear_to_ulaw((f32::sin(2.0 * std::f32::consts::PI * 1000.0 * t) * 8000.0) as i16)
        })
        .collect()
}

fn rtp(sequence: u16) -> Vec<u8> {
    let header = RtpHeader {
        marker: sequence == 0,
        payload_type: 0,
        sequence,
        timestamp: u32::from(sequence) * 160,
        ssrc: 0xcafe,
    };
    header.to_packet(&tone_payload(u32::from(sequence)))
}

/// Sends `count` packets at real-time pace (20 ms apart) through `protect`.
fn send(port: u16, count: u16, mut protect: impl FnMut(Vec<u8>) -> Vec<u8>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let start = Instant::now();
    for sequence in 0..count {
        let due = start + Duration::from_millis(20 * u64::from(sequence));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        socket.send_to(&protect(rtp(sequence)), ("127.0.0.1", port)).unwrap();
    }
}

/// Frames with audio in them, waiting up to `within`.
fn audio_frames(queue: &FrameQueue, want: usize, within: Duration) -> Vec<f32> {
    let deadline = Instant::now() + within;
    let mut rms = Vec::new();
    while rms.len() < want && Instant::now() < deadline {
        match queue.pop() {
            Some(frame) => {
                let energy = frame.samples.iter().map(|s| s * s).sum::<f32>() / frame.samples.len() as f32;
                if energy > 0.0 {
                    rms.push(energy.sqrt());
                }
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    rms
}

#[test]
fn rtp_becomes_16_khz_frames_for_its_leg() {
    let plane = plane();
    let port = free_port();
    let frames = plane
        .add_stream(StreamSpec { port, config: StreamConfig::new(Codec::Pcmu, 0), srtp: None })
        .expect("stream")
        .frames;
    send(port, 50, |p| p);
    let rms = audio_frames(&frames, 40, Duration::from_secs(3));
    assert!(rms.len() >= 40, "only {} audio frames", rms.len());
    // A tone at a quarter of full scale: RMS about 0.17 after G.711 and resampling.
    assert!(rms.iter().all(|r| (0.1..0.3).contains(r)), "{rms:?}");
    let counters = plane.stream_counters(port).unwrap();
    // The last datagram may still be on its way through the thread.
    let start = Instant::now();
    while counters.packets.load(Ordering::Relaxed) < 50 && start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(counters.packets.load(Ordering::Relaxed), 50);
    assert_eq!(counters.malformed.load(Ordering::Relaxed), 0);
    let stats = counters.pipeline().expect("stats after frames");
    assert_eq!(stats.lost, 0);
}

#[test]
fn srtp_streams_are_decrypted_and_forgeries_dropped() {
    let plane = plane();
    let port = free_port();
    let key = SrtpMasterKey::new([7u8; 30]);
    let spec = StreamSpec {
        port,
        config: StreamConfig::new(Codec::Pcmu, 0),
        srtp: Some((key, SrtpProfile::AesCm128HmacSha1Tag80)),
    };
    let frames = plane.add_stream(spec).expect("stream").frames;
    let mut sender = SrtpSender::new(&SrtpMasterKey::new([7u8; 30]), SrtpProfile::AesCm128HmacSha1Tag80);
    let mut sent = 0;
    send(port, 40, |mut packet| {
        sender.protect_rtp(&mut packet).unwrap();
        sent += 1;
        if sent % 10 == 0 {
            let last = packet.len() - 1;
            packet[last] ^= 0xff; // a forged tag
        }
        packet
    });
    let rms = audio_frames(&frames, 30, Duration::from_secs(3));
    assert!(rms.len() >= 30, "only {} audio frames", rms.len());
    let counters = plane.stream_counters(port).unwrap();
    let start = Instant::now();
    while counters.packets.load(Ordering::Relaxed) < 40 && start.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(counters.srtp_rejected.load(Ordering::Relaxed), 4);
}

#[test]
fn removed_streams_release_their_port_and_stop() {
    let plane = plane();
    let port = free_port();
    let spec = || StreamSpec { port, config: StreamConfig::new(Codec::Pcmu, 0), srtp: None };
    plane.add_stream(spec()).expect("stream");
    assert!(matches!(plane.add_stream(spec()), Err(callguard_dataplane::DataPlaneError::PortInUse(p)) if p == port));
    plane.remove_stream(port);
    assert!(plane.stream_counters(port).is_none());
    let start = Instant::now();
    while UdpSocket::bind(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(2), "port {port} still bound after remove_stream");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn key_presses_reach_the_call_with_digit_and_duration() {
    let plane = plane();
    let port = free_port();
    let config = StreamConfig::new(Codec::Pcmu, 0).with_telephone_event(101);
    let output = plane.add_stream(StreamSpec { port, config, srtp: None }).expect("stream");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let start = Instant::now();
    for sequence in 0..40u16 {
        let due = start + Duration::from_millis(20 * u64::from(sequence));
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let packet = if (10..16).contains(&sequence) {
            // Digit 5 pressed at timestamp 1600 for 60 ms; the end packet is sent three times.
            let step = u16::min(sequence - 9, 3);
            let end = if sequence >= 13 { 0x80 } else { 0 };
            let payload = [5u8, end | 10, 0, 0];
            let mut payload = payload.to_vec();
            payload[2..4].copy_from_slice(&(step * 160).to_be_bytes());
            RtpHeader { marker: sequence == 10, payload_type: 101, sequence, timestamp: 1600, ssrc: 0xcafe }
                .to_packet(&payload)
        } else {
            rtp(sequence)
        };
        socket.send_to(&packet, ("127.0.0.1", port)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    let event = loop {
        if let Some(event) = output.dtmf.pop() {
            break event;
        }
        assert!(Instant::now() < deadline, "no key press surfaced");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(event.digit, '5');
    assert_eq!(event.duration_ms, 60);
    assert!(output.dtmf.pop().is_none(), "the retransmitted end packets are one press");
}
