//! The unit tests' shared fixture: hand-made results for the tests of the plots,
//! the observations and the report, and a hand-made model file for those of the
//! model file and the export. (The integration tests' fixture is `tests/common`.)

use ndarray::{Array1, Array2};

use crate::D;
use crate::config::{Hyper, SplitConfig, Validation};
use crate::data::DataFingerprint;
use crate::model::Model;
use crate::modelfile::{ModelFile, ModelMeta};
use crate::normalize::Normalizer;
use crate::results::{GradCheckReport, GradientCheck, History, Results, RunResult, Setup};

/// A history whose loss is `loss`, whose cost is `loss + penalty`, whose
/// validation loss is `loss + gap` and whose accuracies are `acc` (training)
/// and `acc − acc_gap` (validation).
pub fn history(loss: &[f64], penalty: f64, gap: f64, acc: &[f64], acc_gap: f64) -> History {
    History {
        train_loss: loss.to_vec(),
        train_cost: loss.iter().map(|l| l + penalty).collect(),
        train_accuracy: acc.to_vec(),
        val_loss: loss.iter().map(|l| l + gap).collect(),
        val_cost: loss.iter().map(|l| l + gap + penalty).collect(),
        val_accuracy: acc.iter().map(|a| a - acc_gap).collect(),
    }
}

/// A finished run of `history.epochs()` epochs.
pub fn run(lambda: f64, eta: f64, history: History) -> RunResult {
    RunResult {
        run: Hyper {
            name: crate::config::run_name(lambda, eta),
            lambda,
            eta,
            n_epochs: history.epochs(),
            n_batch: 100,
            seed: 42,
            shuffle: false,
            options: Default::default(),
        },
        diverged: false,
        diverged_at_epoch: None,
        test_accuracy: history.val_accuracy.last().copied().unwrap_or(0.0) + 0.005,
        test_loss: 1.8,
        seconds: 1.5,
        history,
        best_epoch: None,
        stopped_at_epoch: None,
    }
}

/// The same run marked as diverged in epoch `history.epochs() + 1` of `n_epochs`.
pub fn diverged(mut r: RunResult, n_epochs: usize) -> RunResult {
    r.diverged = true;
    r.diverged_at_epoch = Some(r.history.epochs() + 1);
    r.run.n_epochs = n_epochs;
    r
}

fn gradcheck(lambda: f64) -> GradCheckReport {
    GradCheckReport {
        lambda,
        dims: 100,
        examples: 50,
        step: 1e-5,
        max_rel_w: 1.5e-7,
        mean_rel_w: 2.5e-9,
        max_rel_b: 3.5e-8,
        mean_rel_b: 4.5e-9,
    }
}

/// A results set holding `runs`, with the CIFAR-10 class names.
pub fn results(runs: Vec<RunResult>) -> Results {
    Results {
        onelayer_version: "test".into(),
        setup: Setup {
            data: "/data/cifar-10-batches-bin".into(),
            train_batches: vec!["data_batch_1".into()],
            validation: "data_batch_2".into(),
            n_train: 10000,
            n_val: 10000,
            n_test: 10000,
            class_names: [
                "airplane",
                "automobile",
                "bird",
                "cat",
                "deer",
                "dog",
                "frog",
                "horse",
                "ship",
                "truck",
            ]
            .map(String::from)
            .to_vec(),
            preprocessing: "x/255, standardised".into(),
            initialisation: "W ~ N(0, 0.01²), b = 0".into(),
            threads: 3,
            kernels: "avx512".into(),
        },
        gradient_check: GradientCheck {
            lambda_zero: gradcheck(0.0),
            lambda_positive: gradcheck(0.1),
        },
        runs,
    }
}

/// The report's four runs, hand-made: η = 0.1 oscillates, λ = 1 fits the
/// training set worse but narrows the gap.
pub fn report_like() -> Results {
    let smooth = |start: f64, end: f64| -> Vec<f64> {
        (0..10)
            .map(|i| end + (start - end) * (-(i as f64) / 3.0).exp())
            .collect()
    };
    let acc = |end: f64| -> Vec<f64> { (0..10).map(|i| end - 0.1 / (1.0 + i as f64)).collect() };
    let wild = vec![5.8, 3.9, 4.9, 4.8, 4.9, 3.8, 3.9, 4.7, 4.2, 3.5];
    results(vec![
        run(0.0, 0.1, history(&wild, 0.0, 2.0, &acc(0.38), 0.12)),
        run(
            0.0,
            0.001,
            history(&smooth(2.0, 1.6), 0.0, 0.18, &acc(0.46), 0.07),
        ),
        run(
            0.1,
            0.001,
            history(&smooth(2.0, 1.65), 0.1, 0.14, &acc(0.45), 0.06),
        ),
        run(
            1.0,
            0.001,
            history(&smooth(2.0, 1.8), 0.1, 0.06, &acc(0.40), 0.035),
        ),
    ])
}

/// A model file of `k` classes named `class0…`: rows of W that differ from each
/// other (a swapped member or row shows), weights small enough that folding the
/// normalisation into them loses little in f32, and a normalisation far from the
/// identity. Its run is `r` (λ 0.1, η 0.001, 3 epochs of 10, seed 7), trained on
/// 90 images of batch 1 with 10 held out, test accuracy 0.25.
pub fn model_file(k: usize) -> ModelFile {
    ModelFile {
        model: Model {
            w: Array2::from_shape_fn((k, D), |(i, j)| {
                ((i * 7 + j * 13) % 101) as f32 * 1e-3 - 0.05
            }),
            b: Array1::from_shape_fn(k, |i| i as f32 * 0.1 - 0.3),
        },
        normalizer: Normalizer {
            mean: Array1::from_shape_fn(D, |j| 0.3 + (j % 17) as f32 / 100.0),
            std: Array1::from_shape_fn(D, |j| 0.15 + (j % 11) as f32 / 50.0),
        },
        meta: ModelMeta::new(
            (0..k).map(|i| format!("class{i}")).collect(),
            Hyper {
                name: "r".into(),
                lambda: 0.1,
                eta: 0.001,
                n_epochs: 3,
                n_batch: 10,
                seed: 7,
                shuffle: false,
                options: Default::default(),
            },
            SplitConfig {
                train_batches: vec![1],
                validation: Validation::HoldOut(10),
            },
            DataFingerprint {
                source: "test".into(),
                train_batches: vec!["data_batch_1".into()],
                n_train: 90,
                train_records_md5: "ab".repeat(16),
            },
            Some(0.25),
        ),
    }
}
