//! The subscriber CSV format operators exchange with the appliance.
//!
//! A header row names the columns, in any order: `msisdn` and `language`
//! are required; `opted_in` (yes/no, true/false, 1/0; default yes) and
//! `trusted_numbers` (separated by `;`) are optional. Every row is
//! checked, and every bad row reported with its line number, before
//! anything is written.

use std::collections::HashMap;
use std::io::{Read, Write};

use callguard_numbers::{E164, HomeCountry};
use serde::Serialize;

use crate::{NewSubscriber, StoreError, Subscriber};

const COLUMNS: [&str; 4] = ["msisdn", "language", "opted_in", "trusted_numbers"];

/// A row that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CsvRowError {
    /// Line number in the file (the header is line 1).
    pub line: u64,
    /// What is wrong with the row.
    pub message: String,
}

/// A checked CSV file: the good rows and what is wrong with the others.
#[derive(Debug, Default)]
pub struct ParsedCsv {
    /// Rows that can be imported, in file order.
    pub subscribers: Vec<NewSubscriber>,
    /// Rows that cannot, in file order.
    pub errors: Vec<CsvRowError>,
}

/// Reads and checks a subscriber CSV. Fails only when the file as a whole is
/// unusable (unreadable, no or bad header); bad rows are collected.
pub fn parse_subscriber_csv(input: impl Read, home: HomeCountry) -> Result<ParsedCsv, StoreError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let header =
        reader.headers().map_err(|e| StoreError::Invalid(format!("line 1: cannot read the header row: {e}")))?.clone();
    let index = column_index(&header)?;
    let mut parsed = ParsedCsv::default();
    let mut seen: HashMap<E164, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                if e.is_io_error() {
                    return Err(StoreError::Invalid(format!("line {line}: cannot read the file: {e}")));
                }
                parsed.errors.push(CsvRowError { line, message: csv_message(&e) });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        match parse_row(&record, &index, home) {
            Ok(sub) => match seen.insert(sub.msisdn.clone(), line) {
                Some(first) => parsed
                    .errors
                    .push(CsvRowError { line, message: format!("{} is already on line {first}", sub.msisdn) }),
                None => parsed.subscribers.push(sub),
            },
            Err(message) => parsed.errors.push(CsvRowError { line, message }),
        }
    }
    Ok(parsed)
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("has {len} fields, the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
        _ => e.to_string(),
    }
}

struct ColumnIndex {
    msisdn: usize,
    language: usize,
    opted_in: Option<usize>,
    trusted_numbers: Option<usize>,
}

fn column_index(header: &csv::StringRecord) -> Result<ColumnIndex, StoreError> {
    let mut found: HashMap<&str, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim_start_matches('\u{feff}').to_ascii_lowercase();
        let Some(known) = COLUMNS.iter().find(|c| **c == name) else {
            return Err(StoreError::Invalid(format!(
                "line 1: unknown column `{name}`; the columns are {}",
                COLUMNS.join(", ")
            )));
        };
        if found.insert(known, i).is_some() {
            return Err(StoreError::Invalid(format!("line 1: column `{name}` appears twice")));
        }
    }
    let required = |name: &str| {
        found.get(name).copied().ok_or_else(|| {
            StoreError::Invalid(format!("line 1: the header has no `{name}` column (required: msisdn, language)"))
        })
    };
    Ok(ColumnIndex {
        msisdn: required("msisdn")?,
        language: required("language")?,
        opted_in: found.get("opted_in").copied(),
        trusted_numbers: found.get("trusted_numbers").copied(),
    })
}

fn parse_row(record: &csv::StringRecord, index: &ColumnIndex, home: HomeCountry) -> Result<NewSubscriber, String> {
    let field = |i: usize| record.get(i).unwrap_or("");
    let msisdn = E164::parse(field(index.msisdn), Some(home)).map_err(|e| format!("msisdn: {e}"))?;
    let language = field(index.language).parse().map_err(|e| format!("language: {e}"))?;
    let opted_in = match index.opted_in.map(field) {
        None | Some("") => true,
        Some(v) => parse_yes_no(v).ok_or_else(|| format!("opted_in: `{v}` is not yes/no, true/false or 1/0"))?,
    };
    let trusted_numbers = index
        .trusted_numbers
        .map(field)
        .unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| E164::parse(n, Some(home)).map_err(|e| format!("trusted_numbers: {e}")))
        .collect::<Result<_, _>>()?;
    Ok(NewSubscriber { msisdn, language, opted_in, trusted_numbers })
}

fn parse_yes_no(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "1" => Some(true),
        "no" | "n" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Writes subscribers in the format [`parse_subscriber_csv`] reads.
pub fn write_subscriber_csv(output: impl Write, subscribers: &[Subscriber]) -> Result<(), StoreError> {
    let io = |e: csv::Error| StoreError::Invalid(format!("cannot write CSV: {e}"));
    let mut writer = csv::Writer::from_writer(output);
    writer.write_record(COLUMNS).map_err(io)?;
    for s in subscribers {
        let trusted: Vec<&str> = s.trusted_numbers.iter().map(E164::as_str).collect();
        let opted_in = if s.opted_in { "yes" } else { "no" };
        writer.write_record([s.msisdn.as_str(), &s.language.to_string(), opted_in, &trusted.join(";")]).map_err(io)?;
    }
    writer.flush().map_err(|e| StoreError::Invalid(format!("cannot write CSV: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> HomeCountry {
        "US".parse().unwrap()
    }

    fn parse(text: &str) -> Result<ParsedCsv, StoreError> {
        parse_subscriber_csv(text.as_bytes(), us())
    }

    #[test]
    fn good_rows_in_any_column_order() {
        let parsed = parse("language,msisdn,opted_in,trusted_numbers\nen,+12015550123,no,+12015550100;(201) 555-0101\nes-mx,201-555-0124,,\n").unwrap();
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let [a, b] = parsed.subscribers.as_slice() else { panic!("two rows expected") };
        assert_eq!(a.msisdn.as_str(), "+12015550123");
        assert!(!a.opted_in);
        assert_eq!(a.trusted_numbers.len(), 2);
        assert_eq!(b.language.to_string(), "es-MX");
        assert!(b.opted_in);
    }

    #[test]
    fn every_bad_row_is_named_by_line() {
        let text = "msisdn,language\n+12015550123,en\nnot-a-number,en\n+12015550124,klingon\n+12015550123,en\n+12015550125\n+12015550126,en\n";
        let parsed = parse(text).unwrap();
        let lines: Vec<u64> = parsed.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6], "{:?}", parsed.errors);
        assert!(parsed.errors[0].message.starts_with("msisdn:"));
        assert!(parsed.errors[1].message.starts_with("language:"));
        assert!(parsed.errors[2].message.contains("already on line 2"));
        assert!(parsed.errors[3].message.contains("2 fields") || parsed.errors[3].message.contains("1 fields"));
        assert_eq!(parsed.subscribers.len(), 2);
    }

    #[test]
    fn unusable_headers_are_refused() {
        for (text, expected) in [
            ("number,language\n", "unknown column `number`"),
            ("msisdn\n", "no `language` column"),
            ("msisdn,language,msisdn\n", "appears twice"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected) && err.starts_with("line 1"), "{err}");
        }
    }

    #[test]
    fn byte_order_marks_and_non_utf8_rows() {
        let parsed = parse("\u{feff}msisdn,language\n+12015550123,en\n").unwrap();
        assert_eq!(parsed.subscribers.len(), 1);
        let mut bytes = b"msisdn,language\n+12015550123,e\xffn\n".to_vec();
        bytes.extend_from_slice(b"+12015550124,en\n");
        let parsed = parse_subscriber_csv(bytes.as_slice(), us()).unwrap();
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].line, 2);
        assert_eq!(parsed.subscribers.len(), 1);
    }
}
