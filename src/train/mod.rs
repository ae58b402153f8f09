//! The training loop: vanilla mini-batch gradient descent, with the loss, cost and
//! accuracy of the whole training and validation sets after every epoch. It
//! returns data and reports progress through an [`Observer`] per run; it prints
//! nothing.
//!
//! There is one loop, [`train_runs`]. Runs that visit the same mini-batches in the
//! same order (same `n_batch`, and no shuffling or the same shuffling seed) and do
//! not augment them are trained together as one [`Stack`], so that each pass over
//! the images serves all of them; the results are the same as training each alone.
//! Each run keeps its own options: loss, learning-rate schedule, early stopping.
//! [`train`] trains one run.

use rand::SeedableRng;
use rand::seq::SliceRandom;

use crate::config::Hyper;
use crate::kernels::{self, Images, Stack, Workspace};
use crate::loss::Loss;
use crate::model::Model;
use crate::normalize::Dataset;
use crate::results::{History, Metrics};
use crate::schedule::Scheduler;
use crate::{D, K};

pub mod pool;
pub use pool::{ObserverFactory, RunOutput, plan, run_all, run_group, run_one};

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

/// Trains a fresh model (W ~ N(0, 0.01²) seeded by `h.seed`, b = 0) on `train`,
/// evaluating on `train` and `val` after every epoch.
///
/// An epoch visits `⌊n / n_batch⌋` mini-batches in order (or in a fresh seeded
/// permutation when `h.shuffle`); like the report's code, the last `n mod n_batch`
/// images of an epoch are left out. Update `t` uses the rate of `h.options.schedule`
/// and the gradient of `h.options.step_loss()` (the loss, with its targets smoothed
/// when asked); the metrics are those of `h.options.reported_loss()`. The gathered mini-batch is augmented when
/// asked. If the cost becomes non-finite, training stops, the weights of the
/// previous epoch are kept and the run is marked diverged. With early stopping,
/// training stops once the validation loss has not improved for `patience`
/// epochs, and the weights of its best epoch are returned.
pub fn train(h: &Hyper, train: &Dataset, val: &Dataset, observer: &mut dyn Observer) -> Trained {
    let mut out = train_runs(std::slice::from_ref(h), train, val, &mut [observer]);
    out.pop()
        .unwrap_or_else(|| unreachable!("one run in, one result out"))
}

/// What fixes the sequence of mini-batches a run sees: `n_batch`, and the
/// shuffling seed if it shuffles. Runs with equal `Some` keys can be trained as one
/// stack; an augmented run (`None`) sees images of its own and trains alone.
pub fn batch_key(h: &Hyper) -> Option<(usize, Option<u64>)> {
    h.options
        .augment
        .is_off()
        .then_some((h.n_batch, h.shuffle.then_some(h.seed)))
}

/// Groups the indices of `hypers` by [`batch_key`], in order of first appearance;
/// every run without a key is a group of its own.
pub fn stack_groups(hypers: &[Hyper]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, h) in hypers.iter().enumerate() {
        let key = batch_key(h);
        match groups
            .iter_mut()
            .find(|g| key.is_some() && batch_key(&hypers[g[0]]) == key)
        {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

/// Trains every run of `hypers` as [`train`] would, observer `i` following run `i`,
/// and returns them in order. The runs of each of [`stack_groups`] share their
/// passes over the data.
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
    for group in stack_groups(hypers) {
        let hs: Vec<Hyper> = group.iter().map(|&i| hypers[i].clone()).collect();
        let obs = group
            .iter()
            .map(|&i| observers.get_mut(i).and_then(Option::take))
            .collect();
        for (i, t) in group.iter().zip(train_stack(&hs, (train, val), None, obs)) {
            out[*i] = Some(t);
        }
    }
    out.into_iter().flatten().collect()
}

/// [`train_runs`] for runs that share their [`batch_key`] (one stack), as a member
/// of a team of threads ([`kernels::Team`]) that evaluate their stacks together
/// on the team's training and validation sets. The results are those of
/// [`train_runs`].
///
/// # Panics
/// If the runs do not form one stack.
pub fn train_in_team(
    hypers: &[Hyper],
    member: &kernels::TeamMember,
    observers: &mut [&mut dyn Observer],
) -> Vec<Trained> {
    assert!(stack_groups(hypers).len() <= 1, "one stack");
    let obs = observers
        .iter_mut()
        .map(|o| -> Option<&mut dyn Observer> { Some(*o) })
        .collect();
    train_stack(hypers, member.sets(), Some(member), obs)
}

/// Seed offsets of the shuffling and augmentation streams, so that turning either
/// on leaves the initialisation (and the other) unchanged.
const SHUFFLE_STREAM: u64 = 0x5348_5546_464c_4521;
const AUGMENT_STREAM: u64 = 0x4155_474d_454e_5421;

/// One run of a stack, beyond its weights.
struct Run<'o> {
    scheduler: Scheduler,
    history: History,
    /// With early stopping: the best validation loss, its epoch and weights.
    best: Option<(f64, usize, Model)>,
    observer: Option<&'o mut dyn Observer>,
}

impl Run<'_> {
    /// Records a finished epoch of run `h` whose current weights are `current()`;
    /// returns the run's result when it leaves the stack (finished, or out of
    /// early-stopping patience).
    fn end_epoch(
        &mut self,
        h: &Hyper,
        epoch: usize,
        (tr, va): (Metrics, Metrics),
        current: impl Fn() -> Model,
    ) -> Option<Trained> {
        self.history.push(tr, va);
        if let Some(o) = self.observer.as_mut() {
            o.on_epoch(epoch, &tr, &va);
        }
        self.scheduler.end_epoch(va.loss);
        let mut stopped = None;
        if let Some(patience) = h.options.early_stopping {
            match &self.best {
                Some((l, e, _)) if va.loss >= *l => {
                    if epoch - e >= patience {
                        stopped = Some(epoch);
                    }
                }
                _ => self.best = Some((va.loss, epoch, current())),
            }
        }
        if stopped.is_none() && epoch < h.n_epochs {
            return None;
        }
        Some(self.finish(current(), None, stopped.filter(|&e| e < h.n_epochs)))
    }

    /// The run's result: its best weights with early stopping, else `model`.
    fn finish(
        &mut self,
        model: Model,
        diverged_at_epoch: Option<usize>,
        stopped_at_epoch: Option<usize>,
    ) -> Trained {
        let (model, best_epoch) = match self.best.take() {
            Some((_, e, m)) => (m, Some(e)),
            None => (model, None),
        };
        Trained {
            model,
            history: std::mem::take(&mut self.history),
            diverged_at_epoch,
            best_epoch,
            stopped_at_epoch,
        }
    }
}

/// The loop itself, for runs that share their [`batch_key`]: every step updates all
/// the runs still training, each with its own rate, λ and loss; after every epoch
/// each run is evaluated, observed, and leaves the stack when it has finished,
/// diverged or run out of early-stopping patience.
fn train_stack(
    hs: &[Hyper],
    (train, val): (&Dataset, &Dataset),
    team: Option<&kernels::TeamMember>,
    observers: Vec<Option<&mut dyn Observer>>,
) -> Vec<Trained> {
    let Some(first) = hs.first() else {
        return Vec::new();
    };
    let models: Vec<Model> = hs.iter().map(|h| Model::init(K, D, h.seed)).collect();
    let mut stack = Stack::new(&models);
    let mut previous = stack.clone();
    let mut runs: Vec<Run> = hs
        .iter()
        .zip(observers)
        .map(|(h, observer)| Run {
            scheduler: Scheduler::new(h.options.schedule, h.eta),
            history: History::default(),
            best: None,
            observer,
        })
        .collect();
    // active[r]: the index in `hs` of the stack's run r.
    let mut active: Vec<usize> = (0..hs.len()).collect();
    let mut done: Vec<Option<Trained>> = vec![None; hs.len()];
    let mut batches = Batches::new(first, train);
    let n_batches = batches.per_epoch();
    // Validation data is normalised with the training statistics, as it carries.
    let (at, av) = (train.normalizer.affine(), val.normalizer.affine());
    let mut ws = Workspace::default();
    let mut eta: Vec<f32> = Vec::with_capacity(hs.len());
    let (mut epoch, mut step) = (0, 0);
    while !active.is_empty() {
        epoch += 1;
        batches.shuffle();
        let lambda: Vec<f64> = active.iter().map(|&i| hs[i].lambda).collect();
        let lambda32: Vec<f32> = lambda.iter().map(|&l| l as f32).collect();
        let loss: Vec<Loss> = active
            .iter()
            .map(|&i| hs[i].options.reported_loss())
            .collect();
        let step_loss: Vec<Loss> = active.iter().map(|&i| hs[i].options.step_loss()).collect();
        for j in 0..n_batches {
            eta.clear();
            eta.extend(
                active
                    .iter()
                    .map(|&i| runs[i].scheduler.eta(epoch, step) as f32),
            );
            step += 1;
            let (pixels, labels) = batches.get(j);
            let x = Images::new(pixels, &at);
            ws.sgd_step(&mut stack, x, labels, &eta, &lambda32, &step_loss);
            for &i in &active {
                if let Some(o) = runs[i].observer.as_mut() {
                    o.on_batch(epoch, j + 1, n_batches);
                }
            }
        }
        let (tr, va) = match team {
            Some(member) => member.evaluate(&mut ws, &stack, &lambda, &loss),
            None => (
                ws.evaluate(
                    &stack,
                    Images::new(&train.pixels, &at),
                    &train.labels,
                    &lambda,
                    &loss,
                ),
                ws.evaluate(
                    &stack,
                    Images::new(&val.pixels, &av),
                    &val.labels,
                    &lambda,
                    &loss,
                ),
            ),
        };
        let mut leaving = Vec::new();
        for (r, &i) in active.iter().enumerate() {
            let finite = tr[r].cost.is_finite() && va[r].cost.is_finite() && stack.is_finite(r);
            let result = if finite {
                runs[i].end_epoch(&hs[i], epoch, (tr[r], va[r]), || stack.model(r))
            } else {
                Some(runs[i].finish(previous.model(r), Some(epoch), None))
            };
            if let Some(t) = result {
                done[i] = Some(t);
                leaving.push(r);
            }
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

/// The mini-batches of a stack's runs: slices of the training bytes in order, or
/// gathered into a buffer when the runs shuffle or augment (augmented runs train
/// alone, so the augmentation is that run's).
struct Batches<'a> {
    train: &'a Dataset,
    n_batch: usize,
    shuffle: Option<rand_pcg::Pcg64>,
    augment: crate::augment::Augment,
    aug_rng: rand_pcg::Pcg64,
    order: Vec<usize>,
    gathered: Vec<u8>,
    labels: Vec<u8>,
    scratch: Vec<u8>,
    /// The shifts' border: the training mean image to the nearest byte, which is
    /// (up to that rounding) 0 after normalisation.
    fill: Vec<u8>,
}

impl<'a> Batches<'a> {
    fn new(h: &Hyper, train: &'a Dataset) -> Batches<'a> {
        let augment = h.options.augment;
        let gather = h.shuffle || !augment.is_off();
        let n_batch = h.n_batch.max(1);
        Batches {
            train,
            n_batch,
            shuffle: h
                .shuffle
                .then(|| rand_pcg::Pcg64::seed_from_u64(h.seed ^ SHUFFLE_STREAM)),
            augment,
            aug_rng: rand_pcg::Pcg64::seed_from_u64(h.seed ^ AUGMENT_STREAM),
            order: (0..train.len()).collect(),
            gathered: vec![0u8; if gather { n_batch * D } else { 0 }],
            labels: vec![0u8; if gather { n_batch } else { 0 }],
            scratch: vec![0u8; D],
            fill: (train.normalizer.mean.iter())
                .map(|&m| (m * 255.0).round().clamp(0.0, 255.0) as u8)
                .collect(),
        }
    }

    /// Mini-batches per epoch, `⌊n / n_batch⌋`.
    fn per_epoch(&self) -> usize {
        self.train.len() / self.n_batch
    }

    /// Draws the epoch's permutation, if the runs shuffle.
    fn shuffle(&mut self) {
        if let Some(rng) = self.shuffle.as_mut() {
            self.order.shuffle(rng);
        }
    }

    /// Mini-batch `j` of the epoch: its bytes (`n_batch×d`) and labels.
    fn get(&mut self, j: usize) -> (&[u8], &[u8]) {
        let range = j * self.n_batch..(j + 1) * self.n_batch;
        let (xs, ys) = (&self.train.pixels, &self.train.labels);
        if self.gathered.is_empty() {
            return (&xs[range.start * D..range.end * D], &ys[range]);
        }
        for ((dst, y), &i) in (self.gathered.chunks_exact_mut(D))
            .zip(&mut self.labels)
            .zip(&self.order[range])
        {
            dst.copy_from_slice(&xs[i * D..(i + 1) * D]);
            *y = ys[i];
            if !self.augment.is_off() {
                (self.augment).apply(dst, &mut self.scratch, &self.fill, &mut self.aug_rng);
            }
        }
        (&self.gathered, &self.labels)
    }
}
