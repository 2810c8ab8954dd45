//! `callguard-afxdp`: the AF_XDP packet source of the callguard media
//! plane (`media.source = "af_xdp"`).
//!
//! # What it is for
//!
//! The fast way to receive RTP: the XDP program of `callguard-xdp` runs in
//! the NIC driver and redirects each UDP datagram whose destination port is
//! a media port into the AF_XDP socket of the RX queue it arrived on;
//! everything else goes on to the kernel stack untouched. [`AfXdpSource`]
//! sets that up and reads the sockets as a
//! [`PacketSource`](callguard_capture::PacketSource), so the media plane
//! does not care which source it has.
//!
//! ```text
//!  NIC queue q ──> callguard_xdp ──media port──> cg_xsks[q] ──> AF_XDP socket q ──> RX ring
//!                       └── everything else ──> kernel stack (SIP, SSH, ARP...)
//!
//!  recv_batch: RX ring ──desc──> frame in UMEM ──parse_ethernet──> port in set? ──copy payload──> PacketBatch
//!                 └──────────── frame address back to the fill ring ◄──────────────┘
//! ```
//!
//! ```no_run
//! use std::time::Duration;
//! use callguard_afxdp::{AfXdpConfig, AfXdpSource};
//! use callguard_capture::{PacketBatch, PacketSource};
//!
//! let mut source = AfXdpSource::open(&AfXdpConfig::new("eth1"), [20000, 20002])?;
//! println!("{}", source.mode_report()); // af_xdp eth1: XDP in native mode, sockets in zero-copy mode, ...
//! let ports = source.ports(); // for the SIP side: ports.add(20004)?, ports.remove(20000)
//! let mut batch = PacketBatch::new(64, 2048);
//! let n = source.recv_batch(&mut batch, Duration::from_millis(100))?;
//! # let _ = (n, ports);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Design
//!
//! * One UMEM per RX queue (`frame_count` frames of `frame_size` bytes,
//!   anonymous memory mapped at open), its own fill, completion and RX
//!   rings, one socket bound to the queue and registered in the program's
//!   XSKMAP. No UMEM sharing between queues: each queue stands alone, and
//!   zero-copy is decided per queue by the driver.
//! * Zero-copy is asked for when the program runs in native mode
//!   ([`ZeroCopy::Prefer`]); if the driver refuses, the queue is set up
//!   again in copy mode and [`ModeReport::copy_reason`] says why.
//!   [`PacketSource::name`](callguard_capture::PacketSource::name) reads
//!   e.g. `af_xdp eth1 (native XDP, zero-copy)`.
//! * One source reads its queues in turn;
//!   [`PacketSource::split`](callguard_capture::PacketSource::split) gives
//!   one source per queue (`af_xdp eth1 queue 3 (...)`), which is how the
//!   data plane runs a thread per queue. The parts share the program and the port set behind
//!   two mutexes taken once per `recv_batch` (per frame: none).
//! * The per-frame path allocates nothing and takes no lock: parse in
//!   place in the UMEM, check the destination port against the lock-free
//!   port set, copy the payload into the caller's batch, return the frame
//!   to the fill ring (in bursts of up to 64).
//! * The program's port bitmap follows the
//!   [`PortControl`](callguard_capture::PortControl) as described in the
//!   `ports` module: a generation check at every `recv_batch` (and every
//!   10 ms while idle), a word-by-word comparison when it moved, writes of
//!   the changed words only. Ports removed are filtered in user space from
//!   the next frame on.
//! * Drops come from the kernel: `XDP_STATISTICS` (`rx_dropped`,
//!   `rx_ring_full`, fill ring empty) per socket, in
//!   [`SourceCounters::dropped`](callguard_capture::SourceCounters) and in
//!   detail in [`AfXdpSource::statistics`] with the program's own counters.
//! * Drop order: the program is detached (by `callguard-xdp`), then the
//!   sockets close, then the UMEMs are unmapped. A crash leaves nothing
//!   either: the program hangs on a BPF link and the sockets on
//!   descriptors, which the kernel releases with the process; the sockets
//!   are close-on-exec (xdpilone opens them without `SOCK_CLOEXEC`).
//! * `unsafe` only where `xdpilone` and the kernel interfaces need it: the
//!   UMEM area and reading a frame from it, the socket descriptor for the
//!   XSKMAP, and a few system calls in `sys.rs` (mmap, fcntl,
//!   `XDP_OPTIONS`, busy-poll options, poll, `ETHTOOL_GCHANNELS`); each
//!   item allowed on its own, each block with a `SAFETY:` note.
//!
//! # Limits
//!
//! * Linux 5.18 or later (the program's needs), root or CAP_NET_ADMIN,
//!   CAP_BPF and CAP_NET_RAW. Elsewhere [`AfXdpSource::open`] says what is
//!   missing and to use `media.source = "socket"` or `"af_packet"`.
//! * Media arriving on an RX queue without a socket (with
//!   [`Queues::Only`]) goes to the kernel stack, counted `no_socket` by the
//!   program.
//! * Timestamps are user space ones, per burst of up to 64 frames.
//! * Frames larger than `frame_size - 256` are dropped by the kernel
//!   (`rx_dropped`): no multi-buffer (`XDP_USE_SG`) support; RTP is far
//!   smaller.
//! * An interface that disappears shows as silence (the sockets are
//!   unbound by the kernel); the media watch times the calls out.
//! * One source per interface per process (a second `open` is refused);
//!   two processes on one interface are not detected before the second
//!   one replaces the first's program.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod error;
mod ports;
mod queue;
mod source;
mod sys;

pub use callguard_xdp::XdpMode;
pub use config::{AfXdpConfig, BusyPoll, Queues, ZeroCopy};
pub use error::AfXdpError;
pub use ports::POLL_SLICE;
pub use queue::KernelXskStats;
pub use source::{AfXdpSource, AfXdpStats, ModeReport, QueueMode, QueueStats};
