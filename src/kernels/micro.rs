//! The instruction set chosen at run time, and the update of the weights, written
//! once over [`Lanes`] and compiled for each instruction set (the scores are in
//! [`super::panel`]):
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

#[cfg(target_arch = "aarch64")]
use super::neon::Neon;
#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::simd::{Lanes, Portable};

/// The instruction set the kernels run on, chosen at run time: the vector
/// instructions, and the AMX tiles if the CPU has them (see [`super::amx`]).
#[derive(Debug, Clone, Copy)]
pub struct Isa(pub(super) Kind, pub(super) Option<Tiles>);

#[cfg(target_arch = "x86_64")]
pub(super) use super::amx::Amx as Tiles;

/// No tiles off x86-64.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Debug, Clone, Copy)]
pub(super) enum Tiles {}

#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    #[cfg(target_arch = "x86_64")]
    Avx512(Avx512),
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2),
    #[cfg(target_arch = "aarch64")]
    Neon(Neon),
    Portable,
}

impl Isa {
    /// The widest instruction set this CPU supports: AVX-512F, else AVX2+FMA (on
    /// aarch64: NEON), else portable code; with AMX tiles where there are.
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(t) = Avx512::detect() {
                return Isa(Kind::Avx512(t), Tiles::detect());
            }
            if let Some(t) = Avx2::detect() {
                return Isa(Kind::Avx2(t), None);
            }
        }
        #[cfg(target_arch = "aarch64")]
        if let Some(t) = Neon::detect() {
            return Isa(Kind::Neon(t), None);
        }
        Isa(Kind::Portable, None)
    }

    /// The instruction set named `name` (one of [`Isa::NAMES`]), if this CPU has it:
    /// `"amx"` is AVX-512 with the AMX tiles, `"avx512"` AVX-512 without them. The
    /// error names what was asked and what this CPU has.
    pub fn named(name: &str) -> Result<Isa, IsaError> {
        let found = Isa::available()
            .into_iter()
            .find(|isa| isa.choice() == name);
        match found {
            Some(isa) => Ok(isa),
            None if Isa::NAMES.contains(&name) => Err(IsaError::Unsupported {
                asked: name.to_string(),
                available: Isa::available().iter().map(Isa::choice).collect(),
            }),
            None => Err(IsaError::Unknown {
                asked: name.to_string(),
            }),
        }
    }

    /// The names [`Isa::named`] takes.
    pub const NAMES: [&'static str; 5] = ["amx", "avx512", "avx2", "neon", "portable"];

    /// Every instruction set this CPU has, the widest first.
    pub fn available() -> Vec<Isa> {
        let best = Isa::detect();
        let mut v = vec![best];
        v.extend(best.has_tiles().then(|| best.without_tiles()));
        v.extend(Isa::avx2().filter(|i| i.name() != best.name()));
        if best.name() != "portable" {
            v.push(Isa::portable());
        }
        v
    }

    /// The name [`Isa::named`] takes for this instruction set: [`Isa::name`], but
    /// `"amx"` for AVX-512 with the tiles.
    pub fn choice(&self) -> &'static str {
        if self.has_tiles() { "amx" } else { self.name() }
    }

    /// The same vector instructions without the AMX tiles.
    pub fn without_tiles(self) -> Isa {
        Isa(self.0, None)
    }

    /// Whether the AMX tiles are in use.
    pub fn has_tiles(&self) -> bool {
        self.1.is_some()
    }

    /// AVX2+FMA, if this CPU has it.
    pub fn avx2() -> Option<Isa> {
        #[cfg(target_arch = "x86_64")]
        {
            Avx2::detect().map(|t| Isa(Kind::Avx2(t), None))
        }
        #[cfg(not(target_arch = "x86_64"))]
        None
    }

    /// NEON, if this CPU has it (every aarch64 CPU; none other).
    pub fn neon() -> Option<Isa> {
        #[cfg(target_arch = "aarch64")]
        {
            Neon::detect().map(|t| Isa(Kind::Neon(t), None))
        }
        #[cfg(not(target_arch = "aarch64"))]
        None
    }

    /// The portable fallback, available everywhere.
    pub fn portable() -> Isa {
        Isa(Kind::Portable, None)
    }

    /// `"avx512+amx"`, `"avx512"`, `"avx2"`, `"neon"` or `"portable"`.
    pub fn name(&self) -> &'static str {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512(_) if self.has_tiles() => "avx512+amx",
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512(_) => "avx512",
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2(_) => "avx2",
            #[cfg(target_arch = "aarch64")]
            Kind::Neon(_) => "neon",
            Kind::Portable => "portable",
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
            // NEON is enabled for the whole build: the kernel needs no wrapper.
            #[cfg(target_arch = "aarch64")]
            Kind::Neon(t) => update::<_, 5, 2, 1>(t, w, step, x, d),
            Kind::Portable => update::<_, 5, 5, 1>(Portable, w, step, x, d),
        }
    }
}

/// An instruction set that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IsaError {
    /// The name is none of [`Isa::NAMES`].
    #[error(
        "unknown instruction set `{asked}` (expected one of amx, avx512, avx2, neon, portable)"
    )]
    Unknown {
        /// The name asked for.
        asked: String,
    },
    /// This CPU lacks the instruction set.
    #[error("this CPU has no {asked} (it has: {})", available.join(", "))]
    Unsupported {
        /// The name asked for.
        asked: String,
        /// What this CPU has, by [`Isa::choice`], the widest first.
        available: Vec<&'static str>,
    },
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
fn update_avx512(t: Avx512, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
    update::<_, 20, 10, 1>(t, w, step, x, d)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn update_avx2(t: Avx2, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
    update::<_, 5, 5, 2>(t, w, step, x, d)
}

/// The update in blocks of `VW` vectors of columns, and in each block the rows in
/// tiles of `MR` rows while they last, then `MR2`, then one: the images' columns
/// of a block are loaded from memory once, then stay in the L1 cache for every
/// tile of rows.
#[inline(always)]
fn update<L: Lanes, const MR: usize, const MR2: usize, const VW: usize>(
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
