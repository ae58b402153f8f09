//! The update of the weights, written once over [`Lanes`] and compiled for each
//! instruction set (see [`super::isa`]; the scores are in [`super::panel`]):
//!
//! ```text
//! update:  W[r, :] ← W[r, :] − η_r ((1/n) Σ_i G[i, r] X̂[i, :] + 2λ_r W[r, :])
//!          with X̂[i, j] = a[j] X[i, j] − β[j], so Σ_i G[i, r] X̂[i, j] = a[j] Σ_i G[i, r] X[i, j] − β[j] Σ_i G[i, r]
//! ```
//!
//! `W: m×d` holds the weights of one run (m = K) or of several runs stacked
//! (m = R·K), `X: nb×d` one image per row as raw bytes, both row-major; the bytes
//! are turned into f32 as they are loaded. Every output value is
//! computed by the same sequence of operations wherever its row sits in a
//! register tile, so stacking runs does not change any result.

use super::simd::Lanes;
#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};

/// The coefficients of one update: `G: nb×m` (image-major) and its row sums
/// `gsum = G 1`, `1/n`, per row `η` and `2λ`, per column `a` and `β`.
pub(crate) struct Step<'a> {
    pub g: &'a [f32],
    pub gsum: &'a [f32],
    pub a: &'a [f32],
    pub beta: &'a [f32],
    pub inv_n: f32,
    pub eta: &'a [f32],
    pub two_lambda: &'a [f32],
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) fn update_avx512(t: Avx512, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
    update::<_, 20, 10, 1>(t, w, step, x, d)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) fn update_avx2(t: Avx2, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
    update::<_, 5, 5, 2>(t, w, step, x, d)
}

/// The update in blocks of `VW` vectors of columns, and in each block the rows in
/// tiles of `MR` rows while they last, then `MR2`, then one: the images' columns
/// of a block are loaded from memory once, then stay in the L1 cache for every
/// tile of rows.
#[inline(always)]
pub(super) fn update<L: Lanes, const MR: usize, const MR2: usize, const VW: usize>(
    l: L,
    w: &mut [f32],
    step: &Step,
    x: &[u8],
    d: usize,
) {
    let width = VW * L::N;
    let mut o = 0;
    while o + width <= d {
        update_columns::<L, MR, MR2, VW>(l, w, o, step, x, d);
        o += width;
    }
    while o + L::N <= d {
        update_columns::<L, MR, MR2, 1>(l, w, o, step, x, d);
        o += L::N;
    }
    let m = step.eta.len();
    let nb = step.g.len() / m;
    for j in o..d {
        for r in 0..m {
            let acc: f32 = (0..nb)
                .map(|i| step.g[i * m + r] * f32::from(x[i * d + j]))
                .sum();
            let t = acc * step.a[j] - step.gsum[r] * step.beta[j];
            let wv = &mut w[r * d + j];
            let grad = t * step.inv_n + step.two_lambda[r] * *wv;
            *wv += -step.eta[r] * grad;
        }
    }
}

/// Columns `o .. o + VW·N` of every row, in tiles of `MR`, then `MR2`, then one row.
#[inline(always)]
fn update_columns<L: Lanes, const MR: usize, const MR2: usize, const VW: usize>(
    l: L,
    w: &mut [f32],
    o: usize,
    step: &Step,
    x: &[u8],
    d: usize,
) {
    let m = step.eta.len();
    let mut r = 0;
    while r + MR <= m {
        update_block::<L, MR, VW>(l, &mut w[r * d..(r + MR) * d], r, o, step, x, d);
        r += MR;
    }
    while r + MR2 <= m {
        update_block::<L, MR2, VW>(l, &mut w[r * d..(r + MR2) * d], r, o, step, x, d);
        r += MR2;
    }
    while r < m {
        update_block::<L, 1, VW>(l, &mut w[r * d..(r + 1) * d], r, o, step, x, d);
        r += 1;
    }
}

/// Columns `o .. o + VW·N` of the `MR` rows: the sum over images in registers,
/// then `W ← W − η (acc/n + 2λ W)`.
#[inline(always)]
fn update_block<L: Lanes, const MR: usize, const VW: usize>(
    l: L,
    w: &mut [f32],
    r0: usize,
    o: usize,
    step: &Step,
    x: &[u8],
    d: usize,
) {
    let m = step.eta.len();
    let nb = step.g.len() / m;
    let mut acc = [[l.zero(); VW]; MR];
    assert!(nb == 0 || x.len() >= (nb - 1) * d + o + VW * L::N);
    assert!(r0 + MR <= m && step.g.len() == nb * m);
    let mut xv = [l.zero(); VW];
    for i in 0..nb {
        for (v, xv) in xv.iter_mut().enumerate() {
            // SAFETY: i < nb, so i·d + o + v·N + N <= (nb−1)·d + o + VW·N <= x.len().
            *xv = unsafe { l.load_u8_unchecked(x, i * d + o + v * L::N) };
        }
        for (k, acc_k) in acc.iter_mut().enumerate() {
            // SAFETY: i < nb and r0 + k < m, so i·m + r0 + k < nb·m = g.len().
            let gk = l.splat(unsafe { *step.g.get_unchecked(i * m + r0 + k) });
            for (a, &xv) in acc_k.iter_mut().zip(&xv) {
                *a = l.mul_add(gk, xv, *a);
            }
        }
    }
    let inv_n = l.splat(step.inv_n);
    for (k, acc_k) in acc.iter().enumerate() {
        let two_lambda = l.splat(step.two_lambda[r0 + k]);
        let neg_eta = l.splat(-step.eta[r0 + k]);
        let neg_gsum = l.splat(-step.gsum[r0 + k]);
        for (v, &acc) in acc_k.iter().enumerate() {
            let col = o + v * L::N;
            let (a, beta) = (l.load(&step.a[col..]), l.load(&step.beta[col..]));
            let t = l.mul_add(acc, a, l.mul(neg_gsum, beta));
            let wk = &mut w[k * d + col..];
            let wv = l.load(wk);
            let grad = l.mul_add(t, inv_n, l.mul(two_lambda, wv));
            l.store(l.mul_add(neg_eta, grad, wv), wk);
        }
    }
}
