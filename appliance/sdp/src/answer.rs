//! The SRS's answer to a SIPREC offer (RFC 3264 offer/answer with the
//! RFC 7866 rules: the SRS only ever receives).
//!
//! The answer has one `m=` line per offered one, in the same order. A stream
//! is accepted with a port from the caller's [`MediaAllocator`], one codec
//! (plus telephone-event), `a=recvonly` (or `a=inactive`), its label, RTCP
//! port and, for SDES-SRTP, the SRS's own key. Anything else is rejected
//! with port 0 and the offer's formats echoed.

use crate::attributes::{Attribute, Direction, Fmtp, Rtcp};
use crate::connection::{AddressType, Connection};
use crate::crypto::{Crypto, InlineKey, KeyParam, SecretBytes, SrtpKeyMaterial, SrtpSessionParam};
use crate::media::{Codec, MediaDescription, Protocol};
use crate::negotiated::{Answer, Endpoint, NegotiatedStream, RejectReason, RejectedStream, SrtpKey, SrtpParameters};
use crate::parse::is_separator;
use crate::policy::{AnswerPolicy, MediaAllocator};
use crate::session::{Origin, SessionDescription, Timing};

/// Answers an initial offer (INVITE).
pub fn answer_offer(offer: &SessionDescription, policy: &AnswerPolicy, allocator: &mut impl MediaAllocator) -> Answer {
    let origin = Origin {
        username: sdp_token(&policy.origin_username),
        session_id: policy.session_id,
        session_version: policy.session_version,
        net_type: "IN".to_owned(),
        addr_type: AddressType::of(policy.origin_address),
        address: policy.origin_address.to_string(),
    };
    negotiate(None, origin, offer, policy, allocator)
}

/// Answers a re-offer (re-INVITE, UPDATE) within the session of `previous`.
///
/// A stream at the same position with the same label, media type and
/// rtcp-mux outcome keeps its port (and its SRS key, if the chosen tag and
/// suite are unchanged); others get fresh ones, and ports no longer used
/// are reported in [`Answer::released_ports`]. The `o=` line is the
/// previous one, its version bumped only if the answer changed.
pub fn answer_reoffer(
    previous: &Answer,
    offer: &SessionDescription,
    policy: &AnswerPolicy,
    allocator: &mut impl MediaAllocator,
) -> Answer {
    let mut answer = negotiate(Some(previous), previous.sdp.origin.clone(), offer, policy, allocator);
    if answer.sdp != previous.sdp {
        answer.sdp.origin.session_version = previous.sdp.origin.session_version.wrapping_add(1);
    }
    answer
}

/// `-` unless the text is a non-empty SDP token.
fn sdp_token(text: &str) -> String {
    if text.is_empty() || text.chars().any(|c| is_separator(c) || c.is_control()) {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

fn negotiate(
    previous: Option<&Answer>,
    origin: Origin,
    offer: &SessionDescription,
    policy: &AnswerPolicy,
    allocator: &mut impl MediaAllocator,
) -> Answer {
    let mut answer = Answer {
        sdp: SessionDescription {
            origin,
            session_name: "-".to_owned(),
            information: None,
            uri: None,
            emails: Vec::new(),
            phones: Vec::new(),
            connection: Some(Connection::new(policy.connection_address)),
            bandwidths: Vec::new(),
            timings: vec![Timing::unbounded()],
            time_zones: None,
            encryption_key: None,
            attributes: Vec::new(),
            unknown_lines: Vec::new(),
            media: Vec::with_capacity(offer.media.len()),
        },
        streams: Vec::new(),
        rejected: Vec::new(),
        released_ports: Vec::new(),
    };
    for (index, media) in offer.media.iter().enumerate() {
        let prior = previous.and_then(|previous| previous.streams.iter().find(|stream| stream.index == index));
        let outcome = plan_stream(offer, media, policy)
            .and_then(|plan| accept_stream(index, media, plan, prior, allocator, &mut answer.released_ports));
        match outcome {
            Ok(accepted) => {
                if let Some(prior) = prior
                    && !accepted.kept_port
                {
                    answer.released_ports.push(prior.local_port);
                }
                answer.sdp.media.push(accepted.media);
                answer.streams.push(accepted.stream);
            }
            Err(reason) => {
                if let Some(prior) = prior {
                    answer.released_ports.push(prior.local_port);
                }
                answer.sdp.media.push(rejected_media(media));
                answer.rejected.push(RejectedStream { index, reason });
            }
        }
    }
    if let Some(previous) = previous {
        let removed = previous.streams.iter().filter(|stream| stream.index >= offer.media.len());
        answer.released_ports.extend(removed.map(|stream| stream.local_port));
    }
    answer
}

/// What was decided for a stream before any resource is taken.
struct StreamPlan<'a> {
    codec: Codec,
    telephone_event: Option<Codec>,
    crypto: Option<(&'a Crypto, Vec<SrtpKey>)>,
    rtcp_mux: bool,
    direction: Direction,
    remote_rtp: Endpoint,
    remote_rtcp: Endpoint,
}

fn plan_stream<'a>(
    offer: &'a SessionDescription,
    media: &'a MediaDescription,
    policy: &AnswerPolicy,
) -> Result<StreamPlan<'a>, RejectReason> {
    if media.port == 0 {
        return Err(RejectReason::PortZero);
    }
    let secure = match media.protocol {
        Protocol::RtpAvp | Protocol::RtpAvpf => false,
        Protocol::RtpSavp | Protocol::RtpSavpf => true,
        _ => return Err(RejectReason::UnsupportedProtocol),
    };
    let connection = offer.media_connection(media).ok_or(RejectReason::NoConnectionAddress)?;
    let codecs = media.codecs();
    let codec = codecs
        .iter()
        .find(|codec| policy.codecs.iter().any(|accepted| accepted.matches(codec)))
        .cloned()
        .ok_or(RejectReason::NoAcceptableCodec)?;
    let telephone_event = codecs
        .iter()
        .filter(|_| policy.telephone_event)
        .find(|te| te.name.eq_ignore_ascii_case("telephone-event") && te.clock_rate == codec.clock_rate)
        .cloned();
    let crypto = if secure {
        let chosen = media.crypto().find_map(|crypto| usable_crypto(crypto, policy));
        Some(chosen.ok_or(RejectReason::NoAcceptableCrypto)?)
    } else {
        None
    };
    let rtcp_mux = policy.rtcp_mux && media.rtcp_mux();
    // An SRS never sends, so it receives only what the offer sends; an
    // RFC 2543 hold (c=0.0.0.0) sends nothing either.
    let offered = offer.media_direction(media);
    let direction =
        if offered.sends() && !connection.address.is_unspecified() { Direction::RecvOnly } else { Direction::Inactive };
    let remote_rtp = Endpoint { address: connection.address.clone(), port: media.port };
    let remote_rtcp = match (rtcp_mux, media.rtcp()) {
        (true, _) => remote_rtp.clone(),
        (false, Some(rtcp)) => Endpoint {
            address: rtcp.connection.as_ref().map_or_else(|| connection.address.clone(), |c| c.address.clone()),
            port: rtcp.port,
        },
        (false, None) => Endpoint { address: connection.address.clone(), port: media.port.saturating_add(1) },
    };
    Ok(StreamPlan { codec, telephone_event, crypto, rtcp_mux, direction, remote_rtp, remote_rtcp })
}

/// The crypto line with its keys if the SRS can honour it: an accepted
/// suite, 30-byte inline keys, and only session parameters it understands
/// (FEC and unknown ones would change how packets must be processed).
fn usable_crypto<'a>(crypto: &'a Crypto, policy: &AnswerPolicy) -> Option<(&'a Crypto, Vec<SrtpKey>)> {
    if !crypto.suite.is_known() || !policy.srtp_suites.contains(&crypto.suite) {
        return None;
    }
    if crypto.session_params.iter().any(|param| matches!(param, SrtpSessionParam::Other(_))) {
        return None;
    }
    let keys = crypto
        .key_params
        .iter()
        .map(|param| match param {
            KeyParam::Inline(key) => SrtpKeyMaterial::from_slice(key.key_salt.as_bytes()).map(|material| SrtpKey {
                material,
                lifetime: key.lifetime,
                mki: key.mki,
            }),
            KeyParam::Other { .. } => None,
        })
        .collect::<Option<Vec<_>>>()?;
    (!keys.is_empty()).then_some((crypto, keys))
}

struct AcceptedStream {
    stream: NegotiatedStream,
    media: MediaDescription,
    kept_port: bool,
}

fn accept_stream(
    index: usize,
    offered: &MediaDescription,
    plan: StreamPlan<'_>,
    prior: Option<&NegotiatedStream>,
    allocator: &mut impl MediaAllocator,
    released_ports: &mut Vec<u16>,
) -> Result<AcceptedStream, RejectReason> {
    let kept = prior.filter(|prior| {
        prior.label.as_deref() == offered.label()
            && prior.media_type == offered.media_type
            && prior.rtcp_mux == plan.rtcp_mux
    });
    let srtp = match plan.crypto {
        None => None,
        Some((crypto, remote_keys)) => {
            let local_key = kept
                .and_then(|prior| prior.srtp.as_ref())
                .filter(|srtp| srtp.tag == crypto.tag && srtp.suite == crypto.suite)
                .map(|srtp| srtp.local_key.clone())
                .or_else(|| allocator.srtp_key(index))
                .ok_or(RejectReason::NoKeyMaterial)?;
            Some(SrtpParameters {
                tag: crypto.tag,
                suite: crypto.suite.clone(),
                remote_keys,
                session_params: crypto.session_params.clone(),
                local_key,
            })
        }
    };
    let local_port = match kept {
        Some(prior) => prior.local_port,
        None => allocator
            .allocate_port(index, plan.rtcp_mux)
            .filter(|port| *port != 0)
            .ok_or(RejectReason::NoPortAvailable)?,
    };
    let local_rtcp_port = if plan.rtcp_mux {
        local_port
    } else if let Some(port) = local_port.checked_add(1) {
        port
    } else {
        if kept.is_none() {
            released_ports.push(local_port);
        }
        return Err(RejectReason::NoPortAvailable);
    };

    let stream = NegotiatedStream {
        index,
        label: offered.label().map(str::to_owned),
        media_type: offered.media_type.clone(),
        protocol: offered.protocol.clone(),
        remote_rtp: plan.remote_rtp,
        remote_rtcp: plan.remote_rtcp,
        rtcp_mux: plan.rtcp_mux,
        local_port,
        local_rtcp_port,
        codec: plan.codec,
        telephone_event: plan.telephone_event.as_ref().map(|te| te.payload_type),
        ptime: offered.ptime(),
        direction: plan.direction,
        srtp,
    };
    Ok(AcceptedStream {
        media: accepted_media(offered, &stream, plan.telephone_event.as_ref()),
        stream,
        kept_port: kept.is_some(),
    })
}

fn accepted_media(
    offered: &MediaDescription,
    stream: &NegotiatedStream,
    telephone_event: Option<&Codec>,
) -> MediaDescription {
    let chosen: Vec<&Codec> = std::iter::once(&stream.codec).chain(telephone_event).collect();
    let mut media = MediaDescription::new(
        stream.media_type.clone(),
        stream.local_port,
        stream.protocol.clone(),
        chosen.iter().map(|codec| codec.payload_type.to_string()).collect(),
    );
    let attributes = &mut media.attributes;
    if let Some(label) = &stream.label {
        attributes.push(Attribute::Label(label.clone()));
    }
    attributes.extend(chosen.iter().map(|codec| Attribute::Rtpmap(codec.rtpmap())));
    for codec in &chosen {
        if let Some(fmtp) = offered.fmtp(&codec.payload_type.to_string()) {
            attributes.push(Attribute::Fmtp(Fmtp::clone(fmtp)));
        }
    }
    if let Some(ptime) = stream.ptime {
        attributes.push(Attribute::Ptime(ptime));
    }
    if let Some(srtp) = &stream.srtp {
        attributes.push(Attribute::Crypto(answer_crypto(srtp)));
    }
    attributes.push(Attribute::Rtcp(Rtcp { port: stream.local_rtcp_port, connection: None }));
    if stream.rtcp_mux {
        attributes.push(Attribute::RtcpMux);
    }
    attributes.push(Attribute::Direction(stream.direction));
    media
}

/// The answer's `a=crypto`: same tag and suite, the SRS's key, and the
/// session parameters that RFC 4568 requires both sides to agree on.
fn answer_crypto(srtp: &SrtpParameters) -> Crypto {
    Crypto {
        tag: srtp.tag,
        suite: srtp.suite.clone(),
        key_params: vec![KeyParam::Inline(InlineKey {
            key_salt: SecretBytes::new(srtp.local_key.as_bytes().to_vec()),
            lifetime: None,
            mki: None,
        })],
        session_params: srtp
            .session_params
            .iter()
            .filter(|param| {
                matches!(
                    param,
                    SrtpSessionParam::UnencryptedSrtp
                        | SrtpSessionParam::UnencryptedSrtcp
                        | SrtpSessionParam::UnauthenticatedSrtp
                )
            })
            .cloned()
            .collect(),
    }
}

/// RFC 3264 section 6: a refused stream keeps its m= line with port 0; the
/// formats are echoed since the line must list at least one.
fn rejected_media(offered: &MediaDescription) -> MediaDescription {
    let mut media =
        MediaDescription::new(offered.media_type.clone(), 0, offered.protocol.clone(), offered.formats.clone());
    if let Some(label) = offered.label() {
        media.attributes.push(Attribute::Label(label.to_owned()));
    }
    media
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaType;

    const KEY: &str = "WnD7c1ksDGs+dIefCEo8omPg4uO8DYIinNGL5yxQ";

    fn policy() -> AnswerPolicy {
        AnswerPolicy::new("srs", 1, "192.0.2.9".parse().unwrap())
    }

    fn crypto(line: &str) -> Crypto {
        Crypto::parse(1, line).unwrap()
    }

    #[test]
    fn origin_username_must_be_a_token() {
        assert_eq!(sdp_token("callguard"), "callguard");
        assert_eq!(sdp_token(""), "-");
        assert_eq!(sdp_token("two words"), "-");
        assert_eq!(sdp_token("tab\there"), "-");
        assert_eq!(sdp_token("line\r\nbreak"), "-");
    }

    #[test]
    fn crypto_with_unknown_session_parameters_is_skipped() {
        let fec = crypto(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY} FEC_ORDER=FEC_SRTP"));
        assert!(usable_crypto(&fec, &policy()).is_none());
        let kdr = crypto(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY} KDR=2 WSH=128"));
        assert!(usable_crypto(&kdr, &policy()).is_some());
        let unknown_suite = crypto(&format!("1 F8_128_HMAC_SHA1_80 inline:{KEY}"));
        let mut lenient = policy();
        lenient.srtp_suites.push(unknown_suite.suite.clone());
        assert!(usable_crypto(&unknown_suite, &lenient).is_none());
    }

    #[test]
    fn every_mki_key_is_passed_to_the_media_plane() {
        let two_keys = crypto(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|1:1;inline:{KEY}|2:1"));
        let (_, keys) = usable_crypto(&two_keys, &policy()).unwrap();
        let mkis: Vec<u64> = keys.iter().filter_map(|key| key.mki.map(|mki| mki.value)).collect();
        assert_eq!(mkis, vec![1, 2]);
    }

    #[test]
    fn answer_crypto_echoes_only_the_symmetric_parameters() {
        let offered = crypto(&format!(
            "5 AES_CM_128_HMAC_SHA1_32 inline:{KEY}|2^20|1:4 KDR=3 UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP WSH=64"
        ));
        let (chosen, remote_keys) = usable_crypto(&offered, &policy()).unwrap();
        let srtp = SrtpParameters {
            tag: chosen.tag,
            suite: chosen.suite.clone(),
            remote_keys,
            session_params: chosen.session_params.clone(),
            local_key: SrtpKeyMaterial::new([0; 30]),
        };
        assert_eq!(
            answer_crypto(&srtp).to_string(),
            "5 AES_CM_128_HMAC_SHA1_32 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \
             UNENCRYPTED_SRTCP UNAUTHENTICATED_SRTP"
        );
    }

    #[test]
    fn rejected_streams_echo_formats_and_label() {
        let mut offered =
            MediaDescription::new(MediaType::Video, 5000, Protocol::RtpAvp, vec!["96".into(), "97".into()]);
        offered.attributes.push(Attribute::Label("v1".into()));
        offered.attributes.push(Attribute::Direction(Direction::SendOnly));
        assert_eq!(rejected_media(&offered).to_string(), "m=video 0 RTP/AVP 96 97\r\na=label:v1\r\n");
    }
}
