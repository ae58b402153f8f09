//! What can go wrong while finding or reading CIFAR-10, and which file it concerns.

use std::fmt;
use std::path::{Path, PathBuf};

use super::verify::{DigestKind, Official};

/// A file being read: a path on disk, or a member of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    /// The file on disk (the archive, for a member).
    pub path: PathBuf,
    /// The member's name inside the archive at `path`, if any.
    pub member: Option<String>,
}

impl FileRef {
    /// A file on disk.
    pub fn disk(path: &Path) -> FileRef {
        FileRef {
            path: path.to_path_buf(),
            member: None,
        }
    }

    /// The member `member` of the archive `archive`.
    pub fn member(archive: &Path, member: &str) -> FileRef {
        FileRef {
            path: archive.to_path_buf(),
            member: Some(member.to_string()),
        }
    }

    /// The file's own name (the member's last component inside an archive).
    pub fn file_name(&self) -> String {
        match &self.member {
            Some(m) => m.rsplit('/').next().unwrap_or(m).to_string(),
            None => self
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }
}

impl fmt::Display for FileRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.member {
            Some(m) => write!(f, "{} (member {m})", self.path.display()),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

/// An error while finding or reading the data. Every message is one line that
/// names the file (and archive member), what was expected and what was found.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// No data at any of the places looked at.
    #[error(
        "no CIFAR-10 data found: looked at {}; get the binary version from \
         {OFFICIAL_URL} and give the archive or its extracted folder with --data PATH \
         or $CIFAR10_DIR, put it in ./data, or run `onelayer download`",
        .tried.join(", ")
    )]
    NotLocated {
        /// The places looked at, each with why it did not do.
        tried: Vec<String>,
    },
    /// The folder or archive given does not exist.
    #[error("{path}: no such folder or archive{}", via_suffix(.via))]
    Missing {
        /// The path.
        path: PathBuf,
        /// Where the path came from (`--data`, `$CIFAR10_DIR`), if known.
        via: Option<String>,
    },
    /// A folder that holds neither version of CIFAR-10.
    #[error("{path}: no CIFAR-10 batches found: expected {expected}")]
    UnknownLayout {
        /// The folder.
        path: PathBuf,
        /// What was looked for.
        expected: String,
    },
    /// A batch (or the class names file) that is not where it should be.
    #[error("{source_path}: {name} not found (looked for {looked_for})")]
    MissingBatch {
        /// The folder or archive read.
        source_path: PathBuf,
        /// What is missing: `batch data_batch_3`, `the class names`.
        name: String,
        /// The file names or members looked for.
        looked_for: String,
    },
    /// A file could not be read.
    #[error("cannot read {file}: {source}")]
    Io {
        /// The file.
        file: FileRef,
        /// The cause.
        source: std::io::Error,
    },
    /// A corrupt or unreadable archive.
    #[error("{path}: corrupt archive: {message}")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What went wrong (gzip or tar level).
        message: String,
    },
    /// A binary batch of the wrong size (truncated or over-long).
    #[error(
        "{file}: expected {expected} bytes ({records} records of {record} bytes), found {found} bytes"
    )]
    BadSize {
        /// The file.
        file: FileRef,
        /// Expected size in bytes.
        expected: usize,
        /// Records expected.
        records: usize,
        /// Bytes per record.
        record: usize,
        /// Found size in bytes.
        found: usize,
    },
    /// A label outside `0..10`.
    #[error("{file}: record {index} has label {label}, expected 0..=9")]
    LabelOutOfRange {
        /// The file.
        file: FileRef,
        /// The record (0-based).
        index: usize,
        /// The label found.
        label: i64,
    },
    /// A file that is not a pickle, or a malformed or truncated one.
    #[error("{file}: not a readable pickle: {message} (at byte {offset})")]
    Pickle {
        /// The file.
        file: FileRef,
        /// Byte offset of the problem.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// A well-formed pickle that is not a CIFAR-10 batch (keys, shape, dtype).
    #[error("{file}: not a CIFAR-10 {what}: expected {expected}, found {found}")]
    NotABatch {
        /// The file.
        file: FileRef,
        /// `batch` or `class names file`.
        what: &'static str,
        /// What a CIFAR-10 file holds.
        expected: String,
        /// What this one holds.
        found: String,
    },
    /// Class names that are not 10 non-empty names.
    #[error("{file}: expected 10 class names, found {found}")]
    BadClassNames {
        /// The file.
        file: FileRef,
        /// What was found.
        found: String,
    },
    /// A file with an official batch's name whose digest is not the official one.
    #[error(
        "{file}: {digest} {found} differs from the official {}'s {expected}{}; \
         pass --allow-modified to use modified data knowingly",
        official.name,
        published_md5(digest, official.md5)
    )]
    DigestMismatch {
        /// The file.
        file: FileRef,
        /// The official file of the same name.
        official: &'static Official,
        /// The digest compared.
        digest: DigestKind,
        /// The official file's digest.
        expected: &'static str,
        /// The file's digest.
        found: String,
    },
}

/// Where to get the data.
pub const OFFICIAL_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";

/// The official file's published md5, when the digest compared was another.
fn published_md5(digest: &DigestKind, md5: &str) -> String {
    match digest {
        DigestKind::Md5 => String::new(),
        DigestKind::Blake3 => format!(" (the file whose published md5 is {md5})"),
    }
}

fn via_suffix(via: &Option<String>) -> String {
    via.as_deref()
        .map(|v| format!(" (from {v})"))
        .unwrap_or_default()
}
