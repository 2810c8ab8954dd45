//! `callguard capture`: the media packet source alone, flow by flow.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use callguard_afxdp::{AfXdpConfig, AfXdpSource};
use callguard_capture::{
    AfPacketConfig, AfPacketSource, PacketBatch, PacketSource, PcapSource, ReplaySpeed, SocketConfig, SocketSource,
    SourceCounters,
};
use callguard_rtp::RtpPacket;
use serde::Serialize;

use crate::cli::{Backend, CaptureArgs, GlobalArgs};
use crate::failure::Failure;
use crate::output::{print_json, print_table};

/// A sequence jump larger than this is a restart, not loss (RFC 3550 MAX_DROPOUT).
const MAX_DROPOUT: u16 = 3000;

#[derive(Default, Serialize)]
struct Flow {
    packets: u64,
    bytes: u64,
    /// RTP sequence numbers skipped (packets missing), when the flow is RTP.
    lost: u64,
    /// Sequence numbers seen again or out of order.
    out_of_order: u64,
    #[serde(skip)]
    last_sequence: Option<u16>,
    #[serde(skip)]
    first: Option<Instant>,
    #[serde(skip)]
    last: Option<Instant>,
    seconds: f64,
}

impl Flow {
    fn record(&mut self, payload: &[u8], at: Instant) {
        self.packets += 1;
        self.bytes += payload.len() as u64;
        self.first.get_or_insert(at);
        self.last = Some(at);
        let Ok(rtp) = RtpPacket::parse(payload) else { return };
        let sequence = rtp.sequence();
        if let Some(last) = self.last_sequence {
            let step = sequence.wrapping_sub(last);
            match step {
                0 => self.out_of_order += 1,
                1..MAX_DROPOUT => self.lost += u64::from(step - 1),
                _ if last.wrapping_sub(sequence) < MAX_DROPOUT => {
                    self.out_of_order += 1;
                    return;
                }
                _ => {}
            }
        }
        self.last_sequence = Some(sequence);
    }
}

#[derive(Serialize)]
struct FlowReport {
    source: String,
    destination: String,
    #[serde(flatten)]
    flow: Flow,
}

#[derive(Serialize)]
struct Report {
    backend: String,
    mode: String,
    seconds: f64,
    received: u64,
    delivered: u64,
    filtered: u64,
    truncated: u64,
    dropped: u64,
    parse_errors: u64,
    flows: Vec<FlowReport>,
}

/// Opens the source and reports until the time is up or the file ends.
pub fn capture(global: &GlobalArgs, args: CaptureArgs) -> Result<(), Failure> {
    let (config, _) = super::load_config(global)?;
    let ranges = if args.ports.is_empty() { config.media.rtp_ports.clone() } else { args.ports.clone() };
    let ports: Vec<u16> = ranges.iter().flat_map(|r| r.first..=r.last).collect();
    let mut source: Box<dyn PacketSource> = match args.backend {
        Backend::Socket => Box::new(SocketSource::with_ports(SocketConfig::new(config.media.address), ports)?),
        Backend::Afxdp | Backend::Afpacket => {
            let iface = args.iface.clone().or_else(|| config.media.interface.clone()).ok_or_else(|| {
                Failure::usage(anyhow!("this backend needs --iface IF (or media.interface in the configuration)"))
            })?;
            if args.backend == Backend::Afxdp {
                let source = AfXdpSource::open(&AfXdpConfig::new(iface), ports)?;
                eprintln!("{}", source.mode_report());
                Box::new(source)
            } else {
                Box::new(AfPacketSource::open(&AfPacketConfig::new(iface), ports)?)
            }
        }
        Backend::Pcap => {
            let file = args.pcap.as_ref().ok_or_else(|| Failure::usage(anyhow!("--backend pcap needs --pcap FILE")))?;
            let speed = if args.max_speed { ReplaySpeed::AsFastAsPossible } else { ReplaySpeed::Recorded };
            Box::new(PcapSource::open(file, speed, ports)?)
        }
    };
    eprintln!("capturing from {} ({}) for up to {} s…", source.name(), source.mode(), args.seconds);
    let started = Instant::now();
    let flows = run(source.as_mut(), Duration::from_secs(args.seconds))?;
    let report = report(source.as_ref(), flows, started.elapsed());
    if args.json {
        print_json(&report)?;
    } else {
        print_human(&report)?;
    }
    Ok(())
}

fn run(source: &mut dyn PacketSource, limit: Duration) -> Result<HashMap<(SocketAddr, SocketAddr), Flow>, Failure> {
    let mut batch = PacketBatch::new(64, 2048);
    let mut flows: HashMap<(SocketAddr, SocketAddr), Flow> = HashMap::new();
    let deadline = Instant::now() + limit;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match source.recv_batch(&mut batch, left.min(Duration::from_millis(200))) {
            Ok(_) => {}
            Err(e) if e.is_end_of_capture() => break,
            Err(e) => return Err(Failure::runtime(e)),
        }
        let now = Instant::now();
        for received in batch.iter() {
            let packet = received.packet;
            flows.entry((packet.src, packet.dst)).or_default().record(packet.payload, now);
        }
    }
    Ok(flows)
}

fn report(source: &dyn PacketSource, flows: HashMap<(SocketAddr, SocketAddr), Flow>, elapsed: Duration) -> Report {
    let counters: SourceCounters = source.counters();
    let mut flows: Vec<FlowReport> = flows
        .into_iter()
        .map(|((src, dst), mut flow)| {
            flow.seconds = match (flow.first, flow.last) {
                (Some(first), Some(last)) => last.duration_since(first).as_secs_f64(),
                _ => 0.0,
            };
            FlowReport { source: src.to_string(), destination: dst.to_string(), flow }
        })
        .collect();
    flows.sort_by(|a, b| b.flow.packets.cmp(&a.flow.packets).then(a.destination.cmp(&b.destination)));
    Report {
        backend: source.mode().to_string(),
        mode: source.name().to_owned(),
        seconds: elapsed.as_secs_f64(),
        received: counters.received,
        delivered: counters.delivered,
        filtered: counters.filtered,
        truncated: counters.truncated,
        dropped: counters.dropped,
        parse_errors: counters.parse_errors.total(),
        flows,
    }
}

fn print_human(report: &Report) -> anyhow::Result<()> {
    println!(
        "{} ({}): {:.1} s, {} received, {} delivered, {} on other ports, {} truncated, {} dropped by the kernel, {} unparsable",
        report.mode,
        report.backend,
        report.seconds,
        report.received,
        report.delivered,
        report.filtered,
        report.truncated,
        report.dropped,
        report.parse_errors
    );
    if report.flows.is_empty() {
        println!("no media flow seen");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = report
        .flows
        .iter()
        .map(|f| {
            vec![
                f.source.clone(),
                f.destination.clone(),
                f.flow.packets.to_string(),
                f.flow.bytes.to_string(),
                f.flow.lost.to_string(),
                f.flow.out_of_order.to_string(),
                format!("{:.1}", f.flow.seconds),
            ]
        })
        .collect();
    print_table(&["SOURCE", "DESTINATION", "PACKETS", "BYTES", "LOST", "REORDERED", "SECONDS"], &rows)
}
