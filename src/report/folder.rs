//! The results folder (`--out`): created, written to and locked before the first request or
//! health try, so a run whose results could not be kept never starts, and two runs never
//! mix their files; each file is written under a temporary name and renamed into place, so a
//! reader never sees half a file.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The lock file inside a results folder, while a run holds it.
pub(crate) const LOCK_FILE: &str = ".loadplan.lock";

/// Why the results folder cannot be used: the tool's own failure (exit 3), found before
/// anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// The folder cannot be created.
    #[error("cannot create the results folder `{}`: {source}", path.display())]
    Create {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Files cannot be written in it (read-only, full).
    #[error("cannot write in the results folder `{}`: {source}", path.display())]
    Unwritable {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Another run holds it.
    #[error(
        "the results folder `{}` is in use by another loadplan run ({holder}); wait for it or choose another `--out`",
        path.display()
    )]
    InUse {
        /// The folder.
        path: PathBuf,
        /// Who holds it: `process 123, since …`.
        holder: String,
    },
    /// The OS refused the lock.
    #[error("cannot lock `{}`: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// One file cannot be written.
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// A results folder held for one run. Dropping it releases the folder.
#[derive(Debug)]
pub struct ResultsDir {
    path: PathBuf,
    // Locked (an OS advisory lock, released when the process ends, however it ends) for as
    // long as the run holds the folder.
    lock: File,
}

impl ResultsDir {
    /// Creates `path` if missing, checks that files can be written in it, and takes it for
    /// this run. The error says which path and why: another run holds it, or the OS refused.
    pub fn open(path: &Path) -> Result<Self, FolderError> {
        let unwritable = |source| FolderError::Unwritable {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(path).map_err(|source| FolderError::Create {
            path: path.to_path_buf(),
            source,
        })?;
        let lock_path = path.join(LOCK_FILE);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(unwritable)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = lock.read_to_string(&mut holder);
                return Err(FolderError::InUse {
                    path: path.to_path_buf(),
                    holder: holder.trim().to_owned(),
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(FolderError::Lock {
                    path: lock_path,
                    source: e,
                });
            }
        }
        // The holder's name is also the write probe: a full disk or a read-only folder
        // fails here, before any load.
        let holder = format!(
            "process {}, since {}\n",
            std::process::id(),
            super::format::rfc3339(std::time::SystemTime::now())
        );
        lock.set_len(0)
            .and_then(|()| lock.write_all(holder.as_bytes()))
            .and_then(|()| lock.sync_data())
            .map_err(unwritable)?;
        Ok(ResultsDir {
            path: path.to_path_buf(),
            lock,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `name` in the folder: all of it or, on failure, nothing new.
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, FolderError> {
        let path = self.path.join(name);
        let temp = self.path.join(format!(".{name}.partial"));
        std::fs::write(&temp, bytes)
            .and_then(|()| std::fs::rename(&temp, &path))
            .map_err(|source| {
                let _ = std::fs::remove_file(&temp);
                FolderError::Write {
                    path: path.clone(),
                    source,
                }
            })?;
        Ok(path)
    }
}

impl Drop for ResultsDir {
    fn drop(&mut self) {
        // Removed while still locked; the lock itself goes with the file handle.
        let _ = std::fs::remove_file(self.path.join(LOCK_FILE));
        let _ = self.lock.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_named() {
        let dir = tempfile::tempdir().unwrap();
        let first = ResultsDir::open(dir.path()).unwrap();
        let second = ResultsDir::open(dir.path()).unwrap_err().to_string();
        assert!(
            second.contains("in use by another loadplan run"),
            "{second}"
        );
        assert!(
            second.contains(&format!("process {}", std::process::id())),
            "{second}"
        );
        drop(first);
        assert!(!dir.path().join(LOCK_FILE).exists());
        ResultsDir::open(dir.path()).unwrap();
    }

    #[test]
    fn a_folder_below_a_file_is_refused_with_the_os_reason() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("file"), "x").unwrap();
        let e = ResultsDir::open(&dir.path().join("file/results"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot create the results folder"), "{e}");
        assert!(e.contains("file/results"), "{e}");
    }

    #[test]
    fn files_replace_whole_and_leave_no_partial() {
        let dir = tempfile::tempdir().unwrap();
        let out = ResultsDir::open(dir.path()).unwrap();
        out.write("a.json", b"one").unwrap();
        out.write("a.json", b"two").unwrap();
        assert_eq!(std::fs::read(dir.path().join("a.json")).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(".partial")), "{names:?}");
    }
}
