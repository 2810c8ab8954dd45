//! Header values the SRS writes: Contact, Via sent-by, Warning, and the
//! target of its own requests; and the random tokens in tags and branches.

use std::net::{IpAddr, SocketAddr};

use callguard_sip::{HeaderName, Request, ResponseBuilder};

use crate::{Entropy, Source, SrsConfig};

/// The SRS's Contact: the address the request arrived on, or the configured
/// host when the listener is bound to a wildcard address.
pub(crate) fn contact_for<P>(config: &SrsConfig, source: &Source<P>) -> String {
    let transport = source.transport.to_ascii_lowercase();
    let scheme = if transport == "tls" { "sips" } else { "sip" };
    let host = if source.local.ip().is_unspecified() {
        config.host.parse::<IpAddr>().map_or_else(|_| config.host.clone(), |ip| sent_by(SocketAddr::new(ip, 0)))
    } else {
        sent_by(SocketAddr::new(source.local.ip(), 0))
    };
    let host = host.strip_suffix(":0").unwrap_or(&host);
    let param = if transport == "udp" || scheme == "sips" { String::new() } else { format!(";transport={transport}") };
    format!("<{scheme}:srs@{host}:{}{param}>;+sip.srs", source.local.port())
}

pub(crate) fn sent_by(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(v4) => v4.to_string(),
        SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
    }
}

pub(crate) fn warning(
    builder: ResponseBuilder,
    host: &str,
    text: &str,
) -> Result<ResponseBuilder, callguard_sip::ParseError> {
    let clean: String = text.chars().map(|c| if c == '"' || c == '\\' || c.is_control() { '\'' } else { c }).collect();
    builder.header(HeaderName::WARNING, &format!("399 {host} \"{clean}\""))
}

/// Where requests in the dialog go: the Contact of the INVITE, else the From URI.
pub(crate) fn remote_target(request: &Request) -> String {
    let headers = request.headers();
    let from_contact = headers.get(&HeaderName::CONTACT).and_then(uri_of);
    from_contact
        .or_else(|| headers.get(&HeaderName::FROM).and_then(uri_of))
        .unwrap_or_else(|| request.uri().to_string())
}

fn uri_of(value: &str) -> Option<String> {
    let start = value.find('<')?;
    let end = value[start..].find('>')? + start;
    Some(value[start + 1..end].to_owned())
}

pub(crate) fn random_token(entropy: &mut dyn Entropy) -> String {
    let mut bytes = [0u8; 8];
    entropy.fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn entropy_u64(entropy: &mut dyn Entropy) -> u64 {
    let mut bytes = [0u8; 8];
    entropy.fill(&mut bytes);
    u64::from_be_bytes(bytes) >> 1
}
