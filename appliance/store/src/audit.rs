//! The audit log: who changed what, and when.

use rusqlite::{Transaction, params};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{Context, Store, StoreError, now};

/// One change made by a person or an automated actor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who did it (e.g. `cli:alice`).
    pub actor: String,
    /// What kind of change (e.g. `subscriber.add`).
    pub action: String,
    /// What changed, without call content.
    pub detail: String,
}

/// Writes an entry inside the transaction that makes the change.
pub(crate) fn record(tx: &Transaction<'_>, actor: &str, action: &str, detail: &str) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit_log (at, actor, action, detail) VALUES (?1, ?2, ?3, ?4)",
        params![now(), actor, action, detail],
    )
    .doing("writing the audit log")?;
    Ok(())
}

impl Store {
    /// The newest `limit` entries, newest first.
    pub fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?1")
            .doing("reading the audit log")?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok(AuditEntry { at: r.get(0)?, actor: r.get(1)?, action: r.get(2)?, detail: r.get(3)? })
            })
            .doing("reading the audit log")?;
        rows.collect::<Result<_, _>>().doing("reading the audit log")
    }
}
