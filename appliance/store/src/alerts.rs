//! Alerts decided on calls: scores and tactic codes, never words.

use callguard_numbers::E164;
use rusqlite::{Row, params};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{Context, Store, StoreError, now};

/// An alert as the detector decides it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    /// The SIPREC session's call id; one alert per call.
    pub call_id: String,
    /// The remote caller's number, when the signaling gave one.
    pub caller: Option<E164>,
    /// The protected subscriber.
    pub subscriber: E164,
    /// Fused risk in [0, 1].
    pub score: f64,
    /// Tactic codes (`payment.gift_card`, `secret.otp`…), never transcript words.
    pub tactics: Vec<String>,
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The SIPREC session's call id.
    pub call_id: String,
    /// When the alert was decided.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The remote caller's number; empty when it was not known.
    pub caller: String,
    /// The protected subscriber.
    pub subscriber: String,
    /// Fused risk in [0, 1].
    pub score: f64,
    /// Tactic codes.
    pub tactics: Vec<String>,
}

/// A tactic code is a short identifier, so no words of a call can be stored
/// as one.
fn is_tactic_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
}

impl Store {
    /// Records an alert; `false` if the call already had one (idempotent on call id).
    pub fn record_alert(&mut self, alert: &NewAlert) -> Result<bool, StoreError> {
        if !(0.0..=1.0).contains(&alert.score) {
            return Err(StoreError::Invalid(format!("alert score {} is outside [0, 1]", alert.score)));
        }
        if let Some(bad) = alert.tactics.iter().find(|t| !is_tactic_code(t)) {
            return Err(StoreError::Invalid(format!(
                "`{bad}` is not a tactic code (lowercase letters, digits, `_` and `.`)"
            )));
        }
        let inserted = self
            .conn
            .execute(
                "INSERT INTO alerts (call_id, created_at, caller, subscriber, score, tactics)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (call_id) DO NOTHING",
                params![
                    alert.call_id,
                    now(),
                    alert.caller.as_ref().map_or("", E164::as_str),
                    alert.subscriber.as_str(),
                    alert.score,
                    alert.tactics.join(" ")
                ],
            )
            .doing("recording an alert")?;
        Ok(inserted == 1)
    }

    /// How many alerts were decided since `since`.
    pub fn alert_count_since(&self, since: OffsetDateTime) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM alerts WHERE created_at >= ?1", [since], |r| r.get(0))
            .doing("counting alerts")
    }

    /// Alerts newest first, at most `limit`, optionally only since a time.
    pub fn alerts(&self, since: Option<OffsetDateTime>, limit: u32) -> Result<Vec<Alert>, StoreError> {
        let since = since.unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT call_id, created_at, caller, subscriber, score, tactics FROM alerts
                 WHERE created_at >= ?1 ORDER BY created_at DESC, id DESC LIMIT ?2",
            )
            .doing("listing alerts")?;
        let rows = stmt.query_map(params![since, limit], from_row).doing("listing alerts")?;
        rows.collect::<Result<_, _>>().doing("listing alerts")
    }
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Alert> {
    let tactics: String = row.get(5)?;
    Ok(Alert {
        call_id: row.get(0)?,
        created_at: row.get(1)?,
        caller: row.get(2)?,
        subscriber: row.get(3)?,
        score: row.get(4)?,
        tactics: tactics.split_whitespace().map(str::to_owned).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(call_id: &str) -> NewAlert {
        NewAlert {
            call_id: call_id.into(),
            caller: Some("+12015550111".parse().unwrap()),
            subscriber: "+12015550123".parse().unwrap(),
            score: 0.93,
            tactics: vec!["authority.tax".into(), "payment.gift_card".into()],
        }
    }

    #[test]
    fn one_alert_per_call() {
        let mut store = Store::open_in_memory().unwrap();
        assert!(store.record_alert(&alert("call-1")).unwrap());
        assert!(!store.record_alert(&alert("call-1")).unwrap());
        assert!(store.record_alert(&alert("call-2")).unwrap());
        let listed = store.alerts(None, 10).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].call_id, "call-2");
        assert_eq!(listed[1].tactics, ["authority.tax", "payment.gift_card"]);
        assert_eq!(store.alerts(None, 1).unwrap().len(), 1);
        let future = OffsetDateTime::now_utc() + time::Duration::hours(1);
        assert!(store.alerts(Some(future), 10).unwrap().is_empty());
        assert_eq!(store.alert_count_since(OffsetDateTime::UNIX_EPOCH).unwrap(), 2);
        assert_eq!(store.alert_count_since(future).unwrap(), 0);
    }

    #[test]
    fn words_never_reach_the_alerts_table() {
        let mut store = Store::open_in_memory().unwrap();
        let mut with_words = alert("call-3");
        with_words.tactics = vec!["buy gift cards now".into()];
        assert!(matches!(store.record_alert(&with_words), Err(StoreError::Invalid(_))));
        let mut bad_score = alert("call-4");
        bad_score.score = 1.5;
        assert!(store.record_alert(&bad_score).is_err());
        assert!(store.alerts(None, 10).unwrap().is_empty());
    }
}
