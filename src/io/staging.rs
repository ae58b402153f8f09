//! [`Staging`]: output files written into a hidden folder, then renamed into place
//! together under a journal.

use std::path::{Path, PathBuf};

use super::journal::{Journal, finish};
use std::io::Write;

use super::{JOURNAL, OutputError, check_target, create_dir, sync_dir, write_atomic};

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
    /// first rename: a commit killed half-way is finished by [`recover`](super::recover) (which
    /// [`OutputLock::acquire`](super::OutputLock::acquire) runs), never left mixing two outputs.
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
    pub(super) fn commit_interrupted(mut self, renames: usize) {
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
