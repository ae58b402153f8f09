//! The one-layer network and its maths, written plainly: this is the reference
//! implementation that the fast kernels in [`crate::kernels`] are tested against,
//! and the one the gradient check differentiates (in f64).
//!
//! Shapes: `X: d×n` (one column per image), `W: K×d`, `b: K`, `S, P, G: K×n`.
//!
//! Checking your own implementation against these functions, on a tiny problem:
//!
//! ```
//! use ndarray::array;
//! use onelayer::model::{self, Model};
//!
//! // K = 2 classes, d = 3 dimensions, n = 2 images (one per column).
//! let m: Model<f64> = Model { w: array![[0.1, -0.2, 0.3], [0.0, 0.1, -0.1]], b: array![0.05, -0.05] };
//! let x = array![[1.0, -1.0], [0.5, 2.0], [-0.5, 0.0]];
//! let y = [0u8, 1];
//! let lambda: f64 = 0.1;
//!
//! let s = model::scores(m.w.view(), m.b.view(), x.view());        // K×n
//! let loss = model::cross_entropy(s.view(), &y);
//! let cost = model::cost(&m, x.view(), &y, lambda);               // loss + λ‖W‖²
//! assert!((cost - loss - lambda * 0.16).abs() < 1e-12);
//!
//! let (grad_w, grad_b) = model::gradients(&m, x.view(), &y, lambda);
//! // ∂J/∂b is the mean of P − Y over the columns: its entries sum to 0.
//! assert!(grad_b.sum().abs() < 1e-12);
//! assert_eq!(grad_w.dim(), (2, 3));
//! ```

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis, LinalgScalar};
use num_traits::Float;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

/// The network's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Model<T = f32> {
    /// Weights, `K×d`.
    pub w: Array2<T>,
    /// Bias, `K`.
    pub b: Array1<T>,
}

/// Loss, cost and accuracy of a model on one data set.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Loss plus λ‖W‖².
    pub cost: f64,
    /// Fraction of images whose arg-max class is the label.
    pub accuracy: f64,
}

impl Evaluation {
    /// The evaluation of `n` images from the sum of their losses, how many were
    /// classified right and `‖W‖²`: `L = sum / n`, `J = L + λ‖W‖²`, accuracy
    /// `correct / n` (all 0 for no images).
    pub fn from_sums(sum: f64, correct: usize, n: usize, lambda: f64, l2: f64) -> Evaluation {
        let mean = if n > 0 { sum / n as f64 } else { 0.0 };
        Evaluation {
            loss: mean,
            cost: mean + lambda * l2,
            accuracy: if n > 0 {
                correct as f64 / n as f64
            } else {
                0.0
            },
        }
    }
}

/// Standard deviation of the initial weights, as in the report: N(0, 0.01²).
pub const INIT_STD: f64 = 0.01;

impl Model<f32> {
    /// W from N(0, 0.01²) drawn by a PCG64 generator seeded with `seed`; b = 0.
    pub fn init(k: usize, d: usize, seed: u64) -> Model<f32> {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
        let normal =
            Normal::new(0.0, INIT_STD).unwrap_or_else(|_| unreachable!("0.01 is a valid std"));
        let w = Array2::from_shape_simple_fn((k, d), || normal.sample(&mut rng) as f32);
        Model {
            w,
            b: Array1::zeros(k),
        }
    }

    /// The same parameters in f64.
    pub fn to_f64(&self) -> Model<f64> {
        Model {
            w: self.w.mapv(f64::from),
            b: self.b.mapv(f64::from),
        }
    }
}

impl<T: Float> Model<T> {
    /// True when every parameter is finite.
    pub fn is_finite(&self) -> bool {
        self.w.iter().chain(self.b.iter()).all(|v| v.is_finite())
    }
}

/// Scores `S = W X + b 1ᵀ`, `K×n`.
pub fn scores<T: LinalgScalar>(w: ArrayView2<T>, b: ArrayView1<T>, x: ArrayView2<T>) -> Array2<T> {
    let mut s = w.dot(&x);
    for mut col in s.columns_mut() {
        col.zip_mut_with(&b, |v, &bi| *v = *v + bi);
    }
    s
}

/// Column-wise softmax, in place: `P[:, i] = exp(S[:, i] − max) / Σ exp(S[:, i] − max)`.
pub fn softmax_columns<T: Float>(s: &mut Array2<T>) {
    for mut col in s.columns_mut() {
        let max = col.fold(T::neg_infinity(), |m, &v| m.max(v));
        col.mapv_inplace(|v| (v - max).exp());
        let sum = col.fold(T::zero(), |a, &v| a + v);
        col.mapv_inplace(|v| v / sum);
    }
}

/// `log Σ exp(s)` of one column, stable for any finite scores.
pub fn log_sum_exp<T: Float>(s: ArrayView1<T>) -> T {
    let max = s.fold(T::neg_infinity(), |m, &v| m.max(v));
    let sum = s.fold(T::zero(), |a, &v| a + (v - max).exp());
    max + sum.ln()
}

/// Mean cross-entropy from scores: `L = (1/n) Σᵢ (logΣexp(sᵢ) − sᵢ[yᵢ])`, which
/// equals `−(1/n) Σᵢ log pᵢ[yᵢ]` and is finite for any finite scores.
pub fn cross_entropy<T: Float>(s: ArrayView2<T>, labels: &[u8]) -> T {
    let n = T::from(labels.len()).unwrap_or_else(T::one);
    let total = s
        .columns()
        .into_iter()
        .zip(labels)
        .fold(T::zero(), |acc, (col, &y)| {
            acc + log_sum_exp(col) - col[y as usize]
        });
    total / n
}

/// The L2 term `λ ‖W‖²` (sum of squared weights; the bias is not penalised).
pub fn l2_penalty<T: Float>(w: ArrayView2<T>, lambda: T) -> T {
    lambda * w.fold(T::zero(), |a, &v| a + v * v)
}

/// Cost `J = L + λ ‖W‖²` of the model on `(X, y)`.
pub fn cost<T: Float + LinalgScalar>(
    model: &Model<T>,
    x: ArrayView2<T>,
    labels: &[u8],
    lambda: T,
) -> T {
    let s = scores(model.w.view(), model.b.view(), x);
    cross_entropy(s.view(), labels) + l2_penalty(model.w.view(), lambda)
}

/// Fraction of columns whose arg-max score is the label (the first maximum wins ties).
pub fn accuracy<T: Float>(s: ArrayView2<T>, labels: &[u8]) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let correct = s
        .columns()
        .into_iter()
        .zip(labels)
        .filter(|(col, y)| argmax(col.view()) == **y as usize)
        .count();
    correct as f64 / labels.len() as f64
}

/// Index of the first largest value.
pub fn argmax<T: Float>(v: ArrayView1<T>) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Analytic gradients of the cost on a mini-batch `(X: d×n, y)`:
///
/// ```text
/// P = softmax(W X + b 1ᵀ)          K×n
/// G = −(Y − P)                     K×n
/// ∂J/∂W = (1/n) G Xᵀ + 2λW         K×d
/// ∂J/∂b = (1/n) G 1                K
/// ```
///
/// The report writes `G Xᵀ` without `1/n`; the gradient of the *mean* loss has
/// `1/n` on both terms, and that is what is computed here.
pub fn gradients<T: Float + LinalgScalar>(
    model: &Model<T>,
    x: ArrayView2<T>,
    labels: &[u8],
    lambda: T,
) -> (Array2<T>, Array1<T>) {
    let n = T::from(labels.len()).unwrap_or_else(T::one);
    let mut g = scores(model.w.view(), model.b.view(), x);
    softmax_columns(&mut g);
    for (mut col, &y) in g.columns_mut().into_iter().zip(labels) {
        col[y as usize] = col[y as usize] - T::one();
    }
    let two = T::one() + T::one();
    let grad_w = g.dot(&x.t()).mapv(|v| v / n) + &model.w.mapv(|v| two * lambda * v);
    let grad_b = g.sum_axis(Axis(1)).mapv(|v| v / n);
    (grad_w, grad_b)
}
