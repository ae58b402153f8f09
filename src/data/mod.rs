//! Reading CIFAR-10, in the layouts users have: the binary version
//! (`data_batch_N.bin`, `test_batch.bin`, `batches.meta.txt`) and the python
//! version (`data_batch_N`, `test_batch`, `batches.meta`: pickles), each from an
//! extracted folder or straight from the official `.tar.gz` archives, read in
//! memory in one streaming pass.
//!
//! A batch is `n` images of `D = 3072` bytes: 1024 red, 1024 green, 1024 blue, each
//! row-major 32×32. Pixels are kept as `u8`, one image after another, so a batch
//! is also the report's `X: d×n` stored column by column.
//!
//! Everything read is verified: sizes and record counts, labels in `0..10`, the
//! pickles' keys, shapes and dtypes, and, for a file bearing an official batch's
//! name, its digest against the official file's ([`verify`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::D;

mod archive;
mod binary;
mod error;
pub mod fingerprint;
mod folder;
mod layout;
mod members;
pub mod normalize;
pub mod pickle;
mod prepare;
mod python;
pub mod verify;

pub use error::{DataError, FileRef, OFFICIAL_URL};
pub use fingerprint::DataFingerprint;
pub use layout::Layout;
pub(crate) use members::{Capped, members as tar_members};
pub use prepare::{Prepared, prepare};
pub use verify::Check;

/// Bytes of one record in a binary batch: the label and the pixels.
pub const RECORD: usize = 1 + D;

/// A named batch of the official data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum BatchName {
    /// `data_batch_N`, N in 1..=5.
    Data(u8),
    /// `test_batch`.
    Test,
}

impl BatchName {
    /// The stem shared by both versions: `data_batch_3`, `test_batch`.
    pub fn stem(self) -> String {
        match self {
            BatchName::Data(i) => format!("data_batch_{i}"),
            BatchName::Test => "test_batch".to_string(),
        }
    }
}

impl std::fmt::Display for BatchName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.stem())
    }
}

/// Labelled images as stored on disk.
#[derive(Clone, PartialEq)]
pub struct LabeledImages {
    /// Pixels, `n × 3072`, one image after another (channel-major inside an image).
    pub pixels: Vec<u8>,
    /// Labels in `0..10`, one per image.
    pub labels: Vec<u8>,
}

/// Shows the sizes and the first labels, not 30 MB of pixels.
impl std::fmt::Debug for LabeledImages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let head = &self.labels[..self.labels.len().min(8)];
        f.debug_struct("LabeledImages")
            .field("images", &self.len())
            .field("pixel_bytes", &self.pixels.len())
            .field("first_labels", &head)
            .finish()
    }
}

impl LabeledImages {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// How strictly to read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Accept files that bear an official batch's name but not its content.
    pub allow_modified: bool,
}

/// Batches read from one source, with the class names.
#[derive(Debug, Clone)]
pub struct CifarData {
    /// Where the data came from (folder or archive), for the record.
    pub source: PathBuf,
    /// Which version was read.
    pub layout: Layout,
    /// Class names in label order.
    pub class_names: Vec<String>,
    /// The batches asked for, in the order asked.
    pub batches: Vec<LabeledImages>,
    /// The check of each batch against the official file, in the same order.
    pub checks: Vec<Check>,
}

/// Reads the batches `which` from `path`: a folder of either version (the files
/// directly in it, or in its `cifar-10-batches-bin/` or `cifar-10-batches-py/`
/// subfolder, or an official archive in it), or a `.tar.gz` archive of either.
pub fn read(path: &Path, which: &[BatchName], opts: &ReadOptions) -> Result<CifarData, DataError> {
    if path.is_dir() {
        folder::read(path, which, opts)
    } else if path.symlink_metadata().is_ok() {
        // A file of any kind: the archive reader refuses what is not a regular file.
        archive::read(path, which, opts)
    } else {
        Err(DataError::Missing {
            path: path.to_path_buf(),
            via: None,
        })
    }
}

/// A label as read, checked to be in `0..10`.
fn check_label(file: &FileRef, index: usize, label: i64) -> Result<u8, DataError> {
    match u8::try_from(label) {
        Ok(l) if usize::from(l) < crate::K => Ok(l),
        _ => Err(DataError::LabelOutOfRange {
            file: file.clone(),
            index,
            label,
        }),
    }
}

/// The environment variable naming the data's location.
pub const DATA_ENV: &str = "CIFAR10_DIR";

/// The folder looked at when neither `--data` nor `$CIFAR10_DIR` is given.
pub const DEFAULT_DIR: &str = "./data";

/// The environment variable naming the per-user cache's parent folder.
pub const CACHE_ENV: &str = "XDG_CACHE_HOME";

/// The per-user cache, where `onelayer download` puts the data by default:
/// `$XDG_CACHE_HOME/onelayer` when that variable is set, else `onelayer` in the
/// platform's cache folder (`~/.cache`, `~/Library/Caches`, `%LOCALAPPDATA%`).
pub fn cache_dir() -> Option<PathBuf> {
    cache_dir_in(std::env::var_os(CACHE_ENV))
}

/// [`cache_dir`] with the environment variable's value given.
pub fn cache_dir_in(env: Option<OsString>) -> Option<PathBuf> {
    let base = env
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(dirs::cache_dir)?;
    Some(base.join("onelayer"))
}

/// Where the data is: `flag` (`--data`) if given, else `$CIFAR10_DIR` if set, else
/// `./data`, else the per-user [`cache_dir`]. The first one given must exist; when
/// none is, the error says where it looked and how to get the data.
pub fn locate(flag: Option<&Path>) -> Result<PathBuf, DataError> {
    locate_from(
        flag,
        std::env::var_os(DATA_ENV),
        Path::new(DEFAULT_DIR),
        cache_dir().as_deref(),
    )
}

/// [`locate`] with the environment variable's value and the default folder given,
/// and no cache.
pub fn locate_in(
    flag: Option<&Path>,
    env: Option<OsString>,
    default: &Path,
) -> Result<PathBuf, DataError> {
    locate_from(flag, env, default, None)
}

/// [`locate`] with the environment variable's value, the default folder and the
/// cache given.
pub fn locate_from(
    flag: Option<&Path>,
    env: Option<OsString>,
    default: &Path,
    cache: Option<&Path>,
) -> Result<PathBuf, DataError> {
    let missing = |p: &Path| format!("{} (no such folder or archive)", p.display());
    if let Some(p) = flag {
        return match p.exists() {
            true => Ok(p.to_path_buf()),
            false => Err(DataError::NotLocated {
                tried: vec![format!("--data {}", missing(p))],
            }),
        };
    }
    let mut tried = vec!["--data (not given)".to_string()];
    match env.filter(|v| !v.is_empty()) {
        Some(v) => {
            let p = PathBuf::from(v);
            if p.exists() {
                return Ok(p);
            }
            tried.push(format!("${DATA_ENV}={}", missing(&p)));
        }
        None => {
            tried.push(format!("${DATA_ENV} (not set)"));
            if default.exists() {
                return Ok(default.to_path_buf());
            }
            tried.push(missing(default));
            if let Some(c) = cache {
                if c.exists() {
                    return Ok(c.to_path_buf());
                }
                tried.push(format!("the cache {}", missing(c)));
            }
        }
    }
    Err(DataError::NotLocated { tried })
}
