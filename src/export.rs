//! Export of a model file for other frameworks: a safetensors file (PyTorch,
//! candle, burn) or a numpy `.npz`, with the normalisation folded into the weights.
//!
//! The model classifies `z = (x/255 − mean) / std` by `s = W z + b`. With
//!
//! ```text
//! W' = W / std       (column j divided by std_j)     K×3072
//! b' = b − W' mean                                    K
//! ```
//!
//! the same scores are `s = W' (x/255) + b'`: a plain linear layer on the pixels
//! scaled to `[0, 1]`, which is what torchvision's `ToTensor()` gives. CIFAR-10's
//! layout (the red plane, then green, then blue, each 32×32 row-major) is the
//! channel-first order of a `3×32×32` tensor, so `ToTensor()(img).flatten()` is
//! the input, and `torch.nn.Linear(3072, K)` loads the tensors `weight` (`K×3072`)
//! and `bias` (`K`) with `load_state_dict`.
//!
//! | tensor     | shape     | contents                                  |
//! |------------|-----------|-------------------------------------------|
//! | `weight`   | `K×3072`  | `W'`, float32                             |
//! | `bias`     | `K`       | `b'`, float32                             |
//! | `raw.W`    | `K×3072`  | `W` (only with [`ExportOptions::raw`])    |
//! | `raw.b`    | `K`       | `b` (idem)                                |
//! | `raw.mean` | `3072`    | training mean on the `x/255` scale (idem) |
//! | `raw.std`  | `3072`    | training std (idem)                       |
//!
//! The safetensors header's `__metadata__` holds [`EXPORT_FORMAT`],
//! `format_version`, `class_names` (a JSON list), `input`, and the model's `run`,
//! `split` and `data` fingerprint as JSON. The `.npz` holds the same arrays as
//! `.npy` members and the same metadata as a `meta.json` member.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};

use crate::io::{self, OutputError};
use crate::modelfile::{self, ModelFile, ModelFileError};

/// The `format` entry of an export's metadata.
pub const EXPORT_FORMAT: &str = "onelayer-export";
/// The export format's version.
pub const EXPORT_VERSION: u32 = 1;

/// How the folded weights expect their input, as the metadata's `input` says.
pub const FOLDED_INPUT: &str = "x: 3072 float32 = pixels / 255 in channel-first order (red \
plane, green plane, blue plane, each 32x32 row-major), as torchvision's ToTensor() then \
flatten(); scores = weight @ x + bias; class = argmax";

/// A file format an export is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// safetensors: PyTorch (`safetensors.torch.load_file`), candle, burn.
    Safetensors,
    /// numpy `.npz`: `np.load`.
    Npz,
}

impl Format {
    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Safetensors => "safetensors",
            Format::Npz => "npz",
        }
    }
}

/// What goes into an export beyond the folded `weight` and `bias`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportOptions {
    /// Also store the unfolded `raw.W`, `raw.b`, `raw.mean`, `raw.std`. Off by
    /// default, so that a strict `load_state_dict` finds exactly `weight` and `bias`.
    pub raw: bool,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The model file could not be read.
    #[error(transparent)]
    Model(#[from] ModelFileError),
    /// Folding produced a value that is not finite (a weight too large for float32
    /// once divided by a tiny std).
    #[error(
        "cannot export {path}: folded {tensor} value {index} is {value}, not finite in float32"
    )]
    NonFinite {
        /// The model file.
        path: PathBuf,
        /// `weight` or `bias`.
        tensor: &'static str,
        /// Index of the first non-finite value (row-major).
        index: usize,
        /// The value.
        value: f32,
    },
    /// The safetensors encoder refused the tensors.
    #[error("cannot encode {path} as safetensors: {message}")]
    Encode {
        /// The output file.
        path: PathBuf,
        /// The encoder's message.
        message: String,
    },
    /// The output path is the model file itself.
    #[error("the export's output {path} is the model file itself: give another --out")]
    OutIsModel {
        /// The path.
        path: PathBuf,
    },
    /// Writing failed.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// The normalisation folded into the weights: `(W', b')` with `W' = W / std` per
/// column (`K×d`) and `b' = b − W' mean` (`K`), summed in f64.
pub fn fold(file: &ModelFile) -> (Array2<f32>, Array1<f32>) {
    let (w, b) = (&file.model.w, &file.model.b);
    let (mean, std) = (&file.normalizer.mean, &file.normalizer.std);
    let folded = Array2::from_shape_fn(w.raw_dim(), |(k, j)| w[(k, j)] / std[j]);
    let bias = Array1::from_shape_fn(b.len(), |k| {
        let shift: f64 = folded
            .row(k)
            .iter()
            .zip(mean)
            .map(|(&w, &m)| f64::from(w) * f64::from(m))
            .sum();
        (f64::from(b[k]) - shift) as f32
    });
    (folded, bias)
}

/// One array of an export: its name, shape and values (row-major).
pub type NamedArray = (&'static str, Vec<usize>, Vec<f32>);

/// The named arrays of an export, in the order they are written.
pub fn arrays(
    file: &ModelFile,
    path: &Path,
    opts: ExportOptions,
) -> Result<Vec<NamedArray>, ExportError> {
    let (weight, bias) = fold(file);
    let slices = [
        ("weight", weight.as_slice().unwrap_or(&[])),
        ("bias", bias.as_slice().unwrap_or(&[])),
    ];
    for (tensor, values) in slices {
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ExportError::NonFinite {
                path: path.to_path_buf(),
                tensor,
                index,
                value,
            });
        }
    }
    let flat = |a: &Array2<f32>| a.iter().copied().collect::<Vec<f32>>();
    let mut out = vec![
        ("weight", weight.shape().to_vec(), flat(&weight)),
        ("bias", vec![bias.len()], bias.to_vec()),
    ];
    if opts.raw {
        let n = &file.normalizer;
        out.push(("raw.W", file.model.w.shape().to_vec(), flat(&file.model.w)));
        out.push(("raw.b", vec![file.model.b.len()], file.model.b.to_vec()));
        out.push(("raw.mean", vec![n.mean.len()], n.mean.to_vec()));
        out.push(("raw.std", vec![n.std.len()], n.std.to_vec()));
    }
    Ok(out)
}

/// The export's metadata: string keys and values (JSON text for the structured ones).
pub fn metadata(file: &ModelFile) -> HashMap<String, String> {
    let m = &file.meta;
    let json = |v: serde_json::Result<String>| v.unwrap_or_default();
    let mut meta = HashMap::from([
        ("format".to_string(), EXPORT_FORMAT.to_string()),
        ("format_version".to_string(), EXPORT_VERSION.to_string()),
        (
            "onelayer_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        ("input".to_string(), FOLDED_INPUT.to_string()),
        (
            "class_names".to_string(),
            json(serde_json::to_string(&m.class_names)),
        ),
        ("run".to_string(), json(serde_json::to_string(&m.run))),
        ("split".to_string(), json(serde_json::to_string(&m.split))),
        ("data".to_string(), json(serde_json::to_string(&m.data))),
    ]);
    if let Some(acc) = m.test_accuracy {
        meta.insert("test_accuracy".to_string(), acc.to_string());
    }
    meta
}

/// The bytes of the export of `file` in `format`; `path` names the output in errors.
pub fn to_bytes(
    file: &ModelFile,
    format: Format,
    opts: ExportOptions,
    path: &Path,
) -> Result<Vec<u8>, ExportError> {
    let arrays = arrays(file, path, opts)?;
    let meta = metadata(file);
    match format {
        Format::Safetensors => {
            safetensors_bytes(&arrays, meta).map_err(|message| ExportError::Encode {
                path: path.to_path_buf(),
                message,
            })
        }
        Format::Npz => npz_bytes(arrays, meta).map_err(|source| {
            OutputError::Write {
                path: path.to_path_buf(),
                source,
            }
            .into()
        }),
    }
}

/// A safetensors file of float32 tensors (little-endian) with `meta` as `__metadata__`.
fn safetensors_bytes(
    arrays: &[NamedArray],
    meta: HashMap<String, String>,
) -> Result<Vec<u8>, String> {
    let bytes: Vec<Vec<u8>> = arrays
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views = arrays
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), data)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                .map(|v| (*name, v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    safetensors::serialize(views, Some(meta)).map_err(|e| e.to_string())
}

/// A zip of `meta.json` and one `.npy` member per array, as `np.load` reads it.
fn npz_bytes(arrays: Vec<NamedArray>, meta: HashMap<String, String>) -> std::io::Result<Vec<u8>> {
    // Structured entries become JSON values again, not strings holding JSON.
    let plain = ["format", "input", "onelayer_version"];
    let meta: serde_json::Map<String, serde_json::Value> = meta
        .into_iter()
        .map(|(k, v)| {
            let value = match plain.contains(&k.as_str()) {
                true => serde_json::Value::String(v),
                false => serde_json::from_str(&v).unwrap_or(serde_json::Value::String(v)),
            };
            (k, value)
        })
        .collect();
    let mut names = vec!["meta.json".to_string()];
    let mut data = vec![serde_json::to_vec_pretty(&meta)?];
    for (name, shape, values) in arrays {
        let a = ndarray::ArrayD::from_shape_vec(shape, values).map_err(std::io::Error::other)?;
        names.push(format!("{name}.npy"));
        data.push(modelfile::npy_bytes(&a)?);
    }
    let members: Vec<(&str, Vec<u8>)> = names.iter().map(String::as_str).zip(data).collect();
    modelfile::zip_members(&members)
}

/// The default output path: the model's path with the format's extension.
pub fn default_output(model: &Path, format: Format) -> PathBuf {
    model.with_extension(format.extension())
}

/// Reads the model file `model`, and writes its export in `format` to `out` atomically.
pub fn export(
    model: &Path,
    format: Format,
    opts: ExportOptions,
    out: &Path,
) -> Result<(), ExportError> {
    let file = ModelFile::load(model)?;
    file.require_images(model)?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same(model, out) {
        return Err(ExportError::OutIsModel {
            path: out.to_path_buf(),
        });
    }
    let bytes = to_bytes(&file, format, opts, out)?;
    io::write_bytes_atomic(out, &bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests;
