//! Shared by the worker's tests and its `rtf` bench: where the model is,
//! espeak-ng speech through G.711, word error rate.
#![allow(dead_code)] // each user takes what it needs

use std::path::{Path, PathBuf};
use std::process::Command;

/// Scripted sentences, the voice and speed that say them, and the words
/// that matter in each (lower case, digits as digits).
pub const SCRIPT: &[(&str, u32, &str, &[&str])] = &[
    ("en-us", 160, "You need to buy a gift card at the store today.", &["gift card"]),
    ("en-us+f3", 170, "This is the police, there is a warrant for your arrest.", &["police", "warrant", "arrest"]),
    ("en-gb", 150, "I am calling from your bank about suspicious activity.", &["bank"]),
    ("en-us+m3", 140, "Your social security number has been suspended.", &["social security", "suspended"]),
    ("en-us", 130, "Read me the code, it is 4 7 1 9.", &["code", "4", "7", "1", "9"]),
    ("en-us+f4", 160, "Do not tell anyone at the bank about this call.", &["bank"]),
    ("en-gb+m3", 175, "Transfer the money to a safe account right now.", &["money", "account"]),
    ("en-us", 150, "Press one to speak to an officer.", &["1", "officer"]),
    ("en-us+f2", 160, "Your computer has a virus, give me remote access.", &["computer", "virus"]),
    ("en-us", 145, "The payment of 500 dollars must be made in bitcoin.", &["500", "dollars", "bitcoin"]),
];

/// The ggml model: `$CALLGUARD_STT_MODEL` (to measure another one), else
/// tiny.en as the test set-up converts it.
pub fn model() -> PathBuf {
    std::env::var_os("CALLGUARD_STT_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(callguard_testkit::models::whisper_tiny_en)
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run {program} ({e}); these tests need espeak-ng and sox: apt-get install espeak-ng sox")
    });
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn read_wav(path: &Path) -> Vec<i16> {
    hound::WavReader::open(path).unwrap().samples::<i16>().map(|s| s.unwrap()).collect()
}

/// espeak-ng saying `text` at 16 kHz; through 8 kHz µ-law and back when
/// `g711`.
pub fn speech(dir: &Path, voice: &str, speed: u32, text: &str, g711: bool) -> Vec<i16> {
    let raw = dir.join("espeak.wav");
    let wide = dir.join("wide.wav");
    run("espeak-ng", &["-v", voice, "-s", &speed.to_string(), "-w", raw.to_str().unwrap(), text]);
    if !g711 {
        run("sox", &[raw.to_str().unwrap(), "-r", "16000", "-b", "16", wide.to_str().unwrap()]);
        return read_wav(&wide);
    }
    let mu = dir.join("mu.wav");
    run("sox", &[raw.to_str().unwrap(), "-r", "8000", "-c", "1", "-e", "mu-law", mu.to_str().unwrap()]);
    run("sox", &[mu.to_str().unwrap(), "-r", "16000", "-e", "signed", "-b", "16", wide.to_str().unwrap()]);
    read_wav(&wide)
}

/// Lower case words, punctuation dropped, numbers as single digits
/// ("four seven", "47" and "4, 7" all become "4 7"), "$5" as "5 dollars".
pub fn words(text: &str) -> Vec<String> {
    const DIGITS: [&str; 10] = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    let mut out = Vec::new();
    for raw in text.to_lowercase().split(|c: char| c.is_whitespace() || c == '-' || c == ',') {
        let word: String = raw.chars().filter(|c| c.is_alphanumeric() || *c == '\'').collect();
        if word.is_empty() {
            continue;
        }
        let dollars = raw.starts_with('$') && word.chars().all(|c| c.is_ascii_digit());
        if let Some(d) = DIGITS.iter().position(|d| *d == word) {
            out.push(d.to_string());
        } else if word.chars().all(|c| c.is_ascii_digit()) {
            out.extend(word.chars().map(|c| c.to_string()));
            if dollars {
                out.push("dollars".to_owned());
            }
        } else {
            out.push(word);
        }
    }
    out
}

/// Word error rate of `hypothesis` against `reference` (edit distance over
/// reference length).
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let (r, h) = (words(reference), words(hypothesis));
    let mut row: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, hw) in h.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(rw != hw)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[h.len()] as f64 / r.len().max(1) as f64
}

/// Whether `keyword` (normalised like [`words`]) starts at a word of
/// `text`: "gift card" is found in "gift cards".
pub fn has_keyword(text: &str, keyword: &str) -> bool {
    format!(" {}", words(text).join(" ")).contains(&format!(" {}", words(keyword).join(" ")))
}
