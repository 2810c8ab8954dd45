//! Parsing the fixtures, and the errors malformed descriptions produce.

use callguard_sdp::{
    Address, AddressType, Attribute, CryptoSuite, Direction, KeyParam, MediaType, Protocol, SdpError,
    SessionDescription, UnknownLine,
};

use crate::common::{FIXTURES, fixture, fixture_bytes};

#[test]
fn every_fixture_round_trips() {
    for name in FIXTURES {
        let bytes = fixture_bytes(name);
        let sdp = fixture(name);
        let text = sdp.to_string();
        assert_eq!(SessionDescription::parse(&text).unwrap(), sdp, "{name}");
        // The fixtures are written canonically, so the text comes back whole
        // (with CRLF for the bare-LF one).
        let original = String::from_utf8(bytes).unwrap();
        let expected = if original.contains("\r\n") { original } else { original.replace('\n', "\r\n") };
        assert_eq!(text, expected, "{name}");
    }
}

#[test]
fn typed_fields_of_a_cisco_offer() {
    let sdp = fixture("two_streams_labels_1_2.sdp");
    assert_eq!(sdp.origin.username, "CiscoSystemsSIP-GW-UserAgent");
    assert_eq!((sdp.origin.session_id, sdp.origin.session_version), (6277, 8436));
    assert_eq!(sdp.origin.addr_type, AddressType::Ip4);
    assert_eq!(sdp.session_name, "SIP Call");
    assert_eq!(sdp.timings.len(), 1);
    assert_eq!(sdp.media.len(), 2);
    let media = &sdp.media[0];
    assert_eq!(
        (media.media_type.clone(), media.port, media.protocol.clone()),
        (MediaType::Audio, 16384, Protocol::RtpAvp)
    );
    assert_eq!(media.formats, vec!["0", "101"]);
    assert_eq!(media.label(), Some("1"));
    assert_eq!(media.ptime(), Some(20));
    assert_eq!(media.direction(), Some(Direction::SendOnly));
    assert_eq!(media.fmtp("101").unwrap().params, "0-16");
    assert_eq!(sdp.media_direction(media), Direction::SendOnly);
}

#[test]
fn media_level_connection_overrides_session_level() {
    let sdp = fixture("ipv6.sdp");
    let first = sdp.media_connection(&sdp.media[0]).unwrap();
    let second = sdp.media_connection(&sdp.media[1]).unwrap();
    assert_eq!(first.address, Address::Ip("2001:db8:100::5".parse().unwrap()));
    assert_eq!(second.address, Address::Ip("2001:db8:100::6".parse().unwrap()));
    assert_eq!(sdp.origin.addr_type, AddressType::Ip6);

    let large = fixture("labels_large.sdp");
    assert!(large.connection.is_none());
    let rtcp = large.media[1].rtcp().unwrap();
    assert_eq!(rtcp.port, 36003);
    assert_eq!(rtcp.connection.as_ref().unwrap().address, Address::Ip("10.20.30.42".parse().unwrap()));
}

#[test]
fn session_level_direction_applies_to_media_without_one() {
    let sdp = fixture("no_labels.sdp");
    assert_eq!(sdp.direction(), Some(Direction::SendOnly));
    assert_eq!(sdp.media[0].direction(), None);
    assert_eq!(sdp.media_direction(&sdp.media[0]), Direction::SendOnly);
    assert_eq!(sdp.media[0].label(), None);
}

#[test]
fn crypto_lines_in_offer_order() {
    let sdp = fixture("srtp_two_crypto.sdp");
    let suites: Vec<CryptoSuite> = sdp.media[0].crypto().map(|crypto| crypto.suite.clone()).collect();
    assert_eq!(
        suites,
        vec![CryptoSuite::Unknown("AES_256_CM_HMAC_SHA1_80".into()), CryptoSuite::AesCm128HmacSha1Tag80]
    );
    let unknown = sdp.media[0].crypto().next().unwrap();
    let KeyParam::Inline(key) = &unknown.key_params[0] else { panic!("inline key expected") };
    assert_eq!(key.key_salt.len(), 46);
}

#[test]
fn static_payload_types_resolve_without_rtpmap() {
    let sdp = fixture("bare_lf.sdp");
    let names: Vec<String> = sdp.media[0].codecs().into_iter().map(|codec| codec.name).collect();
    assert_eq!(names, vec!["PCMU", "PCMA"]);
}

#[test]
fn unknown_lines_and_attributes_survive() {
    let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\ny=session extra\r\n\
                m=audio 1 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\na=X-Cisco-Media:umoh\r\nq=media extra\r\na=flag\r\n";
    let sdp = SessionDescription::parse(text).unwrap();
    assert_eq!(sdp.unknown_lines, vec![UnknownLine { kind: 'y', value: "session extra".into() }]);
    assert_eq!(sdp.media[0].unknown_lines, vec![UnknownLine { kind: 'q', value: "media extra".into() }]);
    assert_eq!(
        sdp.media[0].attributes,
        vec![
            Attribute::Other { name: "X-Cisco-Media".into(), value: Some("umoh".into()) },
            Attribute::Other { name: "flag".into(), value: None },
        ]
    );
    let out = sdp.to_string();
    assert!(out.contains("y=session extra\r\nm=audio"));
    assert!(out.ends_with("a=X-Cisco-Media:umoh\r\na=flag\r\nq=media extra\r\n"));
}

fn error_of(text: &str) -> SdpError {
    SessionDescription::parse(text).expect_err(text)
}

const HEAD: &str = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n";

#[test]
fn missing_or_wrong_version() {
    assert_eq!(error_of("").to_string(), "line 1: SDP must begin with a v= line");
    assert_eq!(error_of("\r\n\r\n").to_string(), "line 1: SDP must begin with a v= line");
    assert_eq!(error_of("o=- 1 1 IN IP4 192.0.2.1\ns=-\n").to_string(), "line 1: SDP must begin with a v= line");
    assert_eq!(error_of("\nv=1\n").to_string(), "line 2: v= line has invalid version `1`");
}

#[test]
fn missing_mandatory_lines() {
    assert_eq!(error_of("v=0\ns=-\nt=0 0\nm=audio 1 RTP/AVP 0\n").to_string(), "line 4: missing mandatory o= line");
    assert_eq!(error_of("v=0\no=- 1 1 IN IP4 192.0.2.1\nt=0 0\n").to_string(), "line 3: missing mandatory s= line");
}

#[test]
fn duplicate_lines() {
    let cases = [
        ("v=0\nv=0\n", "line 2: duplicate v= line"),
        ("v=0\no=- 1 1 IN IP4 192.0.2.1\no=- 1 1 IN IP4 192.0.2.1\ns=-\n", "line 3: duplicate o= line"),
        ("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\ns=again\n", "line 4: duplicate s= line"),
        ("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nc=IN IP4 192.0.2.2\n", "line 5: duplicate c= line"),
    ];
    for (text, message) in cases {
        assert_eq!(error_of(text).to_string(), message);
    }
    let media_dup = format!("{HEAD}m=audio 1 RTP/AVP 0\nc=IN IP4 192.0.2.1\nc=IN IP4 192.0.2.1\n");
    assert_eq!(error_of(&media_dup).to_string(), "line 7: duplicate c= line");
    let label_dup = format!("{HEAD}m=audio 1 RTP/AVP 0\na=label:1\na=label:2\n");
    assert_eq!(error_of(&label_dup).to_string(), "line 7: a=label repeated in the same section");
    let direction_dup = format!("{HEAD}m=audio 1 RTP/AVP 0\na=sendonly\na=recvonly\n");
    assert_eq!(error_of(&direction_dup).to_string(), "line 7: a=direction repeated in the same section");
    let rtpmap_dup = format!("{HEAD}m=audio 1 RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=rtpmap:0 PCMA/8000\n");
    assert_eq!(error_of(&rtpmap_dup).to_string(), "line 7: a=rtpmap repeated in the same section");
    // Repeats that are legitimate.
    let fine = format!(
        "{HEAD}b=AS:1\nb=TIAS:2\ne=a@example.com\ne=b@example.com\nm=audio 1 RTP/AVP 0 8\n\
         a=rtpmap:0 PCMU/8000\na=rtpmap:8 PCMA/8000\na=X:1\na=X:1\nm=audio 1 RTP/AVP 0\na=label:1\n\
         m=audio 1 RTP/AVP 0\na=label:1\n"
    );
    assert!(SessionDescription::parse(&fine).is_ok());
}

#[test]
fn misplaced_lines() {
    assert_eq!(
        error_of(&format!("{HEAD}m=audio 1 RTP/AVP 0\nt=0 0\n")).to_string(),
        "line 6: t= line is not allowed inside a media section"
    );
    assert_eq!(
        error_of("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nr=7d 1h 0 25h\n").to_string(),
        "line 4: r= line is not allowed before any t= line"
    );
}

#[test]
fn absurd_ports_and_counts() {
    for (media, field, value) in [
        ("m=audio 49170/70000 RTP/AVP 0", "port count", "70000"),
        ("m=audio 49170/0 RTP/AVP 0", "port count", "0"),
        ("m=audio 65534/2 RTP/AVP 0", "port count", "2"),
        ("m=audio 40000/18446744073709551616 RTP/AVP 0", "port count", "18446744073709551616"),
        ("m=audio 99999 RTP/AVP 0", "port", "99999"),
        ("m=audio -1 RTP/AVP 0", "port", "-1"),
        ("m=audio abc RTP/AVP 0", "port", "abc"),
    ] {
        let error = error_of(&format!("{HEAD}{media}\n"));
        assert_eq!(error.to_string(), format!("line 5: m= line has invalid {field} `{value}`"));
        assert_eq!(error.line(), 5);
    }
}

#[test]
fn field_errors_name_line_and_field() {
    let cases = [
        ("v=0\no=- 1 IN IP4 192.0.2.1\n", "line 2: o= line needs 6 fields, found 5"),
        ("v=0\no=- x 1 IN IP4 192.0.2.1\n", "line 2: o= line has invalid session id `x`"),
        ("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=now 0\n", "line 4: t= line has invalid start time `now`"),
        ("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nb=AS\n", "line 4: b= line has invalid bandwidth `AS`"),
        ("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 300.1.1.1/x\n", "line 4: c= line has invalid TTL `x`"),
        ("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nhello\n", "line 4: expected `<type>=<value>`, found `hello`"),
        ("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nm=audio 1 RTP/AVP\n", "line 4: m= line needs at least 4 fields, found 3"),
    ];
    for (text, message) in cases {
        assert_eq!(error_of(text).to_string(), message);
    }
}

#[test]
fn invalid_utf8_names_its_line() {
    let mut bytes = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=".to_vec();
    bytes.extend_from_slice(&[0xC3, 0x28]);
    bytes.extend_from_slice(b"\r\n");
    let error = SessionDescription::parse_bytes(&bytes).unwrap_err();
    assert_eq!(error.to_string(), "line 3: text is not valid UTF-8");
}

#[test]
fn tolerated_deviations() {
    // Missing t=, tabs, runs of spaces, trailing blank lines, lower-case codec names.
    let text = "v=0\no=-\t1  1 IN IP4 192.0.2.1\ns=\nc=IN IP4 192.0.2.1\nm=audio  1000 RTP/AVP  0\n\n\n";
    let sdp = SessionDescription::parse(text).unwrap();
    assert!(sdp.timings.is_empty());
    assert_eq!(sdp.session_name, "");
    assert_eq!(sdp.media[0].port, 1000);
    assert_eq!(SessionDescription::parse(&sdp.to_string()).unwrap(), sdp);
}
