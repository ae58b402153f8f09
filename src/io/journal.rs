//! The commit journal: what a commit in progress moves, and how a later command
//! finishes a commit that was interrupted.

use std::path::{Path, PathBuf};

use super::{JOURNAL, OutputError, STAGING_PREFIX, check_target, create_dir, sync_dir};

/// What a commit in progress moves: the files `files` (relative to the output
/// folder) from the staging folder `staging` (a name in the output folder).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct Journal {
    pub(super) staging: String,
    pub(super) files: Vec<PathBuf>,
}

/// Moves the `files` still in `staging` into `dir`, then removes the journal and
/// the staging folder. Files no longer in `staging` were moved before.
pub(super) fn finish(
    dir: &Path,
    staging: &Path,
    files: &[PathBuf],
) -> Result<Vec<PathBuf>, OutputError> {
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

/// Finishes a commit into `dir` that was interrupted (a journal is there): moves
/// the files still staged into place, so `dir` holds the whole new output. Then
/// removes onelayer's stale staging folders and temporary files in `dir` (never
/// following a link). Returns whether an interrupted commit was finished.
/// Call it only while holding `dir`'s [`OutputLock`](super::OutputLock).
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
