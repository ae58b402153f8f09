//! Whole short trainings through the fast path against a plain reference loop
//! written here with the reference maths of `onelayer::model` in f64, and stacked
//! training (alone or evaluated as a team of threads) against training one run at
//! a time.

use ndarray::Array2;
use onelayer::augment::Augment;
use onelayer::config::{Hyper, RunOptions};
use onelayer::data::LabeledImages;
use onelayer::kernels;
use onelayer::loss::{self, Loss};
use onelayer::model::{self, Model};
use onelayer::normalize::{Dataset, Normalizer};
use onelayer::schedule::{Schedule, Scheduler};
use onelayer::train::{self, Silent, Trained};
use onelayer::{D, K};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// Random images whose pixels cluster around a per-class pattern (so that there is
/// something to learn).
fn images(n: usize, seed: u64) -> LabeledImages {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let labels: Vec<u8> = (0..n)
        .map(|i| ((i * 3 + seed as usize) % K) as u8)
        .collect();
    let mut pixels = Vec::with_capacity(n * D);
    for &y in &labels {
        for j in 0..D {
            let noise: f64 = StandardNormal.sample(&mut rng);
            let centre = if (j + y as usize).is_multiple_of(K) {
                180.0
            } else {
                100.0
            };
            pixels.push((centre + 40.0 * noise).clamp(0.0, 255.0) as u8);
        }
    }
    LabeledImages { pixels, labels }
}

/// A training and a validation set, both normalised with the training statistics.
fn datasets(n_train: usize, n_val: usize, seed: u64) -> (Dataset, Dataset) {
    let (tr, va) = (images(n_train, seed), images(n_val, seed + 100));
    let norm = Normalizer::fit(&tr);
    (norm.apply(tr), norm.apply(va))
}

fn hyper(name: &str, lambda: f64, eta: f64, n_epochs: usize, seed: u64, shuffle: bool) -> Hyper {
    Hyper {
        name: name.into(),
        lambda,
        eta,
        n_epochs,
        n_batch: 20,
        seed,
        shuffle,
        options: Default::default(),
    }
}

/// `h` with its loss and schedule.
fn with(mut h: Hyper, loss: Loss, schedule: Schedule) -> Hyper {
    h.options = RunOptions {
        loss,
        schedule,
        ..h.options
    };
    h
}

/// `h` with label smoothing `eps`.
fn smoothed(mut h: Hyper, eps: f64) -> Hyper {
    h.options.loss = Loss::SmoothedSoftmax(eps);
    h
}

/// `h` stepping on the generalized cross-entropy with exponent `q`.
fn generalized(mut h: Hyper, q: f64) -> Hyper {
    h.options.loss = Loss::Generalized(q);
    h
}

/// The report's loop, plainly: mini-batches in order, `W ← W − η_t ∂J/∂W` with the
/// run's loss and schedule, then the cost and accuracy of both sets (as
/// `(loss, cost, accuracy)` per epoch).
fn reference(h: &Hyper, tr: &Dataset, va: &Dataset) -> (Model<f64>, Vec<[f64; 6]>) {
    let mut m = Model::init(K, D, h.seed).to_f64();
    let (xt, xv) = (tr.columns_f64(0..tr.len()), va.columns_f64(0..va.len()));
    let mut hist = Vec::new();
    let kind = h.options.reported_loss();
    // Steps with the smoothed targets or the generalized cross-entropy when
    // asked; metrics of the plain loss.
    let step_kind = h.options.step_loss();
    let mut scheduler = Scheduler::new(h.options.schedule, h.eta);
    let mut step = 0;
    for epoch in 1..=h.n_epochs {
        for j in 0..tr.len() / h.n_batch {
            let r = j * h.n_batch..(j + 1) * h.n_batch;
            let xb = xt.slice(ndarray::s![.., r.clone()]);
            let (gw, gb) = loss::gradients(step_kind, &m, xb, &tr.labels[r], h.lambda);
            let eta = scheduler.eta(epoch, step);
            step += 1;
            m.w = &m.w - &(gw * eta);
            m.b = &m.b - &(gb * eta);
        }
        let eval = |x: &Array2<f64>, y: &[u8]| {
            let s = model::scores(m.w.view(), m.b.view(), x.view());
            let loss = kind.mean_loss(s.view(), y);
            (
                loss,
                loss + model::l2_penalty(m.w.view(), h.lambda),
                model::accuracy(s.view(), y),
            )
        };
        let (a, b) = (eval(&xt, &tr.labels), eval(&xv, &va.labels));
        hist.push([a.0, a.1, a.2, b.0, b.1, b.2]);
        scheduler.end_epoch(b.0);
    }
    (m, hist)
}

#[test]
fn a_short_training_matches_the_reference_loop() {
    let (tr, va) = datasets(100, 50, 1);
    let step = Schedule::Step {
        factor: 2.0,
        every: 1,
    };
    let plateau = Schedule::Plateau {
        factor: 3.0,
        patience: 1,
    };
    for h in [
        hyper("a", 0.1, 0.01, 3, 7, false),
        hyper("b", 0.0, 0.001, 2, 8, false),
        with(
            hyper("sigmoid", 0.1, 0.05, 3, 9, false),
            Loss::Sigmoid,
            step,
        ),
        with(
            hyper("hinge", 0.0, 0.002, 4, 10, false),
            Loss::Hinge,
            plateau,
        ),
        smoothed(hyper("smoothed", 0.1, 0.01, 3, 11, false), 0.3),
        generalized(hyper("generalized", 0.01, 0.05, 3, 12, false), 0.5),
    ] {
        let got = train::train(&h, &tr, &va, &mut Silent);
        let (want, hist) = reference(&h, &tr, &va);
        assert_eq!(got.diverged_at_epoch, None);
        assert_eq!(got.history.epochs(), h.n_epochs);
        for (e, w) in hist.iter().enumerate() {
            let g = &got.history;
            let got_e = [
                g.train_loss[e],
                g.train_cost[e],
                g.train_accuracy[e],
                g.val_loss[e],
                g.val_cost[e],
                g.val_accuracy[e],
            ];
            for (a, b) in got_e.iter().zip(w) {
                assert!(
                    (a - b).abs() < 1e-4 * b.abs().max(1.0),
                    "{} epoch {e}: {got_e:?} vs {w:?}",
                    h.name
                );
            }
        }
        let dw = got
            .model
            .w
            .iter()
            .zip(&want.w)
            .map(|(&a, &b)| (f64::from(a) - b).abs())
            .fold(0.0, f64::max);
        assert!(dw < 1e-5, "{}: |ΔW| = {dw:e}", h.name);
    }
}

/// `f` given `n` observers that report nothing.
fn silent<R>(n: usize, f: impl FnOnce(&mut [&mut dyn train::Observer]) -> R) -> R {
    let mut silents: Vec<Silent> = vec![Silent; n];
    let mut obs: Vec<&mut dyn train::Observer> = silents
        .iter_mut()
        .map(|s| s as &mut dyn train::Observer)
        .collect();
    f(&mut obs)
}

fn same(a: &Trained, b: &Trained) {
    assert_eq!(a.model, b.model);
    assert_eq!(a.history, b.history);
    assert_eq!(a.diverged_at_epoch, b.diverged_at_epoch);
    assert_eq!(a.best_epoch, b.best_epoch);
    assert_eq!(a.stopped_at_epoch, b.stopped_at_epoch);
}

#[test]
fn stacked_training_equals_training_one_run_at_a_time() {
    let (tr, va) = datasets(100, 40, 3);
    let hs = [
        hyper("a", 0.0, 0.1, 3, 1, false),
        hyper("b", 0.0, 0.001, 2, 2, false),
        hyper("shuffled", 0.1, 0.01, 2, 3, true),
        hyper("c", 1.0, 0.001, 4, 4, false),
        // Diverges at once: its stack-mates must not notice.
        hyper("diverges", 1.0, 1e38, 3, 5, false),
        // Other losses and schedules in the same stack.
        with(
            hyper("sigmoid", 0.1, 0.05, 3, 6, false),
            Loss::Sigmoid,
            Schedule::Cyclic {
                eta_min: 0.01,
                half_cycle: 3,
            },
        ),
        with(
            hyper("hinge", 0.0, 0.01, 3, 7, false),
            Loss::Hinge,
            Schedule::Plateau {
                factor: 2.0,
                patience: 1,
            },
        ),
        // Too fast to improve for long: it stops early and leaves its stack.
        Hyper {
            options: RunOptions {
                early_stopping: Some(1),
                ..Default::default()
            },
            ..hyper("stops", 0.0, 0.3, 20, 8, false)
        },
        // Augmented: a stack of its own.
        Hyper {
            options: RunOptions {
                augment: Augment {
                    flip: 0.5,
                    translate: 2,
                },
                ..Default::default()
            },
            ..hyper("augmented", 0.0, 0.01, 2, 9, false)
        },
    ];
    assert_eq!(
        train::stack_groups(&hs),
        [vec![0, 1, 3, 4, 5, 6, 7], vec![2], vec![8]]
    );
    let together = silent(hs.len(), |obs| train::train_runs(&hs, &tr, &va, obs));
    assert_eq!(together.len(), hs.len());
    for (h, t) in hs.iter().zip(&together) {
        same(t, &train::train(h, &tr, &va, &mut Silent));
    }
    assert_eq!(together[4].diverged_at_epoch, Some(1));
    assert_eq!(together[3].history.epochs(), 4);
    let stops = &together[7];
    assert!(stops.stopped_at_epoch.is_some_and(|e| e < 20), "{stops:?}");
    assert_eq!(stops.stopped_at_epoch, stops.best_epoch.map(|e| e + 1));
}

/// Trains `hs` (one stack) as member `id` of `team`.
fn in_team(hs: &[Hyper], team: &kernels::Team, id: usize) -> Vec<Trained> {
    silent(hs.len(), |obs| {
        train::train_in_team(hs, &team.member(id), obs)
    })
}

#[test]
fn stacks_evaluated_as_a_team_train_as_each_run_alone() {
    let (tr, va) = datasets(100, 40, 3);
    // Members of different lengths: the longer one goes on alone; runs diverge
    // and stop early, leaving their stacks.
    let a = [
        hyper("a", 0.0, 0.1, 3, 1, false),
        hyper("diverges", 1.0, 1e38, 3, 5, false),
        Hyper {
            options: RunOptions {
                early_stopping: Some(1),
                ..Default::default()
            },
            ..hyper("stops", 0.0, 0.3, 20, 8, false)
        },
    ];
    let b = [
        hyper("b", 0.0, 0.001, 2, 2, false),
        with(
            hyper("sigmoid", 0.1, 0.05, 3, 6, false),
            Loss::Sigmoid,
            Schedule::Constant,
        ),
    ];
    // Each member alone, then each with a crew of 2 or 3 threads sharing out its
    // steps and its share of the team's evaluations.
    for crews in [None, Some((2, 3))] {
        let crew = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let pools = crews.map(|(p, q)| (crew(p), crew(q)));
        let team = kernels::Team::new(&tr, &va, 2);
        let (ta, tb) = std::thread::scope(|s| {
            let ta = s.spawn(|| match &pools {
                Some((pa, _)) => pa.install(|| in_team(&a, &team, 0)),
                None => in_team(&a, &team, 0),
            });
            let tb = match &pools {
                Some((_, pb)) => pb.install(|| in_team(&b, &team, 1)),
                None => in_team(&b, &team, 1),
            };
            (ta.join().unwrap(), tb)
        });
        for (h, t) in a.iter().zip(&ta).chain(b.iter().zip(&tb)) {
            same(t, &train::train(h, &tr, &va, &mut Silent));
        }
    }
}

#[test]
fn runs_trained_by_a_crew_of_threads_train_as_on_one_thread() {
    let (tr, va) = datasets(100, 40, 4);
    let mut wide = hyper("wide batches", 0.1, 0.01, 2, 3, false);
    wide.n_batch = 50;
    let hs = [
        hyper("a", 0.0, 0.1, 3, 1, false),
        hyper("c", 1.0, 0.001, 2, 4, false),
        with(
            hyper("hinge", 0.0, 0.01, 3, 7, false),
            Loss::Hinge,
            Schedule::Constant,
        ),
        hyper("shuffled", 0.1, 0.01, 2, 3, true),
        wide,
    ];
    let alone = silent(hs.len(), |obs| train::train_runs(&hs, &tr, &va, obs));
    for threads in [2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let crew = pool.install(|| silent(hs.len(), |obs| train::train_runs(&hs, &tr, &va, obs)));
        for (a, c) in alone.iter().zip(&crew) {
            same(c, a);
        }
    }
}
