//! What a model was trained on: the source, the batches, the number of images and
//! the md5 of the training records, enough to tell two data sets apart.

use serde::{Deserialize, Serialize};

use crate::D;
use crate::data::LabeledImages;
use crate::data::verify::hex;

/// What the model was trained on: enough to tell two data sets apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFingerprint {
    /// Where the data was read from.
    pub source: String,
    /// The batches that trained the model (`data_batch_1`, ...).
    pub train_batches: Vec<String>,
    /// Number of training images.
    pub n_train: usize,
    /// md5 of the training images as binary-version records (label byte, then the
    /// 3072 pixel bytes), in training order. When the training set is whole
    /// batches, this is the md5 of those `.bin` files concatenated.
    pub train_records_md5: String,
}

impl DataFingerprint {
    /// The fingerprint of the training images `train`.
    pub fn of(source: &str, train_batches: &[String], train: &LabeledImages) -> DataFingerprint {
        DataFingerprint::with_md5(source, train_batches, train.len(), records_md5(train))
    }

    /// The fingerprint of `n_train` training images whose [`records_md5`] is known.
    pub fn with_md5(
        source: &str,
        train_batches: &[String],
        n_train: usize,
        train_records_md5: String,
    ) -> DataFingerprint {
        DataFingerprint {
            source: source.to_string(),
            train_batches: train_batches.to_vec(),
            n_train,
            train_records_md5,
        }
    }
}

/// md5 (lower-case hex) of `images` as binary-version records: for each image, its
/// label byte then its 3072 pixel bytes.
pub fn records_md5(images: &LabeledImages) -> String {
    use md5::Digest;
    let mut h = md5::Md5::new();
    for (label, pixels) in images.labels.iter().zip(images.pixels.chunks_exact(D)) {
        h.update([*label]);
        h.update(pixels);
    }
    hex(&h.finalize())
}
