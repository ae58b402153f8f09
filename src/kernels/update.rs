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

use super::panel::{Aligned, BAND, load_sums, store_sums, wide_tiles};
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
    // 10 rows × 16 columns a tile, each block of bytes converted once for all the
    // tiles: 3–5% faster than tiles of 20 rows converting their own. No wider
    // tiles (`WIDE` = `MR`).
    update_blocks::<_, 10, 5, 10, 1>(t, w, step, x, d)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) fn update_avx2(t: Avx2, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
    // 5 rows × 16 columns a tile, and 6 rows after the first where the rest still
    // goes in tiles of 5 (as the scores do): 2% faster for four runs.
    update_blocks::<_, 5, 3, 6, 2>(t, w, step, x, d)
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
    update_tail::<L, MR, MR2>(l, w, o, step, x, d);
}

/// Columns `o ..` of [`update`]: by single vectors, then one by one (unfused).
#[inline(always)]
fn update_tail<L: Lanes, const MR: usize, const MR2: usize>(
    l: L,
    w: &mut [f32],
    mut o: usize,
    step: &Step,
    x: &[u8],
    d: usize,
) {
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
    finish::<L, MR, VW>(l, &acc, w, step, (r0, o, d));
}

/// Columns per block of [`update_blocks`], as many as the images of a panel.
const WIDTH: usize = super::panel::GROUP;

/// Images per block of [`update_blocks`]: their 16 columns in f32 take
/// `128 × 16 × 4` bytes = 8 KiB, and stay in the L1 cache for every tile of rows.
const IMAGES: usize = 128;

/// What [`update`] computes, with the bytes of the images turned into f32 once
/// rather than once per tile of rows: for each block of 16 columns, the rows go in
/// bands of [`BAND`], and for each band the images in blocks of [`IMAGES`]; the
/// first tile of a block converts the block's bytes as it goes and leaves them in
/// f32 for the other tiles (`WIDE` rows as [`wide_tiles`] says, `MR` rows, then
/// `MR2`, then one), whose sums wait in memory for the next block; in the last
/// block each tile updates its rows of `W` from its registers ([`finish`]). Each
/// sum is still one chain of multiply-adds over the images in order, and the new
/// weights follow from it by [`finish`], as in [`update_block`]: the values are
/// those of [`update`] with `VW·N = 16`. The columns after the last whole block go as in
/// [`update`].
#[inline(always)]
pub(super) fn update_blocks<
    L: Lanes,
    const MR: usize,
    const MR2: usize,
    const WIDE: usize,
    const H: usize,
>(
    l: L,
    w: &mut [f32],
    step: &Step,
    x: &[u8],
    d: usize,
) {
    assert!(H * L::N == WIDTH);
    let m = step.eta.len();
    let nb = step.g.len() / m;
    assert!(step.g.len() == nb * m && x.len() >= nb * d && w.len() == m * d);
    let mut xf = Aligned([[0f32; WIDTH]; IMAGES]);
    let mut part = Aligned([[0f32; WIDTH]; BAND]);
    let mut o = 0;
    while o + WIDTH <= d {
        for r0 in (0..m).step_by(BAND) {
            let band = BAND.min(m - r0);
            let part = &mut part.0[..band];
            for i0 in (0..nb).step_by(IMAGES) {
                let xf = &mut xf.0[..IMAGES.min(nb - i0)];
                let (xs, at) = ((x, o, d), (i0, r0));
                // The last block of images leaves its sums final: each tile updates
                // its rows of `W` from its registers.
                let last = i0 + IMAGES >= nb;
                // The first tile converts: MR rows if there are, else fewer.
                let mut r = if band >= MR {
                    sums_tile::<L, MR, H, true>(l, step, xs, xf, at, &mut part[..MR], (w, last));
                    MR
                } else if band >= MR2 {
                    sums_tile::<L, MR2, H, true>(l, step, xs, xf, at, &mut part[..MR2], (w, last));
                    MR2
                } else {
                    sums_tile::<L, 1, H, true>(l, step, xs, xf, at, &mut part[..1], (w, last));
                    1
                };
                let mut wide = wide_tiles(band - r, MR, WIDE);
                while wide > 0 {
                    let (at, part) = ((i0, r0 + r), &mut part[r..r + WIDE]);
                    sums_tile::<L, WIDE, H, false>(l, step, xs, xf, at, part, (w, last));
                    (r, wide) = (r + WIDE, wide - 1);
                }
                while r + MR <= band {
                    let (at, part) = ((i0, r0 + r), &mut part[r..r + MR]);
                    sums_tile::<L, MR, H, false>(l, step, xs, xf, at, part, (w, last));
                    r += MR;
                }
                while r + MR2 <= band {
                    let (at, part) = ((i0, r0 + r), &mut part[r..r + MR2]);
                    sums_tile::<L, MR2, H, false>(l, step, xs, xf, at, part, (w, last));
                    r += MR2;
                }
                while r < band {
                    let (at, part) = ((i0, r0 + r), &mut part[r..r + 1]);
                    sums_tile::<L, 1, H, false>(l, step, xs, xf, at, part, (w, last));
                    r += 1;
                }
            }
            // No images: every sum is zero.
            if nb == 0 {
                for r in r0..r0 + band {
                    let zero = [[l.zero(); H]];
                    finish::<L, 1, H>(l, &zero, &mut w[r * d..], step, (r, o, d));
                }
            }
        }
        o += WIDTH;
    }
    update_tail::<L, MR, MR2>(l, w, o, step, x, d);
}

/// `acc[k] += G[i, r0 + k] · x` for the `MR` rows of a tile and 16 columns `x`
/// of image `i` (`H` vectors).
#[inline(always)]
fn multiply_add<L: Lanes, const MR: usize, const H: usize>(
    l: L,
    acc: &mut [[L::V; H]; MR],
    g: &[f32],
    xv: &[L::V; H],
) {
    for (acc_k, &gk) in acc.iter_mut().zip(g) {
        let gk = l.splat(gk);
        for (a, &x) in acc_k.iter_mut().zip(xv) {
            *a = l.mul_add(gk, x, *a);
        }
    }
}

/// A tile of [`update_blocks`]: rows `r0 .. r0 + MR` over the images
/// `i0 .. i0 + xf.len()` in columns `o .. o + 16` of `x: nb×d`. The first tile of
/// a block (`CONVERT`) turns their bytes into f32, into `xf`, as it goes; the
/// others read them from `xf`. The sums so far come from `part`; they go back
/// there, or, in the `last` block of images, update the tile's rows of `w: m×d`.
#[inline(always)]
fn sums_tile<L: Lanes, const MR: usize, const H: usize, const CONVERT: bool>(
    l: L,
    step: &Step,
    (x, o, d): (&[u8], usize, usize),
    xf: &mut [[f32; WIDTH]],
    (i0, r0): (usize, usize),
    part: &mut [[f32; WIDTH]],
    (w, last): (&mut [f32], bool),
) {
    let m = step.eta.len();
    assert!(H * L::N == WIDTH && part.len() == MR && r0 + MR <= m && o + WIDTH <= d);
    assert!(x.len() >= (i0 + xf.len()) * d && step.g.len() >= (i0 + xf.len()) * m);
    let mut acc = load_sums::<L, MR, H>(l, i0, part);
    // Image `i`, its 16 columns in `xi`. A macro: closures would not inherit the
    // caller's target features.
    macro_rules! image {
        ($i:expr, $xi:expr) => {{
            let (i, xi) = ($i, $xi);
            let mut xv = [l.zero(); H];
            for (h, v) in xv.iter_mut().enumerate() {
                if CONVERT {
                    // SAFETY: h·N + N <= H·N = 16 and o + 16 <= d, and i < i0 + xf.len(),
                    // so i·d + o + h·N + N <= (i0 + xf.len())·d <= x.len().
                    *v = unsafe { l.load_u8_unchecked(x, i * d + o + h * L::N) };
                    l.store(*v, &mut xi[h * L::N..]);
                } else {
                    *v = l.load(&xi[h * L::N..]);
                }
            }
            let at = i * m + r0;
            // SAFETY: i < i0 + xf.len() and r0 + MR <= m, so at + MR <= (i0 + xf.len())·m <= g.len().
            let g = unsafe { step.g.get_unchecked(at..at + MR) };
            multiply_add::<L, MR, H>(l, &mut acc, g, &xv);
        }};
    }
    // Four images a turn: the loop's own arithmetic, which would take turns with
    // the multiply-adds on their ports, comes once per four.
    let done = i0 + xf.len() / 4 * 4;
    let mut quads = xf.chunks_exact_mut(4);
    for (q, xq) in (&mut quads).enumerate() {
        for (u, xi) in xq.iter_mut().enumerate() {
            image!(i0 + 4 * q + u, xi);
        }
    }
    for (i, xi) in (done..).zip(quads.into_remainder()) {
        image!(i, xi);
    }
    if last {
        finish::<L, MR, H>(l, &acc, &mut w[r0 * d..], step, (r0, o, d));
    } else {
        store_sums::<L, MR, H>(l, &acc, part);
    }
}

/// `W ← W − η ((1/n) Σ_i G[i, r] X̂[i, :] + 2λ W)` in rows `r0 .. r0 + MR`, columns
/// `o .. o + H·N`, from the sums `acc[k][h] = Σ_i G[i, r0 + k] X[i, o + h·N ..]`;
/// `w` holds the rows of `W` from `r0` on, `d` columns each.
#[inline(always)]
fn finish<L: Lanes, const MR: usize, const H: usize>(
    l: L,
    acc: &[[L::V; H]; MR],
    w: &mut [f32],
    step: &Step,
    (r0, o, d): (usize, usize, usize),
) {
    let inv_n = l.splat(step.inv_n);
    // Plain loops: closures would not inherit the caller's target features.
    let (mut a, mut beta) = ([l.zero(); H], [l.zero(); H]);
    for h in 0..H {
        a[h] = l.load(&step.a[o + h * L::N..]);
        beta[h] = l.load(&step.beta[o + h * L::N..]);
    }
    for (k, acc_k) in acc.iter().enumerate() {
        let r = r0 + k;
        let two_lambda = l.splat(step.two_lambda[r]);
        let neg_eta = l.splat(-step.eta[r]);
        let neg_gsum = l.splat(-step.gsum[r]);
        for (h, &acc) in acc_k.iter().enumerate() {
            // Σ_i G[i, r] X̂[i, j] = a[j] Σ_i G[i, r] X[i, j] − β[j] Σ_i G[i, r].
            let t = l.mul_add(acc, a[h], l.mul(neg_gsum, beta[h]));
            let wk = &mut w[k * d + o + h * L::N..];
            let wv = l.load(wk);
            let grad = l.mul_add(t, inv_n, l.mul(two_lambda, wv));
            l.store(l.mul_add(neg_eta, grad, wv), wk);
        }
    }
}
