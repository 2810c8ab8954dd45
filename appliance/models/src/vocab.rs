//! The token vocabulary: from CTranslate2's `vocabulary.txt` to the raw bytes whisper.cpp wants.
//!
//! Whisper's tokenizer is GPT-2's byte-level BPE. Its tokens are byte
//! strings, but tokenizer files spell each byte as a printable character
//! (GPT-2's `bytes_to_unicode` table: `Ġ` for a space, `Ċ` for a newline),
//! one token per line. whisper.cpp stores the raw bytes and only the
//! ordinary tokens: it names the special tokens (`<|endoftext|>` and
//! after) itself from their ids, so the vocabulary written to the ggml file
//! stops before `<|endoftext|>`, as whisper.cpp's own converter does.

/// The first special token; whisper.cpp's vocabulary ends just before it.
pub const END_OF_TEXT: &str = "<|endoftext|>";

/// Why a `vocabulary.txt` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VocabularyError {
    /// A token uses a character outside GPT-2's byte alphabet.
    #[error("vocabulary line {line}: token `{token}` has a character that stands for no byte")]
    NotByteLevel {
        /// 1-based line number.
        line: usize,
        /// The token as written.
        token: String,
    },
    /// The special tokens are missing, so this is not a Whisper vocabulary.
    #[error("vocabulary has no `{END_OF_TEXT}` token; it is not a Whisper vocabulary")]
    NoEndOfText,
}

/// GPT-2's byte-to-character table, inverted: the byte that character `c` stands for.
fn byte_for_char(c: char) -> Option<u8> {
    match u32::from(c) {
        // Printable Latin-1 bytes stand for themselves.
        code @ (0x21..=0x7e | 0xa1..=0xac | 0xae..=0xff) => Some(code as u8),
        // The other 68 bytes, in increasing order, were moved to U+0100 and up:
        // 0x00..=0x20, then 0x7f..=0xa0, then 0xad.
        code @ 0x100..=0x120 => Some((code - 0x100) as u8),
        code @ 0x121..=0x142 => Some((code - 0x121 + 0x7f) as u8),
        0x143 => Some(0xad),
        _ => None,
    }
}

/// Decodes one token from GPT-2's printable spelling to its bytes.
pub fn token_bytes(token: &str) -> Option<Vec<u8>> {
    token.chars().map(byte_for_char).collect()
}

/// Reads `vocabulary.txt` (one token per line) into the byte strings whisper.cpp stores.
///
/// Returns the tokens before [`END_OF_TEXT`], in id order.
pub fn whisper_vocabulary(text: &str) -> Result<Vec<Vec<u8>>, VocabularyError> {
    let mut tokens = Vec::new();
    for (i, token) in text.split('\n').enumerate() {
        if token == END_OF_TEXT {
            return Ok(tokens);
        }
        let bytes =
            token_bytes(token).ok_or_else(|| VocabularyError::NotByteLevel { line: i + 1, token: token.into() })?;
        tokens.push(bytes);
    }
    Err(VocabularyError::NoEndOfText)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_gpt2_byte_spelling() {
        assert_eq!(token_bytes("Ġhello").unwrap(), b" hello");
        assert_eq!(token_bytes("Ċ").unwrap(), b"\n");
        assert_eq!(token_bytes("Ā").unwrap(), [0u8]);
        assert_eq!(token_bytes("ł").unwrap(), [0xa0]);
        assert_eq!(token_bytes("Ń").unwrap(), [0xad]);
        // "é" as UTF-8 is 0xc3 0xa9, spelled with the Latin-1 characters Ã and ©.
        assert_eq!(token_bytes("Ã©").unwrap(), "é".as_bytes());
        assert_eq!(token_bytes("€"), None);
    }

    #[test]
    fn every_byte_has_exactly_one_character() {
        let chars: Vec<char> = (0x21..0x180).filter_map(char::from_u32).collect();
        let mut seen = [0u32; 256];
        for c in chars {
            if let Some(b) = byte_for_char(c) {
                seen[usize::from(b)] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
    }

    #[test]
    fn stops_before_the_special_tokens() {
        let vocab = whisper_vocabulary("!\nĠthe\n<|endoftext|>\n<|startoftranscript|>\n").unwrap();
        assert_eq!(vocab, vec![b"!".to_vec(), b" the".to_vec()]);
    }

    #[test]
    fn rejects_foreign_vocabularies() {
        assert_eq!(whisper_vocabulary("a\nb\n"), Err(VocabularyError::NoEndOfText));
        assert!(matches!(whisper_vocabulary("a\nb c\n"), Err(VocabularyError::NotByteLevel { line: 2, .. })));
    }
}
