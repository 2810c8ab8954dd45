//! Training is deterministic and the data files are well formed.

use callguard_detect::train::{TrainOptions, train};
use callguard_detect::{CallInput, Label};

fn read(path: &str) -> Vec<CallInput> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("call json")).collect()
}

#[test]
fn data_files_are_labelled_balanced_and_disjoint() {
    let train_calls = read(concat!(env!("CARGO_MANIFEST_DIR"), "/data/train.jsonl"));
    let holdout = read(concat!(env!("CARGO_MANIFEST_DIR"), "/data/holdout.jsonl"));
    let total = train_calls.len() + holdout.len();
    assert!(total >= 80);
    assert!(holdout.len() * 100 >= total * 30, "holdout under 30 %");
    for calls in [&train_calls, &holdout] {
        let scams = calls.iter().filter(|c| c.label == Some(Label::Scam)).count();
        assert_eq!(scams * 2, calls.len(), "half scams");
        assert!(calls.iter().all(|c| (3..=12).contains(&c.turns.len())), "3 to 12 turns");
    }
    for c in &holdout {
        assert!(train_calls.iter().all(|t| t.id != c.id));
    }
}

#[test]
fn training_is_deterministic() {
    let calls = read(concat!(env!("CARGO_MANIFEST_DIR"), "/data/train.jsonl"));
    let options = TrainOptions { epochs: 40, ..TrainOptions::default() };
    let (a, _) = train(&calls, &[], &options);
    let (b, _) = train(&calls, &[], &options);
    assert_eq!(a, b);
    assert!(a.warn_threshold > 0.0 && a.warn_threshold < 1.0);
}
