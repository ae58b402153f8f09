//! The HTTP transfer: a GET into `<archive>.part`, resumed with `Range: bytes=N-`
//! after an interruption, then md5-verified and renamed into place.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{DownloadError, DownloadSpec, Event, STALL_BYTES, file_md5, io_err};

/// Largest archive accepted when its size is not known, in bytes (the official
/// ones are about 170 MB).
const MAX_BYTES: u64 = 1 << 30;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;

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
        match transfer(spec, &part, on_event) {
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
    // Redirects are followed by `call`, which checks where they lead.
    let agent = agent(spec.timeout);
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
fn agent(timeout: Duration) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_connect(Some(timeout))
        .timeout_recv_response(Some(timeout))
        .timeout_recv_body(None)
        .timeout_per_read(Some(timeout))
        .max_redirects(0)
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
    let resp = match call(agent, spec, have) {
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
        Err(ureq::Error::Other(e)) => return Err(protocol(spec, e.to_string())),
        Err(e) if transient(&e) => return Ok(Outcome::Interrupted(e.to_string())),
        Err(e) => return Err(protocol(spec, not_retried(&e))),
    };
    let (start, size) = where_body_starts(spec, &resp, have)?;
    *total = size;
    match (*total, spec.size) {
        (Some(t), Some(s)) if t != s => {
            return Err(protocol(
                spec,
                format!("the server announces {t} bytes, but the archive has {s}"),
            ));
        }
        (Some(t), None) if t > MAX_BYTES => {
            return Err(protocol(
                spec,
                format!("archive larger than {MAX_BYTES} bytes"),
            ));
        }
        _ => {}
    }
    on_event(Event::Started {
        resume_from: start,
        total: *total,
    });
    let mut file = open_part(part, start > 0)?;
    let body = resp.into_body().into_reader();
    let done = copy(body, &mut file, part, start, spec, on_event)?;
    match (done, *total) {
        (Err(e), _) => match e.get_ref().and_then(|i| i.downcast_ref::<ureq::Error>()) {
            Some(u) if !transient(u) => Err(protocol(spec, not_retried(u))),
            _ => Ok(Outcome::Interrupted(e.to_string())),
        },
        (Ok(n), Some(t)) if n < t => Ok(Outcome::Interrupted(format!(
            "the connection closed after {n} of {t} bytes"
        ))),
        (Ok(_), _) => Ok(Outcome::Complete),
    }
}

/// A GET of `spec.url` (for the bytes from `have` on, when there are some),
/// following at most [`MAX_REDIRECTS`] redirects to `http://` and `https://`
/// URLs; a redirect elsewhere is an [`ureq::Error::Other`] naming it.
fn call(
    agent: &ureq::Agent,
    spec: &DownloadSpec,
    have: u64,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let mut url = spec.url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let mut req = agent.get(&url);
        if have > 0 {
            req = req.header("Range", format!("bytes={have}-"));
        }
        let resp = req.call()?;
        if !resp.status().is_redirection() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| other(format!("HTTP {status} redirect without a Location")))?;
        url = redirect_target(&url, location.trim())?;
    }
    Err(other(format!("more than {MAX_REDIRECTS} redirects")))
}

fn other(message: String) -> ureq::Error {
    ureq::Error::Other(message.into())
}

/// The URL a redirect from `from` to `location` leads to, when it is `http://`
/// or `https://` (absolute, scheme-relative, host-relative or path-relative).
fn redirect_target(from: &str, location: &str) -> Result<String, ureq::Error> {
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(location.to_string());
    }
    let scheme_end = from.find("://").map_or(0, |i| i + 3);
    if let Some(rest) = location.strip_prefix("//") {
        return Ok(format!("{}{rest}", &from[..scheme_end]));
    }
    if let Some((scheme, _)) = location.split_once(':')
        && !scheme.is_empty()
        && !scheme.contains('/')
    {
        return Err(other(format!(
            "the server redirects to {location}, a {scheme}: URL; onelayer downloads only \
             from http:// and https:// URLs"
        )));
    }
    let host_end = from[scheme_end..]
        .find('/')
        .map_or(from.len(), |i| scheme_end + i);
    if location.starts_with('/') {
        return Ok(format!("{}{location}", &from[..host_end]));
    }
    let dir_end = from[host_end..]
        .rfind('/')
        .map_or(from.len(), |i| host_end + i + 1);
    let base = &from[..dir_end];
    let sep = if base.ends_with('/') { "" } else { "/" };
    Ok(format!("{base}{sep}{location}"))
}

/// Whether a transfer that failed with `e` may succeed when tried again (the
/// connection dropped or timed out); a malformed answer, a failed TLS handshake
/// or an unknown host will not.
fn transient(e: &ureq::Error) -> bool {
    certificate_error(e).is_none()
        && matches!(
            e,
            ureq::Error::Io(_)
                | ureq::Error::Timeout(_)
                | ureq::Error::ConnectionFailed
                | ureq::Error::BodyStalled
        )
}

/// The server's certificate's fault when `e` is one (rustls reports it through
/// an I/O error of the TLS stream).
fn certificate_error(e: &ureq::Error) -> Option<&rustls::CertificateError> {
    let tls = match e {
        ureq::Error::Rustls(t) => Some(t),
        ureq::Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    match tls {
        Some(rustls::Error::InvalidCertificate(c)) => Some(c),
        _ => None,
    }
}

/// The message of an error that is not retried.
fn not_retried(e: &ureq::Error) -> String {
    if let Some(c) = certificate_error(e) {
        return format!(
            "the server's certificate is not trusted ({c:?}); downloads trust the system's \
             certificate store (on Linux also $SSL_CERT_FILE and $SSL_CERT_DIR): add the \
             authority that signed it there (behind a TLS-inspecting proxy, the proxy's)"
        );
    }
    match e {
        ureq::Error::Protocol(p) => format!("the server's answer is not valid HTTP ({p})"),
        ureq::Error::HostNotFound => "host not found; check the URL and the network".into(),
        e => e.to_string(),
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
///
/// More bytes than [`limit`] is an error; fewer than [`STALL_BYTES`] within
/// `spec.timeout` is a stalled transfer.
fn copy(
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
    use super::{parse_content_range, redirect_target};

    #[test]
    fn redirect_targets() {
        let from = "http://h:8/a/b/c.tar.gz";
        let to = |l| redirect_target(from, l).map_err(|e| e.to_string());
        assert_eq!(to("https://x/y").unwrap(), "https://x/y");
        assert_eq!(to("//m/z.tgz").unwrap(), "http://m/z.tgz");
        assert_eq!(to("/z.tgz").unwrap(), "http://h:8/z.tgz");
        assert_eq!(to("d.tgz").unwrap(), "http://h:8/a/b/d.tgz");
        assert_eq!(
            redirect_target("http://h", "d.tgz").unwrap(),
            "http://h/d.tgz"
        );
        let e = to("file:///etc/passwd").unwrap_err();
        assert!(e.contains("file:") && e.contains("only from http"), "{e}");
        assert!(to("ftp://x/y").is_err());
    }

    #[test]
    fn certificates_are_checked_against_the_system_store() {
        let agent = super::agent(std::time::Duration::from_secs(30));
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
