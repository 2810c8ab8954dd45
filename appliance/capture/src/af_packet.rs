//! AF_PACKET capture on one interface, through `pnet`'s datalink channel.

use std::io;
use std::os::fd::{AsFd, IntoRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use callguard_packet::parse_ethernet;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, setsockopt, socket, sockopt};
use pnet_datalink::{Channel, DataLinkReceiver};

use crate::batch::{PacketBatch, TimestampKind};
use crate::counters::SourceCounters;
use crate::error::{CaptureError, af_packet_hint};
use crate::ports::{PortBitmap, PortControl};
use crate::source::{PacketSource, SourceMode};
use crate::sys;

/// Settings of an [`AfPacketSource`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AfPacketConfig {
    /// The interface to capture on (`eth1`, `veth0`...).
    pub interface: String,
    /// Put the interface in promiscuous mode (for a mirror/SPAN port);
    /// default off: only frames addressed to the host.
    pub promiscuous: bool,
    /// Largest frame read whole, in bytes; longer frames are cut and
    /// counted as truncated. Default 65,536 (jumbo frames and GRO'd
    /// packets fit).
    pub frame_buffer_bytes: usize,
    /// `SO_RCVBUF` in bytes; `None` keeps the system default.
    pub receive_buffer_bytes: Option<usize>,
    /// Skip frames the host itself sends (`PACKET_IGNORE_OUTGOING`); default on.
    pub ignore_outgoing: bool,
}

impl AfPacketConfig {
    /// The default settings for `interface`.
    pub fn new(interface: impl Into<String>) -> Self {
        Self {
            interface: interface.into(),
            promiscuous: false,
            frame_buffer_bytes: 65_536,
            receive_buffer_bytes: None,
            ignore_outgoing: true,
        }
    }
}

/// Captures Ethernet frames on one interface with an AF_PACKET socket
/// (`pnet` datalink channel) and keeps the UDP datagrams to ports in the
/// set, filtered in user space with `callguard-packet`.
///
/// Needs `CAP_NET_RAW`. The kernel still handles the same packets: with no
/// socket bound to a media port, the host answers each datagram with ICMP
/// port-unreachable unless a firewall rule drops it. Timestamps are taken in
/// user space when each frame is read. The NIC or kernel usually strips VLAN
/// tags before AF_PACKET sees them (pnet does not expose `PACKET_AUXDATA`),
/// so `vlan` is mostly `None`. Frames are copied once from the socket into
/// pnet's buffer and the payload once more into the batch: a diagnostic and
/// fallback path, not the fast one (that is AF_XDP).
pub struct AfPacketSource {
    name: String,
    receiver: Box<dyn DataLinkReceiver>,
    /// A duplicate of pnet's socket descriptor, for poll and statistics.
    socket: OwnedFd,
    ports: Arc<PortBitmap>,
    counters: SourceCounters,
}

impl AfPacketSource {
    /// Open AF_PACKET on `config.interface`, delivering datagrams to `ports`.
    pub fn open(config: &AfPacketConfig, ports: impl IntoIterator<Item = u16>) -> Result<Self, CaptureError> {
        let name = &config.interface;
        let open_error = |source: io::Error| CaptureError::OpenAfPacket {
            interface: name.clone(),
            hint: af_packet_hint(&source),
            source,
        };
        let interfaces = pnet_datalink::interfaces();
        let Some(interface) = interfaces.iter().find(|i| &i.name == name) else {
            let present: Vec<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
            return Err(CaptureError::NoSuchInterface { interface: name.clone(), present: present.join(", ") });
        };
        // Protocol 0: the socket sees nothing until pnet binds it to the
        // interface with ETH_P_ALL, so no frame of another interface slips in.
        let owned = socket(AddressFamily::Packet, SockType::Raw, SockFlag::SOCK_CLOEXEC, None)
            .map_err(|e| open_error(e.into()))?;
        let socket = owned.try_clone().map_err(open_error)?;
        if config.ignore_outgoing {
            sys::packet_ignore_outgoing(socket.as_fd()).map_err(open_error)?;
        }
        if let Some(bytes) = config.receive_buffer_bytes {
            setsockopt(&socket, sockopt::RcvBuf, &bytes).map_err(|e| open_error(e.into()))?;
        }
        let pnet_config = pnet_datalink::Config {
            read_buffer_size: config.frame_buffer_bytes.max(64),
            write_buffer_size: 0,
            // Zero: pnet's `next` only checks; waiting is done here with poll
            // so that each call can have its own timeout.
            read_timeout: Some(Duration::ZERO),
            promiscuous: config.promiscuous,
            // pnet takes ownership of this descriptor (binds it, closes it).
            socket_fd: Some(owned.into_raw_fd()),
            ..pnet_datalink::Config::default()
        };
        let receiver = match pnet_datalink::channel(interface, pnet_config) {
            Ok(Channel::Ethernet(_sender, receiver)) => receiver,
            Ok(_) => {
                return Err(open_error(io::Error::other("pnet returned a non-Ethernet channel")));
            }
            Err(e) => return Err(open_error(e)),
        };
        let bitmap = Arc::new(PortBitmap::new());
        PortControl::filter(Arc::clone(&bitmap)).add_all(ports)?;
        Ok(Self {
            name: format!("af_packet {name}"),
            receiver,
            socket,
            ports: bitmap,
            counters: SourceCounters::default(),
        })
    }

    /// Take every frame queued now, up to a full batch.
    fn drain(&mut self, batch: &mut PacketBatch) -> Result<(), CaptureError> {
        while !batch.is_full() {
            let frame = match self.receiver.next() {
                Ok(frame) => frame,
                Err(e) if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => {
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(CaptureError::Receive { source_name: self.name.clone(), source });
                }
            };
            let now = SystemTime::now();
            self.counters.received += 1;
            let packet = match parse_ethernet(frame) {
                Ok(packet) => packet,
                Err(e) => {
                    self.counters.parse_errors.record(e.kind());
                    continue;
                }
            };
            if !self.ports.contains(packet.dst.port()) {
                self.counters.filtered += 1;
                continue;
            }
            match batch.push(&packet, now, TimestampKind::Userspace) {
                Ok(()) => self.counters.delivered += 1,
                Err(_) => self.counters.truncated += 1,
            }
        }
        Ok(())
    }

    fn update_drops(&mut self) {
        // Reading resets the kernel's counters, so each read is a delta.
        if let Ok((_, drops)) = sys::packet_statistics(self.socket.as_fd()) {
            self.counters.dropped += u64::from(drops);
        }
    }
}

impl PacketSource for AfPacketSource {
    fn mode(&self) -> SourceMode {
        SourceMode::AfPacket
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(&mut self, batch: &mut PacketBatch, timeout: Duration) -> Result<usize, CaptureError> {
        batch.clear();
        let deadline = Instant::now().checked_add(timeout);
        loop {
            self.drain(batch)?;
            let remaining = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(Instant::now()));
            if !batch.is_empty() || remaining.is_zero() {
                self.update_drops();
                return Ok(batch.len());
            }
            let millis = remaining.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128);
            let timeout = PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(self.socket.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => {
                    return Err(CaptureError::Receive { source_name: self.name.clone(), source: e.into() });
                }
            }
        }
    }

    fn counters(&self) -> SourceCounters {
        self.counters
    }

    fn ports(&self) -> PortControl {
        PortControl::filter(Arc::clone(&self.ports))
    }

    fn split(self: Box<Self>) -> Vec<Box<dyn PacketSource>> {
        vec![self]
    }
}
