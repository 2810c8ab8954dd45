//! What `callguard status` reports about a running daemon.

use serde::{Deserialize, Serialize};

use callguard_store::OutboxCounts;

use crate::{CallSpeechStatus, Paths, Shared, SpeechStatus};

/// Where the daemon is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lifecycle {
    /// Opening the store and sockets.
    Starting,
    /// Serving.
    Running,
    /// Signalled to stop: finishing in-flight work, accepting nothing new.
    Stopping,
}

/// A running daemon's state, as counters and settings (never call content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// Lifecycle state.
    pub state: Lifecycle,
    /// The appliance's configured name.
    pub name: String,
    /// Version of the running daemon.
    pub version: String,
    /// Process id of the daemon.
    pub pid: u32,
    /// When the daemon started (RFC 3339).
    pub started_at: String,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// Where the configuration came from.
    pub config: String,
    /// The state directory.
    pub state_dir: String,
    /// The subscriber register.
    pub subscribers: SubscriberCounts,
    /// Alerts decided in the last 24 hours.
    pub alerts_last_24h: u64,
    /// SIPREC service; absent while the daemon is starting.
    pub sip: Option<SipStatus>,
    /// Speech-to-text.
    pub speech: SpeechStatus,
    /// SMS delivery.
    pub sms: SmsStatus,
}

/// The SIPREC Session Recording Server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipStatus {
    /// Listening sockets, as `transport address`.
    pub listeners: Vec<String>,
    /// Live recording sessions.
    pub sessions: usize,
    /// Sessions accepted since start.
    pub sessions_started: u64,
    /// Sessions declined (subscriber not protected).
    pub declined: u64,
    /// Requests refused because the source is not a configured SBC.
    pub forbidden_sources: u64,
    /// New sessions refused for exceeding an SBC's rate.
    pub rate_limited: u64,
    /// Malformed messages (answered 400 or dropped).
    pub malformed: u64,
    /// RTP ports in use.
    pub rtp_ports_in_use: usize,
    /// RTP ports available in all.
    pub rtp_ports_total: usize,
}

/// A live call, for `callguard calls list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallSummary {
    /// The SIPREC session's Call-ID.
    pub call_id: String,
    /// The protected subscriber.
    pub subscriber: String,
    /// The remote caller, when known.
    pub caller: Option<String>,
    /// Seconds since the session started.
    pub age_seconds: u64,
    /// The recorded streams.
    pub streams: Vec<StreamSummary>,
    /// Speech-to-text of the call; absent when it is off.
    pub speech: Option<CallSpeechStatus>,
}

/// One recorded stream of a live call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamSummary {
    /// `caller`, `subscriber`, `mixed` or `unknown`.
    pub role: String,
    /// The SDP label.
    pub label: Option<String>,
    /// Codec name.
    pub codec: String,
    /// Local RTP port.
    pub local_port: u16,
    /// Whether the SBC is sending (not on hold).
    pub active: bool,
    /// Whether the media plane is receiving the stream (its port is open).
    pub receiving: bool,
    /// RTP packets received.
    pub packets: u64,
    /// Packets lost (sequence numbers never received).
    pub lost: u64,
    /// Packets that arrived too late to be played.
    pub late: u64,
    /// Milliseconds of audio concealed.
    pub concealed_ms: u64,
    /// Interarrival jitter, milliseconds.
    pub jitter_ms: f64,
}

/// Size of the subscriber register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberCounts {
    /// Registered subscribers.
    pub total: u64,
    /// Of those, opted in to protection.
    pub opted_in: u64,
}

/// How alerts leave the appliance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsStatus {
    /// Configured SMSC names, in order of preference; empty means outbox only.
    pub smscs: Vec<String>,
    /// Outbox messages by state.
    pub outbox: OutboxCounts,
}

impl Status {
    pub(crate) fn collect(shared: &Shared, sip: Option<SipStatus>) -> Result<Status, callguard_store::StoreError> {
        let config = &shared.config;
        let day_ago = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        let (counts, alerts, outbox) = {
            let store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
            (store.subscriber_counts()?, store.alert_count_since(day_ago)?, store.outbox_counts()?)
        };
        Ok(Status {
            state: *shared.lifecycle.borrow(),
            name: config.appliance.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            started_at: shared.started_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            uptime_seconds: shared.started.elapsed().as_secs(),
            config: shared.origin.to_string(),
            state_dir: Paths::of(config).state_dir.display().to_string(),
            subscribers: SubscriberCounts { total: counts.0, opted_in: counts.1 },
            alerts_last_24h: alerts,
            sip,
            speech: match shared.speech.get() {
                Some(Ok(report)) => report.status(),
                Some(Err(reason)) => SpeechStatus::off(reason),
                None => SpeechStatus::off("starting"),
            },
            sms: SmsStatus { smscs: config.sms.smsc.iter().map(|s| s.name.clone()).collect(), outbox },
        })
    }
}

impl SipStatus {
    pub(crate) fn from_stats(stats: &crate::sip::SipStats) -> SipStatus {
        SipStatus {
            listeners: stats.listeners.iter().map(|(t, a)| format!("{t} {a}")).collect(),
            sessions: stats.sessions,
            sessions_started: stats.srs.sessions_started,
            declined: stats.srs.declined,
            forbidden_sources: stats.srs.forbidden_sources,
            rate_limited: stats.srs.rate_limited,
            malformed: stats.srs.malformed,
            rtp_ports_in_use: stats.ports.0,
            rtp_ports_total: stats.ports.1,
        }
    }
}

impl CallSummary {
    pub(crate) fn of(
        session: &callguard_srs::SessionSummary,
        media: Option<&crate::media::MediaCounters>,
        speech: Option<&crate::speech::SpeechCounters>,
    ) -> CallSummary {
        CallSummary {
            call_id: session.call_id.clone(),
            subscriber: session.subscriber.to_string(),
            caller: session.caller.as_ref().map(ToString::to_string),
            age_seconds: session.started.elapsed().as_secs(),
            streams: session
                .streams
                .iter()
                .map(|s| {
                    let m = media.map(|m| m.of(s.local_port)).unwrap_or_default();
                    StreamSummary {
                        role: format!("{:?}", s.role).to_ascii_lowercase(),
                        label: s.label.clone(),
                        codec: s.codec.clone(),
                        local_port: s.local_port,
                        active: s.active,
                        receiving: m.receiving,
                        packets: m.packets,
                        lost: m.lost,
                        late: m.late,
                        concealed_ms: m.concealed_ms,
                        jitter_ms: m.jitter_ms,
                    }
                })
                .collect(),
            speech: speech.and_then(|s| s.of(&session.call_id)),
        }
    }
}
