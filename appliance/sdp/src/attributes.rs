//! `a=` lines: the typed attributes the SRS acts on, and verbatim storage for
//! all others so that serialization loses nothing.

use std::fmt;

use crate::connection::Connection;
use crate::crypto::Crypto;
use crate::error::SdpError;
use crate::parse::{is_separator, parse_digits, split_fields, trim_separators};

/// Media direction attribute (RFC 3264 section 5.1). A media-level one
/// overrides a session-level one; with neither, a stream is `sendrecv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// `a=sendrecv`
    #[default]
    SendRecv,
    /// `a=sendonly`
    SendOnly,
    /// `a=recvonly`
    RecvOnly,
    /// `a=inactive`
    Inactive,
}

impl Direction {
    /// Whether the side that wrote this direction sends media.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether the side that wrote this direction receives media.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=rtpmap:<payload type> <encoding>/<clock rate>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtpmap {
    /// RTP payload type (0 to 127).
    pub payload_type: u8,
    /// Encoding name as written (compare case-insensitively).
    pub encoding: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters: the channel count for audio.
    pub channels: Option<u32>,
}

impl fmt::Display for Rtpmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.payload_type, self.encoding, self.clock_rate)?;
        if let Some(channels) = self.channels {
            write!(f, "/{channels}")?;
        }
        Ok(())
    }
}

/// `a=fmtp:<format> <parameters>`; parameters are codec-specific and kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fmtp {
    /// The format (payload type) the parameters apply to.
    pub format: String,
    /// The parameters, e.g. `0-16` or `useinbandfec=1`.
    pub params: String,
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rtcp {
    /// RTCP port.
    pub port: u16,
    /// RTCP address when it differs from the stream's `c=`.
    pub connection: Option<Connection>,
}

/// One `a=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// `a=rtpmap`
    Rtpmap(Rtpmap),
    /// `a=fmtp`
    Fmtp(Fmtp),
    /// `a=label` (RFC 4574): SIPREC metadata refers to streams by it.
    Label(String),
    /// `a=crypto` (RFC 4568)
    Crypto(Crypto),
    /// `a=rtcp` (RFC 3605)
    Rtcp(Rtcp),
    /// `a=rtcp-mux` (RFC 5761)
    RtcpMux,
    /// `a=sendrecv`, `a=sendonly`, `a=recvonly`, `a=inactive`
    Direction(Direction),
    /// `a=ptime`, milliseconds of media per packet.
    Ptime(u32),
    /// `a=maxptime`, milliseconds.
    MaxPtime(u32),
    /// Any other attribute, verbatim.
    Other {
        /// Name (before the first colon).
        name: String,
        /// Value after the colon; `None` for a flag, `Some("")` for `a=x:`.
        value: Option<String>,
    },
}

impl Attribute {
    /// Parses the text after `a=`.
    pub(crate) fn parse(line: usize, text: &str) -> Result<Self, SdpError> {
        let (name, value) = match text.split_once(':') {
            Some((name, value)) => (name, Some(value)),
            None => (text, None),
        };
        if name.is_empty() {
            return Err(SdpError::invalid(line, "a= line", "attribute name", text));
        }
        let attribute = match name {
            "rtpmap" => Self::Rtpmap(parse_rtpmap(line, needs_value(line, "rtpmap", value)?)?),
            "fmtp" => Self::Fmtp(parse_fmtp(line, needs_value(line, "fmtp", value)?)?),
            "label" => Self::Label(parse_label(line, needs_value(line, "label", value)?)?),
            "crypto" => Self::Crypto(Crypto::parse(line, needs_value(line, "crypto", value)?)?),
            "rtcp" => Self::Rtcp(parse_rtcp(line, needs_value(line, "rtcp", value)?)?),
            "rtcp-mux" => flag(line, "rtcp-mux", value, Self::RtcpMux)?,
            "sendrecv" => flag(line, "sendrecv", value, Self::Direction(Direction::SendRecv))?,
            "sendonly" => flag(line, "sendonly", value, Self::Direction(Direction::SendOnly))?,
            "recvonly" => flag(line, "recvonly", value, Self::Direction(Direction::RecvOnly))?,
            "inactive" => flag(line, "inactive", value, Self::Direction(Direction::Inactive))?,
            "ptime" => Self::Ptime(parse_millis(line, "a=ptime", needs_value(line, "ptime", value)?)?),
            "maxptime" => Self::MaxPtime(parse_millis(line, "a=maxptime", needs_value(line, "maxptime", value)?)?),
            _ => Self::Other { name: name.to_owned(), value: value.map(str::to_owned) },
        };
        Ok(attribute)
    }

    /// Name under which a repeat within one section is refused: attributes
    /// that can only mean one thing per stream, and `rtpmap`/`crypto` per
    /// payload type or tag (checked by the caller through [`Self::repeat_key`]).
    pub(crate) fn unique_name(&self) -> Option<&'static str> {
        match self {
            Self::Rtpmap(_) => Some("rtpmap"),
            Self::Crypto(_) => Some("crypto"),
            Self::Label(_) => Some("label"),
            Self::Rtcp(_) => Some("rtcp"),
            Self::RtcpMux => Some("rtcp-mux"),
            Self::Direction(_) => Some("direction"),
            Self::Ptime(_) => Some("ptime"),
            Self::MaxPtime(_) => Some("maxptime"),
            Self::Fmtp(_) | Self::Other { .. } => None,
        }
    }

    /// Distinguishes `rtpmap`s by payload type and `crypto`s by tag, which
    /// may each appear several times with different keys.
    pub(crate) fn repeat_key(&self) -> Option<u32> {
        match self {
            Self::Rtpmap(rtpmap) => Some(u32::from(rtpmap.payload_type)),
            Self::Crypto(crypto) => Some(crypto.tag),
            _ => None,
        }
    }
}

fn needs_value<'a>(line: usize, name: &'static str, value: Option<&'a str>) -> Result<&'a str, SdpError> {
    match value.map(trim_separators) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(SdpError::MissingAttributeValue { line, name }),
    }
}

fn flag(line: usize, name: &'static str, value: Option<&str>, attribute: Attribute) -> Result<Attribute, SdpError> {
    match value {
        None => Ok(attribute),
        Some(_) => Err(SdpError::UnexpectedAttributeValue { line, name }),
    }
}

fn parse_rtpmap(line: usize, value: &str) -> Result<Rtpmap, SdpError> {
    let fields = split_fields(value);
    let [payload_type, encoding] = fields.as_slice() else {
        return Err(SdpError::field_count(line, "a=rtpmap", "2 fields", fields.len()));
    };
    let payload_type = parse_payload_type(payload_type)
        .ok_or_else(|| SdpError::invalid(line, "a=rtpmap", "payload type", payload_type))?;
    let mut parts = encoding.split('/');
    let name = parts.next().unwrap_or_default();
    if name.is_empty() {
        return Err(SdpError::invalid(line, "a=rtpmap", "encoding name", encoding));
    }
    let clock_rate = parts.next().unwrap_or_default();
    let clock_rate = parse_digits(clock_rate)
        .filter(|rate| *rate > 0)
        .ok_or_else(|| SdpError::invalid(line, "a=rtpmap", "clock rate", clock_rate))?;
    let channels = parts
        .next()
        .map(|channels| {
            parse_digits(channels)
                .filter(|count| *count > 0)
                .ok_or_else(|| SdpError::invalid(line, "a=rtpmap", "channel count", channels))
        })
        .transpose()?;
    if parts.next().is_some() {
        return Err(SdpError::invalid(line, "a=rtpmap", "encoding", encoding));
    }
    Ok(Rtpmap { payload_type, encoding: name.to_owned(), clock_rate, channels })
}

/// RTP payload types are 7 bits.
pub(crate) fn parse_payload_type(text: &str) -> Option<u8> {
    parse_digits(text).filter(|pt| *pt <= 127)
}

fn parse_fmtp(line: usize, value: &str) -> Result<Fmtp, SdpError> {
    let (format, params) = value.split_once(is_separator).unwrap_or((value, ""));
    if format.is_empty() {
        return Err(SdpError::invalid(line, "a=fmtp", "format", value));
    }
    Ok(Fmtp { format: format.to_owned(), params: trim_separators(params).to_owned() })
}

fn parse_label(line: usize, value: &str) -> Result<String, SdpError> {
    if value.contains(is_separator) {
        return Err(SdpError::invalid(line, "a=label", "label", value));
    }
    Ok(value.to_owned())
}

fn parse_rtcp(line: usize, value: &str) -> Result<Rtcp, SdpError> {
    let fields = split_fields(value);
    let (port, address) = match fields.as_slice() {
        [port] => (port, None),
        [port, address @ ..] if address.len() == 3 => (port, Some(address)),
        _ => {
            return Err(SdpError::field_count(line, "a=rtcp", "1 or 4 fields", fields.len()));
        }
    };
    let port = parse_digits(port).ok_or_else(|| SdpError::invalid(line, "a=rtcp", "port", port))?;
    let connection = address.map(|fields| Connection::parse(line, "a=rtcp", fields)).transpose()?;
    Ok(Rtcp { port, connection })
}

fn parse_millis(line: usize, what: &'static str, value: &str) -> Result<u32, SdpError> {
    parse_digits(value).ok_or_else(|| SdpError::invalid(line, what, "milliseconds", value))
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rtpmap(rtpmap) => write!(f, "rtpmap:{rtpmap}"),
            Self::Fmtp(fmtp) if fmtp.params.is_empty() => write!(f, "fmtp:{}", fmtp.format),
            Self::Fmtp(fmtp) => write!(f, "fmtp:{} {}", fmtp.format, fmtp.params),
            Self::Label(label) => write!(f, "label:{label}"),
            Self::Crypto(crypto) => write!(f, "crypto:{crypto}"),
            Self::Rtcp(Rtcp { port, connection: None }) => write!(f, "rtcp:{port}"),
            Self::Rtcp(Rtcp { port, connection: Some(connection) }) => write!(f, "rtcp:{port} {connection}"),
            Self::RtcpMux => f.write_str("rtcp-mux"),
            Self::Direction(direction) => f.write_str(direction.as_str()),
            Self::Ptime(ms) => write!(f, "ptime:{ms}"),
            Self::MaxPtime(ms) => write!(f, "maxptime:{ms}"),
            Self::Other { name, value: None } => f.write_str(name),
            Self::Other { name, value: Some(value) } => write!(f, "{name}:{value}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Address;

    fn parse(text: &str) -> Result<Attribute, SdpError> {
        Attribute::parse(4, text)
    }

    #[test]
    fn rtpmap_with_and_without_channels() {
        let Attribute::Rtpmap(opus) = parse("rtpmap:111 opus/48000/2").unwrap() else { panic!() };
        assert_eq!(
            (opus.payload_type, opus.encoding.as_str(), opus.clock_rate, opus.channels),
            (111, "opus", 48000, Some(2))
        );
        let Attribute::Rtpmap(te) = parse("rtpmap:101 telephone-event/8000").unwrap() else { panic!() };
        assert_eq!(te.channels, None);
        assert_eq!(te.to_string(), "101 telephone-event/8000");
    }

    #[test]
    fn rtpmap_errors_name_the_field() {
        assert_eq!(
            parse("rtpmap:128 PCMU/8000").unwrap_err().to_string(),
            "line 4: a=rtpmap has invalid payload type `128`"
        );
        assert_eq!(
            parse("rtpmap:0 PCMU/fast").unwrap_err().to_string(),
            "line 4: a=rtpmap has invalid clock rate `fast`"
        );
        assert!(parse("rtpmap:0 PCMU").is_err());
        assert!(parse("rtpmap:0 /8000").is_err());
        assert!(parse("rtpmap:0 PCMU/8000/1/2").is_err());
        assert!(parse("rtpmap:0 PCMU/8000/0").is_err());
        assert!(parse("rtpmap:0").is_err());
        assert_eq!(parse("rtpmap").unwrap_err().to_string(), "line 4: a=rtpmap needs a value");
    }

    #[test]
    fn fmtp_keeps_parameters() {
        let attribute = parse("fmtp:101 0-16").unwrap();
        assert_eq!(attribute, Attribute::Fmtp(Fmtp { format: "101".into(), params: "0-16".into() }));
        assert_eq!(attribute.to_string(), "fmtp:101 0-16");
        assert_eq!(parse("fmtp:18").unwrap().to_string(), "fmtp:18");
    }

    #[test]
    fn label_and_flags() {
        assert_eq!(parse("label:16777227").unwrap(), Attribute::Label("16777227".into()));
        assert!(parse("label:a b").is_err());
        assert!(parse("label:").is_err());
        assert_eq!(parse("recvonly").unwrap(), Attribute::Direction(Direction::RecvOnly));
        assert_eq!(parse("rtcp-mux").unwrap(), Attribute::RtcpMux);
        assert_eq!(parse("sendonly:yes").unwrap_err().to_string(), "line 4: a=sendonly takes no value");
    }

    #[test]
    fn rtcp_port_and_address() {
        let Attribute::Rtcp(rtcp) = parse("rtcp:53020 IN IP4 126.16.64.4").unwrap() else { panic!() };
        assert_eq!(rtcp.port, 53020);
        assert_eq!(rtcp.connection.unwrap().address, Address::Ip("126.16.64.4".parse().unwrap()));
        assert_eq!(parse("rtcp:53021").unwrap().to_string(), "rtcp:53021");
        assert!(parse("rtcp:70000").is_err());
        assert!(parse("rtcp:5 IN IP4").is_err());
    }

    #[test]
    fn ptime_and_unknown_attributes() {
        assert_eq!(parse("ptime:20").unwrap(), Attribute::Ptime(20));
        assert_eq!(parse("ptime:20.0").unwrap_err().to_string(), "line 4: a=ptime has invalid milliseconds `20.0`");
        let other = parse("X-nice:value: with colon").unwrap();
        assert_eq!(other.to_string(), "X-nice:value: with colon");
        assert_eq!(parse("x:").unwrap().to_string(), "x:");
        assert!(parse(":x").is_err());
    }

    #[test]
    fn direction_semantics() {
        assert!(Direction::SendOnly.sends() && !Direction::SendOnly.receives());
        assert!(Direction::RecvOnly.receives() && !Direction::RecvOnly.sends());
        assert!(!Direction::Inactive.sends() && !Direction::Inactive.receives());
        assert_eq!(Direction::default(), Direction::SendRecv);
    }
}
