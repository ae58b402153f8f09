//! Generalized cross-entropy (Zhang & Sabuncu, 2018) of the softmax
//! probabilities, `0 < q ≤ 1`:
//!
//! ```text
//! ℓ = (1 − p_y^q) / q                 g = p_y^q (p − y)
//! ```
//!
//! The softmax gradient weighted by `p_y^q`, so that images the network gives
//! little chance (the ones a linear model cannot fit) pull less. It tends to the
//! softmax loss as `q → 0`; `q = 1` gives `1 − p_y`, half the mean absolute error
//! `‖p − y‖₁`.

use ndarray::{ArrayView1, ArrayViewMut1};
use num_traits::Float;

use super::softmax;

/// `ℓ` of one image's scores `s: K`, as `−expm1(q log p_y) / q`: exact as `q → 0`,
/// where `1 − p_y^q` cancels.
pub(super) fn loss<T: Float>(q: f64, s: ArrayView1<T>, y: usize) -> T {
    let q = T::from(q).unwrap_or_else(T::one);
    -(q * softmax::log_p_y(s, y)).exp_m1() / q
}

/// Replaces the scores `s: K` by `g = p_y^q (p − y)`.
pub(super) fn gradient<T: Float>(q: f64, mut col: ArrayViewMut1<T>, y: usize) {
    let q = T::from(q).unwrap_or_else(T::one);
    let weight = (q * softmax::log_p_y(col.view(), y)).exp();
    softmax::gradient(col.view_mut(), y);
    col.mapv_inplace(|v| v * weight);
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::super::Loss;

    #[test]
    fn generalized_cross_entropy_by_hand() {
        // s = (ln 3, 0), y = 0, q = 1/2, K = 2: p = (3/4, 1/4), p_y^q = √3/2;
        // ℓ = (1 − √3/2) / (1/2) = 2 − √3, g = (√3/2) (p − y) = (√3/2) (−1/4, 1/4).
        let l = Loss::Generalized(0.5);
        let s = array![3f64.ln(), 0.0];
        assert!((l.example_loss(s.view(), 0) - (2.0 - 3f64.sqrt())).abs() < 1e-15);
        let mut g = s.clone();
        l.score_gradient(g.view_mut(), 0);
        let w = 3f64.sqrt() / 2.0;
        assert!(
            (g[0] + w / 4.0).abs() < 1e-15 && (g[1] - w / 4.0).abs() < 1e-15,
            "{g}"
        );
        // q = 1 gives 1 − p_y.
        assert!((Loss::Generalized(1.0).example_loss(s.view(), 1) - 0.75).abs() < 1e-15);
        // As q → 0 the loss and its gradient tend to the softmax loss's.
        let s = array![0.3f64, -2.0, 5.0, 0.0];
        let (mut a, mut b) = (s.clone(), s.clone());
        Loss::Generalized(1e-9).score_gradient(a.view_mut(), 1);
        Loss::Softmax.score_gradient(b.view_mut(), 1);
        assert!((&a - &b).iter().all(|v| v.abs() < 1e-8), "{a} {b}");
        // (1 − p^q)/q = −log p − q (log p)²/2 + …: to the first order in q, with no
        // cancellation down to the smallest q.
        let ls = Loss::Softmax.example_loss(s.view(), 1);
        for q in [1e-3, 1e-9, 1e-15, 1e-300] {
            let lg = Loss::Generalized(q).example_loss(s.view(), 1);
            let want = ls - q * ls * ls / 2.0;
            assert!(
                (lg - want).abs() <= 1e-14 * ls + q * ls.powi(3),
                "q={q}: {lg} {want}"
            );
        }
        // Finite far out: an image given no chance weighs nothing.
        let far = array![800.0f64, -800.0];
        let mut g = far.clone();
        l.score_gradient(g.view_mut(), 1);
        assert!(g.iter().all(|v| v.is_finite() && v.abs() < 1e-300), "{g}");
        assert!((l.example_loss(far.view(), 1) - 2.0).abs() < 1e-15);
    }
}
