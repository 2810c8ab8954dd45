//! Arbitrary text through the detector: turns split at 0xff bytes, the
//! speaker chosen by the first byte of each turn, DTMF from 0xfe bytes.
//! Risk must stay in [0, 1], a decision once made must stay, the reason
//! must fit, and replaying the same input must give the same assessment.

#![no_main]

use callguard_detect::{CallDetector, Decision, DetectorConfig, REASON_MAX_CHARS, Speaker, Turn, reason};
use libfuzzer_sys::fuzz_target;

fn replay(data: &[u8], config: &DetectorConfig) -> callguard_detect::Assessment {
    let mut d = CallDetector::new(config);
    let mut decided: Option<Decision> = None;
    for chunk in data.split(|b| *b == 0xff).take(64) {
        let speaker = if chunk.first().is_some_and(|b| b & 1 == 1) { Speaker::Callee } else { Speaker::Caller };
        for part in chunk.split(|b| *b == 0xfe) {
            let text = String::from_utf8_lossy(part);
            let a = d.on_turn(Turn { speaker, text: &text, at: None });
            assert!((0.0..=1.0).contains(&a.risk), "risk {}", a.risk);
            if let Some(prev) = &decided {
                assert_eq!(prev, &a.decision, "decision changed");
            } else if a.decision != Decision::None {
                decided = Some(a.decision.clone());
            }
            d.on_dtmf(char::from(b'0' + part.len() as u8 % 10), std::time::Duration::ZERO);
        }
    }
    let _ = d.transcript_for_llm(500);
    d.assessment().clone()
}

fuzz_target!(|data: &[u8]| {
    let config = DetectorConfig::default();
    let a = replay(data, &config);
    for lang in ["en", "es"] {
        assert!(reason(&a, lang).chars().count() <= REASON_MAX_CHARS);
    }
    assert_eq!(a, replay(data, &config));
});
