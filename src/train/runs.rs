//! The runs of one stack beyond their shared weights: each run's schedule,
//! history, early stopping and observer ([`Run`]), what the runs still
//! training minimise and report ([`Terms`]), and the stack's bookkeeping as runs
//! leave it.

use super::{Observer, Params, Trained};
use crate::K;
use crate::config::Hyper;
use crate::loss::Loss;
use crate::model::{Evaluation, Model};
use crate::results::History;
use crate::schedule::Scheduler;

/// One run of a stack, beyond its weights.
pub(super) struct Run<'o> {
    /// Its learning rate, epoch by epoch.
    pub(super) scheduler: Scheduler,
    /// Its metrics after every epoch so far.
    pub(super) history: History,
    /// With early stopping: the best validation loss, its epoch and weights.
    pub(super) best: Option<(f64, usize, Model)>,
    /// What follows its progress.
    pub(super) observer: Option<&'o mut dyn Observer>,
}

impl<'o> Run<'o> {
    /// A run of `h` about to start, followed by `observer`.
    pub(super) fn new((h, observer): (&Hyper, Option<&'o mut dyn Observer>)) -> Self {
        Run {
            scheduler: Scheduler::new(h.options.schedule, h.eta),
            history: History::default(),
            best: None,
            observer,
        }
    }

    /// Records a finished epoch of run `h` whose current weights are `current()`;
    /// returns the run's result when it leaves the stack (finished, or out of
    /// early-stopping patience).
    pub(super) fn end_epoch(
        &mut self,
        h: &Hyper,
        epoch: usize,
        (tr, va): (Evaluation, Evaluation),
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
    pub(super) fn finish(
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

/// Removes the runs at positions `leaving` (increasing) of the stack from
/// `active`, `stack` and `previous`.
pub(super) fn remove_runs<P: Params>(
    leaving: &[usize],
    active: &mut Vec<usize>,
    stack: &mut P,
    previous: &mut P,
) {
    for &r in leaving.iter().rev() {
        active.remove(r);
        stack.remove(r);
        previous.remove(r);
    }
}

/// The fresh models of runs `hs` (`K×d` each, seeded by each run's seed).
pub(super) fn initial_models(hs: &[Hyper], d: usize) -> Vec<Model> {
    hs.iter().map(|h| Model::init(K, d, h.seed)).collect()
}

/// What the runs still in the stack minimise and report during one epoch, in
/// the stack's order.
pub(super) struct Terms {
    /// `λ` of each run, for the metrics.
    pub(super) lambda: Vec<f64>,
    /// `λ` of each run, for the steps.
    pub(super) lambda32: Vec<f32>,
    /// The loss each run reports.
    pub(super) loss: Vec<Loss>,
    /// The loss whose gradient each run steps on.
    pub(super) step_loss: Vec<Loss>,
}

impl Terms {
    /// The terms of the runs `hs[i]` for `i` in `active`.
    pub(super) fn of(hs: &[Hyper], active: &[usize]) -> Terms {
        let lambda: Vec<f64> = active.iter().map(|&i| hs[i].lambda).collect();
        Terms {
            lambda32: lambda.iter().map(|&l| l as f32).collect(),
            lambda,
            loss: active
                .iter()
                .map(|&i| hs[i].options.reported_loss())
                .collect(),
            step_loss: active.iter().map(|&i| hs[i].options.step_loss()).collect(),
        }
    }
}
