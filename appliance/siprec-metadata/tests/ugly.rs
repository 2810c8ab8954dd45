//! Hostile and broken input: nothing may panic, every refusal names its defect.

mod common;

use callguard_siprec_metadata::{
    LegMapInput, MediaDirection, MetadataError, ParseLimits, SdpStream, map_legs, parse_metadata, parse_metadata_with,
};
use common::{fixture, is_subscriber, sdp};

const WELL_FORMED: [&str; 14] = [
    "rfc7865_complete.xml",
    "partial_update_transfer.xml",
    "partial_update_stop.xml",
    "ribbon_tns_calldata.xml",
    "oracle_prerfc_apkt.xml",
    "acme_2011_direct_aor.xml",
    "broadworks_recording_metadata.xml",
    "vendor_noise_labels_0_1.xml",
    "avaya_labels_10_20.xml",
    "labels_a_leg_b_leg.xml",
    "labels_missing.xml",
    "no_associations.xml",
    "single_stream_role.xml",
    "dangling_ids.xml",
];

/// Parses, and when that succeeds maps legs and merges, as the SIP layer would.
fn exercise(bytes: &[u8]) -> Result<(), MetadataError> {
    let m = parse_metadata(bytes)?;
    let streams = [
        SdpStream::new(0, Some("1"), MediaDirection::SendOnly),
        SdpStream::new(1, None, MediaDirection::SendOnly),
        SdpStream::new(2, Some("2"), MediaDirection::RecvOnly),
    ];
    let map = map_legs(
        &LegMapInput {
            streams: &streams,
            metadata: Some(&m),
            invite_from: Some("<sip:+15550000000@x>"),
            ..LegMapInput::default()
        },
        is_subscriber,
    );
    assert_eq!(map.streams.len(), streams.len());
    let mut merged = m.clone();
    merged.apply_update(m);
    let _ = merged.dangling_references();
    Ok(())
}

#[test]
fn every_fixture_parses_whole() {
    for name in WELL_FORMED {
        exercise(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn truncation_at_every_byte_never_panics() {
    for name in WELL_FORMED {
        let bytes = fixture(name);
        let mut refused = 0;
        for end in 0..bytes.len() {
            if exercise(&bytes[..end]).is_err() {
                refused += 1;
            }
        }
        // Cutting a document short almost always breaks it; the few
        // exceptions are cuts in trailing whitespace.
        assert!(refused + 4 >= bytes.len(), "{name}: {refused}/{}", bytes.len());
    }
}

#[test]
fn byte_mutations_never_panic() {
    let bytes = fixture("ribbon_tns_calldata.xml");
    for i in 0..bytes.len() {
        for b in [b'<', b'>', b'&', b'"', b'/', b':', 0, 0xff] {
            let mut mutated = bytes.clone();
            mutated[i] = b;
            let _ = exercise(&mutated);
        }
    }
}

#[test]
fn truncated_xml_is_reported_as_malformed_with_a_position() {
    let bytes = fixture("rfc7865_complete.xml");
    let err = parse_metadata(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(err, MetadataError::Malformed { line, .. } if line > 1), "{err:?}");
    assert!(err.to_string().starts_with("malformed recording metadata XML at line"));
}

#[test]
fn billion_laughs_is_refused_before_expansion() {
    let err = parse_metadata(&fixture("dtd_billion_laughs.xml")).unwrap_err();
    assert_eq!(err, MetadataError::DtdForbidden);
    assert!(err.to_string().contains("DOCTYPE"));
}

#[test]
fn external_entity_dtd_is_refused() {
    assert_eq!(parse_metadata(&fixture("dtd_external_entity.xml")), Err(MetadataError::DtdForbidden));
    assert_eq!(parse_metadata(b"<!DOCTYPE recording><recording/>"), Err(MetadataError::DtdForbidden));
    assert_eq!(parse_metadata(b"<recording><!ENTITY x 'y'></recording>"), Err(MetadataError::DtdForbidden));
}

#[test]
fn undeclared_entity_is_malformed() {
    let err = parse_metadata(&fixture("undeclared_entity.xml")).unwrap_err();
    match err {
        MetadataError::Malformed { reason, .. } => assert!(reason.contains("mode"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn deep_nesting_is_refused_without_exhausting_the_stack() {
    let depth = 100_000;
    let mut xml = String::from("<recording>");
    xml.push_str(&"<a>".repeat(depth));
    xml.push_str(&"</a>".repeat(depth));
    xml.push_str("</recording>");
    let limits = ParseLimits { max_bytes: xml.len(), max_nodes: u32::MAX, ..ParseLimits::default() };
    assert_eq!(parse_metadata_with(xml.as_bytes(), &limits), Err(MetadataError::TooDeep { limit: 32 }));
    // With the default limits the same document is already too large.
    assert!(matches!(parse_metadata(xml.as_bytes()), Err(MetadataError::TooLarge { .. })));
}

#[test]
fn moderate_nesting_in_an_extension_is_accepted() {
    let mut xml = String::from("<recording><extensiondata>");
    xml.push_str(&"<x>".repeat(25));
    xml.push_str(&"</x>".repeat(25));
    xml.push_str("</extensiondata></recording>");
    assert!(parse_metadata(xml.as_bytes()).is_ok());
}

#[test]
fn node_flood_is_refused() {
    let xml = format!("<recording>{}</recording>", "<x/>".repeat(30_000));
    assert_eq!(parse_metadata(xml.as_bytes()), Err(MetadataError::TooManyNodes { limit: 20_000 }));
}

#[test]
fn non_utf8_is_refused_with_the_offset() {
    let bytes = fixture("latin1.xml");
    let err = parse_metadata(&bytes).unwrap_err();
    let first_bad = bytes.iter().position(|&b| b >= 0x80).unwrap();
    assert_eq!(err, MetadataError::NotUtf8 { valid_up_to: first_bad });
    assert!(err.to_string().contains("not valid UTF-8"));
    let utf16: Vec<u8> =
        [0xff, 0xfe].into_iter().chain("<recording/>".encode_utf16().flat_map(u16::to_le_bytes)).collect();
    assert!(matches!(parse_metadata(&utf16), Err(MetadataError::NotUtf8 { valid_up_to: 0 })));
}

#[test]
fn other_xml_documents_are_not_metadata() {
    assert_eq!(
        parse_metadata(&fixture("not_metadata.xml")),
        Err(MetadataError::NotRecordingMetadata { root: "conference-info".into() })
    );
}

#[test]
fn garbage_empty_and_oversized_bodies() {
    assert_eq!(parse_metadata(b""), Err(MetadataError::Empty));
    assert!(matches!(parse_metadata(b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n"), Err(MetadataError::Malformed { .. })));
    assert!(matches!(parse_metadata(b"<recording><participant></recording>"), Err(MetadataError::Malformed { .. })));
    assert!(matches!(parse_metadata(b"<apkt:recording/>"), Err(MetadataError::Malformed { .. })));
    let big = vec![b' '; 300 * 1024];
    assert_eq!(parse_metadata(&big), Err(MetadataError::TooLarge { size: 300 * 1024, limit: 256 * 1024 }));
}

#[test]
fn ids_referencing_nothing_leave_roles_unknown_not_wrong() {
    let xml = br#"<recording>
      <participant participant_id="p1"><nameID aor="sip:+15551230001@ims.example.net"/></participant>
      <participantstreamassoc participant_id="ghost"><send>s-ghost</send></participantstreamassoc>
      <participantstreamassoc participant_id="p1"><send>s-missing</send></participantstreamassoc>
    </recording>"#;
    let m = parse_metadata(xml).unwrap();
    assert_eq!(m.dangling_references().len(), 3);
    let streams = sdp(&[Some("1"), Some("2")]);
    let map = map_legs(&LegMapInput { streams: &streams, metadata: Some(&m), ..LegMapInput::default() }, is_subscriber);
    assert!(map.streams.iter().all(|s| s.sender.is_none()));
    assert!(map.streams.iter().all(|s| s.role == callguard_siprec_metadata::LegRole::Unknown));
}
