//! `AfXdpSource` on a veth pair between two throwaway network namespaces
//! (198.18.0.1 in A, where the source runs; 198.18.0.2 in B, the sender).
//!
//! NEEDS ROOT (CAP_SYS_ADMIN for namespaces, CAP_NET_ADMIN and CAP_BPF for
//! the XDP program, CAP_NET_RAW for AF_XDP and AF_PACKET) and iproute2;
//! fails without them.

mod common;

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    time::{Duration, Instant},
};

use callguard_afxdp::{AfXdpConfig, AfXdpError, AfXdpSource, Queues, XdpMode, ZeroCopy};
use callguard_capture::{AfPacketConfig, AfPacketSource, PacketBatch, PacketSource, SocketConfig, SocketSource};
use callguard_dataplane::{Codec, DataPlane, StreamConfig, StreamSpec};
use callguard_rtp::RtpHeader;
use callguard_xdp::attached_programs;
use common::{
    Seen, collect, expected,
    netns::{ADDR_A, IF_A, SENDER, VethPair, receive_count, run_in, wait_until},
    require_root, sorted, traffic,
};

const WAIT: Duration = Duration::from_secs(5);
const PACE: Duration = Duration::from_micros(100);

fn open_in(pair: &VethPair, config: AfXdpConfig, ports: Vec<u16>) -> Result<AfXdpSource, AfXdpError> {
    run_in(&pair.ns_a, move || AfXdpSource::open(&config, ports))
}

fn program_ids(pair: &VethPair) -> Vec<(u32, String)> {
    run_in(&pair.ns_a, || attached_programs(IF_A).expect("query cg-a").into_iter().map(|p| (p.id, p.name)).collect())
}

/// `got == want`, reported by count and a few differences rather than in full.
fn assert_same(source: &str, got: &BTreeSet<Seen>, want: &BTreeSet<Seen>) {
    let missing: Vec<&Seen> = want.difference(got).take(3).collect();
    let extra: Vec<&Seen> = got.difference(want).take(3).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{source}: {} datagrams, want {}; missing e.g. {missing:?}; extra e.g. {extra:?}",
        got.len(),
        want.len()
    );
}

/// Nothing more arrives within a short while.
fn quiet(source: &mut dyn PacketSource) -> Vec<Seen> {
    collect(source, 1, Duration::from_millis(300))
}

#[test]
fn receives_exactly_the_media_and_the_kernel_keeps_the_rest() {
    require_root("receives_exactly_the_media_and_the_kernel_keeps_the_rest");
    let pair = VethPair::new("exact");
    let media: Vec<u16> = (0..20).map(|i| 20000 + 2 * i).collect();
    let mut source = open_in(&pair, AfXdpConfig::new(IF_A), media.clone()).unwrap_or_else(|e| panic!("{e}"));

    let report = source.mode_report().clone();
    assert_eq!(report.xdp_mode, XdpMode::Native, "veth has native XDP: {report}");
    assert_eq!(report.native_error, None);
    assert_eq!(report.rx_queues, Some(1), "{report}");
    assert_eq!(report.queues.len(), 1);
    assert!(!report.zero_copy(), "veth has no AF_XDP zero-copy: {report}");
    let reason = report.copy_reason.as_deref().expect("a reason for copy mode");
    assert!(reason.starts_with("zero-copy refused by the driver: "), "{reason}");
    assert_eq!(source.name(), "af_xdp cg-a (native XDP, copy)");
    assert_eq!(source.mode(), callguard_capture::SourceMode::AfXdp);
    let shown = report.to_string();
    assert!(shown.starts_with("af_xdp cg-a: XDP in native mode, sockets in copy mode (zero-copy refused"), "{shown}");
    assert!(shown.ends_with(", RX queue 0 of 1"), "{shown}");
    assert_eq!(source.ports().to_vec(), media);

    // SIP on a kernel socket, and two ports nobody listens on.
    let sip = pair.bind_a(5060);
    let datagrams = traffic(&media, &[5060, 21001, 21003], 5);
    pair.send(datagrams.clone(), PACE);

    let want = expected(&datagrams, &media);
    let seen = sorted(collect(&mut source, want.len(), WAIT));
    assert_eq!(seen.len(), 100);
    assert_eq!(seen, want, "addresses, ports and payloads intact, media only");
    assert!(quiet(&mut source).is_empty(), "nothing but media on the AF_XDP socket");
    assert_eq!(receive_count(&sip, 5, WAIT), 5, "the kernel stack still gets SIP");

    let c = source.counters();
    assert_eq!((c.received, c.delivered, c.filtered, c.truncated, c.dropped), (100, 100, 0, 0, 0), "{c:?}");
    assert_eq!(c.parse_errors.total(), 0, "{c:?}");
    let stats = source.statistics();
    let program = stats.program.expect("program counters");
    assert_eq!(program.redirected, 100, "{program:?}");
    assert_eq!(program.no_socket, 0, "{program:?}");
    assert!(program.passed >= 5 + 10, "SIP, the unlistened ports, ARP: {program:?}");
    assert_eq!(stats.queues.len(), 1);
    assert_eq!(stats.queues[0].frames, 100);
    let kernel = stats.queues[0].kernel.expect("XDP_STATISTICS");
    assert_eq!(kernel.dropped(), 0, "{kernel:?}");
    assert_eq!(stats.queues[0].invalid_descriptors, 0);
}

#[test]
fn live_port_changes_reach_the_xdp_program() {
    require_root("live_port_changes_reach_the_xdp_program");
    let pair = VethPair::new("live");
    let mut source = open_in(&pair, AfXdpConfig::new(IF_A), vec![20000]).unwrap_or_else(|e| panic!("{e}"));
    let ports = source.ports();
    let from = SENDER;
    let to = |port: u16| SocketAddr::from((ADDR_A, port));
    let one = |port: u16, text: &str| vec![(port, text.as_bytes().to_vec())];
    let mut batch = PacketBatch::new(8, 2048);

    // 20002 is not media: its kernel socket gets it.
    let kernel_20002 = pair.bind_a(20002);
    pair.send([one(20000, "a"), one(20002, "b")].concat(), PACE);
    assert_eq!(collect(&mut source, 1, WAIT), vec![(from, to(20000), b"a".to_vec())]);
    assert_eq!(receive_count(&kernel_20002, 1, WAIT), 1);

    // Added: the next recv_batch writes it to the program; the kernel
    // socket no longer sees it.
    ports.add(20002).unwrap();
    let before = source.statistics().port_updates;
    source.recv_batch(&mut batch, Duration::ZERO).unwrap();
    assert_eq!(source.statistics().port_updates, before + 1);
    assert!(source.program().is_media_port(20002));
    pair.send(one(20002, "c"), PACE);
    assert_eq!(collect(&mut source, 1, WAIT), vec![(from, to(20002), b"c".to_vec())]);
    assert_eq!(receive_count(&kernel_20002, 1, Duration::from_millis(300)), 0);

    // Removed: filtered at once in user space, out of the program at the
    // next recv_batch, back to the kernel stack.
    assert!(ports.remove(20000));
    let kernel_20000 = pair.bind_a(20000);
    source.recv_batch(&mut batch, Duration::ZERO).unwrap();
    assert!(!source.program().is_media_port(20000));
    pair.send(one(20000, "d"), PACE);
    assert_eq!(receive_count(&kernel_20000, 1, WAIT), 1);
    assert!(quiet(&mut source).is_empty());

    // A removal and an addition that leave the size unchanged: the
    // generation moved all the same.
    let kernel_20004 = pair.bind_a(20004);
    assert!(ports.remove(20002));
    ports.add(20004).unwrap();
    source.recv_batch(&mut batch, Duration::ZERO).unwrap();
    assert!(source.program().is_media_port(20004) && !source.program().is_media_port(20002));
    pair.send([one(20004, "e"), one(20002, "f")].concat(), PACE);
    assert_eq!(collect(&mut source, 1, WAIT), vec![(from, to(20004), b"e".to_vec())]);
    assert_eq!(receive_count(&kernel_20002, 1, WAIT), 1);
    assert_eq!(receive_count(&kernel_20004, 1, Duration::from_millis(300)), 0);

    // A port added from another thread while recv_batch is blocked: picked
    // up within a poll slice, and the media that follows arrives in that
    // same call.
    let adder = {
        let ports = ports.clone();
        let ns_b = pair.ns_b.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            ports.add(20006).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            run_in(&ns_b, || {
                let socket = std::net::UdpSocket::bind(SENDER).expect("bind sender");
                socket.send_to(b"g", (ADDR_A, 20006)).expect("send");
            });
        })
    };
    let started = Instant::now();
    let n = source.recv_batch(&mut batch, Duration::from_secs(3)).unwrap();
    adder.join().unwrap();
    assert_eq!(n, 1, "after {:?}", started.elapsed());
    assert_eq!(batch.get(0).unwrap().packet.dst, to(20006));

    let c = source.counters();
    assert_eq!(c.delivered, 4, "{c:?}");
    assert_eq!(c.received, c.delivered + c.filtered, "{c:?}");
}

#[test]
fn af_xdp_af_packet_and_sockets_yield_the_same_datagrams() {
    require_root("af_xdp_af_packet_and_sockets_yield_the_same_datagrams");
    let pair = VethPair::new("same");
    let media: Vec<u16> = (0..30).map(|i| 30000 + 2 * i).collect();
    let datagrams = traffic(&media, &[31001, 31003, 5060], 10);
    let want = expected(&datagrams, &media);
    assert_eq!(want.len(), 300);

    // AF_XDP first, alone: while it redirects, the kernel stack (and so
    // AF_PACKET and sockets) never sees the media.
    let by_af_xdp: BTreeSet<Seen> = {
        let mut source = open_in(&pair, AfXdpConfig::new(IF_A), media.clone()).unwrap_or_else(|e| panic!("{e}"));
        pair.send(datagrams.clone(), PACE);
        let seen = collect(&mut source, want.len(), WAIT);
        assert_eq!(source.counters().delivered, 300);
        assert_eq!(source.counters().filtered, 0, "the program redirected media only");
        seen.into_iter().collect()
    };
    assert!(wait_until(WAIT, || program_ids(&pair).is_empty()), "detached on drop");

    // Then AF_PACKET and sockets together: the sockets bind the media
    // ports (so the kernel does not answer them), AF_PACKET sees the frames.
    let ns_media = media.clone();
    let (mut af_packet, mut sockets) = run_in(&pair.ns_a, move || {
        // Read after the sockets: a queue large enough for all 330 frames.
        let mut config = AfPacketConfig::new(IF_A);
        config.receive_buffer_bytes = Some(4 << 20);
        let af = AfPacketSource::open(&config, ns_media.iter().copied()).unwrap_or_else(|e| panic!("{e}"));
        let sockets = SocketSource::with_ports(SocketConfig::default(), ns_media).unwrap_or_else(|e| panic!("{e}"));
        (af, sockets)
    });
    pair.send(datagrams, PACE);
    let by_socket: BTreeSet<Seen> = collect(&mut sockets, want.len(), WAIT).into_iter().collect();
    let by_af_packet: BTreeSet<Seen> = collect(&mut af_packet, want.len(), WAIT).into_iter().collect();

    let want: BTreeSet<Seen> = want.into_iter().collect();
    assert_eq!(want.len(), 300, "every datagram is distinct");
    assert_same("af_xdp", &by_af_xdp, &want);
    assert_same("af_packet", &by_af_packet, &want);
    assert_same("socket", &by_socket, &want);
    assert_eq!(af_packet.counters().delivered, 300);
    assert_eq!(af_packet.counters().filtered, 30, "the non-media datagrams");
    assert_eq!(sockets.counters().delivered, 300);
}

#[test]
fn drop_leaves_no_program_and_a_failed_open_none_either() {
    require_root("drop_leaves_no_program_and_a_failed_open_none_either");
    let pair = VethPair::new("drop");
    let source = open_in(&pair, AfXdpConfig::new(IF_A), vec![20000]).unwrap_or_else(|e| panic!("{e}"));
    let id = source.program().program_id().expect("program id");
    assert_eq!(program_ids(&pair), vec![(id, "callguard_xdp".to_owned())]);
    assert!(pair.link_details_a().contains(&format!("prog/xdp id {id}")), "{}", pair.link_details_a());

    // A second source on the same interface is refused before it touches
    // the first one's program.
    let err = open_in(&pair, AfXdpConfig::new(IF_A), vec![20002]).expect_err("second source");
    assert!(err.to_string().contains("already has an AF_XDP source in this process"), "{err}");
    assert_eq!(program_ids(&pair), vec![(id, "callguard_xdp".to_owned())]);

    drop(source);
    // A child process forked by a concurrent test may hold the link until it execs.
    assert!(wait_until(WAIT, || program_ids(&pair).is_empty()), "left: {:?}", program_ids(&pair));
    assert!(!pair.link_details_a().contains("xdp"), "{}", pair.link_details_a());

    // An open that fails after attaching (no queue 5 on this veth) detaches again.
    let mut config = AfXdpConfig::new(IF_A);
    config.queues = Queues::Only(vec![5]);
    let err = open_in(&pair, config, vec![20000]).expect_err("queue 5 does not exist");
    let text = err.to_string();
    assert!(matches!(err, AfXdpError::Socket { queue: 5, .. }), "{err:?}");
    assert!(text.starts_with("cannot bind the AF_XDP socket on cg-a RX queue 5: "), "{text}");
    assert!(text.contains("ethtool -l"), "{text}");
    assert!(wait_until(WAIT, || program_ids(&pair).is_empty()), "left: {:?}", program_ids(&pair));

    // And the interface works again for the next source.
    let mut again = open_in(&pair, AfXdpConfig::new(IF_A), vec![20000]).unwrap_or_else(|e| panic!("{e}"));
    pair.send(vec![(20000, b"again".to_vec())], PACE);
    assert_eq!(collect(&mut again, 1, WAIT).len(), 1);
}

#[test]
fn every_rx_queue_gets_a_socket() {
    require_root("every_rx_queue_gets_a_socket");
    let pair = VethPair::with_queues("mq", 2);
    let media: Vec<u16> = (0..64).map(|i| 40000 + i).collect();
    let datagrams = traffic(&media, &[], 4);

    let mut all = open_in(&pair, AfXdpConfig::new(IF_A), media.clone()).unwrap_or_else(|e| panic!("{e}"));
    let report = all.mode_report().clone();
    assert_eq!(report.rx_queues, Some(2), "{report}");
    assert_eq!(report.queues.iter().map(|q| q.queue).collect::<Vec<_>>(), vec![0, 1]);
    pair.send(datagrams.clone(), PACE);
    let seen = sorted(collect(&mut all, datagrams.len(), WAIT));
    assert_eq!(seen, expected(&datagrams, &media));
    let stats = all.statistics();
    let per_queue: Vec<u64> = stats.queues.iter().map(|q| q.frames).collect();
    assert!(per_queue.iter().all(|&n| n > 0), "flows hash onto both queues: {per_queue:?}");
    assert_eq!(per_queue.iter().sum::<u64>(), 256);
    assert_eq!(stats.program.expect("counters").no_socket, 0);
    drop(all);

    // Queue 0 only: media hashed to queue 1 goes to the kernel stack.
    let mut config = AfXdpConfig::new(IF_A);
    config.queues = Queues::Only(vec![0]);
    let mut first = open_in(&pair, config, media.clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.mode_report().rx_queues, None);
    pair.send(datagrams.clone(), PACE);
    let got = collect(&mut first, per_queue[0] as usize, WAIT).len();
    assert!(quiet(&mut first).is_empty());
    let program = first.statistics().program.expect("counters");
    assert_eq!(got as u64, program.redirected, "{program:?}");
    assert_eq!(program.redirected + program.no_socket, 256, "{program:?}");
    assert!(program.no_socket > 0, "{program:?}");
}

#[test]
fn the_data_plane_runs_a_thread_per_rx_queue() {
    require_root("the_data_plane_runs_a_thread_per_rx_queue");
    let pair = VethPair::with_queues("mqdp", 2);
    let source = open_in(&pair, AfXdpConfig::new(IF_A), Vec::new()).unwrap_or_else(|e| panic!("{e}"));
    let plane = DataPlane::start(Box::new(source)).expect("data plane");
    let names: Vec<String> = plane.threads().into_iter().map(|t| t.source).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names[0].starts_with("af_xdp cg-a queue 0 (") && names[1].starts_with("af_xdp cg-a queue 1 ("),
        "{names:?}"
    );

    // Streams added while the threads run: the port set reaches the
    // program through whichever part looks first (within a poll slice).
    let ports: Vec<u16> = (0..64).map(|i| 42000 + 2 * i).collect();
    let streams: Vec<_> = ports
        .iter()
        .map(|&port| {
            plane.add_stream(StreamSpec { port, config: StreamConfig::new(Codec::Pcmu, 0), srtp: None }).unwrap();
            plane.stream_counters(port).expect("counters")
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let rtp = |sequence: u16| {
        let header =
            RtpHeader { marker: false, payload_type: 0, sequence, timestamp: 160 * u32::from(sequence), ssrc: 7 };
        header.to_packet(&[0xff; 160])
    };
    let datagrams: Vec<(u16, Vec<u8>)> = (0..4).flat_map(|seq| ports.iter().map(move |&p| (p, rtp(seq)))).collect();
    pair.send(datagrams, PACE);

    let packets = |i: usize| streams[i].packets.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        wait_until(WAIT, || (0..ports.len()).all(|i| packets(i) == 4)),
        "{:?}",
        (0..64).map(packets).collect::<Vec<_>>()
    );
    let threads = plane.threads();
    let per_thread: Vec<u64> = threads.iter().map(|t| t.counters.packets).collect();
    assert!(per_thread.iter().all(|&n| n > 0), "flows hash onto both queues, each read by its thread: {threads:?}");
    assert_eq!(plane.counters().packets, 256, "{threads:?}");
    assert_eq!(plane.counters().unknown_port, 0);
    assert!(wait_until(WAIT, || streams.iter().all(|s| s.frames.load(std::sync::atomic::Ordering::Relaxed) > 0)));
}

#[test]
fn kernel_drops_are_counted() {
    require_root("kernel_drops_are_counted");
    let pair = VethPair::new("drops");
    let mut config = AfXdpConfig::new(IF_A);
    config.frame_count = 64;
    let mut source = open_in(&pair, config, vec![20000]).unwrap_or_else(|e| panic!("{e}"));
    // 200 datagrams and nobody reading: 64 frames fill the RX ring, the
    // rest are dropped by the kernel.
    pair.send(traffic(&[20000], &[], 200), PACE);
    assert!(wait_until(WAIT, || source.statistics().program.expect("counters").redirected == 200));
    let c = source.counters();
    assert_eq!(c.dropped, 136, "{:?}", source.statistics());
    let got = collect(&mut source, 64, WAIT).len();
    assert_eq!(got, 64);
    let c = source.counters();
    assert_eq!((c.received, c.delivered, c.dropped), (64, 64, 136), "{c:?}");
    let kernel = source.statistics().queues[0].kernel.expect("XDP_STATISTICS");
    assert_eq!(kernel.rx_dropped + kernel.rx_ring_full, 136, "{kernel:?}");

    // The frames went back to the fill ring: reception goes on.
    pair.send(traffic(&[20000], &[], 10), PACE);
    assert_eq!(collect(&mut source, 10, WAIT).len(), 10);
    assert_eq!(source.counters().dropped, 136);
}

#[test]
fn zero_copy_required_on_veth_is_refused_clearly() {
    require_root("zero_copy_required_on_veth_is_refused_clearly");
    let pair = VethPair::new("zc");
    let mut config = AfXdpConfig::new(IF_A);
    config.zero_copy = ZeroCopy::Require;
    let err = open_in(&pair, config, vec![20000]).expect_err("veth has no zero-copy");
    let text = err.to_string();
    assert!(matches!(err, AfXdpError::ZeroCopyRefused { queue: 0, .. }), "{err:?}");
    assert!(text.starts_with("AF_XDP zero-copy was required on cg-a RX queue 0 but is not available: "), "{text}");
    assert!(wait_until(WAIT, || program_ids(&pair).is_empty()));

    // Copy mode asked for: no zero-copy attempt, the reason says so.
    let mut config = AfXdpConfig::new(IF_A);
    config.zero_copy = ZeroCopy::Never;
    let source = open_in(&pair, config, vec![20000]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(source.mode_report().copy_reason.as_deref(), Some("copy mode configured"));

    // Generic XDP: copy mode, and the report says why.
    drop(source);
    let mut config = AfXdpConfig::new(IF_A);
    config.xdp_mode = XdpMode::Generic;
    let mut source = open_in(&pair, config, vec![20000]).unwrap_or_else(|e| panic!("{e}"));
    let report = source.mode_report().clone();
    assert_eq!(report.xdp_mode, XdpMode::Generic);
    assert_eq!(source.name(), "af_xdp cg-a (generic XDP, copy)");
    assert!(report.copy_reason.as_deref().unwrap_or("").contains("generic mode"), "{report}");
    pair.send(vec![(20000, b"generic".to_vec())], PACE);
    assert_eq!(collect(&mut source, 1, WAIT).len(), 1);
}

#[test]
fn busy_polling_receives_too() {
    require_root("busy_polling_receives_too");
    let pair = VethPair::new("busy");
    let mut config = AfXdpConfig::new(IF_A);
    config.busy_poll = Some(callguard_afxdp::BusyPoll { usecs: 50, budget: 16 });
    let mut source = open_in(&pair, config, vec![20000]).unwrap_or_else(|e| panic!("{e}"));
    assert!(source.mode_report().to_string().contains("busy polling 50 us / 16 packets"));
    pair.send(traffic(&[20000], &[], 20), PACE);
    assert_eq!(collect(&mut source, 20, WAIT).len(), 20);
    // A timeout still returns.
    let started = Instant::now();
    let n = source.recv_batch(&mut PacketBatch::new(4, 2048), Duration::from_millis(50)).unwrap();
    assert_eq!(n, 0);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn a_fragmented_datagram_gives_its_first_fragment() {
    require_root("a_fragmented_datagram_gives_its_first_fragment");
    let pair = VethPair::new("frag");
    let mut source = open_in(&pair, AfXdpConfig::new(IF_A), vec![20000]).unwrap_or_else(|e| panic!("{e}"));
    // 3000 bytes over a 1500-byte MTU: the program redirects the first
    // fragment (it has the UDP header) and passes the second to the kernel.
    pair.send(vec![(20000, vec![0x42; 3000])], PACE);
    let mut batch = PacketBatch::new(4, 2048);
    assert_eq!(source.recv_batch(&mut batch, WAIT).unwrap(), 1);
    let first = batch.get(0).unwrap().packet;
    assert!(first.first_fragment);
    assert_eq!(first.payload, &[0x42; 1472][..], "its share: 1500 - 20 - 8 bytes");
    assert!(quiet(&mut source).is_empty(), "the later fragment went to the kernel stack");
    let c = source.counters();
    assert_eq!((c.received, c.delivered, c.parse_errors.total()), (1, 1, 0), "{c:?}");
}

#[test]
fn a_missing_interface_is_named() {
    require_root("a_missing_interface_is_named");
    let pair = VethPair::new("noif");
    let err = open_in(&pair, AfXdpConfig::new("nosuch0"), vec![20000]).expect_err("no such interface");
    let text = err.to_string();
    assert!(text.contains("network interface \"nosuch0\" does not exist"), "{text}");
}
