//! The command line, as clap definitions: the source of `--help`, the man
//! pages and the shell completions.

use std::path::PathBuf;

use callguard_config::Override;
use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
EXIT STATUS:
    0  success
    1  runtime failure (daemon not running, database error, rows refused)
    2  usage or configuration error (bad arguments, invalid config file)

ENVIRONMENT:
    CALLGUARD_CONFIG   configuration file, as --config
    STATE_DIRECTORY    state directory when appliance.state_dir is unset (set by systemd)
    RUST_LOG           log filter for `callguard run`, replacing log.level

FILES:
    /etc/callguard/callguard.toml   default configuration (built-in defaults if absent)
    <state_dir>/callguard.db        the store: subscribers, alerts, SMS outbox, audit log
    <state_dir>/control.sock        control socket of the running daemon

Example configuration, every key documented: provisioning/callguard.example.toml";

/// Real-time scam-call protection for telecom subscribers.
///
/// callguard is the firmware of an appliance racked next to an operator's
/// session border controllers. The SBC forks each call to a protected
/// subscriber to the appliance over SIPREC; the appliance transcribes both
/// legs locally, judges whether the call is a scam, and warns the
/// subscriber by SMS while the call is still going. No call content is ever
/// stored.
///
/// This one binary is both the daemon (`callguard run`) and the technician's
/// tool for configuration, the subscriber register and alerts.
#[derive(Debug, Parser)]
#[command(name = "callguard", version, propagate_version = true, after_long_help = AFTER_HELP)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Where the configuration comes from.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: /etc/callguard/callguard.toml, or the
    /// built-in defaults when it does not exist].
    #[arg(long, short = 'c', global = true, env = "CALLGUARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Override one configuration key for this run (repeatable).
    ///
    /// KEY is a dotted path, with array elements by index; VALUE is TOML, or
    /// a plain string: `--set log.level=debug`,
    /// `--set sip.listeners.0.address=0.0.0.0:5060`,
    /// `--set 'media.rtp_ports=["30000-30999"]'`. Overrides are validated
    /// exactly like the file.
    #[arg(long = "set", global = true, value_name = "KEY=VALUE", value_parser = clap::value_parser!(Override))]
    pub overrides: Vec<Override>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the appliance daemon in the foreground until SIGTERM or SIGINT.
    ///
    /// Claims the state directory (one daemon per directory), opens the
    /// store, serves the control socket and logs to standard error: human
    /// lines on a terminal, JSON under systemd. On SIGTERM or SIGINT it stops
    /// accepting work, finishes alerts already decided within
    /// appliance.shutdown_grace_seconds, closes the store and exits 0.
    Run,

    /// Show the running daemon's state.
    ///
    /// Asks the daemon over its control socket. Exits 1 when no daemon is
    /// running (with --json, prints {"state": "stopped", ...} first).
    Status(JsonArg),

    /// Print the running daemon's metrics in the Prometheus text format.
    ///
    /// Counters and gauges of SIP sessions, RTP ports, media streams (packets,
    /// loss, lateness, concealment, SRTP rejections, dropped frames) and the
    /// register; no call identifier, number or content is ever a label.
    Metrics,

    /// Check or show the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),

    /// Manage the subscriber register: who is protected, in which language.
    #[command(subcommand)]
    Subscribers(SubscribersCommand),

    /// Live calls: the SIPREC sessions the daemon is recording.
    #[command(subcommand)]
    Calls(CallsCommand),

    /// Run the packet source alone and report what arrives, flow by flow.
    ///
    /// A technician's diagnostic for the media path: it opens the chosen
    /// backend on the media ports, counts packets, bytes and RTP sequence
    /// gaps per flow for a while, and reports the mode the backend got. It
    /// never prints or keeps a payload. Stop the daemon first, or choose
    /// other ports: a port can be bound only once.
    Capture(CaptureArgs),

    /// Lab tools for the media path.
    #[command(subcommand)]
    Media(MediaCommand),

    /// The XDP program that steers media into AF_XDP sockets.
    #[command(subcommand)]
    Bpf(BpfCommand),

    /// Alerts decided on calls (scores and tactic codes, never words).
    #[command(subcommand)]
    Alerts(AlertsCommand),

    /// Transcribe a recording as the appliance hears a call.
    ///
    /// The audio goes through the same end-pointing and the same speech
    /// worker (`callguard-stt`) as live calls, and the utterances are
    /// printed with their times as they come. A stereo WAV is read as a
    /// call: the left channel is the caller, the right the callee. Nothing
    /// is written anywhere: the text goes to standard output only.
    Transcribe(TranscribeArgs),

    /// Judge transcripts offline as the appliance would judge live calls.
    ///
    /// Each input line is a call, `{"id", "turns": [{"speaker":
    /// "caller"|"callee", "text", "t"?}], "caller_id"?, "language"?,
    /// "signaling"?}`. The turns are replayed one by one, so
    /// `decided_at_turn` is the turn at which the live appliance would have
    /// warned. Output lines: `{"id", "scam", "score", "tactics", "reason",
    /// "decided_at_turn", "evidence", "missing"}`. With --eval, the lines
    /// carry `"label": "scam"|"legit"` and the command prints the true- and
    /// false-positive rates, ROC AUC and when the decisions came. For
    /// operators tuning thresholds; call content never leaves this command.
    Detect(DetectArgs),

    /// Speech models in the model store (`<state_dir>/models/`).
    ///
    /// The speech worker runs whisper.cpp models (ggml `.bin` files). A
    /// model is imported once, checked completely (every tensor, then a
    /// sha256 kept beside it), and named in `speech.model`. Models are
    /// never fetched by the appliance: bring them on a USB stick or over
    /// the management network and import them.
    #[command(subcommand)]
    Models(ModelsCommand),

    /// Print the version, the commit and the target of this binary.
    Version(JsonArg),

    /// Print a shell completion script.
    ///
    /// Example: `callguard completions bash > /etc/bash_completion.d/callguard`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff), or write one page per command into a directory.
    Man {
        /// Write callguard.1 and callguard-<command>.1 pages into DIR.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// `--json` for commands that read.
#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `callguard config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file without starting anything.
    ///
    /// Reports every problem with its key path. Exits 0 when valid, 2 when not.
    Check {
        /// File to check [default: the file the daemon would use].
        file: Option<PathBuf>,
        /// Print machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the effective configuration (file, defaults and --set), secrets masked.
    Show(JsonArg),
}

/// `callguard subscribers …`
#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Register a subscriber, or change an existing one's settings.
    Add {
        /// The subscriber's number: +E.164, or national per appliance.home_country.
        msisdn: String,
        /// Language of their alerts: ISO 639-1, optionally with region (en, es, pt-BR).
        #[arg(long, short = 'l', default_value = "en")]
        language: String,
        /// Register them without protection (not opted in).
        #[arg(long)]
        opted_out: bool,
        /// A number whose calls are never flagged for them (repeatable).
        #[arg(long = "trusted", value_name = "NUMBER")]
        trusted: Vec<String>,
    },
    /// Remove a subscriber from the register.
    Remove {
        /// The subscriber's number.
        msisdn: String,
    },
    /// List the register.
    List(JsonArg),
    /// Import subscribers from a CSV file, all or nothing.
    ///
    /// The header names the columns, in any order: msisdn and language are
    /// required; opted_in (yes/no; default yes) and trusted_numbers
    /// (separated by `;`) are optional. Every row is checked first; if any
    /// row is bad, each is reported by line number and nothing is imported,
    /// unless --skip-bad is given. Existing subscribers are updated.
    Import {
        /// The CSV file, or `-` for standard input.
        file: PathBuf,
        /// Import the good rows even when some rows are bad.
        #[arg(long)]
        skip_bad: bool,
        /// Print machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Export the register as CSV, in the format `import` reads.
    Export {
        /// Write to FILE (atomically) instead of standard output.
        #[arg(long, short = 'o', value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// `callguard transcribe …`
#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// A WAV file (16-bit or float, mono or stereo, 8 kHz, 16 kHz or any
    /// rate that divides into 20 ms frames), or raw G.711 with --codec.
    pub file: PathBuf,
    /// Read FILE as raw 8 kHz G.711 (no header) in this law.
    #[arg(long, value_enum)]
    pub codec: Option<RawCodec>,
    /// A model in the store, or a ggml file [default: speech.model].
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Print the utterances as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Raw G.711 laws for `transcribe --codec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RawCodec {
    /// μ-law (North America, Japan).
    Pcmu,
    /// A-law (elsewhere).
    Pcma,
}

/// `callguard detect …`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("calls").required(true).args(["input", "eval"])))]
pub struct DetectArgs {
    /// Calls to judge (JSON lines), or `-` for standard input.
    #[arg(long, value_name = "CALLS.jsonl")]
    pub input: Option<PathBuf>,
    /// Labelled calls to evaluate the detector on (JSON lines with "label").
    #[arg(long, value_name = "CALLS.jsonl")]
    pub eval: Option<PathBuf>,
    /// Write the verdicts to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE", conflicts_with = "eval")]
    pub output: Option<PathBuf>,
    /// Warn threshold on the fused risk [default: detection.warn_threshold,
    /// else the model's calibrated one].
    #[arg(long, value_name = "RISK")]
    pub threshold: Option<f32>,
    /// Print JSON (one verdict per line; the report as one object).
    #[arg(long)]
    pub json: bool,
}

/// `callguard models …`
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Import a whisper.cpp ggml `.bin` file, or convert a faster-whisper
    /// (CTranslate2) model directory to one, into the model store.
    ///
    /// The model is validated completely before it appears in the store;
    /// a truncated or foreign file is refused with the byte offset of the
    /// problem. The name defaults to the model's own (`tiny.en`,
    /// `base-q5_0`…).
    Import {
        /// The ggml file or the faster-whisper directory (with model.bin,
        /// config.json and vocabulary.txt).
        path: PathBuf,
        /// Store it under this name instead of the model's own.
        #[arg(long)]
        name: Option<String>,
        /// Replace a stored model of the same name.
        #[arg(long)]
        force: bool,
        /// Print machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the stored models: name, kind, size, sha256, and whether the
    /// configuration uses it.
    List(JsonArg),
    /// Check a stored model again: every tensor, and its sha256 against the
    /// one recorded at import. Exits 1 when it does not match.
    Verify {
        /// The model's name.
        name: String,
        /// Print machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Delete a stored model. Refused for the model `speech.model` names,
    /// unless --force.
    Remove {
        /// The model's name.
        name: String,
        /// Remove it even if the configuration uses it.
        #[arg(long)]
        force: bool,
    },
}

/// `callguard calls …`
#[derive(Debug, Subcommand)]
pub enum CallsCommand {
    /// List live calls: parties, streams with their role, codec and port,
    /// age, and the RTP packets received so far.
    List(JsonArg),
}

/// `callguard capture …`
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Packet source.
    #[arg(long, value_enum, default_value_t = Backend::Socket)]
    pub backend: Backend,
    /// Interface for `afxdp` and `afpacket` [default: media.interface].
    #[arg(long, value_name = "IF")]
    pub iface: Option<String>,
    /// Media ports, `FIRST-LAST` (repeatable) [default: media.rtp_ports].
    #[arg(long = "ports", value_name = "FIRST-LAST")]
    pub ports: Vec<callguard_config::PortRange>,
    /// Capture file for `pcap` (pcap or pcapng).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// Replay the capture file as fast as possible instead of at recorded speed.
    #[arg(long)]
    pub max_speed: bool,
    /// How long to capture (a file also ends at its end).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub seconds: u64,
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The packet sources `callguard capture` can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Plain UDP sockets bound to the ports (unprivileged).
    Socket,
    /// AF_XDP sockets fed by the XDP program (needs CAP_NET_ADMIN, CAP_BPF).
    Afxdp,
    /// AF_PACKET on an interface (needs CAP_NET_RAW).
    Afpacket,
    /// Replay of a capture file.
    Pcap,
}

/// `callguard media …`
#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Decode every RTP/SRTP stream of a capture file into one 16 kHz WAV each.
    ///
    /// Offline lab validation of the media path: the same jitter buffer,
    /// decoders and resampler as live calls, driven by the recorded packet
    /// times. It reads capture files only, never a live interface, so it
    /// cannot be used to record calls. Prints each stream's statistics.
    Decode {
        /// The capture (pcap or pcapng).
        file: PathBuf,
        /// Directory for the WAV files (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Codec of a dynamic payload type, `PT=NAME` (NAME: PCMU, PCMA, G722, opus); repeatable.
        #[arg(long = "codec", value_name = "PT=NAME")]
        codecs: Vec<String>,
        /// Payload type of telephone-event (DTMF) in the capture.
        #[arg(long, value_name = "PT")]
        dtmf: Option<u8>,
        /// SRTP key of the stream to a port, `PORT=BASE64[:32]` (inline key and
        /// salt as in SDP `a=crypto`; `:32` for AES_CM_128_HMAC_SHA1_32); repeatable.
        #[arg(long = "srtp-key", value_name = "PORT=KEY")]
        srtp_keys: Vec<String>,
        /// Print machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `callguard bpf …`
#[derive(Debug, Subcommand)]
pub enum BpfCommand {
    /// Show the XDP programs on the media interface: callguard's (with its
    /// mode and counters) and anyone else's.
    Status {
        /// Interface [default: media.interface from the configuration].
        #[arg(long, value_name = "IF")]
        iface: Option<String>,
        /// Print machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove callguard's XDP program from the interface (e.g. one left by
    /// a crashed daemon). Programs of other software are never touched.
    Detach {
        /// Interface [default: media.interface from the configuration].
        #[arg(long, value_name = "IF")]
        iface: Option<String>,
        /// Print machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `callguard alerts …`
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts, newest first.
    List {
        /// Only alerts newer than this: a duration (30m, 24h, 7d) or an RFC 3339 time.
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// At most this many alerts.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}
