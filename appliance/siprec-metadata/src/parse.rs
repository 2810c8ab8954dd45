//! Turning an `application/rs-metadata+xml` body into [`RecordingMetadata`].
//!
//! Safety first: the body is size-checked, must be UTF-8, may not carry a
//! DOCTYPE (so no entity can be declared, let alone expanded), and the
//! element depth and node count are bounded. The XML parser (`roxmltree`)
//! parses nested elements iteratively and the depth check below is iterative
//! too, so hostile nesting cannot exhaust the stack.
//!
//! Then leniency: elements are matched by local name whatever the prefix or
//! namespace, both RFC 7865 (`participant_id`, association elements) and the
//! pre-RFC draft shapes (`id`/`session` attributes, `send`/`recv` inside
//! `participant`, `aor`/`name` directly in `participant`, BroadWorks
//! `<send><id>..</id></send>`) are read into the same model, and unknown
//! elements are skipped.

use roxmltree::{Document, Node, ParsingOptions};

use crate::error::MetadataError;
use crate::model::{
    DataMode, Dialect, Group, NameId, Participant, ParticipantSessionAssoc, ParticipantStreamAssoc, RecordingMetadata,
    Session, SessionRecordingAssoc, Stream, StreamMode,
};
use crate::vendor;
use crate::xml::{attr, child_text, element_key, elements, key, non_empty_text, text};

/// Bounds applied before and while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Largest body accepted, in bytes. Real metadata is a few KiB; Ribbon
    /// caps its `callData` section at 2 KiB.
    pub max_bytes: usize,
    /// Deepest element nesting accepted (the root element is level 1).
    /// Real metadata nests about 6 levels.
    pub max_depth: usize,
    /// Most XML nodes (elements, text, comments...) accepted.
    pub max_nodes: u32,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self { max_bytes: 256 * 1024, max_depth: 32, max_nodes: 20_000 }
    }
}

/// Parses a metadata body with [`ParseLimits::default`].
///
/// The body must be UTF-8 (a BOM is skipped); any DOCTYPE or entity
/// declaration is refused before parsing; size, element depth and node count
/// are bounded. Elements are matched by local name (any prefix or namespace,
/// any case, `-`/`_` ignored); RFC 7865 and pre-RFC draft shapes (`id` and
/// `session` attributes, `send`/`recv` or `aor`/`name` inside `participant`,
/// `<send><id>..</id></send>`) land in the same model; unknown elements are
/// skipped.
pub fn parse_metadata(body: &[u8]) -> Result<RecordingMetadata, MetadataError> {
    parse_metadata_with(body, &ParseLimits::default())
}

/// Parses a metadata body with explicit limits.
pub fn parse_metadata_with(body: &[u8], limits: &ParseLimits) -> Result<RecordingMetadata, MetadataError> {
    if body.len() > limits.max_bytes {
        return Err(MetadataError::TooLarge { size: body.len(), limit: limits.max_bytes });
    }
    let text = std::str::from_utf8(body).map_err(|e| MetadataError::NotUtf8 { valid_up_to: e.valid_up_to() })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(MetadataError::Empty);
    }
    // roxmltree refuses DTDs with declarations but lets an empty one through;
    // refuse any, and any stray entity declaration, before parsing at all.
    if text.contains("<!DOCTYPE") || text.contains("<!ENTITY") {
        return Err(MetadataError::DtdForbidden);
    }
    let options = ParsingOptions { allow_dtd: false, nodes_limit: limits.max_nodes, ..ParsingOptions::default() };
    let doc = Document::parse_with_options(text, options).map_err(|e| xml_error(e, limits))?;
    let root = doc.root_element();
    check_depth(root, limits.max_depth)?;
    build(root)
}

fn xml_error(e: roxmltree::Error, limits: &ParseLimits) -> MetadataError {
    match e {
        roxmltree::Error::DtdDetected => MetadataError::DtdForbidden,
        roxmltree::Error::NodesLimitReached => MetadataError::TooManyNodes { limit: limits.max_nodes },
        other => {
            let pos = other.pos();
            MetadataError::Malformed { line: pos.row, column: pos.col, reason: other.to_string() }
        }
    }
}

fn check_depth(root: Node<'_, '_>, max_depth: usize) -> Result<(), MetadataError> {
    let mut stack = vec![(root, 1usize)];
    while let Some((node, depth)) = stack.pop() {
        if depth > max_depth {
            return Err(MetadataError::TooDeep { limit: max_depth });
        }
        stack.extend(elements(node).map(|child| (child, depth + 1)));
    }
    Ok(())
}

fn build(root: Node<'_, '_>) -> Result<RecordingMetadata, MetadataError> {
    let dialect = match element_key(root).as_str() {
        "recording" => Dialect::Rfc7865,
        "recordingmetadata" => Dialect::SiprecContainer,
        _ => {
            return Err(MetadataError::NotRecordingMetadata { root: root.tag_name().name().to_owned() });
        }
    };
    let mut m = RecordingMetadata {
        dialect,
        namespace: root.tag_name().namespace().map(str::to_owned),
        ..RecordingMetadata::default()
    };
    let mut pre_rfc = false;
    for child in elements(root) {
        match element_key(child).as_str() {
            "datamode" => m.data_mode = data_mode(&text(child))?,
            "group" => m.groups.push(Group {
                id: id_of(child, "groupid", &mut pre_rfc),
                associate_time: child_text(child, "associatetime"),
            }),
            "session" => m.sessions.push(session(child, &mut pre_rfc)),
            "participant" => participant(child, &mut m, &mut pre_rfc),
            "stream" => m.streams.push(stream(child, &mut pre_rfc)),
            "sessionrecordingassoc" => m.session_recording_assocs.push(SessionRecordingAssoc {
                session_id: session_ref(child),
                associate_time: child_text(child, "associatetime"),
                disassociate_time: child_text(child, "disassociatetime"),
            }),
            "participantsessionassoc" => {
                m.participant_session_assocs.push(ParticipantSessionAssoc {
                    participant_id: attr(child, "participantid").unwrap_or_default(),
                    session_id: session_ref(child),
                    associate_time: child_text(child, "associatetime"),
                    disassociate_time: child_text(child, "disassociatetime"),
                });
            }
            "participantstreamassoc" => {
                let mut assoc = ParticipantStreamAssoc {
                    participant_id: attr(child, "participantid").unwrap_or_default(),
                    associate_time: child_text(child, "associatetime"),
                    disassociate_time: child_text(child, "disassociatetime"),
                    ..ParticipantStreamAssoc::default()
                };
                read_send_recv(child, &mut assoc);
                add_stream_assoc(&mut m, assoc);
            }
            _ => {}
        }
    }
    if pre_rfc && m.dialect == Dialect::Rfc7865 {
        m.dialect = Dialect::PreRfcDraft;
    }
    vendor::collect(root, &mut m);
    Ok(m)
}

fn data_mode(value: &str) -> Result<DataMode, MetadataError> {
    if value.eq_ignore_ascii_case("complete") {
        Ok(DataMode::Complete)
    } else if value.eq_ignore_ascii_case("partial") {
        Ok(DataMode::Partial)
    } else {
        Err(MetadataError::InvalidDataMode(value.to_owned()))
    }
}

/// The RFC 7865 id attribute, else the pre-RFC `id`.
fn id_of(node: Node<'_, '_>, rfc_key: &str, pre_rfc: &mut bool) -> String {
    if let Some(id) = attr(node, rfc_key) {
        return id;
    }
    match attr(node, "id") {
        Some(id) => {
            *pre_rfc = true;
            id
        }
        None => String::new(),
    }
}

fn session_ref(node: Node<'_, '_>) -> String {
    attr(node, "sessionid").or_else(|| attr(node, "session")).unwrap_or_default()
}

fn session(node: Node<'_, '_>, pre_rfc: &mut bool) -> Session {
    Session {
        id: id_of(node, "sessionid", pre_rfc),
        group_ref: child_text(node, "groupref").or_else(|| attr(node, "group")),
        sip_session_ids: elements(node)
            .filter(|c| element_key(*c) == "sipsessionid")
            .filter_map(non_empty_text)
            .collect(),
        start_time: child_text(node, "starttime"),
        stop_time: child_text(node, "stoptime"),
        associate_time: child_text(node, "associatetime"),
    }
}

fn stream(node: Node<'_, '_>, pre_rfc: &mut bool) -> Stream {
    let mode = child_text(node, "mode").and_then(|m| match key(&m).as_str() {
        "separate" => Some(StreamMode::Separate),
        "mixed" => Some(StreamMode::Mixed),
        _ => None,
    });
    Stream {
        id: id_of(node, "streamid", pre_rfc),
        session_id: attr(node, "sessionid").or_else(|| attr(node, "session")),
        label: child_text(node, "label"),
        mode,
    }
}

fn participant(node: Node<'_, '_>, m: &mut RecordingMetadata, pre_rfc: &mut bool) {
    let id = id_of(node, "participantid", pre_rfc);
    let mut name_ids = Vec::new();
    for child in elements(node).filter(|c| element_key(*c) == "nameid") {
        let name_node = elements(child).find(|c| element_key(*c) == "name");
        name_ids.push(NameId {
            aor: attr(child, "aor").unwrap_or_default(),
            name: name_node.and_then(non_empty_text),
            lang: name_node.and_then(|n| attr(n, "lang")),
        });
    }
    // Oldest drafts (Oracle 2011, BroadWorks): <aor> and <name> directly inside.
    if let Some(aor) = child_text(node, "aor") {
        *pre_rfc = true;
        let name_node = elements(node).find(|c| element_key(*c) == "name");
        name_ids.push(NameId {
            aor,
            name: name_node.and_then(non_empty_text),
            lang: name_node.and_then(|n| attr(n, "lang")),
        });
    }
    let mut assoc = ParticipantStreamAssoc { participant_id: id.clone(), ..ParticipantStreamAssoc::default() };
    read_send_recv(node, &mut assoc);
    if !assoc.send.is_empty() || !assoc.recv.is_empty() {
        *pre_rfc = true;
        add_stream_assoc(m, assoc);
    }
    if let Some(session_id) = attr(node, "session") {
        *pre_rfc = true;
        m.participant_session_assocs.push(ParticipantSessionAssoc {
            participant_id: id.clone(),
            session_id,
            associate_time: child_text(node, "associatetime").or_else(|| child_text(node, "starttime")),
            disassociate_time: child_text(node, "disassociatetime"),
        });
    }
    m.participants.push(Participant { id, name_ids });
}

/// `send`/`recv` children: stream id as text, or in an `id` child (BroadWorks).
fn read_send_recv(node: Node<'_, '_>, assoc: &mut ParticipantStreamAssoc) {
    for child in elements(node) {
        let list = match element_key(child).as_str() {
            "send" => &mut assoc.send,
            "recv" => &mut assoc.recv,
            _ => continue,
        };
        let id = non_empty_text(child).or_else(|| child_text(child, "id"));
        if let Some(id) = id
            && !list.contains(&id)
        {
            list.push(id);
        }
    }
}

/// Folds a participant's second association element into its first while both
/// are in force, so one participant has one send/recv set.
fn add_stream_assoc(m: &mut RecordingMetadata, assoc: ParticipantStreamAssoc) {
    let existing = m
        .participant_stream_assocs
        .iter_mut()
        .find(|a| a.participant_id == assoc.participant_id && a.is_active() && assoc.is_active());
    match existing {
        Some(a) => {
            for s in assoc.send {
                if !a.send.contains(&s) {
                    a.send.push(s);
                }
            }
            for s in assoc.recv {
                if !a.recv.contains(&s) {
                    a.recv.push(s);
                }
            }
            if a.associate_time.is_none() {
                a.associate_time = assoc.associate_time;
            }
        }
        None => m.participant_stream_assocs.push(assoc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_rfc_document() {
        let m = parse_metadata(
            br#"<recording xmlns="urn:ietf:params:xml:ns:recording:1"><datamode>partial</datamode></recording>"#,
        )
        .unwrap();
        assert_eq!(m.data_mode, DataMode::Partial);
        assert_eq!(m.dialect, Dialect::Rfc7865);
        assert_eq!(m.namespace.as_deref(), Some("urn:ietf:params:xml:ns:recording:1"));
    }

    #[test]
    fn missing_datamode_means_complete() {
        let m = parse_metadata(b"<recording/>").unwrap();
        assert_eq!(m.data_mode, DataMode::Complete);
    }

    #[test]
    fn unknown_datamode_is_refused() {
        let err = parse_metadata(b"<recording><dataMode>sometimes</dataMode></recording>").unwrap_err();
        assert_eq!(err, MetadataError::InvalidDataMode("sometimes".into()));
        assert!(err.to_string().contains("sometimes"));
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        assert!(parse_metadata("\u{feff}<recording/>".as_bytes()).is_ok());
    }

    #[test]
    fn limits_are_enforced() {
        let limits = ParseLimits { max_bytes: 10, ..ParseLimits::default() };
        assert_eq!(
            parse_metadata_with(b"<recording></recording>", &limits),
            Err(MetadataError::TooLarge { size: 23, limit: 10 })
        );
        let limits = ParseLimits { max_nodes: 3, ..ParseLimits::default() };
        assert_eq!(
            parse_metadata_with(b"<recording><a/><b/><c/><d/></recording>", &limits),
            Err(MetadataError::TooManyNodes { limit: 3 })
        );
        let limits = ParseLimits { max_depth: 2, ..ParseLimits::default() };
        assert_eq!(
            parse_metadata_with(b"<recording><a><b/></a></recording>", &limits),
            Err(MetadataError::TooDeep { limit: 2 })
        );
    }

    #[test]
    fn empty_body_is_named() {
        assert_eq!(parse_metadata(b" \r\n"), Err(MetadataError::Empty));
    }

    #[test]
    fn second_assoc_of_a_participant_is_folded() {
        let m = parse_metadata(
            br#"<recording>
              <participantstreamassoc participant_id="p"><send>a</send></participantstreamassoc>
              <participantstreamassoc participant_id="p"><send>b</send><recv>a</recv></participantstreamassoc>
            </recording>"#,
        )
        .unwrap();
        assert_eq!(m.participant_stream_assocs.len(), 1);
        assert_eq!(m.participant_stream_assocs[0].send, ["a", "b"]);
        assert_eq!(m.participant_stream_assocs[0].recv, ["a"]);
    }
}
