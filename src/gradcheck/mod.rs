//! Gradient check: the analytic gradients of [`crate::model::gradients`] against
//! centred finite differences of the cost, in f64, with the report's relative error
//! `|ga − gn| / max(eps, |ga| + |gn|)`.

use ndarray::{Array1, Array2, ArrayView2, s};

use crate::loss::Loss;
use crate::model::{self, Model};
use crate::results::GradCheckReport;

mod cases;
pub use cases::{
    GCE_EPS, GRADCHECK_LAMBDA, HINGE_EPS, SIGMOID_STEP, gradient_checks, gradient_checks_for,
};

/// Which slice of the problem to check, and how.
#[derive(Debug, Clone, PartialEq)]
pub struct GradCheckConfig {
    /// Input dimensions checked (the first `dims` of each image).
    pub dims: usize,
    /// Examples checked (the first `examples` images).
    pub examples: usize,
    /// Step `h` of the centred differences `(J(θ+h) − J(θ−h)) / 2h`.
    pub step: f64,
    /// Floor of the denominator of the relative error.
    pub eps: f64,
    /// Seed of the random weights the check is made at.
    pub seed: u64,
}

impl Default for GradCheckConfig {
    fn default() -> Self {
        GradCheckConfig {
            dims: 100,
            examples: 50,
            step: 1e-5,
            eps: 1e-10,
            seed: crate::config::DEFAULT_SEED,
        }
    }
}

/// Analytic gradients `(∂J/∂W, ∂J/∂b)` as a function of the model, the data and λ.
pub type GradientFn =
    dyn Fn(&Model<f64>, ArrayView2<f64>, &[u8], f64) -> (Array2<f64>, Array1<f64>);

/// Centred finite differences of the cost `J` for every entry of W and b.
pub fn numerical_gradients(
    m: &Model<f64>,
    x: ArrayView2<f64>,
    labels: &[u8],
    lambda: f64,
    h: f64,
) -> (Array2<f64>, Array1<f64>) {
    numerical_gradients_of(&|p| model::cost(p, x, labels, lambda), m, h)
}

/// Centred finite differences `(J(θ+h) − J(θ−h)) / 2h` of any cost `J(model)`,
/// for every entry of W and b.
pub fn numerical_gradients_of(
    cost: &dyn Fn(&Model<f64>) -> f64,
    m: &Model<f64>,
    h: f64,
) -> (Array2<f64>, Array1<f64>) {
    let mut probe = m.clone();
    let mut gw = Array2::zeros(m.w.dim());
    for idx in ndarray::indices(m.w.dim()) {
        let v = m.w[idx];
        probe.w[idx] = v + h;
        let plus = cost(&probe);
        probe.w[idx] = v - h;
        let minus = cost(&probe);
        probe.w[idx] = v;
        gw[idx] = (plus - minus) / (2.0 * h);
    }
    let mut gb = Array1::zeros(m.b.len());
    for i in 0..m.b.len() {
        let v = m.b[i];
        probe.b[i] = v + h;
        let plus = cost(&probe);
        probe.b[i] = v - h;
        let minus = cost(&probe);
        probe.b[i] = v;
        gb[i] = (plus - minus) / (2.0 * h);
    }
    (gw, gb)
}

/// Max and mean of `|a − n| / max(eps, |a| + |n|)` over paired entries.
pub fn relative_errors<'a>(
    analytic: impl IntoIterator<Item = &'a f64>,
    numeric: impl IntoIterator<Item = &'a f64>,
    eps: f64,
) -> (f64, f64) {
    let (mut max, mut sum, mut count) = (0f64, 0f64, 0usize);
    for (a, n) in analytic.into_iter().zip(numeric) {
        let e = (a - n).abs() / eps.max(a.abs() + n.abs());
        max = max.max(e);
        sum += e;
        count += 1;
    }
    (max, if count > 0 { sum / count as f64 } else { 0.0 })
}

/// The first `cfg.dims` rows and `cfg.examples` columns of `x: d×n`, their labels,
/// and weights for that many dimensions drawn as in training.
fn slice<'a>(
    x: ArrayView2<'a, f64>,
    labels: &'a [u8],
    k: usize,
    cfg: &GradCheckConfig,
) -> (ArrayView2<'a, f64>, &'a [u8], Model<f64>) {
    let dims = cfg.dims.min(x.nrows());
    let examples = cfg.examples.min(x.ncols()).min(labels.len());
    let m = Model::init(k, dims, cfg.seed).to_f64();
    (x.slice_move(s![..dims, ..examples]), &labels[..examples], m)
}

/// The report of analytic against numerical gradients `(∂J/∂W, ∂J/∂b)` on `x`.
fn report(
    lambda: f64,
    x: ArrayView2<f64>,
    (aw, ab): (Array2<f64>, Array1<f64>),
    (nw, nb): (Array2<f64>, Array1<f64>),
    cfg: &GradCheckConfig,
) -> GradCheckReport {
    let (max_rel_w, mean_rel_w) = relative_errors(&aw, &nw, cfg.eps);
    let (max_rel_b, mean_rel_b) = relative_errors(&ab, &nb, cfg.eps);
    GradCheckReport {
        lambda,
        dims: x.nrows(),
        examples: x.ncols(),
        step: cfg.step,
        max_rel_w,
        mean_rel_w,
        max_rel_b,
        mean_rel_b,
    }
}

/// Checks `analytic` on the first `cfg.dims` rows and `cfg.examples` columns of
/// `x: d×n` (already normalised), at weights drawn as in training.
pub fn check_with(
    analytic: &GradientFn,
    x: ArrayView2<f64>,
    labels: &[u8],
    k: usize,
    lambda: f64,
    cfg: &GradCheckConfig,
) -> GradCheckReport {
    let (xs, ys, m) = slice(x, labels, k, cfg);
    let a = analytic(&m, xs, ys, lambda);
    let n = numerical_gradients(&m, xs, ys, lambda, cfg.step);
    report(lambda, xs, a, n, cfg)
}

/// Checks the analytic gradients of `loss` ([`crate::loss::gradients`]) against
/// finite differences of its cost ([`crate::loss::cost`]) at the model `m`, on
/// `x: d×n` whose rows match `m`'s columns.
pub fn check_loss_at(
    loss: Loss,
    m: &Model<f64>,
    x: ArrayView2<f64>,
    labels: &[u8],
    lambda: f64,
    cfg: &GradCheckConfig,
) -> GradCheckReport {
    let a = crate::loss::gradients(loss, m, x, labels, lambda);
    let n = numerical_gradients_of(
        &|p| crate::loss::cost(loss, p, x, labels, lambda),
        m,
        cfg.step,
    );
    report(lambda, x, a, n, cfg)
}

/// Checks `loss` on the first `cfg.dims` rows and `cfg.examples` columns of `x`,
/// at weights drawn as in training (as [`check_with`] does for softmax).
pub fn check_loss(
    loss: Loss,
    x: ArrayView2<f64>,
    labels: &[u8],
    k: usize,
    lambda: f64,
    cfg: &GradCheckConfig,
) -> GradCheckReport {
    let (xs, ys, m) = slice(x, labels, k, cfg);
    check_loss_at(loss, &m, xs, ys, lambda, cfg)
}

/// Checks the model's own analytic gradients ([`model::gradients`]).
pub fn check(
    x: ArrayView2<f64>,
    labels: &[u8],
    k: usize,
    lambda: f64,
    cfg: &GradCheckConfig,
) -> GradCheckReport {
    check_with(
        &|m, x, y, l| model::gradients(m, x, y, l),
        x,
        labels,
        k,
        lambda,
        cfg,
    )
}
