//! Atomic file output: every file is written to a temporary file in the same
//! folder and renamed into place, so a failure never leaves a half-written file.
//!
//! [`Staging`] makes a set of files appear together or not at all, journalled so
//! that [`recover`] finishes a commit that was interrupted; [`OutputLock`] keeps
//! two commands out of one output folder.

use std::io::Write;
use std::path::{Path, PathBuf};

/// An error while writing an output file or folder.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The output folder could not be created.
    #[error("cannot create output folder {path}: {source}")]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A path inside an output folder is a symbolic link: onelayer never writes
    /// or removes through one.
    #[error(
        "{path} is a symbolic link; onelayer never writes through links in an output folder: \
         remove it or choose another output folder"
    )]
    Link {
        /// The link.
        path: PathBuf,
    },
    /// A path where an output goes is of the other kind (a file where a folder
    /// goes, or a folder where a file goes).
    #[error(
        "{path} is a {found} where onelayer writes a {wanted}: move it or choose another output folder"
    )]
    Collision {
        /// The path.
        path: PathBuf,
        /// What is there: "file", "folder" or "special file".
        found: &'static str,
        /// What onelayer writes there: "file" or "folder".
        wanted: &'static str,
    },
    /// Another process holds the output folder's lock.
    #[error(
        "output folder {dir} is in use by another onelayer ({holder}); \
         wait for it to finish or choose another output folder"
    )]
    Locked {
        /// The folder.
        dir: PathBuf,
        /// What the lock file says of its holder (pid and command).
        holder: String,
    },
    /// An interrupted commit found in the folder could not be finished.
    #[error("cannot finish the interrupted commit recorded in {path}: {reason}")]
    Recover {
        /// The journal.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// Creates `dir` (and its parents) if needed.
pub fn create_dir(dir: &Path) -> Result<(), OutputError> {
    std::fs::create_dir_all(dir).map_err(|source| OutputError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `path` atomically: `fill` writes into a temporary file beside it, which
/// is renamed to `path` only once `fill` has succeeded and the data is flushed.
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    let err = |source| OutputError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".onelayer-").suffix(".tmp");
    // Like any file a program creates: rw for all, less the umask (not tempfile's 0600).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir).map_err(err)?;
    {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        fill(&mut w).map_err(err)?;
        w.flush().map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Writes bytes to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    write_atomic(path, |w| w.write_all(bytes))
}

/// The name of the journal of a commit in progress, in the output folder.
pub const JOURNAL: &str = ".onelayer-commit.json";

/// The prefix of onelayer's staging folders in an output folder.
pub const STAGING_PREFIX: &str = ".onelayer-staging-";

/// The name of the lock file in an output folder.
pub const LOCK_FILE: &str = ".onelayer.lock";

/// Flushes a folder's entries (renames) to disk; a failure only loses durability.
fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

/// Checks that the output `rel` (a relative path of plain names) can be written
/// under `dir` without following a link: every folder on the way is a folder or
/// absent, and the file is a file or absent. `dir` itself is the user's choice
/// and may be a link.
pub fn check_target(dir: &Path, rel: &Path) -> Result<(), OutputError> {
    let names: Vec<_> = rel.components().collect();
    let mut path = dir.to_path_buf();
    for (i, c) in names.iter().enumerate() {
        let std::path::Component::Normal(name) = c else {
            return Err(OutputError::Write {
                path: dir.join(rel),
                source: std::io::Error::other("not a plain name inside the output folder"),
            });
        };
        path.push(name);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(OutputError::Write { path, source }),
        };
        let ft = meta.file_type();
        if ft.is_symlink() {
            return Err(OutputError::Link { path });
        }
        let wanted = if i + 1 == names.len() {
            "file"
        } else {
            "folder"
        };
        let found = if ft.is_dir() {
            "folder"
        } else if ft.is_file() {
            "file"
        } else {
            "special file"
        };
        if found != wanted {
            return Err(OutputError::Collision {
                path,
                found,
                wanted,
            });
        }
    }
    Ok(())
}

mod journal;
mod lock;
mod staging;

pub use journal::recover;
pub use lock::OutputLock;
pub use staging::Staging;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_leaves_no_file_and_is_taken_again() {
        let dir = tempfile::tempdir().unwrap();
        let first = OutputLock::acquire(dir.path(), "first").unwrap();
        let again = OutputLock::acquire(dir.path(), "second").unwrap_err();
        assert!(again.to_string().contains("first"), "{again}");
        drop(first);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let second = OutputLock::acquire(dir.path(), "second").unwrap();
        drop(second);
        assert!(dir.path().exists());
    }

    #[test]
    fn failed_fill_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        let r = write_atomic(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn successful_write_replaces_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write_bytes_atomic(&path, b"one").unwrap();
        write_bytes_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
    }

    #[test]
    fn staged_files_appear_together_or_not_at_all() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        let mut st = Staging::new(&dir).unwrap();
        st.write_bytes("a.txt", b"a").unwrap();
        st.write_bytes("run/b.txt", b"b").unwrap();
        assert!(!dir.join("a.txt").exists());
        let r = st.write("run/c.txt", |_| Err(std::io::Error::other("boom")));
        assert!(r.unwrap_err().to_string().contains("run/c.txt"));
        drop(st);
        assert!(
            !dir.exists(),
            "a failed staging leaves no folder it created"
        );

        let mut st = Staging::new(&dir).unwrap();
        st.write_bytes("a.txt", b"a").unwrap();
        st.write_bytes("run/b.txt", b"b").unwrap();
        let files = st.commit().unwrap();
        assert_eq!(files, vec![dir.join("a.txt"), dir.join("run/b.txt")]);
        assert_eq!(std::fs::read(dir.join("run/b.txt")).unwrap(), b"b");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_commit_killed_between_renames_is_finished_by_recover() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        std::fs::create_dir_all(dir.join("run")).unwrap();
        std::fs::write(dir.join("a.txt"), "old").unwrap();
        std::fs::write(dir.join("run/b.txt"), "old").unwrap();
        let mut st = Staging::new(&dir).unwrap();
        st.write_bytes("a.txt", b"new").unwrap();
        st.write_bytes("run/b.txt", b"new").unwrap();
        st.commit_interrupted(1);
        assert_eq!(std::fs::read(dir.join("run/b.txt")).unwrap(), b"old");
        assert!(recover(&dir).unwrap());
        for f in ["a.txt", "run/b.txt"] {
            assert_eq!(std::fs::read(dir.join(f)).unwrap(), b"new", "{f}");
        }
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["a.txt", "run"]);
    }

    #[test]
    fn unwritable_folder_is_an_error_naming_the_file() {
        let path = Path::new("/proc/onelayer-cannot-write-here/out.txt");
        let e = write_bytes_atomic(path, b"x").unwrap_err();
        assert!(e.to_string().contains("onelayer-cannot-write-here"), "{e}");
    }
}
