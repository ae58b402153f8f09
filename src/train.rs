//! The training loop: vanilla mini-batch gradient descent, with the loss, cost and
//! accuracy of the whole training and validation sets after every epoch. It
//! returns data and reports progress through an [`Observer`] per run; it prints
//! nothing.
//!
//! There is one loop, [`train_runs`]. Runs that visit the same mini-batches in the
//! same order (same `n_batch`, and no shuffling or the same shuffling seed) are
//! trained together as one [`Stack`], so that each pass over the images serves all
//! of them; the results are the same as training each alone. [`train`] trains one run.

use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::config::Hyper;
use crate::kernels::{Images, Stack, Workspace};
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
    let mut out = train_runs(std::slice::from_ref(h), train, val, &mut [observer]);
    out.pop()
        .unwrap_or_else(|| unreachable!("one run in, one result out"))
}

/// What fixes the sequence of mini-batches a run sees: `n_batch`, and the
/// shuffling seed if it shuffles. Runs with equal keys can be trained as one stack.
pub fn batch_key(h: &Hyper) -> (usize, Option<u64>) {
    (h.n_batch, h.shuffle.then_some(h.seed))
}

/// Trains every run of `hypers` as [`train`] would, observer `i` following run `i`,
/// and returns them in order. Runs with the same [`batch_key`] share their passes
/// over the data.
pub fn train_runs(
    hypers: &[Hyper],
    train: &Dataset,
    val: &Dataset,
    observers: &mut [&mut dyn Observer],
) -> Vec<Trained> {
    let mut out: Vec<Option<Trained>> = vec![None; hypers.len()];
    let mut observers: Vec<Option<&mut dyn Observer>> = observers
        .iter_mut()
        .map(|o| -> Option<&mut dyn Observer> { Some(*o) })
        .collect();
    let mut keys: Vec<_> = hypers.iter().map(batch_key).collect();
    keys.dedup();
    for key in keys {
        let group: Vec<usize> = (0..hypers.len())
            .filter(|&i| batch_key(&hypers[i]) == key && out[i].is_none())
            .collect();
        let hs: Vec<Hyper> = group.iter().map(|&i| hypers[i].clone()).collect();
        let obs = group
            .iter()
            .map(|&i| observers.get_mut(i).and_then(Option::take))
            .collect();
        for (i, t) in group.iter().zip(train_stack(&hs, train, val, obs)) {
            out[*i] = Some(t);
        }
    }
    out.into_iter().flatten().collect()
}

/// Seed offset of the shuffling stream, so that turning shuffling on leaves the
/// initialisation unchanged.
const SHUFFLE_STREAM: u64 = 0x5348_5546_464c_4521;

/// The loop itself, for runs that share their [`batch_key`]: every step updates all
/// the runs still training; after every epoch each run is evaluated, observed, and
/// leaves the stack when it has finished or diverged.
fn train_stack(
    hs: &[Hyper],
    train: &Dataset,
    val: &Dataset,
    mut observers: Vec<Option<&mut dyn Observer>>,
) -> Vec<Trained> {
    let Some(first) = hs.first() else {
        return Vec::new();
    };
    let models: Vec<Model> = hs.iter().map(|h| Model::init(K, D, h.seed)).collect();
    let mut stack = Stack::new(&models);
    let mut previous = stack.clone();
    // active[r]: the index in `hs` of the stack's run r.
    let mut active: Vec<usize> = (0..hs.len()).collect();
    let mut histories = vec![History::default(); hs.len()];
    let mut done: Vec<Option<Trained>> = vec![None; hs.len()];
    let (n, n_batch) = (train.len(), first.n_batch);
    let n_batches = n / n_batch.max(1);
    let mut rng = rand_pcg::Pcg64::seed_from_u64(first.seed ^ SHUFFLE_STREAM);
    let mut order: Vec<usize> = (0..n).collect();
    let mut gathered = vec![0u8; if first.shuffle { n_batch * D } else { 0 }];
    let mut labels = vec![0u8; if first.shuffle { n_batch } else { 0 }];
    // Validation data is normalised with the training statistics, as it carries.
    let (at, av) = (train.normalizer.affine(), val.normalizer.affine());
    let xs = &train.pixels;

    let mut ws = Workspace::default();
    let mut epoch = 0;
    while !active.is_empty() {
        epoch += 1;
        if first.shuffle {
            order.shuffle(&mut rng);
        }
        // Per-run η and λ of this epoch's steps.
        let eta: Vec<f32> = active.iter().map(|&i| hs[i].eta as f32).collect();
        let lambda: Vec<f64> = active.iter().map(|&i| hs[i].lambda).collect();
        let lambda32: Vec<f32> = lambda.iter().map(|&l| l as f32).collect();
        for j in 0..n_batches {
            let range = j * n_batch..(j + 1) * n_batch;
            if first.shuffle {
                for ((dst, y), &i) in gathered
                    .chunks_exact_mut(D)
                    .zip(&mut labels)
                    .zip(&order[range])
                {
                    dst.copy_from_slice(&xs[i * D..(i + 1) * D]);
                    *y = train.labels[i];
                }
                ws.sgd_step(
                    &mut stack,
                    Images::new(&gathered, &at),
                    &labels,
                    &eta,
                    &lambda32,
                );
            } else {
                let xb = &xs[range.start * D..range.end * D];
                ws.sgd_step(
                    &mut stack,
                    Images::new(xb, &at),
                    &train.labels[range],
                    &eta,
                    &lambda32,
                );
            }
            for &i in &active {
                if let Some(o) = observers[i].as_mut() {
                    o.on_batch(epoch, j + 1, n_batches);
                }
            }
        }
        let tr = ws.evaluate(&stack, Images::new(xs, &at), &train.labels, &lambda);
        let va = ws.evaluate(&stack, Images::new(&val.pixels, &av), &val.labels, &lambda);
        let mut leaving = Vec::new();
        for (r, &i) in active.iter().enumerate() {
            let finite = tr[r].cost.is_finite() && va[r].cost.is_finite() && stack.is_finite(r);
            if finite {
                histories[i].push(tr[r], va[r]);
                if let Some(o) = observers[i].as_mut() {
                    o.on_epoch(epoch, &tr[r], &va[r]);
                }
                if epoch < hs[i].n_epochs {
                    continue;
                }
            }
            done[i] = Some(Trained {
                model: if finite {
                    stack.model(r)
                } else {
                    previous.model(r)
                },
                history: std::mem::take(&mut histories[i]),
                diverged_at_epoch: (!finite).then_some(epoch),
            });
            leaving.push(r);
        }
        for &r in leaving.iter().rev() {
            active.remove(r);
            stack.remove(r);
            previous.remove(r);
        }
        previous.assign(&stack);
    }
    done.into_iter().flatten().collect()
}
