//! The model file's bytes: a zip of `.npy` members and `meta.json`, written and
//! parsed (format and version first, then each member, bounded in size).

use std::io::{Cursor, Read, Write};
use std::path::Path;

use ndarray::{Array1, Array2};
use ndarray_npy::WriteNpyExt;

use super::*;

/// The `.npy` encoding of `a`.
pub(crate) fn npy_bytes(a: &impl WriteNpyExt) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    a.write_npy(&mut buf).map_err(std::io::Error::other)?;
    Ok(buf)
}

/// A zip (stored members) of `members`, in order.
pub(crate) fn zip_members(members: &[(&str, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in members {
        zip.start_file(*name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(data)?;
    }
    Ok(zip.finish().map_err(std::io::Error::other)?.into_inner())
}

/// Parses the zip in `bytes`: format and version first, then the arrays.
pub(super) fn read_members(path: &Path, bytes: &[u8]) -> Result<ModelFile, ModelFileError> {
    let p = || path.to_path_buf();
    if !bytes.starts_with(b"PK\x03\x04") {
        let reason = if bytes.is_empty() {
            "the file is empty".to_string()
        } else {
            "not a zip (.npz) archive".to_string()
        };
        return Err(ModelFileError::NotAModel { path: p(), reason });
    }
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| ModelFileError::Truncated {
            path: p(),
            reason: e.to_string(),
        })?;
    let meta_bytes = member(path, &mut zip, "meta.json").map_err(|e| match e {
        ModelFileError::BadMember { reason, .. } if reason == MISSING => {
            ModelFileError::NotAModel {
                path: p(),
                reason: "a zip without meta.json".to_string(),
            }
        }
        e => e,
    })?;
    let meta = parse_meta(path, &meta_bytes)?;
    let array = |zip: &mut zip::ZipArchive<_>, name: &str| -> Result<Vec<u8>, ModelFileError> {
        member(path, zip, name)
    };
    let bad = |member: &str, e: String| ModelFileError::BadMember {
        path: p(),
        member: member.to_string(),
        reason: format!("expected a float32 .npy array: {e}"),
    };
    let w: Array2<f32> = npy::read(&array(&mut zip, "W.npy")?).map_err(|e| bad("W.npy", e))?;
    let b: Array1<f32> = npy::read(&array(&mut zip, "b.npy")?).map_err(|e| bad("b.npy", e))?;
    let mean: Array1<f32> =
        npy::read(&array(&mut zip, "mean.npy")?).map_err(|e| bad("mean.npy", e))?;
    let std: Array1<f32> =
        npy::read(&array(&mut zip, "std.npy")?).map_err(|e| bad("std.npy", e))?;
    Ok(ModelFile {
        model: Model { w, b },
        normalizer: Normalizer { mean, std },
        meta,
    })
}

const MISSING: &str = "missing";

/// The bytes of member `name`, at most [`MAX_MEMBER`].
fn member(
    path: &Path,
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
) -> Result<Vec<u8>, ModelFileError> {
    let bad = |reason: String| ModelFileError::BadMember {
        path: path.to_path_buf(),
        member: name.to_string(),
        reason,
    };
    let mut f = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Err(bad(MISSING.to_string())),
        Err(e) => {
            return Err(ModelFileError::Truncated {
                path: path.to_path_buf(),
                reason: format!("{name}: {e}"),
            });
        }
    };
    if f.size() > MAX_MEMBER {
        return Err(bad(format!(
            "{} bytes, expected at most {MAX_MEMBER}",
            f.size()
        )));
    }
    let mut out = Vec::new();
    f.by_ref()
        .take(MAX_MEMBER)
        .read_to_end(&mut out)
        .map_err(|e| ModelFileError::Truncated {
            path: path.to_path_buf(),
            reason: format!("{name}: {e}"),
        })?;
    Ok(out)
}

/// Parses `meta.json`, checking the format name and version before the rest.
fn parse_meta(path: &Path, bytes: &[u8]) -> Result<ModelMeta, ModelFileError> {
    let bad = |reason: String| ModelFileError::BadMember {
        path: path.to_path_buf(),
        member: "meta.json".to_string(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
        return Err(ModelFileError::NotAModel {
            path: path.to_path_buf(),
            reason: format!(
                "meta.json has format {}, expected \"{FORMAT_NAME}\"",
                value
                    .get("format")
                    .map_or("(none)".into(), |f| f.to_string())
            ),
        });
    }
    match value.get("version") {
        Some(v) if v.as_u64() == Some(u64::from(FORMAT_VERSION)) => {}
        Some(serde_json::Value::String(v)) => {
            return Err(bad(format!(
                "version is the string {v:?}, expected a number (\"version\": {FORMAT_VERSION})"
            )));
        }
        v => {
            return Err(ModelFileError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: v.map_or("(none)".into(), |v| v.to_string()),
            });
        }
    }
    serde_json::from_value(value).map_err(|e| bad(format!("unexpected content: {e}")))
}
