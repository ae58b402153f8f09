//! Reading the official archives (`cifar-10-binary.tar.gz`, `cifar-10-python.tar.gz`,
//! or any `.tar.gz` or `.tar` with members of those names) in memory, in one
//! streaming pass to the end of the archive: members are matched by file name,
//! only those asked for are kept, and each is decoded and verified on its own
//! thread while decompression goes on. Nothing is written to disk.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::thread::ScopedJoinHandle;

use flate2::read::MultiGzDecoder;

use super::error::{DataError, FileRef};
use super::verify::Check;
use super::{BatchName, CifarData, LabeledImages, Layout, ReadOptions, members};
use crate::input::{self, limit};
use members::Capped;

/// Largest member kept, in bytes (a batch is about 31 MB): bounds the memory a
/// corrupt or hostile archive can take.
pub const MAX_MEMBER: u64 = 256 << 20;

type Decoded = Result<(LabeledImages, Check), DataError>;

/// Reads `which` and the class names from the archive at `path`.
pub fn read(path: &Path, which: &[BatchName], opts: &ReadOptions) -> Result<CifarData, DataError> {
    let corrupt = |message: String| DataError::Archive {
        path: path.to_path_buf(),
        message,
    };
    let (file, _) =
        input::open(path, limit::ARCHIVE, "an archive").map_err(|source| DataError::Io {
            file: FileRef::disk(path),
            source,
        })?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let stream = open_stream(path, &mut reader)?;
    let mut tar = tar::Archive::new(stream);
    std::thread::scope(|s| {
        let mut found = Found::default();
        let entries = members::members(&mut tar).map_err(|e| corrupt(e.to_string()))?;
        for entry in entries {
            let (member, mut entry) = entry.map_err(|e| corrupt(e.to_string()))?;
            let member = String::from_utf8_lossy(&member).into_owned();
            let name = member.rsplit('/').next().unwrap_or(&member).to_string();
            // Only regular files asked for, the first of each name: at most one
            // member per file asked for is held in memory.
            let Some(layout) = wanted(&name, which) else {
                continue;
            };
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                found.links.push(name);
                continue;
            }
            if !kind.is_file() || found.has(&name) {
                continue;
            }
            let file = FileRef::member(path, &member);
            let bytes = read_member(&mut entry, &file, path)?;
            if name == layout.meta_name() {
                found.meta.insert(name, (file, bytes));
            } else {
                let h = s.spawn(move || layout.decode_batch(&file, bytes, opts));
                found.batches.insert(name, h);
            }
        }
        drain(tar, path)?;
        match Layout::ALL.into_iter().find(|&l| found.complete(l, which)) {
            Some(layout) => found.finish(path, layout, which),
            None => Err(found.missing(path, which)),
        }
    })
}

/// The tar stream: gunzipped if the file starts with gzip's magic bytes.
fn open_stream<'r>(
    path: &Path,
    reader: &'r mut BufReader<File>,
) -> Result<Box<dyn Read + 'r>, DataError> {
    let head = std::io::BufRead::fill_buf(reader).map_err(|source| DataError::Io {
        file: FileRef::disk(path),
        source,
    })?;
    let name = path.to_string_lossy();
    if head.starts_with(&[0x1f, 0x8b]) {
        // Concatenated gzip members are one valid stream (as `gzip -d` reads them).
        Ok(Box::new(Capped::new(MultiGzDecoder::new(reader))))
    } else if name.ends_with(".tar") {
        Ok(Box::new(Capped::new(reader)))
    } else {
        Err(DataError::Archive {
            path: path.to_path_buf(),
            message: "not a gzip file (expected a folder, or a .tar.gz archive such as \
                      cifar-10-binary.tar.gz or cifar-10-python.tar.gz)"
                .into(),
        })
    }
}

/// The layout a member named `name` belongs to, if it is one asked for.
fn wanted(name: &str, which: &[BatchName]) -> Option<Layout> {
    Layout::ALL
        .into_iter()
        .find(|&l| l.needed(which).iter().any(|n| n == name))
}

fn read_member<R: Read>(
    entry: &mut tar::Entry<R>,
    file: &FileRef,
    path: &Path,
) -> Result<Vec<u8>, DataError> {
    let size = entry.header().size().unwrap_or(0).min(MAX_MEMBER);
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    entry
        .take(MAX_MEMBER + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::Archive {
            path: path.to_path_buf(),
            message: format!(
                "reading member {}: {e}",
                file.member.as_deref().unwrap_or("")
            ),
        })?;
    if bytes.len() as u64 > MAX_MEMBER {
        return Err(DataError::Archive {
            path: path.to_path_buf(),
            message: format!(
                "member {} is larger than {MAX_MEMBER} bytes",
                file.member.as_deref().unwrap_or("")
            ),
        });
    }
    Ok(bytes)
}

/// Reads what is left of the stream to its end, so that gzip checks its CRC and
/// length and a truncated or corrupt archive is reported as such. (The test batch
/// is the official archives' last member: reading to the end costs nothing more.)
fn drain<R: Read>(tar: tar::Archive<R>, path: &Path) -> Result<(), DataError> {
    std::io::copy(&mut tar.into_inner(), &mut std::io::sink())
        .map(|_| ())
        .map_err(|e| DataError::Archive {
            path: path.to_path_buf(),
            message: format!("truncated or corrupt: {e}"),
        })
}

/// The members found so far: class names files as bytes, batches being decoded.
#[derive(Default)]
struct Found<'s> {
    meta: HashMap<String, (FileRef, Vec<u8>)>,
    batches: HashMap<String, ScopedJoinHandle<'s, Decoded>>,
    /// Names of link members asked for: links are not read.
    links: Vec<String>,
}

impl Found<'_> {
    fn has(&self, name: &str) -> bool {
        self.meta.contains_key(name) || self.batches.contains_key(name)
    }

    fn complete(&self, layout: Layout, which: &[BatchName]) -> bool {
        self.meta.contains_key(layout.meta_name())
            && which
                .iter()
                .all(|&b| self.batches.contains_key(&layout.file_name(b)))
    }

    fn missing(&self, path: &Path, which: &[BatchName]) -> DataError {
        let has = |n: &str| self.has(n);
        let count = |l: Layout| l.needed(which).iter().filter(|n| has(n)).count();
        let layout = if count(Layout::Python) > count(Layout::Binary) {
            Layout::Python
        } else {
            Layout::Binary
        };
        let needed = layout.needed(which);
        let first = needed.iter().position(|n| !has(n)).unwrap_or(0);
        let what = match first.checked_sub(1).and_then(|i| which.get(i)) {
            Some(b) => format!("batch {b}"),
            None => "the class names".into(),
        };
        let name = needed.get(first).cloned().unwrap_or_default();
        let mut looked_for = format!("a member named {name} or {}/{name}", layout.folder_name());
        if self.links.contains(&name) {
            looked_for += &format!(
                "; the archive's {name} is a link, and links in an archive are not read: \
                 store the file itself"
            );
        }
        DataError::MissingBatch {
            source_path: path.to_path_buf(),
            name: what,
            looked_for,
        }
    }

    fn finish(
        mut self,
        path: &Path,
        layout: Layout,
        which: &[BatchName],
    ) -> Result<CifarData, DataError> {
        let meta = self.meta.remove(layout.meta_name());
        let mut batches = Vec::with_capacity(which.len());
        let mut checks = Vec::with_capacity(which.len());
        // A batch asked for twice is one member: decode it once, clone it for the
        // earlier places.
        let mut done: HashMap<String, (LabeledImages, Check)> = HashMap::new();
        for (i, &b) in which.iter().enumerate() {
            let name = layout.file_name(b);
            if let Some(h) = self.batches.remove(&name) {
                let d = h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))?;
                done.insert(name.clone(), d);
            }
            let again = which[i + 1..].contains(&b);
            let d = if again {
                done.get(&name).cloned()
            } else {
                done.remove(&name)
            };
            let (images, check) = d.ok_or_else(|| self.missing(path, which))?;
            batches.push(images);
            checks.push(check);
        }
        let class_names = match meta {
            Some((file, bytes)) => layout.decode_meta(&file, &bytes)?,
            None => return Err(self.missing(path, which)),
        };
        Ok(CifarData {
            source: path.to_path_buf(),
            layout,
            class_names,
            batches,
            checks,
        })
    }
}
