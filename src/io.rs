//! Atomic file output: every file is written to a temporary file in the same
//! folder and renamed into place, so a failure never leaves a half-written file.

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

/// A set of output files that appear in `dir` together or not at all.
///
/// Files are written into a hidden staging folder inside `dir`; [`Staging::commit`]
/// renames them into place. Dropping an uncommitted `Staging` removes the staging
/// folder, and `dir` itself if this created it, so a failure leaves nothing behind.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    tmp: Option<tempfile::TempDir>,
    files: Vec<PathBuf>,
    created_dir: bool,
}

impl Staging {
    /// Starts staging outputs for `dir`, creating it if needed.
    pub fn new(dir: &Path) -> Result<Staging, OutputError> {
        let created_dir = !dir.exists();
        create_dir(dir)?;
        let tmp = tempfile::Builder::new()
            .prefix(".onelayer-staging-")
            .tempdir_in(dir)
            .map_err(|source| OutputError::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        Ok(Staging {
            dir: dir.to_path_buf(),
            tmp: Some(tmp),
            files: Vec::new(),
            created_dir,
        })
    }

    /// The folder the files will appear in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stages the file `rel` (relative to the output folder), written by `fill`.
    pub fn write(
        &mut self,
        rel: impl AsRef<Path>,
        fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), OutputError> {
        let rel = rel.as_ref();
        let final_path = self.dir.join(rel);
        let err = |source| OutputError::Write {
            path: final_path.clone(),
            source,
        };
        let staged = match &self.tmp {
            Some(t) => t.path().join(rel),
            None => return Err(err(std::io::Error::other("outputs already committed"))),
        };
        if let Some(parent) = staged.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        let file = std::fs::File::create(&staged).map_err(err)?;
        let mut w = std::io::BufWriter::new(file);
        fill(&mut w).map_err(err)?;
        w.flush().map_err(err)?;
        w.get_ref().sync_all().map_err(err)?;
        self.files.push(rel.to_path_buf());
        Ok(())
    }

    /// Stages the file `rel` with the given bytes.
    pub fn write_bytes(&mut self, rel: impl AsRef<Path>, bytes: &[u8]) -> Result<(), OutputError> {
        self.write(rel, |w| w.write_all(bytes))
    }

    /// Moves every staged file into place, replacing older ones, and returns their paths.
    ///
    /// Every target is checked first ([`check_target`]: no link, no file where a
    /// folder goes or the reverse), so a collision moves nothing. Then a journal
    /// naming the staging folder and its files is written atomically before the
    /// first rename: a commit killed half-way is finished by [`recover`] (which
    /// [`OutputLock::acquire`] runs), never left mixing two outputs.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, OutputError> {
        for rel in &self.files {
            check_target(&self.dir, rel)?;
        }
        let Some(tmp) = self.tmp.take() else {
            return Ok(Vec::new());
        };
        let journal = Journal {
            staging: tmp
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            files: self.files.clone(),
        };
        let journal_path = self.dir.join(JOURNAL);
        write_atomic(&journal_path, |w| {
            serde_json::to_writer(w, &journal).map_err(std::io::Error::other)
        })?;
        sync_dir(&self.dir);
        // From here the staging folder belongs to the journal: a failure leaves
        // both for the next command to finish.
        let staging = tmp.keep();
        self.created_dir = false;
        finish(&self.dir, &staging, &self.files)
    }

    /// Commits like [`Staging::commit`] but stops after `renames` renames, as a
    /// process killed there would: the journal and the staging folder stay.
    #[cfg(test)]
    fn commit_interrupted(mut self, renames: usize) {
        let tmp = self.tmp.take().expect("uncommitted");
        let journal = Journal {
            staging: tmp.path().file_name().unwrap().to_string_lossy().into(),
            files: self.files.clone(),
        };
        write_atomic(&self.dir.join(JOURNAL), |w| {
            serde_json::to_writer(w, &journal).map_err(std::io::Error::other)
        })
        .unwrap();
        let staging = tmp.keep();
        for rel in self.files.iter().take(renames) {
            let to = self.dir.join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::rename(staging.join(rel), to).unwrap();
        }
        self.created_dir = false;
    }
}

/// The name of the journal of a commit in progress, in the output folder.
pub const JOURNAL: &str = ".onelayer-commit.json";

/// The prefix of onelayer's staging folders in an output folder.
pub const STAGING_PREFIX: &str = ".onelayer-staging-";

/// The name of the lock file in an output folder.
pub const LOCK_FILE: &str = ".onelayer.lock";

/// What a commit in progress moves: the files `files` (relative to the output
/// folder) from the staging folder `staging` (a name in the output folder).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Journal {
    staging: String,
    files: Vec<PathBuf>,
}

/// Moves the `files` still in `staging` into `dir`, then removes the journal and
/// the staging folder. Files no longer in `staging` were moved before.
fn finish(dir: &Path, staging: &Path, files: &[PathBuf]) -> Result<Vec<PathBuf>, OutputError> {
    let mut done = Vec::with_capacity(files.len());
    for rel in files {
        let from = staging.join(rel);
        let to = dir.join(rel);
        match std::fs::symlink_metadata(&from) {
            Ok(m) if m.file_type().is_file() => {}
            Ok(_) => {
                return Err(OutputError::Write {
                    path: from,
                    source: std::io::Error::other("a staged output is not a plain file"),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                done.push(to);
                continue;
            }
            Err(source) => return Err(OutputError::Write { path: from, source }),
        }
        check_target(dir, rel)?;
        if let Some(parent) = to.parent() {
            create_dir(parent)?;
        }
        std::fs::rename(&from, &to).map_err(|source| OutputError::Write {
            path: to.clone(),
            source,
        })?;
        done.push(to);
    }
    sync_dir(dir);
    let journal = dir.join(JOURNAL);
    std::fs::remove_file(&journal).map_err(|source| OutputError::Write {
        path: journal,
        source,
    })?;
    let _ = std::fs::remove_dir_all(staging);
    Ok(done)
}

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

/// Finishes a commit into `dir` that was interrupted (a journal is there): moves
/// the files still staged into place, so `dir` holds the whole new output. Then
/// removes onelayer's stale staging folders and temporary files in `dir` (never
/// following a link). Returns whether an interrupted commit was finished.
/// Call it only while holding `dir`'s [`OutputLock`].
pub fn recover(dir: &Path) -> Result<bool, OutputError> {
    let path = dir.join(JOURNAL);
    let bad = |reason: String| OutputError::Recover {
        path: path.clone(),
        reason,
    };
    let finished = match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(bad(e.to_string())),
        Ok(m) if !m.file_type().is_file() => return Err(bad("not a plain file".into())),
        Ok(_) => {
            let bytes = crate::input::read(&path, crate::input::limit::TEXT, "commit journal")
                .map_err(|e| bad(e.to_string()))?;
            let j: Journal = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
            let plain = |p: &Path| {
                p.components().count() > 0
                    && p.components()
                        .all(|c| matches!(c, std::path::Component::Normal(_)))
            };
            if !j.staging.starts_with(STAGING_PREFIX) || !plain(Path::new(&j.staging)) {
                return Err(bad(format!("{:?} is not a staging folder", j.staging)));
            }
            if let Some(f) = j.files.iter().find(|f| !plain(f)) {
                return Err(bad(format!("{} is not a plain relative name", f.display())));
            }
            let staging = dir.join(&j.staging);
            if std::fs::symlink_metadata(&staging).is_ok_and(|m| !m.file_type().is_dir()) {
                return Err(bad(format!("{} is not a folder", staging.display())));
            }
            finish(dir, &staging, &j.files)?;
            true
        }
    };
    let entries = std::fs::read_dir(dir).map_err(|source| OutputError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(ft) = entry.file_type() else { continue };
        if name.starts_with(STAGING_PREFIX) && ft.is_dir() {
            let _ = std::fs::remove_dir_all(entry.path());
        } else if name.starts_with(".onelayer-") && name.ends_with(".tmp") && ft.is_file() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(finished)
}

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

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            drop(tmp);
            if self.created_dir {
                let _ = std::fs::remove_dir(&self.dir);
            }
        }
    }
}

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
