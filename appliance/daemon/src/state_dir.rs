//! The state directory: where the database and control socket live, and
//! the lock that keeps two daemons off one directory.

use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use callguard_config::Config;

/// Where the appliance keeps its files, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The state directory itself.
    pub state_dir: PathBuf,
    /// The SQLite database.
    pub database: PathBuf,
    /// The control socket.
    pub control_socket: PathBuf,
    /// The speech model store (`callguard models`).
    pub models: PathBuf,
    lock: PathBuf,
}

impl Paths {
    /// The paths for a loaded configuration.
    pub fn of(config: &Config) -> Paths {
        let state_dir = config.appliance.state_dir.clone().unwrap_or_else(|| PathBuf::from("var"));
        Paths {
            database: state_dir.join(callguard_store::Store::FILE_NAME),
            control_socket: config.control.socket.clone().unwrap_or_else(|| state_dir.join("control.sock")),
            lock: state_dir.join("callguard.lock"),
            models: state_dir.join("models"),
            state_dir,
        }
    }

    /// Creates the state directory (owner and group only) if it is missing.
    pub fn create_state_dir(&self) -> Result<(), StateDirError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o750)
            .create(&self.state_dir)
            .map_err(|source| StateDirError::Create { path: self.state_dir.clone(), source })
    }
}

/// Why the state directory cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateDirError {
    /// The directory or its lock file could not be created.
    #[error("cannot create {}: {source} (set appliance.state_dir to a writable directory)", path.display())]
    Create {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Another daemon holds the lock.
    #[error("another callguard daemon{} is already running with state directory {}; stop it first (systemctl stop callguard)",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default(), path.display())]
    InUse {
        /// The state directory.
        path: PathBuf,
        /// The other daemon's pid, if it could be read.
        pid: Option<u32>,
    },
}

/// The state directory, claimed by this process until dropped.
#[derive(Debug)]
pub struct StateDir {
    _lock: File,
}

impl StateDir {
    /// Creates the directory if needed and takes its lock.
    pub fn claim(paths: &Paths) -> Result<StateDir, StateDirError> {
        paths.create_state_dir()?;
        let create_err = |source| StateDirError::Create { path: paths.lock.clone(), source };
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&paths.lock)
            .map_err(create_err)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StateDirError::InUse { path: paths.state_dir.clone(), pid: read_pid(&mut lock) });
            }
            Err(TryLockError::Error(source)) => return Err(create_err(source)),
        }
        lock.set_len(0).map_err(create_err)?;
        writeln!(lock, "{}", std::process::id()).map_err(create_err)?;
        Ok(StateDir { _lock: lock })
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config_in(dir: &Path) -> Config {
        let mut config = Config::default();
        config.appliance.state_dir = Some(dir.join("state"));
        config
    }

    #[test]
    fn paths_follow_the_state_dir_unless_the_socket_is_configured() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config_in(dir.path());
        let paths = Paths::of(&config);
        assert!(paths.database.starts_with(&paths.state_dir));
        assert_eq!(paths.control_socket, dir.path().join("state/control.sock"));
        config.control.socket = Some("/run/callguard/control.sock".into());
        assert_eq!(Paths::of(&config).control_socket, Path::new("/run/callguard/control.sock"));
    }

    #[test]
    fn one_daemon_per_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::of(&config_in(dir.path()));
        let first = StateDir::claim(&paths).unwrap();
        let err = StateDir::claim(&paths).unwrap_err();
        assert!(matches!(err, StateDirError::InUse { pid: Some(p), .. } if p == std::process::id()), "{err}");
        drop(first);
        StateDir::claim(&paths).expect("the lock is released with the first claim");
    }
}
