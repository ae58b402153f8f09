//! The training loop: vanilla mini-batch gradient descent, with the loss, cost and
//! accuracy of the whole training and validation sets after every epoch. It
//! returns data and reports progress through an [`Observer`]; it prints nothing.

use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::config::Hyper;
use crate::kernels::{self, Workspace};
use crate::model::Model;
use crate::normalize::Dataset;
use crate::results::{History, Metrics};
use crate::{D, K};

/// Receives progress while a run trains. Every method has an empty default.
pub trait Observer {
    /// Called after every mini-batch step (`batch` counts from 1 within the epoch).
    fn on_batch(&mut self, _epoch: usize, _batch: usize, _n_batches: usize) {}
    /// Called after every epoch (counting from 1) with its metrics.
    fn on_epoch(&mut self, _epoch: usize, _train: &Metrics, _val: &Metrics) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {}

/// What a run returns.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The final weights (those of the last finite epoch if the run diverged).
    pub model: Model,
    /// Metrics after every completed epoch.
    pub history: History,
    /// The epoch (from 1) in which the cost became non-finite, if it did.
    pub diverged_at_epoch: Option<usize>,
}

/// Trains a fresh model (W ~ N(0, 0.01²) seeded by `h.seed`, b = 0) on `train`,
/// evaluating on `train` and `val` after every epoch.
///
/// An epoch visits `⌊n / n_batch⌋` mini-batches in order (or in a fresh seeded
/// permutation when `h.shuffle`); like the report's code, the last `n mod n_batch`
/// images of an epoch are left out. If the cost becomes non-finite, training stops,
/// the weights of the previous epoch are kept and the run is marked diverged.
pub fn train(h: &Hyper, train: &Dataset, val: &Dataset, observer: &mut dyn Observer) -> Trained {
    let mut model = Model::init(K, D, h.seed);
    let mut previous = model.clone();
    let mut history = History::default();
    let mut ws = Workspace::new(K, D, h.n_batch);
    let n = train.len();
    let n_batches = n / h.n_batch;
    // Shuffling draws from its own stream, so that turning it on leaves the
    // initialisation unchanged.
    let mut rng = rand_pcg::Pcg64::seed_from_u64(h.seed ^ 0x5348_5546_464c_4521);
    let mut order: Vec<usize> = (0..n).collect();
    let mut gathered = ndarray::Array2::<f32>::zeros((if h.shuffle { h.n_batch } else { 0 }, D));
    let mut labels = vec![0u8; h.n_batch];
    let x = train.x();
    for epoch in 1..=h.n_epochs {
        if h.shuffle {
            order.shuffle(&mut rng);
        }
        for j in 0..n_batches {
            let range = j * h.n_batch..(j + 1) * h.n_batch;
            if h.shuffle {
                for (r, &i) in order[range].iter().enumerate() {
                    gathered.row_mut(r).assign(&train.x.row(i));
                    labels[r] = train.labels[i];
                }
                kernels::sgd_step(
                    &mut model,
                    gathered.t(),
                    &labels,
                    h.lambda as f32,
                    h.eta as f32,
                    &mut ws,
                );
            } else {
                let xb = x.slice(ndarray::s![.., range.clone()]);
                kernels::sgd_step(
                    &mut model,
                    xb,
                    &train.labels[range],
                    h.lambda as f32,
                    h.eta as f32,
                    &mut ws,
                );
            }
            observer.on_batch(epoch, j + 1, n_batches);
        }
        let tr = kernels::evaluate(&model, x, &train.labels, h.lambda);
        let va = kernels::evaluate(&model, val.x(), &val.labels, h.lambda);
        if !(tr.cost.is_finite() && va.cost.is_finite() && model.is_finite()) {
            return Trained {
                model: previous,
                history,
                diverged_at_epoch: Some(epoch),
            };
        }
        history.push(tr, va);
        observer.on_epoch(epoch, &tr, &va);
        previous.w.assign(&model.w);
        previous.b.assign(&model.b);
    }
    Trained {
        model,
        history,
        diverged_at_epoch: None,
    }
}
