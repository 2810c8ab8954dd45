//! The few kernel calls aya does not wrap: finding what XDP program an
//! interface runs (rtnetlink), finding and force-detaching the BPF link
//! that holds it (`bpf(2)`), the interface index, the process capabilities.
//!
//! Everything here acts in the calling thread's network namespace.

use std::{
    ffi::CString,
    fs::File,
    io::{self, Read, Write},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
};

// ---------------------------------------------------------------------------
// Interface index

/// `if_nametoindex(3)`: `None` when there is no such interface (or the name
/// cannot be one).
#[allow(unsafe_code)]
pub(crate) fn if_nametoindex(name: &str) -> Option<u32> {
    let c_name = CString::new(name).ok()?;
    // SAFETY: `c_name` is a valid NUL-terminated string that outlives the
    // call; if_nametoindex only reads it.
    let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    (index != 0).then_some(index)
}

// ---------------------------------------------------------------------------
// Capabilities

/// Capability numbers from `<linux/capability.h>`.
pub(crate) const CAP_NET_ADMIN: u32 = 12;
pub(crate) const CAP_SYS_ADMIN: u32 = 21;
pub(crate) const CAP_BPF: u32 = 39;

/// The effective capability set of this thread (`CapEff` in
/// `/proc/thread-self/status`), or `None` when it cannot be read.
pub(crate) fn effective_capabilities() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/thread-self/status")
        .or_else(|_| std::fs::read_to_string("/proc/self/status"))
        .ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapEff:"))?.trim();
    u64::from_str_radix(hex, 16).ok()
}

pub(crate) const fn has_capability(set: u64, cap: u32) -> bool {
    set & (1u64 << cap) != 0
}

// ---------------------------------------------------------------------------
// bpf(2)

const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
const BPF_LINK_GET_FD_BY_ID: libc::c_long = 30;
const BPF_LINK_GET_NEXT_ID: libc::c_long = 31;
const BPF_LINK_DETACH: libc::c_long = 34;
const BPF_PROG_GET_NEXT_ID: libc::c_long = 11;

const BPF_LINK_TYPE_XDP: u32 = 6;
const BPF_OBJ_NAME_LEN: usize = 16;

/// `bpf_attr` for `BPF_*_GET_NEXT_ID` and `BPF_*_GET_FD_BY_ID`.
#[repr(C)]
#[derive(Default)]
struct GetIdAttr {
    start_or_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// `bpf_attr` for `BPF_OBJ_GET_INFO_BY_FD`.
#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `bpf_attr` for `BPF_LINK_DETACH`.
#[repr(C)]
#[derive(Default)]
struct LinkDetachAttr {
    link_fd: u32,
}

/// The head of `struct bpf_link_info` up to the XDP member of its union
/// (`xdp.ifindex` at offset 16: the union is 8-byte aligned), plus zeroed
/// room the kernel may fill for other link types.
#[repr(C)]
#[derive(Clone, Copy)]
struct LinkInfo {
    link_type: u32,
    id: u32,
    prog_id: u32,
    _pad: u32,
    xdp_ifindex: u32,
    _rest: [u8; 44],
}

/// The head of `struct bpf_prog_info` up to `name` (offset 64).
#[repr(C)]
#[derive(Clone, Copy)]
struct ProgInfoHead {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; BPF_OBJ_NAME_LEN],
}

const _: () = {
    use core::mem::{offset_of, size_of};
    assert!(size_of::<GetIdAttr>() == 12);
    assert!(size_of::<InfoAttr>() == 16);
    assert!(offset_of!(LinkInfo, xdp_ifindex) == 16);
    assert!(size_of::<LinkInfo>() == 64);
    assert!(offset_of!(ProgInfoHead, name) == 64);
    assert!(size_of::<ProgInfoHead>() == 80);
};

/// The `bpf(2)` system call with an attribute struct of type `T`.
///
/// Returns the call's non-negative result.
#[allow(unsafe_code)]
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: `attr` is a valid, exclusively borrowed `#[repr(C)]` struct
    // laid out like the leading members of the kernel's `union bpf_attr`
    // for `cmd` (asserted above); the size passed is its exact size, so the
    // kernel reads and writes only inside it. Any pointer inside it (the
    // info buffer) is set by the caller to memory that outlives the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            core::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

/// Wraps a file descriptor the kernel just returned.
#[allow(unsafe_code)]
fn owned_fd(raw: libc::c_long) -> OwnedFd {
    // SAFETY: `raw` is a new file descriptor returned by a successful
    // bpf(2) call: open, and owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(raw as i32) }
}

fn info_by_fd<T>(fd: &OwnedFd, info: &mut T) -> io::Result<()> {
    let mut attr = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: core::mem::size_of::<T>() as u32,
        info: info as *mut T as u64,
    };
    bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr).map(|_| ())
}

/// Ids of all objects the `GET_NEXT_ID` command `cmd` enumerates.
fn all_ids(cmd: libc::c_long) -> io::Result<Vec<u32>> {
    let mut ids = Vec::new();
    let mut attr = GetIdAttr::default();
    loop {
        match bpf(cmd, &mut attr) {
            Ok(_) => {
                ids.push(attr.next_id);
                attr.start_or_id = attr.next_id;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(ids),
            Err(e) => return Err(e),
        }
    }
}

fn fd_by_id(cmd: libc::c_long, id: u32) -> io::Result<OwnedFd> {
    let mut attr = GetIdAttr { start_or_id: id, ..GetIdAttr::default() };
    bpf(cmd, &mut attr).map(owned_fd)
}

/// The name of loaded program `id` (at most 15 bytes, as the kernel keeps).
pub(crate) fn program_name(id: u32) -> io::Result<String> {
    let fd = fd_by_id(BPF_PROG_GET_FD_BY_ID, id)?;
    let mut info = ProgInfoHead {
        prog_type: 0,
        id: 0,
        tag: [0; 8],
        jited_prog_len: 0,
        xlated_prog_len: 0,
        jited_prog_insns: 0,
        xlated_prog_insns: 0,
        load_time: 0,
        created_by_uid: 0,
        nr_map_ids: 0,
        map_ids: 0,
        name: [0; BPF_OBJ_NAME_LEN],
    };
    info_by_fd(&fd, &mut info)?;
    let end = info.name.iter().position(|&b| b == 0).unwrap_or(BPF_OBJ_NAME_LEN);
    Ok(String::from_utf8_lossy(&info.name[..end]).into_owned())
}

/// Whether BPF is there at all: `false` only when bpf(2) does not exist.
pub(crate) fn kernel_has_bpf() -> bool {
    let mut attr = GetIdAttr::default();
    !matches!(bpf(BPF_PROG_GET_NEXT_ID, &mut attr), Err(e) if e.raw_os_error() == Some(libc::ENOSYS))
}

/// Detaches every XDP BPF link on `ifindex` that runs program `prog_id`;
/// returns how many it detached. Link ids are global, interface indexes
/// are per network namespace: the program id (also global) must match too.
pub(crate) fn detach_xdp_links(ifindex: u32, prog_id: u32) -> io::Result<usize> {
    let mut detached = 0;
    for id in all_ids(BPF_LINK_GET_NEXT_ID)? {
        let fd = match fd_by_id(BPF_LINK_GET_FD_BY_ID, id) {
            Ok(fd) => fd,
            // Gone since it was listed.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        let mut info = LinkInfo { link_type: 0, id: 0, prog_id: 0, _pad: 0, xdp_ifindex: 0, _rest: [0; 44] };
        info_by_fd(&fd, &mut info)?;
        if info.link_type == BPF_LINK_TYPE_XDP && info.xdp_ifindex == ifindex && info.prog_id == prog_id {
            let mut attr = LinkDetachAttr { link_fd: fd.as_raw_fd() as u32 };
            bpf(BPF_LINK_DETACH, &mut attr)?;
            detached += 1;
        }
    }
    Ok(detached)
}

// ---------------------------------------------------------------------------
// rtnetlink

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLA_F_NESTED: u16 = 1 << 15;
const NLA_TYPE_MASK: u16 = !(1 << 15 | 1 << 14);

const IFLA_XDP: u16 = 43;
const IFLA_XDP_FD: u16 = 1;
const IFLA_XDP_FLAGS: u16 = 3;
const IFLA_XDP_DRV_PROG_ID: u16 = 5;
const IFLA_XDP_SKB_PROG_ID: u16 = 6;
const IFLA_XDP_HW_PROG_ID: u16 = 7;

/// `XDP_FLAGS_*` from `<linux/if_link.h>`.
pub(crate) const XDP_FLAGS_SKB_MODE: u32 = 2;
pub(crate) const XDP_FLAGS_DRV_MODE: u32 = 4;
pub(crate) const XDP_FLAGS_HW_MODE: u32 = 8;

const NLMSGHDR_LEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;

/// Where an XDP program runs on an interface, as rtnetlink reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NlXdpMode {
    Driver,
    Skb,
    Hardware,
}

impl NlXdpMode {
    pub(crate) const fn flags(self) -> u32 {
        match self {
            Self::Driver => XDP_FLAGS_DRV_MODE,
            Self::Skb => XDP_FLAGS_SKB_MODE,
            Self::Hardware => XDP_FLAGS_HW_MODE,
        }
    }
}

const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A route netlink socket, read and written as a file.
#[allow(unsafe_code)]
fn netlink_socket() -> io::Result<File> {
    // SAFETY: socket(2) with constant arguments; it touches no memory of ours.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is the new socket just returned, owned by nobody else.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

fn push_attr(buf: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(payload);
    buf.resize(align4(buf.len()), 0);
}

/// A link request for `ifindex` with attributes `attrs`.
fn link_request(msg_type: u16, flags: u16, seq: u32, ifindex: u32, attrs: &[u8]) -> Vec<u8> {
    let len = NLMSGHDR_LEN + IFINFOMSG_LEN + attrs.len();
    let mut buf = Vec::with_capacity(len);
    // struct nlmsghdr
    buf.extend_from_slice(&(len as u32).to_ne_bytes());
    buf.extend_from_slice(&msg_type.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    // struct ifinfomsg: family AF_UNSPEC, pad, type, index, flags, change
    buf.extend_from_slice(&[0, 0, 0, 0]);
    buf.extend_from_slice(&(ifindex as i32).to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(attrs);
    buf
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Iterates `(type, payload)` over the attributes in `b`.
fn attrs(b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let len = u16_at(b, at)? as usize;
        let kind = u16_at(b, at + 2)?;
        if len < 4 {
            return None;
        }
        let payload = b.get(at + 4..at + len)?;
        at += align4(len);
        Some((kind & NLA_TYPE_MASK, payload))
    })
}

/// Sends `request` and returns the payloads of the replies carrying `seq`
/// (`Ok` messages of type `want`); an `NLMSG_ERROR` with a non-zero code
/// becomes that error, a zero code (an ACK) ends the exchange.
fn exchange(request: &[u8], seq: u32, want: u16) -> io::Result<Vec<Vec<u8>>> {
    let mut sock = netlink_socket()?;
    sock.write_all(request)?;
    let mut found = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = sock.read(&mut buf)?;
        let mut at = 0;
        while at + NLMSGHDR_LEN <= n {
            let len = u32_at(&buf, at).unwrap_or(0) as usize;
            let kind = u16_at(&buf, at + 4).unwrap_or(0);
            let msg_seq = u32_at(&buf, at + 8).unwrap_or(0);
            if len < NLMSGHDR_LEN || at + len > n {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "truncated rtnetlink reply"));
            }
            let payload = &buf[at + NLMSGHDR_LEN..at + len];
            if msg_seq == seq {
                match kind {
                    NLMSG_ERROR => {
                        let code = u32_at(payload, 0).unwrap_or(0) as i32;
                        if code == 0 {
                            return Ok(found);
                        }
                        return Err(io::Error::from_raw_os_error(-code));
                    }
                    NLMSG_DONE => return Ok(found),
                    k if k == want => {
                        found.push(payload.to_vec());
                        // RTM_GETLINK for one index answers one message.
                        return Ok(found);
                    }
                    _ => {}
                }
            }
            at += align4(len);
        }
    }
}

fn next_seq() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(1);
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// The XDP programs attached to `ifindex`: `(mode, program id)`.
pub(crate) fn query_xdp(ifindex: u32) -> io::Result<Vec<(NlXdpMode, u32)>> {
    let seq = next_seq();
    let replies = exchange(&link_request(RTM_GETLINK, NLM_F_REQUEST, seq, ifindex, &[]), seq, RTM_NEWLINK)?;
    let mut out = Vec::new();
    for reply in &replies {
        let Some(link_attrs) = reply.get(IFINFOMSG_LEN..) else {
            continue;
        };
        for (kind, payload) in attrs(link_attrs) {
            if kind != IFLA_XDP {
                continue;
            }
            for (xdp_kind, value) in attrs(payload) {
                let mode = match xdp_kind {
                    IFLA_XDP_DRV_PROG_ID => NlXdpMode::Driver,
                    IFLA_XDP_SKB_PROG_ID => NlXdpMode::Skb,
                    IFLA_XDP_HW_PROG_ID => NlXdpMode::Hardware,
                    _ => continue,
                };
                if let Some(id) = u32_at(value, 0).filter(|&id| id != 0) {
                    out.push((mode, id));
                }
            }
        }
    }
    Ok(out)
}

/// Removes the XDP program attached by netlink (not by a BPF link) to
/// `ifindex` in `mode`.
pub(crate) fn netlink_detach_xdp(ifindex: u32, mode: NlXdpMode) -> io::Result<()> {
    let mut xdp = Vec::new();
    push_attr(&mut xdp, IFLA_XDP_FD, &(-1i32).to_ne_bytes());
    push_attr(&mut xdp, IFLA_XDP_FLAGS, &mode.flags().to_ne_bytes());
    let mut attrs_buf = Vec::new();
    push_attr(&mut attrs_buf, IFLA_XDP | NLA_F_NESTED, &xdp);
    let seq = next_seq();
    exchange(&link_request(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifindex, &attrs_buf), seq, 0).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_encoding_round_trips() {
        let mut buf = Vec::new();
        push_attr(&mut buf, IFLA_XDP_FD, &(-1i32).to_ne_bytes());
        push_attr(&mut buf, 9, &[1, 2, 3]);
        let parsed: Vec<_> = attrs(&buf).collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0], (IFLA_XDP_FD, &(-1i32).to_ne_bytes()[..]));
        assert_eq!(parsed[1], (9, &[1u8, 2, 3][..]));
        assert_eq!(buf.len(), 8 + 8);
    }

    #[test]
    fn nested_flag_is_masked() {
        let mut buf = Vec::new();
        push_attr(&mut buf, IFLA_XDP | NLA_F_NESTED, &[0; 4]);
        assert_eq!(attrs(&buf).next().map(|(k, _)| k), Some(IFLA_XDP));
    }

    #[test]
    fn capability_bits() {
        assert!(has_capability(1 << CAP_BPF, CAP_BPF));
        assert!(!has_capability(1 << CAP_BPF, CAP_NET_ADMIN));
    }

    #[test]
    fn missing_interface_has_no_index() {
        assert_eq!(if_nametoindex("cg-no-such-if0"), None);
        assert_eq!(if_nametoindex("bad\0name"), None);
        assert!(if_nametoindex("lo").is_some());
    }
}
