//! The trait every packet source implements.

use std::fmt;
use std::time::Duration;

use crate::batch::PacketBatch;
use crate::counters::SourceCounters;
use crate::error::CaptureError;
use crate::ports::PortControl;

/// Which kind of source, for diagnostics and configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceMode {
    /// Plain UDP sockets, one per port ([`SocketSource`](crate::SocketSource)).
    Socket,
    /// Replay of a pcap or pcapng file ([`PcapSource`](crate::PcapSource)).
    Pcap,
    /// AF_PACKET on an interface ([`AfPacketSource`](crate::AfPacketSource)).
    AfPacket,
    /// AF_XDP sockets fed by the XDP program (`callguard-afxdp`).
    AfXdp,
}

impl SourceMode {
    /// The name used in configuration and logs: `socket`, `pcap`, `af_packet`, `af_xdp`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Socket => "socket",
            Self::Pcap => "pcap",
            Self::AfPacket => "af_packet",
            Self::AfXdp => "af_xdp",
        }
    }
}

impl fmt::Display for SourceMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A blocking source of UDP datagrams for a dedicated data-plane thread.
///
/// The thread owns the source and one [`PacketBatch`], and loops:
///
/// ```no_run
/// # use std::time::Duration;
/// # use callguard_capture::{CaptureError, PacketBatch, PacketSource};
/// fn run(source: &mut dyn PacketSource) -> Result<(), CaptureError> {
///     let mut batch = PacketBatch::new(64, 2048);
///     loop {
///         match source.recv_batch(&mut batch, Duration::from_millis(100)) {
///             Ok(_) => {
///                 for received in &batch {
///                     let _ = (received.packet.dst, received.packet.payload, received.timestamp);
///                 }
///             }
///             Err(e) if e.is_end_of_capture() => return Ok(()),
///             Err(e) => return Err(e),
///         }
///         // check a shutdown flag here: recv_batch returns at least every 100 ms
///     }
/// }
/// ```
///
/// Ports are changed from any thread through [`ports`](Self::ports); the
/// change takes effect at the source's next `recv_batch` (a blocked call is
/// woken where the source needs to act on it).
pub trait PacketSource: Send {
    /// What kind of source this is.
    fn mode(&self) -> SourceMode;

    /// A short description for logs: `socket 0.0.0.0`, `af_packet eth1`,
    /// `pcap /var/tmp/call.pcapng`.
    fn name(&self) -> &str;

    /// Clear `batch`, then fill it with datagrams to ports in the port set.
    ///
    /// Blocks until at least one datagram is there or `timeout` has passed
    /// (`Duration::ZERO` polls), then takes what is ready without blocking
    /// further, up to the batch's capacity. Returns how many it holds (0 on
    /// timeout). A finite source that is exhausted returns
    /// [`CaptureError::EndOfCapture`].
    fn recv_batch(&mut self, batch: &mut PacketBatch, timeout: Duration) -> Result<usize, CaptureError>;

    /// The counters so far.
    fn counters(&self) -> SourceCounters;

    /// A handle on the source's port set, for any thread.
    fn ports(&self) -> PortControl;

    /// Splits a source that reads several independent receive queues into
    /// one source per queue, so that each queue gets its own data-plane
    /// thread. The parts share one port set. A source with one queue (or
    /// one kernel socket set, like every source of this crate) returns
    /// itself alone.
    fn split(self: Box<Self>) -> Vec<Box<dyn PacketSource>>;
}
