//! `AfPacketSource` (and `SocketSource` beside it) in a throwaway pair of
//! network namespaces joined by a veth, addresses from 198.18.0.0/15.
//!
//! These tests need root: creating namespaces and a veth pair takes
//! CAP_SYS_ADMIN and CAP_NET_ADMIN, and AF_PACKET takes CAP_NET_RAW. They
//! fail with that message rather than pass silently when run without it
//! (`cargo test -- --skip af_packet` to leave them out). They also need
//! iproute2's `ip`. Nothing outside the namespaces is touched: both ends of
//! the veth live in namespaces that are deleted when the test ends.

use std::collections::BTreeSet;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use callguard_capture::{
    AfPacketConfig, AfPacketSource, CaptureError, PacketBatch, PacketSource, ParseErrorKind, SocketConfig,
    SocketSource, SourceMode,
};
use nix::sched::{CloneFlags, setns};

const SENDER_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const RECEIVER_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

/// Two namespaces, `sender` and `receiver`, joined by a veth pair; deleted
/// (with the veth) on drop.
struct NetnsPair {
    sender: String,
    receiver: String,
    /// The veth end inside `receiver`.
    receiver_if: String,
}

fn ip(args: &[&str]) {
    let out =
        Command::new("ip").args(args).output().unwrap_or_else(|e| panic!("cannot run `ip` (install iproute2): {e}"));
    assert!(out.status.success(), "`ip {}` failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
}

impl NetnsPair {
    fn new() -> Self {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test needs root: it creates network namespaces and a veth pair \
             (CAP_SYS_ADMIN, CAP_NET_ADMIN) and opens AF_PACKET (CAP_NET_RAW); \
             run it as root, or leave it out with `cargo test -- --skip af_packet`"
        );
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let id = format!("{}x{}", std::process::id() % 100_000, NEXT.fetch_add(1, Ordering::Relaxed));
        let pair = Self {
            sender: format!("cgcap-{id}-tx"),
            receiver: format!("cgcap-{id}-rx"),
            receiver_if: format!("cg{id}r"),
        };
        let sender_if = format!("cg{id}s");
        ip(&["netns", "add", &pair.sender]);
        ip(&["netns", "add", &pair.receiver]);
        ip(&[
            "link",
            "add",
            &sender_if,
            "netns",
            &pair.sender,
            "type",
            "veth",
            "peer",
            "name",
            &pair.receiver_if,
            "netns",
            &pair.receiver,
        ]);
        ip(&["-n", &pair.sender, "addr", "add", "198.18.0.1/30", "dev", &sender_if]);
        ip(&["-n", &pair.receiver, "addr", "add", "198.18.0.2/30", "dev", &pair.receiver_if]);
        ip(&["-n", &pair.sender, "link", "set", &sender_if, "up"]);
        ip(&["-n", &pair.receiver, "link", "set", &pair.receiver_if, "up"]);
        pair
    }

    /// Run `f` on a thread inside namespace `name`; sockets it opens stay in
    /// that namespace wherever they are used later.
    fn run_in<T: Send + 'static>(name: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{name}");
        thread::spawn(move || {
            let ns = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            setns(&ns, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns {path}: {e}"));
            f()
        })
        .join()
        .expect("thread in namespace panicked")
    }

    /// Send each `(port, payload)` from 198.18.0.1:4000 to 198.18.0.2.
    fn send(&self, datagrams: Vec<(u16, Vec<u8>)>) {
        Self::run_in(&self.sender, move || {
            let socket = UdpSocket::bind((SENDER_IP, 4000)).expect("bind sender");
            for (port, payload) in datagrams {
                socket.send_to(&payload, (RECEIVER_IP, port)).expect("send");
                // Stay well below any queue limit.
                thread::sleep(Duration::from_micros(200));
            }
        });
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        for ns in [&self.sender, &self.receiver] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

type Seen = (SocketAddr, SocketAddr, Vec<u8>);

fn collect(source: &mut dyn PacketSource, want: usize, limit: Duration) -> Vec<Seen> {
    let mut batch = PacketBatch::new(32, 2048);
    let start = Instant::now();
    let mut seen = Vec::new();
    while seen.len() < want && start.elapsed() < limit {
        source.recv_batch(&mut batch, Duration::from_millis(50)).unwrap_or_else(|e| panic!("{}: {e}", source.name()));
        seen.extend(batch.iter().map(|r| (r.packet.src, r.packet.dst, r.packet.payload.to_vec())));
    }
    seen
}

fn traffic(media: &[u16], others: &[u16], per_port: usize) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    for round in 0..per_port {
        for &port in media.iter().chain(others) {
            out.push((port, format!("{port}/{round}").into_bytes()));
        }
    }
    out
}

#[test]
fn af_packet_delivers_media_ports_and_flags_fragments() {
    let pair = NetnsPair::new();
    let interface = pair.receiver_if.clone();
    let media = [20000u16, 20002];
    let mut source = NetnsPair::run_in(&pair.receiver, move || {
        AfPacketSource::open(&AfPacketConfig::new(interface), media).unwrap_or_else(|e| panic!("{e}"))
    });
    assert_eq!(source.mode(), SourceMode::AfPacket);
    assert_eq!(source.name(), format!("af_packet {}", pair.receiver_if));

    let mut datagrams = traffic(&media, &[20004, 5060], 5);
    // 3000 bytes over a 1500-byte MTU: the sender fragments it.
    datagrams.push((20002, vec![0x42; 3000]));
    pair.send(datagrams);

    let seen = collect(&mut source, 11, Duration::from_secs(10));
    let from = SocketAddr::from((SENDER_IP, 4000));
    let mut want: Vec<Seen> = traffic(&media, &[], 5)
        .into_iter()
        .map(|(port, payload)| (from, SocketAddr::from((RECEIVER_IP, port)), payload))
        .collect();
    // The first fragment: its share of the payload (1500 - 20 - 8 bytes).
    want.push((from, SocketAddr::from((RECEIVER_IP, 20002)), vec![0x42; 1472]));
    assert_eq!(seen, want);

    let c = source.counters();
    assert_eq!(c.delivered, 11);
    assert_eq!(c.filtered, 10, "5 each to ports 20004 and 5060");
    assert!(c.parse_errors.get(ParseErrorKind::Fragment) >= 1, "{c:?}");
    // The ARP request from the sender, at least.
    assert!(c.parse_errors.get(ParseErrorKind::UnsupportedEtherType) >= 1, "{c:?}");
    assert_eq!(c.received, c.delivered + c.filtered + c.truncated + c.parse_errors.total());

    // Live port change: 20004 now delivers.
    source.ports().add(20004).unwrap();
    pair.send(vec![(20004, b"now".to_vec())]);
    let seen = collect(&mut source, 1, Duration::from_secs(5));
    assert_eq!(seen, vec![(from, SocketAddr::from((RECEIVER_IP, 20004)), b"now".to_vec())]);
}

#[test]
fn af_packet_and_socket_sources_see_the_same_datagrams() {
    let pair = NetnsPair::new();
    let interface = pair.receiver_if.clone();
    let media: Vec<u16> = (0..20).map(|i| 30000 + 2 * i).collect();
    let media_for_ns = media.clone();
    let (mut af_packet, mut sockets) = NetnsPair::run_in(&pair.receiver, move || {
        let af = AfPacketSource::open(&AfPacketConfig::new(interface), media_for_ns.iter().copied())
            .unwrap_or_else(|e| panic!("{e}"));
        let sockets = SocketSource::with_ports(SocketConfig::default(), media_for_ns).unwrap_or_else(|e| panic!("{e}"));
        (af, sockets)
    });
    let datagrams = traffic(&media, &[31001, 31003, 5060], 10);
    let media_count = media.len() * 10;
    pair.send(datagrams);

    let by_socket: BTreeSet<Seen> = collect(&mut sockets, media_count, Duration::from_secs(10)).into_iter().collect();
    let by_af_packet: BTreeSet<Seen> =
        collect(&mut af_packet, media_count, Duration::from_secs(10)).into_iter().collect();
    assert_eq!(by_socket.len(), media_count, "every datagram is distinct");
    assert_eq!(by_socket, by_af_packet);
    for (src, dst, _) in &by_socket {
        assert_eq!(*src, SocketAddr::from((SENDER_IP, 4000)));
        assert_eq!(dst.ip(), RECEIVER_IP);
        assert!(media.contains(&dst.port()));
    }
    assert_eq!(sockets.counters().delivered, media_count as u64);
    assert_eq!(af_packet.counters().delivered, media_count as u64);
    assert_eq!(af_packet.counters().filtered, 30);
}

#[test]
fn af_packet_on_a_missing_interface_lists_the_present_ones() {
    let pair = NetnsPair::new();
    let err =
        NetnsPair::run_in(&pair.receiver, || AfPacketSource::open(&AfPacketConfig::new("nosuch0"), [20000]).err())
            .expect("no such interface");
    assert!(matches!(err, CaptureError::NoSuchInterface { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with("cannot open AF_PACKET on nosuch0: no such interface"), "{text}");
    assert!(text.contains(&pair.receiver_if), "{text}");
}
