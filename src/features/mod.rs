//! Float features: any embedding `X: n×d` (float32, one example per row) probed
//! linearly with the report's method. Each feature is standardised by the mean and
//! population std of the training set ([`Normalizer::fit_features`]); the one
//! training loop of [`crate::train`] steps and evaluates through the plain maths of
//! [`crate::model`] and [`crate::loss`] (their products are ndarray's GEMM):
//!
//! ```text
//! Ẑ = (X − mean) / std               n×d     (per column)
//! S = W Ẑᵀ + b 1ᵀ                    K×n
//! ∂J/∂W = (1/n) G Ẑ + 2λW            K×d     G = ∂ℓ/∂S, K×n
//! ∂J/∂b = (1/n) G 1                  K
//! ```
//!
//! Images, whose bytes the fast kernels read, train through the same loop.

use ndarray::{Array2, ArrayView2, Axis, s};

use crate::config::Hyper;
use crate::loss::{self, Loss};
use crate::model::Evaluation;
use crate::model::{self, Model};
use crate::normalize::Normalizer;
use crate::train::{self, Observer, Params, Rows, Trained, TrainingSet};

/// Examples evaluated at a time: bounds the scores' copy to `K × CHUNK` values.
const CHUNK: usize = 4096;

/// Standardised features with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// `(X − mean) / std`: `n×d`, one example per row.
    pub x: Array2<f32>,
    /// Labels in `0..K`, `n`.
    pub labels: Vec<u8>,
}

/// Why features or their labels cannot be used; `name` is the argument's name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureError {
    /// No feature columns.
    #[error("{name}: expected features of shape (n, d) with d ≥ 1, got {rows}×0")]
    NoColumns {
        /// The argument.
        name: String,
        /// Rows given.
        rows: usize,
    },
    /// Not the number of columns the model or training set has.
    #[error("{name}: expected {expected} features per row (as {of}), got {found}")]
    Columns {
        /// The argument.
        name: String,
        /// Columns expected.
        expected: usize,
        /// Columns given.
        found: usize,
        /// What fixes the number: `the training features X`, `the model`.
        of: String,
    },
    /// NaN or an infinity.
    #[error("{name}: value at row {row}, column {col} is {value}; features must be finite")]
    NonFinite {
        /// The argument.
        name: String,
        /// Its row.
        row: usize,
        /// Its column.
        col: usize,
        /// The value.
        value: f32,
    },
    /// Not one label per row.
    #[error("{name}: expected {expected} labels (one per row of the features), got {found}")]
    Labels {
        /// The labels' argument.
        name: String,
        /// Rows of the features.
        expected: usize,
        /// Labels given.
        found: usize,
    },
    /// A label outside `0..k`.
    #[error("{name}: label {index} is {label}, expected a class in 0..{k}")]
    LabelOutOfRange {
        /// The labels' argument.
        name: String,
        /// Its index.
        index: usize,
        /// The label.
        label: u8,
        /// Number of classes.
        k: usize,
    },
    /// Augmentation (flips and shifts) is for images.
    #[error("{run}: augmentation flips and shifts images; features cannot be augmented")]
    Augment {
        /// The run asking for it.
        run: String,
    },
}

/// Checks the features `x` (argument `name`, `n×d`) for `columns` columns when
/// given (`(d, what fixes it)`), at least one column, and finite values.
pub fn check(
    name: &str,
    x: ArrayView2<f32>,
    columns: Option<(usize, &str)>,
) -> Result<(), FeatureError> {
    match columns {
        Some((expected, of)) if x.ncols() != expected => {
            return Err(FeatureError::Columns {
                name: name.into(),
                expected,
                found: x.ncols(),
                of: of.into(),
            });
        }
        _ if x.ncols() == 0 => {
            return Err(FeatureError::NoColumns {
                name: name.into(),
                rows: x.nrows(),
            });
        }
        _ => {}
    }
    match x.indexed_iter().find(|(_, v)| !v.is_finite()) {
        Some(((row, col), &value)) => Err(FeatureError::NonFinite {
            name: name.into(),
            row,
            col,
            value,
        }),
        None => Ok(()),
    }
}

/// Checks `labels` (argument `name`) for `n` rows and `k` classes.
pub fn check_labels(name: &str, labels: &[u8], n: usize, k: usize) -> Result<(), FeatureError> {
    if labels.len() != n {
        return Err(FeatureError::Labels {
            name: name.into(),
            expected: n,
            found: labels.len(),
        });
    }
    match labels.iter().position(|&l| usize::from(l) >= k) {
        Some(index) => Err(FeatureError::LabelOutOfRange {
            name: name.into(),
            index,
            label: labels[index],
            k,
        }),
        None => Ok(()),
    }
}

impl Features {
    /// The features `x: n×d` standardised in place by `normalizer`, with `labels`.
    /// `x` and `labels` are checked by [`check`] and [`check_labels`] first.
    pub fn new(mut x: Array2<f32>, labels: Vec<u8>, normalizer: &Normalizer) -> Features {
        normalizer.standardize(&mut x);
        Features { x, labels }
    }

    /// No examples of `d` features.
    pub fn empty(d: usize) -> Features {
        Features {
            x: Array2::zeros((0, d)),
            labels: Vec::new(),
        }
    }

    /// Number of examples, `n`.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of features, `d`.
    pub fn dim(&self) -> usize {
        self.x.ncols()
    }
}

/// md5 (lower-case hex) of the features `x: n×d` and `labels` as records: for each
/// row, its label byte then its `d` values as little-endian float32.
pub fn records_md5(x: ArrayView2<f32>, labels: &[u8]) -> String {
    use md5::Digest;
    let mut h = md5::Md5::new();
    for (row, &label) in x.rows().into_iter().zip(labels) {
        h.update([label]);
        for v in row {
            h.update(v.to_le_bytes());
        }
    }
    crate::data::verify::hex(&h.finalize())
}

/// Trains every run of `hypers` on the standardised `train` features, evaluating
/// on `train` and `val` after every epoch, as [`train::train_runs`] does on images
/// (one loop: the same initialisation, order of mini-batches, schedules, early
/// stopping and divergence handling; runs that share their mini-batches train as
/// one stack). `val` may be empty (then its metrics are 0).
pub fn train_runs(
    hypers: &[Hyper],
    train: &Features,
    val: &Features,
    observers: &mut [&mut dyn Observer],
) -> Result<Vec<Trained>, FeatureError> {
    if let Some(h) = hypers.iter().find(|h| !h.options.augment.is_off()) {
        return Err(FeatureError::Augment {
            run: h.name.clone(),
        });
    }
    if val.dim() != train.dim() {
        return Err(FeatureError::Columns {
            name: "validation features".into(),
            expected: train.dim(),
            found: val.dim(),
            of: "the training features".into(),
        });
    }
    let sets = |hs: &[Hyper]| FeatureSets::new(hs, train, val);
    Ok(train::train_groups(hypers, sets, observers))
}

/// Loss (under `loss`), cost (plus `λ‖W‖²`) and accuracy of `model` on `data`.
pub fn evaluate(model: &Model, data: &Features, lambda: f64, loss: Loss) -> Evaluation {
    let n = data.len();
    let (mut sum, mut correct) = (0f64, 0usize);
    for (rows, labels) in (data.x.axis_chunks_iter(Axis(0), CHUNK)).zip(data.labels.chunks(CHUNK)) {
        // S: K×c, in f64 for the loss as the kernels sum it.
        let s = model::scores(model.w.view(), model.b.view(), rows.t()).mapv(f64::from);
        sum += loss.mean_loss(s.view(), labels) * labels.len() as f64;
        correct += (s.columns().into_iter().zip(labels))
            .filter(|(col, y)| model::argmax(col.view()) == usize::from(**y))
            .count();
    }
    let l2: f64 = model.w.iter().map(|&v| f64::from(v).powi(2)).sum();
    Evaluation::from_sums(sum, correct, n, lambda, l2)
}

/// Class probabilities `P: K×n` of the raw features `x: n×d` under `model` and the
/// training `normalizer`: `P = softmax(W Ẑᵀ + b 1ᵀ)`, computed in f64 (so that
/// every column is a distribution even for extreme weights).
pub fn probabilities(model: &Model, normalizer: &Normalizer, x: ArrayView2<f32>) -> Array2<f32> {
    let m = model.to_f64();
    let mut p = Array2::zeros((model.b.len(), x.nrows()));
    for (c, rows) in x.axis_chunks_iter(Axis(0), CHUNK).enumerate() {
        let mut z = rows.to_owned();
        normalizer.standardize(&mut z);
        let mut s = model::scores(m.w.view(), m.b.view(), z.mapv(f64::from).t());
        model::softmax_columns(&mut s);
        let first = c * CHUNK;
        p.slice_mut(s![.., first..first + rows.nrows()])
            .assign(&s.mapv(|v| v as f32));
    }
    p
}

/// The runs of a stack on features: one [`Model`] each.
#[derive(Debug, Clone, PartialEq)]
pub struct Runs(pub Vec<Model>);

impl Params for Runs {
    fn model(&self, r: usize) -> Model {
        self.0[r].clone()
    }

    fn is_finite(&self, r: usize) -> bool {
        self.0[r].is_finite()
    }

    fn assign(&mut self, other: &Self) {
        self.0.clone_from(&other.0);
    }

    fn remove(&mut self, r: usize) {
        self.0.remove(r);
    }
}

/// Training and validation features, stepped on and evaluated by the plain maths.
struct FeatureSets<'a> {
    train: &'a Features,
    val: &'a Features,
    /// A shuffled mini-batch, gathered: `n_batch×d`.
    batch: Array2<f32>,
    labels: Vec<u8>,
}

impl<'a> FeatureSets<'a> {
    fn new(hs: &[Hyper], train: &'a Features, val: &'a Features) -> FeatureSets<'a> {
        let n_batch = hs.first().map_or(1, |h| h.n_batch.max(1));
        let shuffle = hs.first().is_some_and(|h| h.shuffle);
        let rows = if shuffle { n_batch } else { 0 };
        FeatureSets {
            train,
            val,
            batch: Array2::zeros((rows, train.dim())),
            labels: vec![0; rows],
        }
    }
}

impl TrainingSet for FeatureSets<'_> {
    type Params = Runs;

    fn len(&self) -> usize {
        self.train.len()
    }

    fn dim(&self) -> usize {
        self.train.dim()
    }

    fn stack(&self, models: &[Model]) -> Runs {
        Runs(models.to_vec())
    }

    fn step(
        &mut self,
        runs: &mut Runs,
        rows: Rows<'_>,
        eta: &[f32],
        lambda: &[f32],
        loss: &[Loss],
    ) {
        let (x, labels) = match rows {
            Rows::Range(range) => (
                self.train.x.slice(s![range.clone(), ..]),
                &self.train.labels[range],
            ),
            Rows::Listed(list) => {
                for ((mut dst, y), &i) in (self.batch.rows_mut().into_iter())
                    .zip(&mut self.labels)
                    .zip(list)
                {
                    dst.assign(&self.train.x.row(i));
                    *y = self.train.labels[i];
                }
                (self.batch.view(), &self.labels[..])
            }
        };
        for (((m, &eta), &lambda), &loss) in runs.0.iter_mut().zip(eta).zip(lambda).zip(loss) {
            // X: d×n_batch, as the report writes it.
            let (gw, gb) = loss::gradients(loss, m, x.t(), labels, lambda);
            m.w.scaled_add(-eta, &gw);
            m.b.scaled_add(-eta, &gb);
        }
    }

    fn evaluate(
        &mut self,
        runs: &Runs,
        lambda: &[f64],
        loss: &[Loss],
    ) -> (Vec<Evaluation>, Vec<Evaluation>) {
        let on = |data: &Features| -> Vec<Evaluation> {
            (runs.0.iter().zip(lambda).zip(loss))
                .map(|((m, &l), &loss)| evaluate(m, data, l, loss))
                .collect()
        };
        (on(self.train), on(self.val))
    }
}

#[cfg(test)]
mod tests;
