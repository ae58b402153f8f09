//! The attempts: requests repeated until the part holds the whole body, each
//! resuming where the last stopped, and which failures are worth another try.

use std::path::Path;

use super::body::{copy, open_part, where_body_starts};
use super::client::{agent, call};
use super::{MAX_BYTES, file_len, protocol};
use crate::download::{DownloadError, DownloadSpec, Event, io_err};

/// How one request ended.
enum Outcome {
    /// The whole body is on disk.
    Complete,
    /// The transfer stopped early; retry.
    Interrupted(String),
}

/// Repeats requests until `part` holds the whole body or the attempts run out.
pub(super) fn transfer(
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

/// One GET, asking for the rest of `part` when it already holds bytes.
fn request(
    agent: &ureq::Agent,
    spec: &DownloadSpec,
    part: &Path,
    total: &mut Option<u64>,
    on_event: &mut dyn FnMut(Event),
) -> Result<Outcome, DownloadError> {
    let have = file_len(part);
    let resp = match call(agent, &spec.url, have) {
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
