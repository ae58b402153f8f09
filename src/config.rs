//! Typed, validated settings. A [`RunConfig`] comes from a TOML file or from flags;
//! [`RunConfig::check`] turns it into [`Hyper`], the only form training accepts.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::augment::Augment;
use crate::loss::Loss;
use crate::schedule::Schedule;

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 42;

/// An invalid setting, named by its field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A field's value is out of range.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field, as written in the file or flag (`run[2].eta`, `--eta`).
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A config file could not be read.
    #[error("cannot read config {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A config file is not valid TOML for this schema.
    #[error("config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
}

fn invalid(field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// Reads a TOML file into any config type, with errors that name the file and,
/// for a parse error, the line and column.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text =
        crate::input::read_to_string(path, crate::input::limit::TEXT, "a configuration file")
            .map_err(|source| ConfigError::Io {
                path: path.to_path_buf(),
                source,
            })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim().replace('\n', " "),
    })
}

fn default_seed() -> u64 {
    DEFAULT_SEED
}

/// One training run's settings, as written by a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Name of the run and of its output folder; derived from λ and η when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// L2 penalty λ ≥ 0.
    pub lambda: f64,
    /// Learning rate η > 0.
    pub eta: f64,
    /// Number of epochs ≥ 1.
    pub n_epochs: usize,
    /// Mini-batch size, 1 ≤ n_batch ≤ number of training images.
    pub n_batch: usize,
    /// Seed of the weight initialisation and of shuffling.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Shuffle the training set before every epoch (off in the report).
    #[serde(default)]
    pub shuffle: bool,
    /// The loss minimised: `softmax` (the report's), `sigmoid` or `hinge`.
    #[serde(default)]
    pub loss: Loss,
    /// The learning-rate schedule (constant in the report).
    #[serde(default)]
    pub schedule: Schedule,
    /// Probability of flipping each training image left–right (0 in the report).
    #[serde(default)]
    pub flip: f64,
    /// Largest random shift of a training image, in pixels (0 in the report).
    #[serde(default)]
    pub translate: usize,
    /// Stop when the validation loss has not improved for this many epochs, and
    /// keep the weights of the best epoch (off in the report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<usize>,
    /// Label smoothing ε ∈ [0, 1) of the softmax loss: the steps fit the targets
    /// `(1 − ε) y + ε/K` instead of `y` (0 in the report).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub label_smoothing: f64,
    /// Exponent q ∈ (0, 1] of the generalized cross-entropy `(1 − p_y^q)/q` that
    /// the steps of a softmax run minimise instead of `−log p_y` (0: the
    /// cross-entropy itself, as in the report).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gce_q: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

/// The options beyond the report's method, all off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// The loss minimised.
    #[serde(default)]
    pub loss: Loss,
    /// The learning-rate schedule.
    #[serde(default)]
    pub schedule: Schedule,
    /// Augmentation of the training mini-batches.
    #[serde(default)]
    pub augment: Augment,
    /// Patience of early stopping on the validation loss, in epochs.
    #[serde(default)]
    pub early_stopping: Option<usize>,
    /// Label smoothing ε of the softmax loss (0: none).
    #[serde(default)]
    pub label_smoothing: f64,
    /// Exponent q of the generalized cross-entropy the softmax steps use (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub gce_q: f64,
}

impl RunOptions {
    /// The loss the gradient steps use: [`Loss::SmoothedSoftmax`] for a softmax
    /// run with label smoothing, [`Loss::Generalized`] for one with `gce_q`, else
    /// [`RunOptions::loss`]. Every loss reported (training, validation, test) is
    /// `loss`'s, so that runs with and without them compare.
    pub fn step_loss(&self) -> Loss {
        match self.loss {
            Loss::Softmax if self.label_smoothing > 0.0 => {
                Loss::SmoothedSoftmax(self.label_smoothing)
            }
            Loss::Softmax if self.gce_q > 0.0 => Loss::Generalized(self.gce_q),
            l => l,
        }
    }
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
            loss: Loss::Softmax,
            schedule: Schedule::Constant,
            flip: 0.0,
            translate: 0,
            early_stopping: None,
            label_smoothing: 0.0,
            gce_q: 0.0,
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
        for (name, v) in [
            ("lambda", self.lambda),
            ("eta", self.eta),
            ("label_smoothing", self.label_smoothing),
            ("gce_q", self.gce_q),
        ] {
            check_f32_nonzero(&field(name), v)?;
        }
        if self.n_epochs == 0 {
            return Err(invalid(&field("n_epochs"), "must be at least 1, got 0"));
        }
        if self.n_batch == 0 {
            return Err(invalid(&field("n_batch"), "must be at least 1, got 0"));
        }
        if self.n_batch > n_train {
            return Err(invalid(
                &field("n_batch"),
                format!(
                    "is {} but the training set has only {n_train} images",
                    self.n_batch
                ),
            ));
        }
        self.schedule.check(&field("schedule"), self.eta)?;
        let augment = Augment {
            flip: self.flip,
            translate: self.translate,
        };
        augment.check(prefix)?;
        if self.early_stopping == Some(0) {
            return Err(invalid(
                &field("early_stopping"),
                "must be at least 1, got 0",
            ));
        }
        self.check_label_smoothing(&field("label_smoothing"))?;
        self.check_gce_q(&field("gce_q"))?;
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
            options: RunOptions {
                loss: self.loss,
                schedule: self.schedule,
                augment,
                early_stopping: self.early_stopping,
                label_smoothing: self.label_smoothing,
                gce_q: self.gce_q,
            },
        })
    }

    /// Label smoothing must be in `[0, 1)`, and only softmax runs smooth.
    fn check_label_smoothing(&self, field: &str) -> Result<(), ConfigError> {
        let eps = self.label_smoothing;
        if !(0.0..1.0).contains(&eps) {
            return Err(invalid(field, format!("must be in [0, 1), got {eps}")));
        }
        if eps > 0.0 && self.loss != Loss::Softmax {
            return Err(invalid(
                field,
                format!(
                    "smooths the softmax loss only, but the loss is {}",
                    self.loss
                ),
            ));
        }
        Ok(())
    }

    /// The generalized cross-entropy's q must be in `[0, 1]` (0: off); it
    /// replaces the softmax loss's steps, so neither another loss nor label
    /// smoothing go with it, nor what follows the validation cross-entropy.
    fn check_gce_q(&self, field: &str) -> Result<(), ConfigError> {
        let q = self.gce_q;
        if !(0.0..=1.0).contains(&q) {
            return Err(invalid(field, format!("must be in [0, 1], got {q}")));
        }
        if q == 0.0 {
            return Ok(());
        }
        if self.loss != Loss::Softmax {
            return Err(invalid(
                field,
                format!(
                    "generalizes the softmax loss only, but the loss is {}",
                    self.loss
                ),
            ));
        }
        if self.label_smoothing > 0.0 {
            return Err(invalid(
                field,
                format!(
                    "cannot go with label smoothing (ε = {})",
                    self.label_smoothing
                ),
            ));
        }
        // Early stopping and the plateau schedule follow the validation
        // cross-entropy, which the generalized cross-entropy does not lower: under
        // it the cross-entropy rises from the first epochs while the accuracy
        // climbs, and both would stop the run far too early.
        if self.early_stopping.is_some() {
            return Err(invalid(
                field,
                "cannot go with early stopping, which follows the validation cross-entropy",
            ));
        }
        if matches!(self.schedule, Schedule::Plateau { .. }) {
            return Err(invalid(
                field,
                "cannot go with the plateau schedule, which follows the validation cross-entropy",
            ));
        }
        Ok(())
    }
}

/// Fails when `v` is not 0 but rounds to 0 (or to a subnormal, which loses its
/// digits) in f32, the precision training runs in: the run would silently be
/// one without it.
fn check_f32_nonzero(field: &str, v: f64) -> Result<(), ConfigError> {
    if v != 0.0 && ((v as f32).abs() < f32::MIN_POSITIVE) {
        return Err(invalid(
            field,
            format!(
                "{v:e} is too small for f32, the precision training runs in (it becomes {:e}); \
                 use a value of at least {:e}",
                v as f32,
                f32::MIN_POSITIVE
            ),
        ));
    }
    Ok(())
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

/// Where the validation set comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Validation {
    /// A whole training batch, `data_batch_N` (the report uses batch 2).
    Batch(u8),
    /// The last `N` images of the training batches, held out from training.
    HoldOut(usize),
}

/// Which batches train and which validate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitConfig {
    /// Training batches, numbers in 1..=5.
    pub train_batches: Vec<u8>,
    /// The validation set.
    pub validation: Validation,
}

impl Default for SplitConfig {
    /// The report's split: batch 1 trains, batch 2 validates.
    fn default() -> Self {
        SplitConfig {
            train_batches: vec![1],
            validation: Validation::Batch(2),
        }
    }
}

impl SplitConfig {
    /// Number of training images the split leaves (10 000 per official batch).
    pub fn n_train(&self) -> usize {
        let all = 10_000 * self.train_batches.len();
        match self.validation {
            Validation::HoldOut(n) => all.saturating_sub(n),
            Validation::Batch(_) => all,
        }
    }

    /// Validates batch numbers and that validation does not overlap training.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.train_batches.is_empty() {
            return Err(invalid("train_batches", "must name at least one batch"));
        }
        for (i, &b) in self.train_batches.iter().enumerate() {
            if !(1..=5).contains(&b) {
                return Err(invalid(
                    &format!("train_batches[{i}]"),
                    format!("must be in 1..=5, got {b}"),
                ));
            }
            if self.train_batches[..i].contains(&b) {
                return Err(invalid(
                    &format!("train_batches[{i}]"),
                    format!("batch {b} is listed twice"),
                ));
            }
        }
        match self.validation {
            Validation::Batch(b) if !(1..=5).contains(&b) => Err(invalid(
                "validation.batch",
                format!("must be in 1..=5, got {b}"),
            )),
            Validation::Batch(b) if self.train_batches.contains(&b) => Err(invalid(
                "validation.batch",
                format!("batch {b} is also a training batch"),
            )),
            Validation::HoldOut(0) => Err(invalid("validation.hold_out", "must be at least 1")),
            Validation::HoldOut(n) if n >= 10_000 * self.train_batches.len() => Err(invalid(
                "validation.hold_out",
                format!(
                    "{n} leaves no training images out of {}",
                    10_000 * self.train_batches.len()
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// An experiment file: a split and a list of runs.
///
/// ```toml
/// [split]
/// train_batches = [1]
/// validation = { batch = 2 }
///
/// [[run]]
/// lambda = 0.1
/// eta = 0.001
/// n_epochs = 40
/// n_batch = 100
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// The split; the report's when absent.
    #[serde(default)]
    pub split: SplitConfig,
    /// The runs, at least one.
    pub run: Vec<RunConfig>,
}

impl ExperimentConfig {
    /// The report's four experiments on the report's split.
    pub fn report() -> ExperimentConfig {
        ExperimentConfig {
            split: SplitConfig::default(),
            run: vec![
                RunConfig::report(0.0, 0.1),
                RunConfig::report(0.0, 0.001),
                RunConfig::report(0.1, 0.001),
                RunConfig::report(1.0, 0.001),
            ],
        }
    }

    /// Reads and parses a TOML experiment file (not yet checked).
    pub fn from_file(path: &Path) -> Result<ExperimentConfig, ConfigError> {
        read_toml(path)
    }

    /// Checks the split and every run against the training set's size; returns the
    /// checked runs. Run names must be distinct, since each names a folder.
    pub fn check(&self, n_train: usize) -> Result<Vec<Hyper>, ConfigError> {
        self.split.check()?;
        if self.run.is_empty() {
            return Err(invalid("run", "at least one [[run]] is needed"));
        }
        let mut out: Vec<Hyper> = Vec::with_capacity(self.run.len());
        for (i, r) in self.run.iter().enumerate() {
            let h = r.check(&format!("run[{i}]."), n_train)?;
            if out.iter().any(|o| o.name == h.name) {
                return Err(invalid(
                    &format!("run[{i}].name"),
                    format!(
                        "{:?} is used by another run; give each run its own name",
                        h.name
                    ),
                ));
            }
            out.push(h);
        }
        Ok(out)
    }

    /// Number of training images the split leaves.
    pub fn n_train(&self) -> usize {
        self.split.n_train()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn bad_values_name_their_field() {
        let mut r = RunConfig::report(0.0, 0.0);
        assert!(
            r.check("--", 100)
                .unwrap_err()
                .to_string()
                .starts_with("--eta")
        );
        r.eta = f64::NAN;
        assert!(
            r.check("--", 100)
                .unwrap_err()
                .to_string()
                .starts_with("--eta")
        );
        r.eta = 0.1;
        r.lambda = -1.0;
        assert!(
            r.check("--", 100)
                .unwrap_err()
                .to_string()
                .starts_with("--lambda")
        );
        r.lambda = 1e39;
        assert!(
            r.check("--", 100)
                .unwrap_err()
                .to_string()
                .starts_with("--lambda")
        );
        r.lambda = f64::INFINITY;
        assert!(
            r.check("--", 100)
                .unwrap_err()
                .to_string()
                .starts_with("--lambda")
        );
        // Positive, but 0 or subnormal in f32.
        for (lambda, eta) in [(1e-46, 0.1), (0.0, 1e-46), (0.0, 1e-40)] {
            (r.lambda, r.eta) = (lambda, eta);
            let e = r.check("--", 100).unwrap_err().to_string();
            let name = if lambda > 0.0 { "--lambda" } else { "--eta" };
            assert!(
                e.starts_with(name) && e.contains("too small for f32"),
                "{e}"
            );
        }
        (r.eta, r.gce_q) = (0.1, 1e-50);
        let e = r.check("--", 100).unwrap_err().to_string();
        assert!(e.starts_with("--gce_q") && e.contains("f32"), "{e}");
        r.gce_q = 0.0;
        r.eta = 1e-30;
        r.check("--", 100).unwrap();
        r.eta = 0.1;
        r.lambda = 0.0;
        r.n_batch = 0;
        assert!(
            r.check("--", 100)
                .unwrap_err()
                .to_string()
                .starts_with("--n_batch")
        );
        r.n_batch = 101;
        let e = r.check("--", 100).unwrap_err().to_string();
        assert!(e.starts_with("--n_batch") && e.contains("100"), "{e}");
        r.n_batch = 100;
        r.n_epochs = 0;
        assert!(
            r.check("--", 100)
                .unwrap_err()
                .to_string()
                .starts_with("--n_epochs")
        );
        r.n_epochs = 1;
        for (eps, loss) in [
            (1.0, Loss::Softmax),
            (-0.1, Loss::Softmax),
            (f64::NAN, Loss::Softmax),
            (0.1, Loss::Hinge),
        ] {
            r.label_smoothing = eps;
            r.loss = loss;
            let e = r.check("--", 100).unwrap_err().to_string();
            assert!(e.starts_with("--label_smoothing"), "{e}");
        }
        r.loss = Loss::Softmax;
        r.label_smoothing = 0.3;
        let h = r.check("--", 100).unwrap();
        assert_eq!(h.options.step_loss(), Loss::SmoothedSoftmax(0.3));
        assert_eq!(h.options.loss, Loss::Softmax);
        r.label_smoothing = 0.0;
        assert_eq!(
            r.check("--", 100).unwrap().options.step_loss(),
            Loss::Softmax
        );
        for (q, loss, eps) in [
            (1.5, Loss::Softmax, 0.0),
            (-0.1, Loss::Softmax, 0.0),
            (f64::NAN, Loss::Softmax, 0.0),
            (0.5, Loss::Sigmoid, 0.0),
            (0.5, Loss::Softmax, 0.2),
        ] {
            (r.gce_q, r.loss, r.label_smoothing) = (q, loss, eps);
            let e = r.check("--", 100).unwrap_err().to_string();
            assert!(e.starts_with("--gce_q"), "{e}");
        }
        (r.gce_q, r.loss, r.label_smoothing) = (0.5, Loss::Softmax, 0.0);
        r.early_stopping = Some(3);
        let e = r.check("--", 100).unwrap_err().to_string();
        assert!(
            e.starts_with("--gce_q") && e.contains("early stopping"),
            "{e}"
        );
        r.early_stopping = None;
        r.schedule = Schedule::Plateau {
            factor: 10.0,
            patience: 3,
        };
        let e = r.check("--", 100).unwrap_err().to_string();
        assert!(e.starts_with("--gce_q") && e.contains("plateau"), "{e}");
        r.schedule = Schedule::Constant;
        (r.gce_q, r.loss, r.label_smoothing) = (0.5, Loss::Softmax, 0.0);
        let h = r.check("--", 100).unwrap();
        assert_eq!(h.options.step_loss(), Loss::Generalized(0.5));
        assert_eq!(h.options.loss, Loss::Softmax);
        r.gce_q = 0.0;
        r.name = Some("../escape".into());
        assert!(
            r.check("--", 100)
                .unwrap_err()
                .to_string()
                .starts_with("--name")
        );
    }

    #[test]
    fn toml_file_errors_name_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.toml");
        std::fs::write(
            &p,
            "[[run]]\nlambda = 0.1\neta = -1.0\nn_epochs = 2\nn_batch = 10\n",
        )
        .unwrap();
        let e = ExperimentConfig::from_file(&p).unwrap();
        assert_eq!(
            e.check(10_000).unwrap_err().to_string(),
            "run[0].eta: must be a finite number > 0, got -1"
        );
        std::fs::write(
            &p,
            "[[run]]\nlambda = nan\neta = 1.0\nn_epochs = 2\nn_batch = 10\n",
        )
        .unwrap();
        let e = ExperimentConfig::from_file(&p).unwrap();
        assert!(
            e.check(10_000)
                .unwrap_err()
                .to_string()
                .starts_with("run[0].lambda")
        );
        std::fs::write(&p, "[[run]]\nlambda = 0.1\netta = 1.0\n").unwrap();
        let e = ExperimentConfig::from_file(&p).unwrap_err().to_string();
        assert!(e.contains("x.toml") && e.contains("etta"), "{e}");
    }

    #[test]
    fn split_checks() {
        let mut s = SplitConfig {
            train_batches: vec![1, 2],
            validation: Validation::Batch(2),
        };
        assert!(
            s.check()
                .unwrap_err()
                .to_string()
                .starts_with("validation.batch")
        );
        s.validation = Validation::HoldOut(1000);
        s.check().unwrap();
        s.train_batches = vec![6];
        assert!(
            s.check()
                .unwrap_err()
                .to_string()
                .starts_with("train_batches[0]")
        );
        let s = SplitConfig {
            train_batches: vec![1],
            validation: Validation::HoldOut(10_000),
        };
        assert!(s.check().is_err());
    }
}
