//! The instruction sets: the small trait [`Kernels`] that each implements (the
//! panel transposition, the scores, the softmax terms, the update), and [`Isa`],
//! the one chosen at run time, which hands each call to its implementation.
//!
//! | instruction set | lanes | where |
//! |---|---|---|
//! | portable | 8 × f32 in an array, vectorised by the compiler | `simd.rs` |
//! | AVX2 + FMA | 8 × f32 in a `__m256` | `simd.rs` |
//! | AVX-512F | 16 × f32 in a `__m512` | `simd.rs` |
//! | NEON | 16 × f32 in four `float32x4_t` | `neon.rs` |
//! | AMX (with AVX-512) | the scores on the tile unit, in fixed point | `amx.rs` |
//!
//! The kernels themselves are written once over [`Lanes`] (in `panel.rs` and
//! `update.rs`) and compiled for each instruction set with its features enabled.

#[cfg(target_arch = "aarch64")]
use super::neon::Neon;
use super::panel::{self, GROUP, Group, SoftmaxTerms, Terms, Weights};
#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::simd::{Lanes, Portable};
use super::update::{self, Step};

/// What an instruction set does for the step and the evaluation; the shapes and
/// the maths are those of [`panel`] and [`update`] (see [`super::naive`] for the
/// plain loops). Implemented by the token of each instruction set, a value that
/// exists only once the CPU was found to have it.
pub(crate) trait Kernels: Lanes {
    /// Transposes columns `j0 .. done` of [`panel::transpose_columns`]'s panel (the group's
    /// `rows ≤ 16` images `x: rows×d` into `panel: d×16`), whole blocks of 16 of
    /// the columns `j0 .. j1` in registers, and returns `done`; the plain code does
    /// the rest.
    fn transpose_blocks(self, g: Group, cols: (usize, usize), panel: &mut [u8]) -> usize;
    /// [`panel::scores`]: the scores of one group of images, transposed into
    /// `panel` (`d×16`), and with `terms` the softmax terms of every run, whose
    /// number it returns.
    fn scores(
        self,
        wb: Weights,
        g: Group,
        panel: &mut [u8],
        s: &mut [f32],
        terms: Option<Terms>,
    ) -> usize;
    /// [`panel::softmax_rows`]: the softmax terms of scores held by row.
    fn softmax_rows(self, out: &[[f32; GROUP]], rows: usize, t: &mut SoftmaxTerms);
    /// [`update::update`]: `W ← W − η ((1/n) G X̂ + 2λW)`.
    fn update(self, w: &mut [f32], step: &Step, x: &[u8], d: usize);
}

impl Kernels for Portable {
    fn transpose_blocks(self, _: Group, (j0, _): (usize, usize), _: &mut [u8]) -> usize {
        j0
    }
    fn scores(
        self,
        wb: Weights,
        g: Group,
        panel: &mut [u8],
        s: &mut [f32],
        terms: Option<Terms>,
    ) -> usize {
        let p = panel::transposed(self, g, panel);
        panel::tiles::<_, 4, 2, 2>(self, wb, p, s, terms)
    }
    fn softmax_rows(self, out: &[[f32; GROUP]], rows: usize, t: &mut SoftmaxTerms) {
        panel::softmax_tile(self, out, (0, rows, out.len()), t)
    }
    fn update(self, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
        update::update::<_, 5, 5, 1>(self, w, step, x, d)
    }
}

#[cfg(target_arch = "x86_64")]
impl Kernels for Avx2 {
    fn transpose_blocks(self, g: Group, cols: (usize, usize), panel: &mut [u8]) -> usize {
        // SAFETY: the token proves AVX2 was detected.
        unsafe { panel::transpose_avx2(self, g, cols, panel) }
    }
    fn scores(
        self,
        wb: Weights,
        g: Group,
        panel: &mut [u8],
        s: &mut [f32],
        terms: Option<Terms>,
    ) -> usize {
        // SAFETY: the token proves AVX2 and FMA were detected.
        unsafe { panel::scores_avx2(self, wb, g, panel, s, terms) }
    }
    fn softmax_rows(self, out: &[[f32; GROUP]], rows: usize, t: &mut SoftmaxTerms) {
        // SAFETY: the token proves AVX2 and FMA were detected.
        unsafe { panel::softmax_rows_avx2(self, out, rows, t) }
    }
    fn update(self, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
        // SAFETY: the token proves AVX2 and FMA were detected.
        unsafe { update::update_avx2(self, w, step, x, d) }
    }
}

#[cfg(target_arch = "x86_64")]
impl Kernels for Avx512 {
    fn transpose_blocks(self, g: Group, cols: (usize, usize), panel: &mut [u8]) -> usize {
        // SAFETY: the token proves AVX-512F and AVX-512BW were detected.
        unsafe { panel::transpose_avx512(self, g, cols, panel) }
    }
    fn scores(
        self,
        wb: Weights,
        g: Group,
        panel: &mut [u8],
        s: &mut [f32],
        terms: Option<Terms>,
    ) -> usize {
        // SAFETY: the token proves AVX-512F and AVX-512BW were detected.
        unsafe { panel::scores_avx512(self, wb, g, panel, s, terms) }
    }
    fn softmax_rows(self, out: &[[f32; GROUP]], rows: usize, t: &mut SoftmaxTerms) {
        // SAFETY: the token proves AVX-512F was detected.
        unsafe { panel::softmax_rows_avx512(self, out, rows, t) }
    }
    fn update(self, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
        // SAFETY: the token proves AVX-512F was detected.
        unsafe { update::update_avx512(self, w, step, x, d) }
    }
}

// NEON is enabled for the whole aarch64 build: its kernels need no wrappers.
#[cfg(target_arch = "aarch64")]
impl Kernels for Neon {
    fn transpose_blocks(self, g: Group, (j0, j1): (usize, usize), panel: &mut [u8]) -> usize {
        let mut j = j0;
        while j + GROUP <= j1 {
            // SAFETY: the token proves NEON was detected.
            unsafe { super::neon::transpose_block(self, g.x, g.d, g.rows, j, panel) };
            j += GROUP;
        }
        j
    }
    fn scores(
        self,
        wb: Weights,
        g: Group,
        panel: &mut [u8],
        s: &mut [f32],
        terms: Option<Terms>,
    ) -> usize {
        let p = panel::transposed(self, g, panel);
        super::neon::scores(self, wb, p, s, terms)
    }
    fn softmax_rows(self, out: &[[f32; GROUP]], rows: usize, t: &mut SoftmaxTerms) {
        panel::softmax_tile(self, out, (0, rows, out.len()), t)
    }
    fn update(self, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
        // Tiles of 5 rows × 16 columns, each block of bytes turned into f32 once
        // for all the tiles of rows (no wider tiles: `WIDE` = `MR`).
        update::update_blocks::<_, 5, 2, 5, 1>(self, w, step, x, d)
    }
}

/// The instruction set the kernels run on, chosen at run time: the vector
/// instructions, and the AMX tiles if the CPU has them (see `amx.rs`).
#[derive(Debug, Clone, Copy)]
pub struct Isa(pub(super) Kind, pub(super) Option<Tiles>);

#[cfg(target_arch = "x86_64")]
pub(super) use super::amx::Amx as Tiles;

/// No tiles off x86-64.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Debug, Clone, Copy)]
pub(super) enum Tiles {}

/// The vector instructions, each with its token.
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

/// `$body` with `$k` bound to the token of `$isa`'s instruction set, which
/// implements [`Kernels`].
macro_rules! with_kernels {
    ($isa:expr, $k:ident => $body:expr) => {
        match $isa.0 {
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512($k) => $body,
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2($k) => $body,
            #[cfg(target_arch = "aarch64")]
            Kind::Neon($k) => $body,
            Kind::Portable => {
                let $k = Portable;
                $body
            }
        }
    };
}

impl Isa {
    /// [`panel::transpose`] by this instruction set.
    #[cfg(test)]
    pub(crate) fn transpose(self, g: Group, panel: &mut [u8]) {
        with_kernels!(self, k => panel::transpose_columns(k, g, (0, g.d), panel))
    }

    /// [`Kernels::scores`] of this instruction set.
    pub(crate) fn scores(
        self,
        wb: Weights,
        g: Group,
        panel: &mut [u8],
        s: &mut [f32],
        t: Option<Terms>,
    ) -> usize {
        with_kernels!(self, k => k.scores(wb, g, panel, s, t))
    }

    /// [`Kernels::softmax_rows`] of this instruction set.
    pub(crate) fn softmax_rows(self, out: &[[f32; GROUP]], rows: usize, t: &mut SoftmaxTerms) {
        with_kernels!(self, k => k.softmax_rows(out, rows, t))
    }

    /// `w[r, :] ← w[r, :] − eta[r] (inv_n (a ⊙ Σ_i g[i·m + r] x[i, :] − gsum[r] β) + two_lambda[r] w[r, :])`
    /// with `m = eta.len()`, `nb = g.len() / m` images; `w: m×d`, `x: nb×d`
    /// ([`Kernels::update`] of this instruction set).
    pub(crate) fn update(self, w: &mut [f32], step: &Step, x: &[u8], d: usize) {
        let m = step.eta.len();
        assert!(m > 0 && w.len() == m * d && step.two_lambda.len() == m && step.gsum.len() == m);
        assert!(step.a.len() == d && step.beta.len() == d);
        assert!(step.g.len().is_multiple_of(m) && x.len() >= step.g.len() / m * d);
        with_kernels!(self, k => k.update(w, step, x, d))
    }

    /// The rows of `W` a part of a shared step takes, or a multiple (see
    /// `shared.rs`): a tile of rows the kernels of this instruction set take whole
    /// (10 on AVX-512, whose tiles of scores take 20 or 10 rows; 5 on the others).
    /// Rows left over would go through the scores one at a time, each reading every
    /// image again.
    pub(crate) fn part_rows(self) -> usize {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512(_) => 10,
            _ => 5,
        }
    }

    /// `b − W β`, and with `scale = (a, w_a)` also `w_a = W ⊙ a` (see
    /// [`super::fold`]), with AVX-512 or AVX2 where there is.
    pub(crate) fn fold(
        self,
        rows: super::Rows,
        scale: Option<(&[f32], &mut [f32])>,
        out: &mut Vec<f32>,
    ) {
        match self.0 {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX-512F was detected.
            Kind::Avx512(_) => unsafe { super::fold_avx512(rows, scale, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the token proves AVX2 was detected.
            Kind::Avx2(_) => unsafe { super::fold_avx2(rows, scale, out) },
            _ => super::fold(rows, scale, out),
        }
    }

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

/// The instruction set [`Isa::chosen`] returns, once [`choose`] set one.
static CHOSEN: std::sync::RwLock<Option<Isa>> = std::sync::RwLock::new(None);

/// Makes `isa` the instruction set of every [`super::Workspace::default`] of this
/// process from now on (`None`: the widest the CPU has again).
pub fn choose(isa: Option<Isa>) {
    *CHOSEN.write().unwrap_or_else(|e| e.into_inner()) = isa;
}

impl Isa {
    /// The instruction set last given to [`choose`], else [`Isa::detect`]'s.
    pub fn chosen() -> Isa {
        let chosen = *CHOSEN.read().unwrap_or_else(|e| e.into_inner());
        chosen.unwrap_or_else(Isa::detect)
    }
}
