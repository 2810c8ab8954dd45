//! Media descriptions (`m=` sections) and codec resolution.

use std::fmt;

use crate::attributes::{Attribute, Direction, Fmtp, Rtcp, Rtpmap, parse_payload_type};
use crate::connection::Connection;
use crate::crypto::Crypto;
use crate::error::SdpError;
use crate::parse::{parse_digits, split_fields};
use crate::session::{Bandwidth, UnknownLine};

/// Media type of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaType {
    /// `audio`
    Audio,
    /// `video`
    Video,
    /// `text`
    Text,
    /// `application`
    Application,
    /// `message`
    Message,
    /// `image` (T.38 fax)
    Image,
    /// Any other token, verbatim.
    Other(String),
}

impl MediaType {
    pub(crate) fn from_token(token: &str) -> Self {
        match token {
            "audio" => Self::Audio,
            "video" => Self::Video,
            "text" => Self::Text,
            "application" => Self::Application,
            "message" => Self::Message,
            "image" => Self::Image,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The SDP token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Text => "text",
            Self::Application => "application",
            Self::Message => "message",
            Self::Image => "image",
            Self::Other(token) => token,
        }
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Transport protocol of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// `RTP/AVP`
    RtpAvp,
    /// `RTP/AVPF`
    RtpAvpf,
    /// `RTP/SAVP` (SRTP, keyed by `a=crypto` here)
    RtpSavp,
    /// `RTP/SAVPF`
    RtpSavpf,
    /// `UDP/TLS/RTP/SAVP` (DTLS-SRTP)
    UdpTlsRtpSavp,
    /// `UDP/TLS/RTP/SAVPF`
    UdpTlsRtpSavpf,
    /// Any other token, verbatim.
    Other(String),
}

impl Protocol {
    pub(crate) fn from_token(token: &str) -> Self {
        match token {
            "RTP/AVP" => Self::RtpAvp,
            "RTP/AVPF" => Self::RtpAvpf,
            "RTP/SAVP" => Self::RtpSavp,
            "RTP/SAVPF" => Self::RtpSavpf,
            "UDP/TLS/RTP/SAVP" => Self::UdpTlsRtpSavp,
            "UDP/TLS/RTP/SAVPF" => Self::UdpTlsRtpSavpf,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The SDP token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::RtpAvp => "RTP/AVP",
            Self::RtpAvpf => "RTP/AVPF",
            Self::RtpSavp => "RTP/SAVP",
            Self::RtpSavpf => "RTP/SAVPF",
            Self::UdpTlsRtpSavp => "UDP/TLS/RTP/SAVP",
            Self::UdpTlsRtpSavpf => "UDP/TLS/RTP/SAVPF",
            Self::Other(token) => token,
        }
    }

    /// Whether the formats are RTP payload types (any profile carried over RTP).
    pub fn is_rtp(&self) -> bool {
        self.as_str().split('/').any(|part| part == "RTP")
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resolved RTP codec: from `a=rtpmap`, or from the static payload type
/// table of RFC 3551 when the offer relies on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    /// RTP payload type.
    pub payload_type: u8,
    /// Encoding name as written in the offer.
    pub name: String,
    /// RTP clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count when given.
    pub channels: Option<u32>,
}

impl Codec {
    /// Channels, defaulting to one as RFC 4566 does for audio.
    pub fn channel_count(&self) -> u32 {
        self.channels.unwrap_or(1)
    }

    /// The `a=rtpmap` describing this codec.
    pub fn rtpmap(&self) -> Rtpmap {
        Rtpmap {
            payload_type: self.payload_type,
            encoding: self.name.clone(),
            clock_rate: self.clock_rate,
            channels: self.channels,
        }
    }
}

impl From<&Rtpmap> for Codec {
    fn from(rtpmap: &Rtpmap) -> Self {
        Self {
            payload_type: rtpmap.payload_type,
            name: rtpmap.encoding.clone(),
            clock_rate: rtpmap.clock_rate,
            channels: rtpmap.channels,
        }
    }
}

/// The static audio payload types of RFC 3551 that SBCs send without an
/// `a=rtpmap`.
///
/// G.722 samples at 16 kHz but its RTP clock is 8000 Hz: RFC 3551 kept an
/// old error for compatibility, so timestamps advance by 8000 per second.
pub fn static_codec(payload_type: u8) -> Option<Codec> {
    let (name, clock_rate) = match payload_type {
        0 => ("PCMU", 8000),
        3 => ("GSM", 8000),
        4 => ("G723", 8000),
        8 => ("PCMA", 8000),
        9 => ("G722", 8000),
        13 => ("CN", 8000),
        18 => ("G729", 8000),
        _ => return None,
    };
    Some(Codec { payload_type, name: name.to_owned(), clock_rate, channels: None })
}

/// One media section: the `m=` line and the lines below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// Media type.
    pub media_type: MediaType,
    /// Transport port; 0 means the stream is rejected or removed.
    pub port: u16,
    /// Port count of `<port>/<count>`.
    pub port_count: Option<u16>,
    /// Transport protocol.
    pub protocol: Protocol,
    /// Formats: RTP payload types for RTP protocols (validated as 0 to 127).
    pub formats: Vec<String>,
    /// `i=`
    pub information: Option<String>,
    /// `c=`, overriding the session-level one.
    pub connection: Option<Connection>,
    /// `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `k=` (obsolete; kept verbatim).
    pub encryption_key: Option<String>,
    /// `a=` lines in order.
    pub attributes: Vec<Attribute>,
    /// Lines of unknown type, verbatim.
    pub unknown_lines: Vec<UnknownLine>,
}

impl MediaDescription {
    /// A section with the given `m=` line and nothing below it.
    pub fn new(media_type: MediaType, port: u16, protocol: Protocol, formats: Vec<String>) -> Self {
        Self {
            media_type,
            port,
            port_count: None,
            protocol,
            formats,
            information: None,
            connection: None,
            bandwidths: Vec::new(),
            encryption_key: None,
            attributes: Vec::new(),
            unknown_lines: Vec::new(),
        }
    }

    /// Parses the value of an `m=` line.
    pub(crate) fn parse_media_line(line: usize, value: &str) -> Result<Self, SdpError> {
        let fields = split_fields(value);
        let [media_type, port, protocol, formats @ ..] = fields.as_slice() else {
            return Err(SdpError::field_count(line, "m= line", "at least 4 fields", fields.len()));
        };
        if formats.is_empty() {
            return Err(SdpError::field_count(line, "m= line", "at least 4 fields", fields.len()));
        }
        let protocol = Protocol::from_token(protocol);
        let (port_text, count_text) = match port.split_once('/') {
            Some((port, count)) => (port, Some(count)),
            None => (*port, None),
        };
        let port_number: u16 =
            parse_digits(port_text).ok_or_else(|| SdpError::invalid(line, "m= line", "port", port_text))?;
        let port_count = count_text
            .map(|count| {
                parse_digits::<u16>(count)
                    .filter(|count| *count > 0 && last_port(port_number, *count, &protocol) <= u32::from(u16::MAX))
                    .ok_or_else(|| SdpError::invalid(line, "m= line", "port count", count))
            })
            .transpose()?;
        if protocol.is_rtp()
            && let Some(bad) = formats.iter().find(|format| parse_payload_type(format).is_none())
        {
            return Err(SdpError::invalid(line, "m= line", "payload type", bad));
        }
        let mut media = Self::new(
            MediaType::from_token(media_type),
            port_number,
            protocol,
            formats.iter().map(|format| (*format).to_owned()).collect(),
        );
        media.port_count = port_count;
        Ok(media)
    }

    /// Payload types in offer order (empty for non-RTP protocols).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|format| parse_payload_type(format))
    }

    /// The `a=rtpmap` for a payload type.
    pub fn rtpmap(&self, payload_type: u8) -> Option<&Rtpmap> {
        self.attributes.iter().find_map(|attribute| match attribute {
            Attribute::Rtpmap(rtpmap) if rtpmap.payload_type == payload_type => Some(rtpmap),
            _ => None,
        })
    }

    /// The codec behind a payload type: its `a=rtpmap`, else the static table.
    pub fn codec(&self, payload_type: u8) -> Option<Codec> {
        self.rtpmap(payload_type).map(Codec::from).or_else(|| static_codec(payload_type))
    }

    /// Resolvable codecs in the order of the `m=` line.
    pub fn codecs(&self) -> Vec<Codec> {
        self.payload_types().filter_map(|pt| self.codec(pt)).collect()
    }

    /// The `a=fmtp` for a format.
    pub fn fmtp(&self, format: &str) -> Option<&Fmtp> {
        self.attributes.iter().find_map(|attribute| match attribute {
            Attribute::Fmtp(fmtp) if fmtp.format == format => Some(fmtp),
            _ => None,
        })
    }

    /// `a=label` (RFC 4574).
    pub fn label(&self) -> Option<&str> {
        self.attributes.iter().find_map(|attribute| match attribute {
            Attribute::Label(label) => Some(label.as_str()),
            _ => None,
        })
    }

    /// `a=crypto` lines in preference order.
    pub fn crypto(&self) -> impl Iterator<Item = &Crypto> + '_ {
        self.attributes.iter().filter_map(|attribute| match attribute {
            Attribute::Crypto(crypto) => Some(crypto),
            _ => None,
        })
    }

    /// `a=rtcp`.
    pub fn rtcp(&self) -> Option<&Rtcp> {
        self.attributes.iter().find_map(|attribute| match attribute {
            Attribute::Rtcp(rtcp) => Some(rtcp),
            _ => None,
        })
    }

    /// Whether `a=rtcp-mux` is present.
    pub fn rtcp_mux(&self) -> bool {
        self.attributes.contains(&Attribute::RtcpMux)
    }

    /// The media-level direction attribute, if any (see
    /// [`SessionDescription::media_direction`](crate::SessionDescription::media_direction)
    /// for the effective one).
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().find_map(|attribute| match attribute {
            Attribute::Direction(direction) => Some(*direction),
            _ => None,
        })
    }

    /// `a=ptime`.
    pub fn ptime(&self) -> Option<u32> {
        self.attributes.iter().find_map(|attribute| match attribute {
            Attribute::Ptime(ms) => Some(*ms),
            _ => None,
        })
    }

    /// `a=maxptime`.
    pub fn maxptime(&self) -> Option<u32> {
        self.attributes.iter().find_map(|attribute| match attribute {
            Attribute::MaxPtime(ms) => Some(*ms),
            _ => None,
        })
    }
}

/// Highest port `<port>/<count>` covers: RTP uses every other port (the
/// odd ones carry RTCP), other protocols consecutive ones.
fn last_port(port: u16, count: u16, protocol: &Protocol) -> u32 {
    let step = if protocol.is_rtp() { 2 } else { 1 };
    u32::from(port) + (u32::from(count) - 1) * step
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_line_fields() {
        let media = MediaDescription::parse_media_line(1, "audio 49170 RTP/SAVP 0 8 101").unwrap();
        assert_eq!(media.media_type, MediaType::Audio);
        assert_eq!(media.port, 49170);
        assert_eq!(media.protocol, Protocol::RtpSavp);
        assert_eq!(media.payload_types().collect::<Vec<_>>(), vec![0, 8, 101]);
    }

    #[test]
    fn port_counts() {
        let media = MediaDescription::parse_media_line(1, "video 49170/2 RTP/AVP 31").unwrap();
        assert_eq!(media.port_count, Some(2));
        for absurd in ["65534/2", "49170/0", "49170/4294967296", "1/65535", "49170/x", "49170/"] {
            let error = MediaDescription::parse_media_line(5, &format!("audio {absurd} RTP/AVP 0")).unwrap_err();
            assert!(error.to_string().starts_with("line 5: m= line has invalid port"), "{error}");
        }
        assert!(MediaDescription::parse_media_line(1, "application 65534/2 udp wb").is_ok());
    }

    #[test]
    fn bad_media_lines() {
        assert_eq!(
            MediaDescription::parse_media_line(7, "audio abc RTP/AVP 0").unwrap_err().to_string(),
            "line 7: m= line has invalid port `abc`"
        );
        assert!(MediaDescription::parse_media_line(1, "audio 65536 RTP/AVP 0").is_err());
        assert!(MediaDescription::parse_media_line(1, "audio 1 RTP/AVP").is_err());
        assert!(MediaDescription::parse_media_line(1, "audio 1 RTP/AVP 128").is_err());
        assert!(MediaDescription::parse_media_line(1, "audio 1 RTP/AVP x").is_err());
        assert!(MediaDescription::parse_media_line(1, "image 1 udptl t38").is_ok());
    }

    #[test]
    fn static_table_and_rtpmap_override() {
        let g722 = static_codec(9).unwrap();
        assert_eq!((g722.name.as_str(), g722.clock_rate), ("G722", 8000));
        assert_eq!(static_codec(18).unwrap().name, "G729");
        assert_eq!(static_codec(96), None);
        let mut media = MediaDescription::parse_media_line(1, "audio 1 RTP/AVP 0 96 97").unwrap();
        media.attributes.push(Attribute::Rtpmap(Rtpmap {
            payload_type: 96,
            encoding: "opus".into(),
            clock_rate: 48000,
            channels: Some(2),
        }));
        let names: Vec<String> = media.codecs().into_iter().map(|codec| codec.name).collect();
        assert_eq!(names, vec!["PCMU", "opus"]);
        assert_eq!(media.codec(96).unwrap().channel_count(), 2);
        assert_eq!(media.codec(0).unwrap().channel_count(), 1);
    }

    #[test]
    fn protocol_tokens() {
        assert!(Protocol::from_token("TCP/RTP/AVP").is_rtp());
        assert!(Protocol::UdpTlsRtpSavpf.is_rtp());
        assert!(!Protocol::from_token("udptl").is_rtp());
        assert_eq!(Protocol::from_token("RTP/SAVPF"), Protocol::RtpSavpf);
    }
}
