//! Safe extraction of a CIFAR-10 `.tar.gz`.
//!
//! Every member is checked before anything is written: its path must be
//! `<folder>/<name>` made of plain components (an absolute path or a `..` is
//! refused), and it must be a regular file (links, devices and other special
//! entries are refused). Only the data set's own files ([`Format::members`]) are
//! written; other plain files are skipped. Members are first written to a
//! staging folder inside `DIR`, then each is renamed into `DIR/<folder>/`, so a
//! refused archive leaves nothing behind and every file appears whole.

use std::path::{Component, Path, PathBuf};

use super::{DownloadError, Format, OPTIONAL_MEMBER, io_err};
use crate::data::{Capped, tar_members};

/// What [`extract`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    /// The data set's folder, `DIR/cifar-10-batches-bin` (or `-py`).
    pub folder: PathBuf,
    /// The files written, by name.
    pub written: Vec<String>,
    /// Plain files of the archive that were not written (not part of the data set).
    pub skipped: Vec<String>,
}

/// Extracts the data set's files of `archive` into `dir/<format's folder>/`.
pub fn extract(archive: &Path, dir: &Path, format: Format) -> Result<Extracted, DownloadError> {
    let folder = dir.join(format.folder());
    if let Ok(m) = std::fs::symlink_metadata(&folder)
        && !m.is_dir()
    {
        return Err(DownloadError::Io {
            path: folder,
            source: std::io::Error::other("exists and is not a folder (links are not followed)"),
        });
    }
    let staging = tempfile::Builder::new()
        .prefix(".onelayer-extract-")
        .tempdir_in(dir)
        .map_err(io_err(dir))?;
    let (written, skipped) = unpack(archive, staging.path(), format)?;
    let missing: Vec<String> = format
        .members()
        .into_iter()
        .filter(|m| m != OPTIONAL_MEMBER && !written.contains(m))
        .collect();
    if !missing.is_empty() {
        return Err(DownloadError::MissingMembers {
            archive: archive.to_path_buf(),
            missing,
        });
    }
    std::fs::create_dir_all(&folder).map_err(io_err(&folder))?;
    for name in &written {
        let to = folder.join(name);
        std::fs::rename(staging.path().join(name), &to).map_err(io_err(&to))?;
    }
    Ok(Extracted {
        folder,
        written,
        skipped,
    })
}

/// Reads every member, writing the expected ones into `staging`; returns the
/// names written and the names skipped.
fn unpack(
    archive: &Path,
    staging: &Path,
    format: Format,
) -> Result<(Vec<String>, Vec<String>), DownloadError> {
    let (file, _) = crate::input::open(archive, crate::input::limit::ARCHIVE, "an archive")
        .map_err(io_err(archive))?;
    // Concatenated gzip members are one valid stream (as `gzip -d` reads them).
    let gz = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
    let mut tar = tar::Archive::new(Capped::new(gz));
    let expected = format.members();
    let (mut written, mut skipped) = (Vec::new(), Vec::new());
    for entry in tar_members(&mut tar).map_err(io_err(archive))? {
        let (raw, mut entry) = entry.map_err(io_err(archive))?;
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let refuse = |reason: &str| DownloadError::UnsafeMember {
            archive: archive.to_path_buf(),
            member: raw.clone(),
            reason: reason.to_string(),
        };
        let parts = plain_components(Path::new(&raw)).map_err(&refuse)?;
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            return Err(refuse(&format!(
                "a {kind:?} entry, only regular files are extracted"
            )));
        }
        let name = match parts.as_slice() {
            [top, name] if top == format.folder() && expected.contains(name) => name.clone(),
            _ => {
                skipped.push(raw.clone());
                continue;
            }
        };
        let to = staging.join(&name);
        let mut out = std::fs::File::create_new(&to).map_err(io_err(&to))?;
        std::io::copy(&mut entry, &mut out).map_err(io_err(archive))?;
        out.sync_all().map_err(io_err(&to))?;
        if !written.contains(&name) {
            written.push(name);
        }
    }
    Ok((written, skipped))
}

/// The path's components, which must all be plain names (`.` is ignored).
fn plain_components(path: &Path) -> Result<Vec<String>, &'static str> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => return Err("a `..` component would escape the folder"),
            Component::RootDir | Component::Prefix(_) => {
                return Err("an absolute path would escape the folder");
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::plain_components;
    use std::path::Path;

    #[test]
    fn only_plain_relative_paths_pass() {
        assert_eq!(
            plain_components(Path::new("./a/b")).unwrap(),
            ["a".to_string(), "b".to_string()]
        );
        assert!(plain_components(Path::new("a/../../b")).is_err());
        assert!(plain_components(Path::new("/etc/passwd")).is_err());
    }
}
