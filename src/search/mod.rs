//! Hyper-parameter search: a grid, or random draws, over λ, η, the mini-batch
//! size, the learning-rate schedule, label smoothing and the generalized
//! cross-entropy's q, around a base run.
//!
//! Runs train in parallel, one per worker thread and one thread per run (the
//! matrix products are single-threaded), so `threads` workers use `threads` cores.
//! Each finished run's validation result is appended to `search.jsonl` and
//! `search.csv` (both rewritten atomically) and its weights saved under
//! `runs/<name>/`, so an interrupted search keeps what it found: started again
//! with the same file and folder, it trains only the runs not yet recorded. The
//! best run is picked on validation accuracy alone; only that run meets the test
//! set, once, when the search is complete.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Hyper, RunConfig, SplitConfig};
use crate::io::OutputError;

mod records;
mod runner;
mod space;

pub use records::{RECORDS, SearchRecord, TABLE, pick_best};
pub use runner::{BEST, SearchOptions, read_npy, run_search};
pub use space::{MAX_RUNS, Space};
use space::{check_grid_size, grid_point};

/// A search file (`onelayer search --config grid.toml`).
///
/// ```toml
/// [split]
/// train_batches = [1, 2, 3, 4, 5]
/// validation = { hold_out = 1000 }
///
/// [base]            # every field of a [[run]]; λ, η, n_batch, schedule are searched
/// lambda = 0.0
/// eta = 0.01
/// n_epochs = 40
/// n_batch = 100
/// shuffle = true
/// flip = 0.5
///
/// [space]
/// lambda = [0.0, 0.001, 0.01]
/// eta = [0.005, 0.01]
/// n_batch = [100]                       # optional: the base's when absent
/// schedule = ["constant", { step = { factor = 10.0, every = 15 } }]   # optional
/// label_smoothing = [0.0, 0.3]          # optional
/// gce_q = [0.0, 0.5]                    # optional
///
/// [random]          # optional: draw `n` settings instead of the whole grid
/// n = 20
/// seed = 1
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    /// The split; the report's when absent.
    #[serde(default)]
    pub split: SplitConfig,
    /// The settings every run starts from.
    pub base: RunConfig,
    /// The values searched.
    pub space: Space,
    /// Random search instead of the grid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random: Option<RandomSearch>,
}

/// A random search.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomSearch {
    /// Number of settings drawn, ≥ 1.
    pub n: usize,
    /// Seed of the draws.
    pub seed: u64,
}

/// The search's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSummary {
    /// Every finished run, in the order of the candidates.
    pub records: Vec<SearchRecord>,
    /// Candidates in the search.
    pub candidates: usize,
    /// The best run on validation, with its test accuracy, once every candidate
    /// has run.
    pub best: Option<BestRun>,
}

/// The run picked on validation, and its one test result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestRun {
    /// Its record.
    pub record: SearchRecord,
    /// Its accuracy on the test set, as a fraction.
    pub test_accuracy: f64,
    /// Its loss on the test set.
    pub test_loss: f64,
}

/// An error of a search.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// An invalid setting.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Writing an output failed.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// A previous search's record does not fit this search.
    #[error(
        "{path} line {line}: {reason}; resume with the same search file or use another output folder"
    )]
    Resume {
        /// The record file.
        path: PathBuf,
        /// Its line (from 1).
        line: usize,
        /// What does not fit.
        reason: String,
    },
    /// A file of a previous search could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        reason: String,
    },
}

impl SearchConfig {
    /// Reads and parses a TOML search file (not yet checked).
    pub fn from_file(path: &Path) -> Result<SearchConfig, ConfigError> {
        crate::config::read_toml(path)
    }

    /// The runs of the search, named `run000`, `run001`, ..., each checked
    /// against the training set's size `n_train`: the grid's points in order (the
    /// last axis of `Space::axes` varying fastest), or the random draws.
    pub fn candidates(&self, n_train: usize) -> Result<Vec<RunConfig>, ConfigError> {
        let runs = self.checked_candidates(n_train)?;
        Ok(runs.into_iter().map(|(run, _)| run).collect())
    }

    /// [`SearchConfig::candidates`], each with the hyper-parameters its check gave.
    pub fn checked_candidates(
        &self,
        n_train: usize,
    ) -> Result<Vec<(RunConfig, Hyper)>, ConfigError> {
        self.split.check()?;
        let bad = |field: &str, reason: &str| ConfigError::Invalid {
            field: field.into(),
            reason: reason.into(),
        };
        if self.space.lambda.is_empty() {
            return Err(bad("space.lambda", "must list at least one value"));
        }
        if self.space.eta.is_empty() {
            return Err(bad("space.eta", "must list at least one value"));
        }
        for (name, list) in [("lambda", &self.space.lambda), ("eta", &self.space.eta)] {
            if let Some(i) = list.iter().position(|v| !v.is_finite()) {
                return Err(bad(
                    &format!("space.{name}[{i}]"),
                    "must be a finite number",
                ));
            }
        }
        let axes = self.space.axes(&self.base);
        let runs: Vec<RunConfig> = match self.random {
            None => {
                let sizes: Vec<_> = axes.iter().map(|a| (a.field(), a.len())).collect();
                let points = check_grid_size(&sizes)?;
                (0..points)
                    .map(|p| grid_point(&axes, &self.base, p))
                    .collect()
            }
            Some(r) if r.n == 0 => return Err(bad("random.n", "must be at least 1, got 0")),
            Some(r) if r.n > MAX_RUNS => {
                return Err(bad(
                    "random.n",
                    &format!("must be at most {MAX_RUNS}, got {}", r.n),
                ));
            }
            Some(r) => {
                let mut rng = rand_pcg::Pcg64::seed_from_u64(r.seed);
                (0..r.n)
                    .map(|_| {
                        let mut run = self.base.clone();
                        axes.iter().for_each(|a| a.draw(&mut run, &mut rng));
                        run
                    })
                    .collect()
            }
        };
        runs.into_iter()
            .enumerate()
            .map(|(i, mut run)| {
                run.name = Some(format!("run{i:03}"));
                let hyper = run.check(&format!("run{i:03}."), n_train)?;
                Ok((run, hyper))
            })
            .collect()
    }
}
