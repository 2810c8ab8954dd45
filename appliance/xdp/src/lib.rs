//! `callguard-xdp`: the user side of the appliance's XDP media steering.
//!
//! # Purpose
//!
//! The appliance receives RTP media (UDP) next to SIP, SSH and management
//! traffic. The XDP program in `kernel-bpf/src/callguard_xdp.c` runs on the
//! media interface and sends each UDP datagram whose destination port is in
//! the configured media port set to the AF_XDP socket of the RX queue it
//! arrived on; everything else goes on to the kernel stack (`XDP_PASS`)
//! untouched. This crate loads that program (embedded at build time),
//! attaches it, keeps its port set and socket map up to date, and reads its
//! counters.
//!
//! ```text
//!  NIC queue q ──> callguard_xdp ──UDP to media port──> cg_xsks[q] ──> AF_XDP socket (media plane)
//!                      │        └─ no socket in cg_xsks[q] ─┐
//!                      └── everything else ─────────────────┴──> kernel stack (SIP, SSH, ...)
//!
//!  XdpProgram::set_media_ports / add_port / remove_port ──> cg_media_ports (65536-bit bitmap)
//!  XdpProgram::register_socket(q, fd)                   ──> cg_xsks
//!  XdpProgram::counters()                               <── cg_counters (per CPU, summed)
//! ```
//!
//! # Design
//!
//! - The kernel/user ABI is `kernel-bpf/include/callguard_xdp.h`; [`abi`]
//!   mirrors it with compile-time layout assertions and a test that reads
//!   the header's constants.
//! - `build.rs` compiles the C program with `clang -O2 -g -target bpf`
//!   into `OUT_DIR`; [`BPF_OBJECT`] embeds it. No object is committed.
//! - Attaching uses a BPF link (Linux 5.9+), not pinned: if the daemon dies
//!   the kernel drops the link and the program with it, so a crash leaves
//!   nothing behind. A callguard program that is on the interface anyway
//!   (attached by netlink on an older kernel or by `ip link`, or held by a
//!   process that is still alive) is recognised by its name and removed
//!   before attaching; a program of anyone else is never touched
//!   ([`XdpError::ForeignProgram`]).
//! - Native (driver) mode is asked for first and generic (skb) mode is the
//!   fallback; [`Attachment`] reports which one the program got.
//! - "No socket" is detected without an extra lookup: the program calls
//!   `bpf_redirect_map(&cg_xsks, rx_queue, XDP_PASS)`, which returns
//!   `XDP_PASS` when the queue has no socket.
//!
//! # Limits
//!
//! - Linux 5.18 or later (`xdp.frags` programs, BPF links for XDP);
//!   Debian 12's 6.1 qualifies. Tested on 6.18.
//! - Needs root, or CAP_NET_ADMIN and CAP_BPF (CAP_SYS_ADMIN too to
//!   remove a program left by another process); see
//!   [`XdpError::MissingCapabilities`]. Without XDP the appliance captures
//!   with plain UDP sockets (`media.source = "socket"`).
//! - Attach, detach and [`attached_programs`] act in the calling thread's
//!   network namespace.
//! - Replacing a stale program is detach-then-attach: for that instant
//!   media reaches the kernel stack (where it is dropped or, with
//!   `media.source = "socket"`, received), never lost silently.
//! - Parsed: Ethernet, two VLAN tags (802.1Q, 802.1ad/QinQ), IPv4 with
//!   options (first fragments only; later fragments pass), IPv6 with up to
//!   six hop-by-hop, routing, fragment and destination-options headers.
//!   Anything beyond (a third VLAN tag, AH/ESP, tunnels) is passed, as are
//!   IPv6 jumbograms (UDP length 0, counted malformed).
//! - The program is frags-aware (`xdp.frags`) but reads only the linear
//!   part of a frame; a jumbo media datagram redirected to a socket without
//!   multi-buffer support (`XDP_USE_SG`) is dropped by the kernel. RTP
//!   datagrams are far below 1500 bytes.
//! - One [`XdpProgram`] serves one interface; load one per interface.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod abi;
mod error;
mod port_set;
mod program;
mod sys;

pub use abi::XdpCounters;
pub use error::XdpError;
pub use program::{
    AttachedProgram, Attachment, BPF_OBJECT, XdpMode, XdpProgram, attached_programs, counters_of,
    detach_callguard_programs,
};
