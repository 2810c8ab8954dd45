//! Address-of-record normalization.
//!
//! SRCs write AORs in many shapes: `sip:9000@192.168.50.102`,
//! `2249888500@172.16.198.55` (no scheme, Ribbon), `4058327108@10.1.2.3:5060`
//! (port), `sip:+1555;verstat=TN-Validation-Passed@ims;user=phone`
//! (user-part parameters), `"Alice" <sip:alice@example.com>;tag=1` (a copied
//! header), `sip:02077705371` (BroadWorks, no host). The subscriber register
//! must see one shape, so every AOR handed to `is_protected` goes through
//! [`normalize_aor`] first.

/// Reduces an AOR, URI or name-addr header value to `scheme:user@host`.
///
/// Rules: the URI inside `<...>` is taken when present; a missing scheme
/// means `sip:`; user-part parameters (`;verstat=`, `;isub=`), a password,
/// URI parameters, URI headers and the port are dropped; scheme and host are
/// lower-cased; `tel:` URIs keep only the number. Other schemes (`urn:`...)
/// are returned trimmed and otherwise untouched. `None` when nothing usable
/// is left.
pub fn normalize_aor(raw: &str) -> Option<String> {
    let uri = inner_uri(raw).trim();
    if uri.is_empty() {
        return None;
    }
    let (scheme, rest) = match uri.split_once(':') {
        Some((s, r)) if is_known_scheme(s) => (s.to_ascii_lowercase(), r),
        Some((s, _)) if !uri.contains('@') && is_scheme_token(s) => {
            return Some(uri.to_owned());
        }
        _ => ("sip".to_owned(), uri),
    };
    let rest = rest.split(['?', '>']).next().unwrap_or("").trim();
    if scheme == "tel" {
        let number = rest.split(';').next().unwrap_or("").trim();
        return (!number.is_empty()).then(|| format!("tel:{number}"));
    }
    let (user, host) = match rest.rsplit_once('@') {
        Some((u, h)) => (strip_user(u), strip_host(h)),
        None => (strip_user(rest), String::new()),
    };
    match (user.is_empty(), host.is_empty()) {
        (true, true) => None,
        (false, true) => Some(format!("{scheme}:{user}")),
        (true, false) => Some(format!("{scheme}:{host}")),
        (false, false) => Some(format!("{scheme}:{user}@{host}")),
    }
}

/// The user part (or number) of a normalized AOR: `sip:+1555@h` gives
/// `+1555`, `tel:+1555` gives `+1555`, `sip:02077705371` gives `02077705371`.
pub fn aor_user(aor: &str) -> Option<&str> {
    let rest = aor.split_once(':').map_or(aor, |(_, r)| r);
    let user = rest.split('@').next().unwrap_or("");
    (!user.is_empty()).then_some(user)
}

/// Display name of a name-addr header value: `"Extension 8500" <sip:...>;tag=x`
/// gives `Extension 8500`. `None` when there is none.
pub fn display_name(header_value: &str) -> Option<String> {
    let (before, _) = header_value.split_once('<')?;
    let name = before.trim().trim_matches('"').trim();
    (!name.is_empty()).then(|| name.replace("\\\"", "\""))
}

fn inner_uri(raw: &str) -> &str {
    match raw.split_once('<') {
        Some((_, after)) => after.split('>').next().unwrap_or(""),
        None => raw,
    }
}

fn is_known_scheme(s: &str) -> bool {
    ["sip", "sips", "tel"].iter().any(|k| s.trim().eq_ignore_ascii_case(k))
}

fn is_scheme_token(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn strip_user(user: &str) -> String {
    let user = user.split(';').next().unwrap_or("");
    let user = user.split(':').next().unwrap_or("");
    user.trim().to_owned()
}

fn strip_host(host: &str) -> String {
    let host = host.split(';').next().unwrap_or("").trim();
    let host = if host.starts_with('[') {
        host.split_inclusive(']').next().unwrap_or(host)
    } else {
        host.split(':').next().unwrap_or("")
    };
    host.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_seen_from_real_srcs() {
        let cases = [
            ("sip:9000@192.168.50.102", "sip:9000@192.168.50.102"),
            ("2249888500@172.16.198.55", "sip:2249888500@172.16.198.55"),
            ("4058327108@10.105.190.136:5060", "sip:4058327108@10.105.190.136"),
            ("sip:07949538036@exponential-e.com;user=phone", "sip:07949538036@exponential-e.com"),
            ("\"Extension 8500\" <sip:2249888500@172.16.198.55>;tag=SerryvK5ej0jc", "sip:2249888500@172.16.198.55"),
            (
                "<sip:+15551230001;verstat=TN-Validation-Passed@IMS.Example.NET;user=phone>",
                "sip:+15551230001@ims.example.net",
            ),
            ("sip:02077705371", "sip:02077705371"),
            ("SIP:alice:secret@Example.COM", "sip:alice@example.com"),
            ("tel:+15551230001;phone-context=example.net", "tel:+15551230001"),
            ("sips:bob@[2001:db8::1]:5061", "sips:bob@[2001:db8::1]"),
            ("urn:service:sos", "urn:service:sos"),
            ("Extension-016190619@speechpath.ie", "sip:Extension-016190619@speechpath.ie"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_aor(raw).as_deref(), Some(want), "{raw}");
        }
    }

    #[test]
    fn nothing_usable_is_none() {
        for raw in ["", "   ", "<>", "sip:", "tel:;x=1", "sip:@", "<sip:@;x>"] {
            assert_eq!(normalize_aor(raw), None, "{raw:?}");
        }
    }

    #[test]
    fn user_part_and_display_name() {
        assert_eq!(aor_user("sip:+1555@h"), Some("+1555"));
        assert_eq!(aor_user("tel:+1555"), Some("+1555"));
        assert_eq!(aor_user("sip:@h"), None);
        assert_eq!(display_name("\"Extension 8500\" <sip:1@h>;tag=x").as_deref(), Some("Extension 8500"));
        assert_eq!(display_name("<sip:1@h>"), None);
        assert_eq!(display_name("sip:1@h"), None);
    }
}
