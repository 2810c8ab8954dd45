//! Shared by the worker's tests and its bench: where the model is, and
//! scripted calls.
#![allow(dead_code)] // each user takes what it needs

use std::path::PathBuf;

/// The test model: `$CALLGUARD_TEST_LLM_MODEL` (to measure another one),
/// else SmolLM2-135M-Instruct Q4_1 as the test set-up fetches it.
pub fn model() -> PathBuf {
    std::env::var_os("CALLGUARD_TEST_LLM_MODEL").map(PathBuf::from).unwrap_or_else(callguard_testkit::models::smollm2)
}

/// A scam call, a turn a line.
pub const SCAM: &[&str] = &[
    "caller: Hello, this is Officer Daniel Brooks from the fraud department of your bank.",
    "callee: Oh, hello. Is something wrong?",
    "caller: We detected a suspicious transfer of 2,400 dollars from your checking account this morning.",
    "callee: I did not make any transfer.",
    "caller: That is why I am calling. To block it I need to verify your identity right now.",
    "caller: We just sent you a six digit code by text message. Please read it to me.",
    "callee: It says do not share this code with anyone.",
    "caller: That is for strangers, I am from the bank. If you do not read it the account will be closed today.",
    "caller: And do not tell anyone at the branch, this is an internal investigation.",
];

/// A legitimate call that looks a little like one.
pub const BENIGN: &[&str] = &[
    "caller: Hi Mum, it's Sarah. Are you still coming for dinner on Sunday?",
    "callee: Yes, of course. What time should I come?",
    "caller: Around six. Tom is making his lasagne.",
    "callee: Lovely. Should I bring anything?",
    "caller: Maybe a dessert, and remember the bank is closed on Monday if you need cash.",
    "callee: Thanks, I'll go on Saturday then. See you Sunday.",
];

/// The lines joined into a transcript.
pub fn transcript(lines: &[&str]) -> String {
    lines.join("\n")
}
