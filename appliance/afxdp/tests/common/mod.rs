//! Helpers shared by the integration tests (and the bench example): the
//! root check, throwaway network namespaces joined by a veth pair, senders
//! and collectors. Adapted from `appliance/xdp/tests/common`.

#![allow(dead_code)]

pub mod netns;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use callguard_capture::{PacketBatch, PacketSource};

const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;
const CAP_SYS_ADMIN: u32 = 21;
const CAP_BPF: u32 = 39;

/// Fails the test (never skips it) when the process cannot load BPF
/// programs, open AF_XDP sockets or make network namespaces.
pub fn require_root(test: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    let missing: Vec<&str> = [
        (CAP_SYS_ADMIN, "CAP_SYS_ADMIN"),
        (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
        (CAP_NET_RAW, "CAP_NET_RAW"),
        (CAP_BPF, "CAP_BPF"),
    ]
    .into_iter()
    .filter(|(cap, _)| caps & (1 << cap) == 0)
    .map(|(_, name)| name)
    .collect();
    assert!(
        missing.is_empty(),
        "test {test} NEEDS ROOT: it loads BPF programs, opens AF_XDP sockets and makes network \
         namespaces, and this process lacks {}. Run the tests as root (e.g. `sudo -E cargo test`); \
         they fail rather than skip so that a green run means they ran.",
        missing.join(", ")
    );
}

/// A program from `examples/`, built by `cargo test` beside the test binaries.
pub fn example(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("target directory");
    let path = dir.join("examples").join(name);
    assert!(path.exists(), "{} is missing: build the examples (cargo test builds them)", path.display());
    path
}

/// What a source delivered, without the timestamp: (source, destination, payload).
pub type Seen = (SocketAddr, SocketAddr, Vec<u8>);

/// Receives from `source` until `want` datagrams arrived or `limit` passed.
pub fn collect(source: &mut dyn PacketSource, want: usize, limit: Duration) -> Vec<Seen> {
    let mut batch = PacketBatch::new(32, 2048);
    let start = Instant::now();
    let mut seen = Vec::new();
    while seen.len() < want && start.elapsed() < limit {
        source.recv_batch(&mut batch, Duration::from_millis(50)).unwrap_or_else(|e| panic!("{}: {e}", source.name()));
        seen.extend(batch.iter().map(|r| (r.packet.src, r.packet.dst, r.packet.payload.to_vec())));
    }
    seen
}

/// `per_port` rounds of one datagram to each port of `media` then
/// `others`, each payload naming its port and round.
pub fn traffic(media: &[u16], others: &[u16], per_port: usize) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    for round in 0..per_port {
        for &port in media.iter().chain(others) {
            out.push((port, format!("callguard {port}/{round}").into_bytes()));
        }
    }
    out
}

/// What a source should deliver of `datagrams` sent by `netns::send` to
/// the ports of `media`.
pub fn expected(datagrams: &[(u16, Vec<u8>)], media: &[u16]) -> Vec<Seen> {
    let mut want: Vec<Seen> = datagrams
        .iter()
        .filter(|(port, _)| media.contains(port))
        .map(|(port, payload)| (netns::SENDER, SocketAddr::from((netns::ADDR_A, *port)), payload.clone()))
        .collect();
    want.sort();
    want
}

/// Sorted, for comparing sets that arrive in any order.
pub fn sorted(mut seen: Vec<Seen>) -> Vec<Seen> {
    seen.sort();
    seen
}
