//! The durable SMS outbox, as far as the control plane reports on it.

use serde::{Deserialize, Serialize};

use crate::{Context, Store, StoreError};

/// How many outbox messages are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxCounts {
    /// Written, not yet accepted by an SMSC.
    pub pending: u64,
    /// Accepted by an SMSC, no delivery report yet.
    pub submitted: u64,
    /// Delivered to the handset.
    pub delivered: u64,
    /// Expired, rejected or undeliverable.
    pub failed: u64,
}

impl Store {
    /// Counts of outbox messages by state.
    pub fn outbox_counts(&self) -> Result<OutboxCounts, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT state, COUNT(*) FROM sms_outbox GROUP BY state")
            .doing("counting the SMS outbox")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
            .doing("counting the SMS outbox")?;
        let mut counts = OutboxCounts::default();
        for row in rows {
            let (state, n) = row.doing("counting the SMS outbox")?;
            match state.as_str() {
                "pending" => counts.pending += n,
                "submitted" => counts.submitted += n,
                "delivered" => counts.delivered += n,
                _ => counts.failed += n,
            }
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_counted() {
        let store = Store::open_in_memory().unwrap();
        for (i, state) in ["pending", "pending", "submitted", "delivered", "expired", "rejected"].iter().enumerate() {
            store
                .conn
                .execute(
                    "INSERT INTO sms_outbox (call_id, subscriber, body, state, next_attempt_at, expires_at, created_at, updated_at)
                     VALUES (?1, '+12015550123', NULL, ?2, '', '', '', '')",
                    rusqlite::params![format!("call-{i}"), state],
                )
                .unwrap();
        }
        let counts = store.outbox_counts().unwrap();
        assert_eq!(counts, OutboxCounts { pending: 2, submitted: 1, delivered: 1, failed: 2 });
    }
}
