//! What `callguard status` reports about a running daemon.

use serde::{Deserialize, Serialize};

use callguard_store::OutboxCounts;

use crate::{Paths, Shared};

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
    /// SMS delivery.
    pub sms: SmsStatus,
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
    pub(crate) fn collect(shared: &Shared) -> Result<Status, callguard_store::StoreError> {
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
            started_at: shared
                .started_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            uptime_seconds: shared.started.elapsed().as_secs(),
            config: shared.origin.to_string(),
            state_dir: Paths::of(config).state_dir.display().to_string(),
            subscribers: SubscriberCounts { total: counts.0, opted_in: counts.1 },
            alerts_last_24h: alerts,
            sms: SmsStatus { smscs: config.sms.smsc.iter().map(|s| s.name.clone()).collect(), outbox },
        })
    }
}
