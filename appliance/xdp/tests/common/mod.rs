//! Helpers shared by the integration tests: the root check, a
//! `BPF_PROG_TEST_RUN` wrapper, frame builders and throwaway network
//! namespaces joined by a veth pair.

#![allow(dead_code)]

pub mod frames;
pub mod netns;

use std::{io, os::fd::AsRawFd, os::fd::BorrowedFd};

/// XDP verdicts (`enum xdp_action`).
pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;
pub const XDP_TX: u32 = 3;
pub const XDP_REDIRECT: u32 = 4;

const CAP_NET_ADMIN: u32 = 12;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_BPF: u32 = 39;

/// Fails the test (never skips it) when the process cannot load BPF
/// programs or make network namespaces.
pub fn require_root(test: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    let missing: Vec<&str> = [(CAP_SYS_ADMIN, "CAP_SYS_ADMIN"), (CAP_NET_ADMIN, "CAP_NET_ADMIN"), (CAP_BPF, "CAP_BPF")]
        .into_iter()
        .filter(|(cap, _)| caps & (1 << cap) == 0)
        .map(|(_, name)| name)
        .collect();
    assert!(
        missing.is_empty(),
        "test {test} NEEDS ROOT: it loads BPF programs and makes network namespaces, and this \
         process lacks {}. Run the tests as root (e.g. `sudo -E cargo test`); they fail \
         rather than skip so that a green run means they ran.",
        missing.join(", ")
    );
}

/// `bpf_attr` for `BPF_PROG_TEST_RUN` (the `test` member of the union).
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

const _: () = {
    assert!(core::mem::size_of::<TestRunAttr>() == 80);
    assert!(core::mem::offset_of!(TestRunAttr, ctx_in) == 48);
    assert!(core::mem::offset_of!(TestRunAttr, flags) == 64);
};

const BPF_PROG_TEST_RUN: libc::c_long = 10;

/// The outcome of one test run.
#[derive(Debug)]
pub struct TestRun {
    /// The program's verdict.
    pub verdict: u32,
    /// The frame as the program left it.
    pub frame_out: Vec<u8>,
}

/// Runs the XDP program `prog` once on `frame` with `BPF_PROG_TEST_RUN`.
#[allow(unsafe_code)]
pub fn test_run(prog: BorrowedFd<'_>, frame: &[u8]) -> io::Result<TestRun> {
    // Room for what the program could grow the frame to.
    let mut out = vec![0u8; frame.len() + 4096];
    let mut attr = TestRunAttr {
        prog_fd: prog.as_raw_fd() as u32,
        data_size_in: frame.len() as u32,
        data_size_out: out.len() as u32,
        data_in: frame.as_ptr() as u64,
        data_out: out.as_mut_ptr() as u64,
        repeat: 1,
        ..TestRunAttr::default()
    };
    // SAFETY: `attr` is a valid, exclusively borrowed `#[repr(C)]` struct
    // laid out like `union bpf_attr`'s `test` member (asserted above) and
    // its exact size is passed. Its pointers name `frame` (read-only,
    // `data_size_in` bytes) and `out` (writable, `data_size_out` bytes),
    // both alive until the call returns; no context buffers are passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_TEST_RUN,
            &mut attr as *mut TestRunAttr as *mut libc::c_void,
            core::mem::size_of::<TestRunAttr>() as libc::c_uint,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    out.truncate((attr.data_size_out as usize).min(out.len()));
    Ok(TestRun { verdict: attr.retval, frame_out: out })
}

/// A verdict's name, for assertion messages.
pub fn verdict_name(v: u32) -> &'static str {
    match v {
        XDP_ABORTED => "XDP_ABORTED",
        XDP_DROP => "XDP_DROP",
        XDP_PASS => "XDP_PASS",
        XDP_TX => "XDP_TX",
        XDP_REDIRECT => "XDP_REDIRECT",
        _ => "unknown",
    }
}

/// `bpf_attr` for `BPF_PROG_LOAD`, up to `expected_attach_type`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// `bpf_attr` for `BPF_LINK_CREATE`, the common head.
#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_ifindex: u32,
    attach_type: u32,
    flags: u32,
}

const _: () = {
    assert!(core::mem::offset_of!(ProgLoadAttr, prog_name) == 48);
    assert!(core::mem::size_of::<ProgLoadAttr>() == 72);
    assert!(core::mem::size_of::<LinkCreateAttr>() == 16);
};

/// An XDP program that is not callguard's ("foreign_xdp": `return
/// XDP_PASS`), attached in native mode to `ifindex` of the calling
/// thread's namespace through a BPF link. Detached when the returned link
/// descriptor is dropped.
#[allow(unsafe_code)]
pub fn attach_foreign_program(ifindex: u32) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // r0 = XDP_PASS (2); exit
    let insns: [u64; 2] = [0x0000_0002_0000_00b7, 0x0000_0000_0000_0095];
    let license = b"GPL\0";
    let mut name = [0u8; 16];
    name[..11].copy_from_slice(b"foreign_xdp");
    let mut load = ProgLoadAttr {
        prog_type: 6, // BPF_PROG_TYPE_XDP
        insn_cnt: 2,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        expected_attach_type: 37, // BPF_XDP
        ..ProgLoadAttr::default()
    };
    // SAFETY: BPF_PROG_LOAD with an exactly sized `#[repr(C)]` attribute
    // laid out like the kernel's (asserted above); `insns` and `license`
    // point to live arrays of the stated sizes; no log buffer.
    let prog = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            5 as libc::c_long, // BPF_PROG_LOAD
            &mut load as *mut ProgLoadAttr as *mut libc::c_void,
            core::mem::size_of::<ProgLoadAttr>() as libc::c_uint,
        )
    };
    assert!(prog >= 0, "load the foreign XDP program: {}", io::Error::last_os_error());
    // SAFETY: a new descriptor from a successful BPF_PROG_LOAD, owned by nobody else.
    let prog = unsafe { std::os::fd::OwnedFd::from_raw_fd(prog as i32) };
    let mut link = LinkCreateAttr {
        prog_fd: prog.as_raw_fd() as u32,
        target_ifindex: ifindex,
        attach_type: 37, // BPF_XDP
        flags: 4,        // XDP_FLAGS_DRV_MODE
    };
    // SAFETY: BPF_LINK_CREATE with an exactly sized `#[repr(C)]` attribute
    // holding only integers.
    let link_fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            28 as libc::c_long, // BPF_LINK_CREATE
            &mut link as *mut LinkCreateAttr as *mut libc::c_void,
            core::mem::size_of::<LinkCreateAttr>() as libc::c_uint,
        )
    };
    assert!(link_fd >= 0, "attach the foreign XDP program: {}", io::Error::last_os_error());
    // SAFETY: a new descriptor from a successful BPF_LINK_CREATE, owned by nobody else.
    unsafe { std::os::fd::OwnedFd::from_raw_fd(link_fd as i32) }
}

/// `if_nametoindex(3)` in the calling thread's namespace.
#[allow(unsafe_code)]
pub fn ifindex(name: &str) -> u32 {
    let c = std::ffi::CString::new(name).expect("interface name");
    // SAFETY: a valid NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    assert_ne!(index, 0, "no interface {name}");
    index
}

/// A program from `examples/`, built by `cargo test` beside the test binaries.
pub fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target directory");
    let path = dir.join("examples").join(name);
    assert!(path.exists(), "{} is missing: build the examples (cargo test builds them)", path.display());
    path
}
