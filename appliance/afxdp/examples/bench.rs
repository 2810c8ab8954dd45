//! Receive-rate benchmark: `AfXdpSource` vs `AfPacketSource` vs
//! `SocketSource` over the same veth pair with the same traffic.
//!
//! Traffic: G.711 RTP-sized datagrams (12-byte RTP header + 160 bytes of
//! audio = 214-byte Ethernet frames) from 198.18.0.2 in namespace B to
//! `--flows` distinct destination ports on 198.18.0.1 in namespace A,
//! round-robin, sent with `sendmmsg` (64 per call) by `--senders` threads
//! as fast as they can. Each source in turn gets `--warmup` seconds, then
//! `--seconds` of measurement; its receiving thread calls `recv_batch`
//! (64-packet batches, 100 ms timeout) in a loop.
//!
//! Reported per source: offered and received packets per second, CPU of
//! the receiving thread (`getrusage(RUSAGE_THREAD)`, user + system), pps
//! per core (received / CPU seconds of that thread), CPU per 10k packets,
//! datagrams per `recv_batch` call that returned any, kernel drops (`SourceCounters::dropped`) and the packets sent but not
//! received in the window; and the whole machine's busy share
//! (`/proc/stat`) since on a veth the kernel's receive work (XDP, socket
//! delivery) runs in softirq on the sender's CPU, not in the receiving
//! thread.
//!
//! ```text
//! cargo run --release --example bench -- [--seconds 5] [--warmup 1] [--flows 2000] \
//!     [--senders 1] [--sources af_xdp,af_packet,socket] [--rounds 1] [--no-pin]
//! ```
//!
//! NEEDS ROOT (namespaces, XDP, AF_XDP, AF_PACKET).

#[path = "../tests/common/netns.rs"]
#[allow(dead_code)]
mod netns;

use std::{
    io::IoSlice,
    net::{SocketAddrV4, UdpSocket},
    os::fd::AsRawFd,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering},
    },
    thread,
    time::{Duration, Instant},
};

use callguard_afxdp::{AfXdpConfig, AfXdpSource};
use callguard_capture::{
    AfPacketConfig, AfPacketSource, PacketBatch, PacketSource, SocketConfig, SocketSource, SourceCounters,
};
use netns::{ADDR_A, ADDR_B, IF_A, NetNsGuard, VethPair};
use nix::sys::{
    resource::{Resource, UsageWho, getrusage, setrlimit},
    socket::{MsgFlags, MultiHeaders, SockaddrIn, sendmmsg},
};

const FIRST_PORT: u16 = 20000;
const SEND_BATCH: usize = 64;
/// RTP header (version 2, PT 0 = PCMU) + 160 bytes of G.711 silence.
const RTP_LEN: usize = 12 + 160;
const FRAME_LEN: usize = 14 + 20 + 8 + RTP_LEN;

/// Phases the receiving thread follows.
const WARMUP: u8 = 0;
const MEASURE: u8 = 1;
const STOP: u8 = 2;

struct Options {
    seconds: f64,
    warmup: f64,
    flows: u16,
    senders: usize,
    sources: Vec<String>,
    pin: bool,
    rounds: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        seconds: 5.0,
        warmup: 1.0,
        flows: 2000,
        senders: 1,
        sources: vec!["af_xdp".into(), "af_packet".into(), "socket".into()],
        pin: true,
        rounds: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--seconds" => o.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--warmup" => o.warmup = value()?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--flows" => o.flows = value()?.parse().map_err(|e| format!("--flows: {e}"))?,
            "--senders" => o.senders = value()?.parse().map_err(|e| format!("--senders: {e}"))?,
            "--sources" => o.sources = value()?.split(',').map(str::to_owned).collect(),
            "--no-pin" => o.pin = false,
            "--rounds" => o.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if o.flows == 0 || u32::from(FIRST_PORT) + u32::from(o.flows) > 65536 || o.senders == 0 || o.rounds == 0 {
        return Err("--flows must be 1 to 45535, --senders and --rounds at least 1".into());
    }
    Ok(o)
}

/// CPU time (user + system) of the calling thread.
fn thread_cpu() -> Duration {
    let usage = getrusage(UsageWho::RUSAGE_THREAD).expect("getrusage");
    let tv = |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    tv(usage.user_time()) + tv(usage.system_time())
}

/// (busy, total) jiffies of all CPUs from /proc/stat.
fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

fn pin_to(cpu: usize) {
    let mut set = nix::sched::CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set);
    }
}

/// What the receiving thread measured between MEASURE and STOP.
struct Received {
    name: String,
    packets: u64,
    /// `recv_batch` calls that returned datagrams.
    calls: u64,
    cpu: Duration,
    wall: Duration,
    counters: SourceCounters,
}

fn open(kind: &str, ports: Vec<u16>) -> Result<Box<dyn PacketSource>, String> {
    match kind {
        "af_xdp" => {
            let source = AfXdpSource::open(&AfXdpConfig::new(IF_A), ports).map_err(|e| e.to_string())?;
            eprintln!("  {}", source.mode_report());
            Ok(Box::new(source))
        }
        "af_packet" => AfPacketSource::open(&AfPacketConfig::new(IF_A), ports)
            .map(|s| Box::new(s) as Box<dyn PacketSource>)
            .map_err(|e| e.to_string()),
        "socket" => SocketSource::with_ports(SocketConfig::new(ADDR_A.into()), ports)
            .map(|s| Box::new(s) as Box<dyn PacketSource>)
            .map_err(|e| e.to_string()),
        other => Err(format!("unknown source {other}: af_xdp, af_packet or socket")),
    }
}

fn since(now: &SourceCounters, then: &SourceCounters) -> SourceCounters {
    let mut d = *now;
    d.received -= then.received;
    d.delivered -= then.delivered;
    d.filtered -= then.filtered;
    d.truncated -= then.truncated;
    d.dropped -= then.dropped;
    d
}

/// The receiving thread: opens `kind` in namespace A, loops on
/// `recv_batch`, measures between the phases.
fn receiver(
    ns_a: String,
    kind: String,
    ports: Vec<u16>,
    phase: Arc<AtomicU8>,
    ready: Arc<AtomicBool>,
    cpu: Option<usize>,
) -> Result<Received, String> {
    if let Some(cpu) = cpu {
        pin_to(cpu);
    }
    let mut source = {
        let _in_a = NetNsGuard::enter(&ns_a);
        open(&kind, ports)?
    };
    ready.store(true, Ordering::Release);
    let mut batch = PacketBatch::new(64, 2048);
    let mut packets = 0u64;
    let mut calls = 0u64;
    let mut start: Option<(Instant, Duration, SourceCounters, u64, u64)> = None;
    loop {
        let n = source.recv_batch(&mut batch, Duration::from_millis(100)).map_err(|e| e.to_string())?;
        packets += n as u64;
        calls += u64::from(n > 0);
        match phase.load(Ordering::Acquire) {
            MEASURE if start.is_none() => {
                start = Some((Instant::now(), thread_cpu(), source.counters(), packets, calls));
            }
            STOP => {
                let (t0, cpu0, c0, p0, k0) = start.ok_or("the measurement never started")?;
                return Ok(Received {
                    name: source.name().to_owned(),
                    packets: packets - p0,
                    calls: calls - k0,
                    cpu: thread_cpu() - cpu0,
                    wall: t0.elapsed(),
                    counters: since(&source.counters(), &c0),
                });
            }
            _ => {}
        }
    }
}

/// A sending thread in namespace B: sendmmsg of 64 datagrams at a time to
/// the flows in turn, until `stop`. Counts what the kernel accepted into
/// `sent` (and into `measured` while `phase` is MEASURE).
fn sender(
    ns_b: String,
    index: usize,
    flows: u16,
    phase: Arc<AtomicU8>,
    sent_measured: Arc<AtomicU64>,
    cpu: Option<usize>,
) {
    if let Some(cpu) = cpu {
        pin_to(cpu);
    }
    let socket = {
        let _in_b = NetNsGuard::enter(&ns_b);
        UdpSocket::bind(SocketAddrV4::new(ADDR_B, 4000 + index as u16)).expect("bind sender")
    };
    let mut payload = [0xffu8; RTP_LEN]; // 0xff: mu-law silence
    payload[..12].copy_from_slice(&[0x80, 0x00, 0, 1, 0, 0, 0, 160, 0xca, 0x11, 0x6a, 0x7d]);
    // Destinations, with the first batch repeated at the end so that any
    // 64 consecutive entries are a window of the round-robin.
    let flows = usize::from(flows);
    let addrs: Vec<Option<SockaddrIn>> = (0..flows + SEND_BATCH)
        .map(|i| Some(SockaddrIn::from(SocketAddrV4::new(ADDR_A, FIRST_PORT + (i % flows) as u16))))
        .collect();
    let iovs: Vec<[IoSlice<'_>; 1]> = (0..SEND_BATCH).map(|_| [IoSlice::new(&payload)]).collect();
    let mut headers = MultiHeaders::<SockaddrIn>::preallocate(SEND_BATCH, None);
    let mut next = (index * 997) % flows;
    let mut local = 0u64;
    loop {
        let state = phase.load(Ordering::Relaxed);
        if state == STOP {
            break;
        }
        match sendmmsg(socket.as_raw_fd(), &mut headers, &iovs, &addrs[next..next + SEND_BATCH], [], MsgFlags::empty())
        {
            Ok(results) => {
                let n = results.count();
                next = (next + n) % flows;
                if state == MEASURE {
                    local += n as u64;
                }
            }
            // ENOBUFS and friends under overload: try again.
            Err(_) => thread::yield_now(),
        }
    }
    sent_measured.fetch_add(local, Ordering::Relaxed);
}

struct Row {
    kind: String,
    name: String,
    sent_pps: f64,
    recv_pps: f64,
    cpu_share: f64,
    pps_per_core: f64,
    cpu_ms_per_10k: f64,
    per_call: f64,
    kernel_drops: u64,
    lost: u64,
    machine_busy: f64,
}

fn run_one(pair: &VethPair, kind: &str, o: &Options) -> Result<Row, String> {
    let ports: Vec<u16> = (0..o.flows).map(|i| FIRST_PORT + i).collect();
    let phase = Arc::new(AtomicU8::new(WARMUP));
    let ready = Arc::new(AtomicBool::new(false));
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let pin = o.pin && cpus >= 2;
    let rx = {
        let (ns_a, kind, phase, ready) = (pair.ns_a.clone(), kind.to_owned(), Arc::clone(&phase), Arc::clone(&ready));
        thread::spawn(move || receiver(ns_a, kind, ports, phase, ready, pin.then_some(cpus - 1)))
    };
    while !ready.load(Ordering::Acquire) {
        if rx.is_finished() {
            rx.join().map_err(|_| "receiver panicked".to_owned())??;
            return Err("the receiver ended before it was ready".to_owned());
        }
        thread::sleep(Duration::from_millis(10));
    }
    let sent = Arc::new(AtomicU64::new(0));
    let senders: Vec<_> = (0..o.senders)
        .map(|i| {
            let (ns_b, phase, sent) = (pair.ns_b.clone(), Arc::clone(&phase), Arc::clone(&sent));
            let flows = o.flows;
            // Senders on the other CPUs, round-robin.
            let cpu = pin.then(|| i % (cpus - 1));
            thread::spawn(move || sender(ns_b, i, flows, phase, sent, cpu))
        })
        .collect();
    thread::sleep(Duration::from_secs_f64(o.warmup));
    let machine0 = machine_jiffies();
    let t0 = Instant::now();
    phase.store(MEASURE, Ordering::Release);
    thread::sleep(Duration::from_secs_f64(o.seconds));
    phase.store(STOP, Ordering::Release);
    let window = t0.elapsed();
    let machine1 = machine_jiffies();
    for s in senders {
        s.join().map_err(|_| "sender panicked".to_owned())?;
    }
    let r = rx.join().map_err(|_| "receiver panicked".to_owned())??;
    let sent = sent.load(Ordering::Relaxed);
    let secs = r.wall.as_secs_f64().max(1e-9);
    let cpu = r.cpu.as_secs_f64();
    Ok(Row {
        kind: kind.to_owned(),
        name: r.name,
        sent_pps: sent as f64 / window.as_secs_f64(),
        recv_pps: r.packets as f64 / secs,
        cpu_share: cpu / secs,
        pps_per_core: if cpu > 0.0 { r.packets as f64 / cpu } else { f64::NAN },
        cpu_ms_per_10k: if r.packets > 0 { cpu * 1000.0 * 10_000.0 / r.packets as f64 } else { f64::NAN },
        per_call: r.packets as f64 / r.calls.max(1) as f64,
        kernel_drops: r.counters.dropped,
        lost: sent.saturating_sub(r.packets),
        machine_busy: (machine1.0 - machine0.0) as f64 / (machine1.1 - machine0.1).max(1) as f64,
    })
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "error: {e}\nusage: bench [--seconds S] [--warmup S] [--flows N] [--senders N] [--sources a,b,c] [--rounds N] [--no-pin]"
            );
            return ExitCode::from(2);
        }
    };
    // One descriptor per port for the socket source.
    let want = 4096 + u64::from(o.flows) * 2;
    if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, want, want) {
        eprintln!("warning: cannot raise RLIMIT_NOFILE to {want}: {e}");
    }
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "bench: {} flows, {}-byte frames ({} bytes RTP), {} sender thread(s), {} s per source after {} s warm-up, {} CPUs{}",
        o.flows,
        FRAME_LEN,
        RTP_LEN,
        o.senders,
        o.seconds,
        o.warmup,
        cpus,
        if o.pin && cpus >= 2 {
            format!(", receiver pinned to CPU {}, senders to the others", cpus - 1)
        } else {
            String::new()
        }
    );
    let pair = VethPair::new("bench");
    let mut rows = Vec::new();
    // Sources interleaved round by round, so that a change in the
    // machine's other load hits all of them alike.
    for round in 1..=o.rounds {
        for kind in &o.sources {
            eprintln!("round {round}: {kind}...");
            match run_one(&pair, kind, &o) {
                Ok(row) => rows.push(row),
                Err(e) => {
                    eprintln!("error: {kind}: {e}");
                    return ExitCode::from(1);
                }
            }
        }
    }
    println!();
    print_table(&rows);
    if o.rounds > 1 {
        println!();
        println!("median over {} rounds:", o.rounds);
        println!();
        let medians: Vec<Row> = o.sources.iter().filter_map(|kind| median(&rows, kind)).collect();
        print_table(&medians);
    }
    println!();
    for kind in &o.sources {
        if let Some(r) = rows.iter().find(|r| &r.kind == kind) {
            println!("{}: {}", r.kind, r.name);
        }
    }
    ExitCode::SUCCESS
}

fn print_table(rows: &[Row]) {
    println!(
        "| source | offered pps | received pps | rx thread CPU | pps per core | CPU ms / 10k pkts | pkts / call | kernel drops | sent - received | machine busy |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {:.0} | {:.0} | {:.0}% | {:.0} | {:.2} | {:.1} | {} | {} | {:.0}% |",
            r.kind,
            r.sent_pps,
            r.recv_pps,
            r.cpu_share * 100.0,
            r.pps_per_core,
            r.cpu_ms_per_10k,
            r.per_call,
            r.kernel_drops,
            r.lost,
            r.machine_busy * 100.0
        );
    }
}

/// The per-column median of the rows of `kind`.
fn median(rows: &[Row], kind: &str) -> Option<Row> {
    let mine: Vec<&Row> = rows.iter().filter(|r| r.kind == kind).collect();
    let first = mine.first()?;
    let mid = |f: &dyn Fn(&Row) -> f64| {
        let mut v: Vec<f64> = mine.iter().map(|r| f(r)).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Some(Row {
        kind: kind.to_owned(),
        name: first.name.clone(),
        sent_pps: mid(&|r| r.sent_pps),
        recv_pps: mid(&|r| r.recv_pps),
        cpu_share: mid(&|r| r.cpu_share),
        pps_per_core: mid(&|r| r.pps_per_core),
        cpu_ms_per_10k: mid(&|r| r.cpu_ms_per_10k),
        per_call: mid(&|r| r.per_call),
        kernel_drops: mid(&|r| r.kernel_drops as f64) as u64,
        lost: mid(&|r| r.lost as f64) as u64,
        machine_busy: mid(&|r| r.machine_busy),
    })
}
