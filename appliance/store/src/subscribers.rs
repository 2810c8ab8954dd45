//! The subscriber register: who is protected, and how to talk to them.

use std::fmt;
use std::str::FromStr;

use callguard_numbers::E164;
use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::Serialize;
use time::OffsetDateTime;

use crate::{Context, Store, StoreError, audit, now};

/// A subscriber's language: ISO 639-1, optionally with a region (`en`, `pt-BR`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Language(String);

impl FromStr for Language {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let invalid = || format!("`{s}` is not a language code; use ISO 639-1, e.g. en, es, pt-BR");
        let (primary, region) = match s.split_once(['-', '_']) {
            Some((p, r)) => (p, Some(r)),
            None => (s, None),
        };
        let primary = primary.to_ascii_lowercase();
        if isolang::Language::from_639_1(&primary).is_none() {
            return Err(invalid());
        }
        match region {
            None => Ok(Language(primary)),
            Some(r) if r.len() == 2 && r.bytes().all(|b| b.is_ascii_alphabetic()) => {
                Ok(Language(format!("{primary}-{}", r.to_ascii_uppercase())))
            }
            Some(_) => Err(invalid()),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A subscriber as entered by a technician or an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscriber {
    /// The protected number.
    pub msisdn: E164,
    /// Language of the alerts they receive.
    pub language: Language,
    /// Whether they have agreed to be protected.
    pub opted_in: bool,
    /// Numbers whose calls are never flagged for this subscriber.
    pub trusted_numbers: Vec<E164>,
}

/// A subscriber as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subscriber {
    /// The protected number.
    pub msisdn: E164,
    /// Language of the alerts they receive.
    pub language: Language,
    /// Whether they have agreed to be protected.
    pub opted_in: bool,
    /// When `opted_in` last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub opt_in_changed_at: OffsetDateTime,
    /// Numbers whose calls are never flagged for this subscriber.
    pub trusted_numbers: Vec<E164>,
    /// When the subscriber was first registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Whether an upsert created or changed a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Upsert {
    /// A new subscriber.
    Added,
    /// An existing subscriber, now with the new values.
    Updated,
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Subscribers that were not in the register.
    pub added: usize,
    /// Subscribers that were, now with the file's values.
    pub updated: usize,
}

const COLUMNS: &str = "msisdn, language, opted_in, opt_in_changed_at, trusted_numbers, created_at";

impl Store {
    /// Adds a subscriber or replaces an existing one's settings.
    pub fn upsert_subscriber(&mut self, sub: &NewSubscriber, actor: &str) -> Result<Upsert, StoreError> {
        let tx = self.conn.transaction().doing("starting a transaction")?;
        let outcome = upsert(&tx, sub)?;
        let action = match outcome {
            Upsert::Added => "subscriber.add",
            Upsert::Updated => "subscriber.update",
        };
        let detail = format!(
            "{} language={} opted_in={} trusted={}",
            sub.msisdn,
            sub.language,
            sub.opted_in,
            sub.trusted_numbers.len()
        );
        audit::record(&tx, actor, action, &detail)?;
        tx.commit().doing("committing a subscriber")?;
        Ok(outcome)
    }

    /// Removes a subscriber; `false` if they were not registered.
    pub fn remove_subscriber(&mut self, msisdn: &E164, actor: &str) -> Result<bool, StoreError> {
        let tx = self.conn.transaction().doing("starting a transaction")?;
        let removed = tx
            .execute("DELETE FROM subscribers WHERE msisdn = ?1", [msisdn.as_str()])
            .doing("removing a subscriber")?
            > 0;
        if removed {
            audit::record(&tx, actor, "subscriber.remove", msisdn.as_str())?;
        }
        tx.commit().doing("committing a removal")?;
        Ok(removed)
    }

    /// Adds or updates all `subscribers` in one transaction: all or nothing.
    pub fn import_subscribers(
        &mut self,
        subscribers: &[NewSubscriber],
        actor: &str,
        source: &str,
    ) -> Result<ImportSummary, StoreError> {
        let tx = self.conn.transaction().doing("starting a transaction")?;
        let mut summary = ImportSummary::default();
        for sub in subscribers {
            match upsert(&tx, sub)? {
                Upsert::Added => summary.added += 1,
                Upsert::Updated => summary.updated += 1,
            }
        }
        let detail = format!("{source}: added {} updated {}", summary.added, summary.updated);
        audit::record(&tx, actor, "subscriber.import", &detail)?;
        tx.commit().doing("committing an import")?;
        Ok(summary)
    }

    /// One subscriber, if registered.
    pub fn subscriber(&self, msisdn: &E164) -> Result<Option<Subscriber>, StoreError> {
        self.conn
            .query_row(&format!("SELECT {COLUMNS} FROM subscribers WHERE msisdn = ?1"), [msisdn.as_str()], from_row)
            .optional()
            .doing("reading a subscriber")
    }

    /// All subscribers, ordered by number.
    pub fn subscribers(&self) -> Result<Vec<Subscriber>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM subscribers ORDER BY msisdn"))
            .doing("listing subscribers")?;
        let rows = stmt.query_map([], from_row).doing("listing subscribers")?;
        rows.collect::<Result<_, _>>().doing("listing subscribers")
    }

    /// How many subscribers are registered, and how many of them opted in.
    pub fn subscriber_counts(&self) -> Result<(u64, u64), StoreError> {
        self.conn
            .query_row("SELECT COUNT(*), COALESCE(SUM(opted_in), 0) FROM subscribers", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .doing("counting subscribers")
    }
}

fn upsert(tx: &Transaction<'_>, sub: &NewSubscriber) -> Result<Upsert, StoreError> {
    let now = now();
    let trusted = join_numbers(&sub.trusted_numbers);
    let previous: Option<bool> = tx
        .query_row("SELECT opted_in FROM subscribers WHERE msisdn = ?1", [sub.msisdn.as_str()], |r| r.get(0))
        .optional()
        .doing("looking up a subscriber")?;
    match previous {
        None => {
            tx.execute(
                "INSERT INTO subscribers (msisdn, language, opted_in, opt_in_changed_at, trusted_numbers, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?4)",
                params![sub.msisdn.as_str(), sub.language.0, sub.opted_in, now, trusted],
            )
            .doing("adding a subscriber")?;
            Ok(Upsert::Added)
        }
        Some(was_opted_in) => {
            tx.execute(
                "UPDATE subscribers SET language = ?2, opted_in = ?3, trusted_numbers = ?4, updated_at = ?5,
                   opt_in_changed_at = CASE WHEN ?6 THEN ?5 ELSE opt_in_changed_at END
                 WHERE msisdn = ?1",
                params![sub.msisdn.as_str(), sub.language.0, sub.opted_in, trusted, now, was_opted_in != sub.opted_in],
            )
            .doing("updating a subscriber")?;
            Ok(Upsert::Updated)
        }
    }
}

fn join_numbers(numbers: &[E164]) -> String {
    numbers.iter().map(E164::as_str).collect::<Vec<_>>().join(" ")
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Subscriber> {
    let text_err = |i, e: String| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into());
    let msisdn: String = row.get(0)?;
    let language: String = row.get(1)?;
    let trusted: String = row.get(4)?;
    Ok(Subscriber {
        msisdn: msisdn.parse().map_err(|e: callguard_numbers::NumberError| text_err(0, e.to_string()))?,
        language: language.parse().map_err(|e| text_err(1, e))?,
        opted_in: row.get(2)?,
        opt_in_changed_at: row.get(3)?,
        trusted_numbers: trusted
            .split_whitespace()
            .map(|n| n.parse().map_err(|e: callguard_numbers::NumberError| text_err(4, e.to_string())))
            .collect::<Result<_, _>>()?,
        created_at: row.get(5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(msisdn: &str, opted_in: bool) -> NewSubscriber {
        NewSubscriber {
            msisdn: msisdn.parse().unwrap(),
            language: "en".parse().unwrap(),
            opted_in,
            trusted_numbers: vec!["+12015550199".parse().unwrap()],
        }
    }

    #[test]
    fn languages_are_normalized_and_checked() {
        assert_eq!("EN".parse::<Language>().unwrap().to_string(), "en");
        assert_eq!("pt_br".parse::<Language>().unwrap().to_string(), "pt-BR");
        for bad in ["", "english", "xx", "en-", "en-USA", "e"] {
            assert!(bad.parse::<Language>().is_err(), "{bad}");
        }
    }

    #[test]
    fn upsert_adds_then_updates_and_tracks_opt_in_changes() {
        let mut store = Store::open_in_memory().unwrap();
        assert_eq!(store.upsert_subscriber(&sub("+12015550123", true), "t").unwrap(), Upsert::Added);
        let first = store.subscriber(&"+12015550123".parse().unwrap()).unwrap().unwrap();
        assert!(first.opted_in);
        assert_eq!(first.trusted_numbers.len(), 1);

        let mut changed = sub("+12015550123", false);
        changed.language = "es".parse().unwrap();
        assert_eq!(store.upsert_subscriber(&changed, "t").unwrap(), Upsert::Updated);
        let second = store.subscriber(&"+12015550123".parse().unwrap()).unwrap().unwrap();
        assert!(!second.opted_in);
        assert_eq!(second.language.to_string(), "es");
        assert!(second.opt_in_changed_at >= first.opt_in_changed_at);
        assert_eq!(store.subscriber_counts().unwrap(), (1, 0));
    }

    #[test]
    fn remove_reports_whether_anything_was_removed() {
        let mut store = Store::open_in_memory().unwrap();
        store.upsert_subscriber(&sub("+12015550123", true), "t").unwrap();
        assert!(store.remove_subscriber(&"+12015550123".parse().unwrap(), "t").unwrap());
        assert!(!store.remove_subscriber(&"+12015550123".parse().unwrap(), "t").unwrap());
        let actions: Vec<String> = store.audit_log(10).unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["subscriber.remove", "subscriber.add"]);
    }
}
