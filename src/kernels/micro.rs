//! The two products of the hot path, written once over [`Lanes`] and compiled for
//! each instruction set:
//!
//! ```text
//! scores:  S[i, r] = b[r] + Σ_j W[r, j] X[i, j]                       S: nb×m (image-major)
//! update:  W[r, :] ← W[r, :] − η_r ((1/n) Σ_i G[i, r] X̂[i, :] + 2λ_r W[r, :])
//!          with X̂[i, j] = a[j] X[i, j] − β[j], so Σ_i G[i, r] X̂[i, j] = a[j] Σ_i G[i, r] X[i, j] − β[j] Σ_i G[i, r]
//! ```
//!
//! `W: m×d` holds the weights of one run (m = K) or of several runs stacked
//! (m = R·K), `X: nb×d` one image per row as raw bytes, both row-major; the bytes
//! are turned into f32 as they are loaded. Every output value is
//! computed by the same sequence of operations wherever its row sits in a
//! register tile, so stacking runs does not change any result.

#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::simd::{Lanes, Portable, prefetch};

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
    /// `nb = s.len() / m` images; `w: m×d`, `x: nb×d`; `acc` is scratch space.
    pub(crate) fn scores(
        self,
        w: &[f32],
        b: &[f32],
        x: &[u8],
        d: usize,
        s: &mut [f32],
        acc: &mut Vec<f32>,
    ) {
        let m = b.len();
        assert!(
            m > 0 && w.len() == m * d && s.len().is_multiple_of(m) && x.len() >= s.len() / m * d
        );
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX-512F was detected.
            Kind::Avx512(t) => unsafe { scores_avx512(t, w, b, x, d, s, acc) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX2 and FMA were detected.
            Kind::Avx2(t) => unsafe { scores_avx2(t, w, b, x, d, s, acc) },
            Kind::Portable => scores::<_, 5, 2>(Portable, w, b, x, d, s, acc),
        }
    }

    /// `w[r, :] ← w[r, :] − eta[r] (inv_n (a ⊙ Σ_i g[i·m + r] x[i, :] − gsum[r] β) + two_lambda[r] w[r, :])`
    /// with `m = eta.len()`, `nb = g.len() / m` images; `w: m×d`, `x: nb×d`.
    pub(crate) fn update(self, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
        let m = step.eta.len();
        assert!(m > 0 && w.len() == m * d && step.two_lambda.len() == m && step.gsum.len() == m);
        assert!(step.a.len() == d && step.beta.len() == d);
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
fn scores_avx512(
    t: Avx512,
    w: &[f32],
    b: &[f32],
    x: &[u8],
    d: usize,
    s: &mut [f32],
    acc: &mut Vec<f32>,
) {
    scores::<_, 5, 4>(t, w, b, x, d, s, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn scores_avx2(
    t: Avx2,
    w: &[f32],
    b: &[f32],
    x: &[u8],
    d: usize,
    s: &mut [f32],
    acc: &mut Vec<f32>,
) {
    scores::<_, 5, 2>(t, w, b, x, d, s, acc)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn update_avx512(t: Avx512, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
    update::<_, 10, 2>(t, w, step, x, d)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn update_avx2(t: Avx2, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
    update::<_, 5, 2>(t, w, step, x, d)
}

/// Floats of weights that one block of columns may hold (24 KiB: half of a
/// typical L1 data cache).
const L1_FLOATS: usize = 6144;

/// Widest block of columns, so that `NC` images of one block, as f32, fit in a
/// small buffer on the stack.
const MAX_WIDTH: usize = 512;
/// Most images per tile.
const MAX_NC: usize = 4;
const _: () = assert!(MAX_NC * MAX_WIDTH <= 4096, "the buffer lives on the stack");

/// Scores with the columns split into blocks so that one block of all `m` weight
/// rows stays in L1 cache while every image passes by it. Tiles of `MR` rows × `NR`
/// images add their lane-wise partial sums into `acc` (one vector per image and
/// row); at the end each vector's lanes are summed, then the scalar tail and the
/// bias are added. Each score sees the same operations in the same order wherever
/// it sits in a tile.
#[inline(always)]
fn scores<L: Lanes, const MR: usize, const NR: usize>(
    l: L,
    w: &[f32],
    b: &[f32],
    x: &[u8],
    d: usize,
    s: &mut [f32],
    acc: &mut Vec<f32>,
) {
    let (m, n) = (b.len(), L::N);
    let nb = s.len() / m;
    let full = d / n * n;
    acc.clear();
    acc.resize(nb * m * n, 0.0);
    let width = (L1_FLOATS / m).clamp(n, MAX_WIDTH) / n * n;
    // The images of one tile and one block of columns, as f32.
    let mut buf = [0f32; MAX_NC * MAX_WIDTH];
    let mut start = 0;
    while start < full {
        let cols = start..(start + width).min(full);
        let mut i = 0;
        while i + NR <= nb {
            block_images::<L, MR, NR>(l, w, x, d, cols.clone(), i, m, (acc, &mut buf));
            i += NR;
        }
        for i in i..nb {
            block_images::<L, MR, 1>(l, w, x, d, cols.clone(), i, m, (acc, &mut buf));
        }
        start = cols.end;
    }
    for (i, si) in s.chunks_exact_mut(m).enumerate() {
        for (r, sr) in si.iter_mut().enumerate() {
            let tail: f32 = (full..d)
                .map(|j| w[r * d + j] * f32::from(x[i * d + j]))
                .sum();
            *sr = l.sum(l.load(&acc[(i * m + r) * n..])) + tail + b[r];
        }
    }
}

/// Columns `cols` of images `i0 .. i0 + NC` against every weight row.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn block_images<L: Lanes, const MR: usize, const NC: usize>(
    l: L,
    w: &[f32],
    x: &[u8],
    d: usize,
    cols: std::ops::Range<usize>,
    i0: usize,
    m: usize,
    (acc, buf): (&mut [f32], &mut [f32]),
) {
    let xs = &x[i0 * d + cols.start..];
    let len = cols.len();
    // The next images' columns come from memory in short pieces that the hardware
    // prefetcher does not see coming: ask for them one tile ahead (64-byte lines).
    for c in NC..2 * NC {
        for line in (0..len).step_by(64) {
            prefetch(xs, c * d + line);
        }
    }
    // The bytes become f32 once here, not once per tile of weight rows.
    assert!(NC * len <= buf.len() && xs.len() >= (NC - 1) * d + len);
    for c in 0..NC {
        for o in (0..len).step_by(L::N) {
            // SAFETY: o + N <= len, so c·d + o + N <= (NC−1)·d + len <= xs.len().
            let v = unsafe { l.load_u8_unchecked(xs, c * d + o) };
            l.store(v, &mut buf[c * len + o..]);
        }
    }
    let mut r = 0;
    while r + MR <= m {
        tile::<L, MR, NC>(l, &w[r * d + cols.start..], buf, (d, len), acc, (i0, r, m));
        r += MR;
    }
    for r in r..m {
        tile::<L, 1, NC>(l, &w[r * d + cols.start..], buf, (d, len), acc, (i0, r, m));
    }
}

/// `acc[i0 + c][r0 + k] += w_k ⊙ x_c`, summed vector by vector over `len` columns
/// (a whole number of vectors), for `MR` weight rows `w_k = w[k·d ..]` and `NC`
/// images `x_c = x[c·len ..]`.
#[inline(always)]
fn tile<L: Lanes, const MR: usize, const NC: usize>(
    l: L,
    w: &[f32],
    x: &[f32],
    (d, len): (usize, usize),
    acc: &mut [f32],
    (i0, r0, m): (usize, usize, usize),
) {
    assert!(len % L::N == 0 && w.len() >= (MR - 1) * d + len && x.len() >= NC * len);
    let at = |k: usize, c: usize| ((i0 + c) * m + r0 + k) * L::N;
    let mut a = [[l.zero(); NC]; MR];
    for (k, a_k) in a.iter_mut().enumerate() {
        for (c, a) in a_k.iter_mut().enumerate() {
            *a = l.load(&acc[at(k, c)..]);
        }
    }
    let mut xv = [l.zero(); NC];
    let mut o = 0;
    while o < len {
        for (c, xc) in xv.iter_mut().enumerate() {
            // SAFETY: o + N <= len, so c·len + o + N <= NC·len <= x.len().
            *xc = unsafe { l.load_unchecked(x, c * len + o) };
        }
        for (k, a_k) in a.iter_mut().enumerate() {
            // SAFETY: o + N <= len, so k·d + o + N <= (MR−1)·d + len <= w.len().
            let wv = unsafe { l.load_unchecked(w, k * d + o) };
            for (a, &xc) in a_k.iter_mut().zip(&xv) {
                *a = l.mul_add(wv, xc, *a);
            }
        }
        o += L::N;
    }
    for (k, a_k) in a.iter().enumerate() {
        for (c, &v) in a_k.iter().enumerate() {
            l.store(v, &mut acc[at(k, c)..]);
        }
    }
}

/// The update in blocks of `MR` weight rows × `VW` vectors of columns.
#[inline(always)]
fn update<L: Lanes, const MR: usize, const VW: usize>(
    l: L,
    w: &mut [f32],
    step: &Step,
    x: &[u8],
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
    x: &[u8],
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
            let acc: f32 = (0..nb)
                .map(|i| step.g[i * m + r] * f32::from(x[i * d + j]))
                .sum();
            let t = acc * step.a[j] - step.gsum[r] * step.beta[j];
            let wv = &mut w[k * d + j];
            let grad = t * step.inv_n + step.two_lambda[r] * *wv;
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
    x: &[u8],
    d: usize,
) {
    let m = step.eta.len();
    let nb = step.g.len() / m;
    let mut acc = [[l.zero(); VW]; MR];
    assert!(nb == 0 || x.len() >= (nb - 1) * d + o + VW * L::N);
    let mut xv = [l.zero(); VW];
    for i in 0..nb {
        for (v, xv) in xv.iter_mut().enumerate() {
            // SAFETY: i < nb, so i·d + o + v·N + N <= (nb−1)·d + o + VW·N <= x.len().
            *xv = unsafe { l.load_u8_unchecked(x, i * d + o + v * L::N) };
        }
        let gi = &step.g[i * m + r0..][..MR];
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
