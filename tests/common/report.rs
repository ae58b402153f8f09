//! A small results folder written by the tests themselves: four runs of ten
//! epochs (η = 0.1 oscillates then diverges in epoch 7), their `W.npy`, and
//! `results.json`, as `onelayer reproduce` lays them out.

use std::path::Path;

use ndarray::Array2;
use onelayer::config::Hyper;
use onelayer::results::{GradCheckReport, GradientCheck, History, Results, RunResult, Setup};

use super::CLASS_NAMES as CLASSES;

fn history(loss: &[f64], gap: f64, penalty: f64) -> History {
    let acc: Vec<f64> = loss
        .iter()
        .map(|l| (0.9 - 0.3 * l).clamp(0.05, 0.9))
        .collect();
    History {
        train_loss: loss.to_vec(),
        train_cost: loss.iter().map(|l| l + penalty).collect(),
        train_accuracy: acc.clone(),
        val_loss: loss.iter().map(|l| l + gap).collect(),
        val_cost: loss.iter().map(|l| l + gap + penalty).collect(),
        val_accuracy: acc.iter().map(|a| a - 0.05).collect(),
    }
}

fn run(lambda: f64, eta: f64, history: History, diverged_at_epoch: Option<usize>) -> RunResult {
    RunResult {
        run: Hyper {
            name: onelayer::config::run_name(lambda, eta),
            lambda,
            eta,
            n_epochs: 10,
            n_batch: 100,
            seed: 42,
            shuffle: false,
            options: Default::default(),
        },
        diverged: diverged_at_epoch.is_some(),
        diverged_at_epoch,
        test_accuracy: history.val_accuracy.last().copied().unwrap_or(0.1),
        test_loss: 1.9,
        seconds: 2.0,
        history,
        best_epoch: None,
        stopped_at_epoch: None,
    }
}

fn gradcheck(lambda: f64) -> GradCheckReport {
    GradCheckReport {
        lambda,
        dims: 100,
        examples: 50,
        step: 1e-5,
        max_rel_w: 1e-7,
        mean_rel_w: 2e-9,
        max_rel_b: 3e-8,
        mean_rel_b: 4e-9,
    }
}

/// The fixture's results.
pub fn results() -> Results {
    let smooth = |end: f64| -> Vec<f64> {
        (0..10)
            .map(|i| end + (2.0 - end) * (-(i as f64) / 3.0).exp())
            .collect()
    };
    Results {
        onelayer_version: "fixture".into(),
        setup: Setup {
            data: "fixture".into(),
            train_batches: vec!["data_batch_1".into()],
            validation: "data_batch_2".into(),
            n_train: 10000,
            n_val: 10000,
            n_test: 10000,
            class_names: CLASSES.map(String::from).to_vec(),
            preprocessing: "x/255, standardised".into(),
            initialisation: "W ~ N(0, 0.01²), b = 0".into(),
            threads: 2,
            kernels: "avx512+amx".into(),
        },
        gradient_check: GradientCheck {
            lambda_zero: gradcheck(0.0),
            lambda_positive: gradcheck(0.1),
        },
        runs: vec![
            run(
                0.0,
                0.1,
                history(&[5.8, 3.9, 4.9, 4.8, 6.0, 3.8], 1.5, 0.0),
                Some(7),
            ),
            run(0.0, 0.001, history(&smooth(1.6), 0.18, 0.0), None),
            run(0.1, 0.001, history(&smooth(1.65), 0.14, 0.1), None),
            run(1.0, 0.001, history(&smooth(1.8), 0.06, 0.1), None),
        ],
    }
}

/// Weights with a smooth pattern per class (so that templates look like images).
pub fn weights(run: usize) -> Array2<f32> {
    Array2::from_shape_fn((10, 3072), |(k, i)| {
        let (c, p) = (i / 1024, i % 1024);
        let (row, col) = ((p / 32) as f32, (p % 32) as f32);
        let f = 0.1 + 0.05 * (k + run) as f32;
        ((row * f).sin() + (col * f * (c + 1) as f32).cos()) * 0.01
    })
}

/// Writes the fixture into `dir` (created if needed).
pub fn write(dir: &Path) {
    let r = results();
    for (i, run) in r.runs.iter().enumerate() {
        let rd = dir.join(&run.run.name);
        std::fs::create_dir_all(&rd).unwrap();
        ndarray_npy::write_npy(rd.join("W.npy"), &weights(i)).unwrap();
    }
    let json = serde_json::to_vec_pretty(&r).unwrap();
    std::fs::write(dir.join("results.json"), json).unwrap();
}
