//! Plain UDP sockets, one per media port, read with `recvmmsg` under epoll.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant, SystemTime};

use callguard_packet::UdpPacket;
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::socket::{setsockopt, sockopt};

use crate::batch::{PacketBatch, TimestampKind};
use crate::counters::SourceCounters;
use crate::error::{CaptureError, bind_hint};
use crate::ports::PortControl;
use crate::source::{PacketSource, SourceMode};
use crate::sys::{self, MAX_MESSAGES, RecvMmsg};

/// epoll token of the wake-up eventfd; sockets use their port number.
const WAKE_TOKEN: u64 = u64::MAX;
/// How many datagrams one socket may contribute per round before the others
/// get their turn.
const PER_SOCKET_BURST: usize = MAX_MESSAGES;
/// epoll events taken per wait.
const EVENTS_PER_WAIT: usize = 256;

/// Settings of a [`SocketSource`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketConfig {
    /// Address every port is bound on. `0.0.0.0` (the default) takes IPv4 on
    /// all addresses; `::` takes IPv6 and, unless the host sets
    /// `net.ipv6.bindv6only`, IPv4 too (delivered with IPv4 addresses).
    pub bind_ip: IpAddr,
    /// `SO_RCVBUF` for each socket, in bytes; `None` keeps the system default
    /// (`net.core.rmem_default`). The kernel doubles it and caps it at
    /// `net.core.rmem_max`.
    pub receive_buffer_bytes: Option<usize>,
    /// Ask the kernel to stamp each datagram (`SO_TIMESTAMPNS`); otherwise
    /// the time of the receive call is used.
    pub kernel_timestamps: bool,
}

impl Default for SocketConfig {
    fn default() -> Self {
        Self { bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED), receive_buffer_bytes: None, kernel_timestamps: true }
    }
}

impl SocketConfig {
    /// The default settings, bound on `bind_ip`.
    pub fn new(bind_ip: IpAddr) -> Self {
        Self { bind_ip, ..Self::default() }
    }
}

/// A change for the data plane, in the order the control side made it.
enum Command {
    Add(u16, Arc<UdpSocket>),
    Remove(u16),
}

#[derive(Default)]
struct PortState {
    /// The ports in the set and their sockets.
    live: HashMap<u16, Arc<UdpSocket>>,
    /// Removed ports whose socket the data plane may not have dropped yet;
    /// re-adding one of these reuses its socket instead of failing to bind.
    closing: HashMap<u16, Weak<UdpSocket>>,
}

/// The control side of a [`SocketSource`]'s port set: binds sockets in the
/// caller's thread and hands them to the data plane through a channel,
/// waking it with an eventfd.
pub(crate) struct SocketPorts {
    config: SocketConfig,
    source_name: String,
    state: Mutex<PortState>,
    commands: mpsc::Sender<Command>,
    wake: EventFd,
    /// Bumped after every change; see [`PortControl::generation`].
    generation: AtomicU64,
}

impl SocketPorts {
    fn lock(&self) -> MutexGuard<'_, PortState> {
        // The state is a pair of maps updated in single steps: still
        // consistent if a holder panicked.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hand a change to the data plane; false when the source is gone.
    fn notify(&self, command: Command) -> bool {
        if self.commands.send(command).is_err() {
            return false;
        }
        let _ = self.wake.write(1);
        true
    }

    pub(crate) fn add(&self, port: u16) -> Result<(), CaptureError> {
        let mut state = self.lock();
        if state.live.contains_key(&port) {
            return Ok(());
        }
        let socket = match state.closing.remove(&port).and_then(|w| w.upgrade()) {
            Some(socket) => socket,
            None => Arc::new(self.bind(port)?),
        };
        if !self.notify(Command::Add(port, Arc::clone(&socket))) {
            return Err(CaptureError::Closed { source_name: self.source_name.clone() });
        }
        state.live.insert(port, socket);
        self.generation.fetch_add(1, Ordering::Release);
        Ok(())
    }

    pub(crate) fn remove(&self, port: u16) -> bool {
        let mut state = self.lock();
        let Some(socket) = state.live.remove(&port) else {
            return false;
        };
        state.closing.retain(|_, weak| weak.strong_count() > 0);
        state.closing.insert(port, Arc::downgrade(&socket));
        drop(socket);
        // A closed source has no socket left to stop reading.
        let _ = self.notify(Command::Remove(port));
        self.generation.fetch_add(1, Ordering::Release);
        true
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub(crate) fn contains(&self, port: u16) -> bool {
        self.lock().live.contains_key(&port)
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().live.len()
    }

    pub(crate) fn to_vec(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self.lock().live.keys().copied().collect();
        ports.sort_unstable();
        ports
    }

    fn bind(&self, port: u16) -> Result<UdpSocket, CaptureError> {
        let address = SocketAddr::new(self.config.bind_ip, port);
        let socket = UdpSocket::bind(address).map_err(|source| CaptureError::Bind {
            address,
            hint: bind_hint(&source),
            source,
        })?;
        let setup = |what: &str, result: nix::Result<()>| {
            result.map_err(|errno| CaptureError::Setup {
                source_name: self.source_name.clone(),
                what: format!("{what} on port {port}"),
                source: io::Error::from(errno),
            })
        };
        if self.config.kernel_timestamps {
            setup("SO_TIMESTAMPNS", setsockopt(&socket, sockopt::ReceiveTimestampns, &true))?;
        }
        setup("SO_RXQ_OVFL", setsockopt(&socket, sockopt::RxqOvfl, &1))?;
        // IP_PKTINFO also works on a dual-stack IPv6 socket, for its IPv4 traffic.
        setup("IP_PKTINFO", setsockopt(&socket, sockopt::Ipv4PacketInfo, &true))?;
        if self.config.bind_ip.is_ipv6() {
            setup("IPV6_RECVPKTINFO", setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true))?;
        }
        if let Some(bytes) = self.config.receive_buffer_bytes {
            setup("SO_RCVBUF", setsockopt(&socket, sockopt::RcvBuf, &bytes))?;
        }
        Ok(socket)
    }
}

/// A socket the data plane reads.
struct Bound {
    socket: Arc<UdpSocket>,
    local_ip: IpAddr,
    /// The last `SO_RXQ_OVFL` value seen (cumulative per socket).
    drops_seen: u32,
}

/// Receives media on plain UDP sockets, one per port, unprivileged.
///
/// Each port's socket is bound by the thread that adds the port (see
/// [`PortControl`]) and read by the data-plane thread: one epoll set over
/// all sockets (thousands are fine; each costs a file descriptor, so
/// `LimitNOFILE` must allow them), `recvmmsg` to take up to 64 datagrams
/// per call, `SO_TIMESTAMPNS` for kernel receive times, `IP_PKTINFO` for the
/// destination address, `SO_RXQ_OVFL` for receive-queue drops.
///
/// The kernel has already reassembled fragments and stripped VLAN tags, so
/// packets never carry [`UdpPacket::vlan`] or `first_fragment`.
pub struct SocketSource {
    name: String,
    ports: Arc<SocketPorts>,
    commands: mpsc::Receiver<Command>,
    epoll: Epoll,
    sockets: HashMap<u16, Bound>,
    events: Vec<EpollEvent>,
    recv: RecvMmsg,
    counters: SourceCounters,
}

impl SocketSource {
    /// A source with no port yet; add ports with [`add_port`](Self::add_port)
    /// or through [`PacketSource::ports`].
    pub fn new(config: SocketConfig) -> Result<Self, CaptureError> {
        let name = format!("socket {}", config.bind_ip);
        let setup = |what: &str, errno: Errno| CaptureError::Setup {
            source_name: name.clone(),
            what: what.to_owned(),
            source: io::Error::from(errno),
        };
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).map_err(|e| setup("epoll", e))?;
        let wake = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|e| setup("eventfd", e))?;
        epoll
            .add(&wake, EpollEvent::new(EpollFlags::EPOLLIN, WAKE_TOKEN))
            .map_err(|e| setup("epoll registration of the eventfd", e))?;
        let (sender, commands) = mpsc::channel();
        let ports = Arc::new(SocketPorts {
            config,
            source_name: name.clone(),
            state: Mutex::new(PortState::default()),
            commands: sender,
            wake,
            generation: AtomicU64::new(0),
        });
        Ok(Self {
            name,
            ports,
            commands,
            epoll,
            sockets: HashMap::new(),
            events: vec![EpollEvent::empty(); EVENTS_PER_WAIT],
            recv: RecvMmsg::new(),
            counters: SourceCounters::default(),
        })
    }

    /// A source bound to `ports` from the start.
    pub fn with_ports(config: SocketConfig, ports: impl IntoIterator<Item = u16>) -> Result<Self, CaptureError> {
        let mut source = Self::new(config)?;
        source.ports().add_all(ports)?;
        source.apply_commands()?;
        Ok(source)
    }

    /// Bind `port` and start reading it now (the same as
    /// `self.ports().add(port)`, applied at once).
    pub fn add_port(&mut self, port: u16) -> Result<(), CaptureError> {
        self.ports.add(port)?;
        self.apply_commands()
    }

    /// Stop reading `port` and close its socket; true when it was in the set.
    pub fn remove_port(&mut self, port: u16) -> Result<bool, CaptureError> {
        let removed = self.ports.remove(port);
        self.apply_commands()?;
        Ok(removed)
    }

    fn setup_error(&self, what: String, errno: Errno) -> CaptureError {
        CaptureError::Setup { source_name: self.name.clone(), what, source: io::Error::from(errno) }
    }

    /// Take the control side's changes into the epoll set.
    fn apply_commands(&mut self) -> Result<(), CaptureError> {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                Command::Add(port, socket) => {
                    if let Some(old) = self.sockets.remove(&port) {
                        let _ = self.epoll.delete(old.socket.as_fd());
                    }
                    let event = EpollEvent::new(EpollFlags::EPOLLIN, u64::from(port));
                    self.epoll
                        .add(socket.as_fd(), event)
                        .map_err(|e| self.setup_error(format!("epoll registration of port {port}"), e))?;
                    let local_ip = socket.local_addr().map_or(self.ports.config.bind_ip, |a| a.ip());
                    self.sockets.insert(port, Bound { socket, local_ip: sys::canonical_ip(local_ip), drops_seen: 0 });
                }
                Command::Remove(port) => {
                    if let Some(old) = self.sockets.remove(&port) {
                        let _ = self.epoll.delete(old.socket.as_fd());
                    }
                }
            }
        }
        Ok(())
    }

    /// Read what `port`'s socket holds, up to the burst limit or a full batch.
    fn drain(&mut self, port: u16, batch: &mut PacketBatch) -> Result<(), CaptureError> {
        let Some(bound) = self.sockets.get_mut(&port) else {
            return Ok(()); // removed since epoll reported it
        };
        let mut taken = 0;
        while !batch.is_full() && taken < PER_SOCKET_BURST {
            let base = batch.len();
            let want = (batch.capacity() - base).min(MAX_MESSAGES).min(PER_SOCKET_BURST - taken);
            let received = match self.recv.recv(bound.socket.as_fd(), batch.spare_buffers().take(want)) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(CaptureError::Receive { source_name: format!("{} port {port}", self.name), source });
                }
            };
            let now = SystemTime::now();
            for i in 0..received {
                let datagram = self.recv.datagram(i);
                self.counters.received += 1;
                if let Some(drops) = datagram.drops {
                    self.counters.dropped += u64::from(drops.wrapping_sub(bound.drops_seen));
                    bound.drops_seen = drops;
                }
                if datagram.truncated {
                    self.counters.truncated += 1;
                    continue;
                }
                let unspecified = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
                let src = datagram.src.unwrap_or(unspecified);
                let dst_ip = datagram.dst_ip.unwrap_or(bound.local_ip);
                let dst = SocketAddr::new(dst_ip, port);
                let (timestamp, kind) = match datagram.timestamp {
                    Some(t) => (t, TimestampKind::Kernel),
                    None => (now, TimestampKind::Userspace),
                };
                batch.commit_spare(base + i, UdpPacket::new(src, dst, &[]), datagram.len, timestamp, kind);
                self.counters.delivered += 1;
            }
            taken += received;
            if received < want {
                break; // the socket is empty
            }
        }
        Ok(())
    }
}

impl Drop for SocketSource {
    /// Close every socket, even while [`PortControl`] handles live on.
    fn drop(&mut self) {
        let mut state = self.ports.lock();
        state.live.clear();
        state.closing.clear();
    }
}

/// Milliseconds for epoll, rounded up so a short wait does not spin.
fn epoll_timeout(remaining: Duration) -> EpollTimeout {
    let millis = remaining.as_nanos().div_ceil(1_000_000);
    EpollTimeout::try_from(millis.min(i32::MAX as u128)).unwrap_or(EpollTimeout::MAX)
}

impl PacketSource for SocketSource {
    fn mode(&self) -> SourceMode {
        SourceMode::Socket
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(&mut self, batch: &mut PacketBatch, timeout: Duration) -> Result<usize, CaptureError> {
        batch.clear();
        self.apply_commands()?;
        let deadline = Instant::now().checked_add(timeout);
        loop {
            let remaining = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(Instant::now()));
            let ready = match self.epoll.wait(&mut self.events, epoll_timeout(remaining)) {
                Ok(n) => n,
                Err(Errno::EINTR) => 0,
                Err(e) => return Err(self.setup_error("epoll wait".to_owned(), e)),
            };
            for i in 0..ready {
                let token = self.events[i].data();
                if token == WAKE_TOKEN {
                    let _ = self.ports.wake.read();
                    self.apply_commands()?;
                } else if let Ok(port) = u16::try_from(token) {
                    self.drain(port, batch)?;
                }
                if batch.is_full() {
                    break;
                }
            }
            if !batch.is_empty() || remaining.is_zero() {
                return Ok(batch.len());
            }
        }
    }

    fn counters(&self) -> SourceCounters {
        self.counters
    }

    fn ports(&self) -> PortControl {
        PortControl::sockets(Arc::clone(&self.ports))
    }

    fn split(self: Box<Self>) -> Vec<Box<dyn PacketSource>> {
        vec![self]
    }
}
