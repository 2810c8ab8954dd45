//! Reading a SIPREC INVITE: its offer, its metadata, whose streams are
//! whose, and the signaling facts it carries.

use callguard_numbers::{E164, HomeCountry};
use callguard_sdp::{Direction, SessionDescription};
use callguard_sip::{HeaderName, Request};
use callguard_siprec_metadata::{
    LegMap, LegMapInput, MediaDirection, RecordingMetadata, SdpOrder, SdpStream, aor_user, map_legs, parse_metadata,
};

use crate::events::SignalingFacts;

/// A request the SRS refuses: status, reason phrase, and the defect for the
/// Warning header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) reason: &'static str,
    pub(crate) warning: String,
}

impl Refusal {
    pub(crate) fn new(status: u16, reason: &'static str, warning: impl Into<String>) -> Refusal {
        Refusal { status, reason, warning: warning.into() }
    }
}

/// The parts of an INVITE (or UPDATE) body the SRS uses.
pub(crate) struct Offer {
    pub(crate) sdp: Option<SessionDescription>,
    pub(crate) metadata: Option<RecordingMetadata>,
}

/// Splits the body into SDP and recording metadata. Other parts (e.g.
/// `application/gtd`) are ignored.
pub(crate) fn read_offer(request: &Request) -> Result<Offer, Refusal> {
    let mut offer = Offer { sdp: None, metadata: None };
    if request.body().is_empty() {
        return Ok(offer);
    }
    let content_type = request
        .headers()
        .content_type()
        .map_err(|e| Refusal::new(400, "Bad Request", e.to_string()))?
        .ok_or_else(|| Refusal::new(400, "Bad Request", "body without Content-Type"))?;
    if content_type.is_multipart() {
        let multipart = request
            .multipart()
            .map_err(|e| Refusal::new(400, "Bad Request", format!("multipart body: {e}")))?
            .ok_or_else(|| Refusal::new(400, "Bad Request", "multipart body without boundary"))?;
        for part in multipart.parts() {
            let Ok(Some(part_type)) = part.content_type() else { continue };
            if part_type.is("application", "sdp") {
                offer.sdp = Some(parse_sdp(part.body())?);
            } else if is_metadata(&part_type) {
                offer.metadata = Some(parse_recording_metadata(part.body())?);
            }
        }
        if offer.sdp.is_none() && offer.metadata.is_none() {
            return Err(Refusal::new(415, "Unsupported Media Type", "no application/sdp or rs-metadata part"));
        }
        return Ok(offer);
    }
    if content_type.is("application", "sdp") {
        offer.sdp = Some(parse_sdp(request.body())?);
    } else if is_metadata(&content_type) {
        offer.metadata = Some(parse_recording_metadata(request.body())?);
    } else {
        return Err(Refusal::new(
            415,
            "Unsupported Media Type",
            format!("cannot use a {}/{} body", content_type.media_type(), content_type.subtype()),
        ));
    }
    Ok(offer)
}

fn is_metadata(content_type: &callguard_sip::ContentType) -> bool {
    content_type.is("application", "rs-metadata+xml") || content_type.is("application", "rs-metadata")
}

fn parse_sdp(body: &[u8]) -> Result<SessionDescription, Refusal> {
    SessionDescription::parse_bytes(body).map_err(|e| Refusal::new(400, "Bad Request", format!("SDP {e}")))
}

fn parse_recording_metadata(body: &[u8]) -> Result<RecordingMetadata, Refusal> {
    parse_metadata(body).map_err(|e| Refusal::new(400, "Bad Request", format!("recording metadata: {e}")))
}

/// The SDP m-lines as the leg mapper sees them.
pub(crate) fn sdp_streams(sdp: &SessionDescription) -> Vec<SdpStream> {
    sdp.media
        .iter()
        .enumerate()
        .map(|(index, media)| {
            let direction = match sdp.media_direction(media) {
                Direction::SendOnly => MediaDirection::SendOnly,
                Direction::RecvOnly => MediaDirection::RecvOnly,
                Direction::SendRecv => MediaDirection::SendRecv,
                Direction::Inactive => MediaDirection::Inactive,
            };
            SdpStream::new(index, media.label(), direction)
        })
        .collect()
}

/// Decides which stream is whose and who the subscriber is.
pub(crate) fn map_call(
    sdp: &SessionDescription,
    metadata: Option<&RecordingMetadata>,
    request: &Request,
    sdp_order: SdpOrder,
    is_protected: impl Fn(&str) -> bool,
) -> LegMap {
    let streams = sdp_streams(sdp);
    let headers = request.headers();
    // The recording INVITE's own From/To name the original parties only when
    // no metadata does (SBCs without metadata copy them there).
    let copied = metadata.map(|m| &m.original_call);
    let from = copied.and_then(|c| c.from()).or(if metadata.is_none() { headers.get(&HeaderName::FROM) } else { None });
    let to = copied.and_then(|c| c.to()).or(if metadata.is_none() { headers.get(&HeaderName::TO) } else { None });
    let input = LegMapInput { streams: &streams, metadata, invite_from: from, invite_to: to, sdp_order };
    map_legs(&input, is_protected)
}

/// The E.164 number in an address of record, when it holds one.
pub(crate) fn aor_number(aor: &str, home: HomeCountry) -> Option<E164> {
    let user = aor_user(aor)?;
    let user = user.split(';').next()?;
    E164::parse(user, Some(home)).ok()
}

/// Signaling facts from the SIP headers and the copied original-call headers.
pub(crate) fn signaling_facts(request: &Request, metadata: Option<&RecordingMetadata>) -> SignalingFacts {
    let headers = request.headers();
    let copied = metadata.map(|m| &m.original_call);
    let mut facts = SignalingFacts {
        from: copied.and_then(|c| c.from()).or(headers.get(&HeaderName::FROM)).map(str::to_owned),
        p_asserted_identity: headers.values(&HeaderName::P_ASSERTED_IDENTITY).map(str::to_owned).collect(),
        identity: headers.get_all(&HeaderName::IDENTITY).map(str::to_owned).collect(),
        via: headers.values(&HeaderName::VIA).map(str::to_owned).collect(),
        contact: headers.get(&HeaderName::CONTACT).map(str::to_owned),
        ..SignalingFacts::default()
    };
    if let Some(copied) = copied {
        facts.p_asserted_identity.extend(copied.values("P-Asserted-Identity").map(str::to_owned));
        facts.identity.extend(copied.values("Identity").map(str::to_owned));
        facts.forwarded_headers = copied
            .pairs()
            .filter(|(name, _)| !["P-Asserted-Identity", "Identity"].iter().any(|n| n.eq_ignore_ascii_case(name)))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
    }
    facts.verstat = facts
        .p_asserted_identity
        .iter()
        .chain(facts.from.iter())
        .find_map(|value| verstat(value))
        .or_else(|| copied.and_then(|c| c.verstat()).map(str::to_owned));
    facts
}

/// The `verstat` parameter anywhere in a header value (user part, URI or
/// header parameter), as SBCs place it in all three.
fn verstat(value: &str) -> Option<String> {
    let lower = value.to_ascii_lowercase();
    let start = lower.find("verstat=")? + "verstat=".len();
    let rest = &value[start..];
    let end = rest.find([';', '>', '@', ',', ' ', '&']).unwrap_or(rest.len());
    (end > 0).then(|| rest[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verstat_is_found_in_any_position() {
        assert_eq!(
            verstat("<sip:+12015550111;verstat=TN-Validation-Passed@ims.example;user=phone>").as_deref(),
            Some("TN-Validation-Passed")
        );
        assert_eq!(verstat("<tel:+12015550111;verstat=No-TN-Validation>").as_deref(), Some("No-TN-Validation"));
        assert_eq!(verstat("<sip:+12015550111@ims.example>"), None);
    }

    #[test]
    fn numbers_come_out_of_aors_in_any_shape() {
        let us: HomeCountry = "US".parse().unwrap();
        for aor in [
            "sip:+12015550123@sbc.example",
            "tel:+12015550123",
            "sip:2015550123@10.0.0.1",
            "sip:+12015550123;verstat=TN-Validation-Passed@ims",
        ] {
            assert_eq!(aor_number(aor, us).map(|n| n.to_string()).as_deref(), Some("+12015550123"), "{aor}");
        }
        assert_eq!(aor_number("sip:anonymous@anonymous.invalid", us), None);
    }
}
