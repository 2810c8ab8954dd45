//! Writing files so that a crash or power cut leaves either the old file or the complete new one.
//!
//! Data goes to a hidden temporary file in the destination's directory
//! (so the final rename stays on one filesystem), is synced, then renamed
//! over the destination, and the directory is synced so the rename itself
//! survives a power cut.

use std::fs::File;
use std::io;
use std::path::Path;

use tempfile::NamedTempFile;

/// Prefix of temporary files, so a leftover from a crash is recognisable.
pub(crate) const TEMP_PREFIX: &str = ".partial-";

fn parent_dir(dest: &Path) -> &Path {
    dest.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// A new temporary file in `dir`, where the finished file will live.
pub(crate) fn temp_file_in(dir: &Path) -> io::Result<NamedTempFile> {
    tempfile::Builder::new().prefix(TEMP_PREFIX).tempfile_in(dir)
}

/// A new temporary file in the directory `dest` will live in.
pub(crate) fn temp_file_for(dest: &Path) -> io::Result<NamedTempFile> {
    temp_file_in(parent_dir(dest))
}

/// Moves a finished temporary file to `dest`; unless `overwrite`, fails with `AlreadyExists` if `dest` exists.
pub(crate) fn persist(temp: NamedTempFile, dest: &Path, overwrite: bool) -> io::Result<()> {
    temp.as_file().sync_all()?;
    let persisted = if overwrite { temp.persist(dest) } else { temp.persist_noclobber(dest) };
    persisted.map_err(|e| e.error)?;
    File::open(parent_dir(dest))?.sync_all()
}

/// Writes `bytes` to `dest` atomically, replacing any old file.
pub(crate) fn write_file(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut temp = temp_file_for(dest)?;
    io::Write::write_all(&mut temp, bytes)?;
    persist(temp, dest, true)
}
