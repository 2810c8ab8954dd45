//! The appliance's local store: one SQLite database in the state directory.
//!
//! This crate owns all SQL. It holds the subscriber register (who is
//! protected, in which language, with which trusted numbers), the alerts
//! decided (scores and tactic codes, never words), the durable SMS outbox,
//! caller reputation counters and the audit log of who changed what.
//!
//! Design: rusqlite with WAL so the daemon and technician commands can use
//! the database at the same time; schema migrations in code
//! (`rusqlite_migration`, tracked by SQLite's `user_version`), applied on
//! open; `synchronous=FULL` because an alert once decided must survive a
//! crash. Every change made by a person is written to the audit log in the
//! same transaction as the change.
//!
//! Privacy: nothing here stores call audio or transcripts. Tactic codes are
//! checked to be identifiers, so words cannot slip into the alerts table.

mod alerts;
mod audit;
mod outbox;
mod schema;
mod subscriber_csv;
mod subscribers;

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use time::OffsetDateTime;

pub use alerts::{Alert, NewAlert};
pub use audit::AuditEntry;
pub use outbox::OutboxCounts;
pub use subscriber_csv::{CsvRowError, ParsedCsv, parse_subscriber_csv, write_subscriber_csv};
pub use subscribers::{ImportSummary, Language, NewSubscriber, Subscriber, Upsert};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("cannot open the database {}: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The schema could not be brought to this version.
    #[error("cannot migrate the database {} to this version's schema: {source}", path.display())]
    Migrate {
        /// The database file.
        path: PathBuf,
        /// The migration error.
        #[source]
        source: rusqlite_migration::Error,
    },
    /// A query failed.
    #[error("database error while {action}: {source}")]
    Sql {
        /// What the store was doing.
        action: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// A value offered to the store is not acceptable.
    #[error("{0}")]
    Invalid(String),
}

/// Adds what the store was doing to a SQLite error.
trait Context<T> {
    fn doing(self, action: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, rusqlite::Error> {
    fn doing(self, action: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sql { action, source })
    }
}

/// The database, open and migrated.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// The database's file name inside the state directory.
    pub const FILE_NAME: &'static str = "callguard.db";

    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open { path: path.to_path_buf(), source };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(open_err)?;
        Self::prepare(conn, path)
    }

    /// An empty database in memory, for tests of the layers above.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = Path::new(":memory:");
        let conn =
            Connection::open_in_memory().map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
        Self::prepare(conn, path)
    }

    fn prepare(mut conn: Connection, path: &Path) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open { path: path.to_path_buf(), source };
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
        schema::migrations()
            .to_latest(&mut conn)
            .map_err(|source| StoreError::Migrate { path: path.to_path_buf(), source })?;
        Ok(Store { conn })
    }

    /// Closes the database, checkpointing the write-ahead log.
    pub fn close(self) -> Result<(), StoreError> {
        self.conn.close().map_err(|(_, source)| StoreError::Sql { action: "closing the database", source })
    }

    /// The schema version this database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn.pragma_query_value(None, "user_version", |row| row.get(0)).doing("reading the schema version")
    }
}

/// The current time, truncated to whole seconds as stored.
fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}
