//! Scores of a whole data set (the evaluation), by outer products on panels of
//! [`GROUP`] images:
//!
//! ```text
//! P = X_gᵀ                                  d×16 bytes: column c is image c of the group
//! S_g[c, r] = b[r] + Σ_j W[r, j] P[j, c]     16×m, each score one lane of one register
//! ```
//!
//! with `W: m×d` the folded weights. For every pixel `j` one load brings that pixel
//! of all the group's images, and each of the tile's `MR` weight rows adds a
//! broadcast of `W[r, j]` times it: no partial sums leave the registers and no
//! lanes need summing at the end, so the products run near the FMA units' peak. A
//! score's value is `b[r]` plus the multiply-adds over `j = 0, 1, …, d−1` in order,
//! in one lane, wherever its row and image sit in a tile: stacking runs changes
//! nothing.

use super::isa::Kernels;
#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::simd::{Lanes, exp_neg, max_ps, prefetch_l2};

/// Images per panel.
pub(crate) const GROUP: usize = 16;

/// One group of `rows ≤ 16` images, `x: rows×d` bytes (row-major), with `next`,
/// the bytes of the next group (16 images take as many bytes as a panel), to fetch
/// into the L2 cache meanwhile, so that its transposition does not wait for memory.
#[derive(Clone, Copy)]
pub(crate) struct Group<'a> {
    pub x: &'a [u8],
    pub d: usize,
    pub rows: usize,
    pub next: &'a [u8],
}

/// All the columns of [`transpose_columns`], for the tests.
#[cfg(test)]
pub(crate) fn transpose(isa: super::Isa, x: &[u8], d: usize, rows: usize, panel: &mut [u8]) {
    let next = &[];
    isa.transpose(Group { x, d, rows, next }, panel);
}

/// Columns `j0 .. j1` of the group's images transposed into `panel: d×16`,
/// `panel[j·16 + c] = x[c·d + j]`, the columns of missing images zeros (the
/// plain layout, which the scores read on every instruction set but AVX2, which
/// transposes as it goes): whole blocks of 16 by the instruction set, the rest
/// one by one.
#[inline(always)]
pub(super) fn transpose_columns<K: Kernels>(
    k: K,
    g: Group,
    (j0, j1): (usize, usize),
    panel: &mut [u8],
) {
    let Group { x, d, rows, .. } = g;
    assert!(rows <= GROUP && x.len() >= rows * d && j0 <= j1 && j1 <= d);
    assert!(panel.len() >= d * GROUP);
    let done = k.transpose_blocks(g, (j0, j1), panel);
    for j in done..j1 {
        for c in 0..GROUP {
            panel[j * GROUP + c] = if c < rows { x[c * d + j] } else { 0 };
        }
    }
}

/// The group transposed into `panel` (by [`transpose_columns`]), as a [`Panel`].
#[inline(always)]
pub(super) fn transposed<'a, K: Kernels>(k: K, g: Group<'a>, panel: &'a mut [u8]) -> Panel<'a> {
    transpose_columns(k, g, (0, g.d), panel);
    Panel {
        panel: &panel[..g.d * GROUP],
        rows: g.rows,
        next: g.next,
    }
}

/// The whole 16-column blocks of columns `j0 .. j1` of [`transpose_columns`] by
/// [`transpose_block2`], then [`transpose_block`]; returns the columns done.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) fn transpose_avx2(
    t: Avx2,
    Group { x, d, rows, .. }: Group,
    (mut j0, j1): (usize, usize),
    panel: &mut [u8],
) -> usize {
    while j0 + 2 * GROUP <= j1 {
        transpose_block2(t, x, d, rows, j0, panel);
        j0 += 2 * GROUP;
    }
    while j0 + GROUP <= j1 {
        transpose_block(x, d, rows, j0, panel);
        j0 += GROUP;
    }
    j0
}

/// The whole 16-column blocks of columns `j0 .. j1` of [`transpose_columns`] by
/// [`transpose_block4`], then [`transpose_block`]; returns the columns done.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn transpose_avx512(
    t: Avx512,
    Group { x, d, rows, .. }: Group,
    (mut j0, j1): (usize, usize),
    panel: &mut [u8],
) -> usize {
    while j0 + 4 * GROUP <= j1 {
        transpose_block4(t, x, d, rows, j0, panel);
        j0 += 4 * GROUP;
    }
    while j0 + GROUP <= j1 {
        transpose_block(x, d, rows, j0, panel);
        j0 += GROUP;
    }
    j0
}

/// One round of a transposition: `out[p]`, `out[p + 8]` interleave the low and
/// high halves (by the intrinsics `$lo`, `$hi`) of `a[2p]` and `a[2p + 1]`.
#[cfg(target_arch = "x86_64")]
macro_rules! round {
    ($a:expr, $lo:ident, $hi:ident) => {{
        let a = $a;
        let lo: [_; 8] = std::array::from_fn(|p| $lo(a[2 * p], a[2 * p + 1]));
        let hi: [_; 8] = std::array::from_fn(|p| $hi(a[2 * p], a[2 * p + 1]));
        let mut out = a;
        out[..8].copy_from_slice(&lo);
        out[8..].copy_from_slice(&hi);
        out
    }};
}

/// Columns `j0 .. j0 + 16` of [`transpose_columns`]: a 16×16 block of bytes transposed in
/// registers, by interleaving rows pairwise four times (bytes, then pairs, fours
/// and eights of bytes); the result's vector `i` holds column `bit_reverse(i)`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn transpose_block(x: &[u8], d: usize, rows: usize, j0: usize, panel: &mut [u8]) {
    use std::arch::x86_64::*;
    let mut a = [_mm_setzero_si128(); 16];
    for (r, v) in a.iter_mut().enumerate().take(rows) {
        let src = &x[r * d + j0..r * d + j0 + GROUP];
        // SAFETY: `src` holds 16 readable bytes (unaligned load).
        *v = unsafe { _mm_loadu_si128(src.as_ptr().cast::<__m128i>()) };
    }
    let a = round!(a, _mm_unpacklo_epi8, _mm_unpackhi_epi8);
    let a = round!(a, _mm_unpacklo_epi16, _mm_unpackhi_epi16);
    let a = round!(a, _mm_unpacklo_epi32, _mm_unpackhi_epi32);
    let a = round!(a, _mm_unpacklo_epi64, _mm_unpackhi_epi64);
    for (v, &col) in a.iter().zip(&BIT_REVERSE) {
        let at = (j0 + col) * GROUP;
        let dst = &mut panel[at..at + GROUP];
        // SAFETY: `dst` holds 16 writable bytes (unaligned store).
        unsafe { _mm_storeu_si128(dst.as_mut_ptr().cast::<__m128i>(), *v) };
    }
}

/// Vector `i` of a block transposed by four rounds of interleaving holds column
/// `BIT_REVERSE[i]` (and column `c` is in vector `BIT_REVERSE[c]`).
#[cfg(target_arch = "x86_64")]
const BIT_REVERSE: [usize; 16] = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];

/// Columns `j0 .. j0 + 32` of [`transpose_columns`]: two 16×16 blocks side by side, one
/// in each 128-bit lane, transposed by the rounds of [`transpose_block`] on 256-bit
/// vectors; each lane then holds one column of its block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn transpose_block2(_: Avx2, x: &[u8], d: usize, rows: usize, j0: usize, panel: &mut [u8]) {
    use std::arch::x86_64::*;
    let mut a = [_mm256_setzero_si256(); 16];
    for (r, v) in a.iter_mut().enumerate().take(rows) {
        let src = &x[r * d + j0..r * d + j0 + 2 * GROUP];
        // SAFETY: `src` holds 32 readable bytes (unaligned load).
        *v = unsafe { _mm256_loadu_si256(src.as_ptr().cast::<__m256i>()) };
    }
    let a = round!(a, _mm256_unpacklo_epi8, _mm256_unpackhi_epi8);
    let a = round!(a, _mm256_unpacklo_epi16, _mm256_unpackhi_epi16);
    let a = round!(a, _mm256_unpacklo_epi32, _mm256_unpackhi_epi32);
    let a = round!(a, _mm256_unpacklo_epi64, _mm256_unpackhi_epi64);
    // Lane L of a[BIT_REVERSE[c]] is column j0 + 16 L + c.
    for (v, &col) in a.iter().zip(&BIT_REVERSE) {
        let halves = [
            _mm256_castsi256_si128(*v),
            _mm256_extracti128_si256::<1>(*v),
        ];
        for (lane, h) in halves.into_iter().enumerate() {
            let at = (j0 + GROUP * lane + col) * GROUP;
            let dst = &mut panel[at..at + GROUP];
            // SAFETY: `dst` holds 16 writable bytes (unaligned store).
            unsafe { _mm_storeu_si128(dst.as_mut_ptr().cast::<__m128i>(), h) };
        }
    }
}

/// The pair of columns each vector holds after the rounds of [`transpose_chunk`]:
/// vector `q` holds columns `2p, 2p + 1, 2p + 16, 2p + 17` with `p = PAIR[q]`,
/// the three bits of `q` reversed.
#[cfg(target_arch = "x86_64")]
const PAIR: [usize; 8] = [0, 4, 2, 6, 1, 5, 3, 7];

/// Columns `j0 .. j0 + 32` (a [`CHUNK`]) of the group's images, transposed into
/// `out`, each half of the images apart: 8 rows of 32 bytes, two 8×16 blocks side
/// by side in the two 128-bit lanes, go through three rounds of interleaving
/// (bytes, then pairs and fours of bytes), after which each 8 bytes are one
/// column of the 8 images, the 8 bytes the conversion to f32 loads at once. Column
/// `j = 16 s + 2 p + e` of images `8h .. 8h + 8` ends at
/// `out[64 p + 32 h + 16 s + 8 e ..]`. Eight rows and their interleavings fit in
/// the 16 registers, where sixteen would not.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn transpose_chunk(_: Avx2, g: Group, j0: usize, out: &mut [u8; CHUNK * GROUP]) {
    use std::arch::x86_64::*;
    /// One round on 8 vectors: `out[p]`, `out[p + 4]` interleave the low and high
    /// halves of `a[2p]` and `a[2p + 1]`.
    macro_rules! round8 {
        ($a:expr, $lo:ident, $hi:ident) => {{
            let a = $a;
            // SAFETY: the token proves AVX2 was detected.
            unsafe {
                [
                    $lo(a[0], a[1]),
                    $lo(a[2], a[3]),
                    $lo(a[4], a[5]),
                    $lo(a[6], a[7]),
                    $hi(a[0], a[1]),
                    $hi(a[2], a[3]),
                    $hi(a[4], a[5]),
                    $hi(a[6], a[7]),
                ]
            }
        }};
    }
    let Group { x, d, rows, .. } = g;
    assert!(rows <= GROUP && j0 + CHUNK <= d && x.len() >= rows * d);
    for h in 0..2 {
        // SAFETY: the token proves AVX2 was detected.
        let mut a = [unsafe { _mm256_setzero_si256() }; 8];
        if rows == GROUP {
            // Row 8h + r from `x[(8h + r)·d + j0 ..]`: 32 bytes within `x`, as
            // (8h + r)·d + j0 + 32 <= 15·d + d = 16·d <= x.len().
            let base = &x[8 * h * d + j0..];
            for (r, v) in a.iter_mut().enumerate() {
                // SAFETY: AVX2 detected; r·d + 32 <= base.len() (above), and the
                // load is unaligned.
                *v = unsafe { _mm256_loadu_si256(base.as_ptr().add(r * d).cast::<__m256i>()) };
            }
        } else {
            for (r, v) in (8 * h..rows.min(8 * h + 8)).zip(a.iter_mut()) {
                let src = &x[r * d + j0..r * d + j0 + CHUNK];
                // SAFETY: AVX2 detected; `src` holds 32 readable bytes (unaligned load).
                *v = unsafe { _mm256_loadu_si256(src.as_ptr().cast::<__m256i>()) };
            }
        }
        let a = round8!(a, _mm256_unpacklo_epi8, _mm256_unpackhi_epi8);
        let a = round8!(a, _mm256_unpacklo_epi16, _mm256_unpackhi_epi16);
        let a = round8!(a, _mm256_unpacklo_epi32, _mm256_unpackhi_epi32);
        for (v, &p) in a.iter().zip(&PAIR) {
            let at = 64 * p + 32 * h;
            let dst = &mut out[at..at + 32];
            // SAFETY: AVX2 detected; `dst` holds 32 writable bytes (unaligned store).
            unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast::<__m256i>(), *v) };
        }
    }
}

/// Columns `j0 .. j0 + 64` of [`transpose_columns`]: four 16×16 blocks side by side, one
/// in each 128-bit lane, transposed by the rounds of [`transpose_block`] on 512-bit
/// vectors; then the lanes of each four vectors holding columns `c .. c + 4` of
/// every block are transposed, so that each vector holds four consecutive columns
/// (64 bytes of the panel).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
fn transpose_block4(_: Avx512, x: &[u8], d: usize, rows: usize, j0: usize, panel: &mut [u8]) {
    use std::arch::x86_64::*;
    let mut a = [_mm512_setzero_si512(); 16];
    for (r, v) in a.iter_mut().enumerate().take(rows) {
        let src = &x[r * d + j0..r * d + j0 + 4 * GROUP];
        // SAFETY: `src` holds 64 readable bytes (unaligned load).
        *v = unsafe { _mm512_loadu_si512(src.as_ptr().cast()) };
    }
    let a = round!(a, _mm512_unpacklo_epi8, _mm512_unpackhi_epi8);
    let a = round!(a, _mm512_unpacklo_epi16, _mm512_unpackhi_epi16);
    let a = round!(a, _mm512_unpacklo_epi32, _mm512_unpackhi_epi32);
    let a = round!(a, _mm512_unpacklo_epi64, _mm512_unpackhi_epi64);
    // Lane L of a[BIT_REVERSE[c]] is column j0 + 16 L + c.
    for c in (0..GROUP).step_by(4) {
        let [v0, v1, v2, v3] = std::array::from_fn(|q| a[BIT_REVERSE[c + q]]);
        let t0 = _mm512_shuffle_i32x4::<0x44>(v0, v1);
        let t1 = _mm512_shuffle_i32x4::<0xEE>(v0, v1);
        let t2 = _mm512_shuffle_i32x4::<0x44>(v2, v3);
        let t3 = _mm512_shuffle_i32x4::<0xEE>(v2, v3);
        // Vector L: columns j0 + 16 L + c .. + 4.
        let out = [
            _mm512_shuffle_i32x4::<0x88>(t0, t2),
            _mm512_shuffle_i32x4::<0xDD>(t0, t2),
            _mm512_shuffle_i32x4::<0x88>(t1, t3),
            _mm512_shuffle_i32x4::<0xDD>(t1, t3),
        ];
        for (lane, v) in out.into_iter().enumerate() {
            let at = (j0 + GROUP * lane + c) * GROUP;
            let dst = &mut panel[at..at + 4 * GROUP];
            // SAFETY: `dst` holds 64 writable bytes (unaligned store).
            unsafe { _mm512_storeu_si512(dst.as_mut_ptr().cast(), v) };
        }
    }
}

/// The folded weights the scores are made of: `w: m×ld` (row-major, row stride
/// `ld ≥ d`) and `b: m`.
#[derive(Clone, Copy)]
pub(crate) struct Weights<'a> {
    pub w: &'a [f32],
    pub ld: usize,
    pub b: &'a [f32],
}

/// The images of one group transposed: `panel: d×16` bytes, of which the first
/// `rows` columns are images; `next` as in [`Group`].
#[derive(Clone, Copy)]
pub(crate) struct Panel<'a> {
    pub panel: &'a [u8],
    pub rows: usize,
    pub next: &'a [u8],
}

/// For the softmax loss of runs of `k` classes (rows `q·k .. (q+1)·k` are run
/// `q`): per image `c` and run `q`, `max[c·R + q] = max_r s[c·m + r]` and
/// `sum[c·R + q] = Σ_r e^(s[c·m + r] − max)` over the run's rows in order, with
/// `R = m / k` runs, each maximum taken as [`max_ps`] takes it and each
/// exponential by [`exp_neg`]: the values [`softmax_terms`] gives.
pub(crate) struct SoftmaxTerms<'a> {
    pub k: usize,
    pub max: &'a mut [f32],
    pub sum: &'a mut [f32],
}

/// `(max, sum)` of [`SoftmaxTerms`] for the scores `s` of one image and one run.
pub(crate) fn softmax_terms(s: &[f32]) -> (f32, f32) {
    let max = s[1..].iter().fold(s[0], |m, &v| max_ps(m, v));
    let sum = s.iter().fold(0.0, |t, &v| t + exp_neg(v - max));
    (max, sum)
}

/// With the [`SoftmaxTerms`] to compute, the scores by row, `m × 16` (row `r`,
/// image `c`), where the tiles leave them for [`softmax_tile`].
pub(crate) type Terms<'a, 'b> = (SoftmaxTerms<'a>, &'b mut [[f32; GROUP]]);

/// `s[c·m + r] = b[r] + Σ_j w[r·ld + j] x[c·d + j]` for the group's images
/// `c < rows` and every row `r < m = b.len()`; `s: rows×m`. The images go through
/// `panel` (`d×16` bytes), where they are transposed. With `terms`, also the
/// [`SoftmaxTerms`] of every run, whose number it returns.
pub(crate) fn scores(
    isa: super::Isa,
    wb: Weights,
    g: Group,
    panel: &mut [u8],
    s: &mut [f32],
    terms: Option<Terms>,
) -> usize {
    let (m, d) = (wb.b.len(), g.d);
    assert!(m > 0 && g.rows <= GROUP && wb.ld >= d && wb.w.len() == wb.ld * m);
    assert!(g.x.len() >= g.rows * d && panel.len() >= d * GROUP && s.len() >= g.rows * m);
    if let Some((t, by_row)) = &terms {
        let runs = m / t.k.max(1);
        assert!(t.k > 0 && m % t.k == 0 && t.max.len() >= g.rows * runs);
        assert!(t.sum.len() >= g.rows * runs && by_row.len() >= m);
    }
    isa.scores(wb, g, panel, s, terms)
}

/// The scores on AVX-512: [`tiles`] of 20 rows, then 10, then one, with the panel
/// transposed as the first tile goes rather than before it: ahead of each block of
/// 64 pixels, the first tile transposes the next block ([`transpose_block4`]), so
/// that the shuffles run beside the multiply-adds of this block, which do not
/// wait for them. The values are those of [`tiles`] on the panel transposed first.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
pub(super) fn scores_avx512(
    t: Avx512,
    wb: Weights,
    g: Group,
    panel: &mut [u8],
    s: &mut [f32],
    mut terms: Option<Terms>,
) -> usize {
    const MR: usize = 20;
    const MR2: usize = 10;
    let (m, d) = (wb.b.len(), g.d);
    let whole = d / BLOCK4 * BLOCK4;
    if m < MR2 || whole == 0 {
        let p = transposed(t, g, panel);
        return tiles::<_, MR, MR2, 1>(t, wb, p, s, terms);
    }
    // The first block and the columns after the last whole block now; the first
    // tile transposes the others.
    transpose_columns(t, g, (whole, d), panel);
    transpose_block4(t, g.x, d, g.rows, 0, panel);
    let first = if m >= MR { MR } else { MR2 };
    let by_row = terms.as_mut().map(|(_, b)| &mut b[..first]);
    if first == MR {
        filling_tile::<MR>(t, wb, g, panel, s, by_row);
    } else {
        filling_tile::<MR2>(t, wb, g, panel, s, by_row);
    }
    let p = Panel {
        panel: &panel[..d * GROUP],
        rows: g.rows,
        next: &[],
    };
    tiles_from::<_, MR, MR2, 1>(t, wb, p, first, s, terms)
}

/// Pixels per block of [`transpose_block4`].
#[cfg(target_arch = "x86_64")]
const BLOCK4: usize = 4 * GROUP;

/// The first tile of [`scores_avx512`], rows `0 .. MR`: [`tile`], but before the
/// multiply-adds of each block of [`BLOCK4`] pixels it transposes the next whole
/// block of the group into `panel`, whose first block and last columns are there
/// already; it fetches the next group.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn filling_tile<const MR: usize>(
    l: Avx512,
    wb: Weights,
    g: Group,
    panel: &mut [u8],
    s: &mut [f32],
    by_row: Option<&mut [[f32; GROUP]]>,
) {
    let (m, d) = (wb.b.len(), g.d);
    let whole = d / BLOCK4 * BLOCK4;
    assert!(MR <= m && wb.w.len() >= (m - 1) * wb.ld + d && panel.len() >= d * GROUP);
    let mut acc = [[l.zero(); 1]; MR];
    for j0 in (0..d).step_by(BLOCK4) {
        if j0 + BLOCK4 < whole {
            // SAFETY: the token proves AVX-512F and AVX-512BW were detected.
            unsafe { transpose_block4(l, g.x, d, g.rows, j0 + BLOCK4, panel) };
        }
        for j in j0..(j0 + BLOCK4).min(d) {
            // One 64-byte line every 4 pixels: the 16 bytes a pixel takes in a panel.
            if j % 4 == 0 {
                prefetch_l2(g.next, j * GROUP);
            }
            // SAFETY: j < d, so j·16 + 16 <= d·16 <= panel.len().
            let xv = unsafe { l.load_u8_unchecked(panel, j * GROUP) };
            for (k, acc_k) in acc.iter_mut().enumerate() {
                // SAFETY: j < d and k < MR <= m, so k·ld + j < (m − 1)·ld + d <= w.len().
                let w = l.splat(unsafe { *wb.w.get_unchecked(k * wb.ld + j) });
                acc_k[0] = l.mul_add(w, xv, acc_k[0]);
            }
        }
    }
    leave(l, &acc, wb.b, (0, g.rows), s, by_row);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) fn scores_avx2(
    t: Avx2,
    wb: Weights,
    g: Group,
    panel: &mut [u8],
    s: &mut [f32],
    terms: Option<Terms>,
) -> usize {
    if g.rows <= GROUP / 2 {
        // At most 8 images (a mini-batch's last few): one vector of them, and
        // 10 rows × 8 images a tile, each converted pixel serving 10 rows.
        let p = transposed(t, g, panel);
        return tiles::<_, 10, 5, 1>(t, wb, p, s, terms);
    }
    // 5 rows × 16 images: 10 accumulators, 2 vectors of pixels and a broadcast
    // weight of the 16 registers; 10, 20 or 40 rows are whole tiles. After the
    // first tile, tiles of 6 rows (12 accumulators) where the rest still goes in
    // tiles of 5: 40 rows as 5 + 6·5 + 5, 2% faster for four runs.
    blocks::<5, 3, 6>(t, wb, g, panel, s, terms)
}

/// Pixels per block of [`blocks`]: a block of the panel in f32 takes
/// `128 × 16 × 4` bytes = 8 KiB, and stays in the L1 cache for every tile of rows.
#[cfg(target_arch = "x86_64")]
const BLOCK: usize = 128;

/// Pixels per chunk of a block of [`blocks`], transposed at once: two blocks of
/// [`transpose_block2`].
#[cfg(target_arch = "x86_64")]
const CHUNK: usize = 32;

/// Rows whose partial sums the AVX2 and NEON scores (and the update's blocks) keep
/// between blocks of pixels (of images).
pub(super) const BAND: usize = 40;

/// 64-byte aligned storage, so that no vector of it straddles two cache lines.
#[repr(C, align(64))]
pub(super) struct Aligned<T>(pub(super) T);

/// What [`tiles`] computes on AVX2 for a group of 16 images, with the pixels of
/// the panel turned into f32 once per panel rather than once per tile of rows: the
/// rows go in bands of [`BAND`], and for each band the pixels in blocks of
/// [`BLOCK`]; the first tile of a block ([`first_tile`]) converts the block's
/// bytes as it goes and leaves them in f32 for the other tiles (`WIDE` rows as
/// [`wide_tiles`] says, `MR` rows, then `MR2`, then one), whose sums wait in
/// memory for the next block. In the first band the panel is not yet there: the
/// first tile transposes it chunk by chunk ([`transpose_chunk`]) as it goes. Each score is still the bias plus one chain of
/// multiply-adds over `j = 0, 1, …, d−1` in one lane, so the values are those of
/// [`tiles`]. Per pixel a tile makes `MR·H` multiply-adds from `H` loads and `MR`
/// broadcasts.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) fn blocks<const MR: usize, const MR2: usize, const WIDE: usize>(
    l: Avx2,
    wb: Weights,
    g: Group,
    panel: &mut [u8],
    s: &mut [f32],
    mut terms: Option<Terms>,
) -> usize {
    type L = Avx2;
    const H: usize = 2;
    let (m, d) = (wb.b.len(), g.d);
    assert!(H * L::N == GROUP && wb.w.len() >= (m - 1) * wb.ld + d);
    assert!(panel.len() >= d * GROUP);
    let mut xf = Aligned([[0f32; GROUP]; BLOCK]);
    let mut part = Aligned([[0f32; GROUP]; BAND]);
    // The first chunk now; each of the others while the one before is converted.
    transpose_chunk_at(l, g, 0, panel);
    for r0 in (0..m).step_by(BAND) {
        let band = BAND.min(m - r0);
        // The first band transposes the panel as it goes; the others read it.
        let fill = match r0 {
            0 => Some(g),
            _ => None,
        };
        for j0 in (0..d).step_by(BLOCK) {
            let xf = &mut xf.0[..BLOCK.min(d - j0)];
            let part = &mut part.0[..band];
            // The first tile converts: MR rows if there are, else fewer.
            let at = (r0, j0);
            let mut r = if band >= MR {
                first_tile::<MR>(l, wb, fill, panel, xf, at, &mut part[..MR]);
                MR
            } else if band >= MR2 {
                first_tile::<MR2>(l, wb, fill, panel, xf, at, &mut part[..MR2]);
                MR2
            } else {
                first_tile::<1>(l, wb, fill, panel, xf, at, &mut part[..1]);
                1
            };
            let xf = &*xf;
            let mut wide = wide_tiles(band - r, MR, WIDE);
            while wide > 0 {
                block_tile::<L, WIDE, H>(l, wb, xf, (r0 + r, j0), &mut part[r..r + WIDE]);
                (r, wide) = (r + WIDE, wide - 1);
            }
            while r + MR <= band {
                block_tile::<L, MR, H>(l, wb, xf, (r0 + r, j0), &mut part[r..r + MR]);
                r += MR;
            }
            while r + MR2 <= band {
                block_tile::<L, MR2, H>(l, wb, xf, (r0 + r, j0), &mut part[r..r + MR2]);
                r += MR2;
            }
            while r < band {
                block_tile::<L, 1, H>(l, wb, xf, (r0 + r, j0), &mut part[r..r + 1]);
                r += 1;
            }
        }
        band_scores(wb.b, &part.0[..band], (r0, g.rows), s, terms.as_mut());
    }
    band_terms(l, terms, (g.rows, m))
}

/// The scores of a band of rows from `r0` on (of AVX2's `blocks`, or of NEON's),
/// its sums `part` plus the bias `b`: into `s` for the first `rows` images, and by
/// row into the terms' scores when given.
pub(super) fn band_scores(
    b: &[f32],
    part: &[[f32; GROUP]],
    (r0, rows): (usize, usize),
    s: &mut [f32],
    mut terms: Option<&mut Terms>,
) {
    let m = b.len();
    for (k, sums) in part.iter().enumerate() {
        let r = r0 + k;
        // `out[c]` for row `r` and image `c`.
        let out: [f32; GROUP] = std::array::from_fn(|c| sums[c] + b[r]);
        for (c, &v) in out.iter().enumerate().take(rows) {
            s[c * m + r] = v;
        }
        if let Some((_, by_row)) = terms.as_mut() {
            by_row[r] = out;
        }
    }
}

/// With `terms`, the [`SoftmaxTerms`] of every run from the scores by row (`m`
/// rows) of the first `rows` images; returns the number of runs (0 without).
/// Inlined, as everything generic over [`Lanes`] in this module must be: a call
/// into it would run outside the caller's target features, each intrinsic a call.
#[inline(always)]
pub(super) fn band_terms<L: Lanes>(l: L, terms: Option<Terms>, (rows, m): (usize, usize)) -> usize {
    match terms {
        Some((mut t, by_row)) => {
            softmax_tile(l, &by_row[..m], (0, rows, m), &mut t);
            m / t.k
        }
        None => 0,
    }
}

/// How many tiles of `wide` rows to take from `rest` rows, so that what they leave
/// goes in whole tiles of `mr` rows: the most that do, or none.
pub(super) fn wide_tiles(rest: usize, mr: usize, wide: usize) -> usize {
    (0..=rest / wide)
        .rev()
        .find(|t| (rest - t * wide).is_multiple_of(mr))
        .unwrap_or(0)
}

/// The sums so far of a tile (`MR × 16`: rows `r0 .. r0 + MR` here, or columns in
/// the update), zero for the first block (`j0 = 0`).
#[inline(always)]
pub(super) fn load_sums<L: Lanes, const MR: usize, const H: usize>(
    l: L,
    j0: usize,
    part: &[[f32; GROUP]],
) -> [[L::V; H]; MR] {
    let mut acc = [[l.zero(); H]; MR];
    if j0 > 0 {
        for (acc_k, part_k) in acc.iter_mut().zip(part) {
            for (h, a) in acc_k.iter_mut().enumerate() {
                *a = l.load(&part_k[h * L::N..]);
            }
        }
    }
    acc
}

/// Writes the sums of a tile back into `part` (`MR × 16`).
#[inline(always)]
pub(super) fn store_sums<L: Lanes, const MR: usize, const H: usize>(
    l: L,
    acc: &[[L::V; H]; MR],
    part: &mut [[f32; GROUP]],
) {
    for (acc_k, part_k) in acc.iter().zip(part) {
        for (h, &a) in acc_k.iter().enumerate() {
            l.store(a, &mut part_k[h * L::N..]);
        }
    }
}

/// Rows `r0 .. r0 + MR` of the weights from column `j0`, `n` columns each.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn weight_rows<'a, const MR: usize>(
    Weights { w, ld, .. }: Weights<'a>,
    (r0, j0): (usize, usize),
    n: usize,
) -> [&'a [f32]; MR] {
    let mut rows = [&w[..0]; MR];
    for (k, row) in rows.iter_mut().enumerate() {
        let at = (r0 + k) * ld + j0;
        *row = &w[at..at + n];
    }
    rows
}

/// `acc[k] += w[k][j] · x` for the `MR` rows of a tile and one pixel `x` of the
/// panel's images (`H` vectors).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn multiply_add<L: Lanes, const MR: usize, const H: usize>(
    l: L,
    acc: &mut [[L::V; H]; MR],
    rows: &[&[f32]; MR],
    j: usize,
    xv: &[L::V; H],
) {
    for (acc_k, row) in acc.iter_mut().zip(rows) {
        // SAFETY: the callers keep j below the length of every row.
        let w = l.splat(unsafe { *row.get_unchecked(j) });
        for (a, &x) in acc_k.iter_mut().zip(xv) {
            *a = l.mul_add(w, x, *a);
        }
    }
}

/// The chunk of columns from `j0` (up to [`CHUNK`] of them, fewer at the end of
/// the images) transposed into `panel`: a whole chunk by [`transpose_chunk`], a
/// last partial one by [`transpose_columns`], in the plain layout.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn transpose_chunk_at(l: Avx2, g: Group, j0: usize, panel: &mut [u8]) {
    let j1 = (j0 + CHUNK).min(g.d);
    if j1 - j0 == CHUNK {
        let out = &mut panel[j0 * GROUP..j1 * GROUP];
        let out = <&mut [u8; CHUNK * GROUP]>::try_from(out)
            .unwrap_or_else(|_| unreachable!("a chunk is CHUNK columns"));
        transpose_chunk(l, g, j0, out);
    } else if j0 < j1 {
        transpose_columns(l, g, (j0, j1), panel);
    }
}

/// The first tile of a block of [`blocks`], rows `r0 .. r0 + MR` over the pixels
/// `j0 .. j0 + xf.len()` by [`convert_tile`], a chunk at a time and each whole
/// chunk in two halves. With the group `g` (in the first band), the panel is
/// still being filled: between the two halves of a chunk the next chunk is
/// transposed, so that its shuffles run beside the multiply-adds of the second
/// half, which do not wait for them; and the next group is fetched.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn first_tile<const MR: usize>(
    l: Avx2,
    wb: Weights,
    g: Option<Group>,
    panel: &mut [u8],
    xf: &mut [[f32; GROUP]],
    (r0, j0): (usize, usize),
    part: &mut [[f32; GROUP]],
) {
    const H: usize = 2;
    for c0 in (0..xf.len()).step_by(CHUNK) {
        let (a, b) = (j0 + c0, j0 + (c0 + CHUNK).min(xf.len()));
        // The next group, as many bytes as the pixels take in the panel.
        let next = |j: usize| match g {
            Some(g) => g.next.get(j * GROUP..).unwrap_or_default(),
            None => &[],
        };
        let xf = &mut xf[c0..b - j0];
        let pb = (&panel[a * GROUP..b * GROUP], next(a));
        if b - a < CHUNK {
            convert_tile::<_, MR, H>(l, wb, pb, Layout::Plain, xf, (r0, a), part);
            continue;
        }
        let (first, second) = xf.split_at_mut(CHUNK / 2);
        convert_tile::<_, MR, H>(l, wb, pb, Layout::Pairs(0), first, (r0, a), part);
        if let Some(g) = g {
            transpose_chunk_at(l, g, b, panel);
        }
        let half = a + CHUNK / 2;
        let pb = (&panel[a * GROUP..b * GROUP], next(half));
        convert_tile::<_, MR, H>(l, wb, pb, Layout::Pairs(1), second, (r0, half), part);
    }
}

/// Where [`convert_tile`] finds its bytes: the plain layout of [`transpose_columns`], or
/// half `s` (pixels `16 s .. 16 s + 16`) of a whole chunk in the layout of
/// [`transpose_chunk`].
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
enum Layout {
    Plain,
    Pairs(usize),
}

/// The first tile of a block of [`blocks`]: rows `r0 .. r0 + MR` over the pixels
/// `j0 .. j0 + xf.len()`, whose bytes `bytes` (in the [`Layout`] given) it turns
/// into f32, into `xf`, as it goes; it fetches one line of `next` into the L2
/// cache every 4 pixels, spread out so that the fetches do not queue together.
/// The sums so far come from `part` and go back there.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn convert_tile<L: Lanes, const MR: usize, const H: usize>(
    l: L,
    wb: Weights,
    (bytes, next): (&[u8], &[u8]),
    layout: Layout,
    xf: &mut [[f32; GROUP]],
    (r0, j0): (usize, usize),
    part: &mut [[f32; GROUP]],
) {
    let jn = xf.len();
    assert!(H * L::N == GROUP && part.len() == MR);
    match layout {
        Layout::Plain => assert!(bytes.len() == jn * GROUP),
        Layout::Pairs(s) => {
            assert!(bytes.len() == CHUNK * GROUP && jn == CHUNK / 2 && s < 2 && L::N == 8)
        }
    }
    let mut acc = load_sums::<L, MR, H>(l, j0, part);
    let rows = weight_rows::<MR>(wb, (r0, j0), jn);
    // Pixel `j`, whose images `8h .. 8h + 8` are at `bytes[at(h)..]`, into `xf[j]`.
    // A macro: closures would not inherit the caller's target features.
    macro_rules! pixel {
        ($j:expr, $at:expr) => {{
            let j = $j;
            let mut xv = [l.zero(); H];
            for (h, v) in xv.iter_mut().enumerate() {
                // SAFETY: the loops below keep `at(h) + N <= bytes.len()`.
                *v = unsafe { l.load_u8_unchecked(bytes, $at(h)) };
                l.store(*v, &mut xf[j][h * L::N..]);
            }
            multiply_add::<L, MR, H>(l, &mut acc, &rows, j, &xv);
        }};
    }
    match layout {
        // Pixel 16 s + 2 p + e at 64 p + 16 s + 8 e, images 8 .. 16 32 bytes on:
        // at most 64·7 + 16 + 8 + 32 + 8 = 512 bytes. Four pixels a turn, so that
        // the loop's own arithmetic, which would take turns with the
        // multiply-adds on their ports, comes once per four.
        Layout::Pairs(s) => {
            for p2 in 0..CHUNK / 8 {
                prefetch_l2(next, p2 * 4 * GROUP);
                for u in 0..4 {
                    let (p, e) = (2 * p2 + u / 2, u % 2);
                    let at = 64 * p + 16 * s + 8 * e;
                    pixel!(2 * p + e, |h| at + 32 * h);
                }
            }
        }
        // Pixel j at 16 j, images 8 .. 16 8 bytes on: at most 16 jn bytes.
        Layout::Plain => {
            for j in 0..jn {
                if j % 4 == 0 {
                    prefetch_l2(next, j * GROUP);
                }
                pixel!(j, |h| j * GROUP + h * L::N);
            }
        }
    }
    store_sums::<L, MR, H>(l, &acc, part);
}

/// A tile of [`blocks`] after the first: rows `r0 .. r0 + MR` over the pixels
/// `j0 .. j0 + xf.len()`, given as f32 in `xf`; the sums so far come from `part`
/// and go back there.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block_tile<L: Lanes, const MR: usize, const H: usize>(
    l: L,
    wb: Weights,
    xf: &[[f32; GROUP]],
    (r0, j0): (usize, usize),
    part: &mut [[f32; GROUP]],
) {
    assert!(part.len() == MR);
    let mut acc = load_sums::<L, MR, H>(l, j0, part);
    let rows = weight_rows::<MR>(wb, (r0, j0), xf.len());
    // Four pixels a turn, so that the loop's own arithmetic, which would take
    // turns with the multiply-adds on their ports, comes once per four.
    let quads = xf.len() / 4 * 4;
    for (q, xq) in xf[..quads].chunks_exact(4).enumerate() {
        for (u, xj) in xq.iter().enumerate() {
            // Plain loops: closures would not inherit the caller's target features.
            let mut xv = [l.zero(); H];
            for (h, v) in xv.iter_mut().enumerate() {
                *v = l.load(&xj[h * L::N..]);
            }
            multiply_add::<L, MR, H>(l, &mut acc, &rows, 4 * q + u, &xv);
        }
    }
    for (j, xj) in xf.iter().enumerate().skip(quads) {
        let mut xv = [l.zero(); H];
        for (h, v) in xv.iter_mut().enumerate() {
            *v = l.load(&xj[h * L::N..]);
        }
        multiply_add::<L, MR, H>(l, &mut acc, &rows, j, &xv);
    }
    store_sums::<L, MR, H>(l, &acc, part);
}

/// The rows in tiles of `MR` rows while they last, then of `MR2`, then one by one;
/// `H` vectors hold a pixel of the group's images: `H = 16 / N`, or fewer when
/// the group has at most `H·N` images. The first tile
/// fetches `next`. With `terms`, the tiles leave their scores by row, and the
/// softmax terms of every run follow from them; returns the number of runs.
#[inline(always)]
pub(super) fn tiles<L: Lanes, const MR: usize, const MR2: usize, const H: usize>(
    l: L,
    wb: Weights,
    p: Panel,
    s: &mut [f32],
    terms: Option<Terms>,
) -> usize {
    tiles_from::<L, MR, MR2, H>(l, wb, p, 0, s, terms)
}

/// [`tiles`] from row `r0` on, the scores of the rows before it (and their scores
/// by row, with `terms`) already there.
#[inline(always)]
fn tiles_from<L: Lanes, const MR: usize, const MR2: usize, const H: usize>(
    l: L,
    wb: Weights,
    p: Panel,
    r0: usize,
    s: &mut [f32],
    mut terms: Option<Terms>,
) -> usize {
    let m = wb.b.len();
    let (mut p, mut r) = (p, r0);
    while r + MR <= m {
        let by_row = terms.as_mut().map(|(_, b)| &mut b[r..r + MR]);
        tile::<L, MR, H>(l, wb, p, r, s, by_row);
        (p.next, r) = (&[], r + MR);
    }
    while r + MR2 <= m {
        let by_row = terms.as_mut().map(|(_, b)| &mut b[r..r + MR2]);
        tile::<L, MR2, H>(l, wb, p, r, s, by_row);
        (p.next, r) = (&[], r + MR2);
    }
    while r < m {
        let by_row = terms.as_mut().map(|(_, b)| &mut b[r..r + 1]);
        tile::<L, 1, H>(l, wb, p, r, s, by_row);
        (p.next, r) = (&[], r + 1);
    }
    band_terms(l, terms, (p.rows, m))
}

/// Rows `r0 .. r0 + MR` of the scores of the panel's images, also by row into
/// `by_row` (`MR × 16`) when given.
#[inline(always)]
fn tile<L: Lanes, const MR: usize, const H: usize>(
    l: L,
    Weights { w, ld, b }: Weights,
    Panel { panel, rows, next }: Panel,
    r0: usize,
    s: &mut [f32],
    by_row: Option<&mut [[f32; GROUP]]>,
) {
    let m = b.len();
    let d = panel.len() / GROUP;
    assert!(H * L::N <= GROUP && rows <= H * L::N && r0 + MR <= m);
    assert!(w.len() >= (m - 1) * ld + d);
    let mut acc = [[l.zero(); H]; MR];
    let mut xv = [l.zero(); H];
    for j in 0..d {
        // One 64-byte line every 4 pixels: the 16 bytes a pixel takes in a panel.
        if j % 4 == 0 && !next.is_empty() {
            prefetch_l2(next, j * GROUP);
        }
        for (h, v) in xv.iter_mut().enumerate() {
            // SAFETY: j < d and h·N + N <= 16, so j·16 + h·N + N <= d·16 <= panel.len().
            *v = unsafe { l.load_u8_unchecked(panel, j * GROUP + h * L::N) };
        }
        for (k, acc_k) in acc.iter_mut().enumerate() {
            // SAFETY: j < d and r0 + k < m, so (r0 + k)·ld + j < (m − 1)·ld + d <= w.len().
            let w = l.splat(unsafe { *w.get_unchecked((r0 + k) * ld + j) });
            for (a, &x) in acc_k.iter_mut().zip(&xv) {
                *a = l.mul_add(w, x, *a);
            }
        }
    }
    leave(l, &acc, b, (r0, rows), s, by_row);
}

/// The scores of rows `r0 .. r0 + MR` of a tile, the sums `acc` plus the bias `b`,
/// leave the registers: into `s` for the first `rows` images, and by row into
/// `by_row` when given.
#[inline(always)]
fn leave<L: Lanes, const MR: usize, const H: usize>(
    l: L,
    acc: &[[L::V; H]; MR],
    b: &[f32],
    (r0, rows): (usize, usize),
    s: &mut [f32],
    by_row: Option<&mut [[f32; GROUP]]>,
) {
    let m = b.len();
    // `out[k][c]` for row `r0 + k` and image `c`.
    let mut out = [[0f32; GROUP]; MR];
    for (k, (acc_k, out_k)) in acc.iter().zip(out.iter_mut()).enumerate() {
        let bias = l.splat(b[r0 + k]);
        for (h, &v) in acc_k.iter().enumerate() {
            l.store(l.add(v, bias), &mut out_k[h * L::N..]);
        }
        for (c, &v) in out_k.iter().enumerate().take(rows) {
            s[c * m + r0 + k] = v;
        }
    }
    if let Some(by_row) = by_row {
        by_row.copy_from_slice(&out);
    }
}

/// The [`SoftmaxTerms`] of every run from the scores of `rows ≤ 16` images by
/// row: `out[r][c]` for row `r` and image `c` (the values [`softmax_terms`]
/// gives, computed 16 images at a time).
pub(crate) fn softmax_rows(
    isa: super::Isa,
    out: &[[f32; GROUP]],
    rows: usize,
    mut t: SoftmaxTerms,
) {
    let m = out.len();
    assert!(rows <= GROUP && t.k > 0 && m.is_multiple_of(t.k));
    assert!(t.max.len() >= rows * (m / t.k) && t.sum.len() >= rows * (m / t.k));
    isa.softmax_rows(out, rows, &mut t)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) fn softmax_rows_avx512(
    l: Avx512,
    out: &[[f32; GROUP]],
    rows: usize,
    t: &mut SoftmaxTerms,
) {
    softmax_tile(l, out, (0, rows, out.len()), t)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(super) fn softmax_rows_avx2(l: Avx2, out: &[[f32; GROUP]], rows: usize, t: &mut SoftmaxTerms) {
    softmax_tile(l, out, (0, rows, out.len()), t)
}

/// The [`SoftmaxTerms`] of the runs in the scores `out` by row (rows `r0 ..`), the
/// operations of [`softmax_terms`] in each lane.
#[inline(always)]
pub(super) fn softmax_tile<L: Lanes>(
    l: L,
    out: &[[f32; GROUP]],
    (r0, rows, m): (usize, usize, usize),
    t: &mut SoftmaxTerms,
) {
    let (k, runs) = (t.k, m / t.k);
    let minus_one = l.splat(-1.0);
    let mut lanes = [[0f32; GROUP]; 2];
    for (q, run) in out.chunks_exact(k).enumerate() {
        for h in (0..GROUP).step_by(L::N) {
            // Plain loops: closures would not inherit the caller's target features.
            let mut max = l.load(&run[0][h..]);
            for s in &run[1..] {
                max = l.max(max, l.load(&s[h..]));
            }
            let neg = l.mul(max, minus_one);
            let mut sum = l.zero();
            for s in run {
                sum = l.add(sum, l.exp(l.add(l.load(&s[h..]), neg)));
            }
            l.store(max, &mut lanes[0][h..]);
            l.store(sum, &mut lanes[1][h..]);
        }
        let at = r0 / k + q;
        let [max, sum] = &lanes;
        for (c, (&mx, &sm)) in max.iter().zip(sum).enumerate().take(rows) {
            t.max[c * runs + at] = mx;
            t.sum[c * runs + at] = sm;
        }
    }
}
