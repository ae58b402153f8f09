//! The two versions of CIFAR-10 and how to decode each one's files.

use super::error::{DataError, FileRef};
use super::verify::{self, Check};
use super::{BatchName, LabeledImages, ReadOptions, binary, python};

/// A version of CIFAR-10, by the layout of its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Layout {
    /// `data_batch_N.bin`, `test_batch.bin`, `batches.meta.txt`.
    Binary,
    /// `data_batch_N`, `test_batch`, `batches.meta` (pickles).
    Python,
}

impl Layout {
    /// Both layouts, binary first.
    pub const ALL: [Layout; 2] = [Layout::Binary, Layout::Python];

    /// The file name of `batch` in this layout.
    pub fn file_name(self, batch: BatchName) -> String {
        match self {
            Layout::Binary => format!("{}.bin", batch.stem()),
            Layout::Python => batch.stem(),
        }
    }

    /// The file name of the class names.
    pub fn meta_name(self) -> &'static str {
        match self {
            Layout::Binary => "batches.meta.txt",
            Layout::Python => "batches.meta",
        }
    }

    /// The folder the official archive extracts to.
    pub fn folder_name(self) -> &'static str {
        match self {
            Layout::Binary => "cifar-10-batches-bin",
            Layout::Python => "cifar-10-batches-py",
        }
    }

    /// The official archive's file name.
    pub fn archive_name(self) -> &'static str {
        match self {
            Layout::Binary => "cifar-10-binary.tar.gz",
            Layout::Python => "cifar-10-python.tar.gz",
        }
    }

    /// Decodes a batch file's bytes, and checks its digest if it bears an official
    /// batch's name.
    pub fn decode_batch(
        self,
        file: &FileRef,
        bytes: Vec<u8>,
        opts: &ReadOptions,
    ) -> Result<(LabeledImages, Check), DataError> {
        match self {
            Layout::Binary => binary::decode_batch(file, bytes, opts.allow_modified),
            Layout::Python => {
                let images = python::parse_batch(file, &bytes)?;
                let check = verify::check(file, &bytes, opts.allow_modified)?;
                Ok((images, check))
            }
        }
    }

    /// Decodes the class names file.
    pub fn decode_meta(self, file: &FileRef, bytes: &[u8]) -> Result<Vec<String>, DataError> {
        match self {
            Layout::Binary => binary::parse_meta(file, bytes),
            Layout::Python => python::parse_meta(file, bytes),
        }
    }

    /// The files this layout needs for `which`, meta first.
    pub fn needed(self, which: &[BatchName]) -> Vec<String> {
        let mut v = vec![self.meta_name().to_string()];
        v.extend(which.iter().map(|&b| self.file_name(b)));
        v
    }
}
