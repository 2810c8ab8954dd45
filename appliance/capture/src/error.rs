//! Errors of the capture sources, written for the technician who reads the log.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a source could not be opened, configured or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The AF_PACKET socket could not be opened or bound.
    #[error("cannot open AF_PACKET on {interface}: {source}{hint}")]
    OpenAfPacket {
        /// The interface name.
        interface: String,
        /// The OS error.
        #[source]
        source: io::Error,
        /// What to do about it (starts with " — ", or is empty).
        hint: &'static str,
    },
    /// No network interface has the configured name.
    #[error("cannot open AF_PACKET on {interface}: no such interface (present: {present})")]
    NoSuchInterface {
        /// The interface name asked for.
        interface: String,
        /// The interfaces that exist, comma-separated.
        present: String,
    },
    /// A UDP port could not be bound.
    #[error("cannot bind UDP port {address}: {source}{hint}")]
    Bind {
        /// The address and port.
        address: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
        /// What to do about it (starts with " — ", or is empty).
        hint: &'static str,
    },
    /// A socket option or the poller could not be set up.
    #[error("cannot set up {what} for {source_name}: {source}")]
    Setup {
        /// The source, as in [`PacketSource::name`](crate::PacketSource::name).
        source_name: String,
        /// What was being set up ("SO_TIMESTAMPNS on port 20000", "epoll"...).
        what: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The source behind a [`PortControl`](crate::PortControl) has been dropped.
    #[error("cannot change the ports of {source_name}: the source is closed")]
    Closed {
        /// The source, as in [`PacketSource::name`](crate::PacketSource::name).
        source_name: String,
    },
    /// Port 0 cannot be captured (it means "any port" to `bind`).
    #[error("UDP port 0 cannot be captured: media ports are 1 to 65535")]
    PortZero,
    /// Receiving failed in a way that retrying will not fix.
    #[error("receive failed on {source_name}: {source}")]
    Receive {
        /// The source, as in [`PacketSource::name`](crate::PacketSource::name).
        source_name: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A capture file could not be opened.
    #[error("cannot open capture file {path}: {source}")]
    OpenFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A capture file is not pcap or pcapng, or is damaged.
    #[error("cannot read capture file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// What the pcap reader found.
        #[source]
        source: pcap_file::PcapError,
    },
    /// A capture file's link type is not one the parser knows.
    #[error(
        "capture file {path}: link type {linktype} is not supported \
         (use Ethernet, raw IP or Linux cooked captures: tcpdump -i <interface> or -i any)"
    )]
    UnsupportedLinkType {
        /// The file.
        path: PathBuf,
        /// The pcap LINKTYPE number.
        linktype: u32,
    },
    /// A replayed file has no more packets. Not a failure: the end of a
    /// finite source.
    #[error("end of capture: {source_name} has no more packets")]
    EndOfCapture {
        /// The source, as in [`PacketSource::name`](crate::PacketSource::name).
        source_name: String,
    },
}

impl CaptureError {
    /// True for [`CaptureError::EndOfCapture`].
    pub fn is_end_of_capture(&self) -> bool {
        matches!(self, Self::EndOfCapture { .. })
    }
}

/// The advice to append to an OS error when opening AF_PACKET.
pub(crate) fn af_packet_hint(error: &io::Error) -> &'static str {
    match error.raw_os_error() {
        Some(libc::EPERM | libc::EACCES) => {
            " — needs CAP_NET_RAW (run as root or grant the capability); or use media.source = \"socket\""
        }
        Some(libc::ENODEV | libc::ENXIO) => " — the interface is gone or not up",
        _ => "",
    }
}

/// The advice to append to an OS error when binding a UDP port.
pub(crate) fn bind_hint(error: &io::Error) -> &'static str {
    match error.raw_os_error() {
        Some(libc::EADDRINUSE) => " — another process (or another source) holds this port: check with `ss -ulpn`",
        Some(libc::EACCES) => " — ports below 1024 need CAP_NET_BIND_SERVICE",
        Some(libc::EADDRNOTAVAIL) => " — the bind address is not configured on this host",
        Some(libc::EMFILE | libc::ENFILE) => {
            " — too many open files: raise LimitNOFILE (one descriptor per media port)"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn af_packet_permission_error_says_what_to_do() {
        let source = io::Error::from_raw_os_error(libc::EPERM);
        let err = CaptureError::OpenAfPacket { interface: "veth0".to_owned(), hint: af_packet_hint(&source), source };
        assert_eq!(
            err.to_string(),
            "cannot open AF_PACKET on veth0: Operation not permitted (os error 1) — needs \
             CAP_NET_RAW (run as root or grant the capability); or use media.source = \"socket\""
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn bind_hints() {
        let hint = |errno| bind_hint(&io::Error::from_raw_os_error(errno));
        assert!(hint(libc::EMFILE).contains("LimitNOFILE"));
        assert!(hint(libc::EACCES).contains("CAP_NET_BIND_SERVICE"));
        assert_eq!(hint(libc::EINVAL), "");
    }
}
