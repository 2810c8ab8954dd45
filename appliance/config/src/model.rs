//! The typed configuration tree and its defaults.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use callguard_numbers::HomeCountry;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Secret;

/// The whole configuration, as read from `callguard.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Identity and local state of this box.
    pub appliance: ApplianceConfig,
    /// Logging.
    pub log: LogConfig,
    /// The technician/management control socket.
    pub control: ControlConfig,
    /// The SIPREC Session Recording Server.
    pub sip: SipConfig,
    /// Where call media (RTP) is received.
    pub media: MediaConfig,
    /// Speech-to-text of both legs, in the `callguard-stt` worker.
    pub speech: SpeechConfig,
    /// Scam detection from what is said.
    pub detection: DetectionConfig,
    /// SMS alerts to subscribers.
    pub sms: SmsConfig,
}

/// Identity and local state of this box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApplianceConfig {
    /// Name of this appliance in logs, alerts and the fleet.
    pub name: String,
    /// Country whose numbering plan reads national-format numbers.
    pub home_country: HomeCountry,
    /// Directory for the database and the control socket. Resolved at load:
    /// `$STATE_DIRECTORY` (set by systemd) or `./var` when not configured.
    pub state_dir: Option<PathBuf>,
    /// Seconds allowed on shutdown to finish in-flight alerts.
    pub shutdown_grace_seconds: u64,
}

impl Default for ApplianceConfig {
    fn default() -> Self {
        ApplianceConfig {
            name: "callguard".to_owned(),
            home_country: "US".parse().expect("US is a known country"),
            state_dir: None,
            shutdown_grace_seconds: 10,
        }
    }
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// Filter in `tracing` syntax, e.g. `info` or `info,callguard_store=debug`.
    pub level: String,
    /// Output format.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".to_owned(), format: LogFormat::Auto }
    }
}

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human on a terminal, JSON under systemd (journald) or when piped.
    Auto,
    /// One readable line per event.
    Human,
    /// One JSON object per event.
    Json,
}

/// The control socket that `callguard status` and other commands talk to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlConfig {
    /// Unix socket path; `<state_dir>/control.sock` when not set.
    pub socket: Option<PathBuf>,
}

/// The SIPREC Session Recording Server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// Listening sockets.
    pub listeners: Vec<SipListener>,
    /// Networks of the SBCs (SIPREC clients) allowed to open sessions.
    pub allowed_sources: Vec<IpNet>,
    /// SIP status declining a session whose subscriber is not protected.
    pub decline_status: u16,
    /// New sessions per second one SBC may open (and its burst).
    pub max_new_sessions_per_second: u32,
    /// Smallest session-timer interval accepted (RFC 4028 Min-SE), seconds.
    pub min_session_expires: u32,
    /// Which m= line carries the caller when an SBC sends no metadata.
    pub sdp_order: SdpOrder,
}

/// The SBCs' convention for the order of legs in the SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SdpOrder {
    /// The first m= line is the call originator's (most SBCs).
    OriginatorFirst,
    /// The second m= line is the call originator's.
    OriginatorSecond,
}

impl Default for SipConfig {
    fn default() -> Self {
        let local: SocketAddr = "127.0.0.1:5060".parse().expect("valid address");
        SipConfig {
            listeners: vec![SipListener::plain(SipTransport::Udp, local), SipListener::plain(SipTransport::Tcp, local)],
            allowed_sources: vec!["127.0.0.0/8".parse().expect("valid net"), "::1/128".parse().expect("valid net")],
            decline_status: 403,
            max_new_sessions_per_second: 50,
            min_session_expires: 90,
            sdp_order: SdpOrder::OriginatorFirst,
        }
    }
}

/// One SIP listening socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipListener {
    /// `udp`, `tcp` or `tls`.
    pub transport: SipTransport,
    /// Address and port to bind, IPv4 or `[IPv6]`.
    #[serde(deserialize_with = "socket_addr")]
    pub address: SocketAddr,
    /// TLS only: PEM certificate chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<PathBuf>,
    /// TLS only: PEM private key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<PathBuf>,
    /// TLS only: PEM CA bundle; when set, SBCs must present a certificate it signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
    /// TLS only, with `client_ca`: DNS names (certificate subjectAltName) of
    /// the SBCs allowed on this listener; empty allows any name the CA signed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_names: Vec<String>,
}

impl SipListener {
    fn plain(transport: SipTransport, address: SocketAddr) -> Self {
        SipListener {
            transport,
            address,
            certificate: None,
            private_key: None,
            client_ca: None,
            client_names: Vec::new(),
        }
    }
}

/// A socket address, refused with a message that says how to write one.
fn socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "`{text}` is not an address: write IPv4:PORT or [IPv6]:PORT, with a port from 1 to 65535"
        ))
    })
}

/// SIP transport of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SipTransport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS (rustls).
    Tls,
}

impl fmt::Display for SipTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SipTransport::Udp => "udp",
            SipTransport::Tcp => "tcp",
            SipTransport::Tls => "tls",
        })
    }
}

/// Where call media (RTP) is received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// Packet source.
    pub source: MediaSource,
    /// Network interface the media arrives on (for XDP/AF_PACKET capture
    /// and `callguard bpf`); unset means the operator's default route's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Address the RTP sockets bind to and the SDP answer advertises.
    pub address: std::net::IpAddr,
    /// UDP port ranges offered to SBCs for RTP, as `"FIRST-LAST"` strings.
    pub rtp_ports: Vec<PortRange>,
    /// Codecs accepted, by RTP encoding name (the offer's order picks among them).
    pub codecs: Vec<String>,
    /// Seconds without RTP after which a call is ended.
    pub timeout_seconds: u64,
}

/// Codecs the appliance can decode.
pub const KNOWN_CODECS: [&str; 4] = ["PCMU", "PCMA", "G722", "opus"];

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            source: MediaSource::Socket,
            interface: None,
            address: "127.0.0.1".parse().expect("valid address"),
            rtp_ports: vec![PortRange { first: 20000, last: 29999 }],
            codecs: KNOWN_CODECS.iter().map(|c| (*c).to_owned()).collect(),
            timeout_seconds: 30,
        }
    }
}

/// Speech-to-text of both legs, in the `callguard-stt` worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeechConfig {
    /// Transcribe calls. Off, calls are judged on signaling alone.
    pub enabled: bool,
    /// Whisper model, by name in the model store (`<state_dir>/models/`),
    /// where `callguard models import` puts it.
    pub model: String,
    /// The worker binary; unset means `callguard-stt` beside `callguard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<PathBuf>,
    /// Whisper states sharing the loaded model: utterances decoded at once.
    pub states: u16,
    /// CPU threads per whisper state.
    pub threads: u16,
    /// Silence in milliseconds that ends an utterance.
    pub end_silence_ms: u64,
    /// Longest utterance in seconds before a forced cut (1 to 30).
    pub max_utterance_seconds: u64,
}

impl Default for SpeechConfig {
    fn default() -> Self {
        SpeechConfig {
            enabled: true,
            model: "tiny.en".to_owned(),
            worker: None,
            states: 1,
            threads: 2,
            end_silence_ms: 600,
            max_utterance_seconds: 8,
        }
    }
}

/// Scam detection from what is said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectionConfig {
    /// Warn when a call's fused scam risk reaches this probability; unset
    /// means the detector model's own threshold, calibrated for at most 3 %
    /// false positives on its training calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_threshold: Option<f64>,
}

/// Packet source for RTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    /// Plain UDP sockets on the kernel stack: works everywhere, unprivileged.
    Socket,
    /// AF_XDP sockets fed by the XDP program on `media.interface`
    /// (CAP_NET_ADMIN, CAP_BPF); SIP and management stay on the kernel stack.
    AfXdp,
    /// AF_PACKET on `media.interface` (CAP_NET_RAW).
    AfPacket,
}

/// An inclusive range of UDP ports, written `"20000-29999"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port of the range.
    pub first: u16,
    /// Last port of the range (inclusive).
    pub last: u16,
}

impl PortRange {
    /// Whether two ranges share a port.
    pub fn overlaps(&self, other: &PortRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl FromStr for PortRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (first, last) = s
            .split_once('-')
            .ok_or_else(|| format!("`{s}` is not a port range; write FIRST-LAST, e.g. 20000-29999"))?;
        let port = |p: &str| p.trim().parse::<u16>().map_err(|_| format!("`{}` is not a port (1-65535)", p.trim()));
        let range = PortRange { first: port(first)?, last: port(last)? };
        if range.first == 0 {
            return Err("port 0 cannot be used".to_owned());
        }
        if range.first > range.last {
            return Err(format!("range `{s}` ends before it starts"));
        }
        Ok(range)
    }
}

impl Serialize for PortRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// SMS alerts to subscribers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    /// Sender shown to the subscriber: up to 11 letters/digits, or a number.
    pub sender: String,
    /// SMSCs in order of preference; none means alerts stay in the outbox.
    pub smsc: Vec<SmscConfig>,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig { sender: "CallGuard".to_owned(), smsc: Vec::new() }
    }
}

/// One SMSC reached over SMPP 3.4.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmscConfig {
    /// Name used in logs and metrics.
    pub name: String,
    /// `host:port` of the SMSC.
    pub address: String,
    /// SMPP system_id to bind with.
    pub system_id: String,
    /// SMPP password (never shown by `config show`).
    pub password: Secret,
    /// Whether to connect with TLS.
    #[serde(default)]
    pub tls: bool,
}
