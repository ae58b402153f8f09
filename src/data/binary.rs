//! The binary version: `data_batch_N.bin`, `test_batch.bin` and `batches.meta.txt`.
//!
//! A batch is 10 000 records of `1 + 3072` bytes: the label, then the pixels (1024
//! red, 1024 green, 1024 blue, each row-major 32×32).

use super::error::{DataError, FileRef};
use super::verify::{Check, Verifier};
use super::{LabeledImages, RECORD, check_label};
use crate::{D, K};

/// Records in every official batch file.
pub const RECORDS_PER_BATCH: usize = 10_000;

/// Records hashed and compacted together: about 200 kB, so that the hash and the
/// copy read the same bytes from cache.
const CHUNK: usize = 64;

/// Decodes a binary batch file: exactly [`RECORDS_PER_BATCH`] records of
/// [`RECORD`] bytes, every label in `0..10`, and, for a file bearing an official
/// name, the official file's digest ([`Verifier`]). One pass over the bytes: each chunk of records is
/// hashed, then its labels are taken out and its pixels moved down in place.
pub fn decode_batch(
    file: &FileRef,
    mut bytes: Vec<u8>,
    allow_modified: bool,
) -> Result<(LabeledImages, Check), DataError> {
    let expected = RECORDS_PER_BATCH * RECORD;
    if bytes.len() != expected {
        return Err(DataError::BadSize {
            file: file.clone(),
            expected,
            records: RECORDS_PER_BATCH,
            record: RECORD,
            found: bytes.len(),
        });
    }
    let mut verifier = Verifier::for_file(file);
    let mut labels = Vec::with_capacity(RECORDS_PER_BATCH);
    for first in (0..RECORDS_PER_BATCH).step_by(CHUNK) {
        let end = (first + CHUNK).min(RECORDS_PER_BATCH);
        if let Some(v) = verifier.as_mut() {
            v.update(&bytes[first * RECORD..end * RECORD]);
        }
        for index in first..end {
            let at = index * RECORD;
            labels.push(check_label(file, index, i64::from(bytes[at]))?);
            // Pixels of record `index` move from `at + 1` down to `index * D`.
            bytes.copy_within(at + 1..at + RECORD, index * D);
        }
    }
    bytes.truncate(RECORDS_PER_BATCH * D);
    let check = match verifier {
        Some(v) => v.finish(file, allow_modified)?,
        None => Check::Unofficial,
    };
    Ok((
        LabeledImages {
            pixels: bytes,
            labels,
        },
        check,
    ))
}

/// Parses `batches.meta.txt`: one class name per line, blank lines ignored;
/// exactly [`K`] names.
pub fn parse_meta(file: &FileRef, bytes: &[u8]) -> Result<Vec<String>, DataError> {
    let text = std::str::from_utf8(bytes).map_err(|e| DataError::BadClassNames {
        file: file.clone(),
        found: format!("text that is not UTF-8 ({e})"),
    })?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != K {
        return Err(DataError::BadClassNames {
            file: file.clone(),
            found: format!("{} non-empty lines", names.len()),
        });
    }
    Ok(names)
}
