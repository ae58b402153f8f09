//! The python version: `data_batch_N`, `test_batch` and `batches.meta`, pickled
//! dicts. A batch holds `data`, a numpy uint8 array `n × 3072` (the same layout as
//! the binary version's pixels), and `labels`, a list of `n` ints; keys are bytes
//! (as published, protocol 2) or str (re-saved by Python 3).

use super::error::{DataError, FileRef};
use super::pickle::{self, Value};
use super::{LabeledImages, check_label};
use crate::{D, K};

/// Parses a pickled batch: any number `n ≥ 1` of images, with `n` labels in `0..10`.
pub fn parse_batch(file: &FileRef, bytes: &[u8]) -> Result<LabeledImages, DataError> {
    let v = unpickle(file, bytes)?;
    let not_batch = |expected: String, found: String| DataError::NotABatch {
        file: file.clone(),
        what: "batch",
        expected,
        found,
    };
    let data = key(&v, "data").ok_or_else(|| not_batch(KEYS.into(), keys(&v)))?;
    let labels = key(&v, "labels").ok_or_else(|| not_batch(KEYS.into(), keys(&v)))?;
    let Value::Array(a) = data else {
        return Err(not_batch("data as a numpy array".into(), data.kind()));
    };
    // The reader spells every uint8 dtype `u1` and has checked the data's size.
    if a.dtype != "u1" {
        return Err(not_batch(
            "data of dtype uint8".into(),
            format!("dtype {}", a.dtype),
        ));
    }
    let n = match a.shape[..] {
        [n, d] if d == D && n > 0 => n,
        _ => {
            return Err(not_batch(
                format!("data of shape (n, {D})"),
                shape(&a.shape),
            ));
        }
    };
    if a.fortran {
        return Err(not_batch("data in C order".into(), "Fortran order".into()));
    }
    let labels = label_list(file, labels, n)?;
    Ok(LabeledImages {
        pixels: a.data.to_vec(),
        labels,
    })
}

const KEYS: &str = "a dict with keys data and labels";

fn label_list(file: &FileRef, labels: &Value, n: usize) -> Result<Vec<u8>, DataError> {
    let not_batch = |found: String| DataError::NotABatch {
        file: file.clone(),
        what: "batch",
        expected: format!("labels as a list of {n} ints, one per image"),
        found,
    };
    let items: Vec<Option<i64>> = match labels {
        Value::List(l, _) => l.iter().map(int).collect(),
        Value::Tuple(t, _) => t.iter().map(int).collect(),
        Value::Array(a) if a.shape.len() == 1 => {
            int_array(a).ok_or_else(|| not_batch(format!("a label array of dtype {}", a.dtype)))?
        }
        other => return Err(not_batch(other.kind())),
    };
    if items.len() != n {
        return Err(not_batch(format!("{} labels", items.len())));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, l)| match l {
            Some(l) => check_label(file, index, l),
            None => Err(not_batch(format!("label {index} is not an int"))),
        })
        .collect()
}

/// The elements of a little-endian integer array (`i1` to `i8`, `u1` to `u4`).
fn int_array(a: &pickle::Array) -> Option<Vec<Option<i64>>> {
    let signed = match a.dtype.as_str() {
        "i1" | "i2" | "i4" | "i8" => true,
        "u1" | "u2" | "u4" => false,
        _ => return None,
    };
    let size = pickle::itemsize(&a.dtype)?;
    let values = a.data.chunks_exact(size).map(|c| {
        let fill = if signed && c.last().is_some_and(|&b| b >= 0x80) {
            0xff
        } else {
            0
        };
        let mut le = [fill; 8];
        le[..size].copy_from_slice(c);
        Some(i64::from_le_bytes(le))
    });
    Some(values.collect())
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

/// Parses `batches.meta`: a dict whose `label_names` lists the 10 class names.
pub fn parse_meta(file: &FileRef, bytes: &[u8]) -> Result<Vec<String>, DataError> {
    let v = unpickle(file, bytes)?;
    let names = key(&v, "label_names").ok_or_else(|| DataError::NotABatch {
        file: file.clone(),
        what: "class names file",
        expected: "a dict with the key label_names".into(),
        found: keys(&v),
    })?;
    let names: Option<Vec<String>> = match names {
        Value::List(l, _) => l.iter().map(Value::as_text).collect(),
        _ => None,
    };
    match names {
        Some(n) if n.len() == K && n.iter().all(|s| !s.is_empty()) => Ok(n),
        Some(n) if n.len() == K => Err(DataError::BadClassNames {
            file: file.clone(),
            found: format!(
                "{K} names of which name {} is empty; every class needs a name",
                n.iter().position(String::is_empty).unwrap_or_default()
            ),
        }),
        Some(n) => Err(DataError::BadClassNames {
            file: file.clone(),
            found: format!("{} names", n.len()),
        }),
        None => Err(DataError::BadClassNames {
            file: file.clone(),
            found: "label_names that is not a list of strings".into(),
        }),
    }
}

fn unpickle(file: &FileRef, bytes: &[u8]) -> Result<Value, DataError> {
    pickle::parse(bytes).map_err(|e| DataError::Pickle {
        file: file.clone(),
        offset: e.offset,
        message: e.message,
    })
}

/// The value under `name` (as str or bytes) in a dict; the last one if repeated.
fn key<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    let Value::Dict(entries, _) = v else {
        return None;
    };
    entries
        .iter()
        .rev()
        .find(|(k, _)| k.as_text().as_deref() == Some(name))
        .map(|(_, v)| v)
}

/// What a value holds instead of a batch's keys: its keys, or its kind.
fn keys(v: &Value) -> String {
    match v {
        Value::Dict(entries, _) => {
            let names: Vec<String> = entries
                .iter()
                .map(|(k, _)| k.as_text().unwrap_or_else(|| k.kind()))
                .collect();
            format!("keys [{}]", names.join(", "))
        }
        other => other.kind(),
    }
}

fn shape(s: &[usize]) -> String {
    let dims: Vec<String> = s.iter().map(usize::to_string).collect();
    format!("shape ({})", dims.join(", "))
}
