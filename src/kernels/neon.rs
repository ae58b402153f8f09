//! NEON (aarch64's Advanced SIMD) for the kernels: [`Lanes`] on 16 f32 lanes held
//! in four 128-bit registers, and the 16×16 blocks of the panel transposition.
//!
//! Sixteen lanes rather than four, because one 16-byte load then brings a pixel
//! of all the images of a panel (the scores, [`super::panel`]) or 16 pixels of
//! one image (the update, [`super::update`]), and aarch64's 32 vector registers
//! hold a tile of 5 rows × 16 lanes: 20 registers of sums, 4 of bytes turned into
//! f32, a few for the weights. Per pixel a score tile makes one 16-byte load and
//! 5 loads of one weight each, and 20 multiply-adds of 4 lanes, each weight
//! multiplying by lane (`fmla v.4s, v.4s, v.s[0]`, so broadcasts take no vector
//! instruction): 3.3 multiply-adds (13.3 lanes) per load, where AVX2's tile of
//! 5 rows × 16 images makes 10 of 8 lanes for 7 loads (1.4, 11.4 lanes). The update
//! is the same with images in place of pixels and `G` in place of the weights.
//!
//! NEON is part of every aarch64 CPU this builds for; the token [`Neon`] is made
//! by run-time detection all the same, as the x86 ones are.

use std::arch::aarch64::*;

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
        let s = &s[..16];
        // SAFETY: NEON detected; `s` holds 16 readable f32, which `ld1` reads (no
        // alignment needed).
        let v = unsafe { vld1q_f32_x4(s.as_ptr()) };
        [v.0, v.1, v.2, v.3]
    }
    #[inline(always)]
    unsafe fn load_u8_unchecked(self, s: &[u8], at: usize) -> Quad {
        // SAFETY: NEON detected; the caller guarantees `at + 16 <= s.len()`, and
        // `vld1q_u8` reads exactly 16 bytes (no alignment needed).
        unsafe {
            let b = vld1q_u8(s.as_ptr().add(at));
            let (lo, hi) = (vmovl_u8(vget_low_u8(b)), vmovl_high_u8(b));
            [
                vcvtq_f32_u32(vmovl_u16(vget_low_u16(lo))),
                vcvtq_f32_u32(vmovl_high_u16(lo)),
                vcvtq_f32_u32(vmovl_u16(vget_low_u16(hi))),
                vcvtq_f32_u32(vmovl_high_u16(hi)),
            ]
        }
    }
    #[inline(always)]
    fn store(self, v: Quad, s: &mut [f32]) {
        let s = &mut s[..16];
        // SAFETY: NEON detected; `s` holds 16 writable f32, which `st1` writes (no
        // alignment needed).
        unsafe { vst1q_f32_x4(s.as_mut_ptr(), float32x4x4_t(v[0], v[1], v[2], v[3])) }
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
