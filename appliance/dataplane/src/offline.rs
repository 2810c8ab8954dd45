//! Decoding a capture file offline: the same per-stream path as live
//! traffic, driven by the packets' recorded times instead of the clock.
//!
//! For lab validation (`callguard media decode`): it reads what a
//! [`PacketSource`] replays (a pcap file) and hands every 16 kHz frame to
//! the caller. It has no way to read a live interface by itself.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

use callguard_capture::{CaptureError, PacketBatch, PacketSource};
use callguard_media::{Codec, Frame, StreamConfig, StreamStats};
use callguard_rtp::{RtpPacket, SrtpMasterKey, SrtpProfile};

use crate::stream::{Stream, StreamSpec};

/// How to decode the streams of a capture.
#[derive(Default)]
pub struct DecodeOptions {
    /// Codecs of dynamic payload types (static ones are known: 0, 8, 9).
    pub payload_types: HashMap<u8, Codec>,
    /// Payload type of telephone-event, if the capture has DTMF.
    pub telephone_event: Option<u8>,
    /// SRTP keys by destination port.
    pub srtp: HashMap<u16, (SrtpMasterKey, SrtpProfile)>,
}

/// One decoded stream (a flow: source and destination address).
#[derive(Debug, Clone)]
pub struct DecodedStream {
    /// Sender.
    pub source: SocketAddr,
    /// Receiver.
    pub destination: SocketAddr,
    /// Codec of its first RTP packet.
    pub codec: Codec,
    /// The pipeline's statistics at the end.
    pub stats: StreamStats,
    /// SRTP packets rejected (wrong key, forged, replayed).
    pub srtp_rejected: u64,
    /// Packets that were not RTP.
    pub malformed: u64,
}

/// Flows whose first packet has a payload type no codec is known for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Undecodable {
    /// Flows skipped.
    pub flows: u64,
    /// Their packets.
    pub packets: u64,
}

/// Replays `source` to its end through one pipeline per flow and calls
/// `on_frame(stream index, frame)` for every 20 ms frame, in order per stream.
pub fn decode_recorded(
    source: &mut dyn PacketSource,
    options: &DecodeOptions,
    mut on_frame: impl FnMut(usize, &Frame),
) -> Result<(Vec<DecodedStream>, Undecodable), CaptureError> {
    let mut batch = PacketBatch::new(64, 2048);
    let mut streams: Vec<(SocketAddr, SocketAddr, Codec, Stream)> = Vec::new();
    let mut index: HashMap<(SocketAddr, SocketAddr), Option<usize>> = HashMap::new();
    let mut undecodable = Undecodable::default();
    // Recorded times mapped onto a virtual clock that starts now.
    let origin = Instant::now();
    let mut first: Option<SystemTime> = None;
    let mut latest = origin;
    loop {
        match source.recv_batch(&mut batch, Duration::from_millis(100)) {
            Ok(_) => {}
            Err(e) if e.is_end_of_capture() => break,
            Err(e) => return Err(e),
        }
        for received in batch.iter() {
            let recorded = received.timestamp;
            let offset = recorded.duration_since(*first.get_or_insert(recorded)).unwrap_or_default();
            let now = origin + offset;
            latest = latest.max(now);
            let packet = received.packet;
            let key = (packet.src, packet.dst);
            let slot = match index.entry(key) {
                Entry::Occupied(slot) => *slot.get(),
                Entry::Vacant(slot) => {
                    let opened = open_stream(packet.payload, packet.dst.port(), options);
                    if opened.is_none() {
                        undecodable.flows += 1;
                    }
                    *slot.insert(opened.map(|(codec, stream)| {
                        streams.push((packet.src, packet.dst, codec, stream));
                        streams.len() - 1
                    }))
                }
            };
            let Some(i) = slot else {
                undecodable.packets += 1;
                continue;
            };
            let stream = &mut streams[i].3;
            stream.receive(packet.payload, now);
            while let Some(frame) = stream.next_frame(now) {
                on_frame(i, &frame);
            }
        }
    }
    // Play out what is still buffered.
    let end = latest + Duration::from_secs(1);
    for (i, (_, _, _, stream)) in streams.iter_mut().enumerate() {
        while let Some(frame) = stream.next_frame(end) {
            on_frame(i, &frame);
        }
    }
    let decoded = streams
        .into_iter()
        .map(|(source, destination, codec, stream)| {
            let counters = stream.counters();
            DecodedStream {
                source,
                destination,
                codec,
                stats: stream.stats(),
                srtp_rejected: counters.srtp_rejected.load(Ordering::Relaxed),
                malformed: counters.malformed.load(Ordering::Relaxed),
            }
        })
        .collect();
    Ok((decoded, undecodable))
}

/// A pipeline for a flow, from its first packet's payload type; `None`
/// when no codec is known for it (or the packet is not RTP).
fn open_stream(first: &[u8], port: u16, options: &DecodeOptions) -> Option<(Codec, Stream)> {
    let payload_type = RtpPacket::parse(first).ok()?.payload_type();
    let codec =
        options.payload_types.get(&payload_type).copied().or_else(|| Codec::from_static_payload_type(payload_type))?;
    let mut config = StreamConfig::new(codec, payload_type);
    if let Some(dtmf) = options.telephone_event {
        config = config.with_telephone_event(dtmf);
    }
    let srtp = options.srtp.get(&port).map(|(key, profile)| (key.clone(), *profile));
    let stream = Stream::new(StreamSpec { port, config, srtp }).ok()?;
    Some((codec, stream))
}
