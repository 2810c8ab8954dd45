//! [`AfXdpSource`]: the XDP program, one AF_XDP socket per RX queue, and
//! the [`PacketSource`] they make together.

use std::{
    fmt,
    os::unix::fs::MetadataExt,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use callguard_capture::{CaptureError, PacketBatch, PacketSource, PortControl, SourceCounters, SourceMode};
use callguard_xdp::{XdpCounters, XdpError, XdpMode, XdpProgram};

use crate::{
    config::{AfXdpConfig, BusyPoll, Queues, ZeroCopy},
    error::{AfXdpError, socket_hint, xdp_hint},
    ports::{POLL_SLICE, PortSync},
    queue::{BIND_STEP, BindMode, KernelXskStats, SetupError, XskQueue},
    sys,
};

/// How one RX queue's socket is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct QueueMode {
    /// The RX queue.
    pub queue: u32,
    /// Bound in zero-copy mode (the kernel's `XDP_OPTIONS` says so); else
    /// copy mode.
    pub zero_copy: bool,
}

/// What [`AfXdpSource::open`] got: the XDP mode, the socket bind mode and
/// why, the queues. For the log line at start-up and `callguard status`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModeReport {
    /// The interface.
    pub interface: String,
    /// Its index in the network namespace the source was opened in.
    pub ifindex: u32,
    /// Where the XDP program runs.
    pub xdp_mode: XdpMode,
    /// Why native mode was refused, when it was asked for and the program
    /// fell back to generic mode.
    pub native_error: Option<String>,
    /// Ids of stale callguard programs removed from the interface first.
    pub replaced_programs: Vec<u32>,
    /// How many RX queues the interface has, when that was asked
    /// ([`Queues::All`]).
    pub rx_queues: Option<u32>,
    /// The sockets, one per RX queue read.
    pub queues: Vec<QueueMode>,
    /// Why the sockets are in copy mode when zero-copy was preferred or
    /// not asked for: the driver's refusal, generic XDP, or the setting.
    pub copy_reason: Option<String>,
    /// A caveat about the queues read: the driver did not say how many it
    /// has ([`Queues::All`] then reads queue 0).
    pub queue_note: Option<String>,
    /// Busy polling, when on.
    pub busy_poll: Option<BusyPoll>,
}

impl ModeReport {
    /// Whether every socket is bound in zero-copy mode.
    pub fn zero_copy(&self) -> bool {
        !self.queues.is_empty() && self.queues.iter().all(|q| q.zero_copy)
    }

    /// `zero-copy`, `copy`, or `mixed` (some queues each way).
    pub fn bind_mode(&self) -> &'static str {
        match (self.zero_copy(), self.queues.iter().any(|q| q.zero_copy)) {
            (true, _) => "zero-copy",
            (false, false) => "copy",
            (false, true) => "mixed",
        }
    }
}

impl fmt::Display for ModeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "af_xdp {}: XDP in {} mode", self.interface, self.xdp_mode)?;
        if let Some(e) = &self.native_error {
            write!(f, " (native refused: {e})")?;
        }
        write!(f, ", sockets in {} mode", self.bind_mode())?;
        if let Some(reason) = &self.copy_reason {
            write!(f, " ({reason})")?;
        }
        let queues: Vec<String> = self.queues.iter().map(|q| q.queue.to_string()).collect();
        write!(f, ", RX queue{} {}", if queues.len() == 1 { "" } else { "s" }, queues.join(","))?;
        if let Some(n) = self.rx_queues {
            write!(f, " of {n}")?;
        }
        if let Some(note) = &self.queue_note {
            write!(f, " ({note})")?;
        }
        if let Some(b) = self.busy_poll {
            write!(f, ", busy polling {} us / {} packets", b.usecs, b.budget)?;
        }
        if !self.replaced_programs.is_empty() {
            write!(f, ", replaced stale program(s) {:?}", self.replaced_programs)?;
        }
        Ok(())
    }
}

/// One queue's counters in [`AfXdpStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStats {
    /// The RX queue.
    pub queue: u32,
    /// Frames read from its RX ring.
    pub frames: u64,
    /// The kernel's `XDP_STATISTICS` for its socket (`None` when reading
    /// them failed).
    pub kernel: Option<KernelXskStats>,
    /// RX descriptors pointing outside the UMEM (0 unless the kernel or
    /// driver misbehaves).
    pub invalid_descriptors: u64,
}

/// Everything [`AfXdpSource`] counts beyond [`SourceCounters`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AfXdpStats {
    /// Per RX queue.
    pub queues: Vec<QueueStats>,
    /// The XDP program's counters, summed over CPUs (`None` when reading
    /// the map failed): frames seen, redirected to a socket, passed to the
    /// kernel, malformed, and media with no socket on its queue.
    pub program: Option<XdpCounters>,
    /// Comparisons of the port set with the program's bitmap.
    pub port_sweeps: u64,
    /// Comparisons that found a difference and wrote the bitmap.
    pub port_updates: u64,
}

/// Interfaces (network namespace inode, ifindex) with an open source in
/// this process: a second source on one would replace the first's XDP
/// program (the loader removes any callguard program it finds) before
/// failing to bind the busy queues.
static CLAIMED: Mutex<Vec<(u64, u32)>> = Mutex::new(Vec::new());

struct Claim((u64, u32));

impl Claim {
    fn take(interface: &str, ifindex: u32) -> Result<Self, AfXdpError> {
        let netns = std::fs::metadata("/proc/thread-self/ns/net").map(|m| m.ino()).unwrap_or(0);
        let key = (netns, ifindex);
        let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
        if claimed.contains(&key) {
            return Err(AfXdpError::Config {
                what: format!(
                    "{interface} already has an AF_XDP source in this process: one source serves every queue \
                     of an interface; share its PortControl instead of opening another"
                ),
            });
        }
        claimed.push(key);
        Ok(Self(key))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut claimed = CLAIMED.lock().unwrap_or_else(|e| e.into_inner());
        claimed.retain(|k| *k != self.0);
    }
}

/// Receives media through AF_XDP: the callguard XDP program redirects UDP
/// datagrams to media ports into one AF_XDP socket per RX queue; everything
/// else (SIP, SSH, management, ARP) goes on to the kernel stack untouched.
///
/// Frames are parsed in place in the UMEM with `callguard-packet`, the
/// payloads of datagrams to ports in the set are copied into the batch,
/// and each frame goes straight back to the fill ring. Timestamps are taken
/// in user space, once per burst of up to 64 frames
/// ([`TimestampKind::Userspace`](callguard_capture::TimestampKind)).
///
/// One source reads every queue in turn; [`PacketSource::split`] makes one
/// source per queue instead, for a data-plane thread per queue. The parts
/// share the program and the port set.
///
/// Open it in the network namespace of the interface. Dropping it detaches
/// the program (media then reaches the kernel stack again), closes the
/// sockets and unmaps the UMEMs. After a split the program goes with the
/// last part; the queues of parts dropped before it send their media to the
/// kernel stack meanwhile (counted `no_socket`).
pub struct AfXdpSource {
    // Field order is drop order: the program is detached first (no more
    // redirects), then the sockets close.
    attached: Arc<Attached>,
    queues: Vec<XskQueue>,
    poll_fds: Vec<libc::pollfd>,
    name: String,
    counters: SourceCounters,
    busy_poll: bool,
    next_queue: usize,
}

/// What the parts of a split source share.
struct Attached {
    // Lock order: `ports`, then `program`.
    program: Mutex<XdpProgram>,
    ports: Mutex<PortSync>,
    /// The port set, for the lock-free per-frame check.
    control: PortControl,
    report: ModeReport,
    _claim: Claim,
}

impl fmt::Debug for AfXdpSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfXdpSource")
            .field("name", &self.name)
            .field("ports", &self.attached.control)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl AfXdpSource {
    /// The mode's name in configuration and logs (`media.source =
    /// "af_xdp"`), as [`SourceMode::AfXdp`] names it.
    pub const MODE_NAME: &'static str = "af_xdp";

    /// Loads and attaches the XDP program on `config.interface`, binds one
    /// AF_XDP socket per RX queue, registers them in the program's socket
    /// map and sets its media port set to `ports`.
    ///
    /// Acts in the calling thread's network namespace. Needs CAP_NET_ADMIN,
    /// CAP_BPF and CAP_NET_RAW (root); the error says what is missing and
    /// names the fallback sources when the host cannot do AF_XDP.
    pub fn open(config: &AfXdpConfig, ports: impl IntoIterator<Item = u16>) -> Result<Self, AfXdpError> {
        config.validate()?;
        let interface = config.interface.as_str();
        let control = PortControl::new_filter();
        control.add_all(ports).map_err(|source| AfXdpError::Ports { source })?;

        let xdp_error =
            |source: XdpError| AfXdpError::Xdp { interface: interface.to_owned(), hint: xdp_hint(&source), source };
        let ifindex = nix::net::if_::if_nametoindex(interface)
            .map_err(|_| xdp_error(XdpError::InterfaceNotFound { interface: interface.to_owned() }))?;
        let claim = Claim::take(interface, ifindex)?;

        // Loading checks the capabilities; the queues are counted before
        // anything is attached.
        let mut program = XdpProgram::load().map_err(xdp_error)?;
        let mut queue_note = None;
        let (queue_ids, rx_queues) = match &config.queues {
            Queues::All => match sys::rx_queue_count(interface) {
                Ok(n) => ((0..n.min(callguard_xdp::abi::MAX_QUEUES)).collect::<Vec<u32>>(), Some(n)),
                // No ethtool channels (lo, tun, some virtual devices): they
                // have one RX queue.
                Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                    queue_note = Some(format!(
                        "{interface} does not report its RX queues (ETHTOOL_GCHANNELS unsupported): reading queue 0; \
                         list the queues if it has more"
                    ));
                    (vec![0], None)
                }
                Err(source) => return Err(AfXdpError::Queues { interface: interface.to_owned(), source }),
            },
            Queues::Only(list) => (list.clone(), None),
        };

        let attachment = program.attach(interface, config.xdp_mode).map_err(xdp_error)?;
        let native = attachment.mode == XdpMode::Native;

        let (mut bind, mut copy_reason) = match (config.zero_copy, native) {
            (ZeroCopy::Never, _) => (BindMode::Copy, Some("copy mode configured".to_owned())),
            (ZeroCopy::Require, false) => {
                return Err(AfXdpError::ZeroCopyRefused {
                    interface: interface.to_owned(),
                    queue: queue_ids[0],
                    reason: format!(
                        "the XDP program runs in {} mode, and zero-copy needs native mode",
                        attachment.mode
                    ),
                });
            }
            (ZeroCopy::Prefer, false) => (
                BindMode::Copy,
                Some(format!("the XDP program runs in {} mode, zero-copy needs native mode", attachment.mode)),
            ),
            (_, true) => (BindMode::ZeroCopy, None),
        };

        let socket_error = |queue: u32, e: SetupError| AfXdpError::Socket {
            interface: interface.to_owned(),
            queue,
            step: e.step,
            hint: socket_hint(&e.source),
            source: e.source,
        };
        let mut queues = Vec::with_capacity(queue_ids.len());
        for &queue in &queue_ids {
            let opened = match XskQueue::open(interface, queue, config.frame_size, config.frame_count, bind) {
                Err(e) if bind == BindMode::ZeroCopy && e.step == BIND_STEP => {
                    if config.zero_copy == ZeroCopy::Require {
                        return Err(AfXdpError::ZeroCopyRefused {
                            interface: interface.to_owned(),
                            queue,
                            reason: format!("{}{}", e.source, socket_hint(&e.source)),
                        });
                    }
                    // Refused: copy mode for this and every later queue.
                    copy_reason = Some(format!("zero-copy refused by the driver: {}", e.source));
                    bind = BindMode::Copy;
                    XskQueue::open(interface, queue, config.frame_size, config.frame_count, bind)
                }
                other => other,
            };
            let opened = opened.map_err(|e| socket_error(queue, e))?;
            if let Some(busy) = config.busy_poll {
                sys::set_busy_poll(opened.fd(), busy.usecs, busy.budget).map_err(|source| {
                    socket_error(queue, SetupError { step: "set the busy-poll socket options", source })
                })?;
            }
            program.register_socket(queue, opened.as_fd()).map_err(xdp_error)?;
            queues.push(opened);
        }
        if bind == BindMode::ZeroCopy && queues.iter().any(|q| !q.zero_copy()) {
            copy_reason = Some("the kernel bound some sockets in copy mode".to_owned());
        }

        let mut ports = PortSync::new(control);
        ports.sync_now(&mut program).map_err(xdp_error)?;

        let report = ModeReport {
            interface: interface.to_owned(),
            ifindex,
            xdp_mode: attachment.mode,
            native_error: attachment.native_error.clone(),
            replaced_programs: attachment.replaced.iter().map(|p| p.id).collect(),
            rx_queues,
            queues: queues.iter().map(|q| QueueMode { queue: q.queue(), zero_copy: q.zero_copy() }).collect(),
            copy_reason,
            queue_note,
            busy_poll: config.busy_poll,
        };
        let attached = Attached {
            program: Mutex::new(program),
            control: ports.control().clone(),
            ports: Mutex::new(ports),
            report,
            _claim: claim,
        };
        Ok(Self::reading(Arc::new(attached), queues, config.busy_poll.is_some()))
    }

    /// A source (or a part of a split one) reading `queues`.
    fn reading(attached: Arc<Attached>, queues: Vec<XskQueue>, busy_poll: bool) -> Self {
        let report = &attached.report;
        let part = match queues.as_slice() {
            [only] if report.queues.len() > 1 => format!(" queue {}", only.queue()),
            _ => String::new(),
        };
        let name =
            format!("{} {}{part} ({} XDP, {})", Self::MODE_NAME, report.interface, report.xdp_mode, report.bind_mode());
        let poll_fds = queues.iter().map(|q| libc::pollfd { fd: q.fd(), events: libc::POLLIN, revents: 0 }).collect();
        Self { attached, queues, poll_fds, name, counters: SourceCounters::default(), busy_poll, next_queue: 0 }
    }

    /// What the source got: XDP mode, zero-copy or copy and why, queues.
    pub fn mode_report(&self) -> &ModeReport {
        &self.attached.report
    }

    /// The kernel's counters for the queues this source reads, and the
    /// program's counters for the whole interface.
    pub fn statistics(&self) -> AfXdpStats {
        let (port_sweeps, port_updates) = lock(&self.attached.ports).sweeps_and_updates();
        AfXdpStats {
            queues: self
                .queues
                .iter()
                .map(|q| QueueStats {
                    queue: q.queue(),
                    frames: q.frames(),
                    kernel: q.kernel_stats().ok(),
                    invalid_descriptors: q.invalid_descriptors(),
                })
                .collect(),
            program: self.program().counters().ok(),
            port_sweeps,
            port_updates,
        }
    }

    /// The XDP program (its id, attachment, media port set as written).
    pub fn program(&self) -> MutexGuard<'_, XdpProgram> {
        lock(&self.attached.program)
    }

    fn sync_ports(&mut self) -> Result<(), CaptureError> {
        let mut ports = lock(&self.attached.ports);
        if !ports.moved() {
            return Ok(());
        }
        ports.sync_now(&mut self.program()).map(drop).map_err(|e| CaptureError::Setup {
            source_name: self.name.clone(),
            what: "the XDP media port map (cg_media_ports)".to_owned(),
            source: std::io::Error::other(e),
        })
    }

    /// One pass over every queue, starting after the one that filled the
    /// last batch, so that a busy queue cannot starve the others.
    fn drain_all(&mut self, batch: &mut PacketBatch) {
        let n = self.queues.len();
        for i in 0..n {
            let q = (self.next_queue + i) % n;
            self.queues[q].drain(batch, &self.attached.control, &mut self.counters);
            if batch.is_full() {
                self.next_queue = (q + 1) % n;
                return;
            }
        }
    }
}

impl PacketSource for AfXdpSource {
    fn mode(&self) -> SourceMode {
        SourceMode::AfXdp
    }

    /// `af_xdp <interface> (<native|generic> XDP, <zero-copy|copy>)`.
    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(&mut self, batch: &mut PacketBatch, timeout: Duration) -> Result<usize, CaptureError> {
        batch.clear();
        self.sync_ports()?;
        let start = Instant::now();
        let deadline = start.checked_add(timeout);
        loop {
            self.drain_all(batch);
            if !batch.is_empty() {
                return Ok(batch.len());
            }
            let now = Instant::now();
            let remaining = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(now));
            if remaining.is_zero() {
                return Ok(0);
            }
            if self.busy_poll {
                // The kernel spins on the queues' NAPI contexts for up to
                // SO_BUSY_POLL microseconds per call.
                for queue in &self.queues {
                    if !queue.has_frames() {
                        sys::nudge(queue.fd());
                    }
                }
            } else {
                sys::poll(&mut self.poll_fds, remaining.min(POLL_SLICE))
                    .map_err(|source| CaptureError::Receive { source_name: self.name.clone(), source })?;
            }
            self.sync_ports()?;
        }
    }

    /// `dropped` is the sum over the sockets of the kernel's `rx_dropped`
    /// and `rx_ring_full` (see [`KernelXskStats`]); the rest is counted
    /// here. `received` counts frames read from the RX rings.
    fn counters(&self) -> SourceCounters {
        let mut counters = self.counters;
        counters.dropped =
            self.queues.iter().filter_map(|q| q.kernel_stats().ok()).map(|s: KernelXskStats| s.dropped()).sum();
        counters
    }

    fn ports(&self) -> PortControl {
        self.attached.control.clone()
    }

    /// One source per RX queue, sharing the program and the port set. Split
    /// before reading: the counters so far stay with no part.
    fn split(self: Box<Self>) -> Vec<Box<dyn PacketSource>> {
        if self.queues.len() <= 1 {
            return vec![self];
        }
        let Self { attached, queues, busy_poll, .. } = *self;
        queues
            .into_iter()
            .map(|queue| Box::new(Self::reading(attached.clone(), vec![queue], busy_poll)) as Box<dyn PacketSource>)
            .collect()
    }
}
