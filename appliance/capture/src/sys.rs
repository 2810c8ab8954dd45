//! The only module with `unsafe` code: `recvmmsg(2)` with control messages,
//! and the two AF_PACKET socket options that neither `nix` nor `pnet` offer.
//!
//! Why not `nix::sys::socket::recvmmsg`: its `MultiHeaders` does not restore
//! `msg_namelen` / `msg_controllen` between calls (the kernel shrinks them to
//! what it wrote), so a reused header set silently loses control messages
//! (nix-rust/nix PR #2813, open). Here the headers are rebuilt on the stack
//! for every call; the name and control buffers persist, so nothing is
//! allocated per call.

#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr;
use std::time::{Duration, SystemTime};

/// Most datagrams one `recvmmsg` call asks for.
pub(crate) const MAX_MESSAGES: usize = 64;

/// Room for SO_TIMESTAMPNS (32), IPV6_PKTINFO (40), SO_RXQ_OVFL (24) with
/// headroom for one unexpected message.
const CONTROL_LEN: usize = 256;

/// A control-message buffer aligned for `cmsghdr`.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct ControlBuffer([u8; CONTROL_LEN]);

/// What the kernel wrote back for one message.
#[derive(Clone, Copy, Default)]
struct RawResult {
    len: usize,
    namelen: libc::socklen_t,
    controllen: usize,
    flags: libc::c_int,
}

/// One received datagram, decoded from its header and control messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Datagram {
    /// Payload bytes written into the buffer.
    pub len: usize,
    /// The sender, v4-mapped IPv6 addresses folded to IPv4.
    pub src: Option<SocketAddr>,
    /// The packet's destination address (IP_PKTINFO / IPV6_PKTINFO).
    pub dst_ip: Option<IpAddr>,
    /// SO_TIMESTAMPNS: when the kernel received it.
    pub timestamp: Option<SystemTime>,
    /// SO_RXQ_OVFL: the socket's cumulative drop count at this packet.
    pub drops: Option<u32>,
    /// MSG_TRUNC: the datagram was larger than the buffer.
    pub truncated: bool,
}

/// Reusable state for `recvmmsg`: the address and control buffers.
pub(crate) struct RecvMmsg {
    names: Box<[libc::sockaddr_storage]>,
    controls: Box<[ControlBuffer]>,
    results: [RawResult; MAX_MESSAGES],
    received: usize,
}

impl RecvMmsg {
    pub(crate) fn new() -> Self {
        // SAFETY: sockaddr_storage is plain integers; all-zero is a valid value.
        let empty_name: libc::sockaddr_storage = unsafe { mem::zeroed() };
        Self {
            names: vec![empty_name; MAX_MESSAGES].into_boxed_slice(),
            controls: vec![ControlBuffer([0; CONTROL_LEN]); MAX_MESSAGES].into_boxed_slice(),
            results: [RawResult::default(); MAX_MESSAGES],
            received: 0,
        }
    }

    /// Receive up to [`MAX_MESSAGES`] datagrams, one into each buffer,
    /// without blocking (`MSG_DONTWAIT`). `WouldBlock` when none is queued.
    pub(crate) fn recv<'b>(
        &mut self,
        fd: BorrowedFd<'_>,
        buffers: impl Iterator<Item = &'b mut [u8]>,
    ) -> io::Result<usize> {
        self.received = 0;
        let mut iovecs = [libc::iovec { iov_base: ptr::null_mut(), iov_len: 0 }; MAX_MESSAGES];
        let mut count = 0;
        for (iovec, buffer) in iovecs.iter_mut().zip(buffers) {
            *iovec = libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: buffer.len() };
            count += 1;
        }
        if count == 0 {
            return Ok(0);
        }
        // SAFETY: mmsghdr is a C struct of integers and raw pointers; all-zero
        // (null pointers, zero lengths) is a valid value.
        let mut headers: [libc::mmsghdr; MAX_MESSAGES] = unsafe { mem::zeroed() };
        let iov_base = iovecs.as_mut_ptr();
        let name_base = self.names.as_mut_ptr();
        let control_base = self.controls.as_mut_ptr();
        for (i, header) in headers.iter_mut().enumerate().take(count) {
            let h = &mut header.msg_hdr;
            h.msg_name = name_base.wrapping_add(i).cast();
            h.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = iov_base.wrapping_add(i);
            h.msg_iovlen = 1;
            h.msg_control = control_base.wrapping_add(i).cast();
            h.msg_controllen = CONTROL_LEN as _;
        }
        // SAFETY: `headers[..count]` each point at one live iovec (whose
        // buffer is an exclusive borrow `'b` that outlives this call), one
        // sockaddr_storage and one CONTROL_LEN control buffer owned by `self`,
        // with their true capacities; the kernel writes only within them.
        // `count <= MAX_MESSAGES` = the length of `headers`. The fd is valid
        // for the call (BorrowedFd). A null timeout is allowed.
        let n = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                headers.as_mut_ptr(),
                count as libc::c_uint,
                libc::MSG_DONTWAIT,
                ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        // msg_controllen is size_t on glibc and socklen_t on musl.
        #[allow(clippy::unnecessary_cast)]
        for (result, header) in self.results.iter_mut().zip(&headers).take(n) {
            *result = RawResult {
                len: header.msg_len as usize,
                namelen: header.msg_hdr.msg_namelen,
                controllen: header.msg_hdr.msg_controllen as usize,
                flags: header.msg_hdr.msg_flags,
            };
        }
        self.received = n;
        Ok(n)
    }

    /// The `i`th datagram of the last [`recv`](Self::recv), `i` below what it returned.
    pub(crate) fn datagram(&self, i: usize) -> Datagram {
        let raw = if i < self.received { self.results[i] } else { RawResult::default() };
        let mut datagram = Datagram {
            len: raw.len,
            src: self.names.get(i).and_then(|n| sockaddr_to_std(n, raw.namelen)),
            dst_ip: None,
            timestamp: None,
            drops: None,
            truncated: raw.flags & libc::MSG_TRUNC != 0,
        };
        if let Some(control) = self.controls.get(i) {
            decode_control(&control.0[..raw.controllen.min(CONTROL_LEN)], &mut datagram);
        }
        datagram
    }
}

/// Fold a v4-mapped IPv6 address (a dual-stack socket) to IPv4.
pub(crate) fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn sockaddr_to_std(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in, and
            // sockaddr_storage is larger and at least as aligned.
            let sin: libc::sockaddr_in = unsafe { ptr::read(ptr::from_ref(storage).cast::<libc::sockaddr_in>()) };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6: libc::sockaddr_in6 = unsafe { ptr::read(ptr::from_ref(storage).cast::<libc::sockaddr_in6>()) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            let port = u16::from_be(sin6.sin6_port);
            Some(match canonical_ip(IpAddr::V6(ip)) {
                IpAddr::V4(v4) => SocketAddr::V4(SocketAddrV4::new(v4, port)),
                IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, sin6.sin6_flowinfo, sin6.sin6_scope_id)),
            })
        }
        _ => None,
    }
}

/// Walk the control messages the kernel wrote into `control`.
fn decode_control(control: &[u8], out: &mut Datagram) {
    if control.is_empty() {
        return;
    }
    // SAFETY: msghdr is plain data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_control = control.as_ptr().cast_mut().cast();
    msg.msg_controllen = control.len() as _;
    // SAFETY: `msg` describes `control`, a live, cmsghdr-aligned buffer of
    // `control.len()` bytes; CMSG_FIRSTHDR returns null or a header inside it.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: CMSG_FIRSTHDR/CMSG_NXTHDR only return headers that lie
        // within msg_controllen, so the header fields are readable.
        let header = unsafe { ptr::read_unaligned(cmsg) };
        // SAFETY: CMSG_DATA points just past a header inside the buffer.
        let data = unsafe { libc::CMSG_DATA(cmsg) };
        let data_len = (header.cmsg_len as usize).saturating_sub(data as usize - cmsg as usize);
        match (header.cmsg_level, header.cmsg_type) {
            (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) if data_len >= mem::size_of::<libc::timespec>() => {
                // SAFETY: the kernel wrote a timespec of data_len bytes at `data`.
                let ts: libc::timespec = unsafe { ptr::read_unaligned(data.cast()) };
                if let (Ok(secs), Ok(nanos)) = (u64::try_from(ts.tv_sec), u32::try_from(ts.tv_nsec)) {
                    out.timestamp = SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos));
                }
            }
            (libc::SOL_SOCKET, libc::SO_RXQ_OVFL) if data_len >= mem::size_of::<u32>() => {
                // SAFETY: the kernel wrote a u32 drop counter at `data`.
                out.drops = Some(unsafe { ptr::read_unaligned(data.cast::<u32>()) });
            }
            (libc::IPPROTO_IP, libc::IP_PKTINFO) if data_len >= mem::size_of::<libc::in_pktinfo>() => {
                // SAFETY: the kernel wrote an in_pktinfo at `data`.
                let info: libc::in_pktinfo = unsafe { ptr::read_unaligned(data.cast()) };
                out.dst_ip = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr))));
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) if data_len >= mem::size_of::<libc::in6_pktinfo>() => {
                // SAFETY: the kernel wrote an in6_pktinfo at `data`.
                let info: libc::in6_pktinfo = unsafe { ptr::read_unaligned(data.cast()) };
                out.dst_ip = Some(canonical_ip(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr))));
            }
            _ => {}
        }
        // SAFETY: `cmsg` is a valid header within `msg`'s buffer; CMSG_NXTHDR
        // returns the next one inside it or null.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
}

/// Stop an AF_PACKET socket from seeing the host's own outgoing frames
/// (`PACKET_IGNORE_OUTGOING`, Linux 4.20).
pub(crate) fn packet_ignore_outgoing(fd: BorrowedFd<'_>) -> io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: the option value is a c_int that lives across the call, and its
    // size is passed; the fd is valid for the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            ptr::from_ref(&one).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Read and reset an AF_PACKET socket's counters (`PACKET_STATISTICS`):
/// `(packets, drops)` since the previous read. Note the kernel counts
/// dropped frames in `packets` too.
pub(crate) fn packet_statistics(fd: BorrowedFd<'_>) -> io::Result<(u32, u32)> {
    let mut stats = libc::tpacket_stats { tp_packets: 0, tp_drops: 0 };
    let mut len = mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
    // SAFETY: `stats` and `len` live across the call and `len` is the size of
    // `stats`; the kernel writes at most `len` bytes. The fd is valid.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            ptr::from_mut(&mut stats).cast(),
            &mut len,
        )
    };
    if rc == 0 { Ok((stats.tp_packets, stats.tp_drops)) } else { Err(io::Error::last_os_error()) }
}
