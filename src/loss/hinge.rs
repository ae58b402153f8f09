//! Multi-class SVM (hinge) loss with margin 1:
//!
//! ```text
//! ℓ = Σ_{j≠y} max(0, s_j − s_y + 1)
//! g_j = 1[s_j − s_y + 1 > 0]  (j ≠ y),   g_y = −Σ_{j≠y} g_j     (a sub-gradient)
//! ```

use ndarray::{ArrayView1, ArrayViewMut1};
use num_traits::Float;

/// `ℓ` of one image's scores `s: K`.
pub(super) fn loss<T: Float>(s: ArrayView1<T>, y: usize) -> T {
    s.iter().enumerate().fold(T::zero(), |a, (j, &v)| {
        if j == y {
            a
        } else {
            a + (v - s[y] + T::one()).max(T::zero())
        }
    })
}

/// Replaces the scores `s: K` by the sub-gradient `g`.
pub(super) fn gradient<T: Float>(mut col: ArrayViewMut1<T>, y: usize) {
    let sy = col[y];
    let mut active = T::zero();
    for (j, v) in col.iter_mut().enumerate() {
        *v = if j != y && *v - sy + T::one() > T::zero() {
            active = active + T::one();
            T::one()
        } else {
            T::zero()
        };
    }
    col[y] = -active;
}

#[cfg(test)]
mod tests {
    use ndarray::{Axis, array};

    use super::super::Loss;
    use super::super::tests::data;
    use crate::model::{self, Model};

    #[test]
    fn hinge_by_hand() {
        // s = (2, 0.5, 1.8), y = 0: margins 0.5 − 2 + 1 = −0.5 and 1.8 − 2 + 1 = 0.8.
        let s = array![2.0, 0.5, 1.8];
        assert!((Loss::Hinge.example_loss(s.view(), 0) - 0.8f64).abs() < 1e-15);
        let mut g = s.clone();
        Loss::Hinge.score_gradient(g.view_mut(), 0);
        assert_eq!(g, array![-1.0, 0.0, 1.0]);
    }

    #[test]
    fn hinge_sub_gradient_checks_where_differentiable() {
        // Large weights put margins on both sides of the kink; keep the images
        // whose margins are all far from 0, where the loss is differentiable.
        let (x, y) = data(20, 40, 11);
        let mut m = Model::init(10, 20, 5).to_f64();
        m.w.mapv_inplace(|v| v * 30.0);
        let s = model::scores(m.w.view(), m.b.view(), x.view());
        let keep: Vec<usize> = (0..y.len())
            .filter(|&i| {
                let sy = s[[y[i] as usize, i]];
                s.column(i)
                    .iter()
                    .enumerate()
                    .all(|(j, &v)| j == y[i] as usize || (v - sy + 1.0).abs() > 1e-3)
            })
            .collect();
        let xs = x.select(Axis(1), &keep);
        let ys: Vec<u8> = keep.iter().map(|&i| y[i]).collect();
        let sk = s.select(Axis(1), &keep);
        let (mut on, mut off) = (0, 0);
        for (col, &yi) in sk.columns().into_iter().zip(&ys) {
            for (j, &v) in col.iter().enumerate() {
                if j != yi as usize {
                    if v - col[yi as usize] + 1.0 > 0.0 {
                        on += 1
                    } else {
                        off += 1
                    }
                }
            }
        }
        assert!(
            keep.len() >= 20 && on > 20 && off > 20,
            "{} {on} {off}",
            keep.len()
        );
        // Entries of ∂J/∂b are multiples of 1/n and may be exactly 0, where the
        // finite difference is rounding noise: floor the denominator at 1e-3.
        let cfg = crate::gradcheck::GradCheckConfig {
            eps: 1e-3,
            ..Default::default()
        };
        let r = crate::gradcheck::check_loss_at(Loss::Hinge, &m, xs.view(), &ys, 0.01, &cfg);
        assert!(r.max_rel() < 1e-5, "{r:?}");
    }
}
