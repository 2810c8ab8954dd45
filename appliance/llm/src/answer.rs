//! The model's answer: JSON that the grammar shaped, possibly cut short by
//! the token budget, parsed and cleaned into a verdict's fields.

use callguard_llm_protocol::{MAX_REASON_CHARS, MAX_TACTICS, is_tactic_code};
use serde::Deserialize;
use zeroize::Zeroize;

/// The JSON the grammar forces.
#[derive(Deserialize)]
struct Raw {
    scam_probability: f64,
    #[serde(default)]
    tactics: Vec<String>,
    #[serde(default)]
    reason: String,
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.reason.zeroize();
    }
}

/// A parsed answer, within the protocol's bounds.
#[derive(Clone, PartialEq)]
pub struct Answer {
    /// Within `0..=1`.
    pub scam_probability: f32,
    /// Identifier codes only, no duplicates, at most
    /// [`MAX_TACTICS`].
    pub tactics: Vec<String>,
    /// At most [`MAX_REASON_CHARS`] characters, trimmed.
    pub reason: String,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("scam_probability", &self.scam_probability)
            .field("tactics", &self.tactics)
            .field("reason_chars", &self.reason.chars().count())
            .finish()
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.reason.zeroize();
    }
}

/// Why an answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    /// Not JSON of the expected shape even after closing what the token
    /// budget cut (the position, never the text).
    #[error("the model's answer is not the expected JSON ({category} error at column {column}); raise max_tokens?")]
    Malformed {
        /// serde_json's category.
        category: &'static str,
        /// Where.
        column: usize,
    },
    /// The probability is not a number within 0..=1 (the grammar should
    /// prevent it).
    #[error("the model's scam probability is not a number within 0..=1")]
    Probability,
}

/// Where the tracker is in the JSON text.
#[derive(Debug, Default, Clone)]
pub struct JsonTracker {
    stack: Vec<u8>,
    in_string: bool,
    escaped: bool,
    started: bool,
    len: usize,
    last_member_end: Option<usize>,
}

impl JsonTracker {
    /// Feeds generated text.
    pub fn feed(&mut self, text: &[u8]) {
        for &b in text {
            self.len += 1;
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.started = true;
                    self.stack.push(b);
                }
                b'}' | b']' => {
                    self.stack.pop();
                }
                // A comma between the outer object's members: everything
                // before it is complete members.
                b',' if self.stack.len() == 1 => self.last_member_end = Some(self.len - 1),
                _ => {}
            }
        }
    }

    /// Whether the outermost object has been closed.
    pub fn complete(&self) -> bool {
        self.started && self.stack.is_empty() && !self.in_string
    }

    /// Appends to `text` what closes it: an open string and open
    /// brackets, a dangling separator dropped, a key without value given
    /// an empty string.
    pub fn close(&self, text: &mut Vec<u8>) {
        if self.in_string {
            if self.escaped {
                text.pop();
            }
            text.push(b'"');
        }
        while text.last().is_some_and(|b| b.is_ascii_whitespace()) {
            text.pop();
        }
        match text.last() {
            Some(b',') => {
                text.pop();
            }
            Some(b':') => text.extend_from_slice(b"\"\""),
            _ => {}
        }
        for open in self.stack.iter().rev() {
            text.push(if *open == b'{' { b'}' } else { b']' });
        }
    }
}

/// Parses the generated `text` (closed first if the budget cut it),
/// clamps the probability, keeps identifier tactics (deduplicated, at most
/// [`MAX_TACTICS`]) and trims the reason to [`MAX_REASON_CHARS`]
/// characters. `text` is zeroed.
pub fn parse(text: &mut Vec<u8>) -> Result<Answer, AnswerError> {
    let mut tracker = JsonTracker::default();
    tracker.feed(text);
    let complete = tracker.complete();
    let mut closed = text.clone();
    if !complete {
        tracker.close(&mut closed);
    }
    let mut parsed = serde_json::from_slice::<Raw>(&closed);
    closed.zeroize();
    if let (Err(_), false, Some(end)) = (&parsed, complete, tracker.last_member_end) {
        // Cut inside a member (a key, or a value of the wrong shape once
        // closed): keep the complete members before it.
        let mut members = text[..end].to_vec();
        members.push(b'}');
        if let Ok(raw) = serde_json::from_slice::<Raw>(&members) {
            parsed = Ok(raw);
        }
        members.zeroize();
    }
    text.zeroize();
    let raw = parsed.map_err(|e| AnswerError::Malformed {
        category: match e.classify() {
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Data => "shape",
            serde_json::error::Category::Eof => "end of text",
            serde_json::error::Category::Io => "io",
        },
        column: e.column(),
    })?;
    if !raw.scam_probability.is_finite() {
        return Err(AnswerError::Probability);
    }
    let mut tactics: Vec<String> = Vec::new();
    for tactic in &raw.tactics {
        let code = tactic.trim();
        if is_tactic_code(code) && !tactics.iter().any(|t| t == code) && tactics.len() < MAX_TACTICS {
            tactics.push(code.to_owned());
        }
    }
    let reason: String = raw.reason.trim().chars().take(MAX_REASON_CHARS).collect();
    Ok(Answer {
        scam_probability: raw.scam_probability.clamp(0.0, 1.0) as f32,
        tactics,
        reason: reason.trim_end().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Answer, AnswerError> {
        parse(&mut text.as_bytes().to_vec())
    }

    #[test]
    fn a_complete_answer_is_cleaned() {
        let a = parsed(r#"{"scam_probability": 1.5, "tactics": ["otp_request", "Bad Code", "otp_request", "x"], "reason": " Asks for the code. "}"#)
            .unwrap();
        assert_eq!(a.scam_probability, 1.0);
        assert_eq!(a.tactics, ["otp_request", "x"]);
        assert_eq!(a.reason, "Asks for the code.");
        let long = format!(r#"{{"scam_probability": 0, "tactics": [], "reason": "{}"}}"#, "é".repeat(300));
        assert_eq!(parsed(&long).unwrap().reason.chars().count(), MAX_REASON_CHARS);
    }

    #[test]
    fn an_answer_cut_by_the_budget_is_closed() {
        let a = parsed(r#"{"scam_probability": 0.7, "tactics": ["bank_impersonation"], "reason": "The caller says he is from the ba"#).unwrap();
        assert_eq!((a.scam_probability, a.reason.as_str()), (0.7, "The caller says he is from the ba"));
        assert_eq!(parsed(r#"{"scam_probability": 0.7, "tactics": ["a"], "reason": "x\"#).unwrap().reason, "x");
        assert_eq!(parsed(r#"{"scam_probability": 0.7, "tactics": ["a"], "reason":"#).unwrap().reason, "");
        let cut = parsed(r#"{"scam_probability": 0.7, "tactics": ["a", "b"#).unwrap();
        assert_eq!((cut.tactics.len(), cut.reason.as_str()), (2, ""));
        assert!(matches!(parsed(r#"{"scam_prob"#), Err(AnswerError::Malformed { .. })));
        let cut = parsed(r#"{"scam_probability": 0.85, "tactics"#).unwrap();
        assert_eq!((cut.scam_probability, cut.tactics.len(), cut.reason.as_str()), (0.85, 0, ""));
        let cut = parsed(r#"{"scam_probability": 0.85, "tactics": ["a"], "rea"#).unwrap();
        assert_eq!(cut.tactics, ["a"]);
        assert!(parsed("").is_err());
    }

    #[test]
    fn the_tracker_sees_the_end_of_the_object_only_outside_strings() {
        let mut t = JsonTracker::default();
        t.feed(br#"{"reason": "a } \" ] {"#);
        assert!(!t.complete());
        t.feed(br#"", "tactics": []"#);
        assert!(!t.complete());
        t.feed(b"}");
        assert!(t.complete());
    }
}
