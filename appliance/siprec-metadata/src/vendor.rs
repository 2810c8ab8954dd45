//! Vendor extension data: copied SIP headers, direction hints, call ids.
//!
//! Recognized shapes (matched by local name, any namespace, anywhere in the
//! document; the enclosing `participant`, if any, scopes what is found):
//!
//! - Ribbon/Sonus `callData` (namespace `urn:ietf:params:xml:ns:callData`,
//!   inside `group`): `fromhdr`, `tohdr`, `callid`, `gcid`, plus headers the
//!   operator mapped with a `sipRecMetadataProfile` under tag names of their
//!   choice, kept as header names when not a known spelling.
//! - Oracle/Acme Packet `extensiondata` (`apkt:` prefix, namespace
//!   `http://acmepacket.com/siprec/extensiondata`, sometimes misspelt
//!   `http:/acmepacket...`): `apkt:callingParty` true/false on a participant,
//!   `apkt:header label="P-Asserted-Identity"` with `value` children,
//!   `apkt:ucid`, `apkt:callerOrig`, `apkt:request-uri`, `apkt:in-realm`,
//!   `apkt:realm`.
//! - BroadWorks `broadWorksRecordingMetadata`: `userID` (the recorded user),
//!   `callType/origCall|termCall`, `callingPartyNumber`, `calledPartyNumber`,
//!   tracking ids.
//! - AudioCodes `ac:AvayaUCID`, `ac:GenesysUUID`.
//! - Intrado/Asterisk style `role` (`calling`/`called`) inside `participant`.
//! - Generic: `direction`/`callDirection` elements and `direction`
//!   attributes (`incoming`, `inbound`, `outgoing`, `outbound`...),
//!   `recordedParty`/`targetParty` elements, `header`/`sipHeader` elements
//!   with a `name` or `label` attribute.
//!
//! Nothing here is required: absent extension data yields empty lists.

use roxmltree::Node;

use crate::model::{CallDirection, CopiedHeader, DirectionHint, RecordingMetadata, VendorField};
use crate::xml::{attr, element_key, elements, non_empty_text, text};

/// Walks the whole document (iteratively, in document order) and records
/// what vendor extensions say.
pub(crate) fn collect(root: Node<'_, '_>, m: &mut RecordingMetadata) {
    let mut stack: Vec<(Node<'_, '_>, Option<String>)> = vec![(root, None)];
    while let Some((node, scope)) = stack.pop() {
        let k = element_key(node);
        if let Some(d) = attr(node, "direction").and_then(|v| direction(&v)) {
            m.direction_hints.push(DirectionHint::Direction(d));
        }
        let scope = if k == "participant" { attr(node, "participantid").or_else(|| attr(node, "id")) } else { scope };
        if !visit(node, &k, scope.as_deref(), m) {
            let children: Vec<_> = elements(node).collect();
            stack.extend(children.into_iter().rev().map(|c| (c, scope.clone())));
        }
    }
}

/// Records what `node` says; `true` when its children were consumed too.
fn visit(node: Node<'_, '_>, k: &str, scope: Option<&str>, m: &mut RecordingMetadata) -> bool {
    match k {
        "calldata" => {
            call_data(node, scope, m);
            true
        }
        "broadworksrecordingmetadata" => {
            broadworks(node, m);
            true
        }
        "header" | "sipheader" => {
            let Some(label) = attr(node, "label").or_else(|| attr(node, "name")) else {
                return false;
            };
            let name = canonical_header(&label).map_or(label, str::to_owned);
            let values: Vec<String> =
                elements(node).filter(|c| element_key(*c) == "value").filter_map(non_empty_text).collect();
            if values.is_empty() {
                push_header(m, &name, text(node), scope);
            }
            for v in values {
                push_header(m, &name, v, scope);
            }
            true
        }
        "callingparty" | "role" => {
            if let (Some(pid), Some(calling)) = (scope, party_role(&text(node))) {
                let participant_id = pid.to_owned();
                m.direction_hints.push(if calling {
                    DirectionHint::ParticipantIsCaller { participant_id }
                } else {
                    DirectionHint::ParticipantIsCallee { participant_id }
                });
            }
            true
        }
        "direction" | "calldirection" => {
            if let Some(d) = direction(&text(node)) {
                m.direction_hints.push(DirectionHint::Direction(d));
            }
            true
        }
        "recordedparty" | "targetparty" => {
            if let Some(v) = non_empty_text(node) {
                m.direction_hints.push(DirectionHint::RecordedParty(v));
            }
            true
        }
        "ucid" | "callerorig" | "requesturi" | "inrealm" | "outrealm" | "realm" | "avayaucid" | "genesysuuid"
        | "gcid" => {
            push_field(m, node, scope);
            true
        }
        _ => false,
    }
}

/// Ribbon/Sonus `callData`: each child is one copied header or call id.
fn call_data(node: Node<'_, '_>, scope: Option<&str>, m: &mut RecordingMetadata) {
    for child in elements(node) {
        let tag = child.tag_name().name();
        let Some(value) = non_empty_text(child) else {
            continue;
        };
        match element_key(child).as_str() {
            "fromhdr" => push_header(m, "From", value, scope),
            "tohdr" => push_header(m, "To", value, scope),
            "gcid" => push_field(m, child, scope),
            _ => {
                let name = canonical_header(tag).unwrap_or(tag);
                push_header(m, name, value, scope);
            }
        }
    }
}

/// BroadWorks `broadWorksRecordingMetadata`: the recorded user, the call
/// type, the original parties; other leaves are kept as vendor fields.
fn broadworks(node: Node<'_, '_>, m: &mut RecordingMetadata) {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        let k = element_key(n);
        match k.as_str() {
            "origcall" => m.direction_hints.push(DirectionHint::Direction(CallDirection::Outgoing)),
            "termcall" => m.direction_hints.push(DirectionHint::Direction(CallDirection::Incoming)),
            _ => {}
        }
        let children: Vec<_> = elements(n).collect();
        if children.is_empty()
            && let Some(v) = non_empty_text(n)
        {
            match k.as_str() {
                "userid" => m.direction_hints.push(DirectionHint::RecordedParty(v)),
                "callingpartynumber" => m.direction_hints.push(DirectionHint::CallerAddress(v)),
                "calledpartynumber" => m.direction_hints.push(DirectionHint::CalleeAddress(v)),
                _ => m.vendor_fields.push(VendorField {
                    name: n.tag_name().name().to_owned(),
                    value: v,
                    participant_id: None,
                }),
            }
        }
        stack.extend(children.into_iter().rev());
    }
}

fn push_header(m: &mut RecordingMetadata, name: &str, value: String, scope: Option<&str>) {
    if value.is_empty() {
        return;
    }
    m.original_call.entries.push(CopiedHeader {
        name: name.to_owned(),
        value,
        participant_id: scope.map(str::to_owned),
    });
}

fn push_field(m: &mut RecordingMetadata, node: Node<'_, '_>, scope: Option<&str>) {
    if let Some(value) = non_empty_text(node) {
        m.vendor_fields.push(VendorField {
            name: node.tag_name().name().to_owned(),
            value,
            participant_id: scope.map(str::to_owned),
        });
    }
}

/// `true` for the calling side, `false` for the called side.
fn party_role(value: &str) -> Option<bool> {
    match crate::xml::key(value.trim()).as_str() {
        "true" | "calling" | "caller" | "originator" | "orig" | "originating" => Some(true),
        "false" | "called" | "callee" | "terminator" | "term" | "terminating" | "answering" => Some(false),
        _ => None,
    }
}

fn direction(value: &str) -> Option<CallDirection> {
    match crate::xml::key(value.trim()).as_str() {
        "incoming" | "inbound" | "in" | "terminating" | "mt" => Some(CallDirection::Incoming),
        "outgoing" | "outbound" | "out" | "originating" | "mo" => Some(CallDirection::Outgoing),
        _ => None,
    }
}

/// Canonical spelling of a SIP header given under a vendor tag or label.
fn canonical_header(tag: &str) -> Option<&'static str> {
    Some(match crate::xml::key(tag).as_str() {
        "from" => "From",
        "to" => "To",
        "callid" => "Call-ID",
        "passertedidentity" | "pai" => "P-Asserted-Identity",
        "ppreferredidentity" | "ppi" => "P-Preferred-Identity",
        "identity" => "Identity",
        "diversion" => "Diversion",
        "historyinfo" => "History-Info",
        "remotepartyid" | "rpid" => "Remote-Party-ID",
        "referredby" => "Referred-By",
        "pcalledpartyid" => "P-Called-Party-ID",
        "privacy" => "Privacy",
        "useragent" => "User-Agent",
        "usertouser" | "uui" => "User-to-User",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_metadata;

    #[test]
    fn header_spellings_are_canonical() {
        assert_eq!(canonical_header("PAI"), Some("P-Asserted-Identity"));
        assert_eq!(canonical_header("History_Info"), Some("History-Info"));
        assert_eq!(canonical_header("X-Custom"), None);
    }

    #[test]
    fn role_and_direction_words() {
        assert_eq!(party_role(" TRUE "), Some(true));
        assert_eq!(party_role("called"), Some(false));
        assert_eq!(party_role("maybe"), None);
        assert_eq!(direction("Inbound"), Some(CallDirection::Incoming));
        assert_eq!(direction("outgoing"), Some(CallDirection::Outgoing));
        assert_eq!(direction("sideways"), None);
    }

    #[test]
    fn unscoped_calling_party_is_ignored_and_direction_attribute_is_read() {
        let m = parse_metadata(
            br#"<recording><session session_id="s" direction="inbound"/><callingParty>true</callingParty></recording>"#,
        )
        .unwrap();
        assert_eq!(m.direction_hints, [DirectionHint::Direction(CallDirection::Incoming)]);
    }

    #[test]
    fn generic_header_without_values_uses_text() {
        let m = parse_metadata(
            br#"<recording><extensiondata><header name="Identity">eyJhbGc</header><header>no name</header></extensiondata></recording>"#,
        )
        .unwrap();
        assert_eq!(m.original_call.pairs().collect::<Vec<_>>(), [("Identity", "eyJhbGc")]);
    }
}
