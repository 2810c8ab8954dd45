//! First byte selects the link type; the rest is the frame. Parsing must not
//! panic; a parsed datagram's payload lies inside the frame, within the UDP
//! length, and every shorter cut of an unfragmented frame that reaches the
//! UDP payload fails (lengths are honoured, never guessed).

#![no_main]

use callguard_packet::{LinkType, ParseError, parse};
use libfuzzer_sys::fuzz_target;

const LINKS: [LinkType; 6] = [
    LinkType::Ethernet,
    LinkType::RawIp,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(selector) % LINKS.len()];
    let result = parse(link, frame);
    let Ok(packet) = result else {
        let _ = result.map_err(|e: ParseError| (e.kind().index(), e.to_string()));
        return;
    };
    let range = packet
        .payload_range_in(frame)
        .expect("payload lies inside the frame");
    assert!(range.end <= frame.len());
    assert!(packet.payload.len() <= usize::from(u16::MAX) - 8);
    // Cutting the frame inside the payload must not silently succeed for an
    // unfragmented datagram: the IP and UDP lengths say it is short.
    if !packet.first_fragment && !packet.payload.is_empty() {
        let cut = &frame[..range.end - 1];
        assert!(
            parse(link, cut).is_err(),
            "cut frame parsed: {:?}",
            parse(link, cut)
        );
    }
    // Parsing is a pure function of the bytes.
    assert_eq!(parse(link, frame), Ok(packet));
});
