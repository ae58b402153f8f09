//! The training loop on synthetic data: it learns, it is reproducible, and a
//! divergent run stops cleanly.

mod common;

use onelayer::config::RunConfig;
use onelayer::normalize::Dataset;
use onelayer::train::{self, Observer, Silent};

/// Images whose class shows as a bright block of dimensions, plus noise, normalised
/// with their own statistics.
fn synthetic(n: usize, seed: u64) -> Dataset {
    faint(n, seed, 1.0)
}

/// [`synthetic`] with the block's brightness `amplitude`.
fn faint(n: usize, seed: u64, amplitude: f32) -> Dataset {
    common::synthetic(n, seed, 60.0 * amplitude)
}

#[derive(Default)]
struct Count {
    batches: usize,
    epochs: Vec<usize>,
}

impl Observer for Count {
    fn on_batch(&mut self, _epoch: usize, _batch: usize, _n: usize) {
        self.batches += 1;
    }
    fn on_epoch(
        &mut self,
        epoch: usize,
        _t: &onelayer::results::Metrics,
        _v: &onelayer::results::Metrics,
    ) {
        self.epochs.push(epoch);
    }
}

#[test]
fn training_learns_a_separable_problem_and_reports_progress() {
    let (tr, va) = (synthetic(500, 1), synthetic(200, 2));
    let mut run = RunConfig::report(0.01, 0.01);
    run.n_epochs = 5;
    run.n_batch = 30;
    let h = run.check("", tr.len()).unwrap();
    let mut obs = Count::default();
    let t = train::train(&h, &tr, &va, &mut obs);
    assert_eq!(t.diverged_at_epoch, None);
    assert_eq!(t.history.epochs(), 5);
    assert_eq!(obs.epochs, vec![1, 2, 3, 4, 5]);
    assert_eq!(obs.batches, 5 * (500 / 30));
    let h = &t.history;
    assert!(h.train_cost[4] < h.train_cost[0] && h.train_cost[0] < 2.3);
    assert!(h.val_accuracy[4] > 0.9, "{:?}", h.val_accuracy);
}

#[test]
fn training_is_reproducible_and_shuffling_changes_the_path() {
    let (tr, va) = (synthetic(300, 3), synthetic(100, 4));
    let mut run = RunConfig::report(0.0, 0.001);
    run.n_epochs = 2;
    run.n_batch = 50;
    let h = run.check("", tr.len()).unwrap();
    let a = train::train(&h, &tr, &va, &mut Silent);
    let b = train::train(&h, &tr, &va, &mut Silent);
    assert_eq!(a.model, b.model);
    run.shuffle = true;
    let hs = run.check("", tr.len()).unwrap();
    let c = train::train(&hs, &tr, &va, &mut Silent);
    let d = train::train(&hs, &tr, &va, &mut Silent);
    assert_eq!(c.model, d.model);
    assert_ne!(a.model, c.model);
}

#[test]
fn a_divergent_run_stops_cleanly_with_its_epoch() {
    let (tr, va) = (synthetic(100, 5), synthetic(50, 6));
    let mut run = RunConfig::report(0.0, 1e38);
    run.n_epochs = 3;
    run.n_batch = 10;
    let h = run.check("", tr.len()).unwrap();
    let t = train::train(&h, &tr, &va, &mut Silent);
    assert_eq!(t.diverged_at_epoch, Some(1));
    assert_eq!(t.history.epochs(), 0);
    assert!(t.model.is_finite());
}

#[test]
fn every_loss_learns_the_separable_problem() {
    let (tr, va) = (faint(500, 7, 0.5), faint(200, 8, 0.5));
    for loss in onelayer::loss::Loss::ALL {
        // The sigmoid loss's gradients carry a factor 1/K: a larger rate.
        let eta = if loss == onelayer::loss::Loss::Sigmoid {
            0.05
        } else {
            0.01
        };
        let mut run = RunConfig::report(0.01, eta);
        run.n_epochs = 5;
        run.n_batch = 30;
        run.options.loss = loss;
        run.shuffle = true;
        run.options.flip = 0.5;
        run.options.translate = 1;
        let h = run.check("", tr.len()).unwrap();
        let t = train::train(&h, &tr, &va, &mut Silent);
        let acc = t.history.val_accuracy[4];
        assert!(acc > 0.9, "{loss}: {:?}", t.history.val_accuracy);
        assert!(
            t.history.train_loss[4] < t.history.train_loss[0],
            "{loss}: {:?}",
            t.history.train_loss
        );
    }
}

#[test]
fn early_stopping_keeps_the_best_validation_epoch() {
    // Sixty faint, noisy images in 3072 dimensions: the model first learns the
    // signal, then fits the noise, and the validation loss rises. (The inputs are
    // normalised to unit variance, hence a small rate.)
    let (tr, va) = (faint(60, 9, 0.1), faint(200, 10, 0.1));
    let mut run = RunConfig::report(0.0, 0.015);
    run.n_epochs = 60;
    run.n_batch = 10;
    run.options.early_stopping = Some(3);
    let h = run.check("", tr.len()).unwrap();
    let t = train::train(&h, &tr, &va, &mut Silent);
    let stop = t
        .stopped_at_epoch
        .unwrap_or_else(|| panic!("the run stops early: {:?}", t.history.val_loss));
    assert!(stop > 4, "{:?}", t.history.val_loss);
    assert_eq!(t.history.epochs(), stop);
    let losses = &t.history.val_loss;
    let best = (0..losses.len())
        .min_by(|&a, &b| losses[a].total_cmp(&losses[b]))
        .unwrap()
        + 1;
    assert_eq!(t.best_epoch, Some(best));
    assert_eq!(stop, best + 3);
    let m = onelayer::kernels::evaluate(&t.model, &va, 0.0);
    assert!(
        (m.loss - losses[best - 1]).abs() < 1e-9,
        "{} {:?}",
        m.loss,
        losses
    );
    // Without early stopping the same run goes on and ends elsewhere.
    run.options.early_stopping = None;
    let full = train::train(&run.check("", tr.len()).unwrap(), &tr, &va, &mut Silent);
    assert_eq!(full.history.epochs(), 60);
    assert_eq!(&full.history.val_loss[..stop], &losses[..]);
    assert_ne!(full.model, t.model);
}

#[test]
fn a_schedule_changes_the_path_only_after_it_departs_from_the_base_rate() {
    let (tr, va) = (synthetic(300, 11), synthetic(100, 12));
    let mut run = RunConfig::report(0.0, 0.01);
    run.n_epochs = 4;
    run.n_batch = 50;
    let constant = train::train(&run.check("", 300).unwrap(), &tr, &va, &mut Silent);
    run.options.schedule = onelayer::schedule::Schedule::Step {
        factor: 10.0,
        every: 2,
    };
    let step = train::train(&run.check("", 300).unwrap(), &tr, &va, &mut Silent);
    assert_eq!(
        &constant.history.train_loss[..2],
        &step.history.train_loss[..2]
    );
    assert_ne!(constant.history.train_loss[2], step.history.train_loss[2]);
}
