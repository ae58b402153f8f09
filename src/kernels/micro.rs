//! The two products of the hot path, written once over [`Lanes`] and compiled for
//! each instruction set:
//!
//! ```text
//! scores:  S[i, r] = b[r] + Σ_j W[r, j] X[i, j]                       S: nb×m (image-major)
//! update:  W[r, :] ← W[r, :] − η_r ((1/n) Σ_i G[i, r] X[i, :] + 2λ_r W[r, :])
//! ```
//!
//! `W: m×d` holds the weights of one run (m = K) or of several runs stacked
//! (m = R·K), `X: nb×d` one image per row, both row-major. Every output value is
//! computed by the same sequence of operations wherever its row sits in a
//! register tile, so stacking runs does not change any result.

#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::simd::{Lanes, Portable};

/// The instruction set the kernels run on, chosen at run time.
#[derive(Debug, Clone, Copy)]
pub struct Isa(Kind);

#[derive(Debug, Clone, Copy)]
enum Kind {
    #[cfg(target_arch = "x86_64")]
    Avx512(Avx512),
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2),
    Portable,
}

impl Isa {
    /// The widest instruction set this CPU supports: AVX-512F, else AVX2+FMA, else
    /// portable code.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(t) = Avx512::detect() {
                return Isa(Kind::Avx512(t));
            }
            if let Some(t) = Avx2::detect() {
                return Isa(Kind::Avx2(t));
            }
        }
        Isa(Kind::Portable)
    }

    /// AVX2+FMA, if this CPU has it.
    pub fn avx2() -> Option<Isa> {
        #[cfg(target_arch = "x86_64")]
        {
            Avx2::detect().map(|t| Isa(Kind::Avx2(t)))
        }
        #[cfg(not(target_arch = "x86_64"))]
        None
    }

    /// The portable fallback, available everywhere.
    pub fn portable() -> Isa {
        Isa(Kind::Portable)
    }

    /// `"avx512"`, `"avx2"` or `"portable"`.
    pub fn name(&self) -> &'static str {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512(_) => "avx512",
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2(_) => "avx2",
            Kind::Portable => "portable",
        }
    }

    /// `s[i·m + r] = b[r] + Σ_j w[r·d + j] x[i·d + j]` with `m = b.len()`,
    /// `nb = s.len() / m` images; `w: m×d`, `x: nb×d`.
    pub(crate) fn scores(self, w: &[f32], b: &[f32], x: &[f32], d: usize, s: &mut [f32]) {
        let m = b.len();
        assert!(
            m > 0 && w.len() == m * d && s.len().is_multiple_of(m) && x.len() >= s.len() / m * d
        );
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX-512F was detected.
            Kind::Avx512(t) => unsafe { scores_avx512(t, w, b, x, d, s) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX2 and FMA were detected.
            Kind::Avx2(t) => unsafe { scores_avx2(t, w, b, x, d, s) },
            Kind::Portable => scores::<_, 5, 2>(Portable, w, b, x, d, s),
        }
    }

    /// `w[r, :] ← w[r, :] − eta[r] (inv_n Σ_i g[i·m + r] x[i, :] + two_lambda[r] w[r, :])`
    /// with `m = eta.len()`, `nb = g.len() / m` images; `w: m×d`, `x: nb×d`.
    pub(crate) fn update(self, w: &mut [f32], step: &Step, x: &[f32], d: usize) {
        let m = step.eta.len();
        assert!(m > 0 && w.len() == m * d && step.two_lambda.len() == m);
        assert!(step.g.len().is_multiple_of(m) && x.len() >= step.g.len() / m * d);
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX-512F was detected.
            Kind::Avx512(t) => unsafe { update_avx512(t, w, step, x, d) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX2 and FMA were detected.
            Kind::Avx2(t) => unsafe { update_avx2(t, w, step, x, d) },
            Kind::Portable => update::<_, 5, 1>(Portable, w, step, x, d),
        }
    }
}

/// The coefficients of one update: `G: nb×m` (image-major), `1/n`, and per row
/// `η` and `2λ`.
pub(crate) struct Step<'a> {
    pub g: &'a [f32],
    pub inv_n: f32,
    pub eta: &'a [f32],
    pub two_lambda: &'a [f32],
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn scores_avx512(t: Avx512, w: &[f32], b: &[f32], x: &[f32], d: usize, s: &mut [f32]) {
    scores::<_, 5, 4>(t, w, b, x, d, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn scores_avx2(t: Avx2, w: &[f32], b: &[f32], x: &[f32], d: usize, s: &mut [f32]) {
    scores::<_, 5, 2>(t, w, b, x, d, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn update_avx512(t: Avx512, w: &mut [f32], step: &Step, x: &[f32], d: usize) {
    update::<_, 10, 2>(t, w, step, x, d)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn update_avx2(t: Avx2, w: &mut [f32], step: &Step, x: &[f32], d: usize) {
    update::<_, 5, 2>(t, w, step, x, d)
}

/// Scores in tiles of `MR` weight rows × `NR` images.
#[inline(always)]
fn scores<L: Lanes, const MR: usize, const NR: usize>(
    l: L,
    w: &[f32],
    b: &[f32],
    x: &[f32],
    d: usize,
    s: &mut [f32],
) {
    let m = b.len();
    let nb = s.len() / m;
    let mut i = 0;
    while i + NR <= nb {
        score_images::<L, MR, NR>(
            l,
            w,
            b,
            &x[i * d..(i + NR) * d],
            &mut s[i * m..(i + NR) * m],
        );
        i += NR;
    }
    for i in i..nb {
        score_images::<L, MR, 1>(l, w, b, &x[i * d..(i + 1) * d], &mut s[i * m..(i + 1) * m]);
    }
}

/// Scores of `NC` images (`x: NC×d`) against every weight row.
#[inline(always)]
fn score_images<L: Lanes, const MR: usize, const NC: usize>(
    l: L,
    w: &[f32],
    b: &[f32],
    x: &[f32],
    s: &mut [f32],
) {
    let m = b.len();
    let d = x.len() / NC;
    let xs: [&[f32]; NC] = std::array::from_fn(|c| &x[c * d..(c + 1) * d]);
    let mut r = 0;
    while r + MR <= m {
        let t = dot_tile::<L, MR, NC>(l, std::array::from_fn(|k| row(w, r + k, d)), xs);
        for (k, tk) in t.iter().enumerate() {
            for (c, &v) in tk.iter().enumerate() {
                s[c * m + r + k] = v + b[r + k];
            }
        }
        r += MR;
    }
    for r in r..m {
        let t = dot_tile::<L, 1, NC>(l, [row(w, r, d)], xs);
        for (c, &v) in t[0].iter().enumerate() {
            s[c * m + r] = v + b[r];
        }
    }
}

fn row(w: &[f32], r: usize, d: usize) -> &[f32] {
    &w[r * d..(r + 1) * d]
}

/// The `MR×NC` dot products of `w` rows with `x` rows, all of one length `d`:
/// lane-wise multiply-adds over the whole vectors, one lane sum, then the scalar tail.
#[inline(always)]
fn dot_tile<L: Lanes, const MR: usize, const NC: usize>(
    l: L,
    w: [&[f32]; MR],
    x: [&[f32]; NC],
) -> [[f32; NC]; MR] {
    let d = x[0].len();
    let full = d / L::N * L::N;
    let mut acc = [[l.zero(); NC]; MR];
    let mut o = 0;
    while o < full {
        let xv: [L::V; NC] = std::array::from_fn(|c| l.load(&x[c][o..]));
        for (acc_k, w_k) in acc.iter_mut().zip(&w) {
            let wv = l.load(&w_k[o..]);
            for (a, &xc) in acc_k.iter_mut().zip(&xv) {
                *a = l.mul_add(wv, xc, *a);
            }
        }
        o += L::N;
    }
    std::array::from_fn(|k| {
        std::array::from_fn(|c| {
            let tail: f32 = (full..d).map(|j| w[k][j] * x[c][j]).sum();
            l.sum(acc[k][c]) + tail
        })
    })
}

/// The update in blocks of `MR` weight rows × `VW` vectors of columns.
#[inline(always)]
fn update<L: Lanes, const MR: usize, const VW: usize>(
    l: L,
    w: &mut [f32],
    step: &Step,
    x: &[f32],
    d: usize,
) {
    let m = step.eta.len();
    let mut r = 0;
    while r < m {
        let rows = if r + MR <= m { MR } else { 1 };
        let wr = &mut w[r * d..(r + rows) * d];
        if rows == MR {
            update_rows::<L, MR, VW>(l, wr, r, step, x, d);
        } else {
            update_rows::<L, 1, VW>(l, wr, r, step, x, d);
        }
        r += rows;
    }
}

/// Updates the `MR` rows `w: MR×d` that start at stacked row `r0`.
#[inline(always)]
fn update_rows<L: Lanes, const MR: usize, const VW: usize>(
    l: L,
    w: &mut [f32],
    r0: usize,
    step: &Step,
    x: &[f32],
    d: usize,
) {
    let width = VW * L::N;
    let mut o = 0;
    while o + width <= d {
        update_block::<L, MR, VW>(l, w, r0, o, step, x, d);
        o += width;
    }
    while o + L::N <= d {
        update_block::<L, MR, 1>(l, w, r0, o, step, x, d);
        o += L::N;
    }
    let m = step.eta.len();
    let nb = step.g.len() / m;
    for j in o..d {
        for k in 0..MR {
            let r = r0 + k;
            let acc: f32 = (0..nb).map(|i| step.g[i * m + r] * x[i * d + j]).sum();
            let wv = &mut w[k * d + j];
            let grad = acc * step.inv_n + step.two_lambda[r] * *wv;
            *wv += -step.eta[r] * grad;
        }
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
    x: &[f32],
    d: usize,
) {
    let m = step.eta.len();
    let nb = step.g.len() / m;
    let mut acc = [[l.zero(); VW]; MR];
    for i in 0..nb {
        let xi = &x[i * d + o..];
        let xv: [L::V; VW] = std::array::from_fn(|v| l.load(&xi[v * L::N..]));
        let gi = &step.g[i * m + r0..i * m + r0 + MR];
        for (acc_k, &gk) in acc.iter_mut().zip(gi) {
            let gk = l.splat(gk);
            for (a, &xv) in acc_k.iter_mut().zip(&xv) {
                *a = l.mul_add(gk, xv, *a);
            }
        }
    }
    let inv_n = l.splat(step.inv_n);
    for (k, acc_k) in acc.iter().enumerate() {
        let two_lambda = l.splat(step.two_lambda[r0 + k]);
        let neg_eta = l.splat(-step.eta[r0 + k]);
        for (v, &a) in acc_k.iter().enumerate() {
            let wk = &mut w[k * d + o + v * L::N..];
            let wv = l.load(wk);
            let grad = l.mul_add(a, inv_n, l.mul(two_lambda, wv));
            l.store(l.mul_add(neg_eta, grad, wv), wk);
        }
    }
}
