//! A tiny token pattern language for the tactic rules.
//!
//! A pattern is a space-separated list of items matched against normalized
//! tokens (see [`crate::text`]):
//!
//! - `word` matches that token; `word*` any token starting with `word`;
//! - `a|b|c` any of the alternatives; adding `_` (`a|b|_`) makes it optional;
//! - `*` alone matches any one token;
//! - `..` skips up to 3 tokens, `...` up to 6.
//!
//! Patterns are compiled once; matching is a small backtracking search over
//! one utterance's tokens, bounded by the pattern's length and gap sizes.

#[derive(Debug, Clone)]
enum Item {
    Alt { words: Vec<(String, bool)>, optional: bool, any: bool },
    Gap(usize),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    items: Vec<Item>,
}

impl Pattern {
    /// Compiles a pattern; the syntax is in the module docs.
    pub(crate) fn compile(source: &str) -> Pattern {
        let items = source
            .split_whitespace()
            .map(|part| match part {
                ".." => Item::Gap(3),
                "..." => Item::Gap(6),
                "*" => Item::Alt { words: Vec::new(), optional: false, any: true },
                _ => {
                    let mut optional = false;
                    let mut words = Vec::new();
                    for alt in part.split('|') {
                        if alt == "_" {
                            optional = true;
                        } else if let Some(stem) = alt.strip_suffix('*') {
                            words.push((stem.to_owned(), true));
                        } else {
                            words.push((alt.to_owned(), false));
                        }
                    }
                    Item::Alt { words, optional, any: false }
                }
            })
            .collect();
        Pattern { items }
    }

    /// The first match in `tokens`: `(start, end)` token indexes, end exclusive.
    pub(crate) fn find(&self, tokens: &[String]) -> Option<(usize, usize)> {
        (0..tokens.len()).find_map(|start| self.match_at(0, tokens, start).map(|end| (start, end)))
    }

    /// Every non-overlapping match in `tokens`.
    #[cfg(test)]
    pub(crate) fn find_all(&self, tokens: &[String]) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        let mut start = 0;
        while start < tokens.len() {
            match self.match_at(0, tokens, start) {
                Some(end) if end > start => {
                    found.push((start, end));
                    start = end;
                }
                _ => start += 1,
            }
        }
        found
    }

    fn match_at(&self, item: usize, tokens: &[String], pos: usize) -> Option<usize> {
        let Some(current) = self.items.get(item) else {
            return Some(pos);
        };
        match current {
            Item::Gap(n) => (0..=*n)
                .filter(|skip| pos + skip <= tokens.len())
                .find_map(|skip| self.match_at(item + 1, tokens, pos + skip)),
            Item::Alt { words, optional, any } => {
                let here = tokens.get(pos).is_some_and(|token| {
                    *any || words
                        .iter()
                        .any(|(w, prefix)| if *prefix { token.starts_with(w.as_str()) } else { token == w })
                });
                let matched = if here { self.match_at(item + 1, tokens, pos + 1) } else { None };
                matched.or_else(|| if *optional { self.match_at(item + 1, tokens, pos) } else { None })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenize;

    #[test]
    fn alternatives_prefixes_gaps_and_optionals() {
        let p = Pattern::compile("gift card*");
        assert_eq!(p.find(&tokenize("buy some Gift Cards now")), Some((2, 4)));
        let p = Pattern::compile("read|tell .. code|passcode");
        assert_eq!(p.find(&tokenize("can you read me the code")), Some((2, 6)));
        assert_eq!(p.find(&tokenize("read a b c d code")), None);
        let p = Pattern::compile("one time pass|_ code");
        assert!(p.find(&tokenize("the one time code")).is_some());
        assert!(p.find(&tokenize("the one time pass word code")).is_none());
        let p = Pattern::compile("press * to");
        assert_eq!(p.find_all(&tokenize("press 1 to talk, press 2 to stop")).len(), 2);
    }
}
