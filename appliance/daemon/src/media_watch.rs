//! Receives each recorded stream on a plain UDP socket (`media.source =
//! "socket"`), counts its packets, and ends calls whose media stopped.
//!
//! This is the socket packet source at its simplest: the RTP payload is
//! read into a reused buffer and dropped, never stored or logged. Decoding
//! arrives with the media plane; the counters and the timeout stay.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callguard_srs::{CallEvent, CallEventSink, MediaStream};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::sip::SipCommand;

/// Packet counters of one stream.
#[derive(Debug, Default)]
pub(crate) struct StreamCounters {
    pub(crate) packets: AtomicU64,
    pub(crate) bytes: AtomicU64,
    /// Milliseconds after the watch started when the last packet arrived (0: none yet).
    last_packet_ms: AtomicU64,
}

struct WatchedStream {
    stream: MediaStream,
    counters: Arc<StreamCounters>,
    readers: Vec<AbortHandle>,
}

struct WatchedCall {
    started: Instant,
    streams: Vec<WatchedStream>,
    terminating: bool,
}

/// Live media counters, by call id, for `calls list`.
#[derive(Default)]
pub(crate) struct MediaCounters {
    calls: Mutex<HashMap<String, WatchedCall>>,
}

impl MediaCounters {
    /// (role, packets, bytes) per local RTP port of a call.
    pub(crate) fn of(&self, call_id: &str) -> HashMap<u16, (u64, u64)> {
        let calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        calls
            .get(call_id)
            .map(|call| {
                call.streams
                    .iter()
                    .map(|s| {
                        let c = &s.counters;
                        (s.stream.local_port, (c.packets.load(Ordering::Relaxed), c.bytes.load(Ordering::Relaxed)))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The call-event sink feeding the watch.
pub(crate) struct MediaWatch {
    events: mpsc::UnboundedSender<CallEvent>,
}

impl CallEventSink for MediaWatch {
    fn on_event(&self, event: &CallEvent) {
        let _ = self.events.send(event.clone());
    }
}

/// Starts the watch: sockets per stream, and a check every second that ends
/// calls silent for longer than `timeout`.
pub(crate) fn start(
    address: IpAddr,
    timeout: Duration,
    sip: mpsc::Sender<SipCommand>,
) -> (Arc<MediaWatch>, Arc<MediaCounters>, tokio::task::JoinHandle<()>) {
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let counters = Arc::new(MediaCounters::default());
    let epoch = Instant::now();
    let task_counters = counters.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => apply(&task_counters, event, address, epoch).await,
                    None => break,
                },
                _ = tick.tick() => {
                    for call_id in silent_calls(&task_counters, timeout, epoch) {
                        tracing::warn!(%call_id, timeout_seconds = timeout.as_secs(), "no media: ending the call");
                        let _ = sip.send(SipCommand::Terminate(call_id)).await;
                    }
                }
            }
        }
        let calls = std::mem::take(&mut *task_counters.calls.lock().unwrap_or_else(|p| p.into_inner()));
        calls.values().flat_map(|c| &c.streams).flat_map(|s| &s.readers).for_each(AbortHandle::abort);
    });
    (Arc::new(MediaWatch { events: events_tx }), counters, task)
}

async fn apply(counters: &MediaCounters, event: CallEvent, address: IpAddr, epoch: Instant) {
    match event {
        CallEvent::Started(call) => {
            let streams = open_all(&call.streams, address, epoch).await;
            let watched = WatchedCall { started: Instant::now(), streams, terminating: false };
            counters.calls.lock().unwrap_or_else(|p| p.into_inner()).insert(call.call_id.clone(), watched);
        }
        CallEvent::StreamsChanged { call_id, streams } => {
            let previous = counters.calls.lock().unwrap_or_else(|p| p.into_inner()).remove(&call_id);
            let Some(mut call) = previous else { return };
            let mut kept = Vec::new();
            for old in call.streams.drain(..) {
                match streams.iter().find(|s| s.local_port == old.stream.local_port) {
                    Some(updated) => kept.push(WatchedStream { stream: updated.clone(), ..old }),
                    None => old.readers.iter().for_each(AbortHandle::abort),
                }
            }
            let added: Vec<MediaStream> =
                streams.iter().filter(|s| !kept.iter().any(|k| k.stream.local_port == s.local_port)).cloned().collect();
            kept.extend(open_all(&added, address, epoch).await);
            call.streams = kept;
            counters.calls.lock().unwrap_or_else(|p| p.into_inner()).insert(call_id, call);
        }
        CallEvent::Ended { call_id, .. } => {
            if let Some(call) = counters.calls.lock().unwrap_or_else(|p| p.into_inner()).remove(&call_id) {
                call.streams.iter().flat_map(|s| &s.readers).for_each(AbortHandle::abort);
            }
        }
    }
}

async fn open_all(streams: &[MediaStream], address: IpAddr, epoch: Instant) -> Vec<WatchedStream> {
    let mut watched = Vec::new();
    for stream in streams {
        let counters = Arc::new(StreamCounters::default());
        let mut ports = vec![stream.local_port];
        if !stream.rtcp_mux {
            ports.push(stream.local_port + 1);
        }
        let mut readers = Vec::new();
        for (i, port) in ports.into_iter().enumerate() {
            match UdpSocket::bind(SocketAddr::new(address, port)).await {
                // Only RTP counts as media; RTCP is received so the SBC gets no ICMP errors.
                Ok(socket) => {
                    readers.push(tokio::spawn(read(socket, (i == 0).then(|| counters.clone()), epoch)).abort_handle())
                }
                Err(e) => tracing::warn!(port, error = %e, "cannot receive media on this port"),
            }
        }
        watched.push(WatchedStream { stream: stream.clone(), counters, readers });
    }
    watched
}

async fn read(socket: UdpSocket, counters: Option<Arc<StreamCounters>>, epoch: Instant) {
    let mut buf = vec![0u8; 2048];
    while let Ok((len, _)) = socket.recv_from(&mut buf).await {
        if let Some(c) = &counters {
            c.packets.fetch_add(1, Ordering::Relaxed);
            c.bytes.fetch_add(len as u64, Ordering::Relaxed);
            c.last_packet_ms.store(epoch.elapsed().as_millis().max(1) as u64, Ordering::Relaxed);
        }
    }
}

/// Calls whose active streams have all been silent for longer than `timeout`.
/// Calls on hold (no active stream) are left alone.
fn silent_calls(counters: &MediaCounters, timeout: Duration, epoch: Instant) -> Vec<String> {
    let now_ms = epoch.elapsed().as_millis() as u64;
    let mut calls = counters.calls.lock().unwrap_or_else(|p| p.into_inner());
    let mut silent = Vec::new();
    for (call_id, call) in calls.iter_mut() {
        let active: Vec<&WatchedStream> = call.streams.iter().filter(|s| s.stream.active).collect();
        if call.terminating || active.is_empty() {
            continue;
        }
        let start_ms = call.started.saturating_duration_since(epoch).as_millis() as u64;
        let last =
            active.iter().map(|s| s.counters.last_packet_ms.load(Ordering::Relaxed)).max().unwrap_or(0).max(start_ms);
        if now_ms.saturating_sub(last) > timeout.as_millis() as u64 {
            call.terminating = true;
            silent.push(call_id.clone());
        }
    }
    silent
}
