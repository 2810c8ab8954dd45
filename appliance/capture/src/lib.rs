//! Packet sources for the callguard media plane: where RTP (UDP) datagrams
//! come from before jitter buffering and decoding.
//!
//! # What it is for
//!
//! The SIP side allocates media ports for each recorded call; the media
//! plane needs every datagram sent to those ports, with its addresses and a
//! receive time. Several ways to get them sit behind one trait,
//! [`PacketSource`], chosen by configuration (`media.source`):
//!
//! | source | mode | needs | for |
//! | --- | --- | --- | --- |
//! | [`SocketSource`] | `socket` | nothing (unprivileged) | production default |
//! | [`AfPacketSource`] | `af_packet` | `CAP_NET_RAW` | capture on a mirror port, diagnostics |
//! | [`PcapSource`] | `pcap` | a file | replaying recorded traffic in tests and investigations |
//!
//! ```no_run
//! use std::time::Duration;
//! use callguard_capture::{PacketBatch, PacketSource, SocketConfig, SocketSource};
//!
//! let mut source = SocketSource::with_ports(SocketConfig::default(), [20000, 20002])?;
//! let ports = source.ports(); // for the SIP side: ports.add(20004)?, ports.remove(20000)
//! let mut batch = PacketBatch::new(64, 2048);
//! let n = source.recv_batch(&mut batch, Duration::from_millis(100))?;
//! for received in batch.iter().take(n) {
//!     println!("{} -> {}: {} bytes", received.packet.src, received.packet.dst,
//!              received.packet.payload.len());
//! }
//! # Ok::<(), callguard_capture::CaptureError>(())
//! ```
//!
//! # Design
//!
//! * Blocking, for a dedicated data-plane thread; no async runtime. The
//!   thread owns the source and a [`PacketBatch`]; `recv_batch` clears the
//!   batch, waits up to a timeout for the first datagram, then takes what
//!   is ready without waiting further.
//! * No allocation per packet: a batch allocates its slots once and sources
//!   reuse their buffers; the view of each packet is a
//!   [`callguard_packet::UdpPacket`] borrowing the batch.
//! * Ports are destination ports, changed live from any thread through a
//!   [`PortControl`]. For sockets that binds or closes a socket (a bind
//!   failure is returned to the caller who asked); for filtering sources it
//!   flips a bit in a lock-free bitmap.
//! * Every source counts what it saw ([`SourceCounters`]): received,
//!   delivered, filtered, truncated, dropped by the kernel, and parse
//!   errors by kind.
//! * Sources to come (AF_XDP, DPDK) implement the same trait and fill the
//!   batch with [`PacketBatch::push`]: they parse each frame in place in
//!   their ring (UMEM, mbuf) with `callguard-packet`, drop what is filtered
//!   there, and copy only wanted payloads (about 170 bytes for G.711) into
//!   the batch before returning the frame to the ring. The ring's lifetime
//!   then never leaks into the media plane.
//! * `unsafe` lives in one private module (`recvmmsg` with control
//!   messages, two AF_PACKET socket options), each block with a `SAFETY:`
//!   comment; the rest of the crate denies it.
//!
//! # Limits
//!
//! * Linux only (epoll, `recvmmsg`, AF_PACKET).
//! * Sockets see datagrams after the kernel: fragments reassembled, VLAN
//!   tags gone. AF_PACKET and pcap see frames: later fragments are counted
//!   and skipped, first fragments are delivered with `first_fragment` set,
//!   and AF_PACKET usually loses VLAN tags to offload. So the sources agree
//!   on unfragmented traffic, which RTP always is in practice.
//! * AF_PACKET does not stop the kernel from answering unbound ports with
//!   ICMP port-unreachable; its timestamps are taken in user space.
//! * A `SocketSource` uses one file descriptor per port.
//! * `PcapSource` replays one file, once; recorded-speed replay sleeps in
//!   the calling thread.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod af_packet;
mod batch;
mod counters;
mod error;
mod pcap;
mod ports;
mod socket;
mod source;
mod sys;

pub use af_packet::{AfPacketConfig, AfPacketSource};
pub use batch::{DEFAULT_BUFFER_SIZE, Iter, PacketBatch, PushError, ReceivedPacket, TimestampKind};
pub use callguard_packet::{ParseError, ParseErrorKind, UdpPacket};
pub use counters::{ParseErrorCounts, SourceCounters};
pub use error::CaptureError;
pub use pcap::{PcapSource, ReplaySpeed};
pub use ports::PortControl;
pub use socket::{SocketConfig, SocketSource};
pub use source::{PacketSource, SourceMode};
