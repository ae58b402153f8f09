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

use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, RunConfig, SplitConfig};
use crate::io::OutputError;
use crate::schedule::Schedule;

mod runner;

pub use runner::{BEST, RECORDS, SearchOptions, TABLE, pick_best, read_npy, run_search};

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

/// The values searched. In a random search, λ and η are drawn log-uniformly
/// between the smallest and largest listed value (uniformly from the list when it
/// holds 0), the mini-batch size, schedule, label smoothing and q uniformly from
/// their lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Space {
    /// L2 penalties.
    pub lambda: Vec<f64>,
    /// Learning rates.
    pub eta: Vec<f64>,
    /// Mini-batch sizes (the base's when empty).
    #[serde(default)]
    pub n_batch: Vec<usize>,
    /// Schedules (the base's when empty).
    #[serde(default)]
    pub schedule: Vec<Schedule>,
    /// Label smoothing ε of the softmax loss (the base's when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub label_smoothing: Vec<f64>,
    /// Exponent q of the generalized cross-entropy (the base's when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gce_q: Vec<f64>,
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

/// What the search records of one finished run: its settings and its result on
/// the validation set (never the test set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRecord {
    /// Position of the run among the search's candidates.
    pub index: usize,
    /// The run's settings (its name is `run<index>`).
    pub run: RunConfig,
    /// Validation accuracy of the weights kept, as a fraction.
    pub val_accuracy: f64,
    /// Validation loss of the weights kept.
    pub val_loss: f64,
    /// Training accuracy at the last epoch.
    pub train_accuracy: f64,
    /// Epochs trained.
    pub epochs: usize,
    /// The epoch whose weights were kept.
    pub kept_epoch: usize,
    /// Whether the run diverged.
    pub diverged: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
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
                run.check(&format!("run{i:03}."), n_train)?;
                Ok(run)
            })
            .collect()
    }
}

impl Space {
    /// The searched settings, in the grid's order (the first varies slowest) and
    /// the order a random search draws them: λ, η, the mini-batch size, the
    /// schedule, label smoothing, q. A list left empty holds the base's value.
    fn axes(&self, base: &RunConfig) -> Vec<Box<dyn Dimension>> {
        let o = &base.options;
        vec![
            Axis::boxed(
                "lambda",
                self.lambda.clone(),
                |r| &mut r.lambda,
                log_uniform,
            ),
            Axis::boxed("eta", self.eta.clone(), |r| &mut r.eta, log_uniform),
            Axis::boxed(
                "n_batch",
                or_base(&self.n_batch, base.n_batch),
                |r| &mut r.n_batch,
                uniform,
            ),
            Axis::boxed(
                "schedule",
                or_base(&self.schedule, o.schedule),
                |r| &mut r.options.schedule,
                uniform,
            ),
            // Drawn only when there is a choice, so that searches without the
            // fields draw as they always did.
            Axis::boxed(
                "label_smoothing",
                or_base(&self.label_smoothing, o.label_smoothing),
                |r| &mut r.options.label_smoothing,
                uniform_if_choice,
            ),
            Axis::boxed(
                "gce_q",
                or_base(&self.gce_q, o.gce_q),
                |r| &mut r.options.gce_q,
                uniform_if_choice,
            ),
        ]
    }
}

/// A run's setting with the values a search gives it.
struct Axis<T> {
    /// The field in `[space]`.
    field: &'static str,
    /// The values, at least one.
    values: Vec<T>,
    /// Where the value goes in a run.
    place: fn(&mut RunConfig) -> &mut T,
    /// How a random search draws a value.
    pick: fn(&[T], &mut rand_pcg::Pcg64) -> T,
}

impl<T: Copy + 'static> Axis<T> {
    fn boxed(
        field: &'static str,
        values: Vec<T>,
        place: fn(&mut RunConfig) -> &mut T,
        pick: fn(&[T], &mut rand_pcg::Pcg64) -> T,
    ) -> Box<dyn Dimension> {
        Box::new(Axis {
            field,
            values,
            place,
            pick,
        })
    }
}

/// An [`Axis`] of any value type: one factor of the search's product.
trait Dimension {
    /// The field in `[space]`.
    fn field(&self) -> &'static str;
    /// Number of values.
    fn len(&self) -> usize;
    /// Sets `run`'s setting to the `i`-th value.
    fn set(&self, run: &mut RunConfig, i: usize);
    /// Sets `run`'s setting to a random draw.
    fn draw(&self, run: &mut RunConfig, rng: &mut rand_pcg::Pcg64);
}

impl<T: Copy> Dimension for Axis<T> {
    fn field(&self) -> &'static str {
        self.field
    }

    fn len(&self) -> usize {
        self.values.len()
    }

    fn set(&self, run: &mut RunConfig, i: usize) {
        *(self.place)(run) = self.values[i];
    }

    fn draw(&self, run: &mut RunConfig, rng: &mut rand_pcg::Pcg64) {
        *(self.place)(run) = (self.pick)(&self.values, rng);
    }
}

/// The grid's point `p`: `base` with the values whose mixed-radix digits spell
/// `p`, the last axis's digit the lowest.
fn grid_point(axes: &[Box<dyn Dimension>], base: &RunConfig, mut p: usize) -> RunConfig {
    let mut run = base.clone();
    for axis in axes.iter().rev() {
        axis.set(&mut run, p % axis.len());
        p /= axis.len();
    }
    run
}

/// A value drawn uniformly from the list.
fn uniform<T: Copy>(list: &[T], rng: &mut rand_pcg::Pcg64) -> T {
    list[rng.random_range(0..list.len())]
}

/// A value drawn uniformly from the list, the only one without a draw.
fn uniform_if_choice<T: Copy>(list: &[T], rng: &mut rand_pcg::Pcg64) -> T {
    match list.len() {
        1 => list[0],
        n => list[rng.random_range(0..n)],
    }
}

/// The most runs a search may have: the grid's points, or a random search's draws.
pub const MAX_RUNS: usize = 100_000;

/// The number of points of the grid of the lists of `sizes` (field, values
/// listed); fails above [`MAX_RUNS`]. The product is computed before any point is.
fn check_grid_size(sizes: &[(&str, usize)]) -> Result<usize, ConfigError> {
    let points = sizes
        .iter()
        .try_fold(1usize, |acc, &(_, n)| acc.checked_mul(n));
    if let Some(p) = points.filter(|&p| p <= MAX_RUNS) {
        return Ok(p);
    }
    let factors: Vec<String> = sizes
        .iter()
        .filter(|&&(_, n)| n > 1)
        .map(|(field, n)| format!("{n} {field}"))
        .collect();
    let count = points.map_or_else(|| "more than 2^64".to_string(), |p| p.to_string());
    Err(ConfigError::Invalid {
        field: "space".into(),
        reason: format!(
            "the grid has {count} points ({}), more than the {MAX_RUNS} a search may run; \
             list fewer values, or draw some with [random]",
            factors.join(" × ")
        ),
    })
}

fn or_base<T: Copy>(list: &[T], base: T) -> Vec<T> {
    if list.is_empty() {
        vec![base]
    } else {
        list.to_vec()
    }
}

/// A value between the list's extremes, log-uniformly; uniformly from the list
/// when it holds a value ≤ 0 or a single value.
fn log_uniform(list: &[f64], rng: &mut rand_pcg::Pcg64) -> f64 {
    let lo = list.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = list.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if list.len() < 2 || lo <= 0.0 {
        return list[rng.random_range(0..list.len())];
    }
    let v = rng.random_range(lo.ln()..=hi.ln()).exp();
    // Three significant digits keep the names and records readable.
    let scale = 10f64.powi(2 - v.log10().floor() as i32);
    ((v * scale).round() / scale).clamp(lo, hi)
}
