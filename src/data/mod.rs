//! Reading CIFAR-10: the binary version (`data_batch_N.bin`, `test_batch.bin`).
//!
//! A batch is `n` records of one label byte and 3072 pixel bytes: 1024 red, 1024
//! green, 1024 blue, each row-major 32×32. Pixels are kept as `u8`, one image after
//! another, so a batch is also the report's `X: d×n` stored column by column.

use std::path::{Path, PathBuf};

use crate::D;

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
#[derive(Debug, Clone, PartialEq)]
pub struct LabeledImages {
    /// Pixels, `n × 3072`, one image after another (channel-major inside an image).
    pub pixels: Vec<u8>,
    /// Labels in `0..10`, one per image.
    pub labels: Vec<u8>,
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

/// An error while finding or reading the data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A binary batch whose size is not a whole number of records.
    #[error(
        "{path}: {found} bytes is not a whole number of {RECORD}-byte records (expected {expected} bytes)"
    )]
    BadSize {
        /// The file.
        path: PathBuf,
        /// Expected size in bytes.
        expected: usize,
        /// Found size in bytes.
        found: usize,
    },
    /// A label outside `0..10`.
    #[error("{path}: record {index} has label {label}, expected 0..=9")]
    LabelOutOfRange {
        /// The file.
        path: PathBuf,
        /// The record.
        index: usize,
        /// The label found.
        label: u8,
    },
}

/// Reads one binary batch file of 10 000 records.
pub fn read_binary_batch(path: &Path) -> Result<LabeledImages, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let expected = 10_000 * RECORD;
    if bytes.len() != expected {
        return Err(DataError::BadSize {
            path: path.to_path_buf(),
            expected,
            found: bytes.len(),
        });
    }
    let n = bytes.len() / RECORD;
    let mut pixels = Vec::with_capacity(n * D);
    let mut labels = Vec::with_capacity(n);
    for (index, rec) in bytes.chunks_exact(RECORD).enumerate() {
        let label = rec[0];
        if label >= 10 {
            return Err(DataError::LabelOutOfRange {
                path: path.to_path_buf(),
                index,
                label,
            });
        }
        labels.push(label);
        pixels.extend_from_slice(&rec[1..]);
    }
    Ok(LabeledImages { pixels, labels })
}

/// How strictly to read.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Accept files that bear an official batch's name but not its md5.
    pub allow_modified: bool,
}

/// Batches read from one source, with the class names.
#[derive(Debug, Clone)]
pub struct CifarData {
    /// Where the data came from (folder or archive), for the record.
    pub source: PathBuf,
    /// Class names in label order.
    pub class_names: Vec<String>,
    /// The batches asked for, in the order asked.
    pub batches: Vec<LabeledImages>,
}

/// Reads the batches `which` from `path` (a folder of the binary version).
pub fn read(path: &Path, which: &[BatchName], _opts: &ReadOptions) -> Result<CifarData, DataError> {
    let meta = path.join("batches.meta.txt");
    let class_names = std::fs::read_to_string(&meta)
        .map_err(|source| DataError::Io {
            path: meta.clone(),
            source,
        })?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let batches = which
        .iter()
        .map(|b| read_binary_batch(&path.join(format!("{}.bin", b.stem()))))
        .collect::<Result<_, _>>()?;
    Ok(CifarData {
        source: path.to_path_buf(),
        class_names,
        batches,
    })
}

/// The environment variable naming the data's location.
pub const DATA_ENV: &str = "CIFAR10_DIR";

/// Where the data is: `flag` if given, else `$CIFAR10_DIR`, else `./data`.
pub fn locate(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    match std::env::var_os(DATA_ENV) {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from("data"),
    }
}
