//! The recording metadata model (RFC 7865 section 6), flattened the way the
//! XML carries it: lists of elements that refer to each other by id.
//!
//! Ids are opaque strings (usually base64, sometimes `urn:uuid:`); they are
//! compared byte for byte. Times are kept as the text the SRC sent: this
//! crate has no clock and never needs to order them.

use crate::aor::normalize_aor;

/// Whether a metadata body is a full snapshot or an amendment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataMode {
    /// A full snapshot; replaces whatever was known (RFC 7865 `complete`).
    #[default]
    Complete,
    /// An amendment carried in a re-INVITE or UPDATE (RFC 7865 `partial`).
    Partial,
}

/// Which generation of the metadata format the SRC spoke, for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Dialect {
    /// RFC 7865: `participant_id`/`stream_id` attributes and association elements.
    #[default]
    Rfc7865,
    /// draft-ietf-siprec-metadata era (Oracle/Acme Packet, Avaya SBCE): `id` and
    /// `session` attributes, `send`/`recv` children inside `participant`.
    PreRfcDraft,
    /// Early-draft `recording_metadata` container (BroadWorks, `...:siprec` namespace).
    SiprecContainer,
}

/// A communication session group (`group`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// `group_id` (or pre-RFC `id`).
    pub id: String,
    /// `associate-time`, as sent.
    pub associate_time: Option<String>,
}

/// A communication session (`session`), i.e. the recorded call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Session {
    /// `session_id` (or pre-RFC `id`).
    pub id: String,
    /// `group-ref` child (or BroadWorks `group` attribute).
    pub group_ref: Option<String>,
    /// `sipSessionID` values (RFC 7989 Session-ID of the recorded call).
    pub sip_session_ids: Vec<String>,
    /// `start-time`, as sent.
    pub start_time: Option<String>,
    /// `stop-time`, as sent; present once the call has ended.
    pub stop_time: Option<String>,
    /// Pre-RFC `associate-time` on the session itself.
    pub associate_time: Option<String>,
}

/// One identity of a participant (`nameID`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameId {
    /// The `aor` attribute exactly as sent (may lack a scheme, carry a port...).
    pub aor: String,
    /// `name` child, trimmed; `None` when absent or blank.
    pub name: Option<String>,
    /// `xml:lang` of the name.
    pub lang: Option<String>,
}

/// A participant of the recorded call (`participant`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Participant {
    /// `participant_id` (or pre-RFC `id`).
    pub id: String,
    /// Identities, in document order. Pre-RFC `aor`/`name` children land here too.
    pub name_ids: Vec<NameId>,
}

impl Participant {
    /// Normalized AORs of this participant (see [`normalize_aor`]), in order, without duplicates.
    pub fn aors(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for aor in self.name_ids.iter().filter_map(|n| normalize_aor(&n.aor)) {
            if !out.contains(&aor) {
                out.push(aor);
            }
        }
        out
    }

    /// First non-blank display name.
    pub fn display_name(&self) -> Option<&str> {
        self.name_ids.iter().find_map(|n| n.name.as_deref())
    }
}

/// How a stream carries the parties' media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    /// One party per stream.
    Separate,
    /// Several parties mixed into one stream.
    Mixed,
}

/// A media stream (`stream`), tied to an SDP m-line by its `label`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stream {
    /// `stream_id` (or pre-RFC `id`).
    pub id: String,
    /// `session_id` (or pre-RFC `session`) attribute.
    pub session_id: Option<String>,
    /// `label` child, trimmed: equals the SDP `a=label` of the m-line.
    pub label: Option<String>,
    /// Pre-RFC/BroadWorks `mode` child.
    pub mode: Option<StreamMode>,
}

/// A session's association with the recording (`sessionrecordingassoc`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionRecordingAssoc {
    /// The session.
    pub session_id: String,
    /// `associate-time`.
    pub associate_time: Option<String>,
    /// `disassociate-time`: the session left the recording.
    pub disassociate_time: Option<String>,
}

/// A participant's presence in a session (`participantsessionassoc`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParticipantSessionAssoc {
    /// The participant.
    pub participant_id: String,
    /// The session.
    pub session_id: String,
    /// `associate-time`.
    pub associate_time: Option<String>,
    /// `disassociate-time`: the participant left (transfer, conference drop).
    pub disassociate_time: Option<String>,
}

impl ParticipantSessionAssoc {
    /// Still in force: no `disassociate-time`.
    pub fn is_active(&self) -> bool {
        self.disassociate_time.is_none()
    }
}

/// Which streams a participant sends and receives (`participantstreamassoc`).
///
/// Pre-RFC `send`/`recv` children of `participant` are normalized into this.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParticipantStreamAssoc {
    /// The participant.
    pub participant_id: String,
    /// Stream ids the participant sends: the key of leg mapping.
    pub send: Vec<String>,
    /// Stream ids the participant receives.
    pub recv: Vec<String>,
    /// `associate-time`, when an SRC sends one.
    pub associate_time: Option<String>,
    /// `disassociate-time`, when an SRC sends one: the association has ended.
    pub disassociate_time: Option<String>,
}

impl ParticipantStreamAssoc {
    /// Still in force: no `disassociate-time`.
    pub fn is_active(&self) -> bool {
        self.disassociate_time.is_none()
    }
}

/// One SIP header of the original call, copied by the SRC into the metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopiedHeader {
    /// Header name, canonical spelling when known (`P-Asserted-Identity`),
    /// otherwise the vendor's tag or label as sent.
    pub name: String,
    /// Header value as sent (entities decoded).
    pub value: String,
    /// The participant whose signalling carried it, when the SRC scoped it.
    pub participant_id: Option<String>,
}

/// The original call's SIP headers found in the metadata, in document order.
///
/// Sources: Ribbon/Sonus `callData` (`fromhdr`, `tohdr`, `callid`, operator
/// mapped headers), Oracle `apkt:header label=...` extension data, generic
/// `header name=...` extension elements. Empty when the SRC copied nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OriginalCallHeaders {
    /// The headers, in the order the SRC wrote them.
    pub entries: Vec<CopiedHeader>,
}

impl OriginalCallHeaders {
    /// `(name, value)` pairs in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|h| (h.name.as_str(), h.value.as_str()))
    }

    /// All values of a header, compared case-insensitively.
    pub fn values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.entries.iter().filter(move |h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }

    /// First value of a header.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.values(name).next()
    }

    /// The original `From`.
    pub fn from(&self) -> Option<&str> {
        self.first("From")
    }

    /// The original `To`.
    pub fn to(&self) -> Option<&str> {
        self.first("To")
    }

    /// The STIR/SHAKEN `verstat` parameter of the first `P-Asserted-Identity`
    /// that carries one (e.g. `TN-Validation-Passed`).
    pub fn verstat(&self) -> Option<&str> {
        self.values("P-Asserted-Identity").find_map(verstat_param)
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No header was copied.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Finds `verstat=` among the `;` parameters of a header value.
fn verstat_param(value: &str) -> Option<&str> {
    value.split(';').skip(1).find_map(|param| {
        let (key, val) = param.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("verstat") {
            return None;
        }
        let end = val.find(['@', '>', ';', '?', ',']).unwrap_or(val.len());
        let v = val[..end].trim();
        (!v.is_empty()).then_some(v)
    })
}

/// A vendor fact that is not a SIP header (Avaya UCID, Oracle realm, Ribbon GCID...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorField {
    /// Local element name as sent (`ucid`, `in-realm`, `gcid`, `extTrackingID`...).
    pub name: String,
    /// Text content, trimmed.
    pub value: String,
    /// The participant it was attached to, when scoped.
    pub participant_id: Option<String>,
}

/// Direction of the call relative to the recorded party.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallDirection {
    /// The recorded party was called.
    Incoming,
    /// The recorded party placed the call.
    Outgoing,
}

/// A vendor statement about who placed the call, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectionHint {
    /// This participant placed the call (Oracle `apkt:callingParty` true,
    /// `role` calling).
    ParticipantIsCaller {
        /// The participant.
        participant_id: String,
    },
    /// This participant was called (Oracle `apkt:callingParty` false, `role` called).
    ParticipantIsCallee {
        /// The participant.
        participant_id: String,
    },
    /// Address of the original calling party (BroadWorks `callingPartyNumber`).
    CallerAddress(String),
    /// Address of the original called party (BroadWorks `calledPartyNumber`).
    CalleeAddress(String),
    /// The party the SRC records on behalf of (BroadWorks `userID`, `recordedParty`).
    RecordedParty(String),
    /// Call direction relative to the recorded party (BroadWorks
    /// `origCall`/`termCall`, `direction` elements or attributes).
    Direction(CallDirection),
}

/// An id used by an element that no element defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DanglingReference {
    /// The referring element and attribute, e.g. `participantstreamassoc/send`.
    pub referrer: &'static str,
    /// The id that resolves to nothing.
    pub id: String,
}

/// Parsed SIPREC recording metadata.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordingMetadata {
    /// Snapshot or amendment.
    pub data_mode: DataMode,
    /// Format generation the SRC spoke.
    pub dialect: Dialect,
    /// Namespace URI of the root element, if any.
    pub namespace: Option<String>,
    /// `group` elements.
    pub groups: Vec<Group>,
    /// `session` elements.
    pub sessions: Vec<Session>,
    /// `participant` elements, in document order.
    pub participants: Vec<Participant>,
    /// `stream` elements, in document order.
    pub streams: Vec<Stream>,
    /// `sessionrecordingassoc` elements.
    pub session_recording_assocs: Vec<SessionRecordingAssoc>,
    /// `participantsessionassoc` elements (and pre-RFC `participant session=`).
    pub participant_session_assocs: Vec<ParticipantSessionAssoc>,
    /// `participantstreamassoc` elements (and pre-RFC `participant/send|recv`).
    pub participant_stream_assocs: Vec<ParticipantStreamAssoc>,
    /// SIP headers of the original call copied by the SRC.
    pub original_call: OriginalCallHeaders,
    /// Vendor direction hints.
    pub direction_hints: Vec<DirectionHint>,
    /// Other vendor facts (UCID, realm, GCID...).
    pub vendor_fields: Vec<VendorField>,
}

impl RecordingMetadata {
    /// The participant with this id (empty ids never match).
    pub fn participant(&self, id: &str) -> Option<&Participant> {
        if id.is_empty() {
            return None;
        }
        self.participants.iter().find(|p| p.id == id)
    }

    /// The stream with this id (empty ids never match).
    pub fn stream(&self, id: &str) -> Option<&Stream> {
        if id.is_empty() {
            return None;
        }
        self.streams.iter().find(|s| s.id == id)
    }

    /// A participant is still in the call unless every session association it
    /// has was ended by a `disassociate-time`.
    pub fn is_participant_active(&self, participant_id: &str) -> bool {
        let mut assocs =
            self.participant_session_assocs.iter().filter(|a| a.participant_id == participant_id).peekable();
        assocs.peek().is_none() || assocs.any(ParticipantSessionAssoc::is_active)
    }

    /// Participants still in the call, in document order.
    pub fn active_participants(&self) -> impl Iterator<Item = &Participant> {
        self.participants.iter().filter(|p| self.is_participant_active(&p.id))
    }

    /// Ids of the active participants that send this stream, without duplicates.
    pub fn senders_of(&self, stream_id: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for assoc in &self.participant_stream_assocs {
            if assoc.is_active()
                && assoc.send.iter().any(|s| s == stream_id)
                && self.is_participant_active(&assoc.participant_id)
                && !out.contains(&assoc.participant_id.as_str())
            {
                out.push(&assoc.participant_id);
            }
        }
        out
    }

    /// Whether any active association names a sender.
    pub fn has_send_associations(&self) -> bool {
        self.participant_stream_assocs.iter().any(|a| a.is_active() && !a.send.is_empty())
    }

    /// Ids that refer to nothing: the SRC's bookkeeping is broken somewhere.
    ///
    /// Such references are tolerated (leg mapping simply cannot follow them);
    /// this lists them for logging.
    pub fn dangling_references(&self) -> Vec<DanglingReference> {
        let mut out = Vec::new();
        let mut check = |referrer: &'static str, id: &str, known: bool| {
            if !known {
                out.push(DanglingReference { referrer, id: id.to_owned() });
            }
        };
        let session_known = |id: &str| self.sessions.iter().any(|s| s.id == id);
        for s in &self.sessions {
            if let Some(g) = &s.group_ref {
                check("session/group-ref", g, self.groups.iter().any(|x| &x.id == g));
            }
        }
        for s in &self.streams {
            if let Some(sid) = &s.session_id {
                check("stream/session_id", sid, session_known(sid));
            }
        }
        for a in &self.session_recording_assocs {
            check("sessionrecordingassoc/session_id", &a.session_id, session_known(&a.session_id));
        }
        for a in &self.participant_session_assocs {
            check(
                "participantsessionassoc/participant_id",
                &a.participant_id,
                self.participant(&a.participant_id).is_some(),
            );
            check("participantsessionassoc/session_id", &a.session_id, session_known(&a.session_id));
        }
        for a in &self.participant_stream_assocs {
            check(
                "participantstreamassoc/participant_id",
                &a.participant_id,
                self.participant(&a.participant_id).is_some(),
            );
            for s in &a.send {
                check("participantstreamassoc/send", s, self.stream(s).is_some());
            }
            for s in &a.recv {
                check("participantstreamassoc/recv", s, self.stream(s).is_some());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, value: &str) -> CopiedHeader {
        CopiedHeader { name: name.into(), value: value.into(), participant_id: None }
    }

    #[test]
    fn verstat_is_read_from_the_user_part_parameter() {
        let h = OriginalCallHeaders {
            entries: vec![
                header("From", "<sip:1@a>"),
                header("p-asserted-identity", "<sip:+15551230001;verstat=TN-Validation-Passed@ims.example;user=phone>"),
            ],
        };
        assert_eq!(h.verstat(), Some("TN-Validation-Passed"));
        assert_eq!(h.from(), Some("<sip:1@a>"));
        assert_eq!(h.to(), None);
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn verstat_absent_or_empty_is_none() {
        let h = OriginalCallHeaders { entries: vec![header("P-Asserted-Identity", "<sip:1@a;verstat=>")] };
        assert_eq!(h.verstat(), None);
        assert!(OriginalCallHeaders::default().is_empty());
    }

    #[test]
    fn participant_without_session_assoc_is_active() {
        let mut m = RecordingMetadata::default();
        m.participants.push(Participant { id: "p".into(), name_ids: vec![] });
        assert!(m.is_participant_active("p"));
        m.participant_session_assocs.push(ParticipantSessionAssoc {
            participant_id: "p".into(),
            session_id: "s".into(),
            associate_time: None,
            disassociate_time: Some("t".into()),
        });
        assert!(!m.is_participant_active("p"));
        assert_eq!(m.active_participants().count(), 0);
    }

    #[test]
    fn empty_ids_never_resolve() {
        let mut m = RecordingMetadata::default();
        m.streams.push(Stream::default());
        assert!(m.stream("").is_none());
        assert!(m.participant("").is_none());
    }
}
