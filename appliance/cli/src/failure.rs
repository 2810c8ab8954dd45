//! A failed command: its message and its exit code.

use std::process::ExitCode;

/// A command that failed, and how the process should exit.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl Failure {
    /// Bad arguments or configuration: exit 2.
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Failure { code: 2, error: error.into() }
    }

    /// The command could not do its work: exit 1.
    pub fn runtime(error: impl Into<anyhow::Error>) -> Self {
        Failure { code: 1, error: error.into() }
    }

    /// Already reported (e.g. as JSON on stdout): exit with `code`, print nothing more.
    pub fn silent(code: u8) -> Self {
        Failure { code, error: anyhow::Error::msg("") }
    }

    /// Prints the message chain on one line and returns the exit code.
    /// A cause whose text an outer message already quotes is not repeated.
    pub fn report(self) -> ExitCode {
        let mut message = String::new();
        for cause in self.error.chain() {
            let text = cause.to_string();
            if text.is_empty() || message.contains(&text) {
                continue;
            }
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        if !message.is_empty() {
            eprintln!("callguard: error: {message}");
        }
        ExitCode::from(self.code)
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::runtime(error)
    }
}
