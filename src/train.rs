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
use crate::schedule::Scheduler;
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
    /// The final weights (those of the last finite epoch if the run diverged, those
    /// of the best validation epoch with early stopping).
    pub model: Model,
    /// Metrics after every completed epoch.
    pub history: History,
    /// The epoch (from 1) in which the cost became non-finite, if it did.
    pub diverged_at_epoch: Option<usize>,
    /// With early stopping: the epoch (from 1) whose weights were kept.
    pub best_epoch: Option<usize>,
    /// With early stopping: the last epoch trained, if before `n_epochs`.
    pub stopped_at_epoch: Option<usize>,
}

/// Seed offsets of the shuffling and augmentation streams.
const SHUFFLE_STREAM: u64 = 0x5348_5546_464c_4521;
const AUGMENT_STREAM: u64 = 0x4155_474d_454e_5421;

/// Trains a fresh model (W ~ N(0, 0.01²) seeded by `h.seed`, b = 0) on `train`,
/// evaluating on `train` and `val` after every epoch.
///
/// An epoch visits `⌊n / n_batch⌋` mini-batches in order (or in a fresh seeded
/// permutation when `h.shuffle`); like the report's code, the last `n mod n_batch`
/// images of an epoch are left out. Update `t` uses the rate of `h.options.schedule`
/// and the gradient of `h.options.loss`; the gathered mini-batch is augmented when
/// asked. If the cost becomes non-finite, training stops, the weights of the
/// previous epoch are kept and the run is marked diverged. With early stopping,
/// training stops once the validation loss has not improved for `patience`
/// epochs, and the weights of its best epoch are returned.
pub fn train(h: &Hyper, train: &Dataset, val: &Dataset, observer: &mut dyn Observer) -> Trained {
    let opts = &h.options;
    let mut model = Model::init(K, D, h.seed);
    let mut previous = model.clone();
    let mut history = History::default();
    let mut ws = Workspace::new(K, D, h.n_batch);
    let n = train.len();
    let n_batches = n / h.n_batch;
    // Shuffling and augmentation draw from their own streams, so that turning
    // either on leaves the initialisation (and the other) unchanged.
    let mut rng = rand_pcg::Pcg64::seed_from_u64(h.seed ^ SHUFFLE_STREAM);
    let mut aug_rng = rand_pcg::Pcg64::seed_from_u64(h.seed ^ AUGMENT_STREAM);
    let gather = h.shuffle || !opts.augment.is_off();
    let mut order: Vec<usize> = (0..n).collect();
    let mut gathered = ndarray::Array2::<f32>::zeros((if gather { h.n_batch } else { 0 }, D));
    let mut scratch = vec![0f32; D];
    let mut labels = vec![0u8; h.n_batch];
    let mut scheduler = Scheduler::new(opts.schedule, h.eta);
    let mut best: Option<(f64, usize, Model)> = None;
    let mut stopped_at_epoch = None;
    let mut step = 0;
    let x = train.x();
    for epoch in 1..=h.n_epochs {
        if h.shuffle {
            order.shuffle(&mut rng);
        }
        for j in 0..n_batches {
            let range = j * h.n_batch..(j + 1) * h.n_batch;
            let eta = scheduler.eta(epoch, step) as f32;
            step += 1;
            if gather {
                for (r, &i) in order[range].iter().enumerate() {
                    let mut row = gathered.row_mut(r);
                    row.assign(&train.x.row(i));
                    if let Some(img) = row.as_slice_mut() {
                        opts.augment.apply(img, &mut scratch, &mut aug_rng);
                    }
                    labels[r] = train.labels[i];
                }
                kernels::sgd_step(
                    &mut model,
                    gathered.t(),
                    &labels,
                    h.lambda as f32,
                    eta,
                    opts.loss,
                    &mut ws,
                );
            } else {
                let xb = x.slice(ndarray::s![.., range.clone()]);
                kernels::sgd_step(
                    &mut model,
                    xb,
                    &train.labels[range],
                    h.lambda as f32,
                    eta,
                    opts.loss,
                    &mut ws,
                );
            }
            observer.on_batch(epoch, j + 1, n_batches);
        }
        let tr = kernels::evaluate_loss(&model, x, &train.labels, h.lambda, opts.loss);
        let va = kernels::evaluate_loss(&model, val.x(), &val.labels, h.lambda, opts.loss);
        if !(tr.cost.is_finite() && va.cost.is_finite() && model.is_finite()) {
            let (model, best_epoch) = match best {
                Some((_, e, m)) => (m, Some(e)),
                None => (previous, None),
            };
            return Trained {
                model,
                history,
                diverged_at_epoch: Some(epoch),
                best_epoch,
                stopped_at_epoch: None,
            };
        }
        history.push(tr, va);
        observer.on_epoch(epoch, &tr, &va);
        scheduler.end_epoch(va.loss);
        previous.w.assign(&model.w);
        previous.b.assign(&model.b);
        if let Some(patience) = opts.early_stopping {
            if best.as_ref().is_none_or(|(l, _, _)| va.loss < *l) {
                best = Some((va.loss, epoch, model.clone()));
            } else if best.as_ref().is_some_and(|(_, e, _)| epoch - e >= patience) {
                if epoch < h.n_epochs {
                    stopped_at_epoch = Some(epoch);
                }
                break;
            }
        }
    }
    let (model, best_epoch) = match best {
        Some((_, e, m)) => (m, Some(e)),
        None => (model, None),
    };
    Trained {
        model,
        history,
        diverged_at_epoch: None,
        best_epoch,
        stopped_at_epoch,
    }
}
