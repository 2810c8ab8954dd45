//! The session description and its session-level lines.

use std::str::FromStr;

use crate::attributes::{Attribute, Direction};
use crate::connection::{AddressType, Connection};
use crate::error::SdpError;
use crate::media::MediaDescription;

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name, `-` when none.
    pub username: String,
    /// Session id: constant for the life of the session.
    pub session_id: u64,
    /// Version: incremented whenever the description changes.
    pub session_version: u64,
    /// Network type, `IN` in practice.
    pub net_type: String,
    /// Address family.
    pub addr_type: AddressType,
    /// Originator's address or name, verbatim (only informative).
    pub address: String,
}

/// `b=<bwtype>:<bandwidth>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// Modifier, e.g. `AS`, `TIAS`, `RR`.
    pub modifier: String,
    /// Value, in the modifier's unit.
    pub value: u64,
}

/// `t=<start> <stop>` with the `r=` lines that follow it (kept verbatim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// NTP start time, 0 for unbounded.
    pub start: u64,
    /// NTP stop time, 0 for unbounded.
    pub stop: u64,
    /// `r=` values.
    pub repeats: Vec<String>,
}

impl Timing {
    /// `t=0 0`, what SIP sessions use.
    pub fn unbounded() -> Self {
        Self { start: 0, stop: 0, repeats: Vec::new() }
    }
}

/// A line whose type letter this crate does not know, kept so that
/// serialization loses nothing. Re-emitted at the end of its section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLine {
    /// The type letter.
    pub kind: char,
    /// Everything after `=`.
    pub value: String,
}

/// A parsed SDP body (RFC 8866). `v=` is always 0 and is not stored.
///
/// Typed lines are re-emitted in the RFC's order with single spaces;
/// attributes keep their order; everything unknown is kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`
    pub origin: Origin,
    /// `s=` value, verbatim (`-` or a space when meaningless).
    pub session_name: String,
    /// `i=`
    pub information: Option<String>,
    /// `u=`
    pub uri: Option<String>,
    /// `e=` lines.
    pub emails: Vec<String>,
    /// `p=` lines.
    pub phones: Vec<String>,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines with their `r=` lines. Tolerated missing, as some SIP
    /// stacks omit it.
    pub timings: Vec<Timing>,
    /// `z=`, verbatim.
    pub time_zones: Option<String>,
    /// `k=` (obsolete; verbatim).
    pub encryption_key: Option<String>,
    /// Session-level `a=` lines.
    pub attributes: Vec<Attribute>,
    /// Session-level lines of unknown type.
    pub unknown_lines: Vec<UnknownLine>,
    /// Media sections in order.
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// Parses SDP text; lines may end in CRLF or a bare LF.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        crate::parse::parse_text(text)
    }

    /// Parses SDP bytes, as they come out of a SIP message body.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, SdpError> {
        let text = std::str::from_utf8(bytes).map_err(|error| {
            let valid = bytes.get(..error.valid_up_to()).unwrap_or_default();
            SdpError::InvalidUtf8 { line: valid.iter().filter(|byte| **byte == b'\n').count() + 1 }
        })?;
        Self::parse(text)
    }

    /// The session-level direction attribute, if any.
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().find_map(|attribute| match attribute {
            Attribute::Direction(direction) => Some(*direction),
            _ => None,
        })
    }

    /// Effective direction of a stream: media level, else session level,
    /// else `sendrecv`.
    pub fn media_direction(&self, media: &MediaDescription) -> Direction {
        media.direction().or_else(|| self.direction()).unwrap_or_default()
    }

    /// Effective connection of a stream: media-level `c=`, else session-level.
    pub fn media_connection<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }
}

impl FromStr for SessionDescription {
    type Err = SdpError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n";

    #[test]
    fn parse_bytes_and_from_str_agree() {
        let from_bytes = SessionDescription::parse_bytes(MINIMAL.as_bytes()).unwrap();
        let from_str: SessionDescription = MINIMAL.parse().unwrap();
        assert_eq!(from_bytes, from_str);
        assert_eq!(from_str.origin.session_version, 2);
        assert!(from_str.media.is_empty());
        assert_eq!(from_str.to_string(), MINIMAL);
    }

    #[test]
    fn utf8_error_counts_lines_before_the_bad_byte() {
        let error = SessionDescription::parse_bytes(b"v=0\n\n\xFF").unwrap_err();
        assert_eq!(error, SdpError::InvalidUtf8 { line: 3 });
    }

    #[test]
    fn direction_defaults_to_sendrecv() {
        let mut sdp = SessionDescription::parse(MINIMAL).unwrap();
        let media = crate::media::MediaDescription::new(
            crate::media::MediaType::Audio,
            1,
            crate::media::Protocol::RtpAvp,
            vec!["0".into()],
        );
        assert_eq!(sdp.media_direction(&media), Direction::SendRecv);
        sdp.attributes.push(Attribute::Direction(Direction::Inactive));
        assert_eq!(sdp.media_direction(&media), Direction::Inactive);
        assert!(sdp.media_connection(&media).is_none());
    }
}
