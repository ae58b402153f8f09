//! Observations computed from a results set: which runs diverged or oscillated,
//! what λ did to the training loss and to the gap between training and
//! validation, which η validated best. Each is a typed fact whose `Display` is
//! the sentence the report prints, so that the report says only what the data
//! shows.

use std::fmt;

use crate::results::{Results, RunResult};

/// An epoch counts as a rise when its cost exceeds the previous epoch's by more
/// than this fraction of it (so that rounding noise on a plateau is no rise).
pub const RISE_TOLERANCE: f64 = 1e-6;

/// How a cost series moved from epoch to epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostTrend {
    /// Epochs whose cost rose above the previous epoch's: `c[t] > c[t−1]·(1 + RISE_TOLERANCE)`.
    pub rises: usize,
    /// Epoch-to-epoch steps, `len − 1` (0 for fewer than two epochs).
    pub steps: usize,
}

impl CostTrend {
    /// Counts the rises of `cost`.
    pub fn of(cost: &[f64]) -> CostTrend {
        let rises = cost
            .windows(2)
            .filter(|w| w[1] > w[0] + w[0].abs() * RISE_TOLERANCE)
            .count();
        CostTrend {
            rises,
            steps: cost.len().saturating_sub(1),
        }
    }

    /// The cost oscillated: it rose in at least two epochs and in at least a
    /// tenth of the steps.
    pub fn oscillated(&self) -> bool {
        self.rises >= 2 && self.rises * 10 >= self.steps
    }
}

/// `λ = 0.1, η = 0.001`: how the report names a run.
pub fn run_label(r: &RunResult) -> String {
    format!("λ = {}, η = {}", r.run.lambda, r.run.eta)
}

/// One run's final numbers, as the observations quote them.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalPoint {
    /// λ of the run.
    pub lambda: f64,
    /// η of the run.
    pub eta: f64,
    /// Final training loss.
    pub train_loss: f64,
    /// Final validation loss minus final training loss.
    pub loss_gap: f64,
    /// Final training accuracy minus final validation accuracy, in points.
    pub accuracy_gap: f64,
    /// Final validation accuracy, as a fraction.
    pub val_accuracy: f64,
}

impl FinalPoint {
    /// The last epoch of `r`, or `None` if it has none.
    pub fn of(r: &RunResult) -> Option<FinalPoint> {
        let h = &r.history;
        Some(FinalPoint {
            lambda: r.run.lambda,
            eta: r.run.eta,
            train_loss: *h.train_loss.last()?,
            loss_gap: h.val_loss.last()? - h.train_loss.last()?,
            accuracy_gap: 100.0 * (h.train_accuracy.last()? - h.val_accuracy.last()?),
            val_accuracy: *h.val_accuracy.last()?,
        })
    }
}

/// A fact about a results set.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// The cost of a run became non-finite.
    Diverged {
        /// The run's label.
        run: String,
        /// The epoch (from 1) in which it did.
        epoch: usize,
    },
    /// The training cost of a run went up and down.
    Oscillated {
        /// The run's label.
        run: String,
        /// Its cost trend.
        trend: CostTrend,
        /// Lowest and highest training cost over the epochs.
        range: (f64, f64),
    },
    /// The training cost of these runs fell (or held) in every epoch.
    Decreased {
        /// Their labels.
        runs: Vec<String>,
    },
    /// Runs sharing η but not λ, in increasing λ.
    Regularisation {
        /// The shared η.
        eta: f64,
        /// Their final numbers, λ increasing.
        points: Vec<FinalPoint>,
    },
    /// Runs sharing λ but not η: the one with the best final validation accuracy.
    LearningRate {
        /// The shared λ.
        lambda: f64,
        /// The best run's final numbers.
        best: FinalPoint,
        /// The others' final numbers.
        others: Vec<FinalPoint>,
    },
    /// The run with the best final validation accuracy overall.
    Best {
        /// Its label.
        run: String,
        /// Its final validation accuracy, as a fraction.
        val_accuracy: f64,
        /// Its test accuracy, as a fraction.
        test_accuracy: f64,
    },
}

/// Every observation that `results` supports, in the order the report prints them.
pub fn observe(results: &Results) -> Vec<Observation> {
    let mut out = Vec::new();
    let mut decreased = Vec::new();
    for r in &results.runs {
        let trend = CostTrend::of(&r.history.train_cost);
        if let Some(epoch) = r.diverged_at_epoch {
            out.push(Observation::Diverged {
                run: run_label(r),
                epoch,
            });
        } else if trend.oscillated() {
            let c = &r.history.train_cost;
            let lo = c.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            out.push(Observation::Oscillated {
                run: run_label(r),
                trend,
                range: (lo, hi),
            });
        } else if trend.rises == 0 && trend.steps > 0 {
            decreased.push(run_label(r));
        }
    }
    if !decreased.is_empty() {
        out.push(Observation::Decreased { runs: decreased });
    }
    let finished: Vec<FinalPoint> = results
        .runs
        .iter()
        .filter(|r| !r.diverged)
        .filter_map(FinalPoint::of)
        .collect();
    out.extend(regularisation(&finished));
    out.extend(learning_rate(&finished));
    let best = results
        .runs
        .iter()
        .filter_map(|r| Some((r, FinalPoint::of(r)?.val_accuracy)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((r, val_accuracy)) = best {
        out.push(Observation::Best {
            run: run_label(r),
            val_accuracy,
            test_accuracy: r.test_accuracy,
        });
    }
    out
}

/// Groups `points` by `key`, keeps the groups with at least two distinct values
/// of `vary` (the first point of each value), sorted by `vary`.
fn groups(
    points: &[FinalPoint],
    key: fn(&FinalPoint) -> f64,
    vary: fn(&FinalPoint) -> f64,
) -> Vec<(f64, Vec<FinalPoint>)> {
    let mut out: Vec<(f64, Vec<FinalPoint>)> = Vec::new();
    for p in points {
        match out.iter_mut().find(|(k, _)| *k == key(p)) {
            Some((_, g)) if g.iter().any(|q| vary(q) == vary(p)) => {}
            Some((_, g)) => g.push(p.clone()),
            None => out.push((key(p), vec![p.clone()])),
        }
    }
    out.retain(|(_, g)| g.len() >= 2);
    for (_, g) in &mut out {
        g.sort_by(|a, b| vary(a).total_cmp(&vary(b)));
    }
    out
}

fn regularisation(points: &[FinalPoint]) -> Vec<Observation> {
    groups(points, |p| p.eta, |p| p.lambda)
        .into_iter()
        .map(|(eta, points)| Observation::Regularisation { eta, points })
        .collect()
}

fn learning_rate(points: &[FinalPoint]) -> Vec<Observation> {
    groups(points, |p| p.lambda, |p| p.eta)
        .into_iter()
        .filter_map(|(lambda, mut g)| {
            let i =
                (0..g.len()).max_by(|&a, &b| g[a].val_accuracy.total_cmp(&g[b].val_accuracy))?;
            let best = g.remove(i);
            Some(Observation::LearningRate {
                lambda,
                best,
                others: g,
            })
        })
        .collect()
}

fn arrow_list(values: impl Iterator<Item = f64>, decimals: usize) -> String {
    values
        .map(|v| format!("{v:.decimals$}"))
        .collect::<Vec<_>>()
        .join(" → ")
}

fn direction(from: f64, to: f64, up: &str, down: &str) -> String {
    if to > from {
        up.to_string()
    } else if to < from {
        down.to_string()
    } else {
        "stays the same".to_string()
    }
}

/// [`Observation::Regularisation`] in words: how the final training loss and
/// the gap between validation and training move as λ grows, at rate `eta`.
fn regularisation_sentence(
    f: &mut fmt::Formatter<'_>,
    eta: f64,
    points: &[FinalPoint],
) -> fmt::Result {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Ok(());
    };
    write!(
        f,
        "With η = {eta}, as λ goes {}, the final training loss {} ({}) and the gap \
         between validation and training loss {} ({}; in accuracy {} points).",
        points
            .iter()
            .map(|p| p.lambda.to_string())
            .collect::<Vec<_>>()
            .join(" → "),
        direction(first.train_loss, last.train_loss, "rises", "falls"),
        arrow_list(points.iter().map(|p| p.train_loss), 3),
        direction(first.loss_gap, last.loss_gap, "widens", "narrows"),
        arrow_list(points.iter().map(|p| p.loss_gap), 3),
        arrow_list(points.iter().map(|p| p.accuracy_gap), 2),
    )
}

/// [`Observation::LearningRate`] in words: the rate whose run ended with the
/// best validation accuracy among the runs with `lambda`, against the others.
fn learning_rate_sentence(
    f: &mut fmt::Formatter<'_>,
    lambda: f64,
    best: &FinalPoint,
    others: &[FinalPoint],
) -> fmt::Result {
    write!(
        f,
        "Among the runs with λ = {lambda}, the learning rate η = {} gave the best final \
         validation accuracy, {:.2}%, against {}.",
        best.eta,
        100.0 * best.val_accuracy,
        others
            .iter()
            .map(|p| format!("{:.2}% with η = {}", 100.0 * p.val_accuracy, p.eta))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

impl fmt::Display for Observation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observation::Diverged { run, epoch } => write!(
                f,
                "{run} diverged: its cost became non-finite in epoch {epoch}, so its curves stop \
                 at epoch {} and its weights are those of that epoch.",
                epoch.saturating_sub(1)
            ),
            Observation::Oscillated { run, trend, range } => write!(
                f,
                "{run} oscillated: its training cost rose in {} of {} epochs, moving between {:.3} \
                 and {:.3}; the step is too large for the cost to settle.",
                trend.rises, trend.steps, range.0, range.1
            ),
            Observation::Decreased { runs } => write!(
                f,
                "The training cost fell in every epoch for {}.",
                runs.join("; ")
            ),
            Observation::Regularisation { eta, points } => regularisation_sentence(f, *eta, points),
            Observation::LearningRate {
                lambda,
                best,
                others,
            } => learning_rate_sentence(f, *lambda, best, others),
            Observation::Best {
                run,
                val_accuracy,
                test_accuracy,
            } => write!(
                f,
                "The best final validation accuracy, {:.2}%, is that of {run}; its test \
                 accuracy is {:.2}%.",
                100.0 * val_accuracy,
                100.0 * test_accuracy
            ),
        }
    }
}

#[cfg(test)]
mod tests;
