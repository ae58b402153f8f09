//! What a run produces, as saved in `results.json`: the schema that the plots and
//! the report read back.

use serde::{Deserialize, Serialize};

use crate::config::Hyper;
use crate::data::Prepared;

pub mod stage;
pub use stage::{
    Experiment, MODEL_FILE, RUN_FILES, check_targets, stage_npy, stage_outputs, write_outputs,
};

/// Loss, cost and accuracy of one data set after every epoch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Mean cross-entropy on the whole training set, one value per epoch.
    pub train_loss: Vec<f64>,
    /// Training loss plus λ‖W‖², one value per epoch.
    pub train_cost: Vec<f64>,
    /// Training accuracy as a fraction, one value per epoch.
    pub train_accuracy: Vec<f64>,
    /// Mean cross-entropy on the whole validation set, one value per epoch.
    pub val_loss: Vec<f64>,
    /// Validation loss plus λ‖W‖², one value per epoch.
    pub val_cost: Vec<f64>,
    /// Validation accuracy as a fraction, one value per epoch.
    pub val_accuracy: Vec<f64>,
}

impl History {
    /// Number of epochs recorded.
    pub fn epochs(&self) -> usize {
        self.train_loss.len()
    }

    /// Appends one epoch's metrics.
    pub fn push(&mut self, train: Evaluation, val: Evaluation) {
        self.train_loss.push(train.loss);
        self.train_cost.push(train.cost);
        self.train_accuracy.push(train.accuracy);
        self.val_loss.push(val.loss);
        self.val_cost.push(val.cost);
        self.val_accuracy.push(val.accuracy);
    }

    /// Checks that all six series have the same length and hold finite values.
    pub fn check(&self) -> Result<(), String> {
        let series = [
            ("train_loss", &self.train_loss),
            ("train_cost", &self.train_cost),
            ("train_accuracy", &self.train_accuracy),
            ("val_loss", &self.val_loss),
            ("val_cost", &self.val_cost),
            ("val_accuracy", &self.val_accuracy),
        ];
        let n = self.train_loss.len();
        for (name, s) in series {
            if s.len() != n {
                return Err(format!(
                    "history.{name} has {} values, expected {n}",
                    s.len()
                ));
            }
            if let Some(i) = s.iter().position(|v| !v.is_finite()) {
                return Err(format!("history.{name}[{i}] is not a finite number"));
            }
        }
        for (name, s) in [
            ("train_accuracy", &self.train_accuracy),
            ("val_accuracy", &self.val_accuracy),
        ] {
            if let Some(i) = s.iter().position(|v| !(0.0..=1.0).contains(v)) {
                return Err(format!(
                    "history.{name}[{i}] is {}, expected a fraction in [0, 1]",
                    s[i]
                ));
            }
        }
        Ok(())
    }
}

pub use crate::model::Evaluation;
/// The former name of [`Evaluation`].
pub type Metrics = Evaluation;

/// One training run: its settings, its history and its test result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The run's settings: name (also its folder's, `lambda0_eta0.1`), λ, η,
    /// epochs, mini-batch size, seed, shuffling and options, as the config gave them.
    #[serde(flatten)]
    pub run: Hyper,
    /// Whether the cost became non-finite.
    pub diverged: bool,
    /// The epoch (1-based) in which the cost became non-finite, if it did.
    /// The history then holds the epochs before it, and the weights are those
    /// of the last finite epoch.
    pub diverged_at_epoch: Option<usize>,
    /// Accuracy on the test set, as a fraction.
    pub test_accuracy: f64,
    /// Mean cross-entropy on the test set.
    pub test_loss: f64,
    /// Wall-clock seconds spent training and evaluating this run.
    pub seconds: f64,
    /// Metrics after every epoch.
    pub history: History,
    /// With early stopping: the epoch (from 1) whose weights were kept and tested.
    #[serde(default)]
    pub best_epoch: Option<usize>,
    /// With early stopping: the last epoch trained, when before `n_epochs`.
    #[serde(default)]
    pub stopped_at_epoch: Option<usize>,
}

/// Relative errors between analytic and numerical gradients, for one λ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradCheckReport {
    /// The λ of the check.
    pub lambda: f64,
    /// Number of input dimensions checked.
    pub dims: usize,
    /// Number of examples checked.
    pub examples: usize,
    /// Step of the centred differences.
    pub step: f64,
    /// Largest relative error over the entries of W.
    pub max_rel_w: f64,
    /// Mean relative error over the entries of W.
    pub mean_rel_w: f64,
    /// Largest relative error over the entries of b.
    pub max_rel_b: f64,
    /// Mean relative error over the entries of b.
    pub mean_rel_b: f64,
}

impl GradCheckReport {
    /// The largest relative error over W and b.
    pub fn max_rel(&self) -> f64 {
        self.max_rel_w.max(self.max_rel_b)
    }
}

/// The gradient check of a result, with λ = 0 and with λ > 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradientCheck {
    /// With λ = 0.
    pub lambda_zero: GradCheckReport,
    /// With λ > 0.
    pub lambda_positive: GradCheckReport,
}

impl GradientCheck {
    /// Both reports, λ = 0 first.
    pub fn reports(&self) -> [&GradCheckReport; 2] {
        [&self.lambda_zero, &self.lambda_positive]
    }
}

/// How the data was split and prepared: the report's "setup".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setup {
    /// Where the data was read from.
    pub data: String,
    /// The batches that trained the model.
    pub train_batches: Vec<String>,
    /// Where the validation set came from (a batch, or images held out of training).
    pub validation: String,
    /// Number of training, validation and test images.
    pub n_train: usize,
    /// Number of validation images.
    pub n_val: usize,
    /// Number of test images.
    pub n_test: usize,
    /// Class names, in label order.
    pub class_names: Vec<String>,
    /// The pre-processing applied.
    pub preprocessing: String,
    /// The weight initialisation.
    pub initialisation: String,
    /// Number of worker threads used.
    pub threads: usize,
    /// The kernels' instruction set (`avx512+amx`, `avx512`, `avx2` or `portable`):
    /// results on different ones differ in the last bits. Empty in results written
    /// before it was recorded.
    #[serde(default)]
    pub kernels: String,
}

impl Setup {
    /// The setup of training on `data` with `threads` worker threads.
    pub fn of(data: &Prepared, threads: usize) -> Setup {
        Setup {
            data: data.fingerprint.source.clone(),
            train_batches: data.fingerprint.train_batches.clone(),
            validation: data.validation.clone(),
            n_train: data.train.len(),
            n_val: data.val.len(),
            n_test: data.test.len(),
            class_names: data.class_names.clone(),
            preprocessing: crate::data::normalize::PREPROCESSING.into(),
            initialisation: format!(
                "W ~ N(0, {}²), b = 0, PCG64 seeded per run",
                crate::model::INIT_STD
            ),
            threads,
            kernels: crate::kernels::Isa::chosen().name().into(),
        }
    }
}

/// Everything `onelayer reproduce` computes, as written to `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The version of onelayer that wrote it.
    pub onelayer_version: String,
    /// Data, split and pre-processing.
    pub setup: Setup,
    /// Gradient checks, with λ = 0 and with λ > 0.
    pub gradient_check: GradientCheck,
    /// The runs, in order.
    pub runs: Vec<RunResult>,
}

impl Results {
    /// Checks what serde cannot: lengths, finiteness and consistency.
    pub fn check(&self) -> Result<(), String> {
        for (i, run) in self.runs.iter().enumerate() {
            let at = |m: String| format!("runs[{i}] ({}): {m}", run.run.name);
            run.history.check().map_err(at)?;
            let expected = match (run.diverged_at_epoch, run.stopped_at_epoch) {
                (Some(e), _) => e.saturating_sub(1),
                (None, Some(e)) => e,
                (None, None) => run.run.n_epochs,
            };
            if run.history.epochs() != expected {
                return Err(at(format!(
                    "history has {} epochs, expected {expected}",
                    run.history.epochs()
                )));
            }
            if run.diverged != run.diverged_at_epoch.is_some() {
                return Err(at("diverged and diverged_at_epoch disagree".into()));
            }
            for (field, v) in [
                ("lambda", run.run.lambda),
                ("eta", run.run.eta),
                ("test_accuracy", run.test_accuracy),
                ("test_loss", run.test_loss),
                ("seconds", run.seconds),
            ] {
                if !v.is_finite() {
                    return Err(at(format!("{field} is not a finite number")));
                }
            }
            let ranges = [
                (
                    "lambda",
                    run.run.lambda,
                    run.run.lambda >= 0.0,
                    "a number ≥ 0",
                ),
                ("eta", run.run.eta, run.run.eta > 0.0, "a number > 0"),
                (
                    "test_accuracy",
                    run.test_accuracy,
                    (0.0..=1.0).contains(&run.test_accuracy),
                    "a fraction in [0, 1]",
                ),
                (
                    "test_loss",
                    run.test_loss,
                    run.test_loss >= 0.0,
                    "a number ≥ 0",
                ),
                ("seconds", run.seconds, run.seconds >= 0.0, "a number ≥ 0"),
            ];
            if let Some((field, v, _, expected)) = ranges.iter().find(|r| !r.2) {
                return Err(at(format!("{field} is {v}, expected {expected}")));
            }
        }
        Ok(())
    }
}

impl Results {
    /// A fixed-width table: each run's final training and validation loss and
    /// accuracy, and its test accuracy.
    pub fn summary_table(&self) -> String {
        let mut out = format!(
            "{:<22} {:>6} {:>7} {:>10} {:>9} {:>10} {:>9} {:>9}\n",
            "run", "lambda", "eta", "train loss", "train acc", "val loss", "val acc", "test acc"
        );
        for r in &self.runs {
            let h = &r.history;
            // A run that diverged in its first epoch has no finished epoch to show.
            let loss = |v: &[f64]| v.last().map_or("—".into(), |x| format!("{x:.4}"));
            let acc = |v: &[f64]| {
                v.last()
                    .map_or("—".into(), |x| format!("{:.2}%", 100.0 * x))
            };
            let note = match r.diverged_at_epoch {
                Some(e) => format!("  diverged in epoch {e}"),
                None => String::new(),
            };
            out += &format!(
                "{:<22} {:>6} {:>7} {:>10} {:>9} {:>10} {:>9} {:>8.2}%{note}\n",
                r.run.name,
                r.run.lambda,
                r.run.eta,
                loss(&h.train_loss),
                acc(&h.train_accuracy),
                loss(&h.val_loss),
                acc(&h.val_accuracy),
                100.0 * r.test_accuracy,
            );
        }
        out
    }
}
