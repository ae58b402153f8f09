//! The HTTP transfer: a GET into `<archive>.part`, resumed with `Range: bytes=N-`
//! after an interruption, then md5-verified and renamed into place.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{DownloadError, DownloadSpec, Event, file_md5, io_err};

/// Largest archive accepted, in bytes (the official ones are about 170 MB).
const MAX_BYTES: u64 = 1 << 30;

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
        transfer(spec, &part, on_event)?;
    }
    on_event(Event::Verifying);
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

/// How one request ended.
enum Outcome {
    /// The whole body is on disk.
    Complete,
    /// The transfer stopped early; retry.
    Interrupted(String),
}

/// Repeats requests until `part` holds the whole body or the attempts run out.
fn transfer(
    spec: &DownloadSpec,
    part: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<(), DownloadError> {
    let agent = agent();
    let mut total = None;
    let mut reason = String::new();
    let attempts = spec.attempts.max(1);
    for attempt in 1..=attempts {
        if attempt > 1 {
            on_event(Event::Retrying {
                attempt,
                reason: reason.clone(),
            });
            std::thread::sleep(spec.retry_delay * (attempt - 1));
        }
        match request(&agent, spec, part, &mut total, on_event)? {
            Outcome::Complete => return Ok(()),
            Outcome::Interrupted(why) => reason = why,
        }
    }
    Err(DownloadError::Incomplete {
        url: spec.url.clone(),
        attempts,
        found: file_len(part),
        expected: total,
        reason,
    })
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The HTTP client: generous time-outs, and server certificates checked against
/// the system's certificate store (rustls-platform-verifier), so that downloads
/// work behind a proxy whose certificate authority the system trusts.
fn agent() -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_recv_body(None)
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// One GET, asking for the rest of `part` when it already holds bytes.
fn request(
    agent: &ureq::Agent,
    spec: &DownloadSpec,
    part: &Path,
    total: &mut Option<u64>,
    on_event: &mut dyn FnMut(Event),
) -> Result<Outcome, DownloadError> {
    let have = file_len(part);
    let mut req = agent.get(&spec.url);
    if have > 0 {
        req = req.header("Range", format!("bytes={have}-"));
    }
    let resp = match req.call() {
        Ok(r) => r,
        // The part is already whole (or stale): start again from nothing.
        Err(ureq::Error::StatusCode(416)) if have > 0 => {
            std::fs::remove_file(part).map_err(io_err(part))?;
            return Ok(Outcome::Interrupted("range not satisfiable".into()));
        }
        Err(ureq::Error::StatusCode(status)) => {
            return Err(DownloadError::HttpStatus {
                url: spec.url.clone(),
                status,
            });
        }
        Err(e @ (ureq::Error::BadUri(_) | ureq::Error::Http(_))) => {
            return Err(protocol(spec, e.to_string()));
        }
        Err(e) => return Ok(Outcome::Interrupted(e.to_string())),
    };
    let (start, size) = where_body_starts(spec, &resp, have)?;
    *total = size;
    if total.is_some_and(|t| t > MAX_BYTES) {
        return Err(protocol(
            spec,
            format!("archive larger than {MAX_BYTES} bytes"),
        ));
    }
    on_event(Event::Started {
        resume_from: start,
        total: *total,
    });
    let mut file = open_part(part, start > 0)?;
    let body = resp.into_body().into_reader();
    let done = copy(body, &mut file, part, start, on_event)?;
    match (done, *total) {
        (Err(e), _) => Ok(Outcome::Interrupted(e.to_string())),
        (Ok(n), Some(t)) if n < t => Ok(Outcome::Interrupted(format!(
            "the connection closed after {n} of {t} bytes"
        ))),
        (Ok(_), _) => Ok(Outcome::Complete),
    }
}

/// Where the response's body goes in the archive, and the archive's size when
/// known: a 200 carries the whole archive, a 206 must continue at `have`.
fn where_body_starts(
    spec: &DownloadSpec,
    resp: &ureq::http::Response<ureq::Body>,
    have: u64,
) -> Result<(u64, Option<u64>), DownloadError> {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    match resp.status().as_u16() {
        200 => Ok((
            0,
            header("content-length").and_then(|v| v.trim().parse().ok()),
        )),
        206 => {
            let range = header("content-range").unwrap_or_default();
            let (first, size) = parse_content_range(&range)
                .ok_or_else(|| protocol(spec, format!("unusable Content-Range {range:?}")))?;
            if first != have {
                return Err(protocol(
                    spec,
                    format!("asked for bytes from {have}, got a range from {first}"),
                ));
            }
            Ok((have, size))
        }
        status => Err(protocol(spec, format!("unexpected HTTP status {status}"))),
    }
}

fn protocol(spec: &DownloadSpec, reason: String) -> DownloadError {
    DownloadError::Protocol {
        url: spec.url.clone(),
        reason,
    }
}

fn open_part(part: &Path, append: bool) -> Result<File, DownloadError> {
    let mut o = OpenOptions::new();
    if append {
        o.append(true);
    } else {
        o.write(true).create(true).truncate(true);
    }
    o.open(part).map_err(io_err(part))
}

/// Copies `body` to the end of `file`, reporting progress; the outer error is a
/// local failure, the inner one a transfer that stopped (bytes so far are kept).
fn copy(
    mut body: impl Read,
    file: &mut File,
    part: &Path,
    mut done: u64,
    on_event: &mut dyn FnMut(Event),
) -> Result<std::io::Result<u64>, DownloadError> {
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                file.sync_all().map_err(io_err(part))?;
                return Ok(Err(e));
            }
        };
        if done + n as u64 > MAX_BYTES {
            return Err(DownloadError::Io {
                path: part.to_path_buf(),
                source: std::io::Error::other(format!("more than {MAX_BYTES} bytes")),
            });
        }
        file.write_all(&buf[..n]).map_err(io_err(part))?;
        done += n as u64;
        on_event(Event::Progress { done });
    }
    file.sync_all().map_err(io_err(part))?;
    Ok(Ok(done))
}

/// `bytes FIRST-LAST/SIZE` → `(FIRST, SIZE)` (`SIZE` may be `*`).
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, size) = rest.split_once('/')?;
    let (first, _last) = range.split_once('-')?;
    let size = match size.trim() {
        "*" => None,
        s => Some(s.parse().ok()?),
    };
    Some((first.trim().parse().ok()?, size))
}

#[cfg(test)]
mod tests {
    use super::parse_content_range;

    #[test]
    fn certificates_are_checked_against_the_system_store() {
        let agent = super::agent();
        let roots = agent.config().tls_config().root_certs();
        assert!(
            matches!(roots, ureq::tls::RootCerts::PlatformVerifier),
            "{roots:?}"
        );
    }

    #[test]
    fn content_range_forms() {
        assert_eq!(
            parse_content_range("bytes 100-999/1000"),
            Some((100, Some(1000)))
        );
        assert_eq!(parse_content_range("bytes 5-9/*"), Some((5, None)));
        assert_eq!(parse_content_range("bytes */1000"), None);
        assert_eq!(parse_content_range("items 1-2/3"), None);
    }
}
