//! Reading an extracted folder of either version.

use std::path::{Path, PathBuf};

use super::error::{DataError, FileRef};
use super::{BatchName, CifarData, Layout, ReadOptions, archive};
use crate::input::{self, limit};

/// Reads `which` from the folder `dir`: the files directly in it or in the
/// official archive's subfolder, else an official archive inside it.
pub fn read(dir: &Path, which: &[BatchName], opts: &ReadOptions) -> Result<CifarData, DataError> {
    let Some((base, layout)) = find(dir, which) else {
        for layout in Layout::ALL {
            let a = dir.join(layout.archive_name());
            if a.is_file() {
                return archive::read(&a, which, opts);
            }
        }
        return Err(DataError::UnknownLayout {
            path: dir.to_path_buf(),
            expected: "data_batch_N.bin, test_batch.bin and batches.meta.txt (binary version) \
                       or data_batch_N, test_batch and batches.meta (python version), in it or \
                       in cifar-10-batches-bin/ or cifar-10-batches-py/, or an official \
                       .tar.gz archive in it"
                .into(),
        });
    };
    let meta = FileRef::disk(&base.join(layout.meta_name()));
    let meta_bytes = read_file(&base, "the class names", &meta, limit::META)?;
    let class_names = layout.decode_meta(&meta, &meta_bytes)?;
    let decoded = std::thread::scope(|s| {
        let handles: Vec<_> = which
            .iter()
            .map(|&b| {
                let base = &base;
                s.spawn(move || {
                    let file = FileRef::disk(&base.join(layout.file_name(b)));
                    let bytes = read_file(base, &format!("batch {b}"), &file, limit::BATCH)?;
                    layout.decode_batch(&file, bytes, opts)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let (batches, checks) = decoded.into_iter().unzip();
    Ok(CifarData {
        source: base,
        layout,
        class_names,
        batches,
        checks,
    })
}

/// The first of `dir` and its official subfolders that holds any file of `which`
/// in the binary layout, else in the python layout. Any kind of file counts, so
/// that a FIFO or a folder named like a batch is reported as what it is.
fn find(dir: &Path, which: &[BatchName]) -> Option<(PathBuf, Layout)> {
    Layout::ALL.into_iter().find_map(|layout| {
        [dir.to_path_buf(), dir.join(layout.folder_name())]
            .into_iter()
            .find(|base| {
                layout
                    .needed(which)
                    .iter()
                    .any(|f| base.join(f).symlink_metadata().is_ok())
            })
            .map(|base| (base, layout))
    })
}

/// The bytes of `file`, a regular file of at most `limit` bytes; a missing file is
/// reported as the missing `what`.
fn read_file(base: &Path, what: &str, file: &FileRef, limit: u64) -> Result<Vec<u8>, DataError> {
    let kind = if limit == limit::META {
        "a class names file"
    } else {
        "a batch"
    };
    input::read(&file.path, limit, kind).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            DataError::MissingBatch {
                source_path: base.to_path_buf(),
                name: what.to_string(),
                looked_for: file.path.display().to_string(),
            }
        } else {
            DataError::Io {
                file: file.clone(),
                source,
            }
        }
    })
}
