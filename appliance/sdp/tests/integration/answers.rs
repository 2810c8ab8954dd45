//! Initial answers to the fixture offers.

use callguard_sdp::{
    AcceptedCodec, Address, CryptoSuite, Direction, Endpoint, KeyLifetime, MediaType, Mki, Protocol, RejectReason,
    RejectedStream, SessionDescription, SrtpKeyMaterial, answer_offer,
};

use crate::common::{TestAllocator, assert_sdp, fixture, policy};

const HEADER: [&str; 5] = ["v=0", "o=callguard 5001 1 IN IP4 192.0.2.100", "s=-", "c=IN IP4 192.0.2.100", "t=0 0"];

fn with_header<'a>(media: &[&'a str]) -> Vec<&'a str> {
    HEADER.iter().copied().chain(media.iter().copied()).collect()
}

fn endpoint(address: &str, port: u16) -> Endpoint {
    Endpoint { address: Address::Ip(address.parse().unwrap()), port }
}

#[test]
fn two_labelled_g711_streams() {
    let offer = fixture("two_streams_labels_1_2.sdp");
    let mut allocator = TestAllocator::new();
    let answer = answer_offer(&offer, &policy(), &mut allocator);
    assert_sdp(
        &answer.sdp.to_string(),
        &with_header(&[
            "m=audio 40000 RTP/AVP 0 101",
            "a=label:1",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=rtcp:40001",
            "a=recvonly",
            "m=audio 40002 RTP/AVP 0 101",
            "a=label:2",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=rtcp:40003",
            "a=recvonly",
        ]),
    );
    assert_eq!(allocator.port_calls, vec![(0, false), (1, false)]);
    assert!(allocator.key_calls.is_empty());
    assert!(answer.rejected.is_empty());
    assert!(answer.released_ports.is_empty());

    let [first, second] = answer.streams.as_slice() else { panic!("two streams expected") };
    assert_eq!(first.index, 0);
    assert_eq!(first.label.as_deref(), Some("1"));
    assert_eq!(first.media_type, MediaType::Audio);
    assert_eq!(first.protocol, Protocol::RtpAvp);
    assert_eq!(first.remote_rtp, endpoint("198.51.100.20", 16384));
    assert_eq!(first.remote_rtcp, endpoint("198.51.100.20", 16385));
    assert!(!first.rtcp_mux);
    assert_eq!((first.local_port, first.local_rtcp_port), (40000, 40001));
    assert_eq!(
        (first.codec.name.as_str(), first.codec.payload_type, first.codec.clock_rate, first.codec.channel_count()),
        ("PCMU", 0, 8000, 1)
    );
    assert_eq!(first.telephone_event, Some(101));
    assert_eq!(first.ptime, Some(20));
    assert_eq!(first.direction, Direction::RecvOnly);
    assert!(first.srtp.is_none());
    assert_eq!(second.index, 1);
    assert_eq!(second.label.as_deref(), Some("2"));
    assert_eq!(second.remote_rtp, endpoint("198.51.100.20", 16386));
    assert_eq!(second.local_port, 40002);
}

#[test]
fn own_origin_is_never_the_offers() {
    let offer = fixture("two_streams_labels_1_2.sdp");
    let answer = answer_offer(&offer, &policy(), &mut TestAllocator::new());
    assert_ne!(answer.sdp.origin, offer.origin);
    assert_eq!(answer.sdp.origin.username, "callguard");
    assert_eq!(answer.sdp.origin.session_id, 5001);
    assert_eq!(answer.sdp.origin.session_version, 1);

    let mut odd = policy();
    odd.origin_username = "has space".into();
    odd.origin_address = "2001:db8::1".parse().unwrap();
    odd.session_version = 7;
    let answer = answer_offer(&offer, &odd, &mut TestAllocator::new());
    assert_eq!(answer.sdp.origin.to_string(), "- 5001 7 IN IP6 2001:db8::1");
    assert_eq!(answer.sdp.connection.unwrap().to_string(), "IN IP4 192.0.2.100");
}

#[test]
fn labels_0_and_1_choose_the_offers_first_codec() {
    let answer = answer_offer(&fixture("labels_0_1.sdp"), &policy(), &mut TestAllocator::new());
    assert_sdp(
        &answer.sdp.to_string(),
        &with_header(&[
            "m=audio 40000 RTP/AVP 8 101",
            "a=label:0",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-15",
            "a=rtcp:40001",
            "a=recvonly",
            "m=audio 40002 RTP/AVP 8 101",
            "a=label:1",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-15",
            "a=rtcp:40003",
            "a=recvonly",
        ]),
    );
    let labels: Vec<_> = answer.streams.iter().map(|stream| stream.label.as_deref()).collect();
    assert_eq!(labels, vec![Some("0"), Some("1")]);
    assert!(answer.streams.iter().all(|stream| stream.ptime.is_none()));
}

#[test]
fn policy_order_does_not_override_offer_order() {
    let mut pcmu_first = policy();
    pcmu_first.codecs = vec![AcceptedCodec::pcmu(), AcceptedCodec::pcma()];
    let answer = answer_offer(&fixture("labels_0_1.sdp"), &pcmu_first, &mut TestAllocator::new());
    assert!(answer.streams.iter().all(|stream| stream.codec.name == "PCMA"));
}

#[test]
fn labels_10_and_20() {
    let answer = answer_offer(&fixture("labels_10_20.sdp"), &policy(), &mut TestAllocator::new());
    assert_sdp(
        &answer.sdp.to_string(),
        &with_header(&[
            "m=audio 40000 RTP/AVP 8 101",
            "a=label:10",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=rtcp:40001",
            "a=recvonly",
            "m=audio 40002 RTP/AVP 8 101",
            "a=label:20",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=rtcp:40003",
            "a=recvonly",
        ]),
    );
}

#[test]
fn g722_keeps_its_8000_hz_rtp_clock() {
    // With and without rtpmap: the static payload type 9 resolves too.
    for rtpmap in ["a=rtpmap:9 G722/8000\r\n", ""] {
        let offer = offer_with(&format!(
            "c=IN IP4 192.0.2.1\r\nm=audio 1000 RTP/AVP 9 0 101\r\n{rtpmap}\
             a=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n"
        ));
        let answer = answer_offer(&offer, &policy(), &mut TestAllocator::new());
        let stream = &answer.streams[0];
        assert_eq!((stream.codec.name.as_str(), stream.codec.clock_rate), ("G722", 8000));
        // telephone-event/8000 matches G.722's RTP clock.
        assert_eq!(stream.telephone_event, Some(101));
        assert!(
            answer.sdp.to_string().contains(
                "m=audio 40000 RTP/AVP 9 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
            )
        );
    }
}

#[test]
fn large_labels_media_level_connections_and_rtcp_attributes() {
    let answer = answer_offer(&fixture("labels_large.sdp"), &policy(), &mut TestAllocator::new());
    let text = answer.sdp.to_string();
    assert!(text.contains("a=label:16777227\r\n"));
    assert!(text.contains("a=label:16777228\r\n"));
    let [first, second] = answer.streams.as_slice() else { panic!("two streams expected") };
    assert_eq!(first.remote_rtp, endpoint("10.20.30.40", 35000));
    assert_eq!(first.remote_rtcp, endpoint("10.20.30.40", 35001));
    assert_eq!(second.remote_rtp, endpoint("10.20.30.41", 35002));
    assert_eq!(second.remote_rtcp, endpoint("10.20.30.42", 36003));
    assert_eq!(first.telephone_event, Some(120));
    assert_eq!(second.codec.name, "PCMU");
}

#[test]
fn a_leg_b_leg_with_rtcp_mux() {
    let mut allocator = TestAllocator::new();
    let answer = answer_offer(&fixture("labels_a_leg_b_leg.sdp"), &policy(), &mut allocator);
    assert_sdp(
        &answer.sdp.to_string(),
        &with_header(&[
            "m=audio 40000 RTP/AVP 0 101",
            "a=label:a_leg",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=rtcp:40000",
            "a=rtcp-mux",
            "a=recvonly",
            "m=audio 40002 RTP/AVP 8 101",
            "a=label:b_leg",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=rtcp:40002",
            "a=rtcp-mux",
            "a=recvonly",
        ]),
    );
    assert_eq!(allocator.port_calls, vec![(0, true), (1, true)]);
    let first = &answer.streams[0];
    assert!(first.rtcp_mux);
    assert_eq!(first.local_rtcp_port, first.local_port);
    assert_eq!(first.remote_rtcp, first.remote_rtp);
}

#[test]
fn rtcp_mux_refused_by_policy() {
    let mut no_mux = policy();
    no_mux.rtcp_mux = false;
    let mut allocator = TestAllocator::new();
    let answer = answer_offer(&fixture("labels_a_leg_b_leg.sdp"), &no_mux, &mut allocator);
    let text = answer.sdp.to_string();
    assert!(!text.contains("rtcp-mux"));
    assert!(text.contains("a=rtcp:40001\r\n") && text.contains("a=rtcp:40003\r\n"));
    assert_eq!(allocator.port_calls, vec![(0, false), (1, false)]);
    assert_eq!(answer.streams[0].remote_rtcp, endpoint("198.51.100.9", 24001));
}

#[test]
fn streams_without_labels_and_session_level_direction() {
    let answer = answer_offer(&fixture("no_labels.sdp"), &policy(), &mut TestAllocator::new());
    assert_sdp(
        &answer.sdp.to_string(),
        &with_header(&[
            "m=audio 40000 RTP/AVP 0",
            "a=rtpmap:0 PCMU/8000",
            "a=rtcp:40001",
            "a=recvonly",
            "m=audio 40002 RTP/AVP 0",
            "a=rtpmap:0 PCMU/8000",
            "a=rtcp:40003",
            "a=recvonly",
        ]),
    );
    assert!(answer.streams.iter().all(|stream| stream.label.is_none() && stream.telephone_event.is_none()));
}

#[test]
fn single_mixed_stream() {
    let mut allocator = TestAllocator::new();
    let answer = answer_offer(&fixture("mixed_single_stream.sdp"), &policy(), &mut allocator);
    assert_sdp(
        &answer.sdp.to_string(),
        &with_header(&[
            "m=audio 40000 RTP/AVP 0 101",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-15",
            "a=rtcp:40001",
            "a=recvonly",
        ]),
    );
    assert_eq!(answer.streams.len(), 1);
    assert_eq!(answer.streams[0].remote_rtp, endpoint("192.0.2.50", 21000));
    assert_eq!(allocator.port_calls, vec![(0, false)]);
}

#[test]
fn srtp_answers_first_supported_suite_with_own_key() {
    let offer = fixture("srtp_two_crypto.sdp");
    let mut allocator = TestAllocator::new();
    let answer = answer_offer(&offer, &policy(), &mut allocator);
    assert_sdp(
        &answer.sdp.to_string(),
        &with_header(&[
            "m=audio 40000 RTP/SAVP 0 101",
            "a=label:1",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-15",
            "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:oKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCg",
            "a=rtcp:40001",
            "a=recvonly",
            "m=audio 40002 RTP/SAVP 0 101",
            "a=label:2",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-15",
            "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:oaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGhoaGh",
            "a=rtcp:40003",
            "a=recvonly",
        ]),
    );
    assert_eq!(allocator.key_calls, vec![0, 1]);

    let first = answer.streams[0].srtp.as_ref().unwrap();
    assert_eq!((first.tag, &first.suite), (2, &CryptoSuite::AesCm128HmacSha1Tag80));
    assert_eq!(first.local_key, SrtpKeyMaterial::new([0xA0; 30]));
    let [remote] = first.remote_keys.as_slice() else { panic!("one remote key expected") };
    let expected: Vec<u8> = (0..30).map(|i| (7 + i * 13) as u8).collect();
    assert_eq!(remote.material.as_bytes().as_slice(), expected.as_slice());
    assert_eq!(remote.lifetime, Some(KeyLifetime::PowerOfTwo(31)));
    assert_eq!(remote.mki, None);

    let second = answer.streams[1].srtp.as_ref().unwrap();
    assert_eq!((second.tag, &second.suite), (1, &CryptoSuite::AesCm128HmacSha1Tag32));
    assert_eq!(second.remote_keys[0].mki, Some(Mki { value: 1, length: 1 }));
    assert_eq!(second.local_key, SrtpKeyMaterial::new([0xA1; 30]));

    // Keys stay out of logs.
    let debug = format!("{answer:?}");
    assert!(!debug.contains("oKCg") && !debug.contains("BxQh"));
}

#[test]
fn srtp_suite_restricted_by_policy() {
    let mut only_80 = policy();
    only_80.srtp_suites = vec![CryptoSuite::AesCm128HmacSha1Tag80];
    let answer = answer_offer(&fixture("srtp_two_crypto.sdp"), &only_80, &mut TestAllocator::new());
    let second = answer.streams[1].srtp.as_ref().unwrap();
    assert_eq!((second.tag, &second.suite), (2, &CryptoSuite::AesCm128HmacSha1Tag80));
    assert!(answer.sdp.to_string().contains("a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:oaGh"));

    let mut no_srtp = policy();
    no_srtp.srtp_suites.clear();
    let mut allocator = TestAllocator::new();
    let answer = answer_offer(&fixture("srtp_two_crypto.sdp"), &no_srtp, &mut allocator);
    assert!(answer.streams.is_empty());
    assert_eq!(
        answer.rejected,
        vec![
            RejectedStream { index: 0, reason: RejectReason::NoAcceptableCrypto },
            RejectedStream { index: 1, reason: RejectReason::NoAcceptableCrypto },
        ]
    );
    assert!(allocator.port_calls.is_empty() && allocator.key_calls.is_empty());
    assert!(answer.sdp.to_string().contains("m=audio 0 RTP/SAVP 0 101\r\na=label:1\r\n"));
}

#[test]
fn srtp_without_key_material_rejects_before_taking_a_port() {
    let mut allocator = TestAllocator::new();
    allocator.keys_exhausted = true;
    let answer = answer_offer(&fixture("srtp_two_crypto.sdp"), &policy(), &mut allocator);
    assert!(answer.streams.is_empty());
    assert!(answer.rejected.iter().all(|rejected| rejected.reason == RejectReason::NoKeyMaterial));
    assert!(allocator.port_calls.is_empty());
}

#[test]
fn opus_with_matching_telephone_event() {
    let answer = answer_offer(&fixture("opus_telephone_event.sdp"), &policy(), &mut TestAllocator::new());
    assert_sdp(
        &answer.sdp.to_string(),
        &with_header(&[
            "m=audio 40000 RTP/AVP 111 126",
            "a=label:caller",
            "a=rtpmap:111 opus/48000/2",
            "a=rtpmap:126 telephone-event/48000",
            "a=fmtp:111 minptime=10;useinbandfec=1",
            "a=fmtp:126 0-15",
            "a=ptime:20",
            "a=rtcp:40001",
            "a=recvonly",
            "m=audio 40002 RTP/AVP 111 126",
            "a=label:callee",
            "a=rtpmap:111 opus/48000/2",
            "a=rtpmap:126 telephone-event/48000",
            "a=fmtp:111 minptime=10;useinbandfec=1",
            "a=fmtp:126 0-15",
            "a=ptime:20",
            "a=rtcp:40003",
            "a=recvonly",
        ]),
    );
    let stream = &answer.streams[0];
    assert_eq!((stream.codec.payload_type, stream.codec.clock_rate, stream.codec.channel_count()), (111, 48000, 2));
    assert_eq!(stream.telephone_event, Some(126));
}

#[test]
fn without_opus_the_telephone_event_follows_the_8k_codec() {
    let mut g711_only = policy();
    g711_only.codecs = vec![AcceptedCodec::pcmu(), AcceptedCodec::pcma()];
    let answer = answer_offer(&fixture("opus_telephone_event.sdp"), &g711_only, &mut TestAllocator::new());
    assert!(answer.sdp.to_string().contains("m=audio 40000 RTP/AVP 8 101\r\n"));
    assert_eq!(answer.streams[0].telephone_event, Some(101));

    let mut no_dtmf = policy();
    no_dtmf.telephone_event = false;
    let answer = answer_offer(&fixture("opus_telephone_event.sdp"), &no_dtmf, &mut TestAllocator::new());
    assert!(answer.sdp.to_string().contains("m=audio 40000 RTP/AVP 111\r\n"));
    assert!(!answer.sdp.to_string().contains("telephone-event"));
}

#[test]
fn only_unsupported_codecs_rejects_every_stream() {
    let mut allocator = TestAllocator::new();
    let answer = answer_offer(&fixture("unsupported_codecs.sdp"), &policy(), &mut allocator);
    assert_sdp(
        &answer.sdp.to_string(),
        &with_header(&["m=audio 0 RTP/AVP 18 4 97", "a=label:1", "m=audio 0 RTP/AVP 18 4 97", "a=label:2"]),
    );
    assert!(answer.streams.is_empty());
    assert!(answer.rejected.iter().all(|rejected| rejected.reason == RejectReason::NoAcceptableCodec));
    assert!(allocator.port_calls.is_empty());

    let mut with_g729 = policy();
    with_g729.codecs.push(AcceptedCodec::new("g729", 8000));
    let answer = answer_offer(&fixture("unsupported_codecs.sdp"), &with_g729, &mut TestAllocator::new());
    assert_eq!(answer.streams.len(), 2);
    assert_eq!(answer.streams[0].codec.name, "G729");
}

#[test]
fn ipv6_offer_and_ipv6_srs() {
    let mut v6 = policy();
    v6.origin_address = "2001:db8::100".parse().unwrap();
    v6.connection_address = "2001:db8::100".parse().unwrap();
    let answer = answer_offer(&fixture("ipv6.sdp"), &v6, &mut TestAllocator::new());
    assert_sdp(
        &answer.sdp.to_string(),
        &[
            "v=0",
            "o=callguard 5001 1 IN IP6 2001:db8::100",
            "s=-",
            "c=IN IP6 2001:db8::100",
            "t=0 0",
            "m=audio 40000 RTP/AVP 8 101",
            "a=label:1",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=rtcp:40001",
            "a=recvonly",
            "m=audio 40002 RTP/AVP 8 101",
            "a=label:2",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=rtcp:40003",
            "a=recvonly",
        ],
    );
    assert_eq!(answer.streams[0].remote_rtp, endpoint("2001:db8:100::5", 18000));
    assert_eq!(answer.streams[1].remote_rtp, endpoint("2001:db8:100::6", 18002));
}

#[test]
fn bare_lf_offer_gets_a_crlf_answer() {
    let answer = answer_offer(&fixture("bare_lf.sdp"), &policy(), &mut TestAllocator::new());
    assert_sdp(
        &answer.sdp.to_string(),
        &with_header(&[
            "m=audio 40000 RTP/AVP 0",
            "a=label:1",
            "a=rtpmap:0 PCMU/8000",
            "a=rtcp:40001",
            "a=recvonly",
            "m=audio 40002 RTP/AVP 0",
            "a=label:2",
            "a=rtpmap:0 PCMU/8000",
            "a=rtcp:40003",
            "a=recvonly",
        ]),
    );
}

#[test]
fn dtls_srtp_and_keyless_savp_are_rejected() {
    let answer = answer_offer(&fixture("dtls_and_plain_savp.sdp"), &policy(), &mut TestAllocator::new());
    assert_sdp(
        &answer.sdp.to_string(),
        &with_header(&["m=audio 0 UDP/TLS/RTP/SAVPF 0", "a=label:1", "m=audio 0 RTP/SAVP 0", "a=label:2"]),
    );
    assert_eq!(
        answer.rejected,
        vec![
            RejectedStream { index: 0, reason: RejectReason::UnsupportedProtocol },
            RejectedStream { index: 1, reason: RejectReason::NoAcceptableCrypto },
        ]
    );
}

#[test]
fn port_exhaustion_gives_port_zero() {
    let mut allocator = TestAllocator::new();
    allocator.ports_exhausted = true;
    let answer = answer_offer(&fixture("two_streams_labels_1_2.sdp"), &policy(), &mut allocator);
    assert_sdp(
        &answer.sdp.to_string(),
        &with_header(&["m=audio 0 RTP/AVP 0 101", "a=label:1", "m=audio 0 RTP/AVP 0 101", "a=label:2"]),
    );
    assert!(answer.rejected.iter().all(|rejected| rejected.reason == RejectReason::NoPortAvailable));
}

#[test]
fn top_port_without_room_for_rtcp_is_released() {
    let mut allocator = TestAllocator::starting_at(65535);
    let answer = answer_offer(&fixture("two_streams_labels_1_2.sdp"), &policy(), &mut allocator);
    assert_eq!(answer.rejected[0], RejectedStream { index: 0, reason: RejectReason::NoPortAvailable });
    assert_eq!(answer.released_ports, vec![65535]);
    // The allocator wrapped to port 1 for the second stream.
    assert_eq!(answer.streams[0].local_port, 1);
}

fn offer_with(media_lines: &str) -> SessionDescription {
    let text = format!("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n{media_lines}");
    SessionDescription::parse(&text).unwrap()
}

#[test]
fn direction_and_hold_variants() {
    let offer = offer_with(
        "c=IN IP4 192.0.2.1\r\n\
         m=audio 1000 RTP/AVP 0\r\na=sendrecv\r\n\
         m=audio 1002 RTP/AVP 0\r\na=recvonly\r\n\
         m=audio 1004 RTP/AVP 0\r\na=inactive\r\n\
         m=audio 1006 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n\
         m=audio 1008 RTP/AVP 0\r\n",
    );
    let answer = answer_offer(&offer, &policy(), &mut TestAllocator::new());
    let directions: Vec<Direction> = answer.streams.iter().map(|stream| stream.direction).collect();
    assert_eq!(
        directions,
        vec![Direction::RecvOnly, Direction::Inactive, Direction::Inactive, Direction::Inactive, Direction::RecvOnly]
    );
    let text = answer.sdp.to_string();
    assert_eq!(text.matches("a=recvonly").count(), 2);
    assert_eq!(text.matches("a=inactive").count(), 3);
    assert!(!text.contains("sendrecv") && !text.contains("sendonly"));
}

#[test]
fn port_zero_missing_connection_and_odd_protocols() {
    let offer = offer_with(
        "m=audio 0 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\n\
         m=audio 1000 RTP/AVP 0\r\n\
         m=image 1002 udptl t38\r\nc=IN IP4 192.0.2.1\r\n\
         m=audio 1004 RTP/AVPF 0\r\nc=IN IP4 media.example.net\r\na=rtcp-fb:* nack\r\n",
    );
    let answer = answer_offer(&offer, &policy(), &mut TestAllocator::new());
    let reasons: Vec<RejectReason> = answer.rejected.iter().map(|rejected| rejected.reason).collect();
    assert_eq!(
        reasons,
        vec![RejectReason::PortZero, RejectReason::NoConnectionAddress, RejectReason::UnsupportedProtocol]
    );
    let text = answer.sdp.to_string();
    assert!(text.contains("m=audio 0 RTP/AVP 0\r\nm=audio 0 RTP/AVP 0\r\nm=image 0 udptl t38\r\n"));
    assert!(text.contains("m=audio 40000 RTP/AVPF 0\r\n"));
    let stream = &answer.streams[0];
    assert_eq!(stream.index, 3);
    assert_eq!(stream.remote_rtp.address, Address::Name("media.example.net".into()));
}

#[test]
fn codec_names_match_case_insensitively_and_dynamic_types_need_rtpmap() {
    let offer = offer_with(
        "c=IN IP4 192.0.2.1\r\n\
         m=audio 1000 RTP/AVP 96 97\r\na=rtpmap:97 pcmu/8000\r\n",
    );
    let answer = answer_offer(&offer, &policy(), &mut TestAllocator::new());
    assert_eq!(answer.streams[0].codec.payload_type, 97);
    assert!(answer.sdp.to_string().contains("m=audio 40000 RTP/AVP 97\r\na=rtpmap:97 pcmu/8000\r\n"));
}

#[test]
fn answers_reparse_to_themselves() {
    for name in crate::common::FIXTURES {
        let answer = answer_offer(&fixture(name), &policy(), &mut TestAllocator::new());
        let text = answer.sdp.to_string();
        assert_eq!(SessionDescription::parse(&text).unwrap(), answer.sdp, "{name}");
        assert_eq!(answer.sdp.media.len(), fixture(name).media.len(), "{name}");
    }
}
