//! The losses a one-layer network can be trained with, written plainly and
//! generic over f32/f64 like [`crate::model`]. Each gives the loss of one image's
//! scores `s: K` with label `y`, and its gradient with respect to those scores,
//! `g = ∂ℓ/∂s: K`. With `G = [g₁ … gₙ]: K×n` the same formulas hold for all of them:
//!
//! ```text
//! L = (1/n) Σᵢ ℓ(sᵢ, yᵢ)             J = L + λ ‖W‖²
//! ∂J/∂W = (1/n) G Xᵀ + 2λW           ∂J/∂b = (1/n) G 1
//! ```
//!
//! - softmax cross-entropy (the report's): `ℓ = logΣexp(s) − s_y`, `g = p − y`
//!   with `p = softmax(s)`;
//! - multiple binary cross-entropy with sigmoid outputs:
//!   `ℓ = −(1/K) Σₖ [yₖ log σ(sₖ) + (1 − yₖ) log(1 − σ(sₖ))]`, `g = (σ(s) − y) / K`;
//! - multi-class SVM (hinge): `ℓ = Σ_{j≠y} max(0, s_j − s_y + 1)`, whose
//!   sub-gradient is `g_j = 1[s_j − s_y + 1 > 0]` for `j ≠ y` and
//!   `g_y = −Σ_{j≠y} g_j`;
//! - softmax cross-entropy against smoothed targets `t = (1 − ε) y + ε/K`
//!   (label smoothing, `0 ≤ ε < 1`): `ℓ = −Σₖ tₖ log pₖ
//!   = logΣexp(s) − (1 − ε) s_y − (ε/K) Σₖ sₖ`, `g = p − t`. A softmax run with
//!   `label_smoothing = ε` takes its steps with it; at ε = 0 it is the softmax loss;
//! - generalized cross-entropy (Zhang & Sabuncu, 2018), `0 < q ≤ 1`:
//!   `ℓ = (1 − p_y^q) / q`, `g = p_y^q (p − y)`: the softmax gradient weighted by
//!   `p_y^q`, so that images the network gives little chance (the ones a linear
//!   model cannot fit) pull less. It tends to the softmax loss as `q → 0`; `q = 1`
//!   gives `1 − p_y`, half the mean absolute error `‖p − y‖₁`. A softmax run with
//!   `gce_q = q` takes its steps with it.

use std::fmt;
use std::str::FromStr;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, Axis, LinalgScalar};
use num_traits::Float;
use serde::{Deserialize, Serialize};

use crate::model::{self, Model};

/// Which loss a run minimises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Softmax cross-entropy, the report's.
    #[default]
    Softmax,
    /// Multiple binary cross-entropy with one sigmoid output per class.
    Sigmoid,
    /// Multi-class SVM (hinge) loss with margin 1.
    Hinge,
    /// Softmax cross-entropy against the targets `(1 − ε) y + ε/K`, with ε the
    /// field. Not named by a config's `loss`: it is what a softmax run with
    /// `label_smoothing = ε` steps with (see [`crate::config::RunOptions::step_loss`]).
    #[serde(skip)]
    SmoothedSoftmax(f64),
    /// Generalized cross-entropy `(1 − p_y^q) / q` of the softmax probabilities,
    /// with `q` the field. Not named by a config's `loss`: it is what a softmax run
    /// with `gce_q = q` steps with (see [`crate::config::RunOptions::step_loss`]).
    #[serde(skip)]
    Generalized(f64),
}

impl Loss {
    /// Every loss, in a fixed order.
    pub const ALL: [Loss; 3] = [Loss::Softmax, Loss::Sigmoid, Loss::Hinge];

    /// The name used in configs and flags.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Softmax => "softmax",
            Loss::Sigmoid => "sigmoid",
            Loss::Hinge => "hinge",
            Loss::SmoothedSoftmax(_) => "smoothed_softmax",
            Loss::Generalized(_) => "generalized_softmax",
        }
    }

    /// Loss `ℓ(s, y)` of one image's scores `s: K`, finite for any finite scores.
    pub fn example_loss<T: Float>(self, s: ArrayView1<T>, y: usize) -> T {
        match self {
            Loss::Softmax => model::log_sum_exp(s) - s[y],
            Loss::Sigmoid => {
                // −log σ(s) = softplus(−s), −log(1 − σ(s)) = softplus(s).
                let k = T::from(s.len()).unwrap_or_else(T::one);
                let total = s.iter().enumerate().fold(T::zero(), |a, (j, &v)| {
                    a + if j == y { softplus(-v) } else { softplus(v) }
                });
                total / k
            }
            Loss::Hinge => s.iter().enumerate().fold(T::zero(), |a, (j, &v)| {
                if j == y {
                    a
                } else {
                    a + (v - s[y] + T::one()).max(T::zero())
                }
            }),
            Loss::SmoothedSoftmax(eps) => {
                let (eps, one) = (T::from(eps).unwrap_or_else(T::zero), T::one());
                let k = T::from(s.len()).unwrap_or_else(T::one);
                let sum = s.fold(T::zero(), |a, &v| a + v);
                model::log_sum_exp(s) - (one - eps) * s[y] - eps / k * sum
            }
            Loss::Generalized(q) => {
                // 1 − p_y^q = −expm1(q log p_y), exact as q → 0 where 1 − p_y^q cancels.
                let q = T::from(q).unwrap_or_else(T::one);
                -(q * log_p_y(s, y)).exp_m1() / q
            }
        }
    }

    /// Mean loss `L = (1/n) Σᵢ ℓ(sᵢ, yᵢ)` of scores `S: K×n`.
    pub fn mean_loss<T: Float>(self, s: ArrayView2<T>, labels: &[u8]) -> T {
        let n = T::from(labels.len()).unwrap_or_else(T::one);
        let total = s
            .columns()
            .into_iter()
            .zip(labels)
            .fold(T::zero(), |a, (col, &y)| {
                a + self.example_loss(col, y as usize)
            });
        total / n
    }

    /// Replaces one image's scores `s: K` by `g = ∂ℓ/∂s` in place (see the module
    /// documentation for each loss's `g`).
    pub fn score_gradient<T: Float>(self, mut col: ArrayViewMut1<T>, y: usize) {
        match self {
            Loss::Softmax => {
                Loss::Softmax.probabilities(col.view_mut());
                col[y] = col[y] - T::one();
            }
            Loss::SmoothedSoftmax(eps) => {
                let (eps, one) = (T::from(eps).unwrap_or_else(T::zero), T::one());
                let k = T::from(col.len()).unwrap_or_else(T::one);
                Loss::Softmax.probabilities(col.view_mut());
                col.mapv_inplace(|v| v - eps / k);
                col[y] = col[y] - (one - eps);
            }
            Loss::Generalized(q) => {
                let q = T::from(q).unwrap_or_else(T::one);
                let weight = (q * log_p_y(col.view(), y)).exp();
                Loss::Softmax.score_gradient(col.view_mut(), y);
                col.mapv_inplace(|v| v * weight);
            }
            Loss::Sigmoid => {
                let k = T::from(col.len()).unwrap_or_else(T::one);
                col.mapv_inplace(|v| sigmoid(v) / k);
                col[y] = col[y] - T::one() / k;
            }
            Loss::Hinge => {
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
        }
    }

    /// Replaces one image's scores by the class probabilities the loss models:
    /// `softmax(s)` for softmax (smoothed or not), `σ(s)` (one independent probability per class)
    /// for sigmoid. The hinge loss models no probabilities; its scores are mapped
    /// through `softmax` so that they can be averaged in an ensemble.
    pub fn probabilities<T: Float>(self, mut col: ArrayViewMut1<T>) {
        match self {
            Loss::Softmax | Loss::Hinge | Loss::SmoothedSoftmax(_) | Loss::Generalized(_) => {
                let max = col.fold(T::neg_infinity(), |m, &v| m.max(v));
                col.mapv_inplace(|v| (v - max).exp());
                let sum = col.fold(T::zero(), |a, &v| a + v);
                col.mapv_inplace(|v| v / sum);
            }
            Loss::Sigmoid => col.mapv_inplace(sigmoid),
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Loss {
    type Err = String;

    fn from_str(s: &str) -> Result<Loss, String> {
        Loss::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| format!("unknown loss {s:?}, expected softmax, sigmoid or hinge"))
    }
}

/// `log p_y = s_y − logΣexp(s)`: the log softmax probability of class `y`,
/// finite for any finite scores.
fn log_p_y<T: Float>(s: ArrayView1<T>, y: usize) -> T {
    s[y] - model::log_sum_exp(s)
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

/// Cost `J = L + λ ‖W‖²` of the model on `(X: d×n, y)` under `loss`.
pub fn cost<T: Float + LinalgScalar>(
    loss: Loss,
    m: &Model<T>,
    x: ArrayView2<T>,
    labels: &[u8],
    lambda: T,
) -> T {
    let s = model::scores(m.w.view(), m.b.view(), x);
    loss.mean_loss(s.view(), labels) + model::l2_penalty(m.w.view(), lambda)
}

/// Analytic gradients of [`cost`]: with `G = [∂ℓ/∂s₁ … ∂ℓ/∂sₙ]: K×n`,
/// `∂J/∂W = (1/n) G Xᵀ + 2λW` (`K×d`) and `∂J/∂b = (1/n) G 1` (`K`).
pub fn gradients<T: Float + LinalgScalar>(
    loss: Loss,
    m: &Model<T>,
    x: ArrayView2<T>,
    labels: &[u8],
    lambda: T,
) -> (Array2<T>, Array1<T>) {
    let n = T::from(labels.len()).unwrap_or_else(T::one);
    let mut g = model::scores(m.w.view(), m.b.view(), x);
    for (col, &y) in g.columns_mut().into_iter().zip(labels) {
        loss.score_gradient(col, y as usize);
    }
    let two = T::one() + T::one();
    let grad_w = g.dot(&x.t()).mapv(|v| v / n) + &m.w.mapv(|v| two * lambda * v);
    let grad_b = g.sum_axis(Axis(1)).mapv(|v| v / n);
    (grad_w, grad_b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, array};

    #[test]
    fn softmax_matches_the_models_maths() {
        let m = Model::init(4, 6, 3).to_f64();
        let x = Array2::from_shape_fn((6, 5), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
        let y = [0u8, 3, 1, 2, 3];
        let (gw, gb) = gradients(Loss::Softmax, &m, x.view(), &y, 0.3);
        let (rw, rb) = model::gradients(&m, x.view(), &y, 0.3);
        assert!((&gw - &rw).iter().all(|v| v.abs() < 1e-15));
        assert!((&gb - &rb).iter().all(|v| v.abs() < 1e-15));
        let c = cost(Loss::Softmax, &m, x.view(), &y, 0.3);
        assert!((c - model::cost(&m, x.view(), &y, 0.3)).abs() < 1e-15);
    }

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

    #[test]
    fn losses_are_non_negative_and_names_round_trip() {
        let s = Array1::from(vec![0.3f64, -2.0, 5.0, 0.0]);
        for l in Loss::ALL {
            for y in 0..4 {
                assert!(l.example_loss(s.view(), y) >= 0.0);
            }
            assert_eq!(l.name().parse::<Loss>().unwrap(), l);
        }
        for l in [Loss::SmoothedSoftmax(0.3), Loss::Generalized(0.5)] {
            for y in 0..4 {
                assert!(l.example_loss(s.view(), y) >= 0.0);
            }
            assert!(
                l.name().parse::<Loss>().is_err(),
                "{l} is not named by configs"
            );
        }
        assert!("svm".parse::<Loss>().is_err());
    }

    fn data(d: usize, n: usize, seed: u64) -> (Array2<f64>, Vec<u8>) {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
        let x = Array2::from_shape_simple_fn((d, n), || rng.random_range(-2.0..2.0));
        let y = (0..n).map(|_| rng.random_range(0..10u8)).collect();
        (x, y)
    }

    #[test]
    fn every_loss_passes_the_gradient_check() {
        let (x, y) = data(20, 15, 7);
        let cfg = crate::gradcheck::GradCheckConfig::default();
        // The centred difference carries a rounding error of about
        // ε_mach |J| / h ≈ 1e-11: an entry of ∂J/∂W below 1e-5 cannot be resolved
        // to 1e-6 relative. The generalized cross-entropy's gradients, weighted by
        // p_y^q, have such entries here (6.7e-7, matched to 1.4e-11); its check
        // floors the denominator (see GCE_EPS).
        let floored = crate::gradcheck::GradCheckConfig {
            eps: crate::gradcheck::GCE_EPS,
            ..cfg.clone()
        };
        let others = [
            Loss::SmoothedSoftmax(0.3),
            Loss::Generalized(0.5),
            Loss::Generalized(1.0),
        ];
        for loss in Loss::ALL.into_iter().chain(others) {
            let cfg = match loss {
                Loss::Generalized(_) => &floored,
                _ => &cfg,
            };
            for lambda in [0.0, 0.1] {
                let r = crate::gradcheck::check_loss(loss, x.view(), &y, 10, lambda, cfg);
                assert!(r.max_rel() < 1e-6, "{loss} λ={lambda}: {r:?}");
                assert_eq!((r.dims, r.examples), (20, 15));
            }
        }
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
