//! The plain f32 kernels: one mini-batch step and the evaluation of a data set,
//! written loop by loop as the maths reads. Read these first; the fast kernels
//! ([`super::Workspace`]) compute the same values by the same operations in the
//! same order, only with the loops tiled, vectorised and the images packed, so
//! that the portable ones give these values bit for bit (tested) and the
//! others within rounding (they fuse the multiply-adds).
//!
//! The images stay bytes, `X: n×d` row-major, and the normalisation
//! `X̂ = a ⊙ X − β` is folded into the weights (see [`super`]):
//!
//! ```text
//! S = X (W ⊙ a)ᵀ + 1 (b − W β)ᵀ                  n×m scores, image-major
//! G = ∂ℓ/∂S                                      n×m (softmax: P − Y)
//! b ← b − η (1/n) Gᵀ1
//! W ← W − η ((1/n) (a ⊙ GᵀX − (Gᵀ1) βᵀ) + 2λ W)   m×d
//! ```

use super::eval::{Sums, add, loss_argmax, metrics};
use super::{Images, Stack, panel, shifts, softmax_minus_onehot};
use crate::loss::Loss;
use crate::model::Evaluation as Metrics;
use crate::normalize::Affine;

/// The weights folded with the normalisation: `W ⊙ a` (`m×d`) and `b − W β`
/// (`m`, summed in f64 by [`shifts`]).
fn fold(stack: &Stack, affine: &Affine) -> (Vec<f32>, Vec<f32>) {
    let d = stack.w.ncols();
    let w = stack
        .w
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard"));
    let b = stack
        .b
        .as_slice()
        .unwrap_or_else(|| unreachable!("standard"));
    let mut w_a = Vec::with_capacity(w.len());
    for row in w.chunks_exact(d) {
        for (&w, &a) in row.iter().zip(&affine.a) {
            w_a.push(w * a);
        }
    }
    let mut b_shifted = Vec::with_capacity(b.len());
    shifts((w, d, b, &affine.beta), &mut b_shifted);
    (w_a, b_shifted)
}

/// `S[i, r] = Σ_j (W ⊙ a)[r, j] X[i, j] + (b − W β)[r]`, the sum over `j` in
/// order: the scores `n×m` of the images `x: n×d` under the folded weights
/// `w_a: m×d` and biases `b: m`.
fn scores(w_a: &[f32], b: &[f32], x: &[u8], d: usize) -> Vec<f32> {
    let m = b.len();
    let mut s = Vec::with_capacity(x.len() / d * m);
    for image in x.chunks_exact(d) {
        for (row, &b) in w_a.chunks_exact(d).zip(b) {
            let mut acc = 0f32;
            for (&w, &x) in row.iter().zip(image) {
                acc += w * f32::from(x);
            }
            s.push(acc + b);
        }
    }
    s
}

/// One step of mini-batch gradient descent for every run of `stack` on the
/// images `x` (`n` rows) with `labels` (`n`), run `q` with `eta[q]`,
/// `lambda[q]` and `loss[q]`: what [`super::Workspace::sgd_step`] does.
pub fn sgd_step(
    stack: &mut Stack,
    x: Images,
    labels: &[u8],
    eta: &[f32],
    lambda: &[f32],
    loss: &[Loss],
) {
    let (m, k, n, d) = (stack.b.len(), stack.k, labels.len(), stack.w.ncols());
    if m == 0 || n == 0 {
        return;
    }
    let (w_a, b_shifted) = fold(stack, x.affine);
    // G = ∂ℓ/∂S, n×m: per image, per run, that run's K scores.
    let mut g = scores(&w_a, &b_shifted, &x.pixels[..n * d], d);
    for (gi, &y) in g.chunks_exact_mut(m).zip(labels) {
        for (col, &l) in gi.chunks_exact_mut(k).zip(loss) {
            match l {
                Loss::Softmax => softmax_minus_onehot(col, y as usize),
                _ => l.score_gradient(ndarray::ArrayViewMut1::from(col), y as usize),
            }
        }
    }
    let inv_n = 1.0 / n as f32;
    // b ← b − η (1/n) Gᵀ1
    let mut gsum = Vec::with_capacity(m);
    for (r, b) in stack.b.iter_mut().enumerate() {
        let sum: f32 = g.iter().skip(r).step_by(m).sum();
        gsum.push(sum);
        *b -= eta[r / k] * (sum * inv_n);
    }
    // W ← W − η ((1/n) (a ⊙ GᵀX − (Gᵀ1) βᵀ) + 2λ W)
    let (a, beta) = (&x.affine.a, &x.affine.beta);
    let w = stack
        .w
        .as_slice_mut()
        .unwrap_or_else(|| unreachable!("standard"));
    for (r, row) in w.chunks_exact_mut(d).enumerate() {
        let (eta, two_lambda) = (eta[r / k], 2.0 * lambda[r / k]);
        for (j, w) in row.iter_mut().enumerate() {
            let mut acc = 0f32;
            for i in 0..n {
                acc += g[i * m + r] * f32::from(x.pixels[i * d + j]);
            }
            let t = acc * a[j] - gsum[r] * beta[j];
            let grad = t * inv_n + two_lambda * *w;
            *w -= eta * grad;
        }
    }
}

/// Loss, cost and accuracy of every run of `stack` on the whole set `x` with
/// `labels`, run `q` with `lambda[q]` and `loss[q]`: what
/// [`super::Workspace::evaluate`] does. The losses are summed in f64, 16 images
/// at a time (as the fast kernels share the images out), then group by group.
pub fn evaluate(
    stack: &Stack,
    x: Images,
    labels: &[u8],
    lambda: &[f64],
    loss: &[Loss],
) -> Vec<Metrics> {
    let (m, k, n, d) = (stack.b.len(), stack.k, labels.len(), stack.w.ncols());
    let mut total: Sums = vec![(0.0, 0); stack.runs()];
    if m > 0 && d > 0 {
        let (w_a, b_shifted) = fold(stack, x.affine);
        let groups = x.pixels[..n * d].chunks(panel::GROUP * d);
        for (xg, yg) in groups.zip(labels.chunks(panel::GROUP)) {
            let s = scores(&w_a, &b_shifted, xg, d);
            let mut sums: Sums = vec![(0.0, 0); stack.runs()];
            for (si, &y) in s.chunks_exact(m).zip(yg) {
                for ((col, &l), sum) in si.chunks_exact(k).zip(loss).zip(&mut sums) {
                    let (loss, best) = loss_argmax(l, col, y as usize, None);
                    sum.0 += loss;
                    sum.1 += usize::from(best == y as usize);
                }
            }
            add(&mut total, &sums);
        }
    }
    metrics(stack, &total, n, lambda)
}
