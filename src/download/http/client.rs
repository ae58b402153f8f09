//! The connection: the HTTP client with its TLS settings and time-outs, and one
//! GET that follows redirects only to `http://` and `https://` URLs.

use std::time::Duration;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;

/// The HTTP client: generous time-outs, and server certificates checked against
/// the system's certificate store (rustls-platform-verifier), so that downloads
/// work behind a proxy whose certificate authority the system trusts.
pub(super) fn agent(timeout: Duration) -> ureq::Agent {
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

/// A GET of `url` (for the bytes from `have` on, when there are some),
/// following at most [`MAX_REDIRECTS`] redirects to `http://` and `https://`
/// URLs; a redirect elsewhere is an [`ureq::Error::Other`] naming it.
pub(super) fn call(
    agent: &ureq::Agent,
    url: &str,
    have: u64,
) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
    let mut url = url.to_string();
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

/// An error of ours in ureq's terms, so that it is reported as the server's fault.
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

#[cfg(test)]
mod tests {
    use super::redirect_target;

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
}
