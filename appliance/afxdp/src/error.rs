//! Errors of the AF_XDP source, worded for the technician who reads them.

use std::io;

use callguard_capture::CaptureError;
use callguard_xdp::XdpError;

/// The advice that ends every "this host cannot do AF_XDP" message.
macro_rules! fallback {
    () => {
        "use media.source = \"socket\" or \"af_packet\" instead"
    };
}

#[cfg(test)]
const FALLBACK: &str = fallback!();

/// Why an [`AfXdpSource`](crate::AfXdpSource) could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AfXdpError {
    /// A setting is out of range.
    #[error("invalid AF_XDP configuration: {what}")]
    Config {
        /// What is wrong, naming the setting.
        what: String,
    },

    /// The initial port set was refused (port 0).
    #[error("invalid AF_XDP port set: {source}")]
    Ports {
        /// The port control's error.
        #[source]
        source: CaptureError,
    },

    /// The XDP program could not be loaded, attached or fed.
    #[error("cannot steer media into AF_XDP on {interface}: {source}{hint}")]
    Xdp {
        /// The interface.
        interface: String,
        /// The loader's error (it names the missing capability, the kernel
        /// or the driver that refused).
        #[source]
        source: XdpError,
        /// What to do about it (starts with "; ", or is empty).
        hint: &'static str,
    },

    /// The RX queues of the interface could not be counted.
    #[error(
        "cannot count the RX queues of {interface} (ETHTOOL_GCHANNELS): {source}; list the queues to read \
         in the configuration instead of all"
    )]
    Queues {
        /// The interface.
        interface: String,
        /// The ioctl's error.
        #[source]
        source: io::Error,
    },

    /// A step of setting up the AF_XDP socket of one RX queue failed.
    #[error("cannot {step} on {interface} RX queue {queue}: {source}{hint}")]
    Socket {
        /// The interface.
        interface: String,
        /// The RX queue.
        queue: u32,
        /// What was being done ("create the AF_XDP socket", "bind the socket"...).
        step: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
        /// What to do about it (starts with " — ", or is empty).
        hint: &'static str,
    },

    /// [`ZeroCopy::Require`](crate::ZeroCopy::Require) and the driver or
    /// the XDP mode refused zero-copy.
    #[error(
        "AF_XDP zero-copy was required on {interface} RX queue {queue} but is not available: {reason}; \
         set zero_copy to prefer (copy mode when refused) or use a NIC whose driver supports AF_XDP zero-copy"
    )]
    ZeroCopyRefused {
        /// The interface.
        interface: String,
        /// The RX queue.
        queue: u32,
        /// Why (the kernel's error, or the XDP mode).
        reason: String,
    },
}

/// The hint for an XDP loader error: the fallback sources, where the host
/// (kernel, privileges, driver) lacks XDP.
pub(crate) fn xdp_hint(error: &XdpError) -> &'static str {
    match error {
        XdpError::MissingCapabilities { .. }
        | XdpError::KernelLacksBpf
        | XdpError::Load { .. }
        | XdpError::AttachFailed { .. } => concat!("; AF_XDP is not available here: ", fallback!()),
        _ => "",
    }
}

/// The hint for an OS error while setting up an AF_XDP socket.
pub(crate) fn socket_hint(error: &io::Error) -> &'static str {
    match error.raw_os_error() {
        Some(libc::EAFNOSUPPORT) => {
            concat!(
                " — this kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS is off, or Linux before 4.18): ",
                fallback!()
            )
        }
        Some(libc::EPERM | libc::EACCES) => {
            concat!(
                " — AF_XDP sockets need CAP_NET_RAW (and the XDP program CAP_NET_ADMIN and CAP_BPF): run as root \
                 or grant the capabilities; or ",
                fallback!()
            )
        }
        Some(libc::EBUSY) => {
            " — another AF_XDP socket is bound to this queue (another callguard, or another XDP tool): stop it"
        }
        Some(libc::EINVAL) => {
            " — the queue may not exist on this interface (`ethtool -l` lists the channels), or the kernel \
             refused the frame size"
        }
        Some(libc::EOPNOTSUPP) => concat!(" — the driver does not support AF_XDP in this mode: ", fallback!()),
        Some(libc::ENOMEM | libc::ENOBUFS) => {
            " — the UMEM could not be pinned: lower frame_count, or raise the locked-memory limit \
             (systemd: LimitMEMLOCK=) or grant CAP_IPC_LOCK"
        }
        Some(libc::ENODEV | libc::ENXIO) => " — the interface is gone",
        _ => "",
    }
}

/// An `xdpilone` error as an `io::Error` (xdpilone reports some errnos
/// negated).
pub(crate) fn errno(error: &xdpilone::Errno) -> io::Error {
    io::Error::from_raw_os_error(error.get_raw().abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_af_xdp_names_the_fallbacks() {
        let source = io::Error::from_raw_os_error(libc::EAFNOSUPPORT);
        let err = AfXdpError::Socket {
            interface: "eth1".into(),
            queue: 0,
            step: "create the AF_XDP socket",
            hint: socket_hint(&source),
            source,
        };
        let text = err.to_string();
        assert!(text.starts_with("cannot create the AF_XDP socket on eth1 RX queue 0: "), "{text}");
        assert!(text.contains("CONFIG_XDP_SOCKETS"), "{text}");
        assert!(text.ends_with(FALLBACK), "{text}");
    }

    #[test]
    fn missing_privileges_name_the_fallbacks() {
        let err = AfXdpError::Xdp {
            interface: "eth1".into(),
            hint: xdp_hint(&XdpError::KernelLacksBpf),
            source: XdpError::KernelLacksBpf,
        };
        let text = err.to_string();
        assert!(text.ends_with(FALLBACK), "{text}");
        let eperm = io::Error::from_raw_os_error(libc::EPERM);
        assert!(socket_hint(&eperm).contains("CAP_NET_RAW") && socket_hint(&eperm).ends_with(FALLBACK));
    }
}
