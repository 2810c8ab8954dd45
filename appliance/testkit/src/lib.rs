//! Helpers shared by the tests of several callguard crates, so each test
//! file keeps only what it checks. A dev-dependency only: nothing in the
//! appliance links it.

pub mod audio;
pub mod vm;
