//! Re-offers (re-INVITE/UPDATE) against a previous answer.

use callguard_sdp::{
    Answer, Direction, RejectReason, RejectedStream, SessionDescription, answer_offer, answer_reoffer,
};

use crate::common::{TestAllocator, assert_sdp, fixture, policy};

fn initial() -> Answer {
    answer_offer(&fixture("two_streams_labels_1_2.sdp"), &policy(), &mut TestAllocator::new())
}

#[test]
fn unchanged_reoffer_keeps_everything_including_the_version() {
    let first = initial();
    let mut allocator = TestAllocator::starting_at(50000);
    let again = answer_reoffer(&first, &fixture("two_streams_labels_1_2.sdp"), &policy(), &mut allocator);
    assert_eq!(again.sdp, first.sdp);
    assert_eq!(again.sdp.origin.session_version, 1);
    assert_eq!(again.streams, first.streams);
    assert!(again.released_ports.is_empty());
    assert!(allocator.port_calls.is_empty());
}

#[test]
fn hold_reoffer_goes_inactive_and_keeps_ports() {
    let first = initial();
    let mut allocator = TestAllocator::starting_at(50000);
    let held = answer_reoffer(&first, &fixture("hold_reoffer.sdp"), &policy(), &mut allocator);
    assert_sdp(
        &held.sdp.to_string(),
        &[
            "v=0",
            "o=callguard 5001 2 IN IP4 192.0.2.100",
            "s=-",
            "c=IN IP4 192.0.2.100",
            "t=0 0",
            "m=audio 40000 RTP/AVP 0 101",
            "a=label:1",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=rtcp:40001",
            "a=inactive",
            "m=audio 40002 RTP/AVP 0 101",
            "a=label:2",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=rtcp:40003",
            "a=recvonly",
        ],
    );
    assert_eq!(held.streams[0].direction, Direction::Inactive);
    assert_eq!(held.streams[1].direction, Direction::RecvOnly);
    assert!(allocator.port_calls.is_empty());
    assert!(held.released_ports.is_empty());

    // Resuming bumps the version again and restores recvonly.
    let resumed = answer_reoffer(&held, &fixture("two_streams_labels_1_2.sdp"), &policy(), &mut allocator);
    assert_eq!(resumed.sdp.origin.session_version, 3);
    assert!(resumed.streams.iter().all(|stream| stream.direction == Direction::RecvOnly));
    assert_eq!(resumed.sdp.media, first.sdp.media);
}

#[test]
fn reoffer_that_removes_one_stream_and_adds_another() {
    let first = initial();
    let mut allocator = TestAllocator::starting_at(50000);
    let answer = answer_reoffer(&first, &fixture("reoffer_add_remove.sdp"), &policy(), &mut allocator);
    assert_sdp(
        &answer.sdp.to_string(),
        &[
            "v=0",
            "o=callguard 5001 2 IN IP4 192.0.2.100",
            "s=-",
            "c=IN IP4 192.0.2.100",
            "t=0 0",
            "m=audio 0 RTP/AVP 0 101",
            "a=label:1",
            "m=audio 40002 RTP/AVP 0 101",
            "a=label:2",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=rtcp:40003",
            "a=recvonly",
            "m=audio 50000 RTP/AVP 8 101",
            "a=label:3",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=rtcp:50001",
            "a=recvonly",
        ],
    );
    assert_eq!(answer.released_ports, vec![40000]);
    assert_eq!(answer.rejected, vec![RejectedStream { index: 0, reason: RejectReason::PortZero }]);
    assert_eq!(allocator.port_calls, vec![(2, false)]);
    let indexes: Vec<usize> = answer.streams.iter().map(|stream| stream.index).collect();
    assert_eq!(indexes, vec![1, 2]);
}

#[test]
fn fewer_m_lines_release_the_missing_streams() {
    let first = initial();
    let mut text = String::from_utf8(crate::common::fixture_bytes("two_streams_labels_1_2.sdp")).unwrap();
    let second_stream = text.rfind("m=audio").unwrap();
    text.truncate(second_stream);
    let offer = SessionDescription::parse(&text).unwrap();
    let answer = answer_reoffer(&first, &offer, &policy(), &mut TestAllocator::starting_at(50000));
    assert_eq!(answer.sdp.media.len(), 1);
    assert_eq!(answer.released_ports, vec![40002]);
    assert_eq!(answer.streams[0].local_port, 40000);
    assert_eq!(answer.sdp.origin.session_version, 2);
}

#[test]
fn a_new_label_at_the_same_position_is_a_new_stream() {
    let first = initial();
    let text = String::from_utf8(crate::common::fixture_bytes("two_streams_labels_1_2.sdp"))
        .unwrap()
        .replace("a=label:2", "a=label:7");
    let offer = SessionDescription::parse(&text).unwrap();
    let mut allocator = TestAllocator::starting_at(50000);
    let answer = answer_reoffer(&first, &offer, &policy(), &mut allocator);
    assert_eq!(allocator.port_calls, vec![(1, false)]);
    assert_eq!(answer.streams[1].local_port, 50000);
    assert_eq!(answer.streams[0].local_port, 40000);
    assert_eq!(answer.released_ports, vec![40002]);
}

#[test]
fn srtp_reoffer_keeps_the_srs_key_unless_the_tag_changes() {
    let offer = fixture("srtp_two_crypto.sdp");
    let first = answer_offer(&offer, &policy(), &mut TestAllocator::new());
    let mut allocator = TestAllocator::starting_at(50000);
    let again = answer_reoffer(&first, &offer, &policy(), &mut allocator);
    assert!(allocator.key_calls.is_empty());
    assert_eq!(again.sdp, first.sdp);

    // Dropping the _32 line makes stream 2 pick tag 2: a new key is needed.
    let text = String::from_utf8(crate::common::fixture_bytes("srtp_two_crypto.sdp")).unwrap();
    let without_32: String =
        text.split_inclusive("\r\n").filter(|line| !line.contains("AES_CM_128_HMAC_SHA1_32")).collect();
    let offer = SessionDescription::parse(&without_32).unwrap();
    let mut allocator = TestAllocator::starting_at(50000);
    let changed = answer_reoffer(&first, &offer, &policy(), &mut allocator);
    assert_eq!(allocator.key_calls, vec![1]);
    assert!(allocator.port_calls.is_empty());
    assert_eq!(changed.streams[1].srtp.as_ref().unwrap().tag, 2);
    assert_eq!(changed.streams[1].local_port, 40002);
    assert_eq!(changed.sdp.origin.session_version, 2);
}

#[test]
fn turning_rtcp_mux_on_reallocates() {
    let first = initial();
    let text = String::from_utf8(crate::common::fixture_bytes("two_streams_labels_1_2.sdp"))
        .unwrap()
        .replace("a=label:1\r\n", "a=label:1\r\na=rtcp-mux\r\n");
    let offer = SessionDescription::parse(&text).unwrap();
    let mut allocator = TestAllocator::starting_at(50000);
    let answer = answer_reoffer(&first, &offer, &policy(), &mut allocator);
    assert_eq!(allocator.port_calls, vec![(0, true)]);
    assert_eq!(answer.released_ports, vec![40000]);
    assert_eq!((answer.streams[0].local_port, answer.streams[0].local_rtcp_port), (50000, 50000));
}

#[test]
fn a_previously_rejected_stream_can_be_accepted_later() {
    let mut exhausted = TestAllocator::new();
    exhausted.ports_exhausted = true;
    let first = answer_offer(&fixture("two_streams_labels_1_2.sdp"), &policy(), &mut exhausted);
    assert!(first.streams.is_empty());
    let answer = answer_reoffer(&first, &fixture("two_streams_labels_1_2.sdp"), &policy(), &mut TestAllocator::new());
    assert_eq!(answer.streams.len(), 2);
    assert!(answer.released_ports.is_empty());
    assert_eq!(answer.sdp.origin.session_version, 2);
}
