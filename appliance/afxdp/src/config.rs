//! Settings of an [`AfXdpSource`](crate::AfXdpSource).

use callguard_xdp::XdpMode;

use crate::error::AfXdpError;

/// Which RX queues of the interface get an AF_XDP socket.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Queues {
    /// Every RX queue the interface has (`ethtool -l`: RX plus combined
    /// channels), asked when the source opens. The default.
    #[default]
    All,
    /// These queues only. Media arriving on any other queue is not
    /// redirected: it reaches the kernel stack and the program counts it
    /// `no_socket`.
    Only(Vec<u32>),
}

/// Whether to bind the sockets in zero-copy mode (the NIC writes frames
/// straight into the UMEM) or copy mode (the kernel copies each frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ZeroCopy {
    /// Ask for zero-copy; when the driver refuses it (no AF_XDP zero-copy
    /// support, or the program runs in generic mode), bind in copy mode
    /// and say why in the [`ModeReport`](crate::ModeReport). The default.
    #[default]
    Prefer,
    /// Zero-copy or fail to open.
    Require,
    /// Copy mode.
    Never,
}

/// Busy polling: the data-plane thread drives the NIC's NAPI context
/// itself instead of waiting for interrupts, trading a core for latency
/// and rate. Needs CAP_NET_ADMIN to raise the values above the system
/// defaults. For full effect also set the interface's
/// `napi_defer_hard_irqs` and `gro_flush_timeout` (see the kernel's
/// `Documentation/networking/napi.rst`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BusyPoll {
    /// `SO_BUSY_POLL`: how long one busy-poll round may spin, in
    /// microseconds.
    pub usecs: u32,
    /// `SO_BUSY_POLL_BUDGET`: packets per busy-poll round.
    pub budget: u16,
}

impl Default for BusyPoll {
    fn default() -> Self {
        Self { usecs: 20, budget: 64 }
    }
}

/// Settings of an [`AfXdpSource`](crate::AfXdpSource).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AfXdpConfig {
    /// The interface media arrives on (`eth1`, `ens1f0`...).
    pub interface: String,
    /// The RX queues to read. Default: all of them.
    pub queues: Queues,
    /// Bytes per UMEM frame: 2048 or 4096 (a power of two from 2048 to the
    /// page size). The kernel keeps 256 bytes of each frame as headroom,
    /// so 2048 holds frames up to 1792 bytes: every RTP datagram on a
    /// 1500-byte MTU. Default 2048.
    pub frame_size: u32,
    /// UMEM frames per queue, a power of two from 64 to 65536; also the
    /// size of each queue's fill and RX rings. Memory per queue is
    /// `frame_size * frame_count`, pinned (default 2048 * 2048 = 4 MiB: on a
    /// 32-queue NIC read whole, 128 MiB). 2048 frames hold about 10 ms of
    /// a 200,000 packet/s queue; raise it for links with longer bursts.
    pub frame_count: u32,
    /// Where to run the XDP program: [`XdpMode::Native`] (default) falls
    /// back to generic mode when the driver lacks XDP;
    /// [`XdpMode::Generic`] asks for generic mode.
    pub xdp_mode: XdpMode,
    /// Zero-copy or copy mode. Default [`ZeroCopy::Prefer`].
    pub zero_copy: ZeroCopy,
    /// Busy polling; `None` (default) sleeps in `poll(2)` while the rings
    /// are empty.
    pub busy_poll: Option<BusyPoll>,
}

impl AfXdpConfig {
    /// The default settings for `interface`.
    pub fn new(interface: impl Into<String>) -> Self {
        Self {
            interface: interface.into(),
            queues: Queues::All,
            frame_size: 2048,
            frame_count: 2048,
            xdp_mode: XdpMode::Native,
            zero_copy: ZeroCopy::Prefer,
            busy_poll: None,
        }
    }

    /// Checks what the kernel would refuse less clearly.
    pub(crate) fn validate(&self) -> Result<(), AfXdpError> {
        let invalid = |what: String| Err(AfXdpError::Config { what });
        if self.interface.is_empty() || self.interface.len() >= libc::IFNAMSIZ || self.interface.contains('\0') {
            return invalid(format!(
                "interface name {:?} is not a valid interface name (1 to {} bytes)",
                self.interface,
                libc::IFNAMSIZ - 1
            ));
        }
        let page = page_size();
        if !self.frame_size.is_power_of_two() || self.frame_size < 2048 || self.frame_size as usize > page {
            return invalid(format!(
                "frame_size {} must be a power of two from 2048 to the page size ({page})",
                self.frame_size
            ));
        }
        if !self.frame_count.is_power_of_two() || !(64..=65536).contains(&self.frame_count) {
            return invalid(format!("frame_count {} must be a power of two from 64 to 65536", self.frame_count));
        }
        if let Queues::Only(queues) = &self.queues {
            if queues.is_empty() {
                return invalid("queues is an empty list: name at least one RX queue, or use all".to_owned());
            }
            let max = callguard_xdp::abi::MAX_QUEUES;
            if let Some(q) = queues.iter().find(|&&q| q >= max) {
                return invalid(format!(
                    "RX queue {q} is out of range: the XDP program serves queues 0 to {}",
                    max - 1
                ));
            }
            let mut sorted = queues.clone();
            sorted.sort_unstable();
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                return invalid(format!("queues {queues:?} names a queue twice"));
            }
        }
        if let Some(busy) = self.busy_poll
            && (busy.usecs == 0 || busy.budget == 0)
        {
            return invalid("busy_poll needs usecs and budget above 0 (or no busy_poll at all)".to_owned());
        }
        Ok(())
    }
}

pub(crate) fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().map_or(4096, |p| p as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        AfXdpConfig::new("eth1").validate().unwrap();
    }

    #[test]
    fn invalid_settings_are_named() {
        let check = |f: &dyn Fn(&mut AfXdpConfig), want: &str| {
            let mut config = AfXdpConfig::new("eth1");
            f(&mut config);
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        };
        check(&|c| c.frame_size = 3000, "frame_size 3000");
        check(&|c| c.frame_size = 1024, "frame_size 1024");
        check(&|c| c.frame_count = 100, "frame_count 100");
        check(&|c| c.frame_count = 32, "frame_count 32");
        check(&|c| c.queues = Queues::Only(vec![]), "empty list");
        check(&|c| c.queues = Queues::Only(vec![300]), "RX queue 300 is out of range");
        check(&|c| c.queues = Queues::Only(vec![1, 0, 1]), "names a queue twice");
        check(&|c| c.interface = "a-very-long-interface-name".into(), "not a valid interface name");
        check(&|c| c.busy_poll = Some(BusyPoll { usecs: 0, budget: 8 }), "busy_poll");
    }
}
