//! The hot path: one mini-batch step of gradient descent and the evaluation of a
//! whole data set, in f32 with buffers reused across steps. Everything speed-
//! critical lives here; [`crate::model`] holds the plain reference maths these
//! are tested against.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis, s};

use crate::loss::Loss;
use crate::model::Model;
use crate::results::Metrics;

/// Buffers for one mini-batch step, allocated once per run.
#[derive(Debug)]
pub struct Workspace {
    /// Scores, then probabilities, then `G = P − Y`: `K×n_batch`.
    g: Array2<f32>,
    /// `∂J/∂W`: `K×d`.
    grad_w: Array2<f32>,
    /// `∂J/∂b`: `K`.
    grad_b: Array1<f32>,
}

impl Workspace {
    /// Buffers for `K` classes, `d` dimensions and mini-batches of `n_batch`.
    pub fn new(k: usize, d: usize, n_batch: usize) -> Workspace {
        Workspace {
            g: Array2::zeros((k, n_batch)),
            grad_w: Array2::zeros((k, d)),
            grad_b: Array1::zeros(k),
        }
    }
}

/// One step of mini-batch gradient descent on `(X: d×n, y)`:
/// `W ← W − η ((1/n) G Xᵀ + 2λW)`, `b ← b − η (1/n) G 1`, with `G = P − Y` for
/// softmax and `G = ∂ℓ/∂S` for the other losses (see [`crate::loss`]).
pub fn sgd_step(
    model: &mut Model,
    x: ArrayView2<f32>,
    labels: &[u8],
    lambda: f32,
    eta: f32,
    loss: Loss,
    ws: &mut Workspace,
) {
    let n = labels.len();
    let mut g = ws.g.slice_mut(s![.., ..n]);
    // S = W X + b 1ᵀ
    general_mat_mul(1.0, &model.w, &x, 0.0, &mut g);
    for (mut col, &y) in g.columns_mut().into_iter().zip(labels) {
        col += &model.b;
        if loss != Loss::Softmax {
            loss.score_gradient(col, y as usize);
            continue;
        }
        // P = softmax(S), then G = P − Y
        let max = col.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        col.mapv_inplace(|v| (v - max).exp());
        let sum = col.sum();
        col.mapv_inplace(|v| v / sum);
        col[y as usize] -= 1.0;
    }
    let inv_n = 1.0 / n as f32;
    // ∂J/∂W = (1/n) G Xᵀ + 2λW
    ws.grad_w.assign(&model.w);
    general_mat_mul(inv_n, &g, &x.t(), 2.0 * lambda, &mut ws.grad_w);
    // ∂J/∂b = (1/n) G 1
    ws.grad_b.assign(&g.sum_axis(Axis(1)));
    ws.grad_b *= inv_n;
    model.w.scaled_add(-eta, &ws.grad_w);
    model.b.scaled_add(-eta, &ws.grad_b);
}

/// Columns scored at a time by [`evaluate`].
const EVAL_CHUNK: usize = 512;

/// Loss, cost and accuracy of `model` on the whole set `(X: d×n, y)` under any
/// loss: [`evaluate`] for softmax, else each image's loss in f64 from its scores.
pub fn evaluate_loss(
    model: &Model,
    x: ArrayView2<f32>,
    labels: &[u8],
    lambda: f64,
    loss: Loss,
) -> Metrics {
    if loss == Loss::Softmax {
        return evaluate(model, x, labels, lambda);
    }
    let n = labels.len();
    let mut total_loss = 0f64;
    let mut correct = 0usize;
    for start in (0..n).step_by(EVAL_CHUNK) {
        let end = (start + EVAL_CHUNK).min(n);
        let s = crate::model::scores(model.w.view(), model.b.view(), x.slice(s![.., start..end]))
            .mapv(f64::from);
        for (col, &y) in s.columns().into_iter().zip(&labels[start..end]) {
            total_loss += loss.example_loss(col, y as usize);
            correct += usize::from(crate::model::argmax(col) == y as usize);
        }
    }
    let l2: f64 = model.w.iter().map(|&v| (v as f64) * (v as f64)).sum();
    let loss = if n > 0 { total_loss / n as f64 } else { 0.0 };
    Metrics {
        loss,
        cost: loss + lambda * l2,
        accuracy: if n > 0 {
            correct as f64 / n as f64
        } else {
            0.0
        },
    }
}

/// Loss, cost and accuracy of `model` on the whole set `(X: d×n, y)`, with the
/// loss through log-sum-exp and sums in f64.
pub fn evaluate(model: &Model, x: ArrayView2<f32>, labels: &[u8], lambda: f64) -> Metrics {
    let k = model.w.nrows();
    let n = labels.len();
    let mut s = Array2::<f32>::zeros((k, EVAL_CHUNK.min(n.max(1))));
    let mut total_loss = 0f64;
    let mut correct = 0usize;
    for start in (0..n).step_by(EVAL_CHUNK) {
        let end = (start + EVAL_CHUNK).min(n);
        let mut sc = s.slice_mut(s![.., ..end - start]);
        general_mat_mul(1.0, &model.w, &x.slice(s![.., start..end]), 0.0, &mut sc);
        for (col, &y) in sc.columns().into_iter().zip(&labels[start..end]) {
            let mut max = f32::NEG_INFINITY;
            let mut best = 0;
            for (i, (&v, &b)) in col.iter().zip(&model.b).enumerate() {
                if v + b > max {
                    max = v + b;
                    best = i;
                }
            }
            let sum: f64 = col
                .iter()
                .zip(&model.b)
                .map(|(&v, &b)| ((v + b - max) as f64).exp())
                .sum();
            total_loss += max as f64 + sum.ln() - (col[y as usize] + model.b[y as usize]) as f64;
            correct += usize::from(best == y as usize);
        }
    }
    let loss = if n > 0 { total_loss / n as f64 } else { 0.0 };
    let l2: f64 = model.w.iter().map(|&v| (v as f64) * (v as f64)).sum();
    Metrics {
        loss,
        cost: loss + lambda * l2,
        accuracy: if n > 0 {
            correct as f64 / n as f64
        } else {
            0.0
        },
    }
}
