//! Connection data: the `c=` line, also reused by the address part of `a=rtcp`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::SdpError;
use crate::parse::parse_digits;

/// Address family token of `o=`, `c=` and `a=rtcp` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressType {
    /// `IP4`
    Ip4,
    /// `IP6`
    Ip6,
    /// Any other token, kept verbatim.
    Other(String),
}

impl AddressType {
    pub(crate) fn from_token(token: &str) -> Self {
        match token {
            "IP4" => Self::Ip4,
            "IP6" => Self::Ip6,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The family matching an IP address.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::Ip4,
            IpAddr::V6(_) => Self::Ip6,
        }
    }

    /// The SDP token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Ip4 => "IP4",
            Self::Ip6 => "IP6",
            Self::Other(token) => token,
        }
    }
}

impl fmt::Display for AddressType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A connection address: an IP literal, or a name.
///
/// Names are kept as given: this crate does no I/O, so resolving them is
/// left to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// An IPv4 or IPv6 literal.
    Ip(IpAddr),
    /// A domain name (or, for an unknown address type, the raw token).
    Name(String),
}

impl Address {
    /// The IP address, when the address is a literal.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Self::Ip(ip) => Some(*ip),
            Self::Name(_) => None,
        }
    }

    /// Whether this is `0.0.0.0` or `::`, the RFC 2543 way of putting a
    /// stream on hold that some SBCs still send.
    pub fn is_unspecified(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_unspecified())
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

/// Connection data (`c=<nettype> <addrtype> <address>[/<ttl>][/<count>]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Network type, `IN` in practice.
    pub net_type: String,
    /// Address family.
    pub addr_type: AddressType,
    /// The address.
    pub address: Address,
    /// IPv4 multicast time-to-live.
    pub ttl: Option<u8>,
    /// Number of consecutive multicast addresses.
    pub count: Option<u32>,
}

impl Connection {
    /// A unicast `IN IP4`/`IN IP6` connection to `ip`.
    pub fn new(ip: IpAddr) -> Self {
        Self {
            net_type: "IN".to_owned(),
            addr_type: AddressType::of(ip),
            address: Address::Ip(ip),
            ttl: None,
            count: None,
        }
    }

    /// Parses the three fields `<nettype> <addrtype> <address>`.
    pub(crate) fn parse(line: usize, what: &'static str, fields: &[&str]) -> Result<Self, SdpError> {
        let [net_type, addr_type, address] = fields else {
            return Err(SdpError::field_count(line, what, "3 address fields", fields.len()));
        };
        let addr_type = AddressType::from_token(addr_type);
        let mut connection = Self {
            net_type: (*net_type).to_owned(),
            addr_type,
            address: Address::Name(String::new()),
            ttl: None,
            count: None,
        };
        let host = match connection.addr_type {
            AddressType::Ip4 => {
                let mut parts = address.split('/');
                let host = parts.next().unwrap_or_default();
                connection.ttl = parts
                    .next()
                    .map(|ttl| parse_digits(ttl).ok_or_else(|| SdpError::invalid(line, what, "TTL", ttl)))
                    .transpose()?;
                connection.count = parts.next().map(|n| parse_count(line, what, n)).transpose()?;
                if parts.next().is_some() {
                    return Err(SdpError::invalid(line, what, "address", address));
                }
                host
            }
            AddressType::Ip6 => {
                let mut parts = address.split('/');
                let host = parts.next().unwrap_or_default();
                connection.count = parts.next().map(|n| parse_count(line, what, n)).transpose()?;
                if parts.next().is_some() {
                    return Err(SdpError::invalid(line, what, "address", address));
                }
                host
            }
            AddressType::Other(_) => address,
        };
        connection.address = parse_address(line, what, &connection.addr_type, host)?;
        Ok(connection)
    }
}

fn parse_count(line: usize, what: &'static str, text: &str) -> Result<u32, SdpError> {
    parse_digits(text).filter(|count| *count > 0).ok_or_else(|| SdpError::invalid(line, what, "address count", text))
}

/// Parses a host of the given family, refusing a literal of the other family
/// so that a mislabelled address is caught at parse time, not at send time.
fn parse_address(line: usize, what: &'static str, addr_type: &AddressType, host: &str) -> Result<Address, SdpError> {
    if host.is_empty() {
        return Err(SdpError::invalid(line, what, "address", host));
    }
    let v4 = host.parse::<Ipv4Addr>().ok();
    let v6 = host.parse::<Ipv6Addr>().ok();
    match (addr_type, v4, v6) {
        (AddressType::Ip4, Some(ip), _) => Ok(Address::Ip(IpAddr::V4(ip))),
        (AddressType::Ip6, _, Some(ip)) => Ok(Address::Ip(IpAddr::V6(ip))),
        (AddressType::Ip4, None, Some(_)) => Err(SdpError::invalid(line, what, "IP4 address", host)),
        (AddressType::Ip6, Some(_), None) => Err(SdpError::invalid(line, what, "IP6 address", host)),
        _ => Ok(Address::Name(host.to_owned())),
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.net_type, self.addr_type, self.address)?;
        if let Some(ttl) = self.ttl {
            write!(f, "/{ttl}")?;
        }
        if let Some(count) = self.count {
            write!(f, "/{count}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Connection, SdpError> {
        let fields: Vec<&str> = text.split(' ').collect();
        Connection::parse(1, "c= line", &fields)
    }

    #[test]
    fn ipv4_unicast_and_multicast() {
        let c = parse("IN IP4 192.0.2.5").unwrap();
        assert_eq!(c.address, Address::Ip("192.0.2.5".parse().unwrap()));
        let m = parse("IN IP4 224.2.1.1/127/3").unwrap();
        assert_eq!((m.ttl, m.count), (Some(127), Some(3)));
        assert_eq!(m.to_string(), "IN IP4 224.2.1.1/127/3");
    }

    #[test]
    fn ipv6_with_count() {
        let c = parse("IN IP6 ff15::101/3").unwrap();
        assert_eq!(c.count, Some(3));
        assert_eq!(c.ttl, None);
        assert_eq!(c.to_string(), "IN IP6 ff15::101/3");
    }

    #[test]
    fn names_are_kept() {
        let c = parse("IN IP4 media.example.net").unwrap();
        assert_eq!(c.address, Address::Name("media.example.net".into()));
        assert_eq!(c.address.ip(), None);
    }

    #[test]
    fn family_mismatch_is_refused() {
        assert_eq!(
            parse("IN IP4 2001:db8::1").unwrap_err().to_string(),
            "line 1: c= line has invalid IP4 address `2001:db8::1`"
        );
        assert!(parse("IN IP6 192.0.2.1").is_err());
    }

    #[test]
    fn bad_ttl_count_and_shape() {
        assert!(parse("IN IP4 224.2.1.1/300").is_err());
        assert!(parse("IN IP4 224.2.1.1/1/0").is_err());
        assert!(parse("IN IP4 224.2.1.1/1/2/3").is_err());
        assert!(parse("IN IP4 /5").is_err());
        assert!(parse("IN IP4").is_err());
    }

    #[test]
    fn unspecified_means_hold() {
        assert!(parse("IN IP4 0.0.0.0").unwrap().address.is_unspecified());
        assert!(!parse("IN IP4 192.0.2.1").unwrap().address.is_unspecified());
    }
}
