//! Serialization: SDP text with CRLF line ends, typed lines in RFC 8866
//! order, attributes in their stored order, unknown lines last in their
//! section.
//!
//! Serialization does not validate: values built by hand must be valid SDP
//! tokens. Values that came from the parser always re-parse to the same
//! description.

use std::fmt::{self, Write as _};

use crate::media::MediaDescription;
use crate::session::{Bandwidth, Origin, SessionDescription};

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username, self.session_id, self.session_version, self.net_type, self.addr_type, self.address
        )
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.modifier, self.value)
    }
}

/// Writes `<kind>=<value>` and CRLF.
fn line(f: &mut fmt::Formatter<'_>, kind: char, value: impl fmt::Display) -> fmt::Result {
    f.write_char(kind)?;
    f.write_char('=')?;
    write!(f, "{value}\r\n")
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        line(f, 'v', 0)?;
        line(f, 'o', &self.origin)?;
        line(f, 's', &self.session_name)?;
        if let Some(information) = &self.information {
            line(f, 'i', information)?;
        }
        if let Some(uri) = &self.uri {
            line(f, 'u', uri)?;
        }
        for email in &self.emails {
            line(f, 'e', email)?;
        }
        for phone in &self.phones {
            line(f, 'p', phone)?;
        }
        if let Some(connection) = &self.connection {
            line(f, 'c', connection)?;
        }
        for bandwidth in &self.bandwidths {
            line(f, 'b', bandwidth)?;
        }
        for timing in &self.timings {
            line(f, 't', format_args!("{} {}", timing.start, timing.stop))?;
            for repeat in &timing.repeats {
                line(f, 'r', repeat)?;
            }
        }
        if let Some(zones) = &self.time_zones {
            line(f, 'z', zones)?;
        }
        if let Some(key) = &self.encryption_key {
            line(f, 'k', key)?;
        }
        for attribute in &self.attributes {
            line(f, 'a', attribute)?;
        }
        for unknown in &self.unknown_lines {
            line(f, unknown.kind, &unknown.value)?;
        }
        for media in &self.media {
            write!(f, "{media}")?;
        }
        Ok(())
    }
}

/// The whole media section, from `m=` to its last line, CRLF-terminated.
impl fmt::Display for MediaDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media_type, self.port)?;
        if let Some(count) = self.port_count {
            write!(f, "/{count}")?;
        }
        write!(f, " {}", self.protocol)?;
        for format in &self.formats {
            write!(f, " {format}")?;
        }
        f.write_str("\r\n")?;
        if let Some(information) = &self.information {
            line(f, 'i', information)?;
        }
        if let Some(connection) = &self.connection {
            line(f, 'c', connection)?;
        }
        for bandwidth in &self.bandwidths {
            line(f, 'b', bandwidth)?;
        }
        if let Some(key) = &self.encryption_key {
            line(f, 'k', key)?;
        }
        for attribute in &self.attributes {
            line(f, 'a', attribute)?;
        }
        for unknown in &self.unknown_lines {
            line(f, unknown.kind, &unknown.value)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::SessionDescription;

    const OFFER: &str = "v=0\r\n\
o=- 3 4 IN IP4 192.0.2.1\r\n\
s=-\r\n\
i=info\r\n\
u=http://example.com/\r\n\
e=ops@example.com\r\n\
p=+1 555 0100\r\n\
c=IN IP4 192.0.2.1\r\n\
b=AS:128\r\n\
t=0 0\r\n\
r=7d 1h 0 25h\r\n\
z=2882844526 -1h\r\n\
k=prompt\r\n\
a=sendonly\r\n\
x=unknown session line\r\n\
m=audio 49170 RTP/AVP 0 101\r\n\
i=leg\r\n\
c=IN IP6 2001:db8::1\r\n\
b=TIAS:64000\r\n\
k=prompt\r\n\
a=label:1\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=X-vendor:opaque  value\r\n\
y=unknown media line\r\n";

    #[test]
    fn canonical_text_is_reproduced_byte_for_byte() {
        let sdp = SessionDescription::parse(OFFER).unwrap();
        assert_eq!(sdp.to_string(), OFFER);
    }
}
