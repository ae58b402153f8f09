//! Preparing the data of an experiment, once and in order: read the batches a split
//! names (verified as they are read), split off the validation set, fingerprint the
//! training set, and normalise all three sets with the training statistics
//! ([`super::normalize`]). The result, [`Prepared`], is what training, the gradient
//! check and the written results and model files consume.

use std::path::Path;

use crate::Result;
use crate::config::{SplitConfig, Validation, invalid};
use crate::data::fingerprint::{self, DataFingerprint};
use crate::data::normalize::{Dataset, Normalizer};
use crate::data::{self, BatchName, Check, CifarData, LabeledImages, Layout, ReadOptions};

/// The data of an experiment: split, fingerprinted, and normalised with the
/// training statistics.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Training set.
    pub train: Dataset,
    /// Validation set.
    pub val: Dataset,
    /// Test set.
    pub test: Dataset,
    /// Mean and std of the training data.
    pub normalizer: Normalizer,
    /// What the training set was (source, batches, size, md5), for the model file.
    pub fingerprint: DataFingerprint,
    /// Where the validation set came from: a batch (`data_batch_2`), or images
    /// held out of the training batches.
    pub validation: String,
    /// Class names, in label order.
    pub class_names: Vec<String>,
}

/// Reads the batches that `split` needs from `path`, splits, fingerprints and
/// normalises them.
pub fn prepare(path: &Path, split: &SplitConfig, opts: &ReadOptions) -> Result<Prepared> {
    split.check()?;
    let CifarData {
        source,
        layout,
        class_names,
        batches,
        checks,
    } = data::read(path, &batches_to_read(split), opts)?;
    let files = Files {
        source: &source,
        layout,
    };
    let sets = split_sets(batches, split, &files)?;
    let known = known_md5(split, layout, &checks);
    let source = source.display().to_string();
    let (fingerprint, normalizer) =
        fingerprint_and_fit(&sets.train, known, &source, &train_stems(split));
    Ok(Prepared {
        train: normalizer.apply(sets.train),
        val: normalizer.apply(sets.val),
        test: normalizer.apply(sets.test),
        normalizer,
        fingerprint,
        validation: sets.validation,
        class_names,
    })
}

/// The batches `split` reads, in order: the training batches, the validation
/// batch if it is one, and the test batch last.
fn batches_to_read(split: &SplitConfig) -> Vec<BatchName> {
    let mut which: Vec<BatchName> = split
        .train_batches
        .iter()
        .map(|&b| BatchName::Data(b))
        .collect();
    if let Validation::Batch(b) = split.validation {
        which.push(BatchName::Data(b));
    }
    which.push(BatchName::Test);
    which
}

/// The stems of the training batches (`data_batch_1`, ...), for the record.
fn train_stems(split: &SplitConfig) -> Vec<String> {
    split
        .train_batches
        .iter()
        .map(|&b| BatchName::Data(b).stem())
        .collect()
}

/// Where batches were read from, to name their files in errors.
struct Files<'a> {
    source: &'a Path,
    layout: Layout,
}

impl Files<'_> {
    /// `data_batch_1.bin, data_batch_2.bin in /data/cifar-10-batches-bin`.
    fn of(&self, names: &[BatchName]) -> String {
        let files: Vec<String> = names.iter().map(|&b| self.layout.file_name(b)).collect();
        format!("{} in {}", files.join(", "), self.source.display())
    }
}

/// The three sets of a split, as read, and where the validation set came from.
struct Sets {
    train: LabeledImages,
    val: LabeledImages,
    test: LabeledImages,
    validation: String,
}

/// Splits the batches read in the order of [`batches_to_read`] into the three
/// sets, each of which must hold images.
fn split_sets(mut batches: Vec<LabeledImages>, split: &SplitConfig, files: &Files) -> Result<Sets> {
    let train_names: Vec<BatchName> = split
        .train_batches
        .iter()
        .map(|&b| BatchName::Data(b))
        .collect();
    let train_files = files.of(&train_names);
    let test = batches.pop().unwrap_or_else(empty);
    if test.is_empty() {
        let reason = format!(
            "{} holds no images; evaluating needs at least one",
            files.of(&[BatchName::Test])
        );
        return Err(invalid("test set", reason).into());
    }
    let (train, val, validation) = match split.validation {
        Validation::Batch(b) => {
            let val = batches.pop().unwrap_or_else(empty);
            if val.is_empty() {
                let reason = format!(
                    "{} holds no images; validate on another batch or hold images out",
                    files.of(&[BatchName::Data(b)])
                );
                return Err(invalid("validation.batch", reason).into());
            }
            (concat(batches), val, BatchName::Data(b).stem())
        }
        Validation::HoldOut(n) => hold_out(concat(batches), n, &train_files)?,
    };
    if train.is_empty() {
        let reason = format!("{train_files} hold no images; training needs at least one");
        return Err(invalid("train_batches", reason).into());
    }
    Ok(Sets {
        train,
        val,
        test,
        validation,
    })
}

/// The last `n` images of `all` as the validation set, the rest as the training
/// set, and the validation set's description. `all` must keep some images.
fn hold_out(
    all: LabeledImages,
    n: usize,
    train_files: &str,
) -> Result<(LabeledImages, LabeledImages, String)> {
    if n >= all.len() {
        let reason = format!(
            "holds out {n} images but the training batches ({train_files}) hold \
             only {}; hold out fewer, so that some are left to train on",
            all.len()
        );
        return Err(invalid("validation.hold_out", reason).into());
    }
    let cut = all.len() - n;
    let (train, val) = split_at(all, cut);
    let validation = format!("last {n} images of the training batches, held out");
    Ok((train, val, validation))
}

/// The md5 of the training records when it is known without hashing them: a
/// training set that is one whole batch of the binary version, verified as the
/// official file (by its BLAKE3 digest), has the file's published md5 as its
/// records' md5 (the records are the file).
fn known_md5(split: &SplitConfig, layout: Layout, checks: &[Check]) -> Option<&'static str> {
    match (
        split.train_batches.as_slice(),
        &split.validation,
        layout,
        checks.first(),
    ) {
        ([b], Validation::Batch(_), Layout::Binary, Some(Check::Official)) => {
            data::verify::official_md5(&Layout::Binary.file_name(BatchName::Data(*b)))
        }
        _ => None,
    }
}

/// The training set's fingerprint and its normaliser. The records' md5 is
/// `known`, or else computed on a second core while the normaliser is fitted.
fn fingerprint_and_fit(
    train: &LabeledImages,
    known: Option<&str>,
    source: &str,
    train_batches: &[String],
) -> (DataFingerprint, Normalizer) {
    let (normalizer, md5) = std::thread::scope(|s| {
        let computed = known
            .is_none()
            .then(|| s.spawn(|| fingerprint::records_md5(train)));
        let normalizer = Normalizer::fit(train);
        let md5 = match computed {
            Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            None => known.unwrap_or_default().to_string(),
        };
        (normalizer, md5)
    });
    let fingerprint = DataFingerprint::with_md5(source, train_batches, train.len(), md5);
    (fingerprint, normalizer)
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
