//! Metadata updates from re-INVITE/UPDATE folded into the known state, and
//! what leg mapping makes of the result.

mod common;

use callguard_siprec_metadata::{
    DataMode, LegMapInput, LegRole, PartyVerdict, RecordingMetadata, map_legs, parse_metadata,
};
use common::{fixture, is_subscriber, sdp};

fn load(name: &str) -> RecordingMetadata {
    parse_metadata(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn roles_and_senders(m: &RecordingMetadata) -> Vec<(LegRole, Option<String>)> {
    let streams = sdp(&[Some("1"), Some("2")]);
    map_legs(&LegMapInput { streams: &streams, metadata: Some(m), ..LegMapInput::default() }, is_subscriber)
        .streams
        .into_iter()
        .map(|s| (s.role, s.sender.and_then(|p| p.aor)))
        .collect()
}

#[test]
fn transfer_update_moves_the_caller_leg_to_the_new_participant() {
    let mut m = load("rfc7865_complete.xml");
    let update = load("partial_update_transfer.xml");
    assert_eq!(update.data_mode, DataMode::Partial);
    m.apply_update(update);
    assert_eq!(m.data_mode, DataMode::Complete);
    assert_eq!(m.participants.len(), 3);
    assert!(!m.is_participant_active("UGFydGljaXBhbnQtQWxpY2U="));
    assert_eq!(m.active_participants().count(), 2);
    assert!(m.dangling_references().is_empty());
    assert_eq!(
        roles_and_senders(&m),
        [
            (LegRole::Caller, Some("sip:+15550003333@carrier.example.com".into())),
            (LegRole::Subscriber, Some("sip:+15551230001@ims.example.net".into())),
        ]
    );
    let streams = sdp(&[Some("1"), Some("2")]);
    let map = map_legs(&LegMapInput { streams: &streams, metadata: Some(&m), ..LegMapInput::default() }, is_subscriber);
    assert_eq!(map.parties.verdict, PartyVerdict::Decided);
    assert_eq!(map.parties.caller.and_then(|p| p.name).as_deref(), Some("Carol Transfer-Target"));
}

#[test]
fn stop_update_closes_the_session_and_keeps_the_legs() {
    let mut m = load("rfc7865_complete.xml");
    let before = roles_and_senders(&m);
    m.apply_update(load("partial_update_stop.xml"));
    assert_eq!(m.sessions[0].stop_time.as_deref(), Some("2024-03-05T09:20:11.500Z"));
    assert_eq!(m.sessions[0].start_time.as_deref(), Some("2024-03-05T09:14:02.120Z"));
    assert_eq!(m.sessions.len(), 1);
    assert_eq!(m.session_recording_assocs[0].disassociate_time.as_deref(), Some("2024-03-05T09:20:11Z"));
    assert_eq!(roles_and_senders(&m), before);
}

#[test]
fn complete_update_replaces_the_snapshot() {
    let mut m = load("rfc7865_complete.xml");
    m.apply_update(load("partial_update_transfer.xml"));
    m.apply_update(load("labels_a_leg_b_leg.xml"));
    assert_eq!(m, load("labels_a_leg_b_leg.xml"));
}

#[test]
fn caller_id_update_replaces_the_name_and_copied_headers() {
    let mut m = load("ribbon_tns_calldata.xml");
    let update = parse_metadata(
        br#"<tns:recording xmlns:tns='urn:ietf:params:xml:ns:recording'>
          <tns:datamode>partial</tns:datamode>
          <tns:group group_id="Q0dHUk9VUC0yMDI0LTAz">
            <callData xmlns='urn:ietf:params:xml:ns:callData'>
              <fromhdr>"Bank Security" &lt;sip:+15550004444@198.51.100.20&gt;;tag=8a7b6c5d</fromhdr>
              <P-Asserted-Identity>&lt;sip:+15550004444;verstat=No-TN-Validation@198.51.100.20&gt;</P-Asserted-Identity>
            </callData>
          </tns:group>
          <tns:participant participant_id="UEFSVC1GUk9NLTQ0NDQ=">
            <tns:nameID aor="+15550004444@198.51.100.20"><tns:name>Bank Security</tns:name></tns:nameID>
          </tns:participant>
        </tns:recording>"#,
    )
    .unwrap();
    m.apply_update(update);
    assert_eq!(m.participants.len(), 2);
    assert_eq!(m.participants[0].display_name(), Some("Bank Security"));
    assert_eq!(m.original_call.values("From").count(), 1);
    assert!(m.original_call.from().unwrap().starts_with("\"Bank Security\""));
    assert_eq!(m.original_call.verstat(), Some("No-TN-Validation"));
    assert_eq!(m.original_call.values("Diversion").count(), 1);
    assert_eq!(m.original_call.to(), Some("<sip:+15551230003@203.0.113.5>;tag=gK0e1f2a3b"));
    assert_eq!(
        roles_and_senders(&m).into_iter().map(|(r, _)| r).collect::<Vec<_>>(),
        [LegRole::Subscriber, LegRole::Caller]
    );
}

#[test]
fn pre_rfc_partial_update_adds_a_stream_for_a_new_participant() {
    let mut m = load("oracle_prerfc_apkt.xml");
    let update = parse_metadata(
        br#"<recording xmlns='urn:ietf:params:xml:ns:recording'>
          <datamode>partial</datamode>
          <participant id="QWNtZS1wYXJ0LWNhbGxlcg==" session="Zm9vYmFyLXNlc3Npb24tQWNtZQ==">
            <disassociate-time>2024-03-07T08:31:00</disassociate-time>
          </participant>
          <participant id="QWNtZS1wYXJ0LW5ldw==" session="Zm9vYmFyLXNlc3Npb24tQWNtZQ==">
            <nameID aor="sip:+15550006060@peer.carrier.example"/>
            <send>QWNtZS1zdHJlYW0tY2FsbGVy</send>
          </participant>
        </recording>"#,
    )
    .unwrap();
    m.apply_update(update);
    assert_eq!(m.participants.len(), 3);
    assert_eq!(m.active_participants().count(), 2);
    let streams = sdp(&[Some("16777227"), Some("16777228")]);
    let map = map_legs(&LegMapInput { streams: &streams, metadata: Some(&m), ..LegMapInput::default() }, is_subscriber);
    assert_eq!(map.streams[0].role, LegRole::Caller);
    assert_eq!(
        map.streams[0].sender.as_ref().and_then(|p| p.aor.as_deref()),
        Some("sip:+15550006060@peer.carrier.example")
    );
    assert_eq!(map.streams[1].role, LegRole::Subscriber);
}
