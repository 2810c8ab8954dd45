//! One recorded RTP stream inside the data plane.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use callguard_media::{
    DtmfEvent, Frame, FrameQueue, PushOutcome, RtpPacket as MediaPacket, StreamConfig, StreamPipeline, StreamStats,
};
use callguard_rtp::{RtpPacket, SrtpConfig, SrtpMasterKey, SrtpProfile, SrtpReceiver};
use crossbeam_queue::ArrayQueue;

/// Frames a leg's queue holds: one second of audio.
const QUEUE_FRAMES: usize = 50;
/// Key presses a leg's queue holds before the oldest is dropped.
const QUEUE_DTMF: usize = 32;
/// Largest RTP packet handled (bigger ones are not audio the SBC sends).
const MAX_PACKET: usize = 2048;

/// What the data plane needs to receive one stream.
pub struct StreamSpec {
    /// Local UDP port the SBC sends this stream to.
    pub port: u16,
    /// Codec, payload types and jitter settings.
    pub config: StreamConfig,
    /// The SBC's SRTP key and suite, when the stream is SRTP.
    pub srtp: Option<(SrtpMasterKey, SrtpProfile)>,
}

/// Counters of one stream, readable from other threads.
#[derive(Debug, Default)]
pub struct StreamCounters {
    /// Packets received on the port.
    pub packets: AtomicU64,
    /// Packets that are not RTP (bad version, truncated…).
    pub malformed: AtomicU64,
    /// SRTP packets that failed authentication or were replayed.
    pub srtp_rejected: AtomicU64,
    /// 20 ms frames delivered to the leg's queue.
    pub frames: AtomicU64,
    /// Frames dropped because the consumer was behind.
    pub frames_dropped: AtomicU64,
    stats: std::sync::Mutex<Option<StreamStats>>,
}

impl StreamCounters {
    /// The pipeline's statistics (loss, jitter, concealment…) as of the last frame.
    pub fn pipeline(&self) -> Option<StreamStats> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub(crate) struct Stream {
    port: u16,
    pipeline: StreamPipeline,
    srtp: Option<SrtpReceiver>,
    scratch: Vec<u8>,
    frames: Arc<FrameQueue>,
    dtmf: Arc<ArrayQueue<DtmfEvent>>,
    counters: Arc<StreamCounters>,
}

/// What a stream delivers to its call: audio frames and key presses.
#[derive(Clone)]
pub struct StreamOutput {
    /// 20 ms, 16 kHz frames; the oldest is dropped when the consumer is behind.
    pub frames: Arc<FrameQueue>,
    /// DTMF key presses (RFC 4733) with digit and duration; bounded the same way.
    pub dtmf: Arc<ArrayQueue<DtmfEvent>>,
}

impl Stream {
    pub(crate) fn new(spec: StreamSpec) -> Result<Stream, String> {
        let pipeline = StreamPipeline::new(spec.config).map_err(|e| e.to_string())?;
        let srtp = match spec.srtp {
            Some((key, profile)) => Some(SrtpReceiver::new(&key, SrtpConfig::new(profile)).map_err(|e| e.to_string())?),
            None => None,
        };
        Ok(Stream {
            port: spec.port,
            pipeline,
            srtp,
            scratch: Vec::with_capacity(MAX_PACKET),
            frames: Arc::new(FrameQueue::new(QUEUE_FRAMES)),
            dtmf: Arc::new(ArrayQueue::new(QUEUE_DTMF)),
            counters: Arc::new(StreamCounters::default()),
        })
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    pub(crate) fn output(&self) -> StreamOutput {
        StreamOutput { frames: self.frames.clone(), dtmf: self.dtmf.clone() }
    }

    pub(crate) fn counters(&self) -> Arc<StreamCounters> {
        self.counters.clone()
    }

    /// Takes one datagram: SRTP undone in the scratch buffer, RTP parsed,
    /// handed to the jitter buffer.
    pub(crate) fn receive(&mut self, payload: &[u8], now: Instant) {
        self.counters.packets.fetch_add(1, Ordering::Relaxed);
        let bytes: &[u8] = match &mut self.srtp {
            None => payload,
            Some(receiver) => {
                if payload.len() > MAX_PACKET {
                    self.counters.malformed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                self.scratch.clear();
                self.scratch.extend_from_slice(payload);
                match receiver.unprotect_rtp(&mut self.scratch) {
                    Ok(len) => &self.scratch[..len],
                    Err(_) => {
                        self.counters.srtp_rejected.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                }
            }
        };
        let Ok(rtp) = RtpPacket::parse(bytes) else {
            self.counters.malformed.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let packet = MediaPacket {
            ssrc: rtp.ssrc(),
            sequence: rtp.sequence(),
            timestamp: rtp.timestamp(),
            marker: rtp.marker(),
            payload_type: rtp.payload_type(),
            payload: rtp.payload(),
        };
        if self.pipeline.push(&packet, now) == PushOutcome::Invalid {
            self.counters.malformed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Moves every frame due by `now` to the leg's queue.
    pub(crate) fn emit_due(&mut self, now: Instant) {
        let mut emitted = false;
        while let Some(frame) = self.next_frame(now) {
            emitted = true;
            if self.frames.push(frame) {
                self.counters.frames_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        while let Some(event) = self.pipeline.take_dtmf() {
            self.dtmf.force_push(event);
        }
        if emitted {
            *self.counters.stats.lock().unwrap_or_else(|p| p.into_inner()) = Some(self.pipeline.stats());
        }
    }

    /// The next frame due by `now`, if any (for callers that keep every frame).
    pub(crate) fn next_frame(&mut self, now: Instant) -> Option<Frame> {
        let frame = self.pipeline.poll(now).ok().flatten()?;
        self.counters.frames.fetch_add(1, Ordering::Relaxed);
        Some(frame)
    }

    /// The pipeline's statistics now.
    pub(crate) fn stats(&self) -> StreamStats {
        self.pipeline.stats()
    }
}
