//! The judge's prompt and the grammar its answer must follow.
//!
//! The prompt is the model's own chat template (read from the GGUF and
//! applied once by llama.cpp, to a placeholder) or ChatML when the model
//! has none llama.cpp knows, with a fixed system instruction and one user
//! message: the signaling facts, then the transcript, last, so that the
//! prompt of a later checkpoint extends the earlier one and its evaluated
//! tokens can be kept.
//!
//! Call content is spliced into the rendered template here, in buffers
//! this crate zeroes, rather than passed through llama.cpp's template
//! engine, which copies it into buffers it frees without zeroing.

/// What the model is told to do.
pub const SYSTEM: &str = "You check phone calls for an anti-scam service. Read the network facts and the call \
transcript, and judge whether the caller is running a phone scam. Answer only with JSON: \
{\"scam_probability\": a number from 0 to 1, \"tactics\": the scam tactics the caller uses, as codes such as \
authority_impersonation, bank_impersonation, company_impersonation, urgency_threat, unusual_payment, \
secret_request, otp_request, remote_access, secrecy, prize_or_refund, family_emergency, investment, \
callback_mismatch (empty if none), \"reason\": one short sentence for the person called}.";

/// Stands for the user message while the template is rendered.
pub const PLACEHOLDER: &str = "\u{1}USER\u{1}";

/// The user message, signaling facts first, transcript last.
pub fn user_message(signaling: &str, transcript: &str) -> String {
    let signaling = signaling.trim();
    let mut text = String::with_capacity(signaling.len() + transcript.len() + 64);
    text.push_str("Network facts:\n");
    text.push_str(if signaling.is_empty() { "none" } else { signaling });
    text.push_str("\n\nTranscript so far:\n");
    text.push_str(transcript.trim_end());
    text
}

/// A ChatML rendering, for models without a template llama.cpp knows.
pub fn chatml(system: &str) -> (String, String) {
    (
        format!("<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n"),
        "<|im_end|>\n<|im_start|>assistant\n".into(),
    )
}

/// Most characters of a reason the grammar lets through.
pub const REASON_CHARS: usize = callguard_llm_protocol::MAX_REASON_CHARS;
/// Most tactics the grammar lets through.
pub const TACTICS: usize = 6;

/// The GBNF grammar of an answer: one JSON object with exactly the three
/// keys in order, a probability written `0`, `0.x…` or `1`, at most
/// [`TACTICS`] identifier codes of at most 32 characters, and a reason of
/// at most [`REASON_CHARS`] JSON string characters, no line breaks.
pub fn grammar() -> String {
    format!(
        r#"root ::= "{{" ws "\"scam_probability\":" ws prob "," ws "\"tactics\":" ws tactics "," ws "\"reason\":" ws reason ws "}}"
prob ::= "0" ("." [0-9] [0-9]? [0-9]?)? | "1" ("." "0" "0"? "0"?)?
tactics ::= "[" ws ( tactic ( "," ws tactic ){{0,{more}}} )? ws "]"
tactic ::= "\"" [a-z] [a-z0-9_]{{0,31}} "\""
reason ::= "\"" char{{0,{REASON_CHARS}}} "\""
char ::= [^"\\\x00-\x1F\x7F] | "\\" ["\\/]
ws ::= " "?
"#,
        more = TACTICS - 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transcript_comes_last_so_a_longer_one_extends_the_prompt() {
        let first = user_message("not attested\n", "caller: hello\n");
        let later = user_message("not attested", "caller: hello\ncallee: hi");
        assert!(later.starts_with(&first), "{first:?} / {later:?}");
        assert!(user_message("", "x").contains("none"));
    }

    #[test]
    fn chatml_wraps_the_user_message() {
        let (head, tail) = chatml("S");
        assert!(head.ends_with("<|im_start|>user\n") && tail.ends_with("assistant\n"));
    }
}
