//! The system calls `xdpilone` and `nix` do not cover: the UMEM mapping,
//! `FD_CLOEXEC` on the AF_XDP sockets, `XDP_OPTIONS`, busy-poll socket
//! options, `poll(2)` and a busy-poll nudge on raw descriptors, and
//! `ETHTOOL_GCHANNELS`.
//!
//! Every unsafe block is in this module or in `queue.rs`, each item allowed
//! one by one with a `SAFETY:` note.

use std::{
    ffi::CString,
    io,
    os::fd::{AsRawFd, RawFd},
    ptr::NonNull,
    time::Duration,
};

/// `SOL_XDP` (`linux/socket.h`).
const SOL_XDP: libc::c_int = 283;
/// `XDP_OPTIONS` (`linux/if_xdp.h`): `getsockopt` gives `struct xdp_options`.
const XDP_OPTIONS: libc::c_int = 8;
/// `XDP_OPTIONS_ZEROCOPY`: the socket is bound in zero-copy mode.
const XDP_OPTIONS_ZEROCOPY: u32 = 1;

/// `SO_BUSY_POLL`, `SO_PREFER_BUSY_POLL`, `SO_BUSY_POLL_BUDGET` from the
/// generic `asm/socket.h` (x86, arm, arm64, riscv; not mips, sparc, parisc,
/// alpha, which callguard does not run on). `libc` lacks the last two.
const SO_BUSY_POLL: libc::c_int = 46;
const SO_PREFER_BUSY_POLL: libc::c_int = 69;
const SO_BUSY_POLL_BUDGET: libc::c_int = 70;

/// `ETHTOOL_GCHANNELS` and `struct ethtool_channels` (`linux/ethtool.h`).
const ETHTOOL_GCHANNELS: u32 = 0x3c;

#[repr(C)]
#[derive(Default)]
struct EthtoolChannels {
    cmd: u32,
    max_rx: u32,
    max_tx: u32,
    max_other: u32,
    max_combined: u32,
    rx_count: u32,
    tx_count: u32,
    other_count: u32,
    combined_count: u32,
}

const _: () = assert!(core::mem::size_of::<EthtoolChannels>() == 36);

/// Anonymous, private, page-aligned memory for one UMEM, unmapped on drop.
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: `Mapping` owns its pages exclusively (nothing else holds the
// address but the kernel, which pinned them); nothing about it is tied to
// the thread that mapped it, so moving it to the data-plane thread is sound.
#[allow(unsafe_code)]
unsafe impl Send for Mapping {}

impl Mapping {
    /// Maps `len` bytes (a multiple of the page size), populated up front
    /// so that the kernel's pinning does not fault page by page.
    #[allow(unsafe_code)]
    pub(crate) fn new(len: usize) -> io::Result<Self> {
        // SAFETY: an anonymous private mapping at an address the kernel
        // chooses: no existing memory is affected; the result is checked
        // against MAP_FAILED before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(Self { ptr, len })
    }

    /// The whole mapping, for `xdpilone::Umem::new`.
    pub(crate) fn as_slice_ptr(&self) -> NonNull<[u8]> {
        NonNull::slice_from_raw_parts(self.ptr, self.len)
    }

    /// The start of the mapping.
    pub(crate) fn base(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Its length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl Drop for Mapping {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned, unmapped once,
        // here. The owner (`XskQueue`) drops its sockets and rings first, and
        // no slice into the mapping outlives a `recv_batch` call.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// Sets `FD_CLOEXEC` on a descriptor `xdpilone` opened without
/// `SOCK_CLOEXEC`, so that a child process the daemon starts does not keep
/// the AF_XDP socket (its queue binding and its pinned UMEM) alive.
#[allow(unsafe_code)]
pub(crate) fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFD/F_SETFD on a descriptor the caller owns and keeps
    // open for the call; only the descriptor flags change.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the bound AF_XDP socket `fd` runs in zero-copy mode
/// (`XDP_OPTIONS`, Linux 5.3+).
#[allow(unsafe_code)]
pub(crate) fn is_zero_copy(fd: RawFd) -> io::Result<bool> {
    let mut flags: u32 = 0;
    let mut len = core::mem::size_of::<u32>() as libc::socklen_t;
    // SAFETY: `struct xdp_options` is one __u32; `flags` and `len` are
    // valid, exclusively borrowed and live for the call, and `len` holds
    // the size of `flags`.
    let ret = unsafe { libc::getsockopt(fd, SOL_XDP, XDP_OPTIONS, (&raw mut flags).cast(), &raw mut len) };
    if ret != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(flags & XDP_OPTIONS_ZEROCOPY != 0)
}

#[allow(unsafe_code)]
fn set_int_option(fd: RawFd, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: a SOL_SOCKET integer option; `value` lives for the call and
    // its exact size is passed.
    let ret = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&raw const value).cast(),
            core::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if ret != 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Turns on preferred busy polling for `fd`: `SO_PREFER_BUSY_POLL`,
/// `SO_BUSY_POLL` (microseconds), `SO_BUSY_POLL_BUDGET` (packets). Raising
/// either above the system default takes CAP_NET_ADMIN.
pub(crate) fn set_busy_poll(fd: RawFd, usecs: u32, budget: u16) -> io::Result<()> {
    set_int_option(fd, SO_PREFER_BUSY_POLL, 1)?;
    set_int_option(fd, SO_BUSY_POLL, usecs.min(i32::MAX as u32) as libc::c_int)?;
    set_int_option(fd, SO_BUSY_POLL_BUDGET, libc::c_int::from(budget))
}

/// `recvfrom(fd, NULL, 0, MSG_DONTWAIT)`: on an AF_XDP socket this runs the
/// kernel's busy-poll loop for the socket's NAPI context (up to
/// `SO_BUSY_POLL` microseconds) and wakes a zero-copy driver that asked for
/// it; it never blocks and reads nothing.
#[allow(unsafe_code)]
pub(crate) fn nudge(fd: RawFd) {
    // SAFETY: a zero-length receive with no buffer and no address: the
    // kernel writes nothing to user memory.
    let _ = unsafe {
        libc::recvfrom(fd, std::ptr::null_mut(), 0, libc::MSG_DONTWAIT, std::ptr::null_mut(), std::ptr::null_mut())
    };
}

/// `poll(2)` on `fds` for up to `timeout` (rounded up to a millisecond).
/// Returns how many descriptors are ready; EINTR counts as 0.
#[allow(unsafe_code)]
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout: Duration) -> io::Result<usize> {
    let millis = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `fds` is a valid, exclusively borrowed array of `fds.len()`
    // pollfd structs for the duration of the call.
    let ret = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, millis) };
    if ret < 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::EINTR) {
            return Ok(0);
        }
        return Err(error);
    }
    Ok(ret as usize)
}

/// How many RX queues `interface` has (`ETHTOOL_GCHANNELS`: dedicated RX
/// plus combined channels), asked in the calling thread's network
/// namespace.
#[allow(unsafe_code)]
pub(crate) fn rx_queue_count(interface: &str) -> io::Result<u32> {
    let name = CString::new(interface).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let bytes = name.as_bytes_with_nul();
    if bytes.len() > libc::IFNAMSIZ {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    let socket = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(io::Error::from)?;
    let mut channels = EthtoolChannels { cmd: ETHTOOL_GCHANNELS, ..EthtoolChannels::default() };
    // SAFETY: `ifreq` is plain old data; all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { core::mem::zeroed() };
    for (dst, &src) in request.ifr_name.iter_mut().zip(bytes) {
        *dst = src as libc::c_char;
    }
    request.ifr_ifru.ifru_data = (&raw mut channels).cast();
    // SAFETY: SIOCETHTOOL with an `ifreq` naming the interface (NUL
    // terminated, checked to fit) whose data pointer is a live, exclusively
    // borrowed `struct ethtool_channels` (layout asserted above) that the
    // kernel fills for ETHTOOL_GCHANNELS; both outlive the call.
    let ret = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCETHTOOL, &raw mut request) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((channels.rx_count + channels.combined_count).max(1))
}
