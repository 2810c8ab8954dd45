//! Line-level parsing: splits the text into `<type>=<value>` lines, checks
//! where each may appear, and hands values to the typed parsers.
//!
//! Fields are separated by spaces (tabs tolerated); runs of separators count
//! as one. Empty lines are skipped. Line numbers count every line, empty ones
//! included, so that they match what an operator sees in a SIP trace.

use std::collections::HashSet;
use std::str::FromStr;

use crate::attributes::Attribute;
use crate::connection::{AddressType, Connection};
use crate::error::{SdpError, excerpt};
use crate::media::MediaDescription;
use crate::session::{Bandwidth, Origin, SessionDescription, Timing, UnknownLine};

/// Field separator: SDP uses single spaces, some stacks tabs.
pub(crate) fn is_separator(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub(crate) fn trim_separators(text: &str) -> &str {
    text.trim_matches(is_separator)
}

pub(crate) fn split_fields(text: &str) -> Vec<&str> {
    text.split(is_separator).filter(|field| !field.is_empty()).collect()
}

/// Parses an unsigned decimal made of digits only (`str::parse` would also
/// take a leading `+`).
pub(crate) fn parse_digits<T: FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

struct Line<'a> {
    number: usize,
    kind: char,
    value: &'a str,
}

fn split_line(number: usize, raw: &str) -> Result<Line<'_>, SdpError> {
    match raw.as_bytes() {
        [kind, b'=', ..] if kind.is_ascii_lowercase() => {
            Ok(Line { number, kind: char::from(*kind), value: raw.get(2..).unwrap_or_default() })
        }
        _ => Err(SdpError::MalformedLine { line: number, found: excerpt(raw) }),
    }
}

/// Lines that both the session and a media section may hold.
#[derive(Default)]
struct Section {
    information: Option<String>,
    connection: Option<Connection>,
    bandwidths: Vec<Bandwidth>,
    encryption_key: Option<String>,
    attributes: Vec<Attribute>,
    unknown_lines: Vec<UnknownLine>,
    /// Unique attributes seen so far, so that a repeat costs one lookup.
    unique_attributes: HashSet<(&'static str, Option<u32>)>,
}

impl Section {
    /// Takes the line if it is one of the shared kinds; `Ok(false)` otherwise.
    fn take(&mut self, line: &Line<'_>) -> Result<bool, SdpError> {
        match line.kind {
            'i' => set_once(&mut self.information, line, line.value.to_owned())?,
            'c' => {
                let fields = split_fields(line.value);
                let connection = Connection::parse(line.number, "c= line", &fields)?;
                set_once(&mut self.connection, line, connection)?;
            }
            'b' => self.bandwidths.push(parse_bandwidth(line)?),
            'k' => set_once(&mut self.encryption_key, line, line.value.to_owned())?,
            'a' => {
                let attribute = Attribute::parse(line.number, line.value)?;
                if let Some(name) = attribute.unique_name()
                    && !self.unique_attributes.insert((name, attribute.repeat_key()))
                {
                    return Err(SdpError::DuplicateAttribute { line: line.number, name });
                }
                self.attributes.push(attribute);
            }
            'v' | 'o' | 's' | 'u' | 'e' | 'p' | 't' | 'r' | 'z' | 'm' => return Ok(false),
            kind => self.unknown_lines.push(UnknownLine { kind, value: line.value.to_owned() }),
        }
        Ok(true)
    }

    fn into_media(self, mut media: MediaDescription) -> MediaDescription {
        media.information = self.information;
        media.connection = self.connection;
        media.bandwidths = self.bandwidths;
        media.encryption_key = self.encryption_key;
        media.attributes = self.attributes;
        media.unknown_lines = self.unknown_lines;
        media
    }
}

fn set_once<T>(slot: &mut Option<T>, line: &Line<'_>, value: T) -> Result<(), SdpError> {
    if slot.is_some() {
        return Err(SdpError::DuplicateLine { line: line.number, kind: line.kind });
    }
    *slot = Some(value);
    Ok(())
}

/// Session-only lines, gathered before the description is assembled.
#[derive(Default)]
struct SessionLines {
    origin: Option<Origin>,
    session_name: Option<String>,
    uri: Option<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    timings: Vec<Timing>,
    time_zones: Option<String>,
}

impl SessionLines {
    fn take(&mut self, line: &Line<'_>) -> Result<(), SdpError> {
        match line.kind {
            'v' => {
                return Err(SdpError::DuplicateLine { line: line.number, kind: 'v' });
            }
            'o' => set_once(&mut self.origin, line, parse_origin(line)?)?,
            's' => set_once(&mut self.session_name, line, line.value.to_owned())?,
            'u' => set_once(&mut self.uri, line, line.value.to_owned())?,
            'e' => self.emails.push(line.value.to_owned()),
            'p' => self.phones.push(line.value.to_owned()),
            't' => self.timings.push(parse_timing(line)?),
            'r' => match self.timings.last_mut() {
                Some(timing) => timing.repeats.push(line.value.to_owned()),
                None => {
                    return Err(SdpError::MisplacedLine { line: line.number, kind: 'r', place: "before any t= line" });
                }
            },
            // Section::take leaves only session-level kinds; z= is the last one.
            _ => set_once(&mut self.time_zones, line, line.value.to_owned())?,
        }
        Ok(())
    }
}

fn parse_origin(line: &Line<'_>) -> Result<Origin, SdpError> {
    let fields = split_fields(line.value);
    let [username, session_id, session_version, net_type, addr_type, address] = fields.as_slice() else {
        return Err(SdpError::field_count(line.number, "o= line", "6 fields", fields.len()));
    };
    let number = |field: &'static str, text: &str| {
        parse_digits(text).ok_or_else(|| SdpError::invalid(line.number, "o= line", field, text))
    };
    Ok(Origin {
        username: (*username).to_owned(),
        session_id: number("session id", session_id)?,
        session_version: number("session version", session_version)?,
        net_type: (*net_type).to_owned(),
        addr_type: AddressType::from_token(addr_type),
        address: (*address).to_owned(),
    })
}

fn parse_bandwidth(line: &Line<'_>) -> Result<Bandwidth, SdpError> {
    let value = trim_separators(line.value);
    let Some((modifier, amount)) = value.split_once(':') else {
        return Err(SdpError::invalid(line.number, "b= line", "bandwidth", value));
    };
    if modifier.is_empty() || modifier.contains(is_separator) {
        return Err(SdpError::invalid(line.number, "b= line", "modifier", modifier));
    }
    Ok(Bandwidth {
        modifier: modifier.to_owned(),
        value: parse_digits(amount).ok_or_else(|| SdpError::invalid(line.number, "b= line", "value", amount))?,
    })
}

fn parse_timing(line: &Line<'_>) -> Result<Timing, SdpError> {
    let fields = split_fields(line.value);
    let [start, stop] = fields.as_slice() else {
        return Err(SdpError::field_count(line.number, "t= line", "2 fields", fields.len()));
    };
    let time = |field: &'static str, text: &str| {
        parse_digits(text).ok_or_else(|| SdpError::invalid(line.number, "t= line", field, text))
    };
    Ok(Timing { start: time("start time", start)?, stop: time("stop time", stop)?, repeats: Vec::new() })
}

/// Parses a whole description.
pub(crate) fn parse_text(text: &str) -> Result<SessionDescription, SdpError> {
    let mut lines = text.split('\n').enumerate().filter_map(|(index, raw)| {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        (!raw.is_empty()).then_some((index + 1, raw))
    });

    let Some((number, raw)) = lines.next() else {
        return Err(SdpError::MissingVersion { line: 1 });
    };
    let version = split_line(number, raw).map_err(|_| SdpError::MissingVersion { line: number })?;
    if version.kind != 'v' {
        return Err(SdpError::MissingVersion { line: number });
    }
    if trim_separators(version.value) != "0" {
        return Err(SdpError::invalid(number, "v= line", "version", version.value));
    }

    let mut session_lines = SessionLines::default();
    let mut session = Section::default();
    let mut media: Vec<MediaDescription> = Vec::new();
    let mut current: Option<(MediaDescription, Section)> = None;
    let mut session_end = number;

    for (number, raw) in lines {
        let line = split_line(number, raw)?;
        if line.kind == 'm' {
            if let Some((finished, section)) = current.take() {
                media.push(section.into_media(finished));
            } else {
                session_end = number;
            }
            current = Some((MediaDescription::parse_media_line(number, line.value)?, Section::default()));
            continue;
        }
        match current.as_mut() {
            Some((_, section)) => {
                if !section.take(&line)? {
                    return Err(SdpError::MisplacedLine {
                        line: number,
                        kind: line.kind,
                        place: "inside a media section",
                    });
                }
            }
            None => {
                session_end = number;
                if !session.take(&line)? {
                    session_lines.take(&line)?;
                }
            }
        }
    }
    if let Some((finished, section)) = current {
        media.push(section.into_media(finished));
    }

    let origin = session_lines.origin.ok_or(SdpError::MissingLine { line: session_end, kind: 'o' })?;
    let session_name = session_lines.session_name.ok_or(SdpError::MissingLine { line: session_end, kind: 's' })?;
    Ok(SessionDescription {
        origin,
        session_name,
        information: session.information,
        uri: session_lines.uri,
        emails: session_lines.emails,
        phones: session_lines.phones,
        connection: session.connection,
        bandwidths: session.bandwidths,
        timings: session_lines.timings,
        time_zones: session_lines.time_zones,
        encryption_key: session.encryption_key,
        attributes: session.attributes,
        unknown_lines: session.unknown_lines,
        media,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_only() {
        assert_eq!(parse_digits::<u16>("+5"), None);
        assert_eq!(parse_digits::<u16>(""), None);
        assert_eq!(parse_digits::<u16>("65536"), None);
        assert_eq!(parse_digits::<u16>("007"), Some(7));
    }

    #[test]
    fn fields_split_on_runs_of_spaces_and_tabs() {
        assert_eq!(split_fields(" a  b\tc "), vec!["a", "b", "c"]);
    }

    #[test]
    fn line_shape() {
        assert!(split_line(1, "a=x").is_ok());
        assert!(split_line(1, "a=").is_ok());
        for bad in ["a", "=x", "A=x", "ab=x", "é=x", " a=x"] {
            assert!(split_line(1, bad).is_err(), "{bad}");
        }
    }
}
