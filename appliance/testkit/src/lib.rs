//! Helpers shared by the tests of several callguard crates, so each test
//! file keeps only what it checks. A dev-dependency only: nothing in the
//! appliance links it.

pub mod audio;
pub mod models;
pub mod vm;

use std::path::{Path, PathBuf};

/// `callguard/` in the user's cache directory, where set-up leaves what
/// tests need but the repository must not hold (models, kernels).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .expect("neither XDG_CACHE_HOME nor HOME is set")
        .join("callguard")
}
