//! The results folder (`--out`): created, written to and locked before the first request or
//! health try, so a run whose results could not be kept never starts, and two runs never
//! mix their files; each file is written under a temporary name and renamed into place, so a
//! reader never sees half a file.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The lock file inside a results folder, while a run holds it.
pub(crate) const LOCK_FILE: &str = ".loadplan.lock";

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
    pub fn open(path: &Path) -> Result<Self, String> {
        std::fs::create_dir_all(path)
            .map_err(|e| format!("cannot create the results folder `{}`: {e}", path.display()))?;
        let lock_path = path.join(LOCK_FILE);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| {
                format!(
                    "cannot write in the results folder `{}`: {e}",
                    path.display()
                )
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = lock.read_to_string(&mut holder);
                return Err(format!(
                    "the results folder `{}` is in use by another loadplan run ({}); wait for it or choose another `--out`",
                    path.display(),
                    holder.trim()
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(format!("cannot lock `{}`: {e}", lock_path.display()));
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
            .map_err(|e| {
                format!(
                    "cannot write in the results folder `{}`: {e}",
                    path.display()
                )
            })?;
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
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, String> {
        let path = self.path.join(name);
        let temp = self.path.join(format!(".{name}.partial"));
        std::fs::write(&temp, bytes)
            .and_then(|()| std::fs::rename(&temp, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&temp);
                format!("cannot write `{}`: {e}", path.display())
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
        let second = ResultsDir::open(dir.path()).unwrap_err();
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
        let e = ResultsDir::open(&dir.path().join("file/results")).unwrap_err();
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
