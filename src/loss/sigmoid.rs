//! Multiple binary cross-entropy with one sigmoid output per class:
//!
//! ```text
//! ℓ = −(1/K) Σₖ [yₖ log σ(sₖ) + (1 − yₖ) log(1 − σ(sₖ))]      g = (σ(s) − y) / K
//! ```

use ndarray::{ArrayView1, ArrayViewMut1};
use num_traits::Float;

/// `ℓ` of one image's scores `s: K`, through `−log σ(v) = softplus(−v)` and
/// `−log(1 − σ(v)) = softplus(v)`, finite for any finite scores.
pub(super) fn loss<T: Float>(s: ArrayView1<T>, y: usize) -> T {
    let k = T::from(s.len()).unwrap_or_else(T::one);
    let total = s.iter().enumerate().fold(T::zero(), |a, (j, &v)| {
        a + if j == y { softplus(-v) } else { softplus(v) }
    });
    total / k
}

/// Replaces the scores `s: K` by `g = (σ(s) − y) / K`.
pub(super) fn gradient<T: Float>(mut col: ArrayViewMut1<T>, y: usize) {
    let k = T::from(col.len()).unwrap_or_else(T::one);
    col.mapv_inplace(|v| sigmoid(v) / k);
    col[y] = col[y] - T::one() / k;
}

/// `σ(v) = 1 / (1 + e^−v)`, computed without overflow for either sign of `v`.
pub fn sigmoid<T: Float>(v: T) -> T {
    if v >= T::zero() {
        T::one() / (T::one() + (-v).exp())
    } else {
        let e = v.exp();
        e / (T::one() + e)
    }
}

/// `softplus(v) = log(1 + e^v)`, stable for large `|v|`.
pub fn softplus<T: Float>(v: T) -> T {
    v.max(T::zero()) + (-v.abs()).exp().ln_1p()
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::super::Loss;
    use super::sigmoid;

    #[test]
    fn sigmoid_by_hand() {
        // ℓ = −(1/2)(log σ(1) + log(1 − σ(−1))) = −log σ(1) = log(1 + e^−1).
        let s = array![1.0f64, -1.0];
        let l = Loss::Sigmoid.example_loss(s.view(), 0);
        assert!((l - (1.0 + (-1.0f64).exp()).ln()).abs() < 1e-15);
        // Finite far out in both directions.
        let big = array![800.0f64, -800.0];
        assert!(Loss::Sigmoid.example_loss(big.view(), 1).is_finite());
        assert!((sigmoid(-800.0f64)).abs() < 1e-300 && sigmoid(800.0f64) == 1.0);
    }
}
