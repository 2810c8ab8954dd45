//! The media data plane: packets in, 16 kHz frames per call leg out.
//!
//! ```text
//! PacketSource ──split──> one part per RX queue ──recv_batch──> data-plane thread per part
//!                                   │ by destination port, through the sharded StreamTable
//!                                   v
//!                                 Stream: SRTP unprotect → RTP parse → StreamPipeline
//!                                         (jitter, decode, resample) ──> FrameQueue
//! ```
//!
//! One thread per receive queue of the source ([`PacketSource::split`]:
//! AF_XDP has a socket per RX queue; the other sources are one part),
//! never on the async runtime. The streams live in a table sharded by
//! port, each shard behind its own lock, because the NIC decides which
//! queue a flow arrives on; a flow stays on its queue, so the locks are
//! uncontended. The per-packet path allocates nothing: SRTP is undone in a
//! per-stream scratch buffer, the pipeline writes into fixed frames, and
//! each leg's bounded [`FrameQueue`] drops its oldest frame when the
//! consumer is behind (counted) rather than blocking. Streams are added and
//! removed by the caller's thread straight in the table; the source's port
//! set follows them.
//!
//! Packets to ports that belong to no stream are counted and dropped; SRTP
//! packets that fail authentication or are replayed are counted and
//! dropped; a bad packet never disturbs another stream. Audio only ever
//! lives in these buffers: nothing here writes it anywhere.

mod offline;
mod stream;
mod table;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use callguard_capture::{CaptureError, PacketBatch, PacketSource, PortControl};
pub use callguard_media::{Codec, DtmfEvent, Frame, FrameQueue, StreamConfig, StreamStats};
pub use callguard_rtp::{SrtpMasterKey, SrtpProfile};

pub use offline::{DecodeOptions, DecodedStream, Undecodable, decode_recorded};
use stream::Stream;
pub use stream::{StreamCounters, StreamOutput, StreamSpec};
use table::StreamTable;

/// How long one receive call may block, so commands and frame deadlines are
/// served at least this often.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// Why the data plane refused a request.
#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    /// The stream's port could not be added to the source.
    #[error("cannot receive media on port {port}: {source}")]
    Port {
        /// The port.
        port: u16,
        /// The source's error.
        #[source]
        source: CaptureError,
    },
    /// The codec or its configuration was refused.
    #[error("stream on port {port}: {reason}")]
    Stream {
        /// The port.
        port: u16,
        /// What is wrong.
        reason: String,
    },
    /// Another stream already owns the port.
    #[error("port {0} already belongs to a stream")]
    PortInUse(u16),
    /// The data-plane thread has stopped.
    #[error("the data plane has stopped")]
    Stopped,
}

/// Counters of the data plane, or of one of its threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaneCounters {
    /// Packets delivered by the source.
    pub packets: u64,
    /// Packets to a port no stream owns.
    pub unknown_port: u64,
}

/// One data-plane thread as seen from outside: which part of the source it
/// reads, and its counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadCounters {
    /// The part's name (`af_xdp eth1 queue 3 (native XDP, zero-copy)`).
    pub source: String,
    /// What it received.
    pub counters: PlaneCounters,
}

#[derive(Default)]
struct AtomicCounters {
    packets: AtomicU64,
    unknown_port: AtomicU64,
}

impl AtomicCounters {
    fn load(&self) -> PlaneCounters {
        PlaneCounters {
            packets: self.packets.load(Ordering::Relaxed),
            unknown_port: self.unknown_port.load(Ordering::Relaxed),
        }
    }
}

struct Part {
    source: String,
    counters: Arc<AtomicCounters>,
    thread: Option<JoinHandle<()>>,
}

/// A running data plane.
pub struct DataPlane {
    table: Arc<StreamTable>,
    ports: PortControl,
    stop: Arc<AtomicBool>,
    parts: Vec<Part>,
    name: String,
}

impl DataPlane {
    /// Splits `source` into its receive queues and starts one data-plane
    /// thread per queue.
    pub fn start(source: Box<dyn PacketSource>) -> std::io::Result<DataPlane> {
        let name = source.name().to_owned();
        let ports = source.ports();
        let sources = source.split();
        let mut plane = DataPlane {
            table: Arc::new(StreamTable::new()),
            ports,
            stop: Arc::new(AtomicBool::new(false)),
            parts: Vec::with_capacity(sources.len()),
            name,
        };
        let count = sources.len();
        for (index, source) in sources.into_iter().enumerate() {
            let counters = Arc::new(AtomicCounters::default());
            let part_name = source.name().to_owned();
            let (table, stop, thread_counters) = (plane.table.clone(), plane.stop.clone(), counters.clone());
            // On failure, dropping `plane` stops the threads already started.
            let thread = std::thread::Builder::new()
                .name(format!("cg-media-{index}"))
                .spawn(move || run(source, index, count, &table, &stop, &thread_counters))?;
            plane.parts.push(Part { source: part_name, counters, thread: Some(thread) });
        }
        Ok(plane)
    }

    /// The source's name (`socket 0.0.0.0`, `af_packet eth1`…).
    pub fn source_name(&self) -> &str {
        &self.name
    }

    /// Starts receiving a stream; its frames and key presses arrive on the
    /// returned queues.
    pub fn add_stream(&self, spec: StreamSpec) -> Result<StreamOutput, DataPlaneError> {
        let port = spec.port;
        let stream = Stream::new(spec).map_err(|reason| DataPlaneError::Stream { port, reason })?;
        let output = stream.output();
        self.table.insert(stream, &self.ports)?;
        Ok(output)
    }

    /// Stops receiving the stream on `port` (its state is dropped and zeroed).
    pub fn remove_stream(&self, port: u16) {
        drop(self.table.remove(port, &self.ports));
    }

    /// The counters of the stream on `port`.
    pub fn stream_counters(&self, port: u16) -> Option<Arc<StreamCounters>> {
        self.table.counters(port)
    }

    /// The data plane's own counters, over all its threads.
    pub fn counters(&self) -> PlaneCounters {
        self.parts.iter().map(|p| p.counters.load()).fold(PlaneCounters::default(), |sum, c| PlaneCounters {
            packets: sum.packets + c.packets,
            unknown_port: sum.unknown_port + c.unknown_port,
        })
    }

    /// Each thread's part of the source and its counters.
    pub fn threads(&self) -> Vec<ThreadCounters> {
        self.parts.iter().map(|p| ThreadCounters { source: p.source.clone(), counters: p.counters.load() }).collect()
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for part in &mut self.parts {
            if let Some(thread) = part.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// The loop of thread `part` of `parts`: receive, deliver, and sweep its
/// shards for due frames. Returns when told to stop or when a finite source
/// (a capture file) ends.
fn run(
    mut source: Box<dyn PacketSource>,
    part: usize,
    parts: usize,
    table: &StreamTable,
    stop: &AtomicBool,
    counters: &AtomicCounters,
) {
    let mut batch = PacketBatch::new(64, 2048);
    let mut next_sweep = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        match source.recv_batch(&mut batch, POLL_INTERVAL) {
            Ok(_) => {}
            Err(e) if e.is_end_of_capture() => return,
            // A receive error is the source's to count; keep serving the others.
            Err(_) => std::thread::sleep(POLL_INTERVAL),
        }
        let now = Instant::now();
        if !batch.is_empty() {
            let packets = batch.iter().map(|received| (received.packet.dst.port(), received.packet.payload));
            let unknown = table.deliver(packets, now);
            counters.packets.fetch_add(batch.len() as u64, Ordering::Relaxed);
            counters.unknown_port.fetch_add(unknown, Ordering::Relaxed);
        }
        // Frames are due every 20 ms per stream: sweeping once per
        // POLL_INTERVAL keeps the cadence without a sweep per batch under load.
        if now >= next_sweep {
            next_sweep = now + POLL_INTERVAL;
            table.sweep(part, parts, now);
        }
    }
}
