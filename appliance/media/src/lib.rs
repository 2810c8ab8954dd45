//! The audio side of callguard's media plane: one RTP stream in, a steady
//! 16 kHz mono signal out, in memory only.
//!
//! # What it is for
//!
//! Each recorded call leg arrives as an RTP stream (PCMU, PCMA, G.722 or
//! Opus, with RFC 4733 DTMF and comfort noise alongside). Speech-to-text
//! wants an uninterrupted 16 kHz signal in 20 ms frames, whatever the
//! network did. [`StreamPipeline`] does that for one stream:
//!
//! ```text
//!  RtpPacket + arrival ─push─> JitterBuffer ──────────────> Resampler16k ──> Frame (320 × f32)
//!                              │ reorder, dedup, late drop   8k/48k → 16k     │
//!                              │ decode (callguard-codecs)   16k passthrough  └─> FrameQueue (bounded,
//!                              │ conceal / silence / resync                        drops the oldest)
//!                              └─> DtmfEvent (telephone-event)
//!                poll(now) every 20 ms of the caller's clock
//! ```
//!
//! ```
//! use std::time::{Duration, Instant};
//! use callguard_codecs::Codec;
//! use callguard_media::{FrameQueue, RtpPacket, StreamConfig, StreamPipeline};
//!
//! let mut stream = StreamPipeline::new(StreamConfig::new(Codec::Pcmu, 0))?;
//! let queue = FrameQueue::new(50);
//! let t0 = Instant::now();
//! for i in 0..10u16 {
//!     let payload = [0xFFu8; 160]; // 20 ms of μ-law silence
//!     let packet = RtpPacket {
//!         ssrc: 0x1234, sequence: i, timestamp: u32::from(i) * 160,
//!         marker: i == 0, payload_type: 0, payload: &payload,
//!     };
//!     let now = t0 + Duration::from_millis(20 * u64::from(i));
//!     stream.push(&packet, now);
//!     while let Some(frame) = stream.poll(now)? {
//!         queue.push(frame);
//!     }
//! }
//! assert_eq!(queue.len(), 7); // output starts 60 ms (the reorder window) after the first packet
//! # Ok::<(), callguard_media::MediaError>(())
//! ```
//!
//! # Design
//!
//! * **Pure.** No sockets, threads, timers or files: packets and their
//!   arrival `Instant`s are pushed in, and
//!   [`StreamPipeline::poll`] is called with the caller's clock. Each call
//!   returns the next frame if it is due; the first frame is due one
//!   reorder window after the first packet, the following ones every 20 ms
//!   after that, whatever arrives. [`StreamPipeline::next_deadline`] says
//!   when to call next.
//! * **Playout in media time.** Packets are placed by RTP timestamp on a
//!   sample-exact timeline at the codec's rate; each frame takes the next
//!   20 ms of it. Packets that arrive after their slot was played are
//!   dropped and counted as late; copies are dropped and counted as
//!   duplicates; the reorder window (60 ms by default) is how much lateness
//!   is absorbed.
//! * **Gaps.** A gap is classified by sequence numbers. Consecutive
//!   sequence numbers around a timestamp gap, or a gap after a comfort
//!   noise packet (PT 13), is silence suppression: it is played as silence.
//!   Missing sequence numbers are loss: it is concealed with the codec's PLC
//!   (Opus) or by repeating the last 20 ms with a linear fade to zero
//!   (G.711, G.722), for at most [`JitterConfig::max_conceal`] (60 ms), and
//!   then silence. Concealment only ever fills the missing interval itself
//!   (it never stretches the timeline) and never follows silence. When
//!   nothing at all is buffered (loss, a pause, or the end of the stream,
//!   which cannot be told apart yet) the output is silence. Comfort noise
//!   is rendered as silence, not as generated noise: speech-to-text must
//!   not be handed invented sounds.
//! * **Resync.** An SSRC change, a sequence jump beyond 3000, a timestamp
//!   more than 1 s ahead of or behind the playout point, or a fifth late
//!   packet in a row (a step in network delay) start a new *generation*
//!   with that packet: the packets before it are played out, then playout
//!   re-anchors on the new one (no earlier than one reorder window after
//!   its first packet arrived), with the decoder reset. Frame numbering and
//!   cadence go on unbroken. Stragglers of the old source are dropped.
//! * **Clock drift.** Every second the smallest *slack* (how long before
//!   the frame needing it was due a packet arrived) is checked. Above the
//!   reorder window plus 20 ms (sender clock fast, or the network got
//!   quicker) samples are dropped to bring it back to the window; below a
//!   quarter of the window (sender clock slow, or jitter above three
//!   quarters of the window) samples are inserted to bring it up to half
//!   the window, as long as no packet is then held longer than the window
//!   plus 200 ms. Both happen only in silent frames (all samples within
//!   ±256), at most 5 ms per frame, so speech is never cut or stretched.
//!   The buffer depth therefore stays between about a quarter of the
//!   window and the window plus 200 ms.
//! * **Resampling** to 16 kHz with rubato's synchronous FFT resampler
//!   (8 kHz up, 48 kHz down, 16 kHz passed through), in fixed 20 ms chunks,
//!   so each input frame is exactly one 320-sample output frame.
//! * **Back-pressure.** [`FrameQueue`] is bounded and lock-free; a full
//!   queue drops its oldest frame and counts it. The producer never blocks.
//! * **Statistics** per stream: [`StreamStats`] (packets, lost, late,
//!   duplicates, concealed ms, RFC 3550 interarrival jitter, codec, resyncs,
//!   drift corrections...).
//!
//! # Call content stays in memory
//!
//! Nothing here writes to disk or logs audio. When a stream ends, dropping
//! its [`StreamPipeline`] frees every buffer and first zeroes, with
//! `zeroize`, those holding audio: the sample buffers, the last-frame
//! history, the payload of every held packet, and the resampler's filter
//! state. Each [`Frame`] zeroes its samples when dropped (also when the
//! queue drops it). libopus's decoder state (a few kilobytes of filter
//! memory) is freed by libopus without being zeroed, and rubato's FFT
//! plans hold no signal.
//!
//! # Limits
//!
//! * One audio codec per stream (the SDP's), plus comfort noise and
//!   telephone-event; a codec change mid-stream is a new stream for the
//!   caller. Packets of other payload types are counted and dropped.
//! * No Opus in-band FEC; no time-stretching of speech (drift is corrected
//!   in silence only, so a stream with no silent frame at all keeps its
//!   drift until the late-run resync).
//! * The resampler delays the signal by a constant few milliseconds
//!   ([`Resampler16k::delay_samples`]).
//! * Memory per stream, measured as resident memory over 1000 streams
//!   (see the `pipeline` bench): about 30 KB for G.711, 14 KB for G.722,
//!   100 KB for Opus, dominated by rubato's FFT state and, for Opus,
//!   libopus's 18 KB decoder. [`StreamPipeline::memory_bytes`] counts only
//!   the buffers this crate owns.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod jitter;
mod queue;
mod resample;

use std::time::Instant;

pub use callguard_codecs::{Codec, DtmfEvent};
pub use jitter::{FrameKind, JitterBuffer, JitterConfig, PcmFrame, PushOutcome, RtpPacket};
pub use queue::FrameQueue;
pub use resample::{FRAME_SAMPLES, OUTPUT_RATE, Resampler16k};
use zeroize::Zeroize;

/// Errors of the media pipeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The codec's decoder could not be created.
    #[error("cannot create the {codec} decoder: {source}")]
    Decoder {
        /// The stream's codec.
        codec: Codec,
        /// Why.
        #[source]
        source: callguard_codecs::DecodeError,
    },
    /// The resampler rejected the configuration.
    #[error("cannot resample {rate} Hz to 16 kHz: {message}")]
    Resampler {
        /// Input rate.
        rate: u32,
        /// rubato's message.
        message: String,
    },
    /// A rate that is not a whole number of samples per 20 ms.
    #[error("sample rate {rate} Hz does not divide into 20 ms frames")]
    UnsupportedRate {
        /// The rate.
        rate: u32,
    },
    /// A frame of the wrong length was given to the resampler.
    #[error("frame of {got} samples given where {expected} (20 ms) were expected")]
    FrameLength {
        /// Samples expected.
        expected: usize,
        /// Samples given.
        got: usize,
    },
}

/// What one stream carries, from the SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamConfig {
    /// The audio codec.
    pub codec: Codec,
    /// Its payload type.
    pub payload_type: u8,
    /// Payload type of `telephone-event` at the codec's clock rate, if
    /// negotiated.
    pub telephone_event_payload_type: Option<u8>,
    /// Payload type of comfort noise (RFC 3389), normally 13.
    pub comfort_noise_payload_type: Option<u8>,
    /// Jitter buffer tuning.
    pub jitter: JitterConfig,
}

impl StreamConfig {
    /// A stream of `codec` under `payload_type`, comfort noise on PT 13,
    /// no telephone-event, default jitter tuning.
    pub fn new(codec: Codec, payload_type: u8) -> Self {
        Self {
            codec,
            payload_type,
            telephone_event_payload_type: None,
            comfort_noise_payload_type: Some(13),
            jitter: JitterConfig::default(),
        }
    }

    /// Adds telephone-event on `payload_type`.
    pub fn with_telephone_event(mut self, payload_type: u8) -> Self {
        self.telephone_event_payload_type = Some(payload_type);
        self
    }
}

/// Counters and estimates for one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStats {
    /// The stream's codec.
    pub codec: Codec,
    /// RTP packets pushed (all payload types).
    pub packets: u64,
    /// Sequence numbers skipped at playout that never arrived.
    pub lost: u64,
    /// Packets that arrived after their playout time (dropped).
    pub late: u64,
    /// Copies of packets already held or played (dropped).
    pub duplicates: u64,
    /// Audio invented for lost packets (PLC or repeat-with-fade), in ms.
    pub concealed_ms: u64,
    /// Silence played (gaps, comfort noise, underruns, drift insertions), in ms.
    pub silence_ms: u64,
    /// RFC 3550 interarrival jitter estimate of the current source, in ms.
    pub jitter_ms: f64,
    /// Times playout re-anchored on a new source or timestamp base.
    pub resyncs: u64,
    /// Packets dropped by a resync (superseded pending or unplayed packets).
    pub discarded: u64,
    /// Packets of a payload type not negotiated for the stream.
    pub unknown_payload_type: u64,
    /// Packets whose payload could not be read.
    pub invalid: u64,
    /// Packets dropped because the buffer was full.
    pub overflow: u64,
    /// Payloads the decoder failed on (concealed instead).
    pub decode_errors: u64,
    /// Silence dropped to correct clock drift, in ms.
    pub drift_dropped_ms: u64,
    /// Silence inserted to correct clock drift, in ms.
    pub drift_inserted_ms: u64,
    /// 20 ms frames produced.
    pub frames: u64,
    /// DTMF key presses reported.
    pub dtmf_events: u64,
}

/// 20 ms of 16 kHz mono audio, full scale ±1.0. Zeroed when dropped.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Frame number since the stream started (one per 20 ms, no gaps).
    pub index: u64,
    /// The instant the frame was due on the caller's clock.
    pub due: Instant,
    /// Where the samples came from (before resampling).
    pub kind: FrameKind,
    /// The samples.
    pub samples: [f32; FRAME_SAMPLES],
}

impl Frame {
    /// A frame.
    pub fn new(index: u64, due: Instant, kind: FrameKind, samples: [f32; FRAME_SAMPLES]) -> Self {
        Self { index, due, kind, samples }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        self.samples.zeroize();
    }
}

/// One stream's whole path: jitter buffer, decoder, resampler.
#[derive(Debug)]
pub struct StreamPipeline {
    jitter: JitterBuffer,
    resampler: Resampler16k,
}

impl StreamPipeline {
    /// A pipeline for one stream.
    pub fn new(config: StreamConfig) -> Result<Self, MediaError> {
        let jitter = JitterBuffer::new(&config)?;
        let resampler = Resampler16k::new(jitter.sample_rate())?;
        Ok(Self { jitter, resampler })
    }

    /// Takes one packet that arrived at `arrival`.
    pub fn push(&mut self, packet: &RtpPacket<'_>, arrival: Instant) -> PushOutcome {
        self.jitter.push(packet, arrival)
    }

    /// The next 16 kHz frame if one is due at `now`. Call until `Ok(None)`.
    pub fn poll(&mut self, now: Instant) -> Result<Option<Frame>, MediaError> {
        let Some(pcm) = self.jitter.poll(now) else { return Ok(None) };
        let (index, due, kind) = (pcm.index, pcm.due, pcm.kind);
        let mut samples = [0f32; FRAME_SAMPLES];
        self.resampler.process(pcm.samples, &mut samples)?;
        Ok(Some(Frame { index, due, kind, samples }))
    }

    /// When the next frame is due, once the first packet has arrived.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.jitter.next_deadline()
    }

    /// Completed DTMF key presses, oldest first.
    pub fn take_dtmf(&mut self) -> Option<DtmfEvent> {
        self.jitter.take_dtmf()
    }

    /// At stream end: reports a key press whose end packets never came.
    pub fn flush_dtmf(&mut self) {
        self.jitter.flush_dtmf();
    }

    /// Counters and estimates.
    pub fn stats(&self) -> StreamStats {
        self.jitter.stats()
    }

    /// The jitter buffer, for inspection.
    pub fn jitter_buffer(&self) -> &JitterBuffer {
        &self.jitter
    }

    /// The resampler, for inspection.
    pub fn resampler(&self) -> &Resampler16k {
        &self.resampler
    }

    /// Bytes of the buffers this crate holds for the stream now (packets,
    /// sample buffers); rubato's and libopus's internal state are not
    /// included (see the crate limits for measured totals).
    pub fn memory_bytes(&self) -> usize {
        self.jitter.memory_bytes() + std::mem::size_of::<Resampler16k>() + self.resampler.input_frame_len() * 4
    }
}
