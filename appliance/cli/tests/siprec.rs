//! The SIPREC Session Recording Server end to end: a real `callguard run`,
//! SIPp playing the SBC over UDP and TCP, and a hand-driven SBC for what
//! SIPp cannot check (live calls, media counters, media timeout).

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SUBSCRIBER: &str = "+12015550123";
const CALLER: &str = "+12015550111";

/// A daemon on its own ports and state directory, stopped on drop.
struct Appliance {
    dir: tempfile::TempDir,
    sip_port: u16,
    daemon: Child,
}

/// A port free for both UDP and TCP on loopback.
fn free_sip_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl Appliance {
    fn start(extra_config: &str, rtp_ports: &str) -> Appliance {
        Appliance::start_with(extra_config, rtp_ports, |_| {})
    }

    /// Starts a daemon after `prepare` has run on its configuration file
    /// (to import a model, say).
    fn start_with(extra_config: &str, rtp_ports: &str, prepare: impl FnOnce(&Path)) -> Appliance {
        let dir = tempfile::tempdir().unwrap();
        let sip_port = free_sip_port();
        let config = format!(
            "[appliance]\nstate_dir = \"{}\"\n[media]\nrtp_ports = [\"{rtp_ports}\"]\n{extra_config}\n\
             [[sip.listeners]]\ntransport = \"udp\"\naddress = \"127.0.0.1:{sip_port}\"\n\
             [[sip.listeners]]\ntransport = \"tcp\"\naddress = \"127.0.0.1:{sip_port}\"\n",
            dir.path().join("state").display()
        );
        std::fs::write(dir.path().join("callguard.toml"), config).unwrap();
        let config_path = dir.path().join("callguard.toml");
        let add = cli(&config_path, &["subscribers", "add", SUBSCRIBER]);
        assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
        prepare(&config_path);
        let daemon = Command::new(env!("CARGO_BIN_EXE_callguard"))
            .arg("run")
            .env("CALLGUARD_CONFIG", &config_path)
            .env_remove("STATE_DIRECTORY")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("daemon.log")).unwrap())
            .spawn()
            .unwrap();
        let appliance = Appliance { dir, sip_port, daemon };
        let start = Instant::now();
        while appliance.status().is_none() {
            assert!(start.elapsed() < Duration::from_secs(20), "daemon did not start: {}", appliance.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        appliance
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("callguard.toml")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    fn status(&self) -> Option<serde_json::Value> {
        let out = cli(&self.config(), &["status", "--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (status["state"] == "running" && !status["sip"].is_null()).then_some(status)
    }

    fn calls(&self) -> Vec<serde_json::Value> {
        let out = cli(&self.config(), &["calls", "list", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
    }
}

impl Drop for Appliance {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.daemon.id().to_string()]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.daemon.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.daemon.kill();
    }
}

fn cli(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_callguard"))
        .args(args)
        .env("CALLGUARD_CONFIG", config)
        .env_remove("STATE_DIRECTORY")
        .output()
        .unwrap()
}

/// SIPp's cumulative counters for one run.
#[derive(Debug)]
struct SippCounters {
    successful: u64,
    failed: u64,
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp").join(name)
}

/// Runs one SIPp scenario `calls` times against the appliance.
fn sipp(appliance: &Appliance, name: &str, transport: &str, calls: u32) -> SippCounters {
    let work = tempfile::tempdir().unwrap();
    let stats = work.path().join("stats.csv");
    let run = Command::new("sipp")
        .arg(format!("127.0.0.1:{}", appliance.sip_port))
        .args(["-sf", scenario(name).to_str().unwrap()])
        .args(["-t", transport, "-i", "127.0.0.1", "-p", "0"])
        .args(["-m", &calls.to_string(), "-r", "10", "-l", "5"])
        .args(["-key", "caller", CALLER, "-key", "subscriber", SUBSCRIBER])
        .args(["-nostdin", "-timeout", "30", "-timeout_error", "-trace_err", "-trace_stat"])
        .args(["-stf", stats.to_str().unwrap()])
        .current_dir(work.path())
        .output()
        .unwrap_or_else(|e| panic!("cannot run sipp ({e}): install Debian's sip-tester (scripts/install-deps does)"));
    let text = std::fs::read_to_string(&stats).unwrap_or_default();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(';').collect()).collect();
    let (Some(header), Some(last)) = (rows.first(), rows.last()) else {
        panic!("sipp {name} wrote no statistics: {}", String::from_utf8_lossy(&run.stdout));
    };
    let counter = |key: &str| -> u64 {
        let i = header.iter().position(|h| *h == key).unwrap_or_else(|| panic!("no {key} column"));
        last[i].trim().parse().unwrap()
    };
    let counters = SippCounters { successful: counter("SuccessfulCall(C)"), failed: counter("FailedCall(C)") };
    assert!(
        run.status.success(),
        "sipp {name} over {transport} failed ({counters:?}): {}\n{}",
        String::from_utf8_lossy(&run.stderr),
        appliance.log()
    );
    counters
}

#[test]
fn sipp_as_the_sbc_over_udp_and_tcp() {
    let appliance = Appliance::start("", "31000-31999");
    for (name, transport, calls) in [
        ("options.xml", "u1", 3),
        ("siprec_call.xml", "u1", 5),
        ("siprec_call.xml", "t1", 5),
        ("sdp_then_metadata.xml", "u1", 2),
        ("cancel.xml", "u1", 2),
        ("declined.xml", "u1", 2),
        ("unknown_dialog.xml", "u1", 1),
        ("options.xml", "t1", 1),
    ] {
        let counters = sipp(&appliance, name, transport, calls);
        assert_eq!((counters.successful, counters.failed), (u64::from(calls), 0), "{name} over {transport}");
    }
    let status = appliance.status().unwrap();
    let sip = &status["sip"];
    assert_eq!(sip["sessions_started"], 14, "{sip}");
    assert_eq!(sip["declined"], 2, "{sip}");
    assert_eq!(sip["sessions"], 0, "every session ended with its BYE: {sip}");
    assert_eq!(sip["rtp_ports_in_use"], 0, "{sip}");
    assert_eq!(sip["malformed"], 0, "{sip}");

    let metrics = cli(&appliance.config(), &["metrics"]);
    assert!(metrics.status.success(), "{}", String::from_utf8_lossy(&metrics.stderr));
    let text = String::from_utf8(metrics.stdout).unwrap();
    assert!(
        text.contains("# TYPE callguard_sip_sessions_started_total counter\ncallguard_sip_sessions_started_total 14\n"),
        "{text}"
    );
    assert!(text.contains("callguard_sip_sessions_declined_total 2\n"), "{text}");
    assert!(text.contains("callguard_media_streams 0\n"), "{text}");
    assert!(!text.contains(SUBSCRIBER.trim_start_matches('+')), "no number in metrics: {text}");
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tshark ({e}): install Debian's tshark (scripts/install-deps does)"));
    assert!(out.status.success(), "tshark {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tshark_decodes_a_recorded_call_without_malformed_packets() {
    let appliance = Appliance::start("", "34000-34099");
    let pcap = appliance.dir.path().join("call.pcap");
    let filter = format!("udp port {}", appliance.sip_port);
    let mut capture = Command::new("tshark")
        .args(["-i", "lo", "-f", &filter, "-w", pcap.to_str().unwrap(), "-a", "duration:60"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run tshark ({e}): install Debian's tshark (scripts/install-deps does)"));
    // tshark says "Capturing on" once the capture runs.
    let mut stderr = std::io::BufReader::new(capture.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("Capturing on") {
        line.clear();
        let read = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        assert!(read > 0, "tshark stopped before capturing (capturing on lo needs root or CAP_NET_RAW)");
    }
    let counters = sipp(&appliance, "siprec_call.xml", "u1", 2);
    assert_eq!(counters.successful, 2);
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill").args(["-INT", &capture.id().to_string()]).status();
    let _ = capture.wait();
    let pcap = pcap.to_str().unwrap();

    let malformed = tshark(&[
        "-r",
        pcap,
        "-Y",
        "_ws.malformed || _ws.expert.severity == \"Error\"",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    assert!(malformed.trim().is_empty(), "malformed frames: {malformed}");
    let sip_frames = tshark(&["-r", pcap, "-Y", "sip", "-T", "fields", "-e", "frame.number"]);
    assert!(sip_frames.lines().count() >= 16, "too few SIP frames decoded: {sip_frames}");

    // Every SDP answer has as many m= lines as the offer it answers.
    let media_by_call = |filter: &str| -> Vec<(String, usize)> {
        tshark(&["-r", pcap, "-Y", filter, "-T", "fields", "-e", "sip.Call-ID", "-e", "sdp.media"])
            .lines()
            .map(|l| {
                let (call, media) = l.split_once('\t').unwrap_or((l, ""));
                (call.to_owned(), media.split(',').filter(|m| !m.is_empty()).count())
            })
            .collect()
    };
    let offers = media_by_call("sip.Method == \"INVITE\" && sdp");
    let answers = media_by_call("sip.Status-Code == 200 && sdp");
    assert!(!offers.is_empty() && !answers.is_empty());
    for (call, count) in &answers {
        let offered = offers.iter().find(|(c, _)| c == call).map(|(_, n)| *n);
        assert_eq!(offered, Some(*count), "call {call}: answer has {count} m= lines");
    }
}

/// A minimal SBC on a UDP socket, for checks SIPp scenarios cannot make.
struct HandSbc {
    socket: UdpSocket,
    target: String,
}

impl HandSbc {
    fn new(appliance: &Appliance) -> HandSbc {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        HandSbc { socket, target: format!("127.0.0.1:{}", appliance.sip_port) }
    }

    fn send(&self, text: &str) {
        self.socket.send_to(text.as_bytes(), &self.target).unwrap();
    }

    /// The next message whose first line starts with `prefix`.
    fn expect(&self, prefix: &str) -> String {
        let mut buf = vec![0u8; 65535];
        loop {
            let (n, _) = self.socket.recv_from(&mut buf).unwrap_or_else(|e| panic!("waiting for {prefix}: {e}"));
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.starts_with(prefix) {
                return text;
            }
        }
    }

    fn invite(&self, call_id: &str) -> String {
        let port = self.socket.local_addr().unwrap().port();
        let sdp = "v=0\r\no=SBC 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                   m=audio 45000 RTP/AVP 0\r\na=label:1\r\na=sendonly\r\nm=audio 45002 RTP/AVP 0\r\na=label:2\r\na=sendonly\r\n";
        format!(
            "INVITE sip:srs@{target} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-{call_id}\r\n\
             From: <sip:{CALLER}@carrier.example>;tag=sbc\r\nTo: <sip:{SUBSCRIBER}@carrier.example>\r\n\
             Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:sbc@127.0.0.1:{port}>;+sip.src\r\n\
             Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len(),
            target = self.target
        )
    }
}

fn header<'a>(message: &'a str, name: &str) -> &'a str {
    message
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {name} in {message}"))
}

#[test]
fn ipv6_listeners_serve_sbcs_on_ipv6() {
    let v6_port = free_sip_port();
    let extra = format!("[[sip.listeners]]\ntransport = \"udp\"\naddress = \"[::1]:{v6_port}\"\n");
    let appliance = Appliance::start(&extra, "33000-33099");
    let sbc = UdpSocket::bind("[::1]:0").unwrap();
    sbc.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let port = sbc.local_addr().unwrap().port();
    let options = format!(
        "OPTIONS sip:srs@[::1]:{v6_port} SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:{port};branch=z9hG4bK-v6;rport\r\n\
         From: <sip:sbc@[::1]>;tag=v6\r\nTo: <sip:srs@[::1]>\r\nCall-ID: v6-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    sbc.send_to(options.as_bytes(), ("::1", v6_port)).unwrap();
    let mut buf = vec![0u8; 4096];
    let (n, from) = sbc.recv_from(&mut buf).unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    assert_eq!(from.port(), v6_port);
    assert!(appliance.status().unwrap()["sip"]["listeners"].to_string().contains("[::1]"));
}

#[test]
fn live_calls_count_media_and_end_when_media_stops() {
    live_call_media("timeout_seconds = 2", "32000-32099");
}

/// The same call with the media read by AF_PACKET on loopback (root): the
/// data plane sees each datagram once, as with sockets.
#[test]
fn af_packet_media_source_sees_the_same_packets() {
    live_call_media("timeout_seconds = 2\nsource = \"af_packet\"\ninterface = \"lo\"", "35000-35099");
}

fn live_call_media(media_config: &str, rtp_ports: &str) {
    let appliance = Appliance::start(media_config, rtp_ports);
    let sbc = HandSbc::new(&appliance);
    sbc.send(&sbc.invite("hand-1"));
    let ok = sbc.expect("SIP/2.0 200");
    let to = header(&ok, "To");
    let port = sbc.socket.local_addr().unwrap().port();
    sbc.send(&format!(
        "ACK sip:srs@{t} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-ack1\r\n\
         From: <sip:{CALLER}@carrier.example>;tag=sbc\r\nTo: {to}\r\nCall-ID: hand-1\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        t = sbc.target
    ));

    let calls = appliance.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call["subscriber"], SUBSCRIBER);
    assert_eq!(call["caller"], CALLER);
    let roles: Vec<&str> = call["streams"].as_array().unwrap().iter().map(|s| s["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["caller", "subscriber"]);

    // The data plane opens the ports just after the 200 OK: wait for it.
    let start = Instant::now();
    while appliance.calls()[0]["streams"].as_array().unwrap().iter().any(|s| s["receiving"] != true) {
        assert!(start.elapsed() < Duration::from_secs(5), "the streams never started receiving");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Twenty RTP-sized packets to the caller leg's port.
    let rtp_port = call["streams"][0]["local_port"].as_u64().unwrap() as u16;
    let media = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..20 {
        media.send_to(&[0x80u8; 172], ("127.0.0.1", rtp_port)).unwrap();
    }
    let start = Instant::now();
    loop {
        let packets = appliance.calls()[0]["streams"][0]["packets"].as_u64().unwrap();
        if packets == 20 {
            let stream = &appliance.calls()[0]["streams"][0];
            for field in ["lost", "late", "concealed_ms", "jitter_ms"] {
                assert!(stream[field].is_number(), "{field} missing from {stream}");
            }
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "media counters stuck at {packets}");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Then silence: the appliance ends the call with a BYE of its own.
    let bye = sbc.expect("BYE ");
    assert_eq!(header(&bye, "Call-ID"), "hand-1");
    let start = Instant::now();
    while !appliance.calls().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(5), "the call stayed listed after its BYE");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(appliance.log().contains("no media"), "{}", appliance.log());
    let metrics = String::from_utf8(cli(&appliance.config(), &["metrics"]).stdout).unwrap();
    assert!(metrics.contains("callguard_media_packets_total 20\n"), "{metrics}");
    assert!(metrics.contains("callguard_media_streams_total 2\n"), "{metrics}");
    assert!(metrics.contains("callguard_dataplane_threads 1\n"), "{metrics}");
    assert!(metrics.contains("callguard_dataplane_packets_total{thread=\"0\"} 20\n"), "{metrics}");
}

/// Caller speech as 8 kHz µ-law: espeak-ng sentences, each followed by a
/// second of silence, made with sox.
fn caller_speech(dir: &Path) -> Vec<u8> {
    let sentences = [
        "This is the fraud department of your bank.",
        "Your account has been suspended.",
        "Buy gift cards and read me the numbers.",
        "Do not tell anyone about this call.",
    ];
    let mut audio = Vec::new();
    for (i, sentence) in sentences.iter().enumerate() {
        let wav = dir.join(format!("s{i}.wav"));
        let raw = dir.join(format!("s{i}.ul"));
        let run = |cmd: &str, args: &[&str]| {
            let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}: install it"));
            assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        run("espeak-ng", &["-w", wav.to_str().unwrap(), sentence]);
        run(
            "sox",
            &[
                wav.to_str().unwrap(),
                "-r",
                "8000",
                "-c",
                "1",
                "-e",
                "mu-law",
                "-t",
                "raw",
                raw.to_str().unwrap(),
                "pad",
                "0",
                "1",
            ],
        );
        audio.extend(std::fs::read(&raw).unwrap());
    }
    audio
}

/// Sends `audio` (µ-law) in a loop as real-time RTP to `port` until `stop`.
fn send_speech(audio: Vec<u8>, port: u16, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let start = Instant::now();
    for (n, payload) in audio.chunks_exact(160).cycle().enumerate() {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let due = start + Duration::from_millis(20 * n as u64);
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let mut packet = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x5e, 0xed];
        packet[2..4].copy_from_slice(&(n as u16).to_be_bytes());
        packet[4..8].copy_from_slice(&((n as u32).wrapping_mul(160)).to_be_bytes());
        packet.extend_from_slice(payload);
        socket.send_to(&packet, ("127.0.0.1", port)).unwrap();
    }
}

/// The speech side of a live call: the caller's words are transcribed
/// (only counts leave the daemon); when the worker crashes and cannot come
/// back at once the call goes on, degraded, and is transcribed again once
/// the worker is back.
#[test]
fn live_call_speech_survives_a_worker_crash() {
    let model = callguard_testkit::models::whisper_tiny_en();
    let appliance = Appliance::start_with("timeout_seconds = 30", "33000-33099", |config| {
        let out = cli(config, &["models", "import", model.to_str().unwrap()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    });
    // The worker loads its model after the daemon is up.
    let start = Instant::now();
    while appliance.status().unwrap()["speech"]["state"] != "up" {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the speech worker is not running (is target/*/callguard-stt built? `cargo build -p callguard-stt`): {}\n{}",
            appliance.status().unwrap(),
            appliance.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let speech = |appliance: &Appliance| appliance.calls()[0]["speech"].clone();
    let wait_for = |what: &str, limit: u64, ok: &dyn Fn(&serde_json::Value) -> bool| {
        let start = Instant::now();
        loop {
            let now = speech(&appliance);
            if ok(&now) {
                return now;
            }
            assert!(start.elapsed() < Duration::from_secs(limit), "{what}: {now}\n{}", appliance.log());
            std::thread::sleep(Duration::from_millis(200));
        }
    };

    let sbc = HandSbc::new(&appliance);
    sbc.send(&sbc.invite("speech-1"));
    let ok = sbc.expect("SIP/2.0 200");
    let to = header(&ok, "To");
    let port = sbc.socket.local_addr().unwrap().port();
    sbc.send(&format!(
        "ACK sip:srs@{t} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-ack2\r\n\
         From: <sip:{CALLER}@carrier.example>;tag=sbc\r\nTo: {to}\r\nCall-ID: speech-1\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        t = sbc.target
    ));
    let start = Instant::now();
    while appliance.calls()[0]["streams"].as_array().unwrap().iter().any(|s| s["receiving"] != true) {
        assert!(start.elapsed() < Duration::from_secs(5), "the streams never started receiving");
        std::thread::sleep(Duration::from_millis(20));
    }
    let caller_port = appliance.calls()[0]["streams"][0]["local_port"].as_u64().unwrap() as u16;
    let dir = tempfile::tempdir().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (audio, stop) = (caller_speech(dir.path()), stop.clone());
        std::thread::spawn(move || send_speech(audio, caller_port, stop))
    };

    let heard = wait_for("utterances transcribed", 30, &|s| s["utterances"].as_u64() >= Some(2));
    assert_eq!(heard["state"], "transcribing", "{heard}");

    // The worker dies and cannot start again for a while: speech is lost,
    // the call goes on.
    let stored = appliance.dir.path().join("state/models/tiny.en.bin");
    let aside = appliance.dir.path().join("tiny.en.bin.aside");
    std::fs::rename(&stored, &aside).unwrap();
    let pid = appliance.status().unwrap()["speech"]["pid"].as_u64().expect("worker pid");
    assert!(Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
    let packets = || appliance.calls()[0]["streams"][0]["packets"].as_u64().unwrap();
    let before = packets();
    let degraded =
        wait_for("the call degraded", 30, &|s| s["state"] == "degraded" && s["chunks_lost"].as_u64() >= Some(1));
    assert!(packets() > before, "media stopped with the worker");

    // Back: the worker starts again and the call is transcribed again.
    std::fs::rename(&aside, &stored).unwrap();
    let heard_before = degraded["utterances"].as_u64().unwrap();
    wait_for("transcription resumed", 60, &|s| {
        s["state"] == "transcribing" && s["utterances"].as_u64() > Some(heard_before)
    });
    // The caller's words are a scam script: the call is warned about once,
    // with tactic codes and a score, and no words are stored.
    let warned = wait_for("a warning", 90, &|s| s["warned"] == true);
    assert!(warned["risk"].as_f64() > Some(0.5), "{warned}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sender.join().unwrap();

    let status = appliance.status().unwrap();
    assert!(status["speech"]["restarts"].as_u64() >= Some(1), "{status}");
    let metrics = String::from_utf8(cli(&appliance.config(), &["metrics"]).stdout).unwrap();
    assert!(metrics.contains("callguard_speech_worker_up 1\n"), "{metrics}");
    let alerts = cli(&appliance.config(), &["alerts", "list", "--json"]);
    let alerts: serde_json::Value = serde_json::from_slice(&alerts.stdout).unwrap();
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["call_id"], "speech-1");
    assert_eq!(alerts[0]["caller"], CALLER);
    let tactics = alerts[0]["tactics"].as_array().unwrap();
    assert!(!tactics.is_empty(), "{alerts:?}");
    assert!(metrics.contains("callguard_alerts_decided_total 1\n"), "{metrics}");
    assert!(appliance.log().contains("scam warning decided"), "{}", appliance.log());
    // Nothing said is in the log or the database.
    let log = appliance.log().to_lowercase();
    let database = std::fs::read(appliance.dir.path().join("state/callguard.db")).unwrap_or_default();
    let database = String::from_utf8_lossy(&database).to_lowercase();
    for word in ["fraud", "suspended", "anyone", "department"] {
        assert!(!log.contains(word), "`{word}` reached the daemon log");
        assert!(!database.contains(word), "`{word}` reached the database");
    }
}
