//! Curves over the epochs: a run's training against validation loss, cost and
//! accuracy, and the validation loss of several runs together.
//!
//! This file holds the figures' data; `layout` places a panel's axes and legend
//! ([`y_range`], [`x_max`], [`legend_place`]), and `draw` renders the panels
//! with plotters.

use plotters::prelude::*;

use super::color;
use crate::observations::{CostTrend, run_label};
use crate::results::{History, RunResult};

/// One line: a label, a colour and `(epoch, value)` points.
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend's text.
    pub label: String,
    /// The line's colour.
    pub color: RGBColor,
    /// `(epoch from 1, value)`.
    pub points: Vec<(i32, f64)>,
    /// Where the run diverged (epoch from 1), marked by a dashed line.
    pub diverged_at: Option<usize>,
}

/// One chart: series over epochs `1..=n_epochs`.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The chart's caption.
    pub title: String,
    /// The y axis's label.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// The last epoch on the x axis.
    pub n_epochs: usize,
    /// Values are percentages: the y axis stays within 0–100.
    pub percent: bool,
}

/// A figure of one or more panels side by side.
#[derive(Debug, Clone)]
pub struct Curves {
    /// Name in errors (e.g. the file name).
    pub name: String,
    /// A title above all panels (a single panel is titled by its caption).
    pub title: Option<String>,
    /// The panels, left to right.
    pub panels: Vec<Panel>,
}

/// Which quantity a run figure shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Mean cross-entropy.
    Loss,
    /// Loss plus λ‖W‖².
    Cost,
    /// Accuracy.
    Accuracy,
}

impl Quantity {
    /// All three, in the order the report shows them.
    pub const ALL: [Quantity; 3] = [Quantity::Loss, Quantity::Cost, Quantity::Accuracy];

    /// The file stem: `loss`, `cost`, `accuracy`.
    pub fn stem(self) -> &'static str {
        match self {
            Quantity::Loss => "loss",
            Quantity::Cost => "cost",
            Quantity::Accuracy => "accuracy",
        }
    }

    fn y_label(self) -> &'static str {
        match self {
            Quantity::Loss => "cross-entropy loss",
            Quantity::Cost => "cost = loss + λ‖W‖²",
            Quantity::Accuracy => "accuracy (%)",
        }
    }

    /// The training and validation series of `h`, accuracy in percent.
    fn of(self, h: &History) -> (&[f64], &[f64], f64) {
        match self {
            Quantity::Loss => (&h.train_loss, &h.val_loss, 1.0),
            Quantity::Cost => (&h.train_cost, &h.val_cost, 1.0),
            Quantity::Accuracy => (&h.train_accuracy, &h.val_accuracy, 100.0),
        }
    }
}

/// The most points a series draws: a longer history is decimated to the lowest
/// and highest value of each of `MAX_POINTS / 2` runs of epochs, which keeps
/// its spikes and its envelope (the figure is 820 pixels wide).
pub const MAX_POINTS: usize = 2000;

/// The largest magnitude a curve shows. A value beyond it (no training gives
/// one) is left out of the figure, so that the axes and their padding stay
/// finite and apart.
pub const MAX_SHOWN: f64 = 1e300;

/// Whether `v` is drawn: finite and at most [`MAX_SHOWN`] in magnitude.
fn shown(v: f64) -> bool {
    v.is_finite() && v.abs() <= MAX_SHOWN
}

/// `(epoch from 1, scale · value)` of the values shown, at most [`MAX_POINTS`].
fn points(v: &[f64], scale: f64) -> Vec<(i32, f64)> {
    let all = (1..=i32::MAX)
        .zip(v)
        .map(|(e, &y)| (e, scale * y))
        .filter(|&(_, y)| shown(y));
    if v.len() <= MAX_POINTS {
        return all.collect();
    }
    let all: Vec<(i32, f64)> = all.collect();
    let run = all.len().div_ceil(MAX_POINTS / 2).max(1);
    let mut out = Vec::with_capacity(MAX_POINTS);
    for chunk in all.chunks(run) {
        let lowest = chunk.iter().min_by(|a, b| a.1.total_cmp(&b.1));
        let highest = chunk.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        if let (Some(&lo), Some(&hi)) = (lowest, highest) {
            // In epoch order; once when the run is flat.
            let (a, b) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
            out.push(a);
            if b.0 != a.0 {
                out.push(b);
            }
        }
    }
    out
}

/// The figure of one run's training and validation `q` over the epochs, titled
/// with its settings.
pub fn run_figure(r: &RunResult, q: Quantity) -> Curves {
    let (train, val, scale) = q.of(&r.history);
    let series = |label: &str, i, v| Series {
        label: label.to_string(),
        color: color(i),
        points: points(v, scale),
        diverged_at: r.diverged_at_epoch,
    };
    Curves {
        name: format!("{}/{}", r.run.name, q.stem()),
        title: None,
        panels: vec![Panel {
            title: format!(
                "{} — {}, batch {}, {} epochs",
                q.stem(),
                run_label(r),
                r.run.n_batch,
                r.run.n_epochs
            ),
            y_label: q.y_label().to_string(),
            series: vec![series("training", 0, train), series("validation", 1, val)],
            n_epochs: r.run.n_epochs,
            percent: q == Quantity::Accuracy,
        }],
    }
}

/// The validation loss of every run together. When some runs oscillated or
/// diverged and others did not, a second panel shows the steady runs alone on
/// their own scale, so that the differences between them stay visible.
pub fn validation_loss_figure(runs: &[RunResult]) -> Curves {
    let series: Vec<Series> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| Series {
            label: run_label(r),
            color: color(i),
            points: points(&r.history.val_loss, 1.0),
            diverged_at: r.diverged_at_epoch,
        })
        .collect();
    let n_epochs = runs.iter().map(|r| r.run.n_epochs).max().unwrap_or(1);
    let steady: Vec<Series> = runs
        .iter()
        .zip(&series)
        .filter(|(r, _)| !r.diverged && !CostTrend::of(&r.history.train_cost).oscillated())
        .map(|(_, s)| s.clone())
        .collect();
    let panel = |title: &str, series| Panel {
        title: title.to_string(),
        y_label: "validation loss".to_string(),
        series,
        n_epochs,
        percent: false,
    };
    let mut panels = Vec::new();
    if !steady.is_empty() && steady.len() < series.len() {
        panels.push(panel("all runs", series));
        panels.push(panel("steady runs only, on their own scale", steady));
    } else {
        panels.push(panel("all runs", series));
    }
    Curves {
        name: "validation_loss".to_string(),
        title: Some("Validation loss of every run".to_string()),
        panels,
    }
}

mod draw;
mod layout;
pub use layout::{legend_place, x_max, y_range};

#[cfg(test)]
mod tests;
