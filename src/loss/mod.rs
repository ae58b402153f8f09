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
//!   `loss = { smoothing = ε }` takes its steps with it; at ε = 0 it is the softmax loss;
//! - generalized cross-entropy (Zhang & Sabuncu, 2018), `0 < q ≤ 1`:
//!   `ℓ = (1 − p_y^q) / q`, `g = p_y^q (p − y)`: the softmax gradient weighted by
//!   `p_y^q`, so that images the network gives little chance (the ones a linear
//!   model cannot fit) pull less. It tends to the softmax loss as `q → 0`; `q = 1`
//!   gives `1 − p_y`, half the mean absolute error `‖p − y‖₁`. A run with
//!   `loss = { gce = q }` takes its steps with it.
//!
//! One file per loss holds its `ℓ` and `g`. Adding a loss, in order (the compiler
//! names each `match` that needs a new arm):
//!
//! 1. a file beside `softmax.rs` with its `ℓ(s, y)` and `g = ∂ℓ/∂s`, and its `mod`
//!    line here;
//! 2. a variant of [`Loss`], sent to that file by [`Loss::example_loss`] and
//!    [`Loss::score_gradient`],
//!    with its [`Loss::name`], its [`Loss::probabilities`] (what the ensemble
//!    averages), and, when a word names it in configs and flags, a place in
//!    [`Loss::ALL`] and in the flags' help (`config/options.rs`, `cli/gradcheck.rs`);
//!    a loss with a parameter is checked by [`Loss::check`] and written in a config
//!    as `loss = { name = value }` (`config/options.rs`);
//! 3. its gradient check's step and floor in `gradcheck/cases.rs`, an entry in the
//!    test `every_loss_passes_the_gradient_check` below and in the kernels' test list
//!    (`kernels/tests.rs`, which checks the fast step against these formulas).
//!
//! The training step, the evaluation and `onelayer gradcheck` take every loss from here.

use std::fmt;
use std::str::FromStr;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut1, Axis, LinalgScalar};
use num_traits::Float;
use serde::{Deserialize, Serialize};

use crate::model::{self, Model};

mod gce;
mod hinge;
mod sigmoid;
mod softmax;

pub use sigmoid::{sigmoid, softplus};

/// Which loss a run minimises, as written in a config: `loss = "softmax"`,
/// `"sigmoid"`, `"hinge"`, `{ smoothing = ε }` or `{ gce = q }`.
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
    /// field, `0 ≤ ε < 1` (`loss = { smoothing = ε }`, or `label_smoothing = ε`
    /// with the softmax loss).
    #[serde(rename = "smoothing")]
    SmoothedSoftmax(f64),
    /// Generalized cross-entropy `(1 − p_y^q) / q` of the softmax probabilities,
    /// with `q` the field, `0 < q ≤ 1` (`loss = { gce = q }`, or `gce_q = q` with
    /// the softmax loss).
    #[serde(rename = "gce")]
    Generalized(f64),
}

/// A loss's parameter out of its range, named by its field (`run[0].loss.gce`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct LossError {
    /// The parameter, as written in the file or flag.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Loss {
    /// Every loss named by a word, in a fixed order.
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

    /// The loss a run reports (training, validation and test loss): the softmax
    /// cross-entropy for the smoothed and generalized ones, whose steps only
    /// differ, so that runs with and without them compare.
    pub fn reported(self) -> Loss {
        match self {
            Loss::SmoothedSoftmax(_) | Loss::Generalized(_) => Loss::Softmax,
            l => l,
        }
    }

    /// Checks the parameter: `0 ≤ ε < 1`, `0 < q ≤ 1`; `field` names the loss.
    pub fn check(self, field: &str) -> Result<(), LossError> {
        let bad = |what: &str, reason: String| {
            Err(LossError {
                field: format!("{field}.{what}"),
                reason,
            })
        };
        match self {
            Loss::SmoothedSoftmax(eps) if !(0.0..1.0).contains(&eps) => {
                bad("smoothing", format!("must be in [0, 1), got {eps}"))
            }
            Loss::Generalized(q) if !(q > 0.0 && q <= 1.0) => {
                bad("gce", format!("must be in (0, 1], got {q}"))
            }
            _ => Ok(()),
        }
    }

    /// Loss `ℓ(s, y)` of one image's scores `s: K`, finite for any finite scores.
    pub fn example_loss<T: Float>(self, s: ArrayView1<T>, y: usize) -> T {
        match self {
            Loss::Softmax => softmax::loss(s, y),
            Loss::Sigmoid => sigmoid::loss(s, y),
            Loss::Hinge => hinge::loss(s, y),
            Loss::SmoothedSoftmax(eps) => softmax::smoothed_loss(eps, s, y),
            Loss::Generalized(q) => gce::loss(q, s, y),
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
    pub fn score_gradient<T: Float>(self, col: ArrayViewMut1<T>, y: usize) {
        match self {
            Loss::Softmax => softmax::gradient(col, y),
            Loss::SmoothedSoftmax(eps) => softmax::smoothed_gradient(eps, col, y),
            Loss::Generalized(q) => gce::gradient(q, col, y),
            Loss::Sigmoid => sigmoid::gradient(col, y),
            Loss::Hinge => hinge::gradient(col, y),
        }
    }

    /// Replaces one image's scores by the class probabilities the loss models:
    /// `softmax(s)` for softmax (smoothed or not), `σ(s)` (one independent probability per class)
    /// for sigmoid. The hinge loss models no probabilities; its scores are mapped
    /// through `softmax` so that they can be averaged in an ensemble.
    pub fn probabilities<T: Float>(self, mut col: ArrayViewMut1<T>) {
        match self {
            Loss::Softmax | Loss::Hinge | Loss::SmoothedSoftmax(_) | Loss::Generalized(_) => {
                softmax::probabilities(col)
            }
            Loss::Sigmoid => col.mapv_inplace(sigmoid),
        }
    }
}

/// A loss as a config writes it after `loss =`: `hinge`, `{ gce = 0.7 }`.
impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loss::SmoothedSoftmax(eps) => write!(f, "{{ smoothing = {eps} }}"),
            Loss::Generalized(q) => write!(f, "{{ gce = {q} }}"),
            named => f.write_str(named.name()),
        }
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
    use ndarray::Array1;

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

    /// Random images `X: d×n` in [−2, 2) and labels in 0..10.
    pub(super) fn data(d: usize, n: usize, seed: u64) -> (Array2<f64>, Vec<u8>) {
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
}
