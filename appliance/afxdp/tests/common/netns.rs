//! Throwaway network namespaces joined by a veth pair, entering a
//! namespace from a thread, and UDP senders. Adapted from
//! `appliance/xdp/tests/common/netns.rs`.
//!
//! Addresses are from 198.18.0.0/15 (benchmarking range) only.

use std::{
    fs::File,
    net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket},
    os::fd::AsRawFd,
    process::Command,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

/// The address of the capture side (`cg-a` in namespace A).
pub const ADDR_A: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The address of the sending side (`cg-b` in namespace B).
pub const ADDR_B: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// The capture-side interface.
pub const IF_A: &str = "cg-a";
/// The sending-side interface.
pub const IF_B: &str = "cg-b";
/// Where `send` sends from.
pub const SENDER: SocketAddr = SocketAddr::V4(SocketAddrV4::new(ADDR_B, 4000));

/// Runs `ip` with `args`; panics with its output when it fails.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().unwrap_or_else(|e| {
        panic!("running `ip {}` failed ({e}): these tests need iproute2 (`apt-get install iproute2`)", args.join(" "))
    });
    assert!(
        out.status.success(),
        "`ip {}` failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Two network namespaces, A and B, joined by veth `cg-a` (A,
/// 198.18.0.1/24) -- `cg-b` (B, 198.18.0.2/24). Deleted on drop.
pub struct VethPair {
    pub ns_a: String,
    pub ns_b: String,
}

impl VethPair {
    /// A pair with one queue each way; `tag` keeps the namespace names of
    /// concurrent tests apart.
    pub fn new(tag: &str) -> Self {
        Self::with_queues(tag, 1)
    }

    /// A pair with `queues` RX and TX queues on each end.
    pub fn with_queues(tag: &str, queues: u32) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let id = format!("{}x{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let pair = Self { ns_a: format!("cgafx-{id}-{tag}-a"), ns_b: format!("cgafx-{id}-{tag}-b") };
        // A namespace left by an earlier, killed run of the same pid/tag.
        let _ = Command::new("ip").args(["netns", "del", &pair.ns_a]).output();
        let _ = Command::new("ip").args(["netns", "del", &pair.ns_b]).output();
        ip(&["netns", "add", &pair.ns_a]);
        ip(&["netns", "add", &pair.ns_b]);
        let q = queues.to_string();
        ip(&[
            "link",
            "add",
            IF_A,
            "netns",
            &pair.ns_a,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
            "type",
            "veth",
            "peer",
            "name",
            IF_B,
            "netns",
            &pair.ns_b,
            "numtxqueues",
            &q,
            "numrxqueues",
            &q,
        ]);
        for (ns, dev, addr) in [(&pair.ns_a, IF_A, ADDR_A), (&pair.ns_b, IF_B, ADDR_B)] {
            ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        pair
    }

    /// `ip -d link show` of `cg-a`, for checks independent of the crate.
    pub fn link_details_a(&self) -> String {
        ip(&["-n", &self.ns_a, "-d", "link", "show", "dev", IF_A])
    }

    /// Sends each `(port, payload)` from 198.18.0.2:4000 to 198.18.0.1,
    /// `pace` apart, from a thread in namespace B.
    pub fn send(&self, datagrams: Vec<(u16, Vec<u8>)>, pace: Duration) {
        run_in(&self.ns_b, move || {
            let socket = UdpSocket::bind(SENDER).expect("bind sender");
            for (port, payload) in datagrams {
                socket.send_to(&payload, (ADDR_A, port)).expect("send");
                if !pace.is_zero() {
                    std::thread::sleep(pace);
                }
            }
        });
    }

    /// A UDP socket bound in namespace A (usable from any thread).
    pub fn bind_a(&self, port: u16) -> UdpSocket {
        run_in(&self.ns_a, move || UdpSocket::bind((ADDR_A, port)).expect("bind in namespace A"))
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end in it, and the peer.
        let _ = Command::new("ip").args(["netns", "del", &self.ns_a]).output();
        let _ = Command::new("ip").args(["netns", "del", &self.ns_b]).output();
    }
}

/// Runs `f` on a thread inside namespace `ns`; sockets it opens stay in
/// that namespace wherever they are used later.
pub fn run_in<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let ns = ns.to_owned();
    std::thread::spawn(move || {
        let _in = NetNsGuard::enter(&ns);
        f()
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// Puts the current thread in a named network namespace until dropped.
pub struct NetNsGuard {
    original: File,
}

impl NetNsGuard {
    #[allow(unsafe_code)]
    pub fn enter(ns: &str) -> Self {
        let original = File::open("/proc/thread-self/ns/net").expect("open own network namespace");
        let target =
            File::open(format!("/run/netns/{ns}")).unwrap_or_else(|e| panic!("open network namespace {ns}: {e}"));
        // SAFETY: setns(2) on an open namespace file descriptor that stays
        // open for the call; it changes only this thread's namespace.
        let ret = unsafe { libc::setns(target.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(ret, 0, "setns({ns}): {}", std::io::Error::last_os_error());
        Self { original }
    }
}

impl Drop for NetNsGuard {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: setns(2) back to the namespace this thread came from,
        // whose descriptor `self.original` holds open.
        let ret = unsafe { libc::setns(self.original.as_raw_fd(), libc::CLONE_NEWNET) };
        if ret != 0 && !std::thread::panicking() {
            panic!("setns back: {}", std::io::Error::last_os_error());
        }
    }
}

/// Counts datagrams `sock` receives until `want` arrived or `within` passed.
pub fn receive_count(sock: &UdpSocket, want: usize, within: Duration) -> usize {
    let deadline = Instant::now() + within;
    let mut got = 0;
    let mut buf = [0u8; 2048];
    while got < want {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        sock.set_read_timeout(Some(left)).expect("set_read_timeout");
        match sock.recv_from(&mut buf) {
            Ok(_) => got += 1,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("recv_from: {e} ({e:?})"),
        }
    }
    got
}

/// Polls `probe` until it returns true or `within` passed.
pub fn wait_until(within: Duration, mut probe: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if probe() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
