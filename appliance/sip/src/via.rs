//! The Via header (RFC 3261 section 20.42, RFC 3581 `rport`).

use std::fmt;
use std::net::IpAddr;

use crate::error::ParseError;
use crate::lex::{Cursor, describe_next, is_token_byte, parse_decimal};
use crate::params::{Params, parse_header_params};
use crate::uri::Host;

/// State of the RFC 3581 `rport` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rport {
    /// `;rport` without value: the client asks for the source port.
    Requested,
    /// `;rport=N`: filled in by a server.
    Port(u16),
}

/// One Via element: `SIP/2.0/UDP host:port;params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    protocol_name: String,
    protocol_version: String,
    transport: String,
    host: Host,
    port: Option<u16>,
    params: Params,
}

impl Via {
    /// Parse one Via element (one item of a comma-separated Via value).
    /// LWS is accepted around `/`, `:`, `;` and `=`. The `ttl`, `received`,
    /// `rport` and `maddr` parameters are checked against their grammar.
    pub fn parse(s: &str) -> Result<Via, ParseError> {
        let mut c = Cursor::new(s);
        c.skip_wsp();
        let protocol_name = expect_token(&mut c, "protocol name")?;
        expect_slash(&mut c)?;
        let protocol_version = expect_token(&mut c, "protocol version")?;
        expect_slash(&mut c)?;
        let transport = expect_token(&mut c, "transport")?;
        if c.skip_wsp() == 0 {
            return Err(ParseError::syntax(format!(
                "expected white space before sent-by, {}",
                describe_next(c.rest())
            )));
        }
        let host_text = if c.peek() == Some(b'[') {
            let rest = c.rest();
            let end = rest.find(']').ok_or_else(|| ParseError::syntax("unterminated IPv6 reference in sent-by"))?;
            c.advance(end + 1);
            &rest[..=end]
        } else {
            c.take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
        };
        let host =
            Host::parse(host_text).map_err(|_| ParseError::syntax(format!("invalid sent-by host {host_text:?}")))?;
        c.skip_wsp();
        let port = if c.eat(b':') {
            c.skip_wsp();
            let digits = c.take_while(|b| b.is_ascii_digit());
            let port = parse_decimal(digits, u64::from(u16::MAX))
                .ok_or_else(|| ParseError::syntax(format!("invalid sent-by port {digits:?}")))?;
            Some(port as u16)
        } else {
            None
        };
        let params = parse_header_params(c.rest())?;
        let via = Via {
            protocol_name: protocol_name.to_owned(),
            protocol_version: protocol_version.to_owned(),
            transport: transport.to_owned(),
            host,
            port,
            params,
        };
        via.check_params()?;
        Ok(via)
    }

    fn check_params(&self) -> Result<(), ParseError> {
        if let Some(p) = self.params.get("ttl") {
            p.value().and_then(|v| parse_decimal(v, 255)).ok_or_else(|| ParseError::syntax("ttl must be 0 to 255"))?;
        }
        if let Some(p) = self.params.get("received") {
            p.value().and_then(parse_ip).ok_or_else(|| ParseError::syntax("received must be an IP address"))?;
        }
        if let Some(p) = self.params.get("rport")
            && let Some(v) = p.value()
        {
            parse_decimal(v, u64::from(u16::MAX)).ok_or_else(|| ParseError::syntax("rport must be a port number"))?;
        }
        if let Some(p) = self.params.get("maddr") {
            p.value().map(Host::parse).transpose()?.ok_or_else(|| ParseError::syntax("maddr needs a host"))?;
        }
        Ok(())
    }

    /// Protocol name, normally `SIP`.
    pub fn protocol_name(&self) -> &str {
        &self.protocol_name
    }

    /// Protocol version, normally `2.0`.
    pub fn protocol_version(&self) -> &str {
        &self.protocol_version
    }

    /// Transport token as received (`UDP`, `TCP`, `TLS`, `SCTP`, `WS`...).
    pub fn transport(&self) -> &str {
        &self.transport
    }

    /// Host of sent-by.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Port of sent-by, if given.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// All parameters in order.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The `branch` parameter (transaction id).
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<IpAddr> {
        self.params.value("received").and_then(parse_ip)
    }

    /// The `rport` parameter.
    pub fn rport(&self) -> Option<Rport> {
        let p = self.params.get("rport")?;
        match p.value() {
            None => Some(Rport::Requested),
            Some(v) => parse_decimal(v, u64::from(u16::MAX)).map(|n| Rport::Port(n as u16)),
        }
    }

    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.params.value("maddr")
    }

    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.params.value("ttl").and_then(|v| parse_decimal(v, 255)).map(|n| n as u8)
    }

    /// Set `received` (RFC 3261 section 18.2.1). IPv6 is written without
    /// brackets, as RFC 5118 specifies.
    pub fn set_received(&mut self, ip: IpAddr) {
        // An IP literal always satisfies the parameter grammar.
        let _ = self.params.set("received", Some(&ip.to_string()));
    }

    /// Set `rport` to the request's source port (RFC 3581 section 4).
    pub fn set_rport(&mut self, port: u16) {
        let _ = self.params.set("rport", Some(&port.to_string()));
    }
}

fn parse_ip(v: &str) -> Option<IpAddr> {
    let v = v.strip_prefix('[').and_then(|x| x.strip_suffix(']')).unwrap_or(v);
    v.parse().ok()
}

fn expect_token<'a>(c: &mut Cursor<'a>, what: &str) -> Result<&'a str, ParseError> {
    let t = c.take_while(is_token_byte);
    if t.is_empty() {
        return Err(ParseError::syntax(format!("missing {what}, {}", describe_next(c.rest()))));
    }
    Ok(t)
}

fn expect_slash(c: &mut Cursor<'_>) -> Result<(), ParseError> {
    c.skip_wsp();
    if !c.eat(b'/') {
        return Err(ParseError::syntax(format!("expected '/' in sent-protocol, {}", describe_next(c.rest()))));
    }
    c.skip_wsp();
    Ok(())
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{} {}", self.protocol_name, self.protocol_version, self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tortuous_spacing() {
        let v = Via::parse("SIP  /   2.0 /UDP 192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.transport(), "UDP");
        assert_eq!(v.branch(), Some("390skdjuw"));
        let v = Via::parse("SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239").unwrap();
        assert_eq!(v.host(), &Host::Ipv4("192.168.255.111".parse().unwrap()));
        assert_eq!(v.branch(), Some("z9hG4bK30239"));
        assert_eq!(v.to_string(), "SIP/2.0/UDP 192.168.255.111;branch=z9hG4bK30239");
    }

    #[test]
    fn params_and_ipv6() {
        let v = Via::parse(
            "SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKx;rport;received=192.0.2.1;maddr=224.2.0.1;ttl=16",
        )
        .unwrap();
        assert_eq!(v.port(), Some(5070));
        assert_eq!(v.rport(), Some(Rport::Requested));
        assert_eq!(v.received(), Some("192.0.2.1".parse().unwrap()));
        assert_eq!(v.maddr(), Some("224.2.0.1"));
        assert_eq!(v.ttl(), Some(16));
        let mut v = v;
        v.set_rport(5070);
        v.set_received("2001:db8::9".parse().unwrap());
        assert_eq!(v.rport(), Some(Rport::Port(5070)));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/TCP [2001:db8::9]:5070;branch=z9hG4bKx;rport=5070;received=2001:db8::9;maddr=224.2.0.1;ttl=16"
        );
        assert_eq!(Via::parse(&v.to_string()).unwrap(), v);
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "SIP/2.0/UDP",
            "SIP/2.0 UDP host",
            "SIP/2.0/UDPhost",
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/2.0/UDP host;ttl=256",
            "SIP/2.0/UDP host;received=example.com",
            "SIP/2.0/UDP host;rport=70000",
            "SIP/2.0/UDP host:port",
            "SIP/2.0/UDP host junk",
            "SIP/2.0/UDP [::1",
            "SIP/2.0/UDP host;maddr",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad:?} should fail");
        }
    }
}
