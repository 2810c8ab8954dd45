//! The model store: a directory of whisper ggml models, each with a JSON record beside it.
//!
//! ```text
//! <store>/tiny.en.bin    the ggml model whisper.cpp loads
//! <store>/tiny.en.json   its record: sha256, size, kind, where it came from, when
//! ```
//!
//! Models enter only through [`ModelStore::import`], which validates every
//! byte before the model appears under its name: a ggml file is checked and
//! copied, a faster-whisper directory converted. Files are written to a
//! temporary name and renamed, so a crash never leaves half a model under a
//! real name (a crash can leave a `.partial-*` file, which listing ignores).
//! The record lets [`ModelStore::verify`] tell a damaged or altered model
//! from the one imported.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tempfile::NamedTempFile;
use time::OffsetDateTime;

use crate::atomic_file;
use crate::convert::{ConvertError, convert_ct2_model, is_ct2_model_dir};
use crate::ggml::GgmlType;
use crate::inspect::{InspectError, ModelInfo, inspect, read_layout};
use crate::progress::{Progress, Stage};

const MODEL_SUFFIX: &str = ".bin";
const RECORD_SUFFIX: &str = ".json";
const MAX_NAME_LEN: usize = 64;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or directory could not be read or written.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The name would not make a safe file name.
    #[error(
        "`{name}` is not a usable model name: use up to {MAX_NAME_LEN} letters, digits, '.', '_' or '-', starting with a letter or digit"
    )]
    InvalidName {
        /// The name given.
        name: String,
    },
    /// The import source is a directory without a CTranslate2 model.
    #[error("{} is a directory without a model.bin; import a ggml .bin file or a faster-whisper model directory", path.display())]
    NotAModelDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// A faster-whisper model could not be converted.
    #[error(transparent)]
    Convert(#[from] ConvertError),
    /// The file to import is not a usable whisper model.
    #[error(transparent)]
    Invalid(#[from] InspectError),
    /// A model of that name exists and overwriting was not asked for.
    #[error("model `{name}` already exists at {}; remove it first, or import again with --force to replace it", path.display())]
    AlreadyExists {
        /// The model name.
        name: String,
        /// Its file.
        path: PathBuf,
    },
    /// No model of that name is stored.
    #[error("no model `{name}` in {}", dir.display())]
    NotFound {
        /// The model name.
        name: String,
        /// The store directory.
        dir: PathBuf,
    },
    /// The model file is there but its record is not.
    #[error("model `{name}` has no record at {}; import it again", path.display())]
    MissingRecord {
        /// The model name.
        name: String,
        /// Where the record should be.
        path: PathBuf,
    },
    /// The record is not valid JSON of the expected shape.
    #[error("model record {} is damaged ({source}); import the model again", path.display())]
    BadRecord {
        /// The record file.
        path: PathBuf,
        /// What the JSON parser objected to.
        #[source]
        source: serde_json::Error,
    },
    /// The stored model no longer passes validation.
    #[error("model `{name}` is damaged; import it again: {source}")]
    Damaged {
        /// The model name.
        name: String,
        /// What the validation found.
        #[source]
        source: InspectError,
    },
    /// The stored model validates but is not the file that was imported.
    #[error(
        "model `{name}` has changed since it was imported: sha256 {actual} ({actual_size} bytes), the record says {recorded} ({recorded_size} bytes); import it again"
    )]
    ChecksumMismatch {
        /// The model name.
        name: String,
        /// sha256 in the record.
        recorded: String,
        /// Size in the record.
        recorded_size: u64,
        /// sha256 of the file now.
        actual: String,
        /// Size of the file now.
        actual_size: u64,
    },
}

/// What kind of source a model was imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// A whisper.cpp ggml file, copied as it was.
    Ggml,
    /// A faster-whisper (CTranslate2) model directory, converted.
    Ctranslate2,
}

/// The JSON record kept beside each model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// The model's name in the store.
    pub name: String,
    /// sha256 of the model file, lower-case hex.
    pub sha256: String,
    /// Size of the model file in bytes.
    pub size_bytes: u64,
    /// A one-line description, e.g. `whisper tiny.en, ggml f16`.
    pub kind: String,
    /// The file or directory it was imported from (absolute).
    pub source: PathBuf,
    /// What that source was.
    pub source_format: SourceFormat,
    /// When it was imported (UTC, RFC 3339 in the JSON).
    #[serde(with = "time::serde::rfc3339")]
    pub imported_at: OffsetDateTime,
}

/// How to import a model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// The name to store it under; by default the model's own (`tiny.en`, `base-q5_0`, ...).
    pub name: Option<String>,
    /// Replace a stored model of the same name instead of refusing.
    pub overwrite: bool,
}

/// A model just imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedModel {
    /// The stored model file.
    pub path: PathBuf,
    /// Its record, as written.
    pub record: ModelRecord,
    /// Whether it replaced a model of the same name.
    pub replaced: bool,
}

/// One entry of [`ModelStore::list`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedModel {
    /// The model's name.
    pub name: String,
    /// Its model file.
    pub path: PathBuf,
    /// Its record, if readable.
    pub record: Option<ModelRecord>,
    /// Why the entry is incomplete (no model file, or no readable record); `None` when it is whole.
    pub problem: Option<String>,
}

/// A model that passed [`ModelStore::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedModel {
    /// The model file.
    pub path: PathBuf,
    /// Its record, which the file matches.
    pub record: ModelRecord,
    /// What validation found.
    pub info: ModelInfo,
}

/// A model just removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedModel {
    /// Its name.
    pub name: String,
    /// Bytes freed by deleting the model file.
    pub freed_bytes: u64,
}

/// A directory of whisper ggml models, e.g. `<state_dir>/models/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelStore {
    dir: PathBuf,
}

impl ModelStore {
    /// A store in `dir`; the directory is created by the first import.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the model `name` is (or would be) stored; this is the file to give whisper.cpp.
    pub fn model_path(&self, name: &str) -> Result<PathBuf, StoreError> {
        check_name(name)?;
        Ok(self.dir.join(format!("{name}{MODEL_SUFFIX}")))
    }

    fn record_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{RECORD_SUFFIX}"))
    }

    /// Imports a ggml `.bin` file (validated, then copied) or a faster-whisper model directory (converted).
    ///
    /// The model is fully validated before it appears in the store. `progress`
    /// hears about converting or copying, then hashing.
    pub fn import(
        &self,
        source: &Path,
        options: &ImportOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<ImportedModel, StoreError> {
        if let Some(name) = &options.name {
            self.refuse_existing(name, options.overwrite)?;
        }
        let source = fs::canonicalize(source).map_err(io_error(source))?;
        fs::create_dir_all(&self.dir).map_err(io_error(&self.dir))?;
        let temp = atomic_file::temp_file_in(&self.dir).map_err(io_error(&self.dir))?;

        let source_format = if source.is_dir() {
            if !is_ct2_model_dir(&source) {
                return Err(StoreError::NotAModelDirectory { path: source });
            }
            convert_ct2_model(&source, temp.as_file(), progress)?;
            SourceFormat::Ctranslate2
        } else {
            copy_ggml(&source, &temp, progress)?;
            SourceFormat::Ggml
        };
        // Validate the bytes that will be stored, and hash them.
        let info = inspect(temp.path(), progress)?;

        let name = options.name.clone().unwrap_or_else(|| default_name(&info));
        let replaced = self.refuse_existing(&name, options.overwrite)?;
        let path = self.model_path(&name)?;
        atomic_file::persist(temp, &path, options.overwrite).map_err(|source| match source.kind() {
            io::ErrorKind::AlreadyExists => StoreError::AlreadyExists { name: name.clone(), path: path.clone() },
            _ => StoreError::Io { path: path.clone(), source },
        })?;
        let record = ModelRecord {
            name,
            sha256: info.sha256,
            size_bytes: info.size_bytes,
            kind: info.kind,
            source,
            source_format,
            imported_at: OffsetDateTime::now_utc(),
        };
        self.write_record(&record)?;
        Ok(ImportedModel { path, record, replaced })
    }

    /// Fails if model `name` exists and `overwrite` is false; tells whether it exists.
    fn refuse_existing(&self, name: &str, overwrite: bool) -> Result<bool, StoreError> {
        let path = self.model_path(name)?;
        let exists = path.try_exists().map_err(io_error(&path))?;
        if exists && !overwrite {
            return Err(StoreError::AlreadyExists { name: name.to_owned(), path });
        }
        Ok(exists)
    }

    /// Every model in the store, by name, including incomplete entries (with their problem).
    pub fn list(&self) -> Result<Vec<ListedModel>, StoreError> {
        let entries = match fs::read_dir(&self.dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            entries => entries.map_err(io_error(&self.dir))?,
        };
        let mut names = BTreeSet::new();
        for entry in entries {
            let file_name = entry.map_err(io_error(&self.dir))?.file_name();
            let Some(file_name) = file_name.to_str() else { continue };
            let stem = file_name.strip_suffix(MODEL_SUFFIX).or_else(|| file_name.strip_suffix(RECORD_SUFFIX));
            if let Some(name) = stem.filter(|name| check_name(name).is_ok()) {
                names.insert(name.to_owned());
            }
        }
        let mut models = Vec::new();
        for name in names {
            let path = self.model_path(&name)?;
            let record = self.read_record(&name);
            let problem = if !path.is_file() {
                Some("the model file is missing".to_owned())
            } else {
                record.as_ref().err().map(ToString::to_string)
            };
            models.push(ListedModel { name, path, record: record.ok(), problem });
        }
        Ok(models)
    }

    /// Re-validates model `name` and checks it is still the file that was imported.
    ///
    /// `progress` hears about hashing, which reads the whole file.
    pub fn verify(&self, name: &str, progress: &mut dyn FnMut(Progress)) -> Result<VerifiedModel, StoreError> {
        let path = self.model_path(name)?;
        let record = self.read_record(name)?;
        let info = inspect(&path, progress).map_err(|source| StoreError::Damaged { name: name.to_owned(), source })?;
        if info.sha256 != record.sha256 || info.size_bytes != record.size_bytes {
            return Err(StoreError::ChecksumMismatch {
                name: name.to_owned(),
                recorded: record.sha256,
                recorded_size: record.size_bytes,
                actual: info.sha256,
                actual_size: info.size_bytes,
            });
        }
        Ok(VerifiedModel { path, record, info })
    }

    /// Deletes model `name` and its record.
    pub fn remove(&self, name: &str) -> Result<RemovedModel, StoreError> {
        let model = self.model_path(name)?;
        let freed_bytes = fs::metadata(&model).map(|m| m.len()).unwrap_or(0);
        let removed_model = remove_if_present(&model)?;
        let removed_record = remove_if_present(&self.record_path(name))?;
        if !removed_model && !removed_record {
            return Err(StoreError::NotFound { name: name.to_owned(), dir: self.dir.clone() });
        }
        Ok(RemovedModel { name: name.to_owned(), freed_bytes })
    }

    fn read_record(&self, name: &str) -> Result<ModelRecord, StoreError> {
        let path = self.record_path(name);
        let bytes = match fs::read(&path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let model_exists = self.model_path(name)?.exists();
                return Err(if model_exists {
                    StoreError::MissingRecord { name: name.to_owned(), path }
                } else {
                    StoreError::NotFound { name: name.to_owned(), dir: self.dir.clone() }
                });
            }
            bytes => bytes.map_err(io_error(&path))?,
        };
        serde_json::from_slice(&bytes).map_err(|source| StoreError::BadRecord { path, source })
    }

    fn write_record(&self, record: &ModelRecord) -> Result<(), StoreError> {
        let path = self.record_path(&record.name);
        let mut json =
            serde_json::to_vec_pretty(record).map_err(|e| StoreError::Io { path: path.clone(), source: e.into() })?;
        json.push(b'\n');
        atomic_file::write_file(&path, &json).map_err(io_error(&path))
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_owned(), source }
}

/// Model names become file names: keep them to a safe alphabet, with no path separators or leading dot.
fn check_name(name: &str) -> Result<(), StoreError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !first_ok || !rest_ok || name.len() > MAX_NAME_LEN {
        return Err(StoreError::InvalidName { name: name.to_owned() });
    }
    Ok(())
}

/// The model's own name, with the weight type unless it is the usual f16: `tiny.en`, `base-q5_0`.
fn default_name(info: &ModelInfo) -> String {
    let name = info.layout.hparams.model_name();
    match info.layout.weight_type {
        GgmlType::F16 => name,
        other => format!("{name}-{}", other.name()),
    }
}

/// Checks that `source` is a whole ggml whisper model, then copies it to `dest`.
fn copy_ggml(source: &Path, dest: &NamedTempFile, progress: &mut dyn FnMut(Progress)) -> Result<(), StoreError> {
    let mut file = File::open(source).map_err(io_error(source))?;
    let layout = read_layout(BufReader::new(&mut file))
        .map_err(|e| InspectError::Format { path: source.to_owned(), source: e })?;
    file.rewind().map_err(io_error(source))?;
    let mut buf = vec![0; 1 << 20];
    let mut done = 0;
    loop {
        let n = file.read(&mut buf).map_err(io_error(source))?;
        if n == 0 {
            break;
        }
        dest.as_file().write_all(&buf[..n]).map_err(io_error(dest.path()))?;
        done += n as u64;
        progress(Progress { stage: Stage::Copying, done, total: layout.file_len });
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<bool, StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StoreError::Io { path: path.to_owned(), source: e }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ggml_writer::tests::small_model;

    /// A store in a fresh directory, and a valid ggml model file outside it.
    fn setup() -> (tempfile::TempDir, ModelStore, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::new(dir.path().join("models"));
        let source = dir.path().join("ggml-small.bin");
        fs::write(&source, small_model()).unwrap();
        (dir, store, source)
    }

    fn import(store: &ModelStore, source: &Path, options: &ImportOptions) -> Result<ImportedModel, StoreError> {
        store.import(source, options, &mut |_| {})
    }

    #[test]
    fn imports_lists_verifies_and_removes_a_ggml_model() {
        let (_dir, store, source) = setup();
        let mut stages = Vec::new();
        let imported = store.import(&source, &ImportOptions::default(), &mut |p| stages.push(p.stage)).unwrap();
        assert_eq!(imported.record.name, "custom-1-layer.en");
        assert_eq!(imported.record.source_format, SourceFormat::Ggml);
        assert_eq!(imported.record.size_bytes, small_model().len() as u64);
        assert_eq!(imported.path, store.dir().join("custom-1-layer.en.bin"));
        assert!(!imported.replaced);
        assert_eq!((stages.first(), stages.last()), (Some(&Stage::Copying), Some(&Stage::Hashing)));
        assert_eq!(fs::read(&imported.path).unwrap(), small_model());

        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!((listed[0].record.as_ref(), listed[0].problem.as_ref()), (Some(&imported.record), None));

        let verified = store.verify("custom-1-layer.en", &mut |_| {}).unwrap();
        assert_eq!(verified.info.sha256, imported.record.sha256);

        let removed = store.remove("custom-1-layer.en").unwrap();
        assert_eq!(removed.freed_bytes, imported.record.size_bytes);
        assert!(store.list().unwrap().is_empty());
        assert!(matches!(store.remove("custom-1-layer.en"), Err(StoreError::NotFound { .. })));
    }

    #[test]
    fn refuses_to_overwrite_unless_asked() {
        let (_dir, store, source) = setup();
        let named = ImportOptions { name: Some("fast".into()), overwrite: false };
        import(&store, &source, &named).unwrap();
        let err = import(&store, &source, &named).unwrap_err();
        assert!(matches!(err, StoreError::AlreadyExists { ref name, .. } if name == "fast"), "{err}");
        let replaced = import(&store, &source, &ImportOptions { overwrite: true, ..named }).unwrap();
        assert!(replaced.replaced);
        let leftovers: Vec<_> = fs::read_dir(store.dir()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 2, "only the model and its record: {leftovers:?}");
    }

    #[test]
    fn verify_tells_damage_from_alteration() {
        let (_dir, store, source) = setup();
        let imported = import(&store, &source, &ImportOptions::default()).unwrap();
        let name = &imported.record.name;

        // A changed weight keeps the file well-formed, but it is no longer the imported file.
        let mut bytes = fs::read(&imported.path).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        fs::write(&imported.path, &bytes).unwrap();
        let err = store.verify(name, &mut |_| {}).unwrap_err();
        assert!(matches!(err, StoreError::ChecksumMismatch { .. }), "{err}");

        bytes.truncate(bytes.len() - 3);
        fs::write(&imported.path, &bytes).unwrap();
        let err = store.verify(name, &mut |_| {}).unwrap_err();
        assert!(matches!(err, StoreError::Damaged { .. }), "{err}");
        assert!(err.to_string().contains("tensor data at byte"), "{err}");
    }

    #[test]
    fn refuses_foreign_sources_naming_them() {
        let (dir, store, _) = setup();
        let text = dir.path().join("notes.txt");
        fs::write(&text, "not a model\n").unwrap();
        let err = import(&store, &text, &ImportOptions::default()).unwrap_err();
        assert!(err.to_string().contains("notes.txt is not a usable whisper model"), "{err}");
        assert!(err.to_string().contains("looks like text"), "{err}");

        let err = import(&store, dir.path(), &ImportOptions::default()).unwrap_err();
        assert!(matches!(err, StoreError::NotAModelDirectory { .. }), "{err}");

        let err = import(&store, &dir.path().join("absent.bin"), &ImportOptions::default()).unwrap_err();
        assert!(matches!(err, StoreError::Io { .. }), "{err}");
        assert!(store.list().unwrap().is_empty(), "a failed import leaves nothing behind");
    }

    #[test]
    fn names_must_be_safe_file_names() {
        for bad in ["", "../etc/passwd", ".hidden", "a/b", "tiny en", &"x".repeat(65)] {
            assert!(matches!(check_name(bad), Err(StoreError::InvalidName { .. })), "{bad:?}");
        }
        for good in ["tiny.en", "base-q5_0", "large-v3", "M1"] {
            check_name(good).unwrap();
        }
    }

    #[test]
    fn list_reports_incomplete_entries() {
        let (_dir, store, source) = setup();
        let imported = import(&store, &source, &ImportOptions::default()).unwrap();
        fs::write(store.dir().join("orphan.json"), "{}").unwrap();
        fs::remove_file(store.dir().join(format!("{}.json", imported.record.name))).unwrap();
        let listed = store.list().unwrap();
        let problems: Vec<_> = listed.iter().map(|m| (m.name.as_str(), m.problem.clone().unwrap())).collect();
        assert_eq!(problems.len(), 2);
        assert!(problems[0].1.contains("has no record"), "{problems:?}");
        assert_eq!(problems[1], ("orphan", "the model file is missing".to_owned()));
        let err = store.verify(&imported.record.name, &mut |_| {}).unwrap_err();
        assert!(matches!(err, StoreError::MissingRecord { .. }), "{err}");
    }
}
