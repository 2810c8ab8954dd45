//! Data-plane benchmark: what the data plane's threads cost for real-time
//! G.711 streams, with one thread and with two (one per receive queue, as
//! AF_XDP splits), and how many streams a core keeps in real time.
//!
//! In-memory sources (no kernel, no NIC: the data plane's own work) replay
//! `--streams` G.711 RTP streams (172-byte datagrams, 50 per second each,
//! sequence and timestamp advancing) in batches of up to 64, paced to the
//! clock, for `--seconds`. The work measured is everything a data-plane
//! thread does: the sharded stream table, RTP parse, jitter buffer, decode,
//! resampling to 16 kHz, and the frame sweeps. Each source reads its
//! thread's CPU time (`getrusage(RUSAGE_THREAD)`, user + system).
//!
//! ```text
//! cargo run --release -p callguard-dataplane --example dispatch_bench -- [--streams 2000] [--seconds 5]
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use callguard_capture::{
    CaptureError, PacketBatch, PacketSource, PortControl, SourceCounters, SourceMode, TimestampKind, UdpPacket,
};
use callguard_dataplane::{Codec, DataPlane, StreamConfig, StreamSpec};
use callguard_rtp::RtpHeader;
use nix::sys::resource::{UsageWho, getrusage};

const FIRST_PORT: u16 = 20000;

/// One receive queue's worth of streams, replayed from memory at 50
/// packets per second each.
struct Replay {
    name: String,
    flows: Vec<u16>,
    /// Packets given so far: packet `k` goes to flow `k % flows` with
    /// sequence number `k / flows`.
    given: u64,
    seconds: f64,
    ports: PortControl,
    /// Set once every stream is in place.
    go: Arc<AtomicBool>,
    /// When it saw `go`, and its thread's CPU time then.
    started: Option<(Instant, Duration)>,
    /// Packets given and the thread's CPU time from `go` to the end.
    result: Arc<Mutex<Option<(u64, Duration)>>>,
    packet: Vec<u8>,
}

/// CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_THREAD).expect("getrusage");
    let tv = |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    tv(usage.user_time()) + tv(usage.system_time())
}

impl Replay {
    fn new(name: String, flows: Vec<u16>, seconds: f64, ports: PortControl, go: Arc<AtomicBool>) -> Self {
        let result = Arc::new(Mutex::new(None));
        let packet = Vec::with_capacity(172);
        Self { name, flows, given: 0, seconds, ports, go, started: None, result, packet }
    }
}

impl PacketSource for Replay {
    fn mode(&self) -> SourceMode {
        SourceMode::Pcap
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(&mut self, batch: &mut PacketBatch, timeout: Duration) -> Result<usize, CaptureError> {
        batch.clear();
        let Some((start, cpu_at_start)) = self.started else {
            if self.go.load(Ordering::Acquire) {
                self.started = Some((Instant::now(), thread_cpu()));
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
            return Ok(0);
        };
        let elapsed = start.elapsed().as_secs_f64();
        if elapsed >= self.seconds {
            self.result.lock().unwrap().get_or_insert((self.given, thread_cpu() - cpu_at_start));
            return Err(CaptureError::EndOfCapture { source_name: self.name.clone() });
        }
        let flows = self.flows.len() as u64;
        let due = (elapsed * 50.0 * flows as f64) as u64;
        if due < self.given + batch.capacity() as u64 && self.given > 0 {
            // Like a NIC with interrupt moderation: wake up once a batch is
            // due or a millisecond has passed, not for every packet.
            let full = (self.given + batch.capacity() as u64) as f64 / (50.0 * flows as f64);
            let wait = Duration::from_secs_f64((full - elapsed).max(0.0)).min(Duration::from_millis(1));
            std::thread::sleep(wait.min(timeout));
        }
        let due = (start.elapsed().as_secs_f64() * 50.0 * flows as f64) as u64;
        let src = SocketAddr::from((Ipv4Addr::new(198, 18, 0, 2), 4000));
        while !batch.is_full() && self.given < due {
            let flow = (self.given % flows) as usize;
            let sequence = (self.given / flows) as u16;
            self.given += 1;
            let header = RtpHeader {
                marker: false,
                payload_type: 0,
                sequence,
                timestamp: u32::from(sequence) * 160,
                ssrc: u32::from(self.flows[flow]),
            };
            self.packet.clear();
            self.packet.extend_from_slice(&header.to_packet(&[0xff; 160]));
            let dst = SocketAddr::from((Ipv4Addr::new(198, 18, 0, 1), self.flows[flow]));
            batch
                .push(&UdpPacket::new(src, dst, &self.packet), std::time::SystemTime::now(), TimestampKind::Userspace)
                .expect("fits");
        }
        Ok(batch.len())
    }

    fn counters(&self) -> SourceCounters {
        SourceCounters::default()
    }

    fn ports(&self) -> PortControl {
        self.ports.clone()
    }

    fn split(self: Box<Self>) -> Vec<Box<dyn PacketSource>> {
        vec![self]
    }
}

/// `parts` replays sharing one port set, as AF_XDP splits into queues.
struct Queues(Vec<Replay>, PortControl);

impl PacketSource for Queues {
    fn mode(&self) -> SourceMode {
        SourceMode::Pcap
    }
    fn name(&self) -> &str {
        "replay"
    }
    fn recv_batch(&mut self, _: &mut PacketBatch, _: Duration) -> Result<usize, CaptureError> {
        unreachable!("split before use")
    }
    fn counters(&self) -> SourceCounters {
        SourceCounters::default()
    }
    fn ports(&self) -> PortControl {
        self.1.clone()
    }
    fn split(self: Box<Self>) -> Vec<Box<dyn PacketSource>> {
        self.0.into_iter().map(|r| Box::new(r) as Box<dyn PacketSource>).collect()
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).map_or(default, |v| v.parse().expect(name))
}

/// Runs `parts` threads over `streams` streams for `seconds`; returns the
/// packets and the CPU time of each thread.
fn run(parts: usize, streams: u16, seconds: f64) -> Vec<(u64, Duration)> {
    let ports = PortControl::new_filter();
    let go = Arc::new(AtomicBool::new(false));
    let mut replays = Vec::new();
    for part in 0..parts {
        let mine: Vec<u16> =
            (0..streams).filter(|f| usize::from(*f) % parts == part).map(|f| FIRST_PORT + 2 * f).collect();
        replays.push(Replay::new(format!("replay {part}"), mine, seconds, ports.clone(), go.clone()));
    }
    let results: Vec<_> = replays.iter().map(|r| r.result.clone()).collect();
    let plane = DataPlane::start(Box::new(Queues(replays, ports))).expect("start");
    for f in 0..streams {
        let spec = StreamSpec { port: FIRST_PORT + 2 * f, config: StreamConfig::new(Codec::Pcmu, 0), srtp: None };
        plane.add_stream(spec).expect("stream");
    }
    go.store(true, Ordering::Release);
    while results.iter().any(|c| c.lock().unwrap().is_none()) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(plane.counters().unknown_port, 0);
    results.iter().map(|c| c.lock().unwrap().expect("set")).collect()
}

fn main() {
    let streams = arg("--streams", 2000) as u16;
    let seconds = arg("--seconds", 5) as f64;
    println!("{streams} real-time G.711 streams ({} packets/s), {seconds} s per row", u64::from(streams) * 50);
    println!("| data-plane threads | packets/s | CPU (cores) | CPU µs per packet | streams per core in real time |");
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for parts in [1, 2] {
        let results = run(parts, streams, seconds);
        let packets: u64 = results.iter().map(|r| r.0).sum();
        let cpu: Duration = results.iter().map(|r| r.1).sum();
        let cores = cpu.as_secs_f64() / seconds;
        println!(
            "| {parts} | {:.0} | {cores:.2} | {:.2} | {:.0} |",
            packets as f64 / seconds,
            cpu.as_secs_f64() * 1e6 / packets as f64,
            f64::from(streams) / cores
        );
    }
}
