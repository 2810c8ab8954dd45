//! One AF_XDP socket bound to one RX queue, with its own UMEM, fill,
//! completion and RX rings (through `xdpilone`), and the per-frame path:
//! read a descriptor, parse the frame in place, copy the payload into the
//! batch, give the frame back to the fill ring.

use std::{
    ffi::CString,
    io,
    num::NonZeroU32,
    os::fd::{BorrowedFd, RawFd},
    time::SystemTime,
};

use callguard_capture::{PacketBatch, PortControl, SourceCounters, TimestampKind};
use callguard_packet::parse_ethernet;
use xdpilone::{DeviceQueue, IfInfo, RingRx, Socket, SocketConfig, Umem, UmemConfig, xdp::XdpStatisticsV2};

use crate::{error::errno, sys};

/// Descriptors taken from an RX ring per read: the fill ring is refilled
/// after each read of up to this many.
const RX_BURST: u32 = 64;

/// Entries of the completion ring. The sockets never transmit, but the
/// kernel wants the ring to exist, a power of two.
const COMPLETION_SIZE: u32 = 64;

/// `xdpilone`'s bind flags.
const BIND_COPY: u16 = SocketConfig::XDP_BIND_COPY;
const BIND_ZEROCOPY: u16 = SocketConfig::XDP_BIND_ZEROCOPY;
const BIND_NEED_WAKEUP: u16 = SocketConfig::XDP_BIND_NEED_WAKEUP;

/// The step name of the bind, the one step zero-copy can fail.
pub(crate) const BIND_STEP: &str = "bind the AF_XDP socket";

/// How to bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BindMode {
    ZeroCopy,
    Copy,
}

/// Where setting up a queue failed, with the OS error.
#[derive(Debug)]
pub(crate) struct SetupError {
    pub(crate) step: &'static str,
    pub(crate) source: io::Error,
}

fn step(step: &'static str) -> impl FnOnce(io::Error) -> SetupError {
    move |source| SetupError { step, source }
}

fn xsk_step(name: &'static str) -> impl FnOnce(xdpilone::Errno) -> SetupError {
    move |e| SetupError { step: name, source: errno(&e) }
}

/// The kernel's per-socket counters (`XDP_STATISTICS`), absolute since the
/// socket was bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KernelXskStats {
    /// Frames dropped for another reason than a full RX ring: in copy mode
    /// chiefly because the fill ring was empty (no free frame), also
    /// frames larger than a UMEM frame.
    pub rx_dropped: u64,
    /// Frames dropped because the RX ring was full (the data plane did not
    /// keep up).
    pub rx_ring_full: u64,
    /// Times the kernel found the fill ring empty (in copy mode each of
    /// them is also an `rx_dropped`; in zero-copy mode the NIC drops).
    pub rx_fill_ring_empty: u64,
    /// Fill descriptors the kernel refused as invalid (a bug if not 0).
    pub rx_invalid_descs: u64,
}

impl KernelXskStats {
    fn from_kernel(stats: &XdpStatisticsV2) -> Self {
        Self {
            rx_dropped: stats.rx_dropped,
            rx_ring_full: stats.rx_ring_full,
            rx_fill_ring_empty: stats.rx_fill_ring_empty_descs,
            rx_invalid_descs: stats.rx_invalid_descs,
        }
    }

    /// Frames that reached the socket and were lost: `rx_dropped +
    /// rx_ring_full` (the fill-ring-empty count overlaps `rx_dropped`).
    pub fn dropped(&self) -> u64 {
        self.rx_dropped + self.rx_ring_full
    }
}

/// One bound AF_XDP socket and its UMEM.
///
/// Field order is drop order: the rings and the socket (whose last
/// descriptor `device` holds) go before the UMEM mapping they point into.
pub(crate) struct XskQueue {
    queue: u32,
    rx: RingRx,
    device: DeviceQueue,
    fd: RawFd,
    zero_copy: bool,
    /// Frame addresses read from the RX ring and not yet back on the fill
    /// ring. Capacity `frame_count`, allocated once: a frame is in here at
    /// most once, so it never grows.
    pending_fill: Vec<u64>,
    frame_mask: u64,
    /// Frames read from this queue's RX ring.
    frames: u64,
    /// RX descriptors that pointed outside the UMEM (never seen; a kernel
    /// or driver bug if so).
    invalid_descriptors: u64,
    area: sys::Mapping,
}

impl XskQueue {
    /// Creates the UMEM, the socket and its rings for RX `queue` of
    /// `interface` (in the calling thread's network namespace), binds it,
    /// and puts every frame on the fill ring.
    #[allow(unsafe_code)]
    pub(crate) fn open(
        interface: &str,
        queue: u32,
        frame_size: u32,
        frame_count: u32,
        mode: BindMode,
    ) -> Result<Self, SetupError> {
        let area = sys::Mapping::new(frame_size as usize * frame_count as usize).map_err(step("map the UMEM"))?;
        let config =
            UmemConfig { fill_size: frame_count, complete_size: COMPLETION_SIZE, frame_size, headroom: 0, flags: 0 };
        // SAFETY: the area is a fresh page-aligned anonymous mapping of
        // `frame_size * frame_count` bytes (a whole number of frames, far
        // below i64::MAX). It outlives every kernel and user access through
        // the UMEM: `Umem` itself is dropped at the end of this function,
        // and `XskQueue` drops the rings and the socket (the kernel's last
        // reference to the UMEM) before `area`.
        let umem = unsafe { Umem::new(config, area.as_slice_ptr()) }.map_err(xsk_step("create the AF_XDP socket"))?;

        let name = CString::new(interface).map_err(|_| SetupError {
            step: "name the interface",
            source: io::Error::from_raw_os_error(libc::EINVAL),
        })?;
        let mut info = IfInfo::invalid();
        info.from_name(&name).map_err(xsk_step("find the interface"))?;
        info.set_queue(queue);

        let socket = Socket::with_shared(&info, &umem).map_err(xsk_step("create the AF_XDP socket"))?;
        let fd = socket.as_raw_fd();
        sys::set_cloexec(fd).map_err(step("set FD_CLOEXEC on the AF_XDP socket"))?;
        let mut device = umem.fq_cq(&socket).map_err(xsk_step("create the fill and completion rings"))?;
        let bind_flags = BIND_NEED_WAKEUP
            | match mode {
                BindMode::ZeroCopy => BIND_ZEROCOPY,
                BindMode::Copy => BIND_COPY,
            };
        let user = umem
            .rx_tx(&socket, &SocketConfig { rx_size: NonZeroU32::new(frame_count), tx_size: None, bind_flags })
            .map_err(xsk_step("create the RX ring"))?;
        let rx = user.map_rx().map_err(xsk_step("map the RX ring"))?;
        umem.bind(&user).map_err(xsk_step(BIND_STEP))?;
        let zero_copy = sys::is_zero_copy(fd).map_err(step("read the socket's XDP_OPTIONS"))?;

        // Every frame to the kernel.
        let mut writer = device.fill(frame_count);
        let filled = writer.insert((0..u64::from(frame_count)).map(|i| i * u64::from(frame_size)));
        writer.commit();
        drop(writer);
        if filled != frame_count {
            return Err(SetupError {
                step: "fill the fill ring",
                source: io::Error::other(format!("only {filled} of {frame_count} frames fit")),
            });
        }
        Ok(Self {
            queue,
            rx,
            device,
            fd,
            zero_copy,
            pending_fill: Vec::with_capacity(frame_count as usize),
            frame_mask: !(u64::from(frame_size) - 1),
            frames: 0,
            invalid_descriptors: 0,
            area,
        })
    }

    pub(crate) fn queue(&self) -> u32 {
        self.queue
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.fd
    }

    /// The socket, for the XSKMAP.
    #[allow(unsafe_code)]
    pub(crate) fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: `fd` is the socket that `rx` and `device` hold open (they
        // own clones of xdpilone's descriptor), and they live as long as
        // `self`, which the returned borrow cannot outlive.
        unsafe { BorrowedFd::borrow_raw(self.fd) }
    }

    pub(crate) fn zero_copy(&self) -> bool {
        self.zero_copy
    }

    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    pub(crate) fn invalid_descriptors(&self) -> u64 {
        self.invalid_descriptors
    }

    /// Whether the RX ring holds frames (a relaxed look, no barrier).
    pub(crate) fn has_frames(&self) -> bool {
        self.rx.available() > 0
    }

    /// The kernel's counters for this socket.
    pub(crate) fn kernel_stats(&self) -> io::Result<KernelXskStats> {
        self.device.statistics_v2().map(|s| KernelXskStats::from_kernel(&s)).map_err(|e| errno(&e))
    }

    /// The bytes of the frame `(addr, len)` from the RX ring, when they lie
    /// inside the UMEM.
    ///
    /// # Safety
    ///
    /// The frame must have been read from this queue's RX ring (after
    /// `xdpilone`'s acquire barrier) and not yet been given back to the
    /// fill ring: until then the kernel does not write to it.
    #[allow(unsafe_code)]
    unsafe fn frame(area: &sys::Mapping, addr: u64, len: u32) -> Option<&[u8]> {
        let start = usize::try_from(addr).ok()?;
        let end = start.checked_add(len as usize)?;
        if end > area.len() {
            return None;
        }
        // SAFETY: `start..end` lies inside the mapping (checked above), which
        // lives as long as the `area` borrow; the caller guarantees the
        // kernel does not write these bytes while the slice is alive.
        Some(unsafe { std::slice::from_raw_parts(area.base().as_ptr().add(start), len as usize) })
    }

    /// Reads frames until the RX ring is empty or `batch` is full, parses
    /// each, pushes the datagrams to ports in `ports` into `batch`, and
    /// gives every frame back to the fill ring. Returns how many frames it
    /// read. No allocation, no lock.
    #[allow(unsafe_code)]
    pub(crate) fn drain(&mut self, batch: &mut PacketBatch, ports: &PortControl, counters: &mut SourceCounters) -> u64 {
        let mut read = 0;
        while !batch.is_full() {
            let room = (batch.capacity() - batch.len()).min(RX_BURST as usize) as u32;
            let mut reader = self.rx.receive(room);
            if reader.capacity() == 0 {
                break;
            }
            let now = SystemTime::now();
            while let Some(desc) = reader.read() {
                read += 1;
                // Any address inside a frame names the frame (aligned mode).
                self.pending_fill.push(desc.addr & self.frame_mask);
                // SAFETY: `desc` was just read from this queue's RX ring and
                // the frame goes back to the fill ring only in `refill`
                // below, after the last use of `frame`.
                let Some(frame) = (unsafe { Self::frame(&self.area, desc.addr, desc.len) }) else {
                    self.invalid_descriptors += 1;
                    continue;
                };
                counters.received += 1;
                match parse_ethernet(frame) {
                    Err(e) => counters.parse_errors.record(e.kind()),
                    Ok(packet) if !ports.contains(packet.dst.port()) => counters.filtered += 1,
                    Ok(packet) => match batch.push(&packet, now, TimestampKind::Userspace) {
                        Ok(()) => counters.delivered += 1,
                        Err(_) => counters.truncated += 1,
                    },
                }
                if batch.is_full() {
                    break;
                }
            }
            reader.release();
            drop(reader);
            self.refill();
        }
        self.frames += read;
        read
    }

    /// Gives the frames read back to the kernel.
    fn refill(&mut self) {
        if self.pending_fill.is_empty() {
            return;
        }
        let mut writer = self.device.fill(self.pending_fill.len() as u32);
        let given = writer.insert(self.pending_fill.iter().copied());
        writer.commit();
        drop(writer);
        // What did not fit (never: the ring has room for every frame) waits
        // for the next call.
        self.pending_fill.drain(..given as usize);
        if self.device.needs_wakeup() {
            self.device.wake();
        }
    }
}
