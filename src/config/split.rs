//! Which batches train and which validate.

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

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

#[cfg(test)]
mod tests {
    use super::*;

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
