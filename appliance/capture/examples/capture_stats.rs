//! Open a source and print its counters every second: a field check of a
//! media interface or a capture file.
//!
//! ```text
//! cargo run --example capture_stats -- socket 0.0.0.0 20000 20002
//! cargo run --example capture_stats -- af_packet eth1 20000 20002
//! cargo run --example capture_stats -- pcap trace.pcapng 20000 20002
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use callguard_capture::{
    AfPacketConfig, AfPacketSource, PacketBatch, PacketSource, PcapSource, ReplaySpeed, SocketConfig, SocketSource,
};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(mode), Some(target)) = (args.first(), args.get(1)) else {
        eprintln!("usage: capture_stats socket|af_packet|pcap <address|interface|file> <port>...");
        return ExitCode::from(2);
    };
    let ports: Vec<u16> = match args[2..].iter().map(|p| p.parse()).collect() {
        Ok(ports) => ports,
        Err(e) => {
            eprintln!("bad port: {e}");
            return ExitCode::from(2);
        }
    };
    let opened: Result<Box<dyn PacketSource>, _> = match mode.as_str() {
        "socket" => match target.parse() {
            Ok(ip) => {
                SocketSource::with_ports(SocketConfig::new(ip), ports).map(|s| Box::new(s) as Box<dyn PacketSource>)
            }
            Err(e) => {
                eprintln!("bad address {target}: {e}");
                return ExitCode::from(2);
            }
        },
        "af_packet" => AfPacketSource::open(&AfPacketConfig::new(target.as_str()), ports)
            .map(|s| Box::new(s) as Box<dyn PacketSource>),
        "pcap" => PcapSource::open(target, ReplaySpeed::Recorded, ports).map(|s| Box::new(s) as Box<dyn PacketSource>),
        other => {
            eprintln!("unknown mode {other}: socket, af_packet or pcap");
            return ExitCode::from(2);
        }
    };
    let mut source = match opened {
        Ok(source) => source,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    eprintln!("reading from {} ({})", source.name(), source.mode());
    let mut batch = PacketBatch::new(64, 2048);
    let mut last = Instant::now();
    loop {
        match source.recv_batch(&mut batch, Duration::from_millis(200)) {
            Ok(_) => {}
            Err(e) if e.is_end_of_capture() => break,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
        if last.elapsed() >= Duration::from_secs(1) {
            println!("{:?}", source.counters());
            last = Instant::now();
        }
    }
    println!("{:?}", source.counters());
    ExitCode::SUCCESS
}
