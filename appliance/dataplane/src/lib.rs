//! The media data plane: packets in, 16 kHz frames per call leg out.
//!
//! ```text
//! PacketSource ──recv_batch──> data-plane thread ──by destination port──> Stream
//!                                                      SRTP unprotect → RTP parse → StreamPipeline
//!                                                      (jitter, decode, resample) ──> FrameQueue
//! ```
//!
//! One thread per packet source, never on the async runtime. The thread
//! owns every stream's state outright, so the per-packet path takes no lock
//! and allocates nothing: SRTP is undone in a per-stream scratch buffer, the
//! pipeline writes into fixed frames, and each leg's bounded [`FrameQueue`]
//! drops its oldest frame when the consumer is behind (counted) rather than
//! blocking. Streams come and go through a command channel that the thread
//! drains between batches; the source's port set follows them.
//!
//! Packets to ports that belong to no stream are counted and dropped; SRTP
//! packets that fail authentication or are replayed are counted and
//! dropped; a bad packet never disturbs another stream. Audio only ever
//! lives in these buffers: nothing here writes it anywhere.

mod offline;
mod stream;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use callguard_capture::{CaptureError, PacketBatch, PacketSource, PortControl};
pub use callguard_media::{Codec, DtmfEvent, Frame, FrameQueue, StreamConfig, StreamStats};
pub use callguard_rtp::{SrtpMasterKey, SrtpProfile};

pub use offline::{DecodeOptions, DecodedStream, Undecodable, decode_recorded};
use stream::Stream;
pub use stream::{StreamCounters, StreamOutput, StreamSpec};

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

/// Counters of the data plane as a whole.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaneCounters {
    /// Packets delivered by the source.
    pub packets: u64,
    /// Packets to a port no stream owns.
    pub unknown_port: u64,
}

enum Command {
    Add(Box<Stream>, mpsc::SyncSender<Result<(), DataPlaneError>>),
    Remove(u16),
    Stop,
}

/// Shared read side: per-stream counters for `calls list` and metrics.
#[derive(Default)]
struct Shared {
    streams: Mutex<HashMap<u16, Arc<StreamCounters>>>,
    plane: Mutex<PlaneCounters>,
}

/// A running data plane.
pub struct DataPlane {
    commands: Sender<Command>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    name: String,
}

impl DataPlane {
    /// Starts the data-plane thread on `source`.
    pub fn start(source: Box<dyn PacketSource>) -> std::io::Result<DataPlane> {
        let (commands, receiver) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        let name = source.name().to_owned();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("callguard-media".into())
            .spawn(move || run(source, receiver, &thread_shared))?;
        Ok(DataPlane { commands, shared, thread: Some(thread), name })
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
        let counters = stream.counters();
        let (reply, answer) = mpsc::sync_channel(1);
        self.commands.send(Command::Add(Box::new(stream), reply)).map_err(|_| DataPlaneError::Stopped)?;
        answer.recv().map_err(|_| DataPlaneError::Stopped)??;
        self.shared.streams.lock().unwrap_or_else(|p| p.into_inner()).insert(port, counters);
        Ok(output)
    }

    /// Stops receiving the stream on `port` (its state is dropped and zeroed).
    pub fn remove_stream(&self, port: u16) {
        self.shared.streams.lock().unwrap_or_else(|p| p.into_inner()).remove(&port);
        let _ = self.commands.send(Command::Remove(port));
    }

    /// The counters of the stream on `port`.
    pub fn stream_counters(&self, port: u16) -> Option<Arc<StreamCounters>> {
        self.shared.streams.lock().unwrap_or_else(|p| p.into_inner()).get(&port).cloned()
    }

    /// The data plane's own counters.
    pub fn counters(&self) -> PlaneCounters {
        *self.shared.plane.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(mut source: Box<dyn PacketSource>, commands: Receiver<Command>, shared: &Shared) {
    let ports: PortControl = source.ports();
    let mut streams: HashMap<u16, Stream> = HashMap::new();
    let mut batch = PacketBatch::new(64, 2048);
    let mut counters = PlaneCounters::default();
    let mut next_sweep = Instant::now();
    loop {
        loop {
            match commands.try_recv() {
                Ok(Command::Add(stream, reply)) => {
                    let port = stream.port();
                    let result = match streams.entry(port) {
                        Entry::Occupied(_) => Err(DataPlaneError::PortInUse(port)),
                        Entry::Vacant(slot) => ports
                            .add(port)
                            .map(|()| {
                                slot.insert(*stream);
                            })
                            .map_err(|source| DataPlaneError::Port { port, source }),
                    };
                    let _ = reply.send(result);
                }
                Ok(Command::Remove(port)) => {
                    if streams.remove(&port).is_some() {
                        ports.remove(port);
                    }
                }
                Ok(Command::Stop) | Err(TryRecvError::Disconnected) => return,
                Err(TryRecvError::Empty) => break,
            }
        }
        match source.recv_batch(&mut batch, POLL_INTERVAL) {
            Ok(_) => {}
            Err(e) if e.is_end_of_capture() => return,
            // A receive error is the source's to count; keep serving the others.
            Err(_) => std::thread::sleep(POLL_INTERVAL),
        }
        let now = Instant::now();
        for received in batch.iter() {
            counters.packets += 1;
            match streams.get_mut(&received.packet.dst.port()) {
                Some(stream) => stream.receive(received.packet.payload, now),
                None => counters.unknown_port += 1,
            }
        }
        // Frames are due every 20 ms per stream: sweeping every stream once per
        // POLL_INTERVAL keeps the cadence without a sweep per batch under load.
        if now >= next_sweep {
            next_sweep = now + POLL_INTERVAL;
            for stream in streams.values_mut() {
                stream.emit_due(now);
            }
            *shared.plane.lock().unwrap_or_else(|p| p.into_inner()) = counters;
        }
    }
}
