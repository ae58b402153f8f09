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
    pub fn commit(mut self) -> Result<Vec<PathBuf>, OutputError> {
        let Some(tmp) = self.tmp.take() else {
            return Ok(Vec::new());
        };
        let mut done = Vec::with_capacity(self.files.len());
        for rel in &self.files {
            let to = self.dir.join(rel);
            if let Some(parent) = to.parent() {
                create_dir(parent)?;
            }
            std::fs::rename(tmp.path().join(rel), &to).map_err(|source| OutputError::Write {
                path: to.clone(),
                source,
            })?;
            done.push(to);
        }
        self.created_dir = false;
        Ok(done)
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
    fn unwritable_folder_is_an_error_naming_the_file() {
        let path = Path::new("/proc/onelayer-cannot-write-here/out.txt");
        let e = write_bytes_atomic(path, b"x").unwrap_err();
        assert!(e.to_string().contains("onelayer-cannot-write-here"), "{e}");
    }
}
