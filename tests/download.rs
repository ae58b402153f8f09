//! `onelayer::download` against a local HTTP server that the tests start on
//! 127.0.0.1, serving archives the tests build. Nothing leaves the loopback.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use md5::Digest;
use onelayer::download::{self, DownloadError, DownloadSpec, Event, Format};

/// How the server answers.
#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    /// 200 with the whole body (206 for a Range request).
    Normal,
    /// The first response stops half-way and the connection closes; later
    /// requests are served normally, honouring Range.
    DropFirst,
    /// Every response announces the whole length, sends half and closes; Range is ignored.
    Truncate,
    /// 500 Internal Server Error.
    Error500,
    /// 200 without a length, then the body over and over until the client leaves.
    Endless,
    /// 200 with the length, then one byte every 50 ms.
    Trickle,
    /// Accepts the connection and says nothing for a minute.
    Silent,
    /// Answers with bytes that are not HTTP.
    Garbage,
    /// Redirects to a `file://` URL.
    RedirectToFile,
    /// Redirects the first request to another path on the same server.
    RedirectOnce,
    /// Serves an HTML page instead of the archive.
    Html,
}

/// A one-thread HTTP/1.1 server on 127.0.0.1 serving `body` at any path; it records
/// the Range header of every request (None when absent).
struct Server {
    url: String,
    ranges: Arc<Mutex<Vec<Option<String>>>>,
}

impl Server {
    fn start(body: Vec<u8>, behaviour: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/cifar-10-binary.tar.gz",
            listener.local_addr().unwrap()
        );
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&ranges);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let range = read_request(&stream);
                let n = {
                    let mut s = seen.lock().unwrap();
                    s.push(range.clone());
                    s.len()
                };
                let _ = respond(stream, &body, behaviour, n, range.as_deref());
            }
        });
        Server { url, ranges }
    }

    fn ranges(&self) -> Vec<Option<String>> {
        self.ranges.lock().unwrap().clone()
    }
}

/// Reads the request head; returns its Range header.
fn read_request(stream: &TcpStream) -> Option<String> {
    let mut r = BufReader::new(stream);
    let mut range = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            return range;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("range")
        {
            range = Some(v.trim().to_string());
        }
    }
}

fn respond(
    mut s: TcpStream,
    body: &[u8],
    behaviour: Behaviour,
    nth: usize,
    range: Option<&str>,
) -> std::io::Result<()> {
    let len = body.len();
    let half = len / 2;
    match behaviour {
        Behaviour::Endless => {
            s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
            loop {
                s.write_all(body)?;
            }
        }
        Behaviour::Trickle => {
            write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")?;
            for b in body {
                s.write_all(&[*b])?;
                s.flush()?;
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(())
        }
        Behaviour::Silent => {
            std::thread::sleep(Duration::from_secs(60));
            Ok(())
        }
        Behaviour::Garbage => s.write_all(b"HELLO THERE\r\n\r\nnot http at all"),
        Behaviour::RedirectToFile => s.write_all(
            b"HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ),
        Behaviour::RedirectOnce if nth == 1 => s.write_all(
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: /moved/cifar-10-binary.tar.gz\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ),
        Behaviour::Html => {
            let page = b"<!DOCTYPE html>\n<html><body>Please log in to the network</body></html>\n";
            write!(s, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", page.len())?;
            s.write_all(page)
        }
        Behaviour::Error500 => {
            s.write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\noops")
        }
        Behaviour::Truncate => {
            write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")?;
            s.write_all(&body[..half])
        }
        Behaviour::DropFirst if nth == 1 => {
            write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n")?;
            s.write_all(&body[..half])
        }
        _ => match range.and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse::<usize>().ok()) {
            Some(first) if first < len => {
                write!(
                    s,
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {first}-{}/{len}\r\nConnection: close\r\n\r\n",
                    len - first,
                    len - 1
                )?;
                s.write_all(&body[first..])
            }
            _ => {
                write!(s, "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n")?;
                s.write_all(body)
            }
        },
    }
}

/// The contents of a fake binary batch: `n` records with label `i % 10`.
fn fake_batch(seed: u8, n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            std::iter::once((i % 10) as u8)
                .chain((0..3072).map(move |j| (j as u8).wrapping_mul(seed).wrapping_add(i as u8)))
        })
        .collect()
}

/// The data set's members, as `(path in the archive, contents)`.
fn members() -> Vec<(String, Vec<u8>)> {
    let mut m: Vec<(String, Vec<u8>)> = (1..=5)
        .map(|i| {
            (
                format!("cifar-10-batches-bin/data_batch_{i}.bin"),
                fake_batch(i, 3),
            )
        })
        .collect();
    m.push((
        "cifar-10-batches-bin/test_batch.bin".into(),
        fake_batch(7, 3),
    ));
    let names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n";
    m.push(("cifar-10-batches-bin/batches.meta.txt".into(), names.into()));
    m.push((
        "cifar-10-batches-bin/readme.html".into(),
        b"<p>test</p>".to_vec(),
    ));
    m
}

/// An extra entry for a hostile or odd archive.
enum Extra {
    None,
    /// A regular file stored under this raw path (bypassing the tar crate's checks).
    RawPath(&'static str),
    /// A link of this kind (symbolic or hard) at this path pointing to that target.
    Link(tar::EntryType, &'static str, &'static str),
}

fn tar_gz(extra: Extra) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, data).unwrap();
    };
    for (path, data) in members() {
        add(&path, &data);
    }
    add(
        "cifar-10-batches-bin/extra.txt",
        b"not part of the data set",
    );
    match extra {
        Extra::None => {}
        Extra::RawPath(p) => {
            let mut h = tar::Header::new_gnu();
            h.as_gnu_mut().unwrap().name[..p.len()].copy_from_slice(p.as_bytes());
            h.set_size(4);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            b.append(&h, &b"evil"[..]).unwrap();
        }
        Extra::Link(kind, p, target) => {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_size(0);
            b.append_link(&mut h, p, target).unwrap();
        }
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn md5_hex(bytes: &[u8]) -> String {
    md5::Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn spec(server: &Server, archive: &[u8]) -> DownloadSpec {
    DownloadSpec {
        url: server.url.clone(),
        md5: md5_hex(archive),
        format: Format::Binary,
        size: Some(archive.len() as u64),
        timeout: Duration::from_secs(10),
        attempts: 3,
        retry_delay: Duration::from_millis(10),
    }
}

fn run(
    spec: &DownloadSpec,
    dir: &Path,
) -> (Result<download::Extracted, DownloadError>, Vec<Event>) {
    let mut events = Vec::new();
    let r = download::download(spec, dir, &mut |e| events.push(e));
    (r, events)
}

/// The folder holds exactly the data set's members, with their contents.
fn assert_extracted(dir: &Path) {
    for (path, data) in members() {
        assert_eq!(std::fs::read(dir.join(&path)).unwrap(), data, "{path}");
    }
    assert!(!dir.join("cifar-10-batches-bin/extra.txt").exists());
    assert!(dir.join("cifar-10-binary.tar.gz").is_file());
    assert!(!dir.join("cifar-10-binary.tar.gz.part").exists());
}

/// Nothing but (perhaps) a partial download is left in `dir`.
fn assert_nothing_extracted(dir: &Path) {
    assert!(!dir.join("cifar-10-batches-bin").exists());
    assert!(!dir.join("cifar-10-binary.tar.gz").exists());
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert_eq!(name, "cifar-10-binary.tar.gz.part", "left behind: {name}");
    }
}

#[test]
fn downloads_verifies_and_extracts() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::Normal);
    let dir = tempfile::tempdir().unwrap();
    let (r, events) = run(&spec(&server, &archive), dir.path());
    let got = r.unwrap();
    assert_extracted(dir.path());
    assert_eq!(got.folder, dir.path().join("cifar-10-batches-bin"));
    assert_eq!(got.skipped, ["cifar-10-batches-bin/extra.txt"]);
    assert!(events.contains(&Event::Started {
        resume_from: 0,
        total: Some(archive.len() as u64)
    }));
    assert!(events.contains(&Event::Progress {
        done: archive.len() as u64
    }));
    assert_eq!(server.ranges(), [None]);
    // A second run finds the verified archive and does not download again.
    let (r, events) = run(&spec(&server, &archive), dir.path());
    r.unwrap();
    assert!(matches!(events[0], Event::AlreadyDownloaded(_)));
    assert_eq!(server.ranges().len(), 1);
}

#[test]
fn wrong_md5_is_refused_and_deleted() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::Normal);
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(&server, &archive);
    s.md5 = "0123456789abcdef0123456789abcdef".into();
    let e = run(&s, dir.path()).0.unwrap_err();
    match &e {
        DownloadError::Md5Mismatch {
            expected, found, ..
        } => {
            assert_eq!(expected, "0123456789abcdef0123456789abcdef");
            assert_eq!(found, &md5_hex(&archive));
        }
        _ => panic!("{e}"),
    }
    assert_nothing_extracted(dir.path());
    assert!(!dir.path().join("cifar-10-binary.tar.gz.part").exists());
}

#[test]
fn truncated_body_is_an_error_after_the_retries() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::Truncate);
    let dir = tempfile::tempdir().unwrap();
    let e = run(&spec(&server, &archive), dir.path()).0.unwrap_err();
    match &e {
        DownloadError::Incomplete {
            attempts,
            found,
            expected,
            ..
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(*expected, Some(archive.len() as u64));
            assert!(*found < archive.len() as u64);
        }
        _ => panic!("{e}"),
    }
    assert_eq!(server.ranges().len(), 3);
    assert_nothing_extracted(dir.path());
}

#[test]
fn dropped_connection_is_resumed_with_a_range_request() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::DropFirst);
    let dir = tempfile::tempdir().unwrap();
    let (r, events) = run(&spec(&server, &archive), dir.path());
    r.unwrap();
    let half = archive.len() / 2;
    assert_eq!(server.ranges(), [None, Some(format!("bytes={half}-"))]);
    assert!(events.contains(&Event::Started {
        resume_from: half as u64,
        total: Some(archive.len() as u64)
    }));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Retrying { attempt: 2, .. }))
    );
    assert_extracted(dir.path());
}

#[test]
fn server_error_is_reported_with_its_status() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::Error500);
    let dir = tempfile::tempdir().unwrap();
    let e = run(&spec(&server, &archive), dir.path()).0.unwrap_err();
    assert!(
        matches!(e, DownloadError::HttpStatus { status: 500, .. }),
        "{e}"
    );
    assert!(e.to_string().contains(&server.url), "{e}");
    assert_nothing_extracted(dir.path());
}

fn assert_refused(extra: Extra, member: &str) {
    let archive = tar_gz(extra);
    let server = Server::start(archive.clone(), Behaviour::Normal);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("data");
    let e = run(&spec(&server, &archive), &dir).0.unwrap_err();
    match &e {
        DownloadError::UnsafeMember { member: m, .. } => assert_eq!(m, member),
        _ => panic!("{e}"),
    }
    assert!(!root.path().join("evil").exists());
    assert!(!dir.join("cifar-10-batches-bin").exists());
    // The verified archive stays; the staging folder is gone.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["cifar-10-binary.tar.gz"]);
}

#[test]
fn path_traversal_member_is_refused() {
    assert_refused(Extra::RawPath("../evil"), "../evil");
}

#[test]
fn absolute_member_is_refused() {
    assert_refused(Extra::RawPath("/tmp/onelayer-evil"), "/tmp/onelayer-evil");
    assert!(!Path::new("/tmp/onelayer-evil").exists());
}

#[test]
fn symlink_member_is_refused() {
    assert_refused(
        Extra::Link(
            tar::EntryType::Symlink,
            "cifar-10-batches-bin/data_batch_9.bin",
            "/etc/passwd",
        ),
        "cifar-10-batches-bin/data_batch_9.bin",
    );
}

#[test]
fn hard_link_member_is_refused() {
    assert_refused(
        Extra::Link(
            tar::EntryType::Link,
            "cifar-10-batches-bin/test_batch.bin",
            "cifar-10-batches-bin/data_batch_1.bin",
        ),
        "cifar-10-batches-bin/test_batch.bin",
    );
}

#[test]
fn official_spec_uses_the_published_md5_and_the_url_override() {
    let s = DownloadSpec::official(Format::Python, Some("http://mirror.invalid/c.tar.gz"));
    assert_eq!(s.url, "http://mirror.invalid/c.tar.gz");
    assert_eq!(s.md5, "c58f30108f718f92721af3b95e74349a");
    let s = DownloadSpec::official(Format::Binary, None);
    assert_eq!(s.md5, "c32a1d4ab5d03f1284b67883e8d87530");
}

#[test]
fn a_part_left_by_an_earlier_run_is_resumed() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::Normal);
    let dir = tempfile::tempdir().unwrap();
    let third = archive.len() / 3;
    std::fs::write(
        dir.path().join("cifar-10-binary.tar.gz.part"),
        &archive[..third],
    )
    .unwrap();
    run(&spec(&server, &archive), dir.path()).0.unwrap();
    assert_eq!(server.ranges(), [Some(format!("bytes={third}-"))]);
    assert_extracted(dir.path());
}

#[test]
fn a_whole_part_left_by_an_earlier_run_is_not_downloaded_again() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::Normal);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cifar-10-binary.tar.gz.part"), &archive).unwrap();
    run(&spec(&server, &archive), dir.path()).0.unwrap();
    assert!(server.ranges().is_empty());
    assert_extracted(dir.path());
}

#[test]
fn python_version_members_are_extracted() {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    let mut names: Vec<String> = (1..=5).map(|i| format!("data_batch_{i}")).collect();
    names.extend(["test_batch".into(), "batches.meta".into()]);
    for n in &names {
        let mut h = tar::Header::new_gnu();
        h.set_size(n.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, format!("./cifar-10-batches-py/{n}"), n.as_bytes())
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a.tar.gz");
    std::fs::write(&archive, b.into_inner().unwrap().finish().unwrap()).unwrap();
    let got = download::extract(&archive, dir.path(), Format::Python).unwrap();
    assert_eq!(got.written, names);
    for n in &names {
        let p = dir.path().join("cifar-10-batches-py").join(n);
        assert_eq!(std::fs::read_to_string(p).unwrap(), *n);
    }
    // Without its test batch, the archive is refused and nothing is written.
    let other = tempfile::tempdir().unwrap();
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_size(1);
    b.append_data(&mut h, "cifar-10-batches-py/data_batch_1", &b"x"[..])
        .unwrap();
    let archive = other.path().join("a.tar.gz");
    std::fs::write(&archive, b.into_inner().unwrap().finish().unwrap()).unwrap();
    let e = download::extract(&archive, other.path(), Format::Python).unwrap_err();
    assert!(
        matches!(e, DownloadError::MissingMembers { ref missing, .. } if missing.contains(&"test_batch".to_string())),
        "{e}"
    );
    assert!(!other.path().join("cifar-10-batches-py").exists());
}

#[test]
fn a_body_longer_than_the_archive_is_cut_off_and_deleted() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::Endless);
    let dir = tempfile::tempdir().unwrap();
    let e = run(&spec(&server, &archive), dir.path()).0.unwrap_err();
    match &e {
        DownloadError::TooLarge { limit, .. } => assert_eq!(*limit, archive.len() as u64),
        _ => panic!("{e}"),
    }
    assert!(e.to_string().contains("deleted"), "{e}");
    assert_eq!(server.ranges().len(), 1, "retried");
    assert_nothing_extracted(dir.path());
    assert!(!dir.path().join("cifar-10-binary.tar.gz.part").exists());
}

#[test]
fn a_length_other_than_the_archive_size_is_refused_before_the_body() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::Normal);
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(&server, &archive);
    s.size = Some(archive.len() as u64 - 1);
    let e = run(&s, dir.path()).0.unwrap_err().to_string();
    assert!(
        e.contains(&format!("announces {} bytes", archive.len())),
        "{e}"
    );
    assert!(!dir.path().join("cifar-10-binary.tar.gz.part").exists());
}

#[test]
fn a_stalled_transfer_times_out_and_is_retried() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::Trickle);
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(&server, &archive);
    s.timeout = Duration::from_millis(400);
    s.attempts = 2;
    let e = run(&s, dir.path()).0.unwrap_err();
    match &e {
        DownloadError::Incomplete {
            attempts, reason, ..
        } => {
            assert_eq!(*attempts, 2);
            assert!(reason.contains("stalled"), "{reason}");
        }
        _ => panic!("{e}"),
    }
    assert_eq!(server.ranges().len(), 2);
}

#[test]
fn a_silent_server_times_out() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::Silent);
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(&server, &archive);
    s.timeout = Duration::from_millis(300);
    s.attempts = 1;
    let e = run(&s, dir.path()).0.unwrap_err();
    assert!(
        matches!(&e, DownloadError::Incomplete { reason, .. } if reason.contains("imeout") || reason.contains("timed out")),
        "{e}"
    );
}

#[test]
fn an_answer_that_is_not_http_is_reported_as_such_and_not_retried() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::Garbage);
    let dir = tempfile::tempdir().unwrap();
    let e = run(&spec(&server, &archive), dir.path()).0.unwrap_err();
    assert!(matches!(e, DownloadError::Protocol { .. }), "{e}");
    assert!(e.to_string().contains("not valid HTTP"), "{e}");
    assert_eq!(server.ranges().len(), 1, "retried");
}

#[test]
fn a_redirect_to_a_file_url_is_named_as_such() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::RedirectToFile);
    let dir = tempfile::tempdir().unwrap();
    let e = run(&spec(&server, &archive), dir.path()).0.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DownloadError::Protocol { .. }), "{msg}");
    assert!(
        msg.contains("redirects to file:///etc/passwd") && msg.contains("http://"),
        "{msg}"
    );
    assert_eq!(server.ranges().len(), 1);
    assert_nothing_extracted(dir.path());
}

#[test]
fn a_redirect_on_the_same_server_is_followed() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::RedirectOnce);
    let dir = tempfile::tempdir().unwrap();
    run(&spec(&server, &archive), dir.path()).0.unwrap();
    assert_eq!(server.ranges().len(), 2);
    assert_extracted(dir.path());
}

#[test]
fn an_html_page_instead_of_the_archive_is_named_and_deleted() {
    let archive = tar_gz(Extra::None);
    let server = Server::start(archive.clone(), Behaviour::Html);
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(&server, &archive);
    s.size = None;
    let e = run(&s, dir.path()).0.unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DownloadError::NotGzip { .. }), "{msg}");
    assert!(
        msg.contains("an HTML page") && msg.contains("not a gzip archive"),
        "{msg}"
    );
    assert_nothing_extracted(dir.path());
    assert!(!dir.path().join("cifar-10-binary.tar.gz.part").exists());
}
