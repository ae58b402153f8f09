//! Downloads over real TLS from a local HTTPS server whose certificate a
//! throwaway certificate authority signed: the download succeeds when the
//! system's certificate store (here `SSL_CERT_FILE`, which the platform verifier
//! reads on Linux) trusts that authority, and fails naming the URL when it does not.
//! Nothing leaves 127.0.0.1.
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use md5::Digest;
use onelayer::download::{self, DownloadSpec, Format};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate authority: its certificate (PEM) and the issuer that signs.
struct Authority {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn authority(name: &str) -> Authority {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let pem = params.self_signed(&key).unwrap().pem();
    Authority {
        pem,
        issuer: Issuer::new(params, key),
    }
}

/// Serves `body` over HTTPS on 127.0.0.1 with a certificate for 127.0.0.1 signed
/// by `ca`, to every connection; returns the port.
fn serve(ca: &Authority, body: Vec<u8>) -> u16 {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca.issuer)
        .unwrap();
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, stream);
            // Read the request's head; a client that rejects the certificate
            // aborts the handshake here.
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                match tls.read(&mut byte) {
                    Ok(1) => head.push(byte[0]),
                    _ => break,
                }
            }
            if !head.ends_with(b"\r\n\r\n") {
                continue;
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/gzip\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n",
                body.len()
            );
            let _ = tls.write_all(answer.as_bytes());
            let _ = tls.write_all(&body);
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    port
}

/// A small gzip stream standing in for the archive.
fn gzip(text: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text).unwrap();
    enc.finish().unwrap()
}

fn spec(url: String, body: &[u8]) -> DownloadSpec {
    DownloadSpec {
        url,
        md5: onelayer::modelfile::hex(&md5::Md5::digest(body)),
        format: Format::Binary,
        size: Some(body.len() as u64),
        timeout: Duration::from_secs(20),
        attempts: 1,
        retry_delay: Duration::ZERO,
    }
}

#[test]
fn downloads_succeed_from_a_trusted_authority_and_fail_from_another() {
    let tmp = tempfile::tempdir().unwrap();
    let trusted = authority("onelayer test authority");
    let stranger = authority("an authority nobody trusts");
    // The system's store, for this process: the trusted authority alone.
    let store = tmp.path().join("roots.pem");
    std::fs::write(&store, &trusted.pem).unwrap();
    let empty_dir = tmp.path().join("no-more-roots");
    std::fs::create_dir(&empty_dir).unwrap();
    // SAFETY: this test binary holds this one test, so no other thread reads the
    // environment while it is set.
    unsafe {
        std::env::set_var("SSL_CERT_FILE", &store);
        std::env::set_var("SSL_CERT_DIR", &empty_dir);
    }
    let body = gzip(b"the archive's bytes");

    let port = serve(&trusted, body.clone());
    let good = tmp.path().join("good");
    std::fs::create_dir(&good).unwrap();
    let url = format!("https://127.0.0.1:{port}/cifar-10-binary.tar.gz");
    let archive = download::fetch(&spec(url, &body), &good, &mut |_| {})
        .unwrap_or_else(|e| panic!("the trusted server's download failed: {e}"));
    assert_eq!(std::fs::read(&archive).unwrap(), body);

    let port = serve(&stranger, body.clone());
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    let url = format!("https://127.0.0.1:{port}/cifar-10-binary.tar.gz");
    // Not retried: a certificate does not become trusted by asking again.
    let many = DownloadSpec {
        attempts: 5,
        retry_delay: Duration::from_secs(30),
        ..spec(url.clone(), &body)
    };
    let e = download::fetch(&many, &bad, &mut |_| {})
        .expect_err("a server signed by an untrusted authority was accepted")
        .to_string();
    assert!(e.contains(&url), "the error does not name {url}: {e}");
    assert!(
        e.contains("certificate is not trusted") && e.contains("UnknownIssuer"),
        "{e}"
    );
    assert!(!bad.join(Format::Binary.archive_name()).exists());
}
