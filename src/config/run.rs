//! One training run's settings: [`RunConfig`] as written, [`Hyper`] once checked.

use serde::{Deserialize, Serialize};

use super::{ConfigError, DEFAULT_SEED, OptionsConfig, RunOptions, check_f32_nonzero, invalid};

/// One training run's settings, as written by a user: the fields below and,
/// beside them at the same level, those of [`OptionsConfig`]. A field that is
/// neither is named before any missing one (`etta` for `eta`); see `run_file`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunConfig {
    /// Name of the run and of its output folder; derived from λ and η when absent.
    pub name: Option<String>,
    /// L2 penalty λ ≥ 0.
    pub lambda: f64,
    /// Learning rate η > 0.
    pub eta: f64,
    /// Number of epochs ≥ 1.
    pub n_epochs: usize,
    /// Mini-batch size, 1 ≤ n_batch ≤ number of training images.
    pub n_batch: usize,
    /// Seed of the weight initialisation and of shuffling (default 42).
    pub seed: u64,
    /// Shuffle the training set before every epoch (off in the report).
    pub shuffle: bool,
    /// The loss, schedule, augmentation and early stopping, written beside the
    /// fields above (all off in the report).
    #[serde(flatten)]
    pub options: OptionsConfig,
}

/// Checked hyper-parameters of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// Name of the run.
    pub name: String,
    /// L2 penalty λ ≥ 0.
    pub lambda: f64,
    /// Learning rate η > 0.
    pub eta: f64,
    /// Number of epochs ≥ 1.
    pub n_epochs: usize,
    /// Mini-batch size ≥ 1.
    pub n_batch: usize,
    /// Seed of the initialisation and of shuffling.
    pub seed: u64,
    /// Whether to shuffle before every epoch.
    pub shuffle: bool,
    /// Loss, schedule, augmentation and early stopping (the report's when absent).
    #[serde(default)]
    pub options: RunOptions,
}

/// The name a run gets from its settings: `lambda0.1_eta0.001`.
pub fn run_name(lambda: f64, eta: f64) -> String {
    format!("lambda{}_eta{}", compact(lambda), compact(eta))
}

/// A number as written (`0.001`), or in exponent form (`1e-12`) when it is long.
fn compact(v: f64) -> String {
    let plain = v.to_string();
    if plain.len() > 10 {
        format!("{v:e}")
    } else {
        plain
    }
}

impl RunConfig {
    /// The report's setting (λ, η) with 40 epochs of mini-batches of 100.
    pub fn report(lambda: f64, eta: f64) -> RunConfig {
        RunConfig {
            name: None,
            lambda,
            eta,
            n_epochs: 40,
            n_batch: 100,
            seed: DEFAULT_SEED,
            shuffle: false,
            options: OptionsConfig::default(),
        }
    }

    /// Validates the settings; `prefix` names the run in errors (`run[1].` or `--`),
    /// `n_train` is the number of training images.
    pub fn check(&self, prefix: &str, n_train: usize) -> Result<Hyper, ConfigError> {
        let field = |f: &str| format!("{prefix}{f}");
        // Training runs in f32: a value must stay finite there too.
        let finite = |v: f64| (v as f32).is_finite();
        if !finite(self.lambda) || self.lambda < 0.0 {
            return Err(invalid(
                &field("lambda"),
                format!("must be a finite number ≥ 0, got {}", self.lambda),
            ));
        }
        if !finite(self.eta) || self.eta <= 0.0 {
            return Err(invalid(
                &field("eta"),
                format!("must be a finite number > 0, got {}", self.eta),
            ));
        }
        for (name, v) in [("lambda", self.lambda), ("eta", self.eta)] {
            check_f32_nonzero(&field(name), v)?;
        }
        self.options.check_precision(prefix)?;
        if self.n_epochs == 0 {
            return Err(invalid(&field("n_epochs"), "must be at least 1, got 0"));
        }
        if self.n_batch == 0 {
            return Err(invalid(&field("n_batch"), "must be at least 1, got 0"));
        }
        if self.n_batch > n_train {
            let reason = format!(
                "is {} but the training set has only {n_train} images",
                self.n_batch
            );
            return Err(invalid(&field("n_batch"), reason));
        }
        let options = self.options.check(prefix, self.eta)?;
        let name = match &self.name {
            Some(n) => check_name(&field("name"), n)?,
            None => run_name(self.lambda, self.eta),
        };
        Ok(Hyper {
            name,
            lambda: self.lambda,
            eta: self.eta,
            n_epochs: self.n_epochs,
            n_batch: self.n_batch,
            seed: self.seed,
            shuffle: self.shuffle,
            options,
        })
    }
}

/// Whether `name` can name a run: a run name becomes a folder name (and part of
/// a URL in the report), so it must be a single plain path component made of
/// ASCII letters, digits, `_`, `-` and `.`, and neither `.` nor `..`.
pub fn is_valid_run_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn check_name(field: &str, name: &str) -> Result<String, ConfigError> {
    if is_valid_run_name(name) {
        Ok(name.to_string())
    } else {
        Err(invalid(
            field,
            format!("{name:?} must be non-empty and use only letters, digits, '_', '-' and '.'"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ExperimentConfig;
    use crate::loss::Loss;
    use crate::schedule::Schedule;

    #[test]
    fn report_settings_check() {
        let e = ExperimentConfig::report();
        let runs = e.check(e.n_train()).unwrap();
        assert_eq!(runs.len(), 4);
        assert_eq!(runs[0].name, "lambda0_eta0.1");
        assert_eq!(runs[3].name, "lambda1_eta0.001");
        assert_eq!(run_name(0.0, 1e-12), "lambda0_eta1e-12");
        assert_eq!(run_name(1e300, 1e30), "lambda1e300_eta1e30");
    }

    /// A change to a run.
    type Change = fn(&mut RunConfig);

    /// The report's run (λ = 0, η = 0.1) with `change`, checked against 100
    /// training images.
    fn checked(change: Change) -> Result<Hyper, ConfigError> {
        let mut r = RunConfig::report(0.0, 0.1);
        change(&mut r);
        r.check("--", 100)
    }

    /// A plateau schedule.
    const PLATEAU: Schedule = Schedule::Plateau {
        factor: 10.0,
        patience: 3,
    };

    #[test]
    fn bad_values_name_their_field() {
        // Each case: the change, the start of the error and words it holds.
        let cases: [(Change, &str, &[&str]); 24] = [
            (|r| r.eta = 0.0, "--eta", &[]),
            (|r| r.eta = f64::NAN, "--eta", &[]),
            (|r| r.lambda = -1.0, "--lambda", &[]),
            (|r| r.lambda = 1e39, "--lambda", &[]),
            (|r| r.lambda = f64::INFINITY, "--lambda", &[]),
            // Positive, but 0 or subnormal in f32.
            (|r| r.lambda = 1e-46, "--lambda", &["too small for f32"]),
            (|r| r.eta = 1e-46, "--eta", &["too small for f32"]),
            (|r| r.eta = 1e-40, "--eta", &["too small for f32"]),
            (|r| r.options.gce_q = 1e-50, "--gce_q", &["f32"]),
            (|r| r.n_batch = 0, "--n_batch", &[]),
            (|r| r.n_batch = 101, "--n_batch", &["100"]),
            (|r| r.n_epochs = 0, "--n_epochs", &[]),
            (
                |r| r.options.label_smoothing = 1.0,
                "--label_smoothing",
                &[],
            ),
            (
                |r| r.options.label_smoothing = -0.1,
                "--label_smoothing",
                &[],
            ),
            (
                |r| r.options.label_smoothing = f64::NAN,
                "--label_smoothing",
                &[],
            ),
            (
                |r| (r.options.label_smoothing, r.options.loss) = (0.1, Loss::Hinge),
                "--label_smoothing",
                &[],
            ),
            (|r| r.options.gce_q = 1.5, "--gce_q", &[]),
            (|r| r.options.gce_q = -0.1, "--gce_q", &[]),
            (|r| r.options.gce_q = f64::NAN, "--gce_q", &[]),
            (
                |r| (r.options.gce_q, r.options.loss) = (0.5, Loss::Sigmoid),
                "--gce_q",
                &[],
            ),
            (
                |r| (r.options.gce_q, r.options.label_smoothing) = (0.5, 0.2),
                "--gce_q",
                &[],
            ),
            (
                |r| (r.options.gce_q, r.options.early_stopping) = (0.5, Some(3)),
                "--gce_q",
                &["early stopping"],
            ),
            (
                |r| (r.options.gce_q, r.options.schedule) = (0.5, PLATEAU),
                "--gce_q",
                &["plateau"],
            ),
            (|r| r.name = Some("../escape".into()), "--name", &[]),
        ];
        for (i, (change, start, parts)) in cases.into_iter().enumerate() {
            let e = match checked(change) {
                Err(e) => e.to_string(),
                Ok(h) => panic!("case {i}: {h:?}"),
            };
            let ok = e.starts_with(start) && parts.iter().all(|p| e.contains(p));
            assert!(ok, "case {i}: {e}");
        }
    }

    #[test]
    fn good_values_check_and_step_on_their_loss() {
        assert!(checked(|r| r.eta = 1e-30).is_ok());
        // The loss each run steps on; every one reports the softmax loss.
        let cases: [(Change, Loss); 3] = [
            (
                |r| r.options.label_smoothing = 0.3,
                Loss::SmoothedSoftmax(0.3),
            ),
            (|_| {}, Loss::Softmax),
            (|r| r.options.gce_q = 0.5, Loss::Generalized(0.5)),
        ];
        for (i, (change, loss)) in cases.into_iter().enumerate() {
            let h = checked(change).unwrap_or_else(|e| panic!("case {i}: {e}"));
            assert_eq!(h.options.step_loss(), loss, "case {i}");
            assert_eq!(h.options.reported_loss(), Loss::Softmax, "case {i}");
        }
    }
}
