//! Behaviour of the per-call detector: roles, negations, legitimate
//! patterns, decisions, trust, determinism, bad input and privacy.

use std::time::Duration;

use callguard_detect::{
    CallDetector, CallInput, Decision, DetectorConfig, ExternalEvidence, LlmVerdict, REASON_MAX_CHARS, Speaker, Turn,
    judge_call, reason,
};

fn run(turns: &[(Speaker, &str)], config: &DetectorConfig) -> CallDetector {
    let mut d = CallDetector::new(config);
    for (i, (speaker, text)) in turns.iter().enumerate() {
        d.on_turn(Turn { speaker: *speaker, text, at: Some(Duration::from_secs(5 * i as u64)) });
    }
    d
}

use Speaker::{Callee, Caller};

const BANK_OTP: &[(Speaker, &str)] = &[
    (Caller, "Hello, this is the fraud department of your bank. There is a suspicious charge on your card."),
    (Callee, "Oh no, what should I do?"),
    (Caller, "We just sent you a verification code by text. Please read me the code so I can block the charge."),
];

#[test]
fn bank_asking_for_a_fresh_code_warns_with_reason() {
    let d = run(BANK_OTP, &DetectorConfig::default());
    let a = d.assessment();
    assert!(a.decision.is_warn(), "risk {}", a.risk);
    assert!(a.strength("secret.otp") >= 0.9);
    assert!(a.code_just_sent);
    let hit = a.tactics.iter().find(|h| h.code == "secret.otp").expect("otp hit");
    assert_eq!(hit.turn, 2);
    assert!(!hit.span.is_empty() && hit.span.split(' ').count() <= 9);
    let en = reason(a, "en");
    assert!(en.contains("your bank") && en.contains("code"), "{en}");
    let es = reason(a, "es");
    assert!(es.contains("tu banco"), "{es}");
    assert!(en.chars().count() <= REASON_MAX_CHARS && es.chars().count() <= REASON_MAX_CHARS);
}

#[test]
fn real_bank_fraud_team_does_not_warn() {
    let d = run(
        &[
            (
                Caller,
                "Hello, this is the fraud team at your bank. Did you make a purchase of 80 dollars at a gas station?",
            ),
            (Callee, "No, I didn't. Do you need my PIN or the code you sent?"),
            (
                Caller,
                "No, we will never ask for your PIN or any code. We've blocked the card. If in doubt, hang up and call the number on the back of your card.",
            ),
        ],
        &DetectorConfig::default(),
    );
    let a = d.assessment();
    assert_eq!(a.decision, Decision::None, "risk {}", a.risk);
    assert!(a.strength("secret.otp") == 0.0 && a.strength("secret.pin") == 0.0);
    assert!(a.strength("safe.never_ask") > 0.0 && a.strength("safe.call_official") > 0.0);
}

#[test]
fn callee_words_are_not_evidence() {
    let d = run(
        &[
            (Caller, "Hi, it's the pharmacy, your prescription is ready for pickup."),
            (Callee, "Thanks. I'll never give my PIN or buy gift cards over the phone, my bank told me that."),
        ],
        &DetectorConfig::default(),
    );
    assert!(d.assessment().tactics.is_empty());
    assert_eq!(d.assessment().decision, Decision::None);
}

#[test]
fn the_decision_is_made_once_and_stays() {
    let mut d = run(BANK_OTP, &DetectorConfig::default());
    let first = d.assessment().decision.clone();
    let Decision::Warn { at_turn, .. } = first else { panic!("expected a warning") };
    d.on_turn(Turn { speaker: Caller, text: "Thank you, have a nice day, we will never ask for your PIN.", at: None });
    assert_eq!(d.assessment().decision, first);
    let Decision::Warn { at_turn: again, .. } = d.assessment().decision else { panic!("decision lost") };
    assert_eq!(again, at_turn);
}

#[test]
fn trusted_callers_are_suppressed() {
    let config = DetectorConfig { trusted: true, ..DetectorConfig::default() };
    let d = run(BANK_OTP, &config);
    assert!(matches!(d.assessment().decision, Decision::Suppressed { .. }));
    assert!(!d.assessment().decision.is_warn());
}

#[test]
fn missing_evidence_is_named_and_external_evidence_moves_risk() {
    let mut d = run(&[(Caller, "Hello, I am calling about your account.")], &DetectorConfig::default());
    let before = d.assessment().risk;
    assert_eq!(d.assessment().missing, vec!["llm", "signaling", "audio"]);
    let a = d.set_evidence(ExternalEvidence {
        llm: Some(LlmVerdict { scam_probability: 0.95, tactics: vec!["secret.otp".into()] }),
        signaling: Some(0.9),
        audio: None,
    });
    assert!(a.risk > before);
    assert_eq!(a.missing, vec!["audio"]);
}

#[test]
fn dtmf_after_a_pin_request_raises_risk() {
    let mut d = run(
        &[(Caller, "This is card services. For verification please enter your PIN on the keypad now.")],
        &DetectorConfig::default(),
    );
    let before = d.assessment().strength("secret.pin");
    for (i, digit) in "4321".chars().enumerate() {
        d.on_dtmf(digit, Duration::from_secs(10 + i as u64));
    }
    assert!(d.assessment().strength("secret.pin") > before);
}

#[test]
fn deterministic_for_the_same_input() {
    let a = run(BANK_OTP, &DetectorConfig::default()).assessment().clone();
    let b = run(BANK_OTP, &DetectorConfig::default()).assessment().clone();
    assert_eq!(a, b);
    assert_eq!(reason(&a, "en"), reason(&b, "en"));
}

#[test]
fn empty_garbled_foreign_and_huge_input_is_low_risk() {
    let config = DetectorConfig::default();
    let cases: Vec<String> = vec![
        String::new(),
        "   \n\t ".into(),
        "\u{0}\u{1}\u{fffd}\u{fffd}%%%$$$###".into(),
        "asdkj qwpoeiru zxmcnv lkjhg".into(),
        "Hola, ¿qué tal? Te llamo para la cena del domingo con la familia.".into(),
        "你好，我们周末一起吃饭吧。".into(),
        "hello ".repeat(200_000),
    ];
    for text in &cases {
        let d = run(&[(Caller, text), (Callee, text)], &config);
        let a = d.assessment();
        assert!(a.risk.is_finite() && (0.0..=1.0).contains(&a.risk));
        assert!(!a.decision.is_warn(), "warned on {:?}", &text[..text.len().min(40)]);
        assert!(d.transcript_for_llm(2000).chars().count() <= 2000);
    }
}

#[test]
fn random_bytes_never_panic() {
    // A fixed xorshift stream: deterministic "random" texts.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let config = DetectorConfig::default();
    for _ in 0..300 {
        let mut bytes = Vec::new();
        let len = (state % 400) as usize;
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.push((state & 0xff) as u8);
        }
        let text = String::from_utf8_lossy(&bytes);
        let mut d = CallDetector::new(&config);
        let a = d.on_turn(Turn { speaker: if len.is_multiple_of(2) { Caller } else { Callee }, text: &text, at: None });
        assert!((0.0..=1.0).contains(&a.risk));
        let _ = reason(d.assessment(), "es");
    }
}

#[test]
fn debug_output_never_contains_the_words() {
    let secret = "my grandmother maiden name is Zorblatt and the code is 987654";
    let d = run(&[(Caller, "Please read me the verification code."), (Callee, secret)], &DetectorConfig::default());
    let shown = format!("{d:?} {:?} {:?}", d.assessment(), Turn { speaker: Callee, text: secret, at: None });
    assert!(!shown.contains("Zorblatt") && !shown.contains("verification"), "{shown}");
    let call: CallInput =
        serde_json::from_str(r#"{"id":"x","turns":[{"speaker":"callee","text":"Zorblatt"}]}"#).expect("parse");
    assert!(!format!("{call:?}").contains("Zorblatt"));
}

#[test]
fn transcript_for_llm_is_labelled_and_bounded() {
    let d = run(BANK_OTP, &DetectorConfig::default());
    let t = d.transcript_for_llm(10_000);
    assert!(t.starts_with("Caller: Hello") && t.contains("\nCallee: Oh no"));
    let short = d.transcript_for_llm(60);
    assert!(short.chars().count() <= 60 && short.starts_with("Caller: "), "{short}");
    assert!(short.ends_with("block the charge."));
}

#[test]
fn judge_call_replays_turn_by_turn() {
    let call: CallInput = serde_json::from_str(
        r#"{"id":"c1","turns":[
            {"speaker":"caller","text":"Hi, this is the IRS. There is a warrant for your arrest.","t":0},
            {"speaker":"callee","text":"What?"},
            {"speaker":"caller","text":"Pay with Google Play gift cards today or police will come."}],
            "signaling":{"risk":0.5},"language":"es"}"#,
    )
    .expect("parse");
    let v = judge_call(&call, &DetectorConfig::default(), None);
    assert!(v.scam && v.decided_at_turn.is_some());
    assert!(v.tactics.contains(&"payment.gift_card"));
    assert!(v.reason.contains("tarjetas regalo"), "{}", v.reason);
    assert!(!v.missing.contains(&"signaling"));
    let line = serde_json::to_value(&v).expect("json");
    for key in ["id", "scam", "score", "tactics", "reason", "decided_at_turn"] {
        assert!(line.get(key).is_some(), "{key}");
    }
}

#[test]
fn invalid_thresholds_are_refused() {
    for t in [0.0, 1.0, -1.0, f32::NAN] {
        assert!(DetectorConfig { warn_threshold: t, ..DetectorConfig::default() }.validate().is_err());
    }
    assert!(DetectorConfig::default().validate().is_ok());
}
