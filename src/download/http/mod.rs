//! The HTTP transfer: a GET into `<archive>.part`, resumed with `Range: bytes=N-`
//! after an interruption, then md5-verified and renamed into place.
//!
//! [`fetch`] verifies and renames; [`retry`] repeats requests until the part is
//! whole; [`client`] makes each GET (TLS, redirects); [`body`] places the
//! response's body in the part.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{DownloadError, DownloadSpec, Event, file_md5, io_err};

mod body;
mod client;
mod retry;

/// Largest archive accepted when its size is not known, in bytes (the official
/// ones are about 170 MB).
const MAX_BYTES: u64 = 1 << 30;

/// The largest body accepted for `spec`: the archive's size when known.
fn limit(spec: &DownloadSpec) -> u64 {
    spec.size.unwrap_or(MAX_BYTES)
}

/// Downloads the archive of `spec` into `dir` and returns its path, once its md5
/// is verified. A verified archive already in `dir` is not downloaded again.
pub fn fetch(
    spec: &DownloadSpec,
    dir: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<PathBuf, DownloadError> {
    let archive = dir.join(spec.format.archive_name());
    if archive.is_file() && file_md5(&archive)? == spec.md5 {
        on_event(Event::AlreadyDownloaded(archive.clone()));
        return Ok(archive);
    }
    let part = dir.join(format!("{}.part", spec.format.archive_name()));
    // A part left whole by an earlier run (stopped before the rename) needs no request.
    let whole = part.is_file() && file_md5(&part)? == spec.md5;
    if !whole {
        match retry::transfer(spec, &part, on_event) {
            // What was received is not the archive: nothing to resume from.
            Err(e @ DownloadError::TooLarge { .. }) => {
                std::fs::remove_file(&part).map_err(io_err(&part))?;
                return Err(e);
            }
            r => r?,
        }
    }
    on_event(Event::Verifying);
    if let Some(found) = not_gzip(&part)? {
        std::fs::remove_file(&part).map_err(io_err(&part))?;
        return Err(DownloadError::NotGzip {
            url: spec.url.clone(),
            found,
        });
    }
    let found = file_md5(&part)?;
    if found != spec.md5 {
        std::fs::remove_file(&part).map_err(io_err(&part))?;
        return Err(DownloadError::Md5Mismatch {
            url: spec.url.clone(),
            expected: spec.md5.clone(),
            found,
        });
    }
    std::fs::rename(&part, &archive).map_err(io_err(&archive))?;
    Ok(archive)
}

/// What the file at `path` is when it does not start with the gzip magic bytes
/// `1f 8b`: an HTML page, some text or other bytes; `None` for a gzip stream.
fn not_gzip(path: &Path) -> Result<Option<String>, DownloadError> {
    let mut head = Vec::with_capacity(512);
    File::open(path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .map_err(io_err(path))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(None);
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let start = text.trim_start();
    Ok(Some(if head.is_empty() {
        "an empty body".to_string()
    } else if start.starts_with("<!doctype html") || start.starts_with("<html") {
        "an HTML page".to_string()
    } else {
        let first: Vec<String> = head.iter().take(4).map(|b| format!("{b:02x}")).collect();
        format!("a file starting with bytes {}", first.join(" "))
    }))
}

/// The size of the file at `path`, 0 when there is none.
fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// A [`DownloadError::Protocol`] of `spec`'s URL.
fn protocol(spec: &DownloadSpec, reason: String) -> DownloadError {
    DownloadError::Protocol {
        url: spec.url.clone(),
        reason,
    }
}
