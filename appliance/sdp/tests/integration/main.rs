//! Integration tests: realistic SIPREC offers from tests/data, answered and
//! checked line by line, plus malformed and truncated input.

mod answers;
mod common;
mod parsing;
mod reoffers;
mod robustness;
