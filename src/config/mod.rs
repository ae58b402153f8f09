//! Typed, validated settings. A [`RunConfig`] comes from a TOML file or from flags;
//! [`RunConfig::check`] turns it into [`Hyper`], the only form training accepts.
//! The options beyond the report's method are one carrier, [`OptionsConfig`]
//! (checked: [`RunOptions`]), in `options`; the split in `split`. Each setting's
//! own module checks it (`schedule`, `augment`, `loss`) with its own error, which
//! [`ConfigError`] wraps.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod options;
mod run;
mod run_file;
mod split;

pub use options::{OptionsConfig, RunOptions, parse_schedule};
pub use run::{Hyper, RunConfig, is_valid_run_name, run_name};
pub use split::{SplitConfig, Validation};

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
    /// A schedule's parameter is out of range.
    #[error(transparent)]
    Schedule(#[from] crate::schedule::ScheduleError),
    /// An augmentation setting is out of range.
    #[error(transparent)]
    Augment(#[from] crate::augment::AugmentError),
    /// A loss's parameter is out of range.
    #[error(transparent)]
    Loss(#[from] crate::loss::LossError),
}

pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> ConfigError {
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

/// Fails when `v` is not 0 but rounds to 0 (or to a subnormal, which loses its
/// digits) in f32, the precision training runs in: the run would silently be
/// one without it.
pub(crate) fn check_f32_nonzero(field: &str, v: f64) -> Result<(), ConfigError> {
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
}
