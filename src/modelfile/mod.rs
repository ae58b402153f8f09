//! The model file (`model.onelayer`): a trained network with everything needed to
//! use it later, readable by numpy and PyTorch users too.
//!
//! # Format, version 1
//!
//! The file is a numpy `.npz` archive: a zip file (members stored, or deflated when
//! written by numpy's `savez_compressed`) of `.npy` arrays plus one JSON member.
//!
//! | member      | contents                                                      |
//! |-------------|---------------------------------------------------------------|
//! | `W.npy`     | weights, float32, `K×d`, C order                              |
//! | `b.npy`     | bias, float32, `K`                                            |
//! | `mean.npy`  | per-dimension training mean, float32, `d`, on the `x/255` scale |
//! | `std.npy`   | per-dimension training std, float32, `d`, all `> 0`           |
//! | `meta.json` | [`ModelMeta`]: `"format": "onelayer-model"`, `"version": 1`, the class names, the run's hyper-parameters and seed, the split, and a [`DataFingerprint`] |
//!
//! A model of CIFAR-10 images has `d = 3072`. A model of float features (trained
//! by [`crate::features`], e.g. a linear probe of an embedding) says
//! `"input_kind": "features"` in `meta.json`, has any `d ≥ 1`, and standardises
//! its features as they are: `z = (x − mean) / std`. Without `input_kind` a
//! file is a model of images.
//!
//! An image `x` (3072 bytes in the CIFAR layout: the red plane, then green, then blue,
//! each 32×32 row-major) is classified as
//!
//! ```text
//! z = (x/255 − mean) / std          3072
//! s = W z + b                       K
//! p = softmax(s)                    K
//! ```
//!
//! and `class_names[argmax p]` is the prediction. In numpy:
//! `m = np.load("model.onelayer"); s = m["W"] @ ((x/255 - m["mean"]) / m["std"]) + m["b"]`,
//! and `json.loads(m["meta.json"])` is the metadata.
//!
//! A reader checks the format name and version first, then the shapes (`W: K×d`,
//! `b: K`, `mean, std: d`, `K` class names, `d = 3072` for images) and that every
//! value is finite.
//! A later version that changes any of this gets a new version number.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::D;
use crate::config::{Hyper, SplitConfig};
pub use crate::data::fingerprint::{DataFingerprint, records_md5};
pub use crate::data::verify::hex;
use crate::input::{self, limit};
use crate::io::{self, OutputError};
use crate::model::Model;
use crate::normalize::Normalizer;
use crate::npy;

/// The value of `meta.json`'s `format` field.
pub const FORMAT_NAME: &str = "onelayer-model";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The most classes a model file may have: every per-class output (the
/// confusion matrix, the tables of `evaluate`) stays bounded and readable.
pub const MAX_CLASSES: usize = 100;
/// Largest member read from a model file, in bytes (a guard against zip bombs).
const MAX_MEMBER: u64 = 64 << 20;

/// `meta.json`: what a model file says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// The format version, [`FORMAT_VERSION`].
    pub version: u32,
    /// The onelayer version that wrote the file.
    pub onelayer_version: String,
    /// Class names in label order, `K`.
    pub class_names: Vec<String>,
    /// How an image becomes the network's input.
    pub input: String,
    /// The run's name and hyper-parameters, including its seed.
    pub run: Hyper,
    /// Which batches trained and which validated.
    pub split: SplitConfig,
    /// The data it was trained on.
    pub data: DataFingerprint,
    /// Accuracy on the test batch measured after training, when known.
    pub test_accuracy: Option<f64>,
    /// What the model classifies (absent: images).
    #[serde(default, skip_serializing_if = "InputKind::is_images")]
    pub input_kind: InputKind,
}

/// What a model classifies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputKind {
    /// CIFAR-10 images, 3072 bytes each, standardised on the `x/255` scale.
    #[default]
    Images,
    /// Float features, `d` each, standardised as they are.
    Features,
}

impl InputKind {
    /// True for [`InputKind::Images`].
    pub fn is_images(&self) -> bool {
        *self == InputKind::Images
    }
}

impl ModelMeta {
    /// The metadata of a model trained by this version of onelayer.
    pub fn new(
        class_names: Vec<String>,
        run: Hyper,
        split: SplitConfig,
        data: DataFingerprint,
        test_accuracy: Option<f64>,
    ) -> ModelMeta {
        ModelMeta {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            onelayer_version: env!("CARGO_PKG_VERSION").to_string(),
            class_names,
            input: INPUT_DESCRIPTION.to_string(),
            run,
            split,
            data,
            test_accuracy,
            input_kind: InputKind::Images,
        }
    }

    /// The same metadata for a model of `d` float features.
    pub fn for_features(self, d: usize) -> ModelMeta {
        ModelMeta {
            input: format!(
                "{d} float32 features per example; z = (x - mean) / std; scores s = W z + b; \
                 probabilities softmax(s)"
            ),
            input_kind: InputKind::Features,
            ..self
        }
    }
}

/// How [`ModelMeta::input`] describes the input.
pub const INPUT_DESCRIPTION: &str = "3072 bytes per image in the CIFAR-10 layout (red plane, green \
plane, blue plane, each 32x32 row-major); z = (x/255 - mean) / std; scores s = W z + b; \
probabilities softmax(s)";

/// A trained model with its pre-processing and metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    /// The weights `W: K×d` and bias `b: K` (`d = 3072` for images).
    pub model: Model,
    /// The training mean and std, `d` each.
    pub normalizer: Normalizer,
    /// The rest: class names, hyper-parameters, data fingerprint.
    pub meta: ModelMeta,
}

/// Why a model file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    /// The file could not be opened or read.
    #[error("cannot read model file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a zip archive, or a zip without an onelayer `meta.json`.
    #[error("{path} is not an onelayer model file: {reason}")]
    NotAModel {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// A zip archive that cannot be read to the end: cut short or damaged.
    #[error("model file {path} is truncated or damaged: {reason}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// The zip reader's message.
        reason: String,
    },
    /// A model file of a format version this build does not read.
    #[error(
        "model file {path} has format version {found}; this onelayer ({}) reads version {FORMAT_VERSION}",
        env!("CARGO_PKG_VERSION")
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: String,
    },
    /// A member is missing or not what the format says.
    #[error("model file {path}: {member}: {reason}")]
    BadMember {
        /// The file.
        path: PathBuf,
        /// The member (`W.npy`, `meta.json`).
        member: String,
        /// What is wrong: expected and found.
        reason: String,
    },
    /// An array holds NaN or an infinity.
    #[error("model file {path}: {member}: value {index} is {value}, expected a finite number")]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The member.
        member: String,
        /// Index of the first non-finite value (row-major).
        index: usize,
        /// The value.
        value: f32,
    },
    /// Writing failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A model of float features where images are classified.
    #[error(
        "model file {path} is a model of {d} float features (trained by onelayer.train on \
         features), not of CIFAR-10 images; use it from Python: onelayer.load(path).predict(X)"
    )]
    NotImages {
        /// The file.
        path: PathBuf,
        /// Its number of features.
        d: usize,
    },
}

impl ModelFile {
    /// Number of classes `K`.
    pub fn k(&self) -> usize {
        self.meta.class_names.len()
    }

    /// Number of input dimensions `d`: 3072 for images, else the features'.
    pub fn dim(&self) -> usize {
        match self.meta.input_kind {
            InputKind::Images => D,
            InputKind::Features => self.model.w.ncols(),
        }
    }

    /// `Ok` for a model of images, else [`ModelFileError::NotImages`]; `path`
    /// names the file. Every command that classifies images asks this first.
    pub fn require_images(&self, path: &Path) -> Result<(), ModelFileError> {
        match self.meta.input_kind {
            InputKind::Images => Ok(()),
            InputKind::Features => Err(ModelFileError::NotImages {
                path: path.to_path_buf(),
                d: self.dim(),
            }),
        }
    }

    /// Checks the model and writes it to `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), ModelFileError> {
        let bytes = self.to_bytes(path)?;
        io::write_bytes_atomic(path, &bytes)?;
        Ok(())
    }

    /// Checks the model and returns the file's bytes: a zip of `meta.json` and the
    /// four `.npy` members. `path` names the file in errors.
    pub fn to_bytes(&self, path: &Path) -> Result<Vec<u8>, ModelFileError> {
        self.check(path)?;
        self.encode().map_err(|source| {
            OutputError::Write {
                path: path.to_path_buf(),
                source,
            }
            .into()
        })
    }

    fn encode(&self) -> std::io::Result<Vec<u8>> {
        let meta = serde_json::to_vec_pretty(&self.meta)?;
        let members = [
            ("meta.json", meta),
            ("W.npy", npy_bytes(&self.model.w)?),
            ("b.npy", npy_bytes(&self.model.b)?),
            ("mean.npy", npy_bytes(&self.normalizer.mean)?),
            ("std.npy", npy_bytes(&self.normalizer.std)?),
        ];
        zip_members(&members)
    }

    /// Reads and checks a model file.
    pub fn load(path: &Path) -> Result<ModelFile, ModelFileError> {
        let bytes = input::read(path, limit::MODEL, "a model file").map_err(|source| {
            ModelFileError::Io {
                path: path.to_path_buf(),
                source,
            }
        })?;
        let file = read_members(path, &bytes)?;
        file.check(path)?;
        Ok(file)
    }
}

mod check;
mod format;
use format::read_members;
pub(crate) use format::{npy_bytes, zip_members};

#[cfg(test)]
mod tests;
