//! The hyper-parameter search on synthetic data: its candidates, its records, and
//! resumption after an interruption.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use onelayer::config::{RunConfig, SplitConfig, Validation};
use onelayer::normalize::Dataset;
use onelayer::schedule::Schedule;
use onelayer::search::{self, RandomSearch, SearchConfig, SearchOptions, SearchRecord, Space};

/// Images whose class shows as a faintly brighter block of dimensions, plus noise,
/// normalised with their own statistics.
fn synthetic(n: usize, seed: u64) -> Dataset {
    common::synthetic(n, seed, 18.0)
}

fn config() -> SearchConfig {
    let mut base = RunConfig::report(0.0, 0.01);
    base.n_epochs = 2;
    base.n_batch = 20;
    base.shuffle = true;
    SearchConfig {
        split: SplitConfig {
            train_batches: vec![1, 2, 3, 4, 5],
            validation: Validation::HoldOut(1000),
        },
        base,
        space: Space {
            lambda: vec![0.0, 0.1],
            eta: vec![0.001, 0.01, 0.1],
            n_batch: vec![],
            schedule: vec![
                Schedule::Constant,
                Schedule::Step {
                    factor: 10.0,
                    every: 1,
                },
            ],
            label_smoothing: vec![],
            gce_q: vec![],
        },
        random: None,
    }
}

/// A record without its timing, which differs between invocations.
fn untimed(r: &SearchRecord) -> SearchRecord {
    SearchRecord {
        seconds: 0.0,
        ..r.clone()
    }
}

#[test]
fn the_grid_holds_every_combination_and_random_draws_stay_in_range() {
    let c = config();
    let runs = c.candidates(200).unwrap();
    assert_eq!(runs.len(), 2 * 3 * 2);
    assert_eq!(runs[0].name.as_deref(), Some("run000"));
    assert!(runs.iter().all(|r| r.n_batch == 20 && r.shuffle));
    let mut r = config();
    r.random = Some(RandomSearch { n: 50, seed: 3 });
    let drawn = r.candidates(200).unwrap();
    assert_eq!(drawn.len(), 50);
    assert!(drawn.iter().all(|d| (0.001..=0.1).contains(&d.eta)));
    assert!(drawn.iter().all(|d| d.lambda == 0.0 || d.lambda == 0.1));
    assert!(drawn.iter().any(|d| ![0.001, 0.01, 0.1].contains(&d.eta)));
    assert_eq!(drawn, r.candidates(200).unwrap());
    let mut bad = config();
    bad.space.eta = vec![0.1, -1.0];
    let e = bad.candidates(200).unwrap_err().to_string();
    assert!(e.starts_with("run002.eta"), "{e}");
}

#[test]
fn a_grid_too_large_is_refused_with_its_size_before_it_is_expanded() {
    let values = |n: usize| (0..n).map(|i| i as f64 * 1e-3).collect::<Vec<_>>();
    // 100 × 100 × 100 × 100 = 10^8 points.
    let mut c = config();
    c.space.lambda = values(100);
    c.space.eta = values(100).into_iter().map(|v| v + 1e-3).collect();
    c.space.n_batch = (1..=100).collect();
    c.space.schedule = vec![];
    c.space.label_smoothing = values(100);
    let e = c.candidates(200).unwrap_err().to_string();
    assert!(
        e.starts_with("space:") && e.contains("100000000 points") && e.contains("100000"),
        "{e}"
    );
    // A product past 2^64 is still a count, not an overflow.
    c.space.lambda = values(1 << 11);
    c.space.eta = values(1 << 11);
    c.space.n_batch = (1..=1 << 11).collect();
    c.space.schedule = vec![Schedule::Constant; 1 << 11];
    c.space.label_smoothing = values(1 << 11);
    c.space.gce_q = values(1 << 11);
    let e = c.candidates(200).unwrap_err().to_string();
    assert!(e.contains("more than 2^64"), "{e}");
    // At the limit: expanded (and checked run by run).
    let mut c = config();
    c.space.lambda = values(100);
    c.space.eta = vec![0.01; 1000];
    c.space.schedule = vec![];
    assert_eq!(c.candidates(200).unwrap().len(), 100_000);
}

#[test]
fn label_smoothing_is_searched_like_the_other_settings() {
    let mut c = config();
    c.space.label_smoothing = vec![0.0, 0.3];
    let runs = c.candidates(200).unwrap();
    assert_eq!(runs.len(), 2 * 3 * 2 * 2);
    assert_eq!(
        (
            runs[0].options.label_smoothing,
            runs[1].options.label_smoothing
        ),
        (0.0, 0.3)
    );
    c.random = Some(RandomSearch { n: 40, seed: 3 });
    let drawn = c.candidates(200).unwrap();
    assert!(drawn.iter().any(|d| d.options.label_smoothing == 0.0));
    assert!(drawn.iter().any(|d| d.options.label_smoothing == 0.3));
    // A single value is not a draw: the other settings come out as without it.
    let mut plain = config();
    plain.random = c.random;
    let mut single = plain.clone();
    single.space.label_smoothing = vec![0.2];
    let (a, b) = (
        plain.candidates(200).unwrap(),
        single.candidates(200).unwrap(),
    );
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.lambda, x.eta, x.options.schedule),
            (y.lambda, y.eta, y.options.schedule)
        );
        assert_eq!(
            (x.options.label_smoothing, y.options.label_smoothing),
            (0.0, 0.2)
        );
    }
    c.space.label_smoothing = vec![0.3, 1.5];
    let e = c.candidates(200).unwrap_err().to_string();
    assert!(e.contains("label_smoothing"), "{e}");
}

#[test]
fn the_generalized_cross_entropy_is_searched_like_the_other_settings() {
    let mut c = config();
    c.space.gce_q = vec![0.0, 0.5];
    let runs = c.candidates(200).unwrap();
    assert_eq!(runs.len(), 2 * 3 * 2 * 2);
    assert_eq!((runs[0].options.gce_q, runs[1].options.gce_q), (0.0, 0.5));
    c.random = Some(RandomSearch { n: 40, seed: 3 });
    let drawn = c.candidates(200).unwrap();
    assert!(drawn.iter().any(|d| d.options.gce_q == 0.0));
    assert!(drawn.iter().any(|d| d.options.gce_q == 0.5));
    // With label smoothing searched too, a run cannot have both.
    c.random = None;
    c.space.label_smoothing = vec![0.0, 0.3];
    let e = c.candidates(200).unwrap_err().to_string();
    assert!(e.contains("gce_q") && e.contains("label smoothing"), "{e}");
    c.space.label_smoothing = vec![];
    c.space.gce_q = vec![0.5, 1.5];
    let e = c.candidates(200).unwrap_err().to_string();
    assert!(e.contains("gce_q"), "{e}");
}

#[test]
fn an_interrupted_search_resumes_where_it_stopped() {
    let (tr, va, te) = (synthetic(200, 1), synthetic(100, 2), synthetic(100, 3));
    let cfg = config();
    let whole_dir = tempfile::tempdir().unwrap();
    let opts = SearchOptions {
        threads: 2,
        max_new_runs: None,
    };
    let whole =
        search::run_search(&cfg, (&tr, &va, &te), whole_dir.path(), &opts, &|_| {}).unwrap();
    assert_eq!(whole.records.len(), 12);
    let best = whole
        .best
        .clone()
        .expect("a complete search tests its best run");
    let picked = search::pick_best(&whole.records).unwrap();
    assert_eq!(best.record, *picked);
    assert!(
        whole
            .records
            .iter()
            .all(|r| r.val_accuracy <= picked.val_accuracy)
    );

    // Interrupted after 5 runs: the records so far are on disk, no test yet.
    let dir = tempfile::tempdir().unwrap();
    let first = SearchOptions {
        threads: 2,
        max_new_runs: Some(5),
    };
    let part = search::run_search(&cfg, (&tr, &va, &te), dir.path(), &first, &|_| {}).unwrap();
    assert_eq!(part.records.len(), 5);
    assert!(part.best.is_none() && !dir.path().join(search::BEST).exists());
    let lines = std::fs::read_to_string(dir.path().join(search::RECORDS)).unwrap();
    assert_eq!(lines.lines().count(), 5);
    let csv = std::fs::read_to_string(dir.path().join(search::TABLE)).unwrap();
    assert_eq!(csv.lines().count(), 6);

    // A run whose weights were lost (killed between files) trains again.
    let lost = &part.records[0].run;
    std::fs::remove_file(
        dir.path()
            .join("runs")
            .join(lost.name.as_deref().unwrap())
            .join("W.npy"),
    )
    .unwrap();

    // Resumed: only the missing runs train, and the outcome is the uninterrupted one.
    let trained = AtomicUsize::new(0);
    let rest = search::run_search(&cfg, (&tr, &va, &te), dir.path(), &opts, &|_| {
        trained.fetch_add(1, Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(trained.load(Ordering::Relaxed), 12 - 5 + 1);
    let a: Vec<_> = rest.records.iter().map(untimed).collect();
    let b: Vec<_> = whole.records.iter().map(untimed).collect();
    assert_eq!(a, b);
    let kept = &part.records[1];
    assert_eq!(
        rest.records[kept.index].seconds, kept.seconds,
        "not retrained"
    );
    let rb = rest.best.unwrap();
    assert_eq!(untimed(&rb.record), untimed(&best.record));
    assert_eq!(rb.test_accuracy, best.test_accuracy);

    // Resuming with different settings is refused.
    let mut other = cfg.clone();
    other.space.eta[0] = 0.002;
    let e = search::run_search(&other, (&tr, &va, &te), dir.path(), &opts, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("search.jsonl line 1") && e.contains("other settings"),
        "{e}"
    );
}
