//! Errors of the XDP loader, worded for the technician who reads them.

use std::io;

/// What went wrong loading, attaching or feeding the XDP program.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XdpError {
    /// The process lacks the capabilities BPF and XDP need.
    #[error(
        "XDP needs CAP_NET_ADMIN and CAP_BPF (and CAP_SYS_ADMIN to replace a program left \
         by another process); this process lacks {missing}: run as root or grant the \
         capabilities (systemd: AmbientCapabilities=CAP_NET_ADMIN CAP_BPF CAP_SYS_ADMIN); or \
         set media.source = \"socket\" to capture with plain UDP sockets"
    )]
    MissingCapabilities {
        /// The capabilities missing, or what the kernel refused.
        missing: String,
    },

    /// The kernel was built without the `bpf()` system call.
    #[error(
        "this kernel has no BPF support (the bpf() system call is missing: \
         CONFIG_BPF_SYSCALL is off), so XDP capture is impossible on it; set \
         media.source = \"socket\" to capture with plain UDP sockets"
    )]
    KernelLacksBpf,

    /// The kernel refused the embedded BPF object (verifier, map creation).
    #[error(
        "the kernel refused to load the callguard XDP program: {source}. XDP with AF_XDP \
         needs Linux 5.18 or later built with CONFIG_BPF_SYSCALL and CONFIG_XDP_SOCKETS; \
         otherwise set media.source = \"socket\""
    )]
    Load {
        /// aya's error; for a verifier rejection it carries the verifier log.
        #[source]
        source: Box<aya::EbpfError>,
    },

    /// The embedded object lacks a program or map the crate expects.
    #[error(
        "the embedded BPF object has no {what}: kernel-bpf/src/callguard_xdp.c and the \
         callguard-xdp crate disagree; rebuild both from one revision"
    )]
    ObjectMismatch {
        /// The missing program or map.
        what: String,
    },

    /// There is no interface of that name in this network namespace.
    #[error(
        "network interface {interface:?} does not exist in this network namespace: check \
         the media interface in the configuration (`ip link` lists the interfaces)"
    )]
    InterfaceNotFound {
        /// The name asked for.
        interface: String,
    },

    /// The interface accepted XDP in no mode that was tried.
    #[error(
        "interface {interface} refused XDP{native}, and in generic (skb) mode: {source}. \
         The driver or kernel lacks XDP for this device; set media.source = \"socket\""
    , native = native_error.as_ref().map(|e| format!(" in native (driver) mode ({e})")).unwrap_or_default())]
    AttachFailed {
        /// The interface.
        interface: String,
        /// Why native mode failed, when it was tried.
        native_error: Option<String>,
        /// Why generic mode failed.
        #[source]
        source: Box<aya::programs::ProgramError>,
    },

    /// Another (not callguard) XDP program runs on the interface.
    #[error(
        "interface {interface} already runs XDP program {name:?} (id {id}, {mode} mode), \
         which is not callguard's; callguard will not remove it. Remove it yourself \
         (`ip link set dev {interface} xdp off`, or stop the tool that attached it) or \
         capture on another interface"
    )]
    ForeignProgram {
        /// The interface.
        interface: String,
        /// The kernel's id of that program.
        id: u32,
        /// Its name as the kernel reports it.
        name: String,
        /// `native`, `generic` or `offload`.
        mode: &'static str,
    },

    /// A callguard program left on the interface could not be removed.
    #[error(
        "could not remove the callguard XDP program (id {id}) that an earlier run left on \
         {interface}: {source}; remove it with `ip link set dev {interface} xdp off`"
    )]
    StaleProgram {
        /// The interface.
        interface: String,
        /// The kernel's id of the stale program.
        id: u32,
        /// Why removing it failed.
        #[source]
        source: io::Error,
    },

    /// Asking the kernel which XDP program an interface runs failed.
    #[error("could not ask the kernel which XDP program {interface} runs: {source}")]
    Query {
        /// The interface.
        interface: String,
        /// The rtnetlink or bpf() error.
        #[source]
        source: io::Error,
    },

    /// Detaching the program failed.
    #[error("could not detach the callguard XDP program from {interface}: {source}")]
    Detach {
        /// The interface.
        interface: String,
        /// aya's error.
        #[source]
        source: Box<aya::programs::ProgramError>,
    },

    /// Reading or writing one of the program's maps failed.
    #[error("BPF map {map}: {operation} failed: {source}")]
    Map {
        /// The map (`cg_media_ports`, `cg_xsks`, `cg_counters`).
        map: &'static str,
        /// What was being done.
        operation: String,
        /// aya's error.
        #[source]
        source: Box<aya::maps::MapError>,
    },

    /// The RX queue has no slot in `cg_xsks`.
    #[error("RX queue {queue} is out of range: the XSKMAP holds queues 0 to {max}")]
    QueueOutOfRange {
        /// The queue asked for.
        queue: u32,
        /// The highest queue that can have a socket.
        max: u32,
    },
}
