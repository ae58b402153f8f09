//! SIMD lanes for the micro-kernels in [`super::micro`]: one trait, [`Lanes`], with
//! three implementations — AVX-512F (16 lanes), AVX2+FMA (8 lanes) and a portable
//! one (8 lanes of plain Rust that the compiler vectorises as it can). The kernels
//! are written once, generically, and compiled for each.
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
