//! Preparing the data of an experiment: read the batches a split names, verify
//! them, split off the validation set, fingerprint the training set and normalise
//! all three sets with the training statistics.

use std::path::Path;

use crate::Result;
use crate::config::{ConfigError, SplitConfig, Validation};
use crate::data::{self, BatchName, Check, LabeledImages, Layout, ReadOptions};
use crate::modelfile::{self, DataFingerprint};
use crate::normalize::{Dataset, Normalizer};
use crate::results::Setup;

/// The data of an experiment, split and normalised with the training statistics.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Mean and std of the training data.
    pub normalizer: Normalizer,
    /// Training set.
    pub train: Dataset,
    /// Validation set.
    pub val: Dataset,
    /// Test set.
    pub test: Dataset,
    /// Where the data came from, the split and the class names.
    pub setup: Setup,
    /// What the training set was, for the model file.
    pub fingerprint: DataFingerprint,
}

/// Reads the batches that `split` needs from `path`, splits and normalises them.
pub fn prepare(path: &Path, split: &SplitConfig, opts: &ReadOptions) -> Result<Prepared> {
    split.check()?;
    let mut which: Vec<BatchName> = split
        .train_batches
        .iter()
        .map(|&b| BatchName::Data(b))
        .collect();
    if let Validation::Batch(b) = split.validation {
        which.push(BatchName::Data(b));
    }
    which.push(BatchName::Test);
    let mut read = data::read(path, &which, opts)?;
    let test = read.batches.pop().unwrap_or_else(empty);
    let files = |names: &[BatchName]| {
        let files: Vec<String> = names.iter().map(|&b| read.layout.file_name(b)).collect();
        format!("{} in {}", files.join(", "), read.source.display())
    };
    let train_files = files(&which[..split.train_batches.len()]);
    if test.is_empty() {
        return Err(ConfigError::Invalid {
            field: "test set".into(),
            reason: format!(
                "{} holds no images; evaluating needs at least one",
                files(&[BatchName::Test])
            ),
        }
        .into());
    }
    let (train, val, validation) = match split.validation {
        Validation::Batch(b) => {
            let val = read.batches.pop().unwrap_or_else(empty);
            if val.is_empty() {
                return Err(ConfigError::Invalid {
                    field: "validation.batch".into(),
                    reason: format!(
                        "{} holds no images; validate on another batch or hold images out",
                        files(&[BatchName::Data(b)])
                    ),
                }
                .into());
            }
            (concat(read.batches), val, BatchName::Data(b).stem())
        }
        Validation::HoldOut(n) => {
            let all = concat(read.batches);
            if n >= all.len() {
                return Err(ConfigError::Invalid {
                    field: "validation.hold_out".into(),
                    reason: format!(
                        "holds out {n} images but the training batches ({train_files}) hold \
                         only {}; hold out fewer, so that some are left to train on",
                        all.len()
                    ),
                }
                .into());
            }
            let cut = all.len() - n;
            let (train, val) = split_at(all, cut);
            (
                train,
                val,
                format!("last {n} images of the training batches, held out"),
            )
        }
    };
    if train.is_empty() {
        return Err(ConfigError::Invalid {
            field: "train_batches".into(),
            reason: format!("{train_files} hold no images; training needs at least one"),
        }
        .into());
    }
    let train_batches: Vec<String> = split
        .train_batches
        .iter()
        .map(|&b| BatchName::Data(b).stem())
        .collect();
    let source = read.source.display().to_string();
    // A training set that is one whole batch of the binary version, verified
    // against its published md5, has that md5 as its records' md5: the records
    // are the file.
    let verified = match (
        split.train_batches.as_slice(),
        &split.validation,
        read.layout,
        read.checks.first(),
    ) {
        ([b], Validation::Batch(_), Layout::Binary, Some(Check::Official)) => {
            data::verify::official_md5(&Layout::Binary.file_name(BatchName::Data(*b)))
        }
        _ => None,
    };
    // Else the md5 of the training records, on a second core.
    let (normalizer, md5) = std::thread::scope(|s| {
        let computed = verified
            .is_none()
            .then(|| s.spawn(|| modelfile::records_md5(&train)));
        let normalizer = Normalizer::fit(&train);
        let md5 = match computed {
            Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => verified.unwrap_or_default().to_string(),
        };
        (normalizer, md5)
    });
    let fingerprint = DataFingerprint::with_md5(&source, &train_batches, train.len(), md5);
    let setup = Setup {
        data: read.source.display().to_string(),
        train_batches,
        validation,
        n_train: train.len(),
        n_val: val.len(),
        n_test: test.len(),
        class_names: read.class_names,
        preprocessing:
            "x/255, then per dimension minus the training mean and divided by the training \
                        (population) standard deviation"
                .into(),
        initialisation: format!(
            "W ~ N(0, {}²), b = 0, PCG64 seeded per run",
            crate::model::INIT_STD
        ),
        threads: 1,
        kernels: crate::kernels::Isa::chosen().name().into(),
    };
    Ok(Prepared {
        train: normalizer.apply(train),
        val: normalizer.apply(val),
        test: normalizer.apply(test),
        normalizer,
        setup,
        fingerprint,
    })
}

fn empty() -> LabeledImages {
    LabeledImages {
        pixels: vec![],
        labels: vec![],
    }
}

fn concat(batches: Vec<LabeledImages>) -> LabeledImages {
    let mut it = batches.into_iter();
    let mut out = it.next().unwrap_or_else(empty);
    for b in it {
        out.pixels.extend_from_slice(&b.pixels);
        out.labels.extend_from_slice(&b.labels);
    }
    out
}

fn split_at(mut all: LabeledImages, cut: usize) -> (LabeledImages, LabeledImages) {
    let val = LabeledImages {
        pixels: all.pixels.split_off(cut * crate::D),
        labels: all.labels.split_off(cut),
    };
    (all, val)
}
