//! Softmax cross-entropy, the report's loss, and its label-smoothed form:
//!
//! ```text
//! ℓ = logΣexp(s) − s_y                                  g = p − y,  p = softmax(s)
//! ℓ = −Σₖ tₖ log pₖ = logΣexp(s) − (1 − ε) s_y − (ε/K) Σₖ sₖ   g = p − t,  t = (1 − ε) y + ε/K
//! ```

use ndarray::{ArrayView1, ArrayViewMut1};
use num_traits::Float;

use crate::model;

/// `ℓ = logΣexp(s) − s_y` of one image's scores `s: K`.
pub(super) fn loss<T: Float>(s: ArrayView1<T>, y: usize) -> T {
    model::log_sum_exp(s) - s[y]
}

/// Replaces the scores `s: K` by `g = p − y`.
pub(super) fn gradient<T: Float>(mut col: ArrayViewMut1<T>, y: usize) {
    probabilities(col.view_mut());
    col[y] = col[y] - T::one();
}

/// `ℓ = logΣexp(s) − (1 − ε) s_y − (ε/K) Σₖ sₖ`: the cross-entropy against the
/// smoothed targets `t = (1 − ε) y + ε/K`.
pub(super) fn smoothed_loss<T: Float>(eps: f64, s: ArrayView1<T>, y: usize) -> T {
    let (eps, one) = (T::from(eps).unwrap_or_else(T::zero), T::one());
    let k = T::from(s.len()).unwrap_or_else(T::one);
    let sum = s.fold(T::zero(), |a, &v| a + v);
    model::log_sum_exp(s) - (one - eps) * s[y] - eps / k * sum
}

/// Replaces the scores `s: K` by `g = p − t`.
pub(super) fn smoothed_gradient<T: Float>(eps: f64, mut col: ArrayViewMut1<T>, y: usize) {
    let (eps, one) = (T::from(eps).unwrap_or_else(T::zero), T::one());
    let k = T::from(col.len()).unwrap_or_else(T::one);
    probabilities(col.view_mut());
    col.mapv_inplace(|v| v - eps / k);
    col[y] = col[y] - (one - eps);
}

/// Replaces the scores `s: K` by `p = softmax(s)`, subtracting the largest score
/// first so that no exponential overflows.
pub(super) fn probabilities<T: Float>(mut col: ArrayViewMut1<T>) {
    let max = col.fold(T::neg_infinity(), |m, &v| m.max(v));
    col.mapv_inplace(|v| (v - max).exp());
    let sum = col.fold(T::zero(), |a, &v| a + v);
    col.mapv_inplace(|v| v / sum);
}

/// `log p_y = s_y − logΣexp(s)`: the log softmax probability of class `y`,
/// finite for any finite scores.
pub(super) fn log_p_y<T: Float>(s: ArrayView1<T>, y: usize) -> T {
    s[y] - model::log_sum_exp(s)
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::super::Loss;

    #[test]
    fn smoothed_softmax_by_hand() {
        // s = (ln 3, 0), y = 1, ε = 0.5, K = 2: p = (3/4, 1/4), t = (1/4, 3/4);
        // ℓ = −(1/4 ln 3/4 + 3/4 ln 1/4) = ln 4 − (1/4) ln 3, g = p − t = (1/2, −1/2).
        let l = Loss::SmoothedSoftmax(0.5);
        let s = array![3f64.ln(), 0.0];
        let want = 4f64.ln() - 0.25 * 3f64.ln();
        assert!((l.example_loss(s.view(), 1) - want).abs() < 1e-15);
        let mut g = s.clone();
        l.score_gradient(g.view_mut(), 1);
        assert!(
            (g[0] - 0.5).abs() < 1e-15 && (g[1] + 0.5).abs() < 1e-15,
            "{g}"
        );
        // ε = 0 is the softmax loss.
        let s = array![0.3f64, -2.0, 5.0, 0.0];
        let (mut a, mut b) = (s.clone(), s.clone());
        Loss::SmoothedSoftmax(0.0).score_gradient(a.view_mut(), 2);
        Loss::Softmax.score_gradient(b.view_mut(), 2);
        assert!((&a - &b).iter().all(|v| v.abs() < 1e-15));
        let (ls, l0) = (
            Loss::Softmax.example_loss(s.view(), 2),
            Loss::SmoothedSoftmax(0.0).example_loss(s.view(), 2),
        );
        assert!((ls - l0).abs() < 1e-15);
    }
}
