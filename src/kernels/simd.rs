//! SIMD lanes for the kernels of `panel.rs` and `update.rs`: one trait, [`Lanes`], with
//! implementations for AVX-512F (16 lanes), AVX2+FMA (8 lanes), NEON (16 lanes in
//! four registers, in `neon.rs`) and a portable one (8 lanes of plain Rust that the
//! compiler vectorises as it can). The kernels are written once, generically, and
//! compiled for each.
//!
//! A value of type [`Avx512`] or [`Avx2`] exists only after the CPU was found to
//! support the instructions (runtime detection), so holding one is the proof that
//! its intrinsics may run; every `unsafe` block below rests on that.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// A vector of `N` f32 lanes and the few operations the kernels need.
pub(crate) trait Lanes: Copy {
    /// Number of f32 lanes.
    const N: usize;
    /// The vector type.
    type V: Copy;
    /// All lanes 0.
    fn zero(self) -> Self::V;
    /// All lanes `x`.
    fn splat(self, x: f32) -> Self::V;
    /// The first `N` values of `s` (panics if `s` is shorter).
    fn load(self, s: &[f32]) -> Self::V;
    /// The `N` bytes of `s` from index `at`, as f32, without a bounds check.
    ///
    /// # Safety
    /// `at + N <= s.len()`.
    unsafe fn load_u8_unchecked(self, s: &[u8], at: usize) -> Self::V;
    /// Writes the lanes into the first `N` values of `s` (panics if shorter).
    fn store(self, v: Self::V, s: &mut [f32]);
    /// `a · b + c`, fused where the hardware has it.
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// `a · b`.
    fn mul(self, a: Self::V, b: Self::V) -> Self::V;
    /// `a + b`.
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise `if a > b { a } else { b }` ([`max_ps`]).
    fn max(self, a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise `e^x` for `x ≤ 0`, bit for bit [`exp_neg`].
    fn exp(self, x: Self::V) -> Self::V;
}

/// `if a > b { a } else { b }`: the maximum as the x86 `max` instructions take
/// it (`b` when either is NaN).
#[inline(always)]
pub(crate) fn max_ps(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// `if a < b { a } else { b }`: the minimum as the x86 `min` instructions take
/// it (`b` when either is NaN).
#[inline(always)]
fn min_ps(a: f32, b: f32) -> f32 {
    if a < b { a } else { b }
}

/// 1.5·2²³: for `|v| < 2²²`, `(v + ROUND) − ROUND` is `v` rounded to the nearest
/// integer, ties to even (the sum's last bit is worth 1).
const ROUND: f32 = 12_582_912.0;
/// Below this `e^x` is not a normal f32: [`exp_neg`] clamps its argument here.
pub(super) const EXP_MIN: f32 = -87.336_54;
pub(super) const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 in two parts, `C1 + C2`, `C1` with few bits so that `n·C1` is exact.
pub(super) const LN2_C1: f32 = 0.693_359_4;
pub(super) const LN2_C2: f32 = -2.121_944_4e-4;
/// The polynomial of Cephes' `expf` for `e^r − 1 − r` over `|r| ≤ ln 2 / 2`.
pub(super) const EXP_P: [f32; 6] = [
    1.987_569_1e-4,
    1.398_199_9e-3,
    8.333_452e-3,
    4.166_579_6e-2,
    1.666_666_5e-1,
    0.5, // Cephes: 5.0000001201e-1, which is 0.5 in f32
];

/// `e^x` for `x ≤ 0` in f32 to about 1 ulp (Cephes' `expf`): `n = round(x log₂e)`,
/// `r = x − n ln 2`, `e^x = 2ⁿ (1 + r + r² P(r))`, each product rounded before its
/// sum (no fused multiply-add: a CPU without one would call a slow software
/// `fmaf`), and `n` rounded to the nearest integer by adding and subtracting
/// [`ROUND`] (no `rintf` call). The vector versions ([`Lanes::exp`]) run the same
/// operations in each lane, so that a value is the same whichever computes it. Arguments are clamped to
/// `[EXP_MIN, 0]` (below [`EXP_MIN`] the result would not be a normal f32; above 0
/// is outside the domain: a NaN among the scores can let a maximum miss +∞); NaN
/// stays NaN.
pub(crate) fn exp_neg(x: f32) -> f32 {
    let x = min_ps(0.0, max_ps(EXP_MIN, x));
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - n * LN2_C1) - n * LN2_C2;
    let p = EXP_P[1..].iter().fold(EXP_P[0], |p, &c| p * r + c);
    let p = (p * (r * r) + r) + 1.0;
    // n ∈ [−126, 0] here (NaN becomes 0 and keeps p NaN).
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// The portable fallback: 8 lanes in an array, `mul_add` not fused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable;

impl Lanes for Portable {
    const N: usize = 8;
    type V = [f32; 8];
    #[inline(always)]
    fn zero(self) -> [f32; 8] {
        [0.0; 8]
    }
    #[inline(always)]
    fn splat(self, x: f32) -> [f32; 8] {
        [x; 8]
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> [f32; 8] {
        let mut v = [0.0; 8];
        v.copy_from_slice(&s[..8]);
        v
    }
    #[inline(always)]
    unsafe fn load_u8_unchecked(self, s: &[u8], at: usize) -> [f32; 8] {
        // SAFETY: the caller guarantees `at + 8 <= s.len()`.
        let b = unsafe { s.get_unchecked(at..at + 8) };
        std::array::from_fn(|i| f32::from(b[i]))
    }
    #[inline(always)]
    fn store(self, v: [f32; 8], s: &mut [f32]) {
        s[..8].copy_from_slice(&v);
    }
    #[inline(always)]
    fn mul_add(self, a: [f32; 8], b: [f32; 8], c: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] * b[i] + c[i])
    }
    #[inline(always)]
    fn mul(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] * b[i])
    }
    #[inline(always)]
    fn add(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| a[i] + b[i])
    }
    #[inline(always)]
    fn max(self, a: [f32; 8], b: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|i| max_ps(a[i], b[i]))
    }
    #[inline(always)]
    fn exp(self, x: [f32; 8]) -> [f32; 8] {
        x.map(exp_neg)
    }
}

/// AVX2 with FMA: 8 lanes in a `__m256`.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2(());

#[cfg(target_arch = "x86_64")]
impl Avx2 {
    /// The token, if this CPU has AVX2 and FMA.
    pub(crate) fn detect() -> Option<Avx2> {
        (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")).then_some(Avx2(()))
    }
}

#[cfg(target_arch = "x86_64")]
impl Lanes for Avx2 {
    const N: usize = 8;
    type V = __m256;
    #[inline(always)]
    fn zero(self) -> __m256 {
        // SAFETY: `self` exists only if AVX2 and FMA were detected.
        unsafe { _mm256_setzero_ps() }
    }
    #[inline(always)]
    fn splat(self, x: f32) -> __m256 {
        // SAFETY: as above.
        unsafe { _mm256_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m256 {
        let s = &s[..8];
        // SAFETY: AVX2 detected; `s` holds 8 readable f32 (unaligned load).
        unsafe { _mm256_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    unsafe fn load_u8_unchecked(self, s: &[u8], at: usize) -> __m256 {
        // SAFETY: AVX2 detected; the caller guarantees `at + 8 <= s.len()`, and
        // `_mm_loadl_epi64` reads exactly 8 bytes (unaligned).
        unsafe {
            let b = _mm_loadl_epi64(s.as_ptr().add(at).cast::<__m128i>());
            _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b))
        }
    }
    #[inline(always)]
    fn store(self, v: __m256, s: &mut [f32]) {
        let s = &mut s[..8];
        // SAFETY: AVX2 detected; `s` holds 8 writable f32 (unaligned store).
        unsafe { _mm256_storeu_ps(s.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m256, b: __m256, c: __m256) -> __m256 {
        // SAFETY: FMA detected.
        unsafe { _mm256_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn mul(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX detected.
        unsafe { _mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    fn add(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX detected.
        unsafe { _mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn max(self, a: __m256, b: __m256) -> __m256 {
        // SAFETY: AVX detected.
        unsafe { _mm256_max_ps(a, b) }
    }
    #[inline(always)]
    fn exp(self, x: __m256) -> __m256 {
        // SAFETY: AVX2 detected. The steps of `exp_neg`, lane by lane (rounding to
        // nearest gives what adding and subtracting `ROUND` gives).
        unsafe {
            let x = _mm256_max_ps(_mm256_set1_ps(EXP_MIN), x);
            let x = _mm256_min_ps(_mm256_setzero_ps(), x);
            let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                _mm256_mul_ps(x, _mm256_set1_ps(LOG2_E)),
            );
            let r = _mm256_sub_ps(x, _mm256_mul_ps(n, _mm256_set1_ps(LN2_C1)));
            let r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(LN2_C2)));
            let mut p = _mm256_set1_ps(EXP_P[0]);
            for &c in &EXP_P[1..] {
                p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(c));
            }
            let p = _mm256_add_ps(_mm256_mul_ps(p, _mm256_mul_ps(r, r)), r);
            let p = _mm256_add_ps(p, _mm256_set1_ps(1.0));
            let e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
            _mm256_mul_ps(p, _mm256_castsi256_ps(_mm256_slli_epi32::<23>(e)))
        }
    }
}

/// AVX-512F: 16 lanes in a `__m512`.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx512(());

#[cfg(target_arch = "x86_64")]
impl Avx512 {
    /// The token, if this CPU has AVX-512F and AVX-512BW.
    pub(crate) fn detect() -> Option<Avx512> {
        (is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw"))
            .then_some(Avx512(()))
    }
}

#[cfg(target_arch = "x86_64")]
impl Lanes for Avx512 {
    const N: usize = 16;
    type V = __m512;
    #[inline(always)]
    fn zero(self) -> __m512 {
        // SAFETY: `self` exists only if AVX-512F was detected.
        unsafe { _mm512_setzero_ps() }
    }
    #[inline(always)]
    fn splat(self, x: f32) -> __m512 {
        // SAFETY: as above.
        unsafe { _mm512_set1_ps(x) }
    }
    #[inline(always)]
    fn load(self, s: &[f32]) -> __m512 {
        let s = &s[..16];
        // SAFETY: AVX-512F detected; `s` holds 16 readable f32 (unaligned load).
        unsafe { _mm512_loadu_ps(s.as_ptr()) }
    }
    #[inline(always)]
    unsafe fn load_u8_unchecked(self, s: &[u8], at: usize) -> __m512 {
        // SAFETY: AVX-512F detected; the caller guarantees `at + 16 <= s.len()`, and
        // `_mm_loadu_si128` reads exactly 16 bytes (unaligned).
        unsafe {
            let b = _mm_loadu_si128(s.as_ptr().add(at).cast::<__m128i>());
            _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b))
        }
    }
    #[inline(always)]
    fn store(self, v: __m512, s: &mut [f32]) {
        let s = &mut s[..16];
        // SAFETY: AVX-512F detected; `s` holds 16 writable f32 (unaligned store).
        unsafe { _mm512_storeu_ps(s.as_mut_ptr(), v) }
    }
    #[inline(always)]
    fn mul_add(self, a: __m512, b: __m512, c: __m512) -> __m512 {
        // SAFETY: AVX-512F detected.
        unsafe { _mm512_fmadd_ps(a, b, c) }
    }
    #[inline(always)]
    fn mul(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: AVX-512F detected.
        unsafe { _mm512_mul_ps(a, b) }
    }
    #[inline(always)]
    fn add(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: AVX-512F detected.
        unsafe { _mm512_add_ps(a, b) }
    }
    #[inline(always)]
    fn max(self, a: __m512, b: __m512) -> __m512 {
        // SAFETY: AVX-512F detected.
        unsafe { _mm512_max_ps(a, b) }
    }
    #[inline(always)]
    fn exp(self, x: __m512) -> __m512 {
        // SAFETY: AVX-512F detected. The steps of `exp_neg`, lane by lane; `scalef`
        // multiplies by 2ⁿ exactly.
        unsafe {
            let x = _mm512_max_ps(_mm512_set1_ps(EXP_MIN), x);
            let x = _mm512_min_ps(_mm512_setzero_ps(), x);
            let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
                _mm512_mul_ps(x, _mm512_set1_ps(LOG2_E)),
            );
            let r = _mm512_sub_ps(x, _mm512_mul_ps(n, _mm512_set1_ps(LN2_C1)));
            let r = _mm512_sub_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(LN2_C2)));
            let mut p = _mm512_set1_ps(EXP_P[0]);
            for &c in &EXP_P[1..] {
                p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(c));
            }
            let p = _mm512_add_ps(_mm512_mul_ps(p, _mm512_mul_ps(r, r)), r);
            let p = _mm512_add_ps(p, _mm512_set1_ps(1.0));
            _mm512_scalef_ps(p, n)
        }
    }
}

/// Asks the CPU to bring the cache line holding `s[at]` into the L2 cache, if `at`
/// is inside `s` (a hint: no effect on results; a no-op off x86-64).
#[inline(always)]
pub(crate) fn prefetch_l2<T>(s: &[T], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = s.get(at) {
        // SAFETY: SSE is part of x86-64; a prefetch reads nothing architecturally,
        // and the address is inside `s` anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T1>((v as *const T).cast::<i8>()) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (s, at);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arguments across the whole domain, both clamps and the special values.
    fn arguments() -> Vec<f32> {
        let mut xs: Vec<f32> = (0..=20_000).map(|i| -100.0 * i as f32 / 20_000.0).collect();
        xs.extend([
            0.0,
            -0.0,
            -1e-30,
            -87.336_54,
            -87.4,
            f32::NEG_INFINITY,
            f32::NAN,
        ]);
        xs.extend((1..50).map(|i| -(i as f32) * std::f32::consts::LN_2));
        // Where `x log₂e` is an integer and a half in f32: rounding ties to even and
        // away from zero part there.
        xs.extend((1..126).filter_map(|k| {
            let t = -(k as f32) - 0.5;
            let x = t / LOG2_E;
            (-8..=8)
                .map(|u| f32::from_bits(x.to_bits().wrapping_add_signed(u)))
                .find(|&x| x * LOG2_E == t)
        }));
        xs
    }

    #[test]
    fn exp_is_within_two_ulp_of_the_exact_value() {
        for x in arguments()
            .into_iter()
            .filter(|x| (-87.0..=0.0).contains(x))
        {
            let got = f64::from(exp_neg(x));
            let want = f64::from(x).exp();
            assert!(
                (got - want).abs() <= 2.0 * f64::from(f32::EPSILON) * want,
                "exp({x}) = {got}, not {want}"
            );
        }
        assert!(exp_neg(f32::NAN).is_nan());
        assert_eq!(exp_neg(f32::INFINITY), 1.0);
        assert!(exp_neg(-1000.0) > 0.0 && exp_neg(-1000.0) < 1e-37);
    }

    /// Each vector `exp` gives, lane by lane, exactly the scalar `exp_neg`, and
    /// each vector `max` exactly `max_ps`.
    fn agrees<L: Lanes>(l: L) {
        let mut xs = arguments();
        xs.resize(xs.len().next_multiple_of(L::N), -1.0);
        for chunk in xs.chunks_exact(L::N) {
            let mut out = vec![0f32; L::N];
            l.store(l.exp(l.load(chunk)), &mut out);
            for (&x, &y) in chunk.iter().zip(&out) {
                let want = exp_neg(x);
                assert!(
                    y.to_bits() == want.to_bits() || (y.is_nan() && want.is_nan()),
                    "exp({x}): {y} vs {want}"
                );
            }
        }
        // Every pair of these, NaN and signed zeros included: 64, whole vectors.
        let vals = [
            0.0,
            -0.0,
            1.0,
            -2.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            3.0,
        ];
        let (a, b): (Vec<f32>, Vec<f32>) = vals
            .iter()
            .flat_map(|&a| vals.iter().map(move |&b| (a, b)))
            .unzip();
        for (a, b) in a.chunks_exact(L::N).zip(b.chunks_exact(L::N)) {
            let mut out = vec![0f32; L::N];
            l.store(l.max(l.load(a), l.load(b)), &mut out);
            for ((&a, &b), &y) in a.iter().zip(b).zip(&out) {
                let want = max_ps(a, b);
                assert!(
                    y.to_bits() == want.to_bits() || (y.is_nan() && want.is_nan()),
                    "max({a}, {b}): {y} vs {want}"
                );
            }
        }
    }

    #[test]
    fn vector_exp_and_max_equal_the_scalar_ones_bit_for_bit() {
        agrees(Portable);
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(t) = Avx2::detect() {
                // SAFETY: AVX2 and FMA were detected.
                unsafe { agrees_avx2(t) };
            }
            if let Some(t) = Avx512::detect() {
                // SAFETY: AVX-512F was detected.
                unsafe { agrees_avx512(t) };
            }
        }
        #[cfg(target_arch = "aarch64")]
        agrees(super::super::neon::Neon::detect().expect("NEON on aarch64"));
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn agrees_avx2(t: Avx2) {
        agrees(t)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn agrees_avx512(t: Avx512) {
        agrees(t)
    }
}
