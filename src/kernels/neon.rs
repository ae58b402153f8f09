//! NEON (aarch64's Advanced SIMD) for the kernels: [`Lanes`] on 16 f32 lanes held
//! in four 128-bit registers, and the 16×16 blocks of the panel transposition.
//!
//! Sixteen lanes rather than four, because one 16-byte load then brings a pixel
//! of all the images of a panel (the scores, [`scores`]) or 16 pixels of one
//! image (the update, [`super::update`]), and aarch64's 32 vector registers hold a
//! tile of 5 rows × 16 lanes: 20 registers of sums, 4 of pixels in f32, 5 of
//! weights. As on AVX2, the bytes are turned into f32 (10 instructions per 16
//! bytes: `uxtl`, `uxtl2` twice over, `ucvtf`) once per block, by the first tile
//! of rows, and the other tiles read them: in the cross-built code the score
//! tiles after the first take 110 instructions per 4 pixels for their 80
//! multiply-adds (and no register spilled), the first 174, where a tile that
//! converts its own bytes took 40 per pixel (160 per 4): one run's 10 rows take 11%
//! fewer instructions per pixel, four runs' 40 rows 26% fewer. The update's tiles
//! after the first take 119 per 4 images, the first 169 (156 before). Vectors of
//! 16 f32 are loaded and stored as four registers each: `ld1` of four would need
//! four consecutive registers, which made the compiler spill the sums.
//!
//! NEON is part of every aarch64 CPU this builds for; the token [`Neon`] is made
//! by run-time detection all the same, as the x86 ones are.

use std::arch::aarch64::*;

use super::panel::{
    Aligned, BAND, GROUP, Panel, Terms, Weights, band_scores, band_terms, load_sums, store_sums,
};
use super::simd::{EXP_MIN, EXP_P, LN2_C1, LN2_C2, LOG2_E, Lanes};

/// NEON: 16 lanes in four `float32x4_t`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Neon(());

impl Neon {
    /// The token, if this CPU has NEON.
    pub(crate) fn detect() -> Option<Neon> {
        std::arch::is_aarch64_feature_detected!("neon").then_some(Neon(()))
    }
}

/// Four registers of 4 lanes: lanes `4q .. 4q + 4` in register `q`.
type Quad = [float32x4_t; 4];

/// `if a > b { a } else { b }` in each lane ([`super::simd::max_ps`]; `fmax`
/// would give NaN for a NaN, and `+0` for `max(-0, +0)`).
#[inline]
#[target_feature(enable = "neon")]
fn max_ps(a: float32x4_t, b: float32x4_t) -> float32x4_t {
    vbslq_f32(vcgtq_f32(a, b), a, b)
}

/// `if a < b { a } else { b }` in each lane.
#[inline]
#[target_feature(enable = "neon")]
fn min_ps(a: float32x4_t, b: float32x4_t) -> float32x4_t {
    vbslq_f32(vcltq_f32(a, b), a, b)
}

/// The steps of [`super::simd::exp_neg`] in each of 4 lanes: `frintn` rounds to
/// the nearest integer, ties to even, as `round_ties_even` does, and `fcvtzs`
/// turns NaN into 0 as `as i32` does.
#[inline]
#[target_feature(enable = "neon")]
fn exp4(x: float32x4_t) -> float32x4_t {
    let x = min_ps(vdupq_n_f32(0.0), max_ps(vdupq_n_f32(EXP_MIN), x));
    let n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(LOG2_E)));
    // Each product rounded before its sum, as in `exp_neg` (no fused multiply-add).
    let r = vsubq_f32(x, vmulq_f32(n, vdupq_n_f32(LN2_C1)));
    let r = vsubq_f32(r, vmulq_f32(n, vdupq_n_f32(LN2_C2)));
    let mut p = vdupq_n_f32(EXP_P[0]);
    for &c in &EXP_P[1..] {
        p = vaddq_f32(vmulq_f32(p, r), vdupq_n_f32(c));
    }
    let p = vaddq_f32(vmulq_f32(p, vmulq_f32(r, r)), r);
    let p = vaddq_f32(p, vdupq_n_f32(1.0));
    let e = vshlq_n_s32::<23>(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)));
    vmulq_f32(p, vreinterpretq_f32_s32(e))
}

impl Lanes for Neon {
    const N: usize = 16;
    type V = Quad;
    #[inline(always)]
    fn zero(self) -> Quad {
        self.splat(0.0)
    }
    #[inline(always)]
    fn splat(self, x: f32) -> Quad {
        // SAFETY: `self` exists only if NEON was detected.
        [unsafe { vdupq_n_f32(x) }; 4]
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> Quad {
        let s: &[f32; GROUP] = s[..16]
            .try_into()
            .unwrap_or_else(|_| unreachable!("16 f32"));
        load16(s)
    }
    #[inline(always)]
    unsafe fn load_u8_unchecked(self, s: &[u8], at: usize) -> Quad {
        // SAFETY: NEON detected; the caller guarantees `at + 16 <= s.len()`, and
        // `vld1q_u8` reads exactly 16 bytes (no alignment needed).
        unsafe { widen(vld1q_u8(s.as_ptr().add(at))) }
    }
    #[inline(always)]
    fn store(self, v: Quad, s: &mut [f32]) {
        let s: &mut [f32; GROUP] = (&mut s[..16])
            .try_into()
            .unwrap_or_else(|_| unreachable!("16 f32"));
        store16(v, s)
    }
    #[inline(always)]
    fn mul_add(self, a: Quad, b: Quad, c: Quad) -> Quad {
        // SAFETY: NEON detected.
        std::array::from_fn(|q| unsafe { vfmaq_f32(c[q], a[q], b[q]) })
    }
    #[inline(always)]
    fn mul(self, a: Quad, b: Quad) -> Quad {
        // SAFETY: NEON detected.
        std::array::from_fn(|q| unsafe { vmulq_f32(a[q], b[q]) })
    }
    #[inline(always)]
    fn add(self, a: Quad, b: Quad) -> Quad {
        // SAFETY: NEON detected.
        std::array::from_fn(|q| unsafe { vaddq_f32(a[q], b[q]) })
    }
    #[inline(always)]
    fn max(self, a: Quad, b: Quad) -> Quad {
        // SAFETY: NEON detected.
        std::array::from_fn(|q| unsafe { max_ps(a[q], b[q]) })
    }
    #[inline(always)]
    fn exp(self, x: Quad) -> Quad {
        // SAFETY: NEON detected.
        x.map(|x| unsafe { exp4(x) })
    }
}

/// A vector of bytes seen as bytes.
#[inline]
#[target_feature(enable = "neon")]
fn identity(v: uint8x16_t) -> uint8x16_t {
    v
}

/// One round of a transposition: `out[p]`, `out[p + 8]` interleave the low and
/// high halves of `a[2p]` and `a[2p + 1]` (by the `zip1`, `zip2` in scope, on the
/// vectors seen through `$as`), as x86's `unpacklo`/`unpackhi` do.
macro_rules! round {
    ($a:expr, $as:ident, $back:ident) => {{
        let a: [uint8x16_t; 16] = $a;
        let mut out = a;
        for p in 0..8 {
            let (x, y) = ($as(a[2 * p]), $as(a[2 * p + 1]));
            out[p] = $back(zip1(x, y));
            out[p + 8] = $back(zip2(x, y));
        }
        out
    }};
}

/// Columns `j0 .. j0 + 16` of the panel transposition ([`super::panel::transpose_columns`],
/// `panel[j·16 + c] = x[c·d + j]`, zeros for images `c ≥ rows`): a 16×16 block of
/// bytes transposed in registers by interleaving rows pairwise four times (bytes,
/// then pairs, fours and eights of bytes); vector `i` then holds column
/// `i` with its four bits reversed.
#[target_feature(enable = "neon")]
pub(crate) fn transpose_block(
    _: Neon,
    x: &[u8],
    d: usize,
    rows: usize,
    j0: usize,
    panel: &mut [u8],
) {
    let mut a = [vdupq_n_u8(0); 16];
    for (r, v) in a.iter_mut().enumerate().take(rows) {
        let src = &x[r * d + j0..r * d + j0 + 16];
        // SAFETY: `src` holds 16 readable bytes (no alignment needed).
        *v = unsafe { vld1q_u8(src.as_ptr()) };
    }
    let a = {
        use {vzip1q_u8 as zip1, vzip2q_u8 as zip2};
        round!(a, identity, identity)
    };
    let a = {
        use {vzip1q_u16 as zip1, vzip2q_u16 as zip2};
        round!(a, vreinterpretq_u16_u8, vreinterpretq_u8_u16)
    };
    let a = {
        use {vzip1q_u32 as zip1, vzip2q_u32 as zip2};
        round!(a, vreinterpretq_u32_u8, vreinterpretq_u8_u32)
    };
    let a = {
        use {vzip1q_u64 as zip1, vzip2q_u64 as zip2};
        round!(a, vreinterpretq_u64_u8, vreinterpretq_u8_u64)
    };
    for (i, v) in a.into_iter().enumerate() {
        let col = usize::from((i as u8).reverse_bits() >> 4);
        let at = (j0 + col) * 16;
        let dst = &mut panel[at..at + 16];
        // SAFETY: `dst` holds 16 writable bytes (no alignment needed).
        unsafe { vst1q_u8(dst.as_mut_ptr(), v) };
    }
}

/// Pixels per block of [`scores`]: 128 pixels of 16 images in f32 take 8 KiB,
/// which stay in the L1 cache for every tile of rows.
const BLOCK: usize = 128;

/// The scores of a group's images from their panel (`p`, transposed in the plain
/// layout of [`super::panel::transpose_columns`]), as AVX2 computes them: the rows
/// in bands of [`BAND`], the pixels in blocks of [`BLOCK`]; the first tile of a
/// block turns the block's bytes into f32 as it goes and leaves them for the other
/// tiles, so that each byte is converted once (10 instructions per 16 bytes)
/// rather than once per tile of rows. Tiles of 5 rows × 16 images hold 20
/// registers of sums; each multiply-add takes its weight from a lane of a register
/// holding 4 consecutive weights of its row (`fmla v.4s, v.4s, v.s[u]`), so a
/// turn of 4 pixels loads 5 weight vectors and 4 pixels and makes 80
/// multiply-adds. Each score is the bias plus one chain of fused multiply-adds over
/// the pixels in order, in one lane: the values of [`super::panel::tiles`].
pub(super) fn scores(
    n: Neon,
    wb: Weights,
    p: Panel,
    s: &mut [f32],
    mut terms: Option<Terms>,
) -> usize {
    let (m, d) = (wb.b.len(), p.panel.len() / GROUP);
    assert!(m > 0 && wb.ld >= d && wb.w.len() >= (m - 1) * wb.ld + d);
    assert!(p.rows <= GROUP && s.len() >= p.rows * m);
    let mut xf = Aligned([[0f32; GROUP]; BLOCK]);
    let mut part = Aligned([[0f32; GROUP]; BAND]);
    for r0 in (0..m).step_by(BAND) {
        let band = BAND.min(m - r0);
        for j0 in (0..d).step_by(BLOCK) {
            let xf = &mut xf.0[..BLOCK.min(d - j0)];
            let bytes = &p.panel[j0 * GROUP..(j0 + xf.len()) * GROUP];
            let part = &mut part.0[..band];
            let at = (r0, j0);
            // The first tile converts: 5 rows if there are, else fewer.
            let mut r = match band {
                5.. => block_tile::<5, true>(n, wb, bytes, xf, at, &mut part[..5]),
                2..5 => block_tile::<2, true>(n, wb, bytes, xf, at, &mut part[..2]),
                _ => block_tile::<1, true>(n, wb, bytes, xf, at, &mut part[..1]),
            };
            while r < band {
                let at = (r0 + r, j0);
                r += match band - r {
                    5.. => block_tile::<5, false>(n, wb, bytes, xf, at, &mut part[r..r + 5]),
                    2..5 => block_tile::<2, false>(n, wb, bytes, xf, at, &mut part[r..r + 2]),
                    _ => block_tile::<1, false>(n, wb, bytes, xf, at, &mut part[r..r + 1]),
                };
            }
        }
        band_scores(wb.b, &part.0[..band], (r0, p.rows), s, terms.as_mut());
    }
    band_terms(n, terms, (p.rows, m))
}

/// Rows `r0 .. r0 + MR` of the scores over the pixels `j0 .. j0 + xf.len()` of a
/// block of [`scores`]: with `CONVERT` (the first tile of the block) the pixels'
/// `bytes` are turned into f32 into `xf` as they are read, else they are read from
/// `xf`. The sums so far come from `part` (`MR × 16`; zero for the first block)
/// and go back there. Returns `MR`.
#[inline(always)]
fn block_tile<const MR: usize, const CONVERT: bool>(
    n: Neon,
    wb: Weights,
    bytes: &[u8],
    xf: &mut [[f32; GROUP]],
    (r0, j0): (usize, usize),
    part: &mut [[f32; GROUP]],
) -> usize {
    let jn = xf.len();
    assert!(bytes.len() == jn * GROUP && part.len() == MR && r0 + MR <= wb.b.len());
    // Row `r0 + k` of the weights from pixel `j0`: `jn` of them.
    let w0 = &wb.w[r0 * wb.ld + j0..];
    assert!(w0.len() >= (MR - 1) * wb.ld + jn);
    let mut acc = load_sums::<_, MR, 1>(n, j0, part).map(|[a]| a);
    // Pixel `j` of the 16 images, in f32. A macro: a closure would hold `xf`.
    macro_rules! pixel {
        ($j:expr) => {{
            let j = $j;
            if CONVERT {
                let b = &bytes[j * GROUP..j * GROUP + GROUP];
                // SAFETY: the token proves NEON was detected; `b` holds the 16
                // bytes `ld1` reads.
                let v = unsafe { widen(vld1q_u8(b.as_ptr())) };
                store16(v, &mut xf[j]);
                v
            } else {
                load16(&xf[j])
            }
        }};
    }
    // `acc[k] += x · w[k][U]` for every row, fused, the weight from lane `U`.
    macro_rules! fma_lane {
        ($x:expr, $w:expr, $u:literal) => {{
            let x = $x;
            for (acc_k, &w_k) in acc.iter_mut().zip(&$w) {
                for (a, &x) in acc_k.iter_mut().zip(&x) {
                    // SAFETY: NEON, as above (registers only).
                    *a = unsafe { vfmaq_laneq_f32::<$u>(*a, x, w_k) };
                }
            }
        }};
    }
    let quads = jn / 4 * 4;
    for j in (0..quads).step_by(4) {
        // Weights `j .. j + 4` of every row, one register each.
        let mut w = [n.zero()[0]; MR];
        for (k, w_k) in w.iter_mut().enumerate() {
            // SAFETY: NEON, as above; k·ld + j + 4 <= (MR − 1)·ld + jn <= w0.len()
            // (asserted), so `ld1` reads 4 f32 inside `w0`.
            *w_k = unsafe { vld1q_f32(w0.as_ptr().add(k * wb.ld + j)) };
        }
        fma_lane!(pixel!(j), w, 0);
        fma_lane!(pixel!(j + 1), w, 1);
        fma_lane!(pixel!(j + 2), w, 2);
        fma_lane!(pixel!(j + 3), w, 3);
    }
    // The pixels after the last whole turn, each weight broadcast.
    for j in quads..jn {
        let x = pixel!(j);
        for (k, acc_k) in acc.iter_mut().enumerate() {
            let w = w0[k * wb.ld + j];
            for (a, &x) in acc_k.iter_mut().zip(&x) {
                // SAFETY: NEON, as above (registers only).
                *a = unsafe { vfmaq_n_f32(*a, x, w) };
            }
        }
    }
    store_sums::<_, MR, 1>(n, &acc.map(|a| [a]), part);
    MR
}

/// 16 bytes as 16 f32 (`uxtl`, `uxtl2` twice over, then `ucvtf`).
#[inline]
#[target_feature(enable = "neon")]
fn widen(b: uint8x16_t) -> Quad {
    let (lo, hi) = (vmovl_u8(vget_low_u8(b)), vmovl_high_u8(b));
    [
        vcvtq_f32_u32(vmovl_u16(vget_low_u16(lo))),
        vcvtq_f32_u32(vmovl_high_u16(lo)),
        vcvtq_f32_u32(vmovl_u16(vget_low_u16(hi))),
        vcvtq_f32_u32(vmovl_high_u16(hi)),
    ]
}

/// 16 f32 from `s`, as four registers loaded one by one: `ld1` of four would
/// need four consecutive registers, which the tiles' sums cannot spare.
#[inline(always)]
fn load16(s: &[f32; GROUP]) -> Quad {
    // SAFETY: NEON is enabled for the whole aarch64 build (a target feature of
    // every aarch64 CPU it runs on); `s` holds 16 f32, 4 at each offset read.
    std::array::from_fn(|q| unsafe { vld1q_f32(s.as_ptr().add(4 * q)) })
}

/// 16 f32 into `s`, four registers one by one (see [`load16`]).
#[inline(always)]
fn store16(v: Quad, s: &mut [f32; GROUP]) {
    for (q, v) in v.into_iter().enumerate() {
        // SAFETY: as in [`load16`]; `s` holds 16 writable f32.
        unsafe { vst1q_f32(s.as_mut_ptr().add(4 * q), v) }
    }
}
