//! The response's body: where it goes in the archive (a whole `200` or a
//! resumed `206` range) and its copy into the part, bounded in size and watched
//! for stalls.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

use super::{limit, protocol};
use crate::download::{DownloadError, DownloadSpec, Event, STALL_BYTES, io_err};

/// Where the response's body goes in the archive, and the archive's size when
/// known: a 200 carries the whole archive, a 206 must continue at `have`.
pub(super) fn where_body_starts(
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

/// Opens `part` to append to it, or empty when the body starts from byte 0.
pub(super) fn open_part(part: &Path, append: bool) -> Result<File, DownloadError> {
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
///
/// More bytes than [`limit`] is an error; fewer than [`STALL_BYTES`] within
/// `spec.timeout` is a stalled transfer.
pub(super) fn copy(
    mut body: impl Read,
    file: &mut File,
    part: &Path,
    mut done: u64,
    spec: &DownloadSpec,
    on_event: &mut dyn FnMut(Event),
) -> Result<std::io::Result<u64>, DownloadError> {
    let mut buf = vec![0u8; 1 << 16];
    let limit = limit(spec);
    // Since when, and how many bytes have arrived towards the next STALL_BYTES.
    let (mut since, mut recent) = (Instant::now(), 0u64);
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
        if done + n as u64 > limit {
            return Err(DownloadError::TooLarge {
                url: spec.url.clone(),
                limit,
            });
        }
        file.write_all(&buf[..n]).map_err(io_err(part))?;
        done += n as u64;
        on_event(Event::Progress { done });
        recent += n as u64;
        if recent >= STALL_BYTES {
            (since, recent) = (Instant::now(), 0);
        } else if since.elapsed() > spec.timeout {
            file.sync_all().map_err(io_err(part))?;
            return Ok(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "stalled: {recent} bytes in {:.0} s (--timeout), fewer than {STALL_BYTES}",
                    spec.timeout.as_secs_f64()
                ),
            )));
        }
    }
    file.sync_all().map_err(io_err(part))?;
    Ok(Ok(done))
}

#[cfg(test)]
mod tests {
    use super::parse_content_range;

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
