//! The SRS driven message by message, as an SBC would drive it, with the
//! clock in the test's hands.

mod harness;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use callguard_numbers::E164;
use callguard_sdp::SessionDescription;
use callguard_sip::HeaderName;
use callguard_srs::{CallEvent, EndReason, LegRole};
use harness::*;

#[test]
fn options_is_answered_as_a_keepalive() {
    let mut h = Harness::new();
    let out = h.send(&Req::new("OPTIONS", "opt-1", "o1").text());
    let r = &responses(&out)[0];
    assert_eq!(r.status(), 200);
    assert!(r.headers().get(&HeaderName::ALLOW).unwrap().contains("INVITE"));
}

#[test]
fn a_siprec_call_from_invite_to_bye() {
    let mut h = Harness::new();
    let out = h.send(&siprec_invite("call-1", "i1").text());
    assert_eq!(statuses(&out), [100, 200]);
    let ok = &responses(&out)[1];
    assert!(ok.headers().get(&HeaderName::CONTACT).unwrap().contains("+sip.srs"));
    assert_eq!(ok.headers().get(&HeaderName::REQUIRE), Some("siprec"));
    let answer = SessionDescription::parse_bytes(ok.body()).unwrap();
    assert_eq!(answer.media.len(), 2, "one m= per offered stream");
    assert_ne!(answer.origin.username, "SBC", "the SRS's own o= line");
    for m in &answer.media {
        assert!((20000..=20099).contains(&m.port) && m.port % 2 == 0, "port {} from the pool", m.port);
        assert_eq!(answer.media_direction(m).as_str(), "recvonly");
    }

    let [CallEvent::Started(started)] = events(&out)[..] else { panic!("one CallStarted: {out:?}") };
    assert_eq!(started.subscriber.as_str(), SUBSCRIBER);
    assert_eq!(started.caller.as_ref().map(E164::as_str), Some(CALLER));
    let roles: Vec<LegRole> = started.streams.iter().map(|s| s.role).collect();
    assert_eq!(roles, [LegRole::Caller, LegRole::Subscriber]);
    assert_eq!(started.streams[0].codec, "PCMU");
    assert_eq!(started.streams[0].dtmf_payload_type, Some(101));
    assert!(!started.legs_inferred);
    assert_eq!(h.srs.sessions().len(), 1);

    let tag = to_tag(ok);
    let mut ack = Req::new("ACK", "call-1", "a1");
    ack.to_tag = Some(&tag);
    assert!(h.send(&ack.text()).is_empty(), "ACK is never answered");
    assert!(h.advance(Duration::from_secs(1)).is_empty(), "no retransmission after ACK");

    let mut bye = Req::new("BYE", "call-1", "b1");
    bye.to_tag = Some(&tag);
    bye.cseq = 2;
    let out = h.send(&bye.text());
    assert_eq!(statuses(&out), [200]);
    assert!(matches!(events(&out)[..], [CallEvent::Ended { reason: EndReason::Bye, .. }]));
    assert!(h.srs.sessions().is_empty());
    assert_eq!(h.srs.port_usage().0, 0, "ports are released");
}

#[test]
fn a_retransmitted_invite_gets_the_same_answer_once() {
    let mut h = Harness::new();
    let first = h.send(&siprec_invite("call-2", "i2").text());
    let again = h.send(&siprec_invite("call-2", "i2").text());
    assert_eq!(statuses(&again), [200]);
    assert_eq!(responses(&first)[1].body(), responses(&again)[0].body());
    assert!(events(&again).is_empty(), "one session, not two");
    assert_eq!(h.srs.stats().retransmissions, 1);
}

#[test]
fn the_200_is_retransmitted_until_ack_and_the_session_ends_without_one() {
    let mut h = Harness::new();
    h.send(&siprec_invite("call-3", "i3").text());
    assert_eq!(statuses(&h.advance(Duration::from_millis(500))), [200]);
    assert_eq!(statuses(&h.advance(Duration::from_millis(1000))), [200]);
    let mut all = Vec::new();
    for _ in 0..40 {
        all.extend(h.advance(Duration::from_secs(1)));
    }
    let sent = requests(&all);
    assert!(!sent.is_empty() && sent.iter().all(|m| m == "BYE"), "the SRS ends an unacknowledged session: {sent:?}");
    assert!(events(&all).iter().any(|e| matches!(e, CallEvent::Ended { reason: EndReason::NoAck, .. })));
}

#[test]
fn over_tcp_nothing_is_retransmitted() {
    let mut h = Harness::new();
    let out = h.send_from(&siprec_invite("call-4", "i4").text(), sbc(true));
    assert_eq!(statuses(&out), [100, 200]);
    assert!(h.advance(Duration::from_millis(600)).is_empty());
}

#[test]
fn unknown_sources_and_unprotected_subscribers_are_refused() {
    let mut h = Harness::new();
    let mut stranger = sbc(false);
    stranger.remote = "198.19.0.1:5060".parse::<SocketAddr>().unwrap();
    let out = h.send_from(&siprec_invite("call-5", "i5").text(), stranger);
    let r = &responses(&out)[0];
    assert_eq!(r.status(), 403);
    assert!(warning(r).contains("not a configured SBC"), "{}", warning(r));
    assert_eq!(h.srs.stats().forbidden_sources, 1);

    h.register = Registered(HashSet::new());
    let out = h.send(&siprec_invite("call-6", "i6").text());
    assert_eq!(statuses(&out), [100, 403]);
    assert!(warning(&responses(&out)[1]).contains("no party"), "{}", warning(&responses(&out)[1]));
    assert!(events(&out).is_empty());
    assert_eq!(h.srs.port_usage().0, 0);
}

#[test]
fn an_sdp_only_invite_infers_legs_and_metadata_can_follow() {
    let mut h = Harness::new();
    let mut invite = Req::new("INVITE", "call-7", "i7");
    invite.body = Some(("application/sdp".into(), sdp(&[("1", "sendonly"), ("2", "sendonly")])));
    let out = h.send(&invite.text());
    assert_eq!(statuses(&out), [100, 200]);
    let [CallEvent::Started(started)] = events(&out)[..] else { panic!("{out:?}") };
    assert!(started.legs_inferred);
    assert_eq!(started.subscriber.as_str(), SUBSCRIBER);
    let tag = to_tag(&responses(&out)[1]);

    let mut reinvite = siprec_invite("call-7", "i7b");
    reinvite.to_tag = Some(&tag);
    reinvite.cseq = 2;
    let out = h.send(&reinvite.text());
    assert_eq!(statuses(&out), [200]);
}

#[test]
fn hold_in_a_reinvite_changes_the_streams() {
    let mut h = Harness::new();
    let out = h.send(&siprec_invite("call-8", "i8").text());
    let first = SessionDescription::parse_bytes(responses(&out)[1].body()).unwrap();
    let tag = to_tag(&responses(&out)[1]);
    let mut hold = Req::new("INVITE", "call-8", "i8b");
    hold.to_tag = Some(&tag);
    hold.cseq = 2;
    hold.body = Some(multipart(&sdp(&[("1", "inactive"), ("2", "inactive")]), &metadata()));
    let out = h.send(&hold.text());
    assert_eq!(statuses(&out), [200]);
    let answer = SessionDescription::parse_bytes(responses(&out)[0].body()).unwrap();
    assert_eq!(answer.media_direction(&answer.media[0]).as_str(), "inactive");
    assert_eq!(answer.media[0].port, first.media[0].port, "ports persist across re-offers");
    assert!(answer.origin.session_version > first.origin.session_version);
    let [CallEvent::StreamsChanged { streams, .. }] = events(&out)[..] else { panic!("{out:?}") };
    assert!(streams.iter().all(|s| !s.active));

    let mut stale = Req::new("UPDATE", "call-8", "u1");
    stale.to_tag = Some(&tag);
    stale.cseq = 2;
    assert_eq!(statuses(&h.send(&stale.text())), [500], "CSeq must increase");
}

#[test]
fn unknown_dialogs_methods_and_extensions() {
    let mut h = Harness::new();
    let mut bye = Req::new("BYE", "nope", "b9");
    bye.to_tag = Some("unknown");
    assert_eq!(statuses(&h.send(&bye.text())), [481]);
    assert_eq!(statuses(&h.send(&Req::new("SUBSCRIBE", "s", "s9").text())), [405]);
    assert_eq!(statuses(&h.send(&Req::new("FROBNICATE", "f", "f9").text())), [501]);
    assert_eq!(statuses(&h.send(&Req::new("CANCEL", "c", "c9").text())), [481]);

    let mut invite = siprec_invite("call-9", "i9");
    invite.extra = "Require: siprec, 100rel\r\n";
    let out = h.send(&invite.text());
    let r = responses(&out).pop().unwrap();
    assert_eq!(r.status(), 420);
    assert_eq!(r.headers().get(&HeaderName::UNSUPPORTED), Some("100rel"));
}

#[test]
fn cancel_after_the_answer_only_gets_its_own_200() {
    let mut h = Harness::new();
    h.send(&siprec_invite("call-10", "i10").text());
    let answer = responses(&h.send(&siprec_invite("call-10", "i10").text())).pop().unwrap();
    let out = h.send(&Req::new("CANCEL", "call-10", "i10").text());
    assert_eq!(statuses(&out), [200]);
    assert_eq!(to_tag(&responses(&out)[0]), to_tag(&answer), "the CANCEL's 200 has the INVITE's To tag");
    assert_eq!(h.srs.sessions().len(), 1, "the session goes on until BYE");
}

#[test]
fn malformed_requests_get_400_with_the_defect_or_are_dropped() {
    let mut h = Harness::new();
    let mut short = siprec_invite("call-11", "i11").text();
    short = short.replacen("Content-Length: ", "Content-Length: 9", 1);
    let out = h.send(&short);
    let r = &responses(&out)[0];
    assert_eq!(r.status(), 400);
    assert!(warning(r).contains("Content-Length"), "{}", warning(r));

    let no_via = Req::new("OPTIONS", "x", "x1")
        .text()
        .replace("Via: SIP/2.0/UDP 198.18.0.10:5060;branch=z9hG4bKx1;rport\r\n", "");
    assert!(h.send(&no_via).is_empty(), "without Via there is no way to answer");

    let bad_sdp = {
        let mut invite = Req::new("INVITE", "call-12", "i12");
        invite.body = Some(("application/sdp".into(), "v=0\r\nm=audio nope RTP/AVP 0\r\n".into()));
        invite.text()
    };
    let out = h.send(&bad_sdp);
    let r = responses(&out).pop().unwrap();
    assert_eq!(r.status(), 400);
    assert!(warning(&r).contains("SDP"), "{}", warning(&r));
    assert!(h.srs.stats().malformed >= 2);

    for garbage in ["", "\r\n", "INVITE", "SIP/2.0 200 OK\r\n\r\n", "\u{0}\u{1}\u{2}"] {
        h.send(garbage);
    }
}

#[test]
fn session_timers_are_checked_and_enforced() {
    let mut h = Harness::new();
    let mut short = siprec_invite("call-13", "i13");
    short.extra = "Require: siprec\r\nSession-Expires: 30\r\n";
    let out = h.send(&short.text());
    let r = responses(&out).pop().unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.headers().get(&HeaderName::MIN_SE), Some("90"));

    let mut ok = siprec_invite("call-14", "i14");
    ok.extra = "Require: siprec\r\nSupported: timer\r\nSession-Expires: 120\r\n";
    let out = h.send(&ok.text());
    let r = responses(&out).pop().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get(&HeaderName::SESSION_EXPIRES), Some("120;refresher=uac"));
    let tag = to_tag(&r);
    let mut ack = Req::new("ACK", "call-14", "a14");
    ack.to_tag = Some(&tag);
    h.send(&ack.text());
    let out = h.advance(Duration::from_secs(121));
    assert_eq!(requests(&out), ["BYE"]);
    assert!(events(&out).iter().any(|e| matches!(e, CallEvent::Ended { reason: EndReason::SessionExpired, .. })));
}

#[test]
fn a_flood_from_one_sbc_is_rate_limited() {
    let mut h = Harness::with_rate(2);
    let codes: Vec<u16> = (0..4)
        .map(|i| statuses(&h.send(&siprec_invite(&format!("flood-{i}"), &format!("f{i}")).text())).pop().unwrap())
        .collect();
    assert_eq!(codes, [200, 200, 503, 503]);
    assert_eq!(h.srs.stats().rate_limited, 2);
}

#[test]
fn max_forwards_zero_is_refused_except_for_options() {
    let mut h = Harness::new();
    let invite = siprec_invite("call-15", "i15").text().replace("Max-Forwards: 70", "Max-Forwards: 0");
    assert_eq!(statuses(&h.send(&invite)), [483]);
    let options = Req::new("OPTIONS", "o", "o15").text().replace("Max-Forwards: 70", "Max-Forwards: 0");
    assert_eq!(statuses(&h.send(&options)), [200]);
}

#[test]
fn terminate_sends_bye_and_frees_the_ports() {
    let mut h = Harness::new();
    h.send(&siprec_invite("call-16", "i16").text());
    let mut out = Vec::new();
    assert!(h.srs.terminate("call-16", h.now, &mut h.entropy, &mut out));
    assert_eq!(requests(&out), ["BYE"]);
    assert_eq!(h.srs.port_usage().0, 0);
    assert!(!h.srs.terminate("call-16", h.now, &mut h.entropy, &mut Vec::new()));
}

#[test]
fn responses_carry_received_and_rport_and_updates_refresh_without_sdp() {
    let mut h = Harness::new();
    let out = h.send(&siprec_invite("call-17", "i17").text());
    let ok = &responses(&out)[1];
    let via = ok.headers().get(&HeaderName::VIA).unwrap();
    assert!(via.contains("received=198.18.0.10") && via.contains("rport=5060"), "{via}");

    let tag = to_tag(ok);
    let mut update = Req::new("UPDATE", "call-17", "u17");
    update.to_tag = Some(&tag);
    update.cseq = 2;
    update.extra = "Session-Expires: 600\r\n";
    let out = h.send(&update.text());
    let r = &responses(&out)[0];
    assert_eq!(r.status(), 200);
    assert!(r.body().is_empty(), "an UPDATE without an offer gets no SDP");
    assert_eq!(r.headers().get(&HeaderName::SESSION_EXPIRES), Some("600;refresher=uac"));
    assert!(events(&out).is_empty(), "a refresh changes no stream");
}
