//! Arbitrary bytes as a metadata body: parse, map legs, merge. Must never panic.
#![no_main]

use callguard_siprec_metadata::{
    LegMapInput, MediaDirection, SdpOrder, SdpStream, map_legs, normalize_aor, parse_metadata,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The register: an arbitrary but deterministic split of AORs.
    let is_protected = |aor: &str| aor.bytes().map(u32::from).sum::<u32>() % 3 == 0;
    let text = String::from_utf8_lossy(data);
    let _ = normalize_aor(&text);

    let Ok(meta) = parse_metadata(data) else {
        // No metadata: the SDP-order fallback with From/To taken from the input.
        let (from, to) = text.split_once('\n').unwrap_or((&text, ""));
        let streams = [
            SdpStream::new(0, Some("1"), MediaDirection::SendOnly),
            SdpStream::new(1, Some("2"), MediaDirection::Inactive),
        ];
        let _ = map_legs(
            &LegMapInput {
                streams: &streams,
                invite_from: Some(from),
                invite_to: Some(to),
                ..LegMapInput::default()
            },
            is_protected,
        );
        return;
    };

    // m-lines labelled like the metadata streams, plus an unlabelled and a recvonly one.
    let mut streams: Vec<SdpStream> = meta
        .streams
        .iter()
        .take(8)
        .enumerate()
        .map(|(i, s)| SdpStream::new(i, s.label.as_deref(), MediaDirection::SendOnly))
        .collect();
    let n = streams.len();
    streams.push(SdpStream::new(n, None, MediaDirection::SendOnly));
    streams.push(SdpStream::new(n + 1, Some("1"), MediaDirection::RecvOnly));

    for order in [SdpOrder::OriginatorFirst, SdpOrder::OriginatorSecond] {
        for cut in [streams.len(), 2.min(streams.len()), 1] {
            let map = map_legs(
                &LegMapInput {
                    streams: &streams[..cut],
                    metadata: Some(&meta),
                    invite_from: meta.original_call.from(),
                    invite_to: meta.original_call.to(),
                    sdp_order: order,
                },
                is_protected,
            );
            assert_eq!(map.streams.len(), cut);
        }
    }
    let _ = meta.dangling_references();
    let _ = meta.original_call.verstat();
    let mut merged = meta.clone();
    merged.apply_update(meta);
});
