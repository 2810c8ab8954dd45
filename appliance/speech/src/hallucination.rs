//! Clean-up of whisper's known failure modes on what comes back.
//!
//! Whisper was trained on subtitled video: given noise, music or silence it
//! writes what subtitles say there ("Thank you.", "Thanks for watching!",
//! "[BLANK_AUDIO]", "(music)"), and once its decoder starts repeating it
//! may loop ("the the the…", one sentence many times). The VAD keeps most
//! non-speech away; this removes what gets through:
//!
//! * non-speech markers — anything in brackets, parentheses or asterisks,
//!   and `♪` — always;
//! * the stock silence phrases when the chunk was mostly not speech, or
//!   the segment's confidence is low;
//! * a word or phrase repeated three or more times in a row, inside a
//!   segment or across consecutive segments, kept once. A speaker's own
//!   "no, no, no" becomes "no": a small loss for the detector.

use crate::transcriber::Segment;

/// Phrases whisper writes over silence and noise, normalised (lower case,
/// letters, digits and apostrophes).
const SILENCE_PHRASES: &[&str] = &[
    "you",
    "thank you",
    "thank you very much",
    "thanks for watching",
    "thank you for watching",
    "thanks for listening",
    "please subscribe",
    "subscribe to my channel",
    "bye",
    "bye bye",
    "the end",
];

/// A phrase repeated this many times in a row is a decoder loop.
const LOOP_REPEATS: usize = 3;
/// Longest phrase, in words, checked for loops.
const LOOP_MAX_WORDS: usize = 32;

/// Thresholds for dropping stock phrases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HallucinationFilter {
    /// A chunk whose [`speech_ratio`](crate::Chunk::speech_ratio) is below
    /// this is mostly not speech, and its stock phrases are dropped.
    pub min_speech_ratio: f32,
    /// A stock phrase with confidence below this is dropped whatever the
    /// chunk held.
    pub min_confidence: f32,
}

impl Default for HallucinationFilter {
    fn default() -> Self {
        Self { min_speech_ratio: 0.5, min_confidence: 0.4 }
    }
}

impl HallucinationFilter {
    /// The segments of one chunk, cleaned. `speech_ratio` is the chunk's.
    pub fn clean(&self, segments: Vec<Segment>, speech_ratio: f32) -> Vec<Segment> {
        let mut cleaned: Vec<(String, Segment)> = Vec::with_capacity(segments.len());
        for mut segment in segments {
            let text = collapse_loops(&strip_markers(&segment.text));
            let key = normalise(&text);
            let stock = SILENCE_PHRASES.contains(&key.as_str());
            if key.is_empty()
                || stock && (speech_ratio < self.min_speech_ratio || segment.confidence < self.min_confidence)
            {
                continue;
            }
            segment.text = text;
            cleaned.push((key, segment));
        }
        // Runs of LOOP_REPEATS or more identical segments become one,
        // spanning the run.
        let mut kept: Vec<Segment> = Vec::with_capacity(cleaned.len());
        let mut iter = cleaned.into_iter().peekable();
        while let Some((key, mut first)) = iter.next() {
            let mut copies = Vec::new();
            while let Some((_, copy)) = iter.next_if(|(k, _)| *k == key) {
                copies.push(copy);
            }
            if copies.len() + 1 >= LOOP_REPEATS {
                first.end = copies.last().map_or(first.end, |last| last.end);
                kept.push(first);
            } else {
                kept.push(first);
                kept.extend(copies);
            }
        }
        kept
    }
}

/// The text without bracketed, parenthesised or starred spans and music
/// notes, whitespace collapsed.
fn strip_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut closing: Option<char> = None;
    for c in text.chars() {
        match (closing, c) {
            (Some(close), c) if c == close => closing = None,
            (Some(_), _) => {}
            (None, '[') => closing = Some(']'),
            (None, '(') => closing = Some(')'),
            (None, '*') => closing = Some('*'),
            (None, '♪' | '♫') => out.push(' '),
            (None, c) => out.push(c),
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lower case, letters, digits and apostrophes, single spaces.
fn normalise(text: &str) -> String {
    text.split_whitespace().map(normalise_word).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

fn normalise_word(word: &str) -> String {
    word.chars().filter(|c| c.is_alphanumeric() || *c == '\'').flat_map(char::to_lowercase).collect()
}

/// Keeps one copy of any run of [`LOOP_REPEATS`] or more identical
/// phrases (compared normalised); the shortest repeating phrase wins.
fn collapse_loops(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let keys: Vec<String> = words.iter().map(|w| normalise_word(w)).collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    let mut i = 0;
    'scan: while i < words.len() {
        for n in 1..=LOOP_MAX_WORDS.min((words.len() - i) / LOOP_REPEATS) {
            let phrase = &keys[i..i + n];
            let repeats = 1 + (1..).take_while(|r| keys.get(i + r * n..i + (r + 1) * n) == Some(phrase)).count();
            if repeats >= LOOP_REPEATS {
                out.extend_from_slice(&words[i..i + n]);
                i += repeats * n;
                continue 'scan;
            }
        }
        out.push(words[i]);
        i += 1;
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn seg(text: &str, confidence: f32) -> Segment {
        Segment { start: Duration::from_secs(1), end: Duration::from_secs(2), text: text.to_owned(), confidence }
    }

    fn texts(segments: &[Segment]) -> Vec<&str> {
        segments.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn markers_are_removed_and_empty_segments_dropped() {
        let f = HallucinationFilter::default();
        let out = f.clean(
            vec![seg("[BLANK_AUDIO]", 0.9), seg("(music)", 0.9), seg("♪ ♪", 0.9), seg("Hello [Music] there", 0.9)],
            1.0,
        );
        assert_eq!(texts(&out), ["Hello there"]);
    }

    #[test]
    fn stock_phrases_are_dropped_only_from_mostly_non_speech_or_unsure_output() {
        let f = HallucinationFilter::default();
        assert!(f.clean(vec![seg("Thank you.", 0.9)], 0.3).is_empty());
        assert!(f.clean(vec![seg(" Thanks for watching!", 0.9)], 0.2).is_empty());
        assert!(f.clean(vec![seg("you", 0.2)], 0.9).is_empty());
        assert_eq!(texts(&f.clean(vec![seg("Thank you.", 0.9)], 0.8)), ["Thank you."]);
        assert_eq!(texts(&f.clean(vec![seg("Thank you for calling.", 0.9)], 0.1)), ["Thank you for calling."]);
    }

    #[test]
    fn word_and_sentence_loops_collapse_to_one_copy() {
        assert_eq!(collapse_loops("the the the the bank"), "the bank");
        assert_eq!(collapse_loops("very very good"), "very very good");
        assert_eq!(
            collapse_loops("Call us now. Call us now. call us now! Call us now. Press one."),
            "Call us now. Press one."
        );
        assert_eq!(collapse_loops("a b a b a b a"), "a b a");
    }

    #[test]
    fn repeated_segments_fold_into_the_first_from_the_third_copy() {
        let f = HallucinationFilter::default();
        let mut segs: Vec<Segment> = (0..4u64)
            .map(|i| Segment {
                start: Duration::from_secs(i),
                end: Duration::from_secs(i + 1),
                text: "Your account is suspended.".into(),
                confidence: 0.8,
            })
            .collect();
        segs.push(seg("Press one.", 0.8));
        let out = f.clean(segs, 1.0);
        assert_eq!(texts(&out), ["Your account is suspended.", "Press one."]);
        assert_eq!((out[0].start, out[0].end), (Duration::from_secs(0), Duration::from_secs(4)));

        let twice = f.clean(vec![seg("Hello?", 0.8), seg("Hello?", 0.8)], 1.0);
        assert_eq!(texts(&twice), ["Hello?", "Hello?"], "two copies may be real");
    }
}
