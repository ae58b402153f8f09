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

use crate::config::Hyper;
use crate::kernels::{self, Stack};
use crate::loss::Loss;
use crate::model::Evaluation;
use crate::model::Model;
use crate::normalize::Dataset;
use crate::results::History;

mod batches;
mod images;
pub mod pool;
mod runs;
use batches::Batches;
use images::ImageSets;
pub use pool::{ObserverFactory, RunOutput, plan, run_all, run_group, run_one, with_threads};
use runs::{Run, Terms, initial_models, remove_runs};

/// Receives progress while a run trains. Every method has an empty default.
pub trait Observer {
    /// Called after every mini-batch step (`batch` counts from 1 within the epoch).
    fn on_batch(&mut self, _epoch: usize, _batch: usize, _n_batches: usize) {}
    /// Called after every epoch (counting from 1) with its metrics.
    fn on_epoch(&mut self, _epoch: usize, _train: &Evaluation, _val: &Evaluation) {}
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
    /// Evaluation after every completed epoch.
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
    train_groups(hypers, |hs| ImageSets::new(hs, train, val, None), observers)
}

/// [`train_runs`] on any [`TrainingSet`]: `sets(group)` gives the sets each of
/// [`stack_groups`] trains on (with its buffers), and the loop trains them.
pub fn train_groups<S: TrainingSet>(
    hypers: &[Hyper],
    mut sets: impl FnMut(&[Hyper]) -> S,
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
        let mut s = sets(&hs);
        for (i, t) in group.iter().zip(train_stack(&hs, &mut s, obs)) {
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
    let (train, val) = member.sets();
    let mut sets = ImageSets::new(hypers, train, val, Some(member));
    train_stack(hypers, &mut sets, obs)
}

/// The parameters of a stack's runs as a [`TrainingSet`] keeps them.
pub trait Params: Clone {
    /// The parameters of run `r`.
    fn model(&self, r: usize) -> Model;
    /// True when every parameter of run `r` is finite.
    fn is_finite(&self, r: usize) -> bool;
    /// Copies the parameters of every run from `other`, of the same shape.
    fn assign(&mut self, other: &Self);
    /// Removes run `r`; the runs after it move down by one.
    fn remove(&mut self, r: usize);
}

impl Params for Stack {
    fn model(&self, r: usize) -> Model {
        Stack::model(self, r)
    }

    fn is_finite(&self, r: usize) -> bool {
        Stack::is_finite(self, r)
    }

    fn assign(&mut self, other: &Self) {
        Stack::assign(self, other)
    }

    fn remove(&mut self, r: usize) {
        Stack::remove(self, r)
    }
}

/// The training examples of one mini-batch step.
#[derive(Debug, Clone)]
pub enum Rows<'a> {
    /// The examples of this range, in order.
    Range(std::ops::Range<usize>),
    /// The examples at these indices, in this order (a shuffled epoch).
    Listed(&'a [usize]),
}

/// A training set the loop can step on and evaluate, with its validation set:
/// the one seam between `train_stack` and the maths of one kind of input
/// (images as bytes through [`crate::kernels`], float features through
/// [`crate::model`]'s plain maths in [`crate::features`]).
pub trait TrainingSet {
    /// The runs' parameters, stacked as this set's maths keeps them.
    type Params: Params;
    /// Number of training examples, `n`.
    fn len(&self) -> usize;
    /// True when there are no training examples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Input dimensions, `d`.
    fn dim(&self) -> usize;
    /// `models` (each `K×d`) as one stack of runs.
    fn stack(&self, models: &[Model]) -> Self::Params;
    /// One step of gradient descent on the mini-batch `rows` for every run `r`
    /// of `params`: `W ← W − η[r] ∂J/∂W`, `b ← b − η[r] ∂J/∂b` with the gradient of
    /// `loss[r]` plus `λ[r]‖W‖²`.
    fn step(
        &mut self,
        params: &mut Self::Params,
        rows: Rows<'_>,
        eta: &[f32],
        lambda: &[f32],
        loss: &[Loss],
    );
    /// Loss (`loss[r]`), cost (plus `λ[r]‖W‖²`) and accuracy of every run on the
    /// whole training set and on the whole validation set.
    fn evaluate(
        &mut self,
        params: &Self::Params,
        lambda: &[f64],
        loss: &[Loss],
    ) -> (Vec<Evaluation>, Vec<Evaluation>);
}

/// Seed offsets of the shuffling and augmentation streams, so that turning either
/// on leaves the initialisation (and the other) unchanged.
const SHUFFLE_STREAM: u64 = 0x5348_5546_464c_4521;
const AUGMENT_STREAM: u64 = 0x4155_474d_454e_5421;

/// The loop itself, for runs that share their [`batch_key`]: every step updates all
/// the runs still training, each with its own rate, λ and loss; after every epoch
/// each run is evaluated, observed, and leaves the stack when it has finished,
/// diverged or run out of early-stopping patience.
fn train_stack<S: TrainingSet>(
    hs: &[Hyper],
    sets: &mut S,
    observers: Vec<Option<&mut dyn Observer>>,
) -> Vec<Trained> {
    let Some(first) = hs.first() else {
        return Vec::new();
    };
    let mut stack = sets.stack(&initial_models(hs, sets.dim()));
    let mut previous = stack.clone();
    let mut runs: Vec<Run> = hs.iter().zip(observers).map(Run::new).collect();
    // active[r]: the index in `hs` of the stack's run r.
    let mut active: Vec<usize> = (0..hs.len()).collect();
    let mut done: Vec<Option<Trained>> = vec![None; hs.len()];
    let mut batches = Batches::new(first, sets.len());
    let n_batches = batches.per_epoch();
    let mut eta: Vec<f32> = Vec::with_capacity(hs.len());
    let (mut epoch, mut step) = (0, 0);
    while !active.is_empty() {
        epoch += 1;
        batches.shuffle();
        let Terms {
            lambda,
            lambda32,
            loss,
            step_loss,
        } = Terms::of(hs, &active);
        for j in 0..n_batches {
            eta.clear();
            eta.extend(
                active
                    .iter()
                    .map(|&i| runs[i].scheduler.eta(epoch, step) as f32),
            );
            step += 1;
            sets.step(&mut stack, batches.get(j), &eta, &lambda32, &step_loss);
            for &i in &active {
                if let Some(o) = runs[i].observer.as_mut() {
                    o.on_batch(epoch, j + 1, n_batches);
                }
            }
        }
        let (tr, va) = sets.evaluate(&stack, &lambda, &loss);
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
        remove_runs(&leaving, &mut active, &mut stack, &mut previous);
        previous.assign(&stack);
    }
    done.into_iter().flatten().collect()
}
