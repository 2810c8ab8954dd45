//! The media side of calls: every recorded stream goes to the data plane
//! (`callguard-dataplane`) as SIPREC sessions come and go, and calls whose
//! media stopped are ended.
//!
//! Call events arrive from the SIP task through [`MediaEvents`] (a sink that
//! only queues) and are applied on a thread of their own, because adding a
//! stream waits for the data-plane thread. The same thread checks once a
//! second for calls whose active streams received nothing for
//! `media.timeout_seconds`, and asks the SIP task to end them (BYE).
//!
//! The 16 kHz frames each leg produces wait in its bounded queue for
//! speech-to-text; until that consumer exists, the oldest frames are
//! dropped, never written anywhere.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callguard_afxdp::{AfXdpConfig, AfXdpSource};
use callguard_capture::{AfPacketConfig, AfPacketSource, PacketSource, SocketConfig, SocketSource};
use callguard_config::{MediaConfig, MediaSource};
use callguard_dataplane::{
    Codec, DataPlane, FrameQueue, SrtpMasterKey, SrtpProfile, StreamConfig, StreamCounters, StreamSpec, ThreadCounters,
};
use callguard_sdp::CryptoSuite;
use callguard_speech::Leg;
use callguard_srs::{CallEvent, CallEventSink, LegRole, MediaStream};
use tokio::sync::mpsc as tokio_mpsc;

use crate::DaemonError;
use crate::alerts::CallParties;
use crate::sip::SipCommand;
use crate::speech::SpeechCommand;

/// The call-event sink: queues events for the media thread.
pub(crate) struct MediaEvents(Mutex<mpsc::Sender<CallEvent>>);

impl CallEventSink for MediaEvents {
    fn on_event(&self, event: &CallEvent) {
        let _ = self.0.lock().unwrap_or_else(|p| p.into_inner()).send(event.clone());
    }
}

struct CallMedia {
    parties: CallParties,
    streams: Vec<MediaStream>,
    /// Each received stream's frames, by local port, for speech-to-text.
    frames: HashMap<u16, Arc<FrameQueue>>,
    packets_seen: u64,
    last_progress: Instant,
    terminating: bool,
}

/// Per-stream counters of live calls, for `calls list`, and totals over
/// every stream so far and the data-plane threads' counters (refreshed
/// every second), for metrics.
#[derive(Default)]
pub(crate) struct MediaCounters {
    by_port: Mutex<HashMap<u16, Arc<StreamCounters>>>,
    ended: Mutex<MediaTotals>,
    pub(crate) threads: Mutex<Vec<ThreadCounters>>,
}

/// Media counters summed over streams (monotonic: ended streams stay counted).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MediaTotals {
    pub(crate) streams: u64,
    pub(crate) packets: u64,
    pub(crate) malformed: u64,
    pub(crate) srtp_rejected: u64,
    pub(crate) lost: u64,
    pub(crate) late: u64,
    pub(crate) concealed_ms: u64,
    pub(crate) frames: u64,
    pub(crate) frames_dropped: u64,
}

impl MediaTotals {
    fn add(&mut self, counters: &StreamCounters) {
        let pipeline = counters.pipeline();
        self.packets += counters.packets.load(Ordering::Relaxed);
        self.malformed += counters.malformed.load(Ordering::Relaxed);
        self.srtp_rejected += counters.srtp_rejected.load(Ordering::Relaxed);
        self.frames += counters.frames.load(Ordering::Relaxed);
        self.frames_dropped += counters.frames_dropped.load(Ordering::Relaxed);
        self.lost += pipeline.as_ref().map_or(0, |s| s.lost);
        self.late += pipeline.as_ref().map_or(0, |s| s.late);
        self.concealed_ms += pipeline.as_ref().map_or(0, |s| s.concealed_ms);
    }
}

/// What `calls list` shows of one stream's media.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StreamMedia {
    /// Whether the data plane is receiving the stream (its port is open).
    pub(crate) receiving: bool,
    pub(crate) packets: u64,
    pub(crate) lost: u64,
    pub(crate) late: u64,
    pub(crate) concealed_ms: u64,
    pub(crate) jitter_ms: f64,
}

impl MediaCounters {
    /// Live streams, and totals over every stream since start.
    pub(crate) fn totals(&self) -> (usize, MediaTotals) {
        let mut totals = *self.ended.lock().unwrap_or_else(|p| p.into_inner());
        let live = self.by_port.lock().unwrap_or_else(|p| p.into_inner());
        for counters in live.values() {
            totals.add(counters);
        }
        totals.streams += live.len() as u64;
        (live.len(), totals)
    }

    /// The media counters of the stream received on `port`.
    pub(crate) fn of(&self, port: u16) -> StreamMedia {
        let by_port = self.by_port.lock().unwrap_or_else(|p| p.into_inner());
        let Some(counters) = by_port.get(&port) else { return StreamMedia::default() };
        let pipeline = counters.pipeline();
        StreamMedia {
            receiving: true,
            packets: counters.packets.load(Ordering::Relaxed),
            lost: pipeline.as_ref().map_or(0, |s| s.lost),
            late: pipeline.as_ref().map_or(0, |s| s.late),
            concealed_ms: pipeline.as_ref().map_or(0, |s| s.concealed_ms),
            jitter_ms: pipeline.as_ref().map_or(0.0, |s| s.jitter_ms),
        }
    }
}

/// The running media side: the sink for the SIP task, the counters for
/// `calls list`, and the thread that follows the calls.
pub(crate) struct MediaPlane {
    pub(crate) events: Arc<MediaEvents>,
    pub(crate) counters: Arc<MediaCounters>,
    pub(crate) thread: std::thread::JoinHandle<()>,
}

/// Opens the configured packet source (no ports yet: streams add theirs).
fn open_source(media: &MediaConfig) -> Result<Box<dyn PacketSource>, DaemonError> {
    let interface = || media.interface.clone().unwrap_or_default();
    let fail =
        |e: &dyn std::fmt::Display| DaemonError::Media(format!("cannot open the {:?} media source: {e}", media.source));
    Ok(match media.source {
        MediaSource::Socket => Box::new(SocketSource::new(SocketConfig::new(media.address)).map_err(|e| fail(&e))?),
        MediaSource::AfPacket => {
            Box::new(AfPacketSource::open(&AfPacketConfig::new(interface()), []).map_err(|e| fail(&e))?)
        }
        MediaSource::AfXdp => {
            let source = AfXdpSource::open(&AfXdpConfig::new(interface()), []).map_err(|e| fail(&e))?;
            tracing::info!(mode = %source.mode_report(), "AF_XDP capture");
            Box::new(source)
        }
    })
}

/// Starts the data plane on the configured packet source and the thread
/// that follows the calls.
pub(crate) fn start(
    media: &MediaConfig,
    sip: tokio_mpsc::Sender<SipCommand>,
    speech: Option<mpsc::Sender<SpeechCommand>>,
) -> Result<MediaPlane, DaemonError> {
    let timeout = Duration::from_secs(media.timeout_seconds);
    let io = |what: &str| {
        let what = what.to_owned();
        move |source| DaemonError::Io { what, source }
    };
    let plane = DataPlane::start(open_source(media)?).map_err(io("cannot start the data-plane threads"))?;
    tracing::info!(source = plane.source_name(), threads = plane.threads().len(), "media data plane running");
    let (events_tx, events) = mpsc::channel();
    let counters = Arc::new(MediaCounters::default());
    let thread_counters = counters.clone();
    let thread = std::thread::Builder::new()
        .name("callguard-calls".into())
        .spawn(move || follow_calls(&plane, &events, &thread_counters, timeout, &sip, speech.as_ref()))
        .map_err(io("cannot start the media control thread"))?;
    Ok(MediaPlane { events: Arc::new(MediaEvents(Mutex::new(events_tx))), counters, thread })
}

fn follow_calls(
    plane: &DataPlane,
    events: &mpsc::Receiver<CallEvent>,
    counters: &MediaCounters,
    timeout: Duration,
    sip: &tokio_mpsc::Sender<SipCommand>,
    speech: Option<&mpsc::Sender<SpeechCommand>>,
) {
    let mut calls: HashMap<String, CallMedia> = HashMap::new();
    let mut next_check = Instant::now() + Duration::from_secs(1);
    loop {
        match events.recv_timeout(next_check.saturating_duration_since(Instant::now())) {
            Ok(event) => apply(plane, counters, &mut calls, event, speech),
            Err(RecvTimeoutError::Timeout) => {
                next_check = Instant::now() + Duration::from_secs(1);
                *counters.threads.lock().unwrap_or_else(|p| p.into_inner()) = plane.threads();
                for call_id in silent_calls(counters, &mut calls, timeout) {
                    tracing::warn!(%call_id, timeout_seconds = timeout.as_secs(), "no media: ending the call");
                    let _ = sip.blocking_send(SipCommand::Terminate(call_id));
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn apply(
    plane: &DataPlane,
    counters: &MediaCounters,
    calls: &mut HashMap<String, CallMedia>,
    event: CallEvent,
    speech: Option<&mpsc::Sender<SpeechCommand>>,
) {
    match event {
        CallEvent::Started(call) => {
            let mut media = CallMedia {
                parties: CallParties { subscriber: call.subscriber.clone(), caller: call.caller.clone() },
                streams: call.streams.clone(),
                frames: HashMap::new(),
                packets_seen: 0,
                last_progress: Instant::now(),
                terminating: false,
            };
            for stream in &call.streams {
                if let Some(frames) = add(plane, counters, stream) {
                    media.frames.insert(stream.local_port, frames);
                }
            }
            tell_speech(speech, &call.call_id, &media);
            calls.insert(call.call_id.clone(), media);
        }
        CallEvent::StreamsChanged { call_id, streams } => {
            let Some(call) = calls.get_mut(&call_id) else { return };
            for old in &call.streams {
                if !streams.iter().any(|s| s.local_port == old.local_port) {
                    remove(plane, counters, old.local_port);
                    call.frames.remove(&old.local_port);
                }
            }
            for new in &streams {
                if !call.streams.iter().any(|s| s.local_port == new.local_port)
                    && let Some(frames) = add(plane, counters, new)
                {
                    call.frames.insert(new.local_port, frames);
                }
            }
            call.streams = streams;
            tell_speech(speech, &call_id, call);
        }
        CallEvent::Ended { call_id, .. } => {
            if let Some(call) = calls.remove(&call_id) {
                for stream in &call.streams {
                    remove(plane, counters, stream.local_port);
                }
                if let Some(speech) = speech {
                    let _ = speech.send(SpeechCommand::End { call_id });
                }
            }
        }
    }
}

/// Hands the call's legs to speech-to-text: the caller's stream (or a
/// mixed or unlabelled one) as the caller leg, the subscriber's as the
/// callee leg; streams past two are not transcribed.
fn tell_speech(speech: Option<&mpsc::Sender<SpeechCommand>>, call_id: &str, call: &CallMedia) {
    let Some(speech) = speech else { return };
    let mut legs: Vec<(Leg, Arc<FrameQueue>)> = Vec::new();
    let mut received: Vec<(&MediaStream, &Arc<FrameQueue>)> =
        call.streams.iter().filter_map(|s| call.frames.get(&s.local_port).map(|f| (s, f))).collect();
    // Labelled streams first, so an unlabelled one takes the leg left free.
    received.sort_by_key(|(s, _)| !matches!(s.role, LegRole::Caller | LegRole::Subscriber));
    for (stream, frames) in received {
        let wanted = if stream.role == LegRole::Subscriber { Leg::Callee } else { Leg::Caller };
        let free = |leg: Leg| !legs.iter().any(|(l, _)| *l == leg);
        let leg = [wanted, Leg::Caller, Leg::Callee].into_iter().find(|&leg| free(leg));
        match leg {
            Some(leg) => legs.push((leg, frames.clone())),
            None => tracing::warn!(%call_id, port = stream.local_port, "a third stream is not transcribed"),
        }
    }
    let _ = speech.send(SpeechCommand::Legs { call_id: call_id.to_owned(), parties: call.parties.clone(), legs });
}

/// Starts receiving `stream`; its frames, or `None` when it cannot be received.
fn add(plane: &DataPlane, counters: &MediaCounters, stream: &MediaStream) -> Option<Arc<FrameQueue>> {
    let Some(spec) = spec_of(stream) else {
        tracing::warn!(port = stream.local_port, codec = %stream.codec, "no decoder for this stream; not received");
        return None;
    };
    match plane.add_stream(spec) {
        Ok(output) => {
            if let Some(c) = plane.stream_counters(stream.local_port) {
                counters.by_port.lock().unwrap_or_else(|p| p.into_inner()).insert(stream.local_port, c);
            }
            Some(output.frames)
        }
        Err(e) => {
            tracing::warn!(port = stream.local_port, error = %e, "cannot receive this stream");
            None
        }
    }
}

fn remove(plane: &DataPlane, counters: &MediaCounters, port: u16) {
    plane.remove_stream(port);
    let ended = counters.by_port.lock().unwrap_or_else(|p| p.into_inner()).remove(&port);
    if let Some(ended) = ended {
        let mut totals = counters.ended.lock().unwrap_or_else(|p| p.into_inner());
        totals.add(&ended);
        totals.streams += 1;
    }
}

/// The data plane's view of a negotiated stream; `None` for a codec it
/// cannot decode or an SRTP suite it cannot undo.
fn spec_of(stream: &MediaStream) -> Option<StreamSpec> {
    let codec = Codec::from_rtpmap(&stream.codec, stream.clock_rate)?;
    let mut config = StreamConfig::new(codec, stream.payload_type);
    if let Some(dtmf) = stream.dtmf_payload_type {
        config = config.with_telephone_event(dtmf);
    }
    let srtp = match &stream.srtp {
        None => None,
        Some(params) => {
            let profile = match params.suite {
                CryptoSuite::AesCm128HmacSha1Tag80 => SrtpProfile::AesCm128HmacSha1Tag80,
                CryptoSuite::AesCm128HmacSha1Tag32 => SrtpProfile::AesCm128HmacSha1Tag32,
                CryptoSuite::Unknown(_) => return None,
            };
            let key = params.remote_keys.first()?;
            Some((SrtpMasterKey::from_slice(key.material.as_bytes()).ok()?, profile))
        }
    };
    Some(StreamSpec { port: stream.local_port, config, srtp })
}

/// Calls whose active streams received nothing for longer than `timeout`.
/// Calls on hold (no active stream) are left alone.
fn silent_calls(counters: &MediaCounters, calls: &mut HashMap<String, CallMedia>, timeout: Duration) -> Vec<String> {
    let now = Instant::now();
    let mut silent = Vec::new();
    for (call_id, call) in calls.iter_mut() {
        let active: Vec<u16> = call.streams.iter().filter(|s| s.active).map(|s| s.local_port).collect();
        if call.terminating || active.is_empty() {
            call.last_progress = now;
            continue;
        }
        let packets: u64 = active.iter().map(|port| counters.of(*port).packets).sum();
        if packets != call.packets_seen {
            call.packets_seen = packets;
            call.last_progress = now;
        } else if now.duration_since(call.last_progress) > timeout {
            call.terminating = true;
            silent.push(call_id.clone());
        }
    }
    silent
}
