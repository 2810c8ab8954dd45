//! Normalization and tokenization of transcript text.
//!
//! Speech-to-text output is lowercased, contractions are expanded ("don't" →
//! "do not", "we'll" → "we will"), possessive `'s` is dropped, and the text
//! is split into runs of letters or digits. A `$` becomes the token
//! `dollar` and `%` becomes `percent`, so amounts survive as words. Input is
//! bounded: at most [`MAX_TURN_BYTES`] bytes of an utterance are read (cut
//! at a character boundary) and at most [`MAX_TURN_TOKENS`] tokens kept.

/// The longest utterance read, in bytes; the rest is ignored.
pub const MAX_TURN_BYTES: usize = 4096;
/// The most tokens kept from one utterance.
pub const MAX_TURN_TOKENS: usize = 640;

/// Cuts `text` to at most `max` bytes at a character boundary.
pub fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Splits an utterance into normalized tokens.
pub fn tokenize(text: &str) -> Vec<String> {
    let text = truncate(text, MAX_TURN_BYTES);
    let mut tokens: Vec<String> = Vec::with_capacity(text.len() / 5 + 1);
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if tokens.len() >= MAX_TURN_TOKENS {
            break;
        }
        if c.is_alphanumeric() {
            // A letter after digits (or digits after letters) starts a new
            // token only for digits: "1st" stays, "press1" splits.
            if !current.is_empty() {
                let last_digit = current.chars().last().is_some_and(|l| l.is_ascii_digit());
                if last_digit != c.is_ascii_digit() && c.is_ascii_digit() {
                    push_word(&mut tokens, &mut current);
                }
            }
            current.extend(c.to_lowercase());
        } else if c == '\'' || c == '\u{2019}' || c == '`' {
            // An apostrophe inside a word: keep it for contraction handling.
            if !current.is_empty() && chars.peek().is_some_and(|n| n.is_alphabetic()) {
                current.push('\'');
            } else {
                push_word(&mut tokens, &mut current);
            }
        } else {
            push_word(&mut tokens, &mut current);
            match c {
                '$' | '\u{20ac}' | '\u{a3}' => tokens.push("dollar".to_owned()),
                '%' => tokens.push("percent".to_owned()),
                _ => {}
            }
        }
    }
    push_word(&mut tokens, &mut current);
    tokens.truncate(MAX_TURN_TOKENS);
    join_compounds(tokens)
}

/// Words speech-to-text often splits, joined back: "any desk" → "anydesk".
const COMPOUNDS: &[(&str, &str, &str)] = &[
    ("pass", "code", "passcode"),
    ("pass", "codes", "passcodes"),
    ("pass", "word", "password"),
    ("any", "desk", "anydesk"),
    ("team", "viewer", "teamviewer"),
    ("i", "tunes", "itunes"),
    ("bit", "coin", "bitcoin"),
    ("bit", "coins", "bitcoins"),
    ("pay", "pal", "paypal"),
    ("money", "gram", "moneygram"),
    ("gift", "cars", "gift"),
    ("cash", "app", "cashapp"),
    ("i", "cloud", "icloud"),
];

fn join_compounds(tokens: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut iter = tokens.into_iter().peekable();
    while let Some(token) = iter.next() {
        let joined = iter
            .peek()
            .and_then(|next| COMPOUNDS.iter().find(|(a, b, _)| *a == token && *b == next).map(|(_, _, j)| *j));
        match joined {
            // "gift cars" (ASR for "gift cards") becomes "gift cards".
            Some("gift") => {
                iter.next();
                out.push("gift".to_owned());
                out.push("cards".to_owned());
            }
            Some(j) => {
                iter.next();
                out.push(j.to_owned());
            }
            None => out.push(token),
        }
    }
    out
}

fn push_word(tokens: &mut Vec<String>, current: &mut String) {
    if current.is_empty() {
        return;
    }
    let word = std::mem::take(current);
    if !word.contains('\'') {
        tokens.push(word);
        return;
    }
    let expanded: &[&str] = match word.as_str() {
        "won't" => &["will", "not"],
        "can't" => &["can", "not"],
        "shan't" => &["shall", "not"],
        "ain't" => &["is", "not"],
        "i'm" => &["i", "am"],
        "it's" => &["it", "is"],
        "that's" => &["that", "is"],
        "there's" => &["there", "is"],
        "what's" => &["what", "is"],
        "he's" => &["he", "is"],
        "she's" => &["she", "is"],
        "who's" => &["who", "is"],
        "here's" => &["here", "is"],
        "let's" => &["let", "us"],
        _ => &[],
    };
    if !expanded.is_empty() {
        tokens.extend(expanded.iter().map(|s| (*s).to_owned()));
        return;
    }
    let (stem, tail): (&str, &[&str]) = if let Some(stem) = word.strip_suffix("n't") {
        (stem, &["not"])
    } else if let Some(stem) = word.strip_suffix("'ll") {
        (stem, &["will"])
    } else if let Some(stem) = word.strip_suffix("'re") {
        (stem, &["are"])
    } else if let Some(stem) = word.strip_suffix("'ve") {
        (stem, &["have"])
    } else if let Some(stem) = word.strip_suffix("'d") {
        (stem, &["would"])
    } else if let Some(stem) = word.strip_suffix("'m") {
        (stem, &["am"])
    } else if let Some(stem) = word.strip_suffix("'s") {
        (stem, &[])
    } else {
        (word.as_str(), &[])
    };
    let stem = stem.replace('\'', "");
    if !stem.is_empty() {
        tokens.push(stem);
    }
    tokens.extend(tail.iter().map(|s| (*s).to_owned()));
}

/// The value of a spoken digit word ("zero".."nine", "oh"), if it is one.
pub fn digit_word(token: &str) -> Option<char> {
    Some(match token {
        "zero" | "oh" => '0',
        "one" => '1',
        "two" => '2',
        "three" => '3',
        "four" => '4',
        "five" => '5',
        "six" => '6',
        "seven" => '7',
        "eight" => '8',
        "nine" => '9',
        _ => return None,
    })
}

/// Digit strings of at least `min_len` digits spoken in a row (digit tokens
/// and digit words), with the index of the token where each starts.
pub fn digit_runs(tokens: &[String], min_len: usize) -> Vec<(usize, String)> {
    let mut runs = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, token) in tokens.iter().enumerate() {
        let digits: Option<String> = if token.bytes().all(|b| b.is_ascii_digit()) {
            Some(token.clone())
        } else {
            digit_word(token).map(String::from)
        };
        match digits {
            Some(d) => {
                if current.is_empty() {
                    start = i;
                }
                if current.len() < 32 {
                    current.push_str(&d);
                }
            }
            None => {
                if current.len() >= min_len {
                    runs.push((start, std::mem::take(&mut current)));
                }
                current.clear();
            }
        }
    }
    if current.len() >= min_len {
        runs.push((start, current));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<String> {
        tokenize(s)
    }

    #[test]
    fn contractions_and_case() {
        assert_eq!(
            toks("We'll NEVER ask; don't share it."),
            ["we", "will", "never", "ask", "do", "not", "share", "it"]
        );
        assert_eq!(toks("It's the bank's fraud team"), ["it", "is", "the", "bank", "fraud", "team"]);
        assert_eq!(toks("I won't, I can't"), ["i", "will", "not", "i", "can", "not"]);
    }

    #[test]
    fn money_digits_and_hyphens() {
        assert_eq!(
            toks("$299 one-time code 833-304-1447"),
            ["dollar", "299", "one", "time", "code", "833", "304", "1447"]
        );
        assert_eq!(toks("press1 now, 50%"), ["press", "1", "now", "50", "percent"]);
    }

    #[test]
    fn digit_runs_join_words_and_numbers() {
        let t = toks("call us at 833-304-1447 or eight hundred");
        assert_eq!(digit_runs(&t, 7), vec![(3, "8333041447".to_owned())]);
        let t = toks("the code is four five six one two three");
        assert_eq!(digit_runs(&t, 4), vec![(3, "456123".to_owned())]);
    }

    #[test]
    fn split_words_are_joined() {
        assert_eq!(toks("read me the pass code"), ["read", "me", "the", "passcode"]);
        assert_eq!(toks("download any desk, buy gift cars"), ["download", "anydesk", "buy", "gift", "cards"]);
    }

    #[test]
    fn bounds_hold_on_huge_and_odd_input() {
        let huge = "word ".repeat(100_000);
        assert!(tokenize(&huge).len() <= MAX_TURN_TOKENS);
        let odd = "é".repeat(5000);
        assert!(tokenize(&odd).len() <= MAX_TURN_TOKENS);
        assert!(tokenize("''' ' `'` \u{2019}").is_empty());
        assert_eq!(truncate("aé", 2), "a");
    }
}
