//! Getting CIFAR-10 onto a fresh machine: download the official archive, verify
//! its md5, and extract the expected members safely.
//!
//! The archive is downloaded to `DIR/<archive>.part` (resumed with an HTTP `Range`
//! request when a previous attempt was cut off and the server allows ranges),
//! verified against the expected md5, and only then renamed to `DIR/<archive>`.
//! Extraction ([`extract`]) writes only the data set's own files into
//! `DIR/cifar-10-batches-bin/` (or `-py/`): a member with an absolute path, a `..`
//! component, a link or a special file makes the archive refused before anything
//! is written, and each member is written atomically.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod extract;
mod http;

pub use extract::{Extracted, extract};
pub use http::fetch;

/// The environment variable that overrides the archive's URL (for mirrors).
pub const URL_ENV: &str = "ONELAYER_CIFAR10_URL";

/// The default of [`DownloadSpec::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The bytes of the body that must arrive within [`DownloadSpec::timeout`] (at
/// least 0.5 KiB/s for the default), else the transfer counts as stalled.
pub const STALL_BYTES: u64 = 16 << 10;

/// Which version of the data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `cifar-10-binary.tar.gz`: `.bin` batches of 10 000 records.
    Binary,
    /// `cifar-10-python.tar.gz`: pickled batches.
    Python,
}

impl Format {
    /// The archive's file name.
    pub fn archive_name(self) -> &'static str {
        match self {
            Format::Binary => "cifar-10-binary.tar.gz",
            Format::Python => "cifar-10-python.tar.gz",
        }
    }

    /// The folder the archive holds.
    pub fn folder(self) -> &'static str {
        match self {
            Format::Binary => "cifar-10-batches-bin",
            Format::Python => "cifar-10-batches-py",
        }
    }

    /// The official URL, on the data set's home page.
    pub fn official_url(self) -> String {
        format!("https://www.cs.toronto.edu/~kriz/{}", self.archive_name())
    }

    /// The size in bytes of the official archive.
    pub fn official_size(self) -> u64 {
        match self {
            Format::Binary => 170_052_171,
            Format::Python => 170_498_071,
        }
    }

    /// The published md5 of the official archive.
    pub fn official_md5(self) -> &'static str {
        match self {
            Format::Binary => "c32a1d4ab5d03f1284b67883e8d87530",
            Format::Python => "c58f30108f718f92721af3b95e74349a",
        }
    }

    /// The files extracted from the archive's folder; all but `readme.html`
    /// must be present.
    pub fn members(self) -> Vec<String> {
        let ext = match self {
            Format::Binary => ".bin",
            Format::Python => "",
        };
        let mut m: Vec<String> = (1..=5).map(|i| format!("data_batch_{i}{ext}")).collect();
        m.push(format!("test_batch{ext}"));
        m.push(match self {
            Format::Binary => "batches.meta.txt".into(),
            Format::Python => "batches.meta".into(),
        });
        m.push(OPTIONAL_MEMBER.into());
        m
    }
}

/// The one member that may be absent.
const OPTIONAL_MEMBER: &str = "readme.html";

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "binary" | "bin" => Ok(Format::Binary),
            "python" | "py" => Ok(Format::Python),
            _ => Err(format!("unknown format {s:?}, expected binary or python")),
        }
    }
}

/// What to download and how to check it.
#[derive(Debug, Clone, PartialEq)]
pub struct DownloadSpec {
    /// The archive's URL (`http://` or `https://`).
    pub url: String,
    /// Its expected md5, lower-case hex.
    pub md5: String,
    /// Which version it is.
    pub format: Format,
    /// The archive's size in bytes, when known: a body longer than it is refused
    /// (else any body longer than 1 GiB is).
    pub size: Option<u64>,
    /// How long to wait for a connection, for the response, and for each
    /// [`STALL_BYTES`] of the body before the transfer counts as stalled.
    pub timeout: Duration,
    /// Requests made before giving up on an interrupted transfer, ≥ 1.
    pub attempts: u32,
    /// Pause before a retry (multiplied by the attempt number).
    pub retry_delay: Duration,
}

impl DownloadSpec {
    /// The official archive of `format`, from `url` if given, else from
    /// `$ONELAYER_CIFAR10_URL` if set, else from the official URL. The md5 is
    /// always the official one: a mirror must serve the same archive.
    pub fn official(format: Format, url: Option<&str>) -> DownloadSpec {
        let url = url
            .map(String::from)
            .or_else(|| std::env::var(URL_ENV).ok().filter(|v| !v.trim().is_empty()));
        DownloadSpec {
            url: url.unwrap_or_else(|| format.official_url()),
            md5: format.official_md5().to_string(),
            format,
            size: Some(format.official_size()),
            timeout: DEFAULT_TIMEOUT,
            attempts: 5,
            retry_delay: Duration::from_secs(2),
        }
    }
}

/// What happens during a download, for a progress display.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A verified archive was already in place; nothing was downloaded.
    AlreadyDownloaded(PathBuf),
    /// A request started; `resume_from` bytes were already on disk and `total`
    /// is the archive's size when the server says it.
    Started {
        /// Bytes kept from an earlier attempt.
        resume_from: u64,
        /// Size of the whole archive, when known.
        total: Option<u64>,
    },
    /// `done` bytes of the archive are on disk.
    Progress {
        /// Bytes on disk.
        done: u64,
    },
    /// A transfer was cut off; the next attempt resumes.
    Retrying {
        /// The attempt about to start (2 for the first retry).
        attempt: u32,
        /// Why the previous one stopped.
        reason: String,
    },
    /// The archive is complete and is being checked.
    Verifying,
    /// The archive is being extracted.
    Extracting,
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// The server answered with an error status.
    #[error("{url}: the server answered HTTP {status}")]
    HttpStatus {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The transfer kept stopping before the end.
    #[error(
        "{url}: download incomplete after {attempts} attempt(s): {found} of {} bytes; last error: {reason}",
        expected.map_or("an unknown number of".to_string(), |e| e.to_string())
    )]
    Incomplete {
        /// The URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Bytes received.
        found: u64,
        /// Size announced by the server.
        expected: Option<u64>,
        /// The last failure.
        reason: String,
    },
    /// The server sent more bytes than the archive has.
    #[error(
        "{url}: the server sent more than the {limit} bytes the archive has; the partial \
         download was deleted"
    )]
    TooLarge {
        /// The URL.
        url: String,
        /// The archive's size (or the largest accepted).
        limit: u64,
    },
    /// What the server sent is not a gzip archive (an HTML page, for instance).
    #[error(
        "{url}: the server sent {found}, not a gzip archive; it was deleted. Check the URL \
         (--url or ${URL_ENV})"
    )]
    NotGzip {
        /// The URL.
        url: String,
        /// What was sent instead, as far as its first bytes tell.
        found: String,
    },
    /// The archive's md5 is not the expected one.
    #[error("{url}: md5 of the downloaded archive is {found}, expected {expected}; it was deleted")]
    Md5Mismatch {
        /// The URL.
        url: String,
        /// Expected md5.
        expected: String,
        /// Found md5.
        found: String,
    },
    /// The server's answer cannot be used (bad URL, unexpected status or range).
    #[error("{url}: {reason}")]
    Protocol {
        /// The URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// An archive member that would escape the folder or is a link or special file.
    #[error("{archive}: refusing member {member:?}: {reason}; nothing was extracted")]
    UnsafeMember {
        /// The archive.
        archive: PathBuf,
        /// The member's path as stored.
        member: String,
        /// Why it is refused.
        reason: String,
    },
    /// Members the data set needs are not in the archive.
    #[error("{archive}: missing members {missing:?}; nothing was extracted")]
    MissingMembers {
        /// The archive.
        archive: PathBuf,
        /// The missing members.
        missing: Vec<String>,
    },
    /// A local file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DownloadError + '_ {
    move |source| DownloadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Downloads (unless already there and verified), verifies and extracts the
/// archive of `spec` into `dir`; returns what was extracted.
pub fn download(
    spec: &DownloadSpec,
    dir: &Path,
    on_event: &mut dyn FnMut(Event),
) -> Result<Extracted, DownloadError> {
    let created = !dir.exists();
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let result = fetch(spec, dir, on_event).and_then(|archive| {
        on_event(Event::Extracting);
        extract(&archive, dir, spec.format)
    });
    if result.is_err() && created {
        // Only succeeds when nothing (not even a partial download to resume) is left.
        let _ = std::fs::remove_dir(dir);
    }
    result
}

/// Where the data is, or where to download it when it is missing: the data
/// folder (`flag`, else `$CIFAR10_DIR`, else `./data` if it exists, else the
/// per-user cache) if it holds the data, else its `cifar-10-batches-bin/` if that
/// does: `Ok(folder)`; else `Err(data folder)`, the folder to download into.
/// `None` when no folder is given and the platform has no cache.
pub fn data_or_target(flag: Option<&Path>) -> Option<Result<PathBuf, PathBuf>> {
    let given = flag.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(crate::data::DATA_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let target = match given {
        Some(t) => t,
        None if Path::new(crate::data::DEFAULT_DIR).exists() => {
            PathBuf::from(crate::data::DEFAULT_DIR)
        }
        None => crate::data::cache_dir()?,
    };
    if holds_data(&target) {
        return Some(Ok(target));
    }
    let inner = target.join(Format::Binary.folder());
    if holds_data(&inner) {
        return Some(Ok(inner));
    }
    Some(Err(target))
}

/// True when `path` is an archive or a folder with a batch in it.
pub fn holds_data(path: &Path) -> bool {
    path.is_file()
        || [
            "data_batch_1.bin",
            "data_batch_1",
            "test_batch.bin",
            "test_batch",
        ]
        .iter()
        .any(|f| path.join(f).is_file())
}

/// md5 (lower-case hex) of the file at `path`, streamed.
pub fn file_md5(path: &Path) -> Result<String, DownloadError> {
    use md5::Digest;
    let mut f = std::fs::File::open(path).map_err(io_err(path))?;
    let mut h = md5::Md5::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(crate::data::verify::hex(&h.finalize()))
}
