//! The training loop on synthetic data: it learns, it is reproducible, and a
//! divergent run stops cleanly.

use onelayer::config::RunConfig;
use onelayer::data::LabeledImages;
use onelayer::normalize::{Dataset, Normalizer};
use onelayer::train::{self, Observer, Silent};
use onelayer::{D, K};
use rand::{RngExt, SeedableRng};

/// Images whose class shows as a bright block of dimensions, plus noise, normalised
/// with their own statistics.
fn synthetic(n: usize, seed: u64) -> Dataset {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let labels: Vec<u8> = (0..n).map(|i| (i % K) as u8).collect();
    let mut pixels = Vec::with_capacity(n * D);
    for &y in &labels {
        for j in 0..D {
            let signal = if j / 300 == y as usize { 60.0 } else { 0.0 };
            pixels.push((100.0 + signal + rng.random_range(-60.0f32..60.0)) as u8);
        }
    }
    let images = LabeledImages { pixels, labels };
    Normalizer::fit(&images).apply(images)
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
