//! No allocation per packet: the heap is counted around `recv_batch` calls
//! once the source and the batch exist.
//!
//! One test in its own binary, so no other test thread allocates while the
//! counter runs. NEEDS ROOT, like `tests/veth.rs`.

mod common;

use std::{
    alloc::System,
    net::{SocketAddr, UdpSocket},
    time::Duration,
};

use callguard_afxdp::{AfXdpConfig, AfXdpSource};
use callguard_capture::{PacketBatch, PacketSource};
use common::{
    netns::{ADDR_A, IF_A, SENDER, VethPair, run_in},
    require_root,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn receiving_does_not_allocate_per_packet() {
    require_root("receiving_does_not_allocate_per_packet");
    let pair = VethPair::new("alloc");
    let ns_a = pair.ns_a.clone();
    let mut source =
        run_in(&ns_a, || AfXdpSource::open(&AfXdpConfig::new(IF_A), [20000, 20002])).unwrap_or_else(|e| panic!("{e}"));
    let sender = run_in(&pair.ns_b, || UdpSocket::bind(SENDER).expect("bind sender"));
    let to = SocketAddr::from((ADDR_A, 20000));
    let payload = [0xd5u8; 172];
    let mut batch = PacketBatch::new(64, 2048);

    // Warm-up: ARP, first ring use.
    sender.send_to(&payload, to).unwrap();
    assert_eq!(source.recv_batch(&mut batch, Duration::from_secs(5)).unwrap(), 1);

    let before = source.statistics().port_sweeps;
    let region = Region::new(GLOBAL);
    let mut received = 0;
    for _ in 0..20 {
        // Time passes between rounds: nothing runs periodically.
        std::thread::sleep(Duration::from_millis(3));
        for _ in 0..50 {
            sender.send_to(&payload, to).unwrap();
        }
        let mut round = 0;
        while round < 50 {
            let n = source.recv_batch(&mut batch, Duration::from_secs(5)).unwrap();
            assert!(n > 0, "datagrams lost: {:?}", source.counters());
            for r in &batch {
                assert_eq!(r.packet.payload.len(), 172);
            }
            round += n;
        }
        received += round;
    }
    let change = region.change();
    let sweeps = source.statistics().port_sweeps - before;
    assert_eq!(received, 1000);
    assert_eq!(sweeps, 0, "the port set did not change");
    assert_eq!(change.allocations, 0, "{change:?}");
    eprintln!("{received} packets, {sweeps} port-set comparisons, {} allocations", change.allocations);
}
