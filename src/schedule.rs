//! Learning-rate schedules: the rate `η_t` used by update `t` (counting from 0
//! over the whole run) in epoch `e` (counting from 1), given the run's base rate `η`.
//!
//! ```text
//! constant   η_t = η
//! step       η_t = η / factor^⌊(e − 1) / every⌋
//! plateau    η_t = η / factor^m, m = how often the validation loss has failed to
//!            improve on its best for `patience` epochs in a row
//! cyclic     η_t = η_min + (η − η_min) · (1 − |t mod 2h − h| / h)   (triangular, half-cycle h)
//! ```

use serde::{Deserialize, Serialize};

/// An invalid schedule parameter, named by its field (`run[0].schedule.factor`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ScheduleError {
    /// The parameter, as written in the file or flag.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A learning-rate schedule, as written in a config (`schedule = "constant"`,
/// `schedule = { step = { factor = 10.0, every = 10 } }`, ...).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// The base rate throughout (the report's).
    #[default]
    Constant,
    /// Divide the rate by `factor` every `every` epochs.
    Step {
        /// Divisor > 1.
        factor: f64,
        /// Epochs between divisions, ≥ 1.
        every: usize,
    },
    /// Divide the rate by `factor` when the validation loss has not improved on its
    /// best for `patience` epochs; the count then restarts.
    Plateau {
        /// Divisor > 1.
        factor: f64,
        /// Epochs without improvement before a division, ≥ 1.
        patience: usize,
    },
    /// Triangular cyclical rates between `eta_min` and the base rate, rising for
    /// `half_cycle` updates and falling for as many.
    Cyclic {
        /// Lowest rate, 0 ≤ eta_min < η.
        eta_min: f64,
        /// Updates per half-cycle, ≥ 1.
        half_cycle: usize,
    },
}

impl Schedule {
    /// Checks the schedule's parameters against the base rate `eta`; `field`
    /// names the schedule in errors.
    pub fn check(&self, field: &str, eta: f64) -> Result<(), ScheduleError> {
        let bad = |what: &str, reason: String| ScheduleError {
            field: format!("{field}.{what}"),
            reason,
        };
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Step { factor, every }
            | Schedule::Plateau {
                factor,
                patience: every,
            } => {
                let what = if matches!(self, Schedule::Step { .. }) {
                    "every"
                } else {
                    "patience"
                };
                if !(factor.is_finite() && factor > 1.0) {
                    Err(bad(
                        "factor",
                        format!("must be a finite number > 1, got {factor}"),
                    ))
                } else if every == 0 {
                    Err(bad(what, "must be at least 1, got 0".into()))
                } else {
                    Ok(())
                }
            }
            Schedule::Cyclic {
                eta_min,
                half_cycle,
            } => {
                if !(eta_min.is_finite() && eta_min >= 0.0 && eta_min < eta) {
                    Err(bad(
                        "eta_min",
                        format!("must be ≥ 0 and below eta = {eta}, got {eta_min}"),
                    ))
                } else if half_cycle == 0 {
                    Err(bad("half_cycle", "must be at least 1, got 0".into()))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// A short label: `constant`, `step10x10`, `plateau2p3`, `cyclic0.0001h500`.
    pub fn label(&self) -> String {
        match *self {
            Schedule::Constant => "constant".into(),
            Schedule::Step { factor, every } => format!("step{factor}x{every}"),
            Schedule::Plateau { factor, patience } => format!("plateau{factor}p{patience}"),
            Schedule::Cyclic {
                eta_min,
                half_cycle,
            } => format!("cyclic{eta_min}h{half_cycle}"),
        }
    }
}

/// The state of a schedule during a run.
#[derive(Debug, Clone)]
pub struct Scheduler {
    schedule: Schedule,
    eta: f64,
    /// Divisions made on plateaus so far.
    divisions: i32,
    best_val_loss: f64,
    bad_epochs: usize,
}

impl Scheduler {
    /// A schedule around the base rate `eta`.
    pub fn new(schedule: Schedule, eta: f64) -> Scheduler {
        Scheduler {
            schedule,
            eta,
            divisions: 0,
            best_val_loss: f64::INFINITY,
            bad_epochs: 0,
        }
    }

    /// The rate of update `step` (from 0 over the run) in epoch `epoch` (from 1).
    pub fn eta(&self, epoch: usize, step: usize) -> f64 {
        match self.schedule {
            Schedule::Constant => self.eta,
            Schedule::Step { factor, every } => {
                let k = (epoch.saturating_sub(1) / every.max(1)) as i32;
                self.eta / factor.powi(k)
            }
            Schedule::Plateau { factor, .. } => self.eta / factor.powi(self.divisions),
            Schedule::Cyclic {
                eta_min,
                half_cycle,
            } => {
                let h = half_cycle.max(1);
                let pos = step % (2 * h);
                let up = if pos <= h { pos } else { 2 * h - pos };
                eta_min + (self.eta - eta_min) * up as f64 / h as f64
            }
        }
    }

    /// Tells the schedule the validation loss at the end of an epoch.
    pub fn end_epoch(&mut self, val_loss: f64) {
        if let Schedule::Plateau { patience, .. } = self.schedule {
            if val_loss < self.best_val_loss {
                self.best_val_loss = val_loss;
                self.bad_epochs = 0;
            } else {
                self.bad_epochs += 1;
                if self.bad_epochs >= patience {
                    self.divisions += 1;
                    self.bad_epochs = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn constant_is_the_base_rate() {
        let s = Scheduler::new(Schedule::Constant, 0.01);
        assert_eq!(s.eta(1, 0), 0.01);
        assert_eq!(s.eta(40, 19_999), 0.01);
    }

    #[test]
    fn step_divides_every_k_epochs() {
        let s = Scheduler::new(
            Schedule::Step {
                factor: 10.0,
                every: 5,
            },
            0.1,
        );
        for (epoch, want) in [(1, 0.1), (5, 0.1), (6, 0.01), (10, 0.01), (11, 0.001)] {
            assert!(close(s.eta(epoch, 0), want), "epoch {epoch}");
        }
    }

    #[test]
    fn plateau_divides_after_patience_epochs_without_improvement() {
        let mut s = Scheduler::new(
            Schedule::Plateau {
                factor: 2.0,
                patience: 2,
            },
            0.08,
        );
        // Losses: improve, improve, worse, worse (→ /2), better than best, worse, equal (→ /2).
        let mut rates = vec![];
        for loss in [2.0, 1.5, 1.6, 1.7, 1.4, 1.45, 1.4] {
            s.end_epoch(loss);
            rates.push(s.eta(1, 0));
        }
        let want = [0.08, 0.08, 0.08, 0.04, 0.04, 0.04, 0.02];
        for (r, w) in rates.iter().zip(want) {
            assert!(close(*r, w), "{rates:?}");
        }
    }

    #[test]
    fn cyclic_is_triangular() {
        let s = Scheduler::new(
            Schedule::Cyclic {
                eta_min: 1e-5,
                half_cycle: 500,
            },
            1e-1,
        );
        let at = |t| s.eta(1, t);
        assert!(close(at(0), 1e-5));
        assert!(close(at(250), 1e-5 + (1e-1 - 1e-5) * 0.5));
        assert!(close(at(500), 1e-1));
        assert!(close(at(750), 1e-5 + (1e-1 - 1e-5) * 0.5));
        assert!(close(at(1000), 1e-5));
        assert!(close(at(1100), at(100)));
    }

    #[test]
    fn checks_name_the_field() {
        let e = Schedule::Step {
            factor: 1.0,
            every: 3,
        }
        .check("run[0].schedule", 0.1)
        .unwrap_err();
        assert!(e.to_string().starts_with("run[0].schedule.factor"), "{e}");
        let e = Schedule::Plateau {
            factor: 2.0,
            patience: 0,
        }
        .check("s", 0.1)
        .unwrap_err();
        assert!(e.to_string().starts_with("s.patience"), "{e}");
        let e = Schedule::Cyclic {
            eta_min: 0.2,
            half_cycle: 5,
        }
        .check("s", 0.1)
        .unwrap_err();
        assert!(e.to_string().starts_with("s.eta_min"), "{e}");
        let t: Schedule = toml::from_str::<toml::Table>(
            "s = { step = { factor = 10.0, every = 3 } }",
        )
        .unwrap()["s"]
            .clone()
            .try_into()
            .unwrap();
        assert_eq!(
            t,
            Schedule::Step {
                factor: 10.0,
                every: 3
            }
        );
    }
}
