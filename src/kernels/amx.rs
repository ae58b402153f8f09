//! Scores on Intel AMX: the tile unit multiplies 16×64 bytes by 64×8 bytes (as
//! configured here) into 16×8 sums of 32-bit integers, exactly. The images are bytes already; the
//! weights are written as fixed-point integers split into three signed bytes
//! (their "limbs"), so that the integer products give each score exactly, up to
//! that one rounding of the weights:
//!
//! ```text
//! n[r, j] = round(W[r, j] · 2^(20 − e_r))   |n| ≤ 2^20, with |W[r, :]| < 2^e_r
//!         = (L0·2^7 + L1)·2^7 + L2          limbs L1, L2 ∈ [−64, 63], L0 ∈ [−64, 64]
//! C_l[i, r] = Σ_j X[i, j] · L_l[r, j]       i32, exact: |C_l| ≤ d · 255 · 64
//! S[i, r] = b[r] + 2^(e_r − 20) · ((C_0·2^7 + C_1)·2^7 + C_2)   in f64, then f32
//! ```
//!
//! `S[i, r]` is then the exact score of the image under weights within
//! `2^(e_r − 21)` of `W[r, :]` (at most 2^−20 of the row's largest weight),
//! rounded to f64 and then to f32. The rounding of the weights is random-like and averages
//! out over the d products, as the rounding of the sums of f32 products in the
//! other kernels does: on the report's four runs, 40 epochs of training and
//! evaluation on the tiles give the losses of the f32 kernels to within 1e-7
//! (relative). A fourth limb (27 bits) changes that only to 4e-8 and costs a
//! third more time.
//!
//! One pass of the tile unit takes a group of 16 images (tile A: 16 rows of 64
//! pixels, read straight from the images) and 8 rows of weights (tile B: the 64
//! pixels in 16 groups of four, each group of four bytes one class) and adds
//! `A·B` (16×8 sums) into one of three accumulator tiles, one per limb.

use std::arch::asm;
use std::sync::OnceLock;

use super::panel::Weights;

/// Images in a tile.
pub(crate) const GROUP: usize = 16;
/// Weight rows (classes) in a tile: 8, so that a tile of weights is 16 rows of
/// 32 bytes. A product with 8 columns takes under half the time of one with 16
/// (measured), and 8 divides the stacks' 20 or 40 rows more closely.
const COLS: usize = 8;
/// Pixels per tile row: 64 bytes.
const DEPTH: usize = 64;
/// Limbs of a weight, and the bits each carries below the top one.
const LIMBS: usize = 3;
const LIMB_BITS: u32 = 7;
/// Bits of a weight's fixed-point value below its row's largest magnitude.
const FRACTION_BITS: i32 = 20;
/// Bytes of a row of a tile of weights (4 per class), and of the tile: 16 rows.
const ROW: usize = 4 * COLS;
const TILE: usize = 16 * ROW;
/// The largest `d` for which the 32-bit sums cannot overflow: d · 255 · 64 < 2^31.
pub(super) const MAX_D: usize = (i32::MAX as usize) / (255 * 64);

/// Proof that this CPU has AMX-TILE, AMX-INT8, AVX-512F and AVX-512BW, and that
/// the operating system granted this process the tile registers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Amx(());

impl Amx {
    /// The token, if AMX can be used here.
    pub(crate) fn detect() -> Option<Amx> {
        static GRANTED: OnceLock<bool> = OnceLock::new();
        GRANTED
            .get_or_init(|| {
                super::simd::Avx512::detect().is_some() && cpu_has_amx() && request_tile_data()
            })
            .then_some(Amx(()))
    }
}

/// CPUID leaf 7: AMX-TILE is bit 24 of EDX, AMX-INT8 bit 25.
fn cpu_has_amx() -> bool {
    use std::arch::x86_64::{__cpuid, __cpuid_count};
    #[allow(unused_unsafe)]
    // SAFETY: CPUID exists on every x86-64 CPU; leaf 7 is read only if present.
    let (max_leaf, edx) = unsafe {
        let max = __cpuid(0).eax;
        (max, if max >= 7 { __cpuid_count(7, 0).edx } else { 0 })
    };
    max_leaf >= 7 && edx & (1 << 24) != 0 && edx & (1 << 25) != 0
}

/// Linux hands out the (8 KiB) tile state only to processes that ask for it:
/// `arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)`. Without it the first
/// tile instruction would kill the process.
#[cfg(target_os = "linux")]
fn request_tile_data() -> bool {
    const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
    const XFEATURE_XTILEDATA: libc::c_long = 18;
    // SAFETY: arch_prctl with these arguments only changes the process's permissions.
    let r = unsafe {
        libc::syscall(
            libc::SYS_arch_prctl,
            ARCH_REQ_XCOMP_PERM,
            XFEATURE_XTILEDATA,
        )
    };
    r == 0
}

#[cfg(not(target_os = "linux"))]
fn request_tile_data() -> bool {
    false
}

/// The weights `W: m×d` and biases `b: m` of a stack as the tiles take them (see
/// the module's documentation).
#[derive(Debug, Clone)]
pub(crate) struct Quantized {
    amx: Amx,
    m: usize,
    d: usize,
    /// Tiles of 64 pixels per row: `⌈d / 64⌉`.
    chunks: usize,
    /// Per tile of 8 rows, per chunk of 64 pixels, per limb: one tile B,
    /// `B[q][4c + t] = L_l[8·tile + c, 64·chunk + 4q + t]`, zero beyond `m`, `d`.
    limbs: Vec<i8>,
    /// Per row, `2^(e_r − 20)`; NaN for a row whose scores are NaN.
    unit: Vec<f64>,
    b: Vec<f64>,
}

impl Quantized {
    /// No weights yet: see [`Quantized::fill`].
    pub(crate) fn empty(amx: Amx) -> Quantized {
        Quantized {
            amx,
            m: 0,
            d: 0,
            chunks: 0,
            limbs: Vec::new(),
            unit: Vec::new(),
            b: Vec::new(),
        }
    }

    /// `wb` (rows of `d` weights) in fixed point, or `None` if the tiles cannot
    /// take it (see [`Quantized::fill`]).
    pub(crate) fn new(amx: Amx, wb: Weights, d: usize) -> Option<Quantized> {
        let mut q = Quantized::empty(amx);
        q.fill((wb.w, wb.ld, d), None, wb.b).then_some(q)
    }

    /// Takes the weights `W ⊙ a` (each row times `a`, as the folding does) of
    /// `w: m×d` (row stride `ld`) and the biases `b: m`, reusing the buffers;
    /// without `a`, `W` itself. False if `d` is so large that the sums could
    /// overflow (or nothing is there). A row with a weight, or a weight times
    /// `a`, that is not finite gets scores NaN.
    pub(crate) fn fill(
        &mut self,
        (w, ld, d): (&[f32], usize, usize),
        a: Option<&[f32]>,
        b: &[f32],
    ) -> bool {
        let m = b.len();
        if m == 0 || d == 0 || d > MAX_D {
            return false;
        }
        assert!(ld >= d && w.len() >= (m - 1) * ld + d && a.is_none_or(|a| a.len() == d));
        let chunks = d.div_ceil(DEPTH);
        let blocks = chunks * LIMBS * TILE;
        if (m, d) != (self.m, self.d) {
            // Padding (rows beyond m, pixels beyond d) must be zeros.
            self.limbs.clear();
            self.limbs.resize(m.div_ceil(COLS) * blocks, 0);
            (self.m, self.d, self.chunks) = (m, d, chunks);
        }
        self.unit.clear();
        self.b.clear();
        self.b.extend(b.iter().map(|&b| f64::from(b)));
        let mut scale = [0f32; COLS];
        for (tile, out) in self.limbs.chunks_exact_mut(blocks).enumerate() {
            let r0 = tile * COLS;
            let mut rows: [&[f32]; COLS] = [&[]; COLS];
            let here = COLS.min(m - r0);
            for (c, row) in rows.iter_mut().take(here).enumerate() {
                *row = &w[(r0 + c) * ld..(r0 + c) * ld + d];
            }
            let rows = &rows[..here];
            for (row, scale) in rows.iter().zip(&mut scale) {
                // SAFETY: the token proves AVX-512F (see `Amx::detect`).
                let (max, finite) = unsafe { max_abs(row, a) };
                // |W[r, :]| < 2^e, with e ≥ −107 so that 2^(20 − e) is a normal
                // f32 (an all-zero row takes e = 0); a row with a value that is not
                // finite (a diverged run) gets scores NaN.
                let finite = finite && max.is_finite();
                let e = match max > 0.0 && finite {
                    true => exponent(f64::from(max)).max(-107),
                    false => 0,
                };
                *scale = (2f32).powi(FRACTION_BITS - e);
                self.unit.push(match finite {
                    true => (2f64).powi(e - FRACTION_BITS),
                    false => f64::NAN,
                });
            }
            // SAFETY: the token proves AVX-512F and AVX-512BW (see `Amx::detect`).
            unsafe { quantize_tile(rows, a, &scale, out) };
        }
        true
    }

    /// `s[i·m + r] = S[i, r]` for the `n = s.len() / m` images `x: n×d` (row-major
    /// bytes), by groups of 16; `stage` holds a copy of a group that is not
    /// whole. With `by_row` (then `n ≤ 16`), the scores also as `by_row[r][i]`.
    pub(crate) fn scores(
        &self,
        x: &[u8],
        s: &mut [f32],
        stage: &mut Vec<u8>,
        mut by_row: Option<&mut [[f32; GROUP]]>,
    ) {
        let (m, d) = (self.m, self.d);
        let n = s.len() / m;
        assert!(s.len().is_multiple_of(m) && x.len() >= n * d);
        if let Some(t) = &by_row {
            assert!(n <= GROUP && t.len() == m);
        }
        let tiles = self.limbs.chunks_exact(self.chunks * LIMBS * TILE);
        let mut acc = [[0i32; GROUP * COLS]; LIMBS];
        for (g, sg) in s.chunks_mut(GROUP * m).enumerate() {
            let rows = sg.len() / m;
            let xg = &x[g * GROUP * d..g * GROUP * d + rows * d];
            let (a, lda) = if rows == GROUP && d.is_multiple_of(DEPTH) {
                (xg, d)
            } else {
                // Whatever else the buffer holds meets zero weights (the bytes
                // beyond `d` in a row) or makes sums that are not read (the rows
                // beyond `rows`).
                let lda = self.chunks * DEPTH;
                if stage.len() < GROUP * lda {
                    stage.resize(GROUP * lda, 0);
                }
                for (src, dst) in xg.chunks_exact(d).zip(stage.chunks_exact_mut(lda)) {
                    dst[..d].copy_from_slice(src);
                }
                (&stage[..GROUP * lda], lda)
            };
            for (tile, block) in tiles.clone().enumerate() {
                tile_sums(self.amx, (a, lda), block, self.chunks, &mut acc);
                let by_row = by_row.as_deref_mut().map(|t| &mut t[g * m..(g + 1) * m]);
                self.combine(&acc, tile, rows, sg, by_row);
            }
        }
    }

    /// The scores of tile `tile`'s rows from its limbs' sums `acc`, into `s`.
    fn combine(
        &self,
        acc: &[[i32; GROUP * COLS]; LIMBS],
        tile: usize,
        rows: usize,
        s: &mut [f32],
        mut by_row: Option<&mut [[f32; GROUP]]>,
    ) {
        let m = self.m;
        let r0 = tile * COLS;
        let cols = COLS.min(m - r0);
        for i in 0..rows {
            for c in 0..cols {
                let at = i * COLS + c;
                let n = acc
                    .iter()
                    .fold(0i64, |n, l| (n << LIMB_BITS) + i64::from(l[at]));
                let v = (self.b[r0 + c] + self.unit[r0 + c] * n as f64) as f32;
                s[i * m + r0 + c] = v;
                if let Some(t) = by_row.as_deref_mut() {
                    t[r0 + c][i] = v;
                }
            }
        }
    }
}

/// `(max_j |row[j] · a[j]|, whether every weight is finite)` (without `a`, of
/// `row[j]`); the maximum ignores NaN.
#[target_feature(enable = "avx512f")]
fn max_abs(row: &[f32], a: Option<&[f32]>) -> (f32, bool) {
    use std::arch::x86_64::*;
    assert!(a.is_none_or(|a| a.len() == row.len()));
    let (mut max, mut finite) = (_mm512_setzero_ps(), 0xffffu16);
    let inf = _mm512_set1_ps(f32::INFINITY);
    for (s, w16) in row.chunks(16).enumerate() {
        let (mut w, mut ax) = ([0f32; 16], [1f32; 16]);
        w[..w16.len()].copy_from_slice(w16);
        if let Some(a) = a {
            ax[..w16.len()].copy_from_slice(&a[16 * s..16 * s + w16.len()]);
        }
        // SAFETY: `w` and `ax` hold 16 floats.
        let (w, ax) = unsafe { (_mm512_loadu_ps(w.as_ptr()), _mm512_loadu_ps(ax.as_ptr())) };
        finite &= _mm512_cmp_ps_mask::<_CMP_LT_OQ>(_mm512_abs_ps(w), inf);
        // `max` stays when the product is NaN.
        max = _mm512_max_ps(_mm512_abs_ps(_mm512_mul_ps(w, ax)), max);
    }
    (_mm512_reduce_max_ps(max), finite == 0xffff)
}

/// Writes the limbs of `n = round((row ⊙ a) · scale)` (without `a`, of `row ·
/// scale`) for the `≤ 8` `rows` of one tile, row `c` with `scale[c]`, into the
/// tiles B of `out` (that tile's blocks, see [`Quantized`]); `scale` is a power
/// of two, so its product is exact and the conversion (to nearest) the only
/// rounding after `⊙ a`. Per chunk of 64 pixels and limb, the rows' 64 bytes are
/// 16 groups of four: an 8×16 matrix of 4-byte groups, transposed in registers
/// (as the top of a 16×16 one) into the 16 rows of the tile.
#[target_feature(enable = "avx512f,avx512bw")]
fn quantize_tile(rows: &[&[f32]], a: Option<&[f32]>, scale: &[f32; COLS], out: &mut [i8]) {
    use std::arch::x86_64::*;
    let d = rows.first().map_or(0, |r| r.len());
    let chunks = d.div_ceil(DEPTH);
    assert!(rows.len() <= COLS && rows.iter().all(|r| r.len() == d));
    assert!(a.is_none_or(|a| a.len() == d) && out.len() >= chunks * LIMBS * TILE);
    let (half, mask) = (_mm512_set1_epi32(64), _mm512_set1_epi32(127));
    for chunk in 0..chunks {
        let j0 = chunk * DEPTH;
        let width = DEPTH.min(d - j0);
        let mut ax = [1f32; DEPTH];
        if let Some(a) = a {
            ax[..width].copy_from_slice(&a[j0..j0 + width]);
        }
        // by_limb[l][c]: row c's 64 limbs l, as 16 groups of four bytes.
        let mut by_limb = [[_mm512_setzero_si512(); COLS]; LIMBS];
        for (c, row) in rows.iter().enumerate() {
            let mut w = [0f32; DEPTH];
            w[..width].copy_from_slice(&row[j0..j0 + width]);
            let sc = _mm512_set1_ps(scale[c]);
            let mut packed = [[0i8; DEPTH]; LIMBS];
            for q in 0..DEPTH / 16 {
                // SAFETY: `w` and `ax` hold 64 floats; 16q + 16 <= 64.
                let (wv, av) = unsafe {
                    (
                        _mm512_loadu_ps(w.as_ptr().add(16 * q)),
                        _mm512_loadu_ps(ax.as_ptr().add(16 * q)),
                    )
                };
                let mut v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_mul_ps(wv, av), sc));
                for l in (0..LIMBS).rev() {
                    let digit = if l == 0 {
                        v
                    } else {
                        _mm512_sub_epi32(_mm512_and_si512(_mm512_add_epi32(v, half), mask), half)
                    };
                    v = _mm512_srai_epi32::<{ LIMB_BITS }>(_mm512_sub_epi32(v, digit));
                    let dst = &mut packed[l][16 * q..16 * q + 16];
                    // SAFETY: `dst` holds 16 writable bytes (unaligned store).
                    unsafe {
                        _mm_storeu_si128(dst.as_mut_ptr().cast(), _mm512_cvtepi32_epi8(digit))
                    };
                }
            }
            for (l, p) in packed.iter().enumerate() {
                // SAFETY: `p` holds 64 readable bytes.
                by_limb[l][c] = unsafe { _mm512_loadu_si512(p.as_ptr().cast()) };
            }
        }
        for (l, m) in by_limb.iter().enumerate() {
            let mut square = [_mm512_setzero_si512(); 16];
            square[..COLS].copy_from_slice(m);
            let t = transpose_dwords(&square);
            let block = &mut out[(chunk * LIMBS + l) * TILE..(chunk * LIMBS + l + 1) * TILE];
            for (q, v) in t.iter().enumerate() {
                // Row q of the tile: 4-byte groups q of the 8 rows of weights.
                let dst = &mut block[q * ROW..(q + 1) * ROW];
                // SAFETY: `dst` holds 32 writable bytes (unaligned store).
                unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), _mm512_castsi512_si256(*v)) };
            }
        }
    }
}

/// The 16×16 matrix of 4-byte values `r` (row `i` = vector `i`) transposed.
#[target_feature(enable = "avx512f")]
fn transpose_dwords(r: &[std::arch::x86_64::__m512i; 16]) -> [std::arch::x86_64::__m512i; 16] {
    use std::arch::x86_64::*;
    // Pairs of rows interleaved, then pairs of pairs: u[4i + j], 128-bit lane L,
    // holds column 4L + j of rows 4i .. 4i + 4.
    let t: [__m512i; 16] = std::array::from_fn(|i| {
        let (a, b) = (r[i & !1], r[i | 1]);
        if i % 2 == 0 {
            _mm512_unpacklo_epi32(a, b)
        } else {
            _mm512_unpackhi_epi32(a, b)
        }
    });
    let u: [__m512i; 16] = std::array::from_fn(|i| {
        let (base, j) = (i & !3, i % 4);
        let (a, b) = (t[base + j / 2], t[base + j / 2 + 2]);
        if j % 2 == 0 {
            _mm512_unpacklo_epi64(a, b)
        } else {
            _mm512_unpackhi_epi64(a, b)
        }
    });
    // Then the lanes: column 4L + j gathers lane L of u[j], u[4 + j], u[8 + j], u[12 + j].
    let mut out = [_mm512_setzero_si512(); 16];
    for j in 0..4 {
        let a = _mm512_shuffle_i32x4::<0x88>(u[j], u[4 + j]);
        let b = _mm512_shuffle_i32x4::<0xDD>(u[j], u[4 + j]);
        let c = _mm512_shuffle_i32x4::<0x88>(u[8 + j], u[12 + j]);
        let e = _mm512_shuffle_i32x4::<0xDD>(u[8 + j], u[12 + j]);
        out[j] = _mm512_shuffle_i32x4::<0x88>(a, c);
        out[4 + j] = _mm512_shuffle_i32x4::<0x88>(b, e);
        out[8 + j] = _mm512_shuffle_i32x4::<0xDD>(a, c);
        out[12 + j] = _mm512_shuffle_i32x4::<0xDD>(b, e);
    }
    out
}

/// `e` with `2^(e−1) ≤ x < 2^e`, for a positive normal `x`.
fn exponent(x: f64) -> i32 {
    ((x.to_bits() >> 52) & 0x7ff) as i32 - 1022
}

/// The tile configuration: palette 1; all tiles 16 rows, of 64 bytes for the
/// images (tile 4), of 32 for the sums (tiles 0–2) and the weights (5 and 6).
#[repr(C, align(64))]
struct Config([u8; 64]);

const CONFIG: Config = {
    let mut c = [0u8; 64];
    c[0] = 1;
    let mut t = 0;
    while t < 8 {
        c[16 + 2 * t] = if t == 4 { DEPTH as u8 } else { ROW as u8 };
        c[48 + t] = GROUP as u8;
        t += 1;
    }
    Config(c)
};

const _: () = assert!(
    LIMBS == 3 && TILE == 512,
    "tile_sums is written for three limbs of 512 bytes"
);

/// `acc[l][i·8 + c] = Σ_j a[i·lda + j] · L_l[c, j]` over `j < 64·chunks`, for
/// the 16 images of `a` (rows `lda` bytes apart) and the limbs `block` of one
/// tile of weight rows (`chunks × 3` tiles B, see [`Quantized`]).
///
/// Tiles 0–2 accumulate the three limbs; tile 4 holds the images' next 64
/// pixels, tiles 5 and 6 take turns holding a limb's weights. (Measured slower:
/// a third tile for the weights in turn, two groups of images sharing each tile
/// of weights, prefetching the next group's images, blocks of weights kept in
/// the L1 cache across groups.)
fn tile_sums(
    _: Amx,
    (a, lda): (&[u8], usize),
    block: &[i8],
    chunks: usize,
    acc: &mut [[i32; GROUP * COLS]; LIMBS],
) {
    assert!(chunks > 0 && lda >= chunks * DEPTH && a.len() >= (GROUP - 1) * lda + chunks * DEPTH);
    assert!(block.len() >= chunks * LIMBS * TILE);
    let config = &CONFIG;
    // SAFETY: the token proves the CPU has AMX-TILE and AMX-INT8 and the tile
    // state was granted. Every load reads 16 rows of 64 bytes: of `a` at
    // `a + 64q + i·lda` (i < 16, q < chunks: within `a`, asserted above) and of
    // 16 rows of 32 bytes of `block` at `block + 1536q + 512l + 32i` (within
    // `block`); the stores write the 1.5 KiB of `acc`. The tiles are released
    // before the block ends.
    unsafe {
        asm!(
            "ldtilecfg [{config}]",
            "tilezero tmm0",
            "tilezero tmm1",
            "tilezero tmm2",
            "2:",
            "tileloadd tmm4, [{a} + {lda}*1]",
            "tileloadd tmm5, [{b} + {row}*1]",
            "tdpbusd tmm0, tmm4, tmm5",
            "tileloadd tmm6, [{b} + {row}*1 + 512]",
            "tdpbusd tmm1, tmm4, tmm6",
            "tileloadd tmm5, [{b} + {row}*1 + 1024]",
            "tdpbusd tmm2, tmm4, tmm5",
            "add {a}, 64",
            "add {b}, 1536",
            "dec {n}",
            "jnz 2b",
            "tilestored [{acc} + {row}*1], tmm0",
            "tilestored [{acc} + {row}*1 + 512], tmm1",
            "tilestored [{acc} + {row}*1 + 1024], tmm2",
            "tilerelease",
            config = in(reg) config.0.as_ptr(),
            a = inout(reg) a.as_ptr() => _,
            b = inout(reg) block.as_ptr() => _,
            n = inout(reg) chunks => _,
            lda = in(reg) lda,
            row = in(reg) ROW,
            acc = in(reg) acc.as_mut_ptr(),
            options(nostack),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The weights the limbs of `q` stand for: `n · 2^(e − 20)`.
    fn rebuilt(q: &Quantized) -> Vec<Vec<f64>> {
        let blocks = q.chunks * LIMBS * TILE;
        (0..q.m)
            .map(|r| {
                let (tile, c) = (r / COLS, r % COLS);
                (0..q.d)
                    .map(|j| {
                        let (chunk, qq, t) = (j / DEPTH, j % DEPTH / 4, j % 4);
                        let n = (0..LIMBS).fold(0i64, |n, l| {
                            let at =
                                tile * blocks + (chunk * LIMBS + l) * TILE + qq * ROW + 4 * c + t;
                            let v = q.limbs[at];
                            assert!(l == 0 || (-64..64).contains(&v), "limb {l}: {v}");
                            (n << LIMB_BITS) + i64::from(v)
                        });
                        n as f64 * q.unit[r]
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn limbs_hold_each_weight_to_2_pow_minus_20_of_its_rows_largest() {
        let Some(amx) = Amx::detect() else {
            eprintln!("no AMX on this CPU: nothing to test");
            return;
        };
        let (m, d) = (21, 200);
        let ld = 208;
        let mut w = vec![0f32; m * ld];
        for (i, v) in w.iter_mut().enumerate() {
            let r = i / ld;
            // Rows of very different scales, powers of two and their neighbours among them.
            *v = match i % 7 {
                0 => 0.5,
                1 => -0.25 * (1.0 + f32::EPSILON),
                _ => ((i * 2_654_435_761) % 1000) as f32 / 1000.0 - 0.5,
            } * (2f32).powi(r as i32 - 10);
        }
        w[3 * ld..4 * ld].fill(0.0);
        let b: Vec<f32> = (0..m).map(|r| r as f32).collect();
        let q =
            Quantized::new(amx, Weights { w: &w, ld, b: &b }, d).unwrap_or_else(|| unreachable!());
        for (r, row) in rebuilt(&q).iter().enumerate() {
            let src = &w[r * ld..r * ld + d];
            let max = src.iter().fold(0f64, |a, &v| a.max(f64::from(v).abs()));
            for (&got, &want) in row.iter().zip(src) {
                let err = (got - f64::from(want)).abs();
                assert!(
                    err <= max * (2f64).powi(-FRACTION_BITS),
                    "row {r}: {got} for {want}"
                );
            }
        }
        w[ld + 5] = f32::INFINITY;
        let q =
            Quantized::new(amx, Weights { w: &w, ld, b: &b }, d).unwrap_or_else(|| unreachable!());
        let x: Vec<u8> = (0..3 * d).map(|i| (i % 256) as u8).collect();
        let mut s = vec![0f32; 3 * m];
        q.scores(&x, &mut s, &mut Vec::new(), None);
        for (i, si) in s.chunks_exact(m).enumerate() {
            assert!(si[1].is_nan() && si[0].is_finite(), "image {i}: {si:?}");
        }
        // Finite weights whose products with `a` overflow (those of the last rows,
        // up to 2^9): NaN too.
        let mut q = Quantized::empty(amx);
        let a = vec![1e36f32; d];
        assert!(q.fill((&w, ld, d), Some(&a), &b));
        q.scores(&x, &mut s, &mut Vec::new(), None);
        for (i, si) in s.chunks_exact(m).enumerate() {
            assert!(si[m - 1].is_nan() && si[0].is_finite(), "image {i}: {si:?}");
        }
    }

    #[test]
    fn exponent_bounds_its_value() {
        for x in [1e-30, 0.003, 0.5, 1.0, 1.5, 2.0, 1e10] {
            let e = exponent(x);
            assert!((2f64).powi(e - 1) <= x && x < (2f64).powi(e), "{x}: {e}");
        }
    }
}
