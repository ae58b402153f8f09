//! The searched values: [`Space`], a product of axes, one per searched setting,
//! each a list of values that a grid takes in turn and a random search draws from.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, RunConfig};
use crate::schedule::Schedule;

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

impl Space {
    /// The searched settings, in the grid's order (the first varies slowest) and
    /// the order a random search draws them: λ, η, the mini-batch size, the
    /// schedule, label smoothing, q. A list left empty holds the base's value.
    pub(super) fn axes(&self, base: &RunConfig) -> Vec<Box<dyn Dimension>> {
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
pub(super) trait Dimension {
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
pub(super) fn grid_point(axes: &[Box<dyn Dimension>], base: &RunConfig, mut p: usize) -> RunConfig {
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
pub(super) fn check_grid_size(sizes: &[(&str, usize)]) -> Result<usize, ConfigError> {
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
