//! `SocketSource` on loopback: unprivileged, no setup.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use callguard_capture::{
    CaptureError, PacketBatch, PacketSource, SocketConfig, SocketSource, SourceMode, TimestampKind,
};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

type Seen = (SocketAddr, SocketAddr, Vec<u8>);

/// `count` ports on `ip` from `start` up that nothing else holds right now
/// (the machine is shared: never assume a fixed port is free).
fn free_ports(ip: IpAddr, start: u16, count: usize) -> Vec<u16> {
    let ports: Vec<u16> =
        (start..u16::MAX).filter(|&p| UdpSocket::bind(SocketAddr::new(ip, p)).is_ok()).take(count).collect();
    assert_eq!(ports.len(), count, "not enough free UDP ports above {start}");
    ports
}

/// Receive until `want` datagrams arrived or `limit` passed.
fn collect(source: &mut SocketSource, batch: &mut PacketBatch, want: usize, limit: Duration) -> Vec<Seen> {
    let start = Instant::now();
    let mut seen = Vec::new();
    while seen.len() < want && start.elapsed() < limit {
        let n = source.recv_batch(batch, Duration::from_millis(50)).unwrap_or_else(|e| panic!("recv_batch: {e}"));
        assert_eq!(n, batch.len());
        for r in batch.iter() {
            seen.push((r.packet.src, r.packet.dst, r.packet.payload.to_vec()));
        }
    }
    seen
}

fn sender(ip: IpAddr) -> UdpSocket {
    UdpSocket::bind(SocketAddr::new(ip, 0)).expect("bind sender")
}

#[test]
fn delivers_bound_ports_only_with_addresses_and_kernel_timestamps() {
    let ports = free_ports(LOOPBACK, 21000, 3);
    let (media, other) = (&ports[..2], ports[2]);
    let mut source = SocketSource::with_ports(SocketConfig::new(LOOPBACK), media.iter().copied()).unwrap();
    assert_eq!(source.mode(), SourceMode::Socket);
    assert_eq!(source.name(), "socket 127.0.0.1");
    let tx = sender(LOOPBACK);
    let before = SystemTime::now();
    tx.send_to(b"to-other", (LOOPBACK, other)).unwrap();
    tx.send_to(b"first", (LOOPBACK, media[0])).unwrap();
    tx.send_to(b"", (LOOPBACK, media[1])).unwrap();
    let mut batch = PacketBatch::new(16, 2048);
    let mut seen = collect(&mut source, &mut batch, 2, Duration::from_secs(5));
    seen.sort();
    let from = tx.local_addr().unwrap();
    let mut expected = vec![
        (from, SocketAddr::new(LOOPBACK, media[0]), b"first".to_vec()),
        (from, SocketAddr::new(LOOPBACK, media[1]), Vec::new()),
    ];
    expected.sort();
    assert_eq!(seen, expected);

    // The last batch's timestamps come from the kernel and are recent.
    tx.send_to(b"stamp", (LOOPBACK, media[0])).unwrap();
    let n = source.recv_batch(&mut batch, Duration::from_secs(5)).unwrap();
    assert_eq!(n, 1);
    let r = batch.get(0).unwrap();
    assert_eq!(r.timestamp_kind, TimestampKind::Kernel);
    assert!(r.timestamp >= before - Duration::from_secs(1));
    assert!(r.timestamp <= SystemTime::now() + Duration::from_secs(1));
    assert!(!r.packet.first_fragment && r.packet.vlan.is_none());

    let c = source.counters();
    assert_eq!((c.received, c.delivered, c.truncated, c.dropped), (3, 3, 0, 0));
}

#[test]
fn thousands_of_ports() {
    let ports = free_ports(LOOPBACK, 24000, 2500);
    let mut source = SocketSource::with_ports(SocketConfig::new(LOOPBACK), ports.iter().copied())
        .unwrap_or_else(|e| panic!("binding 2500 ports: {e}"));
    assert_eq!(source.ports().len(), 2500);
    let unbound: Vec<u16> = free_ports(LOOPBACK, 28000, 20);
    let tx = sender(LOOPBACK);
    for (i, &port) in ports.iter().enumerate() {
        tx.send_to(&port.to_be_bytes(), (LOOPBACK, port)).unwrap();
        if i % 125 == 0 {
            let stray = unbound[i / 125];
            tx.send_to(&stray.to_be_bytes(), (LOOPBACK, stray)).unwrap();
        }
    }
    let mut batch = PacketBatch::new(64, 2048);
    let seen = collect(&mut source, &mut batch, ports.len(), Duration::from_secs(20));
    assert_eq!(seen.len(), ports.len());
    let mut got = BTreeSet::new();
    for (src, dst, payload) in &seen {
        assert_eq!(*src, tx.local_addr().unwrap());
        assert_eq!(payload[..], dst.port().to_be_bytes(), "payload names its port");
        got.insert(dst.port());
    }
    assert_eq!(got, ports.iter().copied().collect::<BTreeSet<_>>());
    // Nothing more (the strays went to unbound ports).
    assert_eq!(source.recv_batch(&mut batch, Duration::from_millis(100)).unwrap(), 0);
    assert_eq!(source.counters().delivered, 2500);
}

#[test]
fn ports_added_and_removed_live_from_another_thread() {
    let ports = free_ports(LOOPBACK, 29000, 3);
    let (first, second, third) = (ports[0], ports[1], ports[2]);
    let mut source = SocketSource::with_ports(SocketConfig::new(LOOPBACK), [first]).unwrap();
    let control = source.ports();
    let (seen_tx, seen_rx) = mpsc::channel::<Seen>();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let data_plane = thread::spawn(move || {
        let mut batch = PacketBatch::new(32, 2048);
        while stop_rx.try_recv().is_err() {
            // A long timeout: live changes must wake the blocked call.
            source.recv_batch(&mut batch, Duration::from_secs(2)).unwrap();
            for r in &batch {
                let _ = seen_tx.send((r.packet.src, r.packet.dst, r.packet.payload.to_vec()));
            }
        }
        source
    });
    let tx = sender(LOOPBACK);
    // Wait until `port` delivers, sending a probe every 20 ms.
    let await_delivery = |port: u16, tag: &[u8]| {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            tx.send_to(tag, (LOOPBACK, port)).unwrap();
            if let Ok((_, dst, payload)) = seen_rx.recv_timeout(Duration::from_millis(20))
                && dst.port() == port
                && payload == tag
            {
                return;
            }
            assert!(Instant::now() < deadline, "port {port} never delivered");
        }
    };
    await_delivery(first, b"first");

    // Add from this thread while the data plane is blocked in recv_batch.
    control.add(second).unwrap();
    control.add(second).unwrap(); // idempotent
    assert!(control.contains(second));
    await_delivery(second, b"second");

    // Remove: the data plane closes the socket, so the port becomes free.
    assert!(control.remove(first));
    assert!(!control.remove(first));
    let deadline = Instant::now() + Duration::from_secs(5);
    let probe = loop {
        if let Ok(probe) = UdpSocket::bind((LOOPBACK, first)) {
            break probe;
        }
        assert!(Instant::now() < deadline, "port {first} still bound after remove");
        thread::sleep(Duration::from_millis(10));
    };
    drop(probe);

    // Remove and re-add at once: the socket is reused, nothing fails to bind.
    assert!(control.remove(second));
    control.add(second).unwrap();
    control.add(third).unwrap();
    await_delivery(third, b"third");
    await_delivery(second, b"again");
    assert_eq!(control.to_vec(), vec![second, third]);

    // Nothing arrives for the removed port.
    while seen_rx.try_recv().is_ok() {}
    tx.send_to(b"late", (LOOPBACK, first)).unwrap();
    tx.send_to(b"marker", (LOOPBACK, third)).unwrap();
    let (_, dst, payload) = seen_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!((dst.port(), payload.as_slice()), (third, &b"marker"[..]));

    stop_tx.send(()).unwrap();
    tx.send_to(b"wake", (LOOPBACK, third)).unwrap();
    let source = data_plane.join().unwrap();
    assert_eq!(source.counters().truncated, 0);
}

#[test]
fn add_port_and_remove_port_on_the_source_itself() {
    let ports = free_ports(LOOPBACK, 30000, 1);
    let mut source = SocketSource::new(SocketConfig::new(LOOPBACK)).unwrap();
    assert!(source.ports().is_empty());
    source.add_port(ports[0]).unwrap();
    let tx = sender(LOOPBACK);
    tx.send_to(b"x", (LOOPBACK, ports[0])).unwrap();
    let mut batch = PacketBatch::new(4, 64);
    assert_eq!(collect(&mut source, &mut batch, 1, Duration::from_secs(5)).len(), 1);
    assert!(source.remove_port(ports[0]).unwrap());
    assert!(!source.remove_port(ports[0]).unwrap());
    // The socket is closed at once: the port can be bound again.
    UdpSocket::bind((LOOPBACK, ports[0])).expect("port free after remove_port");
}

#[test]
fn bind_failures_say_which_port_and_what_to_do() {
    let taken = UdpSocket::bind((LOOPBACK, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut source = SocketSource::new(SocketConfig::new(LOOPBACK)).unwrap();
    let err = source.add_port(port).unwrap_err();
    assert!(matches!(err, CaptureError::Bind { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.starts_with(&format!("cannot bind UDP port 127.0.0.1:{port}: Address already in use")), "{text}");
    assert!(text.contains("ss -ulpn"), "{text}");
    assert!(!source.ports().contains(port));
    assert!(matches!(source.ports().add(0), Err(CaptureError::PortZero)));
    let err = SocketSource::with_ports(SocketConfig::new("192.0.2.1".parse().unwrap()), [40000])
        .err()
        .expect("192.0.2.1 is not a local address");
    assert!(err.to_string().contains("not configured on this host"), "{err}");
}

#[test]
fn timeout_batch_capacity_and_oversized_datagrams() {
    let ports = free_ports(LOOPBACK, 31000, 1);
    let port = ports[0];
    let mut source = SocketSource::with_ports(SocketConfig::new(LOOPBACK), [port]).unwrap();
    let mut batch = PacketBatch::new(4, 32);

    // Nothing queued: returns 0 after about the timeout.
    let start = Instant::now();
    assert_eq!(source.recv_batch(&mut batch, Duration::from_millis(60)).unwrap(), 0);
    assert!(start.elapsed() >= Duration::from_millis(50), "{:?}", start.elapsed());
    assert_eq!(source.recv_batch(&mut batch, Duration::ZERO).unwrap(), 0);

    let tx = sender(LOOPBACK);
    tx.send_to(&[7; 100], (LOOPBACK, port)).unwrap(); // larger than a 32-byte slot
    for i in 0..10u8 {
        tx.send_to(&[i; 32], (LOOPBACK, port)).unwrap();
    }
    thread::sleep(Duration::from_millis(50));
    let mut sizes = Vec::new();
    let mut order = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while order.len() < 10 && Instant::now() < deadline {
        let n = source.recv_batch(&mut batch, Duration::from_millis(100)).unwrap();
        sizes.push(n);
        order.extend(batch.iter().map(|r| r.packet.payload[0]));
    }
    assert_eq!(order, (0..10).collect::<Vec<u8>>(), "in order, oversized one dropped");
    assert_eq!(sizes, vec![4, 4, 2], "at most the batch capacity per call");
    let c = source.counters();
    assert_eq!((c.received, c.delivered, c.truncated), (11, 10, 1));
}

#[test]
fn ipv6_and_dual_stack() {
    let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
    let port = free_ports(v6, 32000, 1)[0];
    let mut source = SocketSource::with_ports(SocketConfig::new(v6), [port]).unwrap();
    let tx = sender(v6);
    tx.send_to(b"six", (v6, port)).unwrap();
    let mut batch = PacketBatch::new(4, 64);
    let seen = collect(&mut source, &mut batch, 1, Duration::from_secs(5));
    assert_eq!(seen, vec![(tx.local_addr().unwrap(), SocketAddr::new(v6, port), b"six".to_vec())]);

    // Bound on `::`, IPv4 traffic arrives with plain IPv4 addresses.
    let any6 = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
    let port = free_ports(any6, 32500, 1)[0];
    let mut source = SocketSource::with_ports(SocketConfig::new(any6), [port]).unwrap();
    let tx4 = sender(LOOPBACK);
    tx4.send_to(b"four", (LOOPBACK, port)).unwrap();
    let seen = collect(&mut source, &mut batch, 1, Duration::from_secs(5));
    assert_eq!(seen, vec![(tx4.local_addr().unwrap(), SocketAddr::new(LOOPBACK, port), b"four".to_vec())]);
}

#[test]
fn source_is_usable_as_a_trait_object_on_another_thread() {
    let port = free_ports(LOOPBACK, 33000, 1)[0];
    let source: Box<dyn PacketSource> =
        Box::new(SocketSource::with_ports(SocketConfig::new(LOOPBACK), [port]).unwrap());
    let handle = thread::spawn(move || {
        let mut source = source;
        let mut batch = PacketBatch::new(8, 256);
        let n = source.recv_batch(&mut batch, Duration::from_secs(5)).unwrap();
        (n, batch.get(0).map(|r| r.packet.payload.to_vec()))
    });
    thread::sleep(Duration::from_millis(50));
    sender(LOOPBACK).send_to(b"dyn", (LOOPBACK, port)).unwrap();
    assert_eq!(handle.join().unwrap(), (1, Some(b"dyn".to_vec())));
}

#[test]
fn kernel_drops_are_counted() {
    let port = free_ports(LOOPBACK, 33500, 1)[0];
    let mut config = SocketConfig::new(LOOPBACK);
    config.receive_buffer_bytes = Some(4096); // the kernel's minimum, about 4.6 KB
    let mut source = SocketSource::with_ports(config, [port]).unwrap();
    let tx = sender(LOOPBACK);
    for _ in 0..200 {
        tx.send_to(&[0; 200], (LOOPBACK, port)).unwrap();
    }
    let mut batch = PacketBatch::new(64, 2048);
    let mut first = 0;
    while source.recv_batch(&mut batch, Duration::from_millis(100)).unwrap() > 0 {
        first += batch.len();
    }
    assert!(first < 200, "a 4 KB buffer cannot hold 200 datagrams");
    // The drop count rides on the next datagram the socket queues.
    tx.send_to(b"after", (LOOPBACK, port)).unwrap();
    let seen = collect(&mut source, &mut batch, 1, Duration::from_secs(5));
    assert_eq!(seen.len(), 1);
    let c = source.counters();
    assert_eq!(c.dropped, 200 - first as u64, "{c:?}");
    assert_eq!(c.received, first as u64 + 1);
}

#[test]
fn dropping_the_source_closes_its_sockets() {
    let port = free_ports(LOOPBACK, 33700, 2);
    let source = SocketSource::with_ports(SocketConfig::new(LOOPBACK), [port[0]]).unwrap();
    let control = source.ports();
    drop(source);
    UdpSocket::bind((LOOPBACK, port[0])).expect("port free once the source is dropped");
    assert!(control.is_empty());
    let err = control.add(port[1]).unwrap_err();
    assert!(matches!(err, CaptureError::Closed { .. }), "{err:?}");
    assert_eq!(err.to_string(), "cannot change the ports of socket 127.0.0.1: the source is closed");
}
