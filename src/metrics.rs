//! Classification metrics from a confusion matrix: accuracy, and per class
//! precision and recall.
//!
//! With `C[t][p]` the number of images of true class `t` predicted as `p`:
//!
//! ```text
//! accuracy      = Σ_c C[c][c] / Σ_{t,p} C[t][p]
//! precision(c)  = C[c][c] / Σ_t C[t][c]      (of the images predicted c, the share that are c)
//! recall(c)     = C[c][c] / Σ_p C[c][p]      (of the images of class c, the share found)
//! ```
//!
//! A ratio whose denominator is 0 is undefined and returned as `None`.

use serde::Serialize;

/// A `K×K` confusion matrix: rows are true classes, columns predicted classes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confusion {
    k: usize,
    /// Counts, row-major: `counts[t * k + p]`.
    counts: Vec<u64>,
}

/// A pair whose class is not below `K`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("image {index}: class {class} is out of range for {k} classes")]
pub struct ClassOutOfRange {
    /// The image.
    pub index: usize,
    /// The class found.
    pub class: usize,
    /// The number of classes.
    pub k: usize,
}

impl Confusion {
    /// The matrix of `truth` against `predicted` (same length), classes in `0..k`.
    pub fn from_pairs(
        k: usize,
        truth: &[usize],
        predicted: &[usize],
    ) -> Result<Confusion, ClassOutOfRange> {
        let mut counts = vec![0; k * k];
        for (index, (&t, &p)) in truth.iter().zip(predicted).enumerate() {
            if let Some(&class) = [t, p].iter().find(|&&c| c >= k) {
                return Err(ClassOutOfRange { index, class, k });
            }
            counts[t * k + p] += 1;
        }
        Ok(Confusion { k, counts })
    }

    /// Number of classes `K`.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Images of true class `t` predicted as `p` (0 outside the matrix).
    pub fn count(&self, t: usize, p: usize) -> u64 {
        if t < self.k && p < self.k {
            self.counts[t * self.k + p]
        } else {
            0
        }
    }

    /// Number of images.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Images of true class `t`: `Σ_p C[t][p]`.
    pub fn row_sum(&self, t: usize) -> u64 {
        (0..self.k).map(|p| self.count(t, p)).sum()
    }

    /// Images predicted as `p`: `Σ_t C[t][p]`.
    pub fn column_sum(&self, p: usize) -> u64 {
        (0..self.k).map(|t| self.count(t, p)).sum()
    }

    /// Fraction of images on the diagonal (`None` for no images).
    pub fn accuracy(&self) -> Option<f64> {
        let correct: u64 = (0..self.k).map(|c| self.count(c, c)).sum();
        ratio(correct, self.total())
    }

    /// `C[c][c] / Σ_t C[t][c]`.
    pub fn precision(&self, c: usize) -> Option<f64> {
        ratio(self.count(c, c), self.column_sum(c))
    }

    /// `C[c][c] / Σ_p C[c][p]`.
    pub fn recall(&self, c: usize) -> Option<f64> {
        ratio(self.count(c, c), self.row_sum(c))
    }
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three classes, eight images, counted by hand:
    ///
    /// ```text
    ///            predicted 0  1  2
    /// true 0               2  1  0
    /// true 1               0  3  1
    /// true 2               1  0  0
    /// ```
    fn hand_made() -> Confusion {
        let truth = [0, 0, 0, 1, 1, 1, 1, 2];
        let pred = [0, 0, 1, 1, 1, 1, 2, 0];
        Confusion::from_pairs(3, &truth, &pred).unwrap()
    }

    #[test]
    fn counts_match_the_hand_made_table() {
        let c = hand_made();
        let table = [[2, 1, 0], [0, 3, 1], [1, 0, 0]];
        for (t, row) in table.iter().enumerate() {
            for (p, &n) in row.iter().enumerate() {
                assert_eq!(c.count(t, p), n, "C[{t}][{p}]");
            }
        }
        assert_eq!(c.total(), 8);
    }

    #[test]
    fn accuracy_precision_recall_of_the_hand_made_case() {
        let c = hand_made();
        assert_eq!(c.accuracy(), Some(5.0 / 8.0));
        // Predicted 0: images 0, 1 (class 0) and 7 (class 2).
        assert_eq!(c.precision(0), Some(2.0 / 3.0));
        // Predicted 1: images 2 (class 0), 3, 4, 5 (class 1).
        assert_eq!(c.precision(1), Some(3.0 / 4.0));
        // Predicted 2: image 6 (class 1), wrongly.
        assert_eq!(c.precision(2), Some(0.0));
        assert_eq!(c.recall(0), Some(2.0 / 3.0));
        assert_eq!(c.recall(1), Some(3.0 / 4.0));
        assert_eq!(c.recall(2), Some(0.0));
    }

    #[test]
    fn undefined_ratios_are_none() {
        let c = Confusion::from_pairs(3, &[0, 0], &[0, 1]).unwrap();
        assert_eq!(c.recall(2), None, "no image of class 2");
        assert_eq!(c.precision(2), None, "nothing predicted as 2");
        assert_eq!(Confusion::from_pairs(2, &[], &[]).unwrap().accuracy(), None);
    }

    #[test]
    fn out_of_range_class_is_an_error() {
        let e = Confusion::from_pairs(2, &[0, 1, 0], &[0, 1, 2]).unwrap_err();
        assert_eq!(
            e,
            ClassOutOfRange {
                index: 2,
                class: 2,
                k: 2
            }
        );
    }
}
