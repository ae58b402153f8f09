//! [`OutputLock`]: one command at a time in an output folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{LOCK_FILE, OutputError, create_dir, recover};

/// An exclusive lock on an output folder, held until dropped: the lock file
/// [`LOCK_FILE`] in it, locked with the operating system's file lock (released
/// when the process ends, however it ends) and holding the holder's pid and
/// command for the message another process gets.
#[derive(Debug)]
pub struct OutputLock {
    dir: PathBuf,
    file: std::fs::File,
    created_dir: bool,
}

impl OutputLock {
    /// Locks `dir` (creating it if needed) for `command`, then finishes an
    /// interrupted commit there and removes stale staging folders ([`recover`]).
    /// Fails with [`OutputError::Locked`] when another process holds it.
    pub fn acquire(dir: &Path, command: &str) -> Result<OutputLock, OutputError> {
        let created_dir = std::fs::symlink_metadata(dir).is_err();
        create_dir(dir)?;
        let path = dir.join(LOCK_FILE);
        // The holder removes the lock file as it leaves: a lock taken on a file
        // that is no longer at `path` is taken again on the new one.
        let file = loop {
            let file = lock_file(dir, &path)?;
            if same_file(&file, &path) {
                break file;
            }
        };
        let mut file = file;
        let err = |source| OutputError::Write {
            path: path.clone(),
            source,
        };
        file.set_len(0).map_err(err)?;
        writeln!(file, "pid {}: {}", std::process::id(), command).map_err(err)?;
        let lock = OutputLock {
            dir: dir.to_path_buf(),
            file,
            created_dir,
        };
        recover(dir)?;
        Ok(lock)
    }
}

/// Opens the lock file `path` of `dir` (never through a link) and takes its lock.
fn lock_file(dir: &Path, path: &Path) -> Result<std::fs::File, OutputError> {
    let err = |source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    };
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(OutputError::Link {
            path: path.to_path_buf(),
        });
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(err)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            let text = crate::input::read_to_string(path, 1 << 16, "lock file").unwrap_or_default();
            let holder = match text.lines().next().map(str::trim) {
                Some(l) if !l.is_empty() => l.to_string(),
                _ => "holder unknown".to_string(),
            };
            Err(OutputError::Locked {
                dir: dir.to_path_buf(),
                holder,
            })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(err(e)),
    }
}

/// Whether the open `file` is the file at `path` (not followed if a link).
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

impl Drop for OutputLock {
    /// The lock file goes, while still locked, so that the folder holds only what
    /// the command wrote; a folder this lock created that stayed empty goes too.
    fn drop(&mut self) {
        let path = self.dir.join(LOCK_FILE);
        if same_file(&self.file, &path) {
            let _ = std::fs::remove_file(&path);
        }
        if self.created_dir {
            // Fails, as it should, unless the folder is empty.
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}
