//! The previous text of one leg, kept as whisper's decoding prompt: it
//! carries names, numbers and spelling across chunk boundaries. Memory
//! only, bounded, zeroed when replaced or dropped.

use std::fmt;

use zeroize::Zeroize;

/// Default bound: about the last two sentences. Whisper accepts up to 224
/// prompt tokens, but a long prompt slows decoding and makes loops more
/// likely.
pub const DEFAULT_PROMPT_CHARS: usize = 200;

/// The last `limit` characters (or fewer, starting at a word) of a leg's
/// cleaned text.
#[derive(Clone, PartialEq, Eq)]
pub struct PromptHistory {
    text: String,
    limit: usize,
}

impl PromptHistory {
    /// An empty history keeping at most `limit` characters.
    pub fn new(limit: usize) -> Self {
        Self { text: String::new(), limit }
    }

    /// The prompt for the leg's next chunk.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Appends a cleaned segment's text, then drops whole words from the
    /// front until the limit holds.
    pub fn record(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let mut joined = String::with_capacity(self.text.len() + 1 + text.len());
        joined.push_str(&self.text);
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(text);
        let chars = joined.chars().count();
        let keep = if chars <= self.limit {
            joined.clone()
        } else {
            // Byte offset of the first character to keep, then forward to
            // the start of the next word.
            let from = joined.char_indices().nth(chars - self.limit).map_or(joined.len(), |(i, _)| i);
            let word = if joined[..from].ends_with(' ') {
                from
            } else {
                joined[from..].find(' ').map_or(joined.len(), |space| from + space + 1)
            };
            joined[word..].to_owned()
        };
        joined.zeroize();
        self.text.zeroize();
        self.text = keep;
    }

    /// Forgets everything (the call ended).
    pub fn clear(&mut self) {
        self.text.zeroize();
    }
}

impl fmt::Debug for PromptHistory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptHistory").field("chars", &self.text.chars().count()).field("limit", &self.limit).finish()
    }
}

impl Drop for PromptHistory {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_latest_text_within_the_limit_starting_at_a_word() {
        let mut h = PromptHistory::new(20);
        h.record("This is your bank.");
        assert_eq!(h.as_str(), "This is your bank.");
        h.record(" Buy gift cards. ");
        // "bank." would be cut mid-word, so it goes whole.
        assert_eq!(h.as_str(), "Buy gift cards.");
        h.record("   ");
        assert_eq!(h.as_str(), "Buy gift cards.");
        h.record("Go now!!");
        assert_eq!(h.as_str(), "gift cards. Go now!!", "a cut at a word start keeps that word");
    }

    #[test]
    fn never_exceeds_the_limit_and_handles_multibyte_text() {
        let mut h = PromptHistory::new(30);
        for _ in 0..50 {
            h.record("Ihre Überweisung über 500 € wurde gestoppt.");
            assert!(h.as_str().chars().count() <= 30, "{:?}", h.as_str());
        }
        h.clear();
        assert_eq!(h.as_str(), "");
        assert!(!format!("{h:?}").contains("Überweisung"));
    }
}
