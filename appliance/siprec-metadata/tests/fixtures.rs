//! One test per real-world metadata shape: what is parsed, which m-line is
//! whose, and who the parties are.

mod common;

use callguard_siprec_metadata::{
    CallDirection, DataMode, Dialect, DirectionHint, DirectionSource, LegMap, LegMapInput, LegRole, MediaDirection,
    PartySource, PartyVerdict, RecordingMetadata, SdpOrder, SdpStream, SrcVendor, StreamBasis, map_legs,
    parse_metadata,
};
use common::{fixture, is_subscriber, sdp};

fn load(name: &str) -> RecordingMetadata {
    parse_metadata(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn map(meta: &RecordingMetadata, streams: &[SdpStream]) -> LegMap {
    map_legs(&LegMapInput { streams, metadata: Some(meta), ..LegMapInput::default() }, is_subscriber)
}

fn roles(map: &LegMap) -> Vec<LegRole> {
    map.streams.iter().map(|s| s.role).collect()
}

fn sender_aor(map: &LegMap, i: usize) -> Option<&str> {
    map.streams[i].sender.as_ref()?.aor.as_deref()
}

fn subscriber_aor(map: &LegMap) -> Option<&str> {
    map.parties.subscriber.as_ref()?.aor.as_deref()
}

fn caller_aor(map: &LegMap) -> Option<&str> {
    map.parties.caller.as_ref()?.aor.as_deref()
}

#[test]
fn rfc7865_complete_is_read_in_full() {
    let m = load("rfc7865_complete.xml");
    assert_eq!(m.data_mode, DataMode::Complete);
    assert_eq!(m.dialect, Dialect::Rfc7865);
    assert_eq!(m.namespace.as_deref(), Some("urn:ietf:params:xml:ns:recording:1"));
    assert_eq!(m.groups.len(), 1);
    assert_eq!(m.sessions[0].group_ref.as_deref(), Some(m.groups[0].id.as_str()));
    assert_eq!(m.sessions[0].sip_session_ids.len(), 1);
    assert_eq!(m.sessions[0].start_time.as_deref(), Some("2024-03-05T09:14:02.120Z"));
    assert_eq!(m.participants.len(), 2);
    let bob = &m.participants[1];
    assert_eq!(bob.name_ids.len(), 2);
    assert_eq!(bob.name_ids[0].lang.as_deref(), Some("en"));
    assert_eq!(bob.aors(), ["sip:+15551230001@ims.example.net", "tel:+15551230001"]);
    assert_eq!(m.streams.len(), 2);
    assert_eq!(m.session_recording_assocs.len(), 1);
    assert_eq!(m.participant_session_assocs.len(), 2);
    assert_eq!(m.participant_stream_assocs.len(), 2);
    assert!(m.original_call.is_empty());
    assert!(m.direction_hints.is_empty());
    assert!(m.dangling_references().is_empty());
}

#[test]
fn rfc7865_complete_labels_1_2() {
    let m = load("rfc7865_complete.xml");
    let map = map(&m, &sdp(&[Some("1"), Some("2")]));
    assert_eq!(roles(&map), [LegRole::Caller, LegRole::Subscriber]);
    assert!(map.streams.iter().all(|s| s.basis == StreamBasis::LabelAssociation));
    let alice = map.streams[0].sender.as_ref().unwrap();
    assert_eq!(alice.participant_id.as_deref(), Some("UGFydGljaXBhbnQtQWxpY2U="));
    assert_eq!(alice.aor.as_deref(), Some("sip:+15550001111@carrier.example.com"));
    assert_eq!(alice.name.as_deref(), Some("Alice Example"));
    assert_eq!(map.parties.verdict, PartyVerdict::Decided);
    assert_eq!(subscriber_aor(&map), Some("sip:+15551230001@ims.example.net"));
    assert_eq!(caller_aor(&map), Some("sip:+15550001111@carrier.example.com"));
    assert_eq!(map.parties.source, PartySource::Metadata);
    assert_eq!(map.parties.direction, None);
    assert!(!map.is_inferred());
}

#[test]
fn roles_follow_labels_not_m_line_order() {
    let m = load("rfc7865_complete.xml");
    let map = map(&m, &sdp(&[Some("2"), Some("1")]));
    assert_eq!(roles(&map), [LegRole::Subscriber, LegRole::Caller]);
    assert_eq!(map.stream_with_role(LegRole::Caller).map(|s| s.index), Some(1));
}

#[test]
fn original_from_sets_the_direction() {
    let m = load("rfc7865_complete.xml");
    let streams = sdp(&[Some("1"), Some("2")]);
    let map = map_legs(
        &LegMapInput {
            streams: &streams,
            metadata: Some(&m),
            invite_from: Some("<sip:+15550001111@carrier.example.com>;tag=1"),
            invite_to: Some("<sip:+15551230001@ims.example.net>"),
            ..LegMapInput::default()
        },
        is_subscriber,
    );
    assert_eq!(map.parties.direction, Some(CallDirection::Incoming));
    assert_eq!(map.parties.direction_source, Some(DirectionSource::FromHeader));
    assert_eq!(map.parties.source, PartySource::Metadata);
}

#[test]
fn ribbon_tns_prefix_and_call_data() {
    let m = load("ribbon_tns_calldata.xml");
    assert_eq!(m.dialect, Dialect::Rfc7865);
    assert_eq!(m.namespace.as_deref(), Some("urn:ietf:params:xml:ns:recording"));
    let names: Vec<&str> = m.original_call.pairs().map(|(n, _)| n).collect();
    assert_eq!(names, ["From", "To", "Call-ID", "P-Asserted-Identity", "Diversion", "History-Info", "Identity"]);
    assert_eq!(m.original_call.from(), Some("\"Unknown Caller\" <sip:+15550004444@198.51.100.20>;tag=8a7b6c5d"));
    assert_eq!(m.original_call.verstat(), Some("TN-Validation-Failed"));
    assert_eq!(m.original_call.first("call-id"), Some("5f0c2d1e-77aa-11ee-9c0d-0242ac120002"));
    assert!(m.vendor_fields.iter().any(|f| f.name == "gcid" && f.value == "318845227"));
    assert_eq!(m.participants[1].display_name(), None);
}

#[test]
fn ribbon_originator_sends_label_2() {
    let m = load("ribbon_tns_calldata.xml");
    let map = map(&m, &sdp(&[Some("1"), Some("2")]));
    assert_eq!(roles(&map), [LegRole::Subscriber, LegRole::Caller]);
    assert_eq!(sender_aor(&map, 1), Some("sip:+15550004444@198.51.100.20"));
    assert_eq!(subscriber_aor(&map), Some("sip:+15551230003@203.0.113.5"));
    assert_eq!(map.parties.direction, Some(CallDirection::Incoming));
    assert_eq!(map.parties.direction_source, Some(DirectionSource::FromHeader));
    assert!(!map.is_inferred());
}

#[test]
fn oracle_pre_rfc_with_apkt_extensions() {
    let m = load("oracle_prerfc_apkt.xml");
    assert_eq!(m.dialect, Dialect::PreRfcDraft);
    assert_eq!(m.participant_session_assocs.len(), 2);
    assert_eq!(m.participant_stream_assocs.len(), 2);
    let caller_id = "QWNtZS1wYXJ0LWNhbGxlcg==";
    assert_eq!(
        m.direction_hints,
        [
            DirectionHint::ParticipantIsCaller { participant_id: caller_id.into() },
            DirectionHint::ParticipantIsCallee { participant_id: "QWNtZS1wYXJ0LWNhbGxlZQ==".into() },
        ]
    );
    let pai: Vec<&str> = m.original_call.values("P-Asserted-Identity").collect();
    assert_eq!(pai.len(), 2);
    assert_eq!(pai[1], "<tel:+15550002222>");
    assert!(m.original_call.entries.iter().all(|h| h.participant_id.as_deref() == Some(caller_id)));
    assert_eq!(m.original_call.verstat(), Some("TN-Validation-Passed"));
    assert_eq!(m.original_call.values("Diversion").count(), 1);
    let field = |name: &str| {
        m.vendor_fields.iter().find(|f| f.name == name).map(|f| (f.value.as_str(), f.participant_id.as_deref()))
    };
    assert_eq!(field("ucid"), Some(("00FA080012AB34CD56EF01;encoding=hex", None)));
    assert_eq!(field("callerOrig"), Some(("true", None)));
    assert_eq!(field("in-realm"), Some(("peering-carrier", Some(caller_id))));
    assert_eq!(field("request-uri"), Some(("sip:+15551230002@10.20.30.40:5060", Some(caller_id))));
}

#[test]
fn oracle_labels_16777227() {
    let m = load("oracle_prerfc_apkt.xml");
    let map = map(&m, &sdp(&[Some("16777227"), Some("16777228")]));
    assert_eq!(roles(&map), [LegRole::Caller, LegRole::Subscriber]);
    assert_eq!(subscriber_aor(&map), Some("sip:+15551230002@ims.example.net"));
    assert_eq!(caller_aor(&map), Some("sip:+15550002222@peer.carrier.example"));
    assert_eq!(map.parties.direction, Some(CallDirection::Incoming));
    assert_eq!(map.parties.direction_source, Some(DirectionSource::CallerHint));
}

#[test]
fn acme_2011_participant_aor_single_sided_stream() {
    let m = load("acme_2011_direct_aor.xml");
    assert_eq!(m.dialect, Dialect::PreRfcDraft);
    assert_eq!(m.participants[1].display_name(), Some("subscriber"));
    let map = map(&m, &sdp(&[Some("1")]));
    assert_eq!(roles(&map), [LegRole::Caller]);
    assert_eq!(map.streams[0].basis, StreamBasis::LabelAssociation);
    assert_eq!(subscriber_aor(&map), Some("sip:+15551230005@192.0.2.60"));
    assert_eq!(caller_aor(&map), Some("sip:+15550005555@192.0.2.40"));
}

#[test]
fn broadworks_recording_metadata_single_mixed_stream() {
    let m = load("broadworks_recording_metadata.xml");
    assert_eq!(m.dialect, Dialect::SiprecContainer);
    assert_eq!(m.namespace.as_deref(), Some("urn:ietf:params:xml:ns:siprec"));
    assert_eq!(m.sessions[0].group_ref.as_deref(), Some(m.groups[0].id.as_str()));
    assert_eq!(m.participant_stream_assocs.iter().map(|a| a.send.len()).sum::<usize>(), 2);
    assert!(m.direction_hints.contains(&DirectionHint::RecordedParty("2025550143@voip.example.net".into())));
    assert!(m.direction_hints.contains(&DirectionHint::Direction(CallDirection::Incoming)));
    assert!(m.vendor_fields.iter().any(|f| f.name == "extTrackingID" && f.value == "4411772:1"));
    // The SDP label need not even match: one m-line is the mixed call.
    for label in ["1", "5"] {
        let map = map(&m, &sdp(&[Some(label)]));
        assert_eq!(roles(&map), [LegRole::Mixed]);
        assert_eq!(map.streams[0].sender, None);
        assert_eq!(subscriber_aor(&map), Some("sip:2025550143"));
        assert_eq!(caller_aor(&map), Some("sip:+15550006666@carrier.example.com"));
        assert_eq!(map.parties.direction, Some(CallDirection::Incoming));
    }
}

#[test]
fn vendor_noise_is_ignored_labels_0_1() {
    let m = load("vendor_noise_labels_0_1.xml");
    assert_eq!(m.participants.len(), 2);
    assert_eq!(m.streams.len(), 2);
    assert_eq!(m.sessions[0].sip_session_ids.len(), 2);
    assert_eq!(m.participants[0].name_ids[0].lang.as_deref(), Some("fr"));
    assert!(m.original_call.is_empty());
    let names: Vec<&str> = m.vendor_fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["AvayaUCID", "GenesysUUID"]);
    let map = map(&m, &sdp(&[Some("0"), Some("1")]));
    assert_eq!(roles(&map), [LegRole::Caller, LegRole::Subscriber]);
    assert_eq!(sender_aor(&map, 0), Some("sip:+15550008888@carrier.example.com"));
    assert_eq!(map.streams[0].sender.as_ref().unwrap().name.as_deref(), Some("Appelant Inconnu"));
}

#[test]
fn avaya_labels_10_20_subscriber_first() {
    let m = load("avaya_labels_10_20.xml");
    assert_eq!(m.dialect, Dialect::Rfc7865);
    let map = map(&m, &sdp(&[Some("10"), Some("20")]));
    assert_eq!(roles(&map), [LegRole::Subscriber, LegRole::Caller]);
    assert_eq!(subscriber_aor(&map), Some("sip:+15551230006@sbce.example.net"));
    assert_eq!(caller_aor(&map), Some("sip:+15550009999@peer.example.org"));
    assert_eq!(map.parties.direction, None);
}

#[test]
fn labels_a_leg_b_leg_case_insensitive() {
    let m = load("labels_a_leg_b_leg.xml");
    for labels in [[Some("a_leg"), Some("b_leg")], [Some("A_LEG"), Some("B_Leg")]] {
        let map = map(&m, &sdp(&labels));
        assert_eq!(roles(&map), [LegRole::Caller, LegRole::Subscriber]);
        assert_eq!(subscriber_aor(&map), Some("sip:+15551230007@pbx.example.net"));
        assert_eq!(map.parties.subscriber.as_ref().unwrap().name.as_deref(), Some("Main Line 7"));
    }
}

#[test]
fn labels_missing_fall_back_to_metadata_stream_order() {
    let m = load("labels_missing.xml");
    let map = map(&m, &sdp(&[None, None]));
    assert_eq!(roles(&map), [LegRole::Subscriber, LegRole::Caller]);
    assert!(map.streams.iter().all(|s| s.basis == StreamBasis::StreamOrderAssociation));
    assert!(map.is_inferred());
}

#[test]
fn labels_unknown_to_metadata_fall_back_to_stream_order() {
    let m = load("rfc7865_complete.xml");
    let map = map(&m, &sdp(&[Some("7"), Some("8")]));
    assert_eq!(roles(&map), [LegRole::Caller, LegRole::Subscriber]);
    assert_eq!(map.streams[0].basis, StreamBasis::StreamOrderAssociation);
}

#[test]
fn no_associations_pair_participants_with_streams_in_order() {
    let m = load("no_associations.xml");
    let map = map(&m, &sdp(&[Some("1"), Some("2")]));
    assert_eq!(roles(&map), [LegRole::Caller, LegRole::Subscriber]);
    assert!(map.streams.iter().all(|s| s.basis == StreamBasis::ParticipantOrder));
    assert_eq!(subscriber_aor(&map), Some("sip:+15551230001@hosted.example.io"));
    assert!(map.is_inferred());
}

#[test]
fn single_stream_sent_and_received_by_one_participant_is_mixed() {
    let m = load("single_stream_role.xml");
    assert!(
        m.direction_hints.contains(&DirectionHint::ParticipantIsCaller { participant_id: "c2luZ2xlLXBhcnQ=".into() })
    );
    let map = map(&m, &sdp(&[Some("1")]));
    assert_eq!(roles(&map), [LegRole::Mixed]);
    assert_eq!(map.parties.verdict, PartyVerdict::Decided);
    assert_eq!(subscriber_aor(&map), Some("sip:4058327108@192.0.2.136"));
    assert_eq!(map.parties.caller, None);
    assert_eq!(map.parties.direction, Some(CallDirection::Outgoing));

    let streams = sdp(&[Some("1")]);
    let with_to = map_legs(
        &LegMapInput {
            streams: &streams,
            metadata: Some(&m),
            invite_to: Some("<sip:911@psap.example.org>"),
            ..LegMapInput::default()
        },
        is_subscriber,
    );
    assert_eq!(caller_aor(&with_to), Some("sip:911@psap.example.org"));
    assert_eq!(with_to.parties.source, PartySource::InviteHeaders);
}

#[test]
fn dangling_ids_are_listed_and_mapping_copes() {
    let m = load("dangling_ids.xml");
    let mut dangling: Vec<(&str, String)> = m.dangling_references().into_iter().map(|d| (d.referrer, d.id)).collect();
    dangling.sort();
    let expect = [
        ("participantsessionassoc/participant_id", "no-such-participant"),
        ("participantstreamassoc/participant_id", "no-such-participant"),
        ("participantstreamassoc/recv", "no-such-stream"),
        ("session/group-ref", "no-such-group"),
        ("stream/session_id", "no-such-session"),
    ];
    assert_eq!(dangling.len(), expect.len());
    for ((r, i), (er, ei)) in dangling.iter().zip(expect) {
        assert_eq!((*r, i.as_str()), (er, ei));
    }
    let map = map(&m, &sdp(&[Some("1"), Some("2")]));
    assert_eq!(roles(&map), [LegRole::Caller, LegRole::Subscriber]);
    assert_eq!(map.streams[0].basis, StreamBasis::Complement);
    assert_eq!(sender_aor(&map, 0), Some("sip:+15550001515@carrier.example.com"));
}

#[test]
fn three_streams_caller_callee_and_mixed() {
    let xml = br#"<recording xmlns="urn:ietf:params:xml:ns:recording:1">
      <participant participant_id="a"><nameID aor="sip:+15550001616@carrier.example.com"/></participant>
      <participant participant_id="b"><nameID aor="sip:+15551230001@ims.example.net"/></participant>
      <stream stream_id="sa"><label>caller-stream</label></stream>
      <stream stream_id="sb"><label>callee-stream</label></stream>
      <stream stream_id="sm"><label>mixed-stream</label></stream>
      <participantstreamassoc participant_id="a"><send>sa</send><send>sm</send></participantstreamassoc>
      <participantstreamassoc participant_id="b"><send>sb</send><send>sm</send></participantstreamassoc>
    </recording>"#;
    let m = parse_metadata(xml).unwrap();
    let map = map(&m, &sdp(&[Some("caller-stream"), Some("callee-stream"), Some("mixed-stream")]));
    assert_eq!(roles(&map), [LegRole::Caller, LegRole::Subscriber, LegRole::Mixed]);
}

#[test]
fn neither_or_both_protected_is_said_not_guessed() {
    let m = load("rfc7865_complete.xml");
    let streams = sdp(&[Some("1"), Some("2")]);
    let input = LegMapInput { streams: &streams, metadata: Some(&m), ..LegMapInput::default() };
    let none = map_legs(&input, |_| false);
    assert_eq!(none.parties.verdict, PartyVerdict::NoProtectedParty);
    assert_eq!(roles(&none), [LegRole::Unknown, LegRole::Unknown]);
    assert!(none.parties.subscriber.is_none() && none.parties.caller.is_none());
    // The senders are still reported for the log.
    assert_eq!(sender_aor(&none, 0), Some("sip:+15550001111@carrier.example.com"));
    let both = map_legs(&input, |_| true);
    assert_eq!(both.parties.verdict, PartyVerdict::SeveralProtected);
    assert_eq!(roles(&both), [LegRole::Unknown, LegRole::Unknown]);
}

#[test]
fn metadata_arriving_later_replaces_the_sdp_order_guess() {
    // Cisco network-based recording or a late metadata: first the INVITE
    // alone, then the metadata in a re-INVITE.
    let streams = [
        SdpStream::new(0, Some("1"), MediaDirection::SendOnly),
        SdpStream::new(1, Some("2"), MediaDirection::SendOnly),
    ];
    let m = load("ribbon_tns_calldata.xml");
    let mut input = LegMapInput {
        streams: &streams,
        invite_from: Some("<sip:+15550004444@198.51.100.20>;tag=x"),
        invite_to: Some("<sip:+15551230003@203.0.113.5>"),
        sdp_order: SdpOrder::OriginatorFirst,
        ..LegMapInput::default()
    };
    let early = map_legs(&input, is_subscriber);
    assert_eq!(roles(&early), [LegRole::Caller, LegRole::Subscriber]);
    assert!(early.streams.iter().all(|s| s.basis == StreamBasis::SdpOrder));
    assert!(early.is_inferred());
    input.metadata = Some(&m);
    let late = map_legs(&input, is_subscriber);
    assert_eq!(roles(&late), [LegRole::Subscriber, LegRole::Caller]);
    assert!(!late.is_inferred());
}

#[test]
fn labels_missing_and_streams_unpaired_fall_back_to_sdp_order() {
    let xml = br#"<recording xmlns="urn:ietf:params:xml:ns:recording:1">
      <participant participant_id="a"><nameID aor="sip:+15550001717@carrier.example.com"/></participant>
      <participant participant_id="b"><nameID aor="sip:+15551230002@ims.example.net"/></participant>
      <stream stream_id="only-one"/>
    </recording>"#;
    let m = parse_metadata(xml).unwrap();
    let streams = sdp(&[None, None]);
    let map = map_legs(
        &LegMapInput {
            streams: &streams,
            metadata: Some(&m),
            invite_from: Some("sip:+15550001717@carrier.example.com"),
            ..LegMapInput::default()
        },
        is_subscriber,
    );
    assert_eq!(roles(&map), [LegRole::Caller, LegRole::Subscriber]);
    assert!(map.streams.iter().all(|s| s.basis == StreamBasis::SdpOrder));
    assert_eq!(map.parties.source, PartySource::Metadata);
    assert!(map.is_inferred());
}

#[test]
fn no_metadata_single_mixed_m_line_metaswitch_style() {
    let streams = sdp(&[Some("1")]);
    let map = map_legs(
        &LegMapInput {
            streams: &streams,
            invite_from: Some("\"Remote\" <sip:+15550001818@carrier.example.com>;tag=z"),
            invite_to: Some("<sip:+15551230004@ims.example.net>"),
            sdp_order: SrcVendor::Metaswitch.sdp_order(),
            ..LegMapInput::default()
        },
        is_subscriber,
    );
    assert_eq!(roles(&map), [LegRole::Mixed]);
    assert_eq!(map.parties.verdict, PartyVerdict::Decided);
    assert_eq!(subscriber_aor(&map), Some("sip:+15551230004@ims.example.net"));
    assert_eq!(caller_aor(&map), Some("sip:+15550001818@carrier.example.com"));
    assert_eq!(map.parties.source, PartySource::InviteHeaders);
    assert_eq!(map.parties.direction, Some(CallDirection::Incoming));
    assert!(map.is_inferred());
}

#[test]
fn no_metadata_vendor_order_conventions() {
    let streams = sdp(&[Some("1"), Some("2")]);
    let run = |vendor: SrcVendor| {
        roles(&map_legs(
            &LegMapInput {
                streams: &streams,
                invite_from: Some("<sip:+15550001919@carrier.example.com>"),
                invite_to: Some("<sip:+15551230001@ims.example.net>"),
                sdp_order: vendor.sdp_order(),
                ..LegMapInput::default()
            },
            is_subscriber,
        ))
    };
    for vendor in [SrcVendor::CiscoCube, SrcVendor::OracleAcme, SrcVendor::AudioCodes] {
        assert_eq!(run(vendor), [LegRole::Caller, LegRole::Subscriber]);
    }
    assert_eq!(run(SrcVendor::RibbonSonus), [LegRole::Subscriber, LegRole::Caller]);
}
