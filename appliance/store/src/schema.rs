//! The schema, as an ordered list of migrations. Never edit a released
//! migration: append a new one.

use rusqlite_migration::{M, Migrations};

pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(
        r#"
CREATE TABLE subscribers (
    msisdn            TEXT PRIMARY KEY NOT NULL,  -- E.164
    language          TEXT NOT NULL,              -- ISO 639-1, optional -REGION
    opted_in          INTEGER NOT NULL CHECK (opted_in IN (0, 1)),
    opt_in_changed_at TEXT NOT NULL,
    trusted_numbers   TEXT NOT NULL DEFAULT '',   -- E.164, space-separated
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;

CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY,
    call_id    TEXT NOT NULL UNIQUE,  -- one alert per call
    created_at TEXT NOT NULL,
    caller     TEXT NOT NULL,
    subscriber TEXT NOT NULL,
    score      REAL NOT NULL CHECK (score >= 0 AND score <= 1),
    tactics    TEXT NOT NULL          -- tactic codes, space-separated; never words
) STRICT;
CREATE INDEX alerts_by_time ON alerts (created_at);

CREATE TABLE sms_outbox (
    id              INTEGER PRIMARY KEY,
    call_id         TEXT NOT NULL UNIQUE,  -- idempotent on the call
    subscriber      TEXT NOT NULL,
    body            TEXT,                  -- erased once the message is final
    state           TEXT NOT NULL CHECK (state IN
                      ('pending', 'submitted', 'delivered', 'expired', 'rejected', 'undeliverable')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    smsc            TEXT,
    message_id      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX sms_outbox_due ON sms_outbox (state, next_attempt_at);

CREATE TABLE caller_reputation (
    number     TEXT PRIMARY KEY NOT NULL,  -- E.164
    first_seen TEXT NOT NULL,
    last_seen  TEXT NOT NULL,
    calls      INTEGER NOT NULL DEFAULT 0,
    alerts     INTEGER NOT NULL DEFAULT 0,
    reports    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;
"#,
    )])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        super::migrations().validate().expect("migrations apply to an empty database");
    }
}
