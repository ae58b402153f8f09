//! The hot path: one mini-batch step of gradient descent and the evaluation of a
//! whole data set, in f32, for one run or for several runs stacked into one weight
//! matrix. [`crate::model`] holds the reference maths in f64 that these are
//! tested against.
//!
//! Read [`naive`] first: the step and the evaluation as plain loops in f32. The
//! fast kernels after it compute the same values: [`Workspace`] (this file) drives
//! them, `isa.rs` holds the trait each instruction set implements and the choice
//! among them, `simd.rs` (and `neon.rs`) the vector lanes, `panel.rs` the scores
//! (`neon.rs` NEON's tiles of them), `update.rs` the update of the weights,
//! `eval.rs` the evaluation (alone or as a [`Team`] of threads), `amx.rs` the
//! scores on Intel's AMX tiles.
//!
//! Runs that see the same mini-batches (the report's four runs do) are trained as a
//! [`Stack`]: their weights are the rows of one `(R·K)×d` matrix, so that every pass
//! over the images serves all of them. Each value is computed by the same
//! operations as when its run is alone, so stacking changes no result.
//!
//! The images stay raw bytes, `X: n×d` row-major (image `i` is row `i`: the report's
//! `X: d×n` in column-major order), with the normalisation as an affine map
//! `X̂ = a ⊙ X − β` (per column) folded into the products:
//!
//! ```text
//! W X̂ᵀ + b = (W ⊙ a) Xᵀ + (b − W β)        the forward pass and evaluation
//! G X̂     = (G X) ⊙ a − (G 1) βᵀ            the gradient
//! ```
//!
//! which reads 4× fewer bytes than f32 images. Shapes: `W: m×d` with `m = R·K`;
//! scores `S: n×m`, image-major.

pub mod naive;

#[cfg(target_arch = "x86_64")]
mod amx;
/// No AMX tiles off x86-64: nothing here is ever made.
#[cfg(not(target_arch = "x86_64"))]
mod amx {
    use super::isa::Tiles;
    use super::panel::Weights;

    #[derive(Debug, Clone)]
    pub(crate) enum Quantized {}

    impl Quantized {
        pub(crate) fn new(tiles: Tiles, _: Weights, _: usize) -> Option<Quantized> {
            match tiles {}
        }

        pub(crate) fn empty(tiles: Tiles) -> Quantized {
            match tiles {}
        }

        pub(crate) fn fill(
            &mut self,
            _: (&[f32], usize, usize),
            _: Option<&[f32]>,
            _: &[f32],
        ) -> bool {
            match *self {}
        }

        pub(crate) fn scores(
            &self,
            _: &[u8],
            _: &mut [f32],
            _: &mut Vec<u8>,
            _: Option<&mut [[f32; 16]]>,
        ) {
            match *self {}
        }
    }
}
mod eval;
mod isa;
#[cfg(target_arch = "aarch64")]
mod neon;
mod panel;
mod shared;
mod simd;
mod update;

use ndarray::{Array1, Array2, Axis, concatenate};

pub use eval::{Team, TeamMember};
pub use isa::{Isa, IsaError, choose};
use update::Step;

use crate::loss::Loss;
use crate::model::Evaluation as Metrics;
use crate::model::Model;
use crate::normalize::{Affine, Dataset};

/// The parameters of `R` runs of `K` classes, stacked: run `r` owns rows
/// `r·K .. (r+1)·K` of `w` and `b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    /// Stacked weights, `(R·K)×d`, standard layout.
    w: Array2<f32>,
    /// Stacked biases, `R·K`.
    b: Array1<f32>,
    /// Classes per run.
    k: usize,
}

impl Stack {
    /// Stacks `models` (all `K×d` with the same `K` and `d`; `K` is taken from the
    /// first). An empty slice gives an empty stack of `K` = 1.
    pub fn new(models: &[Model]) -> Stack {
        let k = models.first().map_or(1, |m| m.w.nrows());
        let d = models.first().map_or(0, |m| m.w.ncols());
        let ws: Vec<_> = models.iter().map(|m| m.w.view()).collect();
        let bs: Vec<_> = models.iter().map(|m| m.b.view()).collect();
        Stack {
            w: concatenate(Axis(0), &ws).unwrap_or_else(|_| Array2::zeros((0, d))),
            b: concatenate(Axis(0), &bs).unwrap_or_else(|_| Array1::zeros(0)),
            k,
        }
    }

    /// Number of stacked runs `R`.
    pub fn runs(&self) -> usize {
        self.b.len() / self.k
    }

    /// The parameters of run `r`.
    pub fn model(&self, r: usize) -> Model {
        let rows = r * self.k..(r + 1) * self.k;
        Model {
            w: self.w.slice(ndarray::s![rows.clone(), ..]).to_owned(),
            b: self.b.slice(ndarray::s![rows]).to_owned(),
        }
    }

    /// True when every parameter of run `r` is finite.
    pub fn is_finite(&self, r: usize) -> bool {
        let rows = r * self.k..(r + 1) * self.k;
        let w = self.w.slice(ndarray::s![rows.clone(), ..]);
        let b = self.b.slice(ndarray::s![rows]);
        w.iter().chain(b.iter()).all(|v| v.is_finite())
    }

    /// Copies the parameters of every run from `other`, a stack of the same shape.
    pub fn assign(&mut self, other: &Stack) {
        self.w.assign(&other.w);
        self.b.assign(&other.b);
    }

    /// Removes run `r`; the runs after it move down by one.
    pub fn remove(&mut self, r: usize) {
        let keep: Vec<usize> = (0..self.b.len()).filter(|i| i / self.k != r).collect();
        self.w = self.w.select(Axis(0), &keep);
        self.b = self.b.select(Axis(0), &keep);
    }
}

/// Images as raw bytes with the affine map to the normalised inputs,
/// `X̂[i, j] = a[j] X[i, j] − β[j]`.
#[derive(Debug, Clone, Copy)]
pub struct Images<'a> {
    /// Bytes, `n×d` row-major.
    pub pixels: &'a [u8],
    /// The normalisation, `d` columns.
    pub affine: &'a Affine,
}

impl<'a> Images<'a> {
    /// `pixels` (`n×d`, row-major) normalised by `affine`.
    pub fn new(pixels: &'a [u8], affine: &'a Affine) -> Images<'a> {
        Images { pixels, affine }
    }
}

/// The row stride of the folded weights: `d` rounded up to whole 64-byte lines,
/// plus one line. With a stride of a multiple of 4 KiB (d = 3072 floats is 12 KiB)
/// the same column of every row would fall in the same set of the L1 cache, which
/// holds only 8 to 12 lines per set; the extra line spreads the rows over the sets.
fn padded(d: usize) -> usize {
    d.next_multiple_of(16) + 16
}

/// Buffers reused across steps and evaluations, and the instruction set chosen.
#[derive(Debug, Clone)]
pub struct Workspace {
    isa: Isa,
    /// Scores, then `G = P − Y`: `n×m`, image-major.
    s: Vec<f32>,
    /// `η` of every stacked row, `m`.
    eta: Vec<f32>,
    /// `2λ` of every stacked row, `m`.
    two_lambda: Vec<f32>,
    /// `b − W β`: `m`.
    b_shifted: Vec<f32>,
    /// `G 1`: `m`.
    gsum: Vec<f32>,
    /// `W ⊙ a`: `m×d` with row stride [`padded`]`(d)`.
    w_scaled: Vec<f32>,
    /// A group of images transposed, `d×16` bytes (or, on the tiles, copied).
    panel: Vec<u8>,
    /// The weights of the last step or evaluation in fixed point, on the AMX tiles.
    tiles: Option<amx::Quantized>,
    /// The threads that share each step and evaluation: those of the rayon pool
    /// the workspace was made in ([`Workspace::shared`]), or 1.
    parts: usize,
    /// The buffers of each part when there are several (see `shared.rs`).
    crew: Vec<shared::Buffers>,
}

impl Default for Workspace {
    /// A workspace on [`Isa::chosen`].
    fn default() -> Workspace {
        Workspace::with_isa(Isa::chosen())
    }
}

impl Workspace {
    /// A workspace on the given instruction set (tests and benchmarks compare them).
    pub fn with_isa(isa: Isa) -> Workspace {
        Workspace {
            isa,
            s: Vec::new(),
            eta: Vec::new(),
            two_lambda: Vec::new(),
            b_shifted: Vec::new(),
            gsum: Vec::new(),
            w_scaled: Vec::new(),
            panel: Vec::new(),
            tiles: isa.1.map(amx::Quantized::empty),
            parts: 1,
            crew: Vec::new(),
        }
    }

    /// A workspace on [`Isa::chosen`] whose steps and evaluations are shared out
    /// among the threads of the rayon pool it is made in (one part per thread; see
    /// `shared.rs`). Outside a pool, one thread does all, as with `default()`.
    /// The results are the same either way, bit for bit.
    pub fn shared() -> Workspace {
        let mut ws = Workspace::default();
        ws.set_parts(rayon::current_thread_index().map_or(1, |_| rayon::current_num_threads()));
        ws
    }

    /// Shares each step and evaluation out into `parts` parts (at least 1), run
    /// on the threads of the current rayon pool (rayon's global pool outside
    /// any).
    pub fn set_parts(&mut self, parts: usize) {
        self.parts = parts.max(1);
        self.crew.resize(
            if self.parts > 1 { self.parts } else { 0 },
            Default::default(),
        );
    }

    /// The instruction set in use.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// One step of mini-batch gradient descent for every run of `stack` on the
    /// images `x` (`n` rows) with `labels` (`n`), run `r` with `eta[r]`, `lambda[r]`
    /// and `loss[r]`:
    ///
    /// ```text
    /// G = ∂ℓ/∂S at S = W X̂ᵀ + b 1ᵀ                 K×n per run
    ///   (softmax: G = softmax(S) − Y; others: crate::loss::Loss::score_gradient)
    /// W ← W − η ((1/n) G X̂ + 2λW),  b ← b − η (1/n) G 1
    /// ```
    pub fn sgd_step(
        &mut self,
        stack: &mut Stack,
        x: Images,
        labels: &[u8],
        eta: &[f32],
        lambda: &[f32],
        loss: &[Loss],
    ) {
        let (m, k, n, d) = (stack.b.len(), stack.k, labels.len(), stack.w.ncols());
        if m == 0 || n == 0 {
            return;
        }
        self.per_row(k, eta, lambda);
        // The AMX tiles take `b_shifted` and fold the weights their own way; where
        // there are none (or they cannot), the kernels below take `w_scaled`.
        let on_tiles = self.tiles.is_some() && {
            self.fold(stack, x.affine, false);
            let w = stack
                .w
                .as_slice()
                .unwrap_or_else(|| unreachable!("Stack::w is standard"));
            let (a, b) = (Some(&x.affine.a[..]), &self.b_shifted);
            self.tiles.as_mut().is_some_and(|q| q.fill((w, d, d), a, b))
        };
        if !on_tiles {
            self.fold(stack, x.affine, true);
        }
        // G = ∂ℓ/∂S. Shared out: the scores by parts of the rows (each part then
        // updates the same rows, from the images already in its core's caches),
        // or on the AMX tiles by parts of the images.
        let scores = Scores {
            isa: self.isa,
            wb: panel::Weights {
                w: &self.w_scaled,
                ld: padded(d),
                b: &self.b_shifted,
            },
            d,
            tiles: self.tiles.as_ref().filter(|_| on_tiles),
        };
        self.s.resize(n * m, 0.0);
        let s = &mut self.s[..n * m];
        // Whole tiles of rows: a row left over would go alone, reading every
        // image again for one row of multiply-adds.
        let by_rows = shared::split(m, self.parts, self.isa.part_rows());
        scores.shared(x.pixels, s, (&mut self.panel, &mut self.crew), &by_rows);
        for (gi, &y) in s.chunks_exact_mut(m).zip(labels) {
            for (col, &l) in gi.chunks_exact_mut(k).zip(loss) {
                match l {
                    Loss::Softmax => softmax_minus_onehot(col, y as usize),
                    _ => l.score_gradient(ndarray::ArrayViewMut1::from(col), y as usize),
                }
            }
        }
        let g = &self.s[..n * m];
        let inv_n = 1.0 / n as f32;
        self.gsum.clear();
        for (r, b) in stack.b.iter_mut().enumerate() {
            let sum: f32 = g.iter().skip(r).step_by(m).sum();
            self.gsum.push(sum);
            *b -= self.eta[r] * (sum * inv_n);
        }
        let step = Step {
            g,
            gsum: &self.gsum,
            a: &x.affine.a,
            beta: &x.affine.beta,
            inv_n,
            eta: &self.eta,
            two_lambda: &self.two_lambda,
        };
        let w = stack
            .w
            .as_slice_mut()
            .unwrap_or_else(|| unreachable!("Stack::w is standard"));
        // The update: by the same parts of the rows when shared, each with its
        // columns of G.
        if by_rows.len() == 1 {
            self.isa.update(w, &step, x.pixels, d);
        } else {
            let isa = self.isa;
            shared::run(&by_rows, d, w, &mut self.crew, &|rows, w, bufs| {
                shared::columns(step.g, m, &rows, &mut bufs.s);
                let part = Step {
                    g: &bufs.s,
                    gsum: &step.gsum[rows.clone()],
                    eta: &step.eta[rows.clone()],
                    two_lambda: &step.two_lambda[rows],
                    ..step
                };
                isa.update(w, &part, x.pixels, d)
            });
        }
    }

    /// `w_scaled = W ⊙ a` (each row times `a`) and `b_shifted = b − W β`, in one
    /// pass over `W`; only `b_shifted` when `scaled` is false.
    fn fold(&mut self, stack: &Stack, affine: &Affine, scaled: bool) {
        let (m, d) = stack.w.dim();
        let w = stack
            .w
            .as_slice()
            .unwrap_or_else(|| unreachable!("Stack::w is standard"));
        let b = stack
            .b
            .as_slice()
            .unwrap_or_else(|| unreachable!("Stack::b is standard"));
        self.b_shifted.clear();
        let rows = (w, d, b, &affine.beta[..]);
        if scaled {
            self.w_scaled.resize(m * padded(d), 0.0);
            let scale = Some((&affine.a[..], &mut self.w_scaled[..]));
            self.isa.fold(rows, scale, &mut self.b_shifted);
        } else {
            self.isa.fold(rows, None, &mut self.b_shifted);
        }
    }

    fn per_row(&mut self, k: usize, eta: &[f32], lambda: &[f32]) {
        self.eta.clear();
        self.two_lambda.clear();
        for (&e, &l) in eta.iter().zip(lambda) {
            self.eta.extend(std::iter::repeat_n(e, k));
            self.two_lambda.extend(std::iter::repeat_n(2.0 * l, k));
        }
    }
}

/// What the scores of a step are made of: the folded weights `wb` of `d` columns,
/// or the same in fixed point for the AMX tiles, which then compute the scores.
#[derive(Clone, Copy)]
struct Scores<'a> {
    isa: Isa,
    wb: panel::Weights<'a>,
    d: usize,
    tiles: Option<&'a amx::Quantized>,
}

impl Scores<'_> {
    /// `s = X Wᵀ + b` (`n×m`, image-major) of the images `x: n×d`.
    fn all(&self, x: &[u8], s: &mut [f32], panel: &mut Vec<u8>) {
        match self.tiles {
            Some(q) => q.scores(x, s, panel, None),
            None => {
                panel_scores(self.isa, panel, self.wb, (x, self.d), s, None);
            }
        }
    }

    /// [`Scores::all`] in the parts `by_rows` (see `shared.rs`): by those rows,
    /// or on the tiles by as many parts of the images; `panel` for one part,
    /// `crew` for several.
    fn shared(
        &self,
        x: &[u8],
        s: &mut [f32],
        (panel, crew): (&mut Vec<u8>, &mut [shared::Buffers]),
        by_rows: &[std::ops::Range<usize>],
    ) {
        let m = self.wb.b.len();
        let n = s.len() / m;
        if by_rows.len() <= 1 {
            self.all(x, s, panel);
        } else if self.tiles.is_none() {
            let parts = by_rows.iter().cloned().zip(crew.iter_mut()).collect();
            shared::on_threads(parts, &|(rows, bufs): (_, &mut shared::Buffers)| {
                bufs.s.resize(n * rows.len(), 0.0);
                self.rows(rows).all(x, &mut bufs.s, &mut bufs.panel)
            });
            for (rows, bufs) in by_rows.iter().zip(crew.iter()) {
                for (si, part) in s.chunks_exact_mut(m).zip(bufs.s.chunks_exact(rows.len())) {
                    si[rows.clone()].copy_from_slice(part);
                }
            }
        } else {
            let by_images = shared::split(n, by_rows.len(), panel::GROUP);
            shared::run(&by_images, m, s, crew, &|images, s, bufs| {
                let pixels = &x[images.start * self.d..images.end * self.d];
                self.all(pixels, s, &mut bufs.panel)
            });
        }
    }

    /// The scores of rows `rows` of `W` alone (not on the tiles).
    fn rows(&self, rows: std::ops::Range<usize>) -> Self {
        let ld = self.wb.ld;
        Scores {
            wb: panel::Weights {
                w: &self.wb.w[rows.start * ld..rows.end * ld],
                ld,
                b: &self.wb.b[rows],
            },
            tiles: None,
            ..*self
        }
    }
}

/// `s = X Wᵀ + b`, the scores `n×m` (image-major) of the images `x: n×d` under the
/// folded weights `wb`: 16 images at a time transposed into `panel`, each group's
/// scores by [`panel::scores`] while the next group of images is fetched. With
/// `terms` (then `n ≤ 16`), also the softmax terms of every run (see
/// [`panel::Terms`]); returns the number of runs with terms.
fn panel_scores(
    isa: Isa,
    panel: &mut Vec<u8>,
    wb: panel::Weights,
    (x, d): (&[u8], usize),
    s: &mut [f32],
    mut terms: Option<panel::Terms>,
) -> usize {
    let m = wb.b.len();
    let group = panel::GROUP * d;
    panel.resize(group, 0);
    let mut covered = 0;
    for (i, sg) in s.chunks_mut(panel::GROUP * m).enumerate() {
        let rows = sg.len() / m;
        let xg = &x[i * group..i * group + rows * d];
        let next = x.get((i + 1) * group..).unwrap_or_default();
        let g = panel::Group {
            x: xg,
            d,
            rows,
            next,
        };
        covered = panel::scores(isa, wb, g, panel, sg, terms.take());
    }
    covered
}

/// The rows of `W` (`m×d`), its width, the biases `b` (`m`) and the shift `β` (`d`).
type Rows<'a> = (&'a [f32], usize, &'a [f32], &'a [f32]);

/// [`fold`] compiled for AVX-512 (8 lanes of f64).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fold_avx512(rows: Rows, scale: Option<(&[f32], &mut [f32])>, out: &mut Vec<f32>) {
    fold(rows, scale, out)
}

/// [`fold`] compiled for AVX2 (4 lanes of f64; Rust fuses no multiply-add unasked,
/// so the values are those of the other builds).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fold_avx2(rows: Rows, scale: Option<(&[f32], &mut [f32])>, out: &mut Vec<f32>) {
    fold(rows, scale, out)
}

/// The weights folded with the normalisation `x̂ = a ⊙ x − β`: [`shifts`], each
/// row's sum in the same order, and with `scale = (a, w_a)` also row `r` of `w_a`
/// (row stride [`padded`]`(d)`) = `W[r] ⊙ a`, in the same pass over `W`. The rows
/// go four at a time, so that four rows' sums are under way together rather than
/// each waiting on its own additions.
#[inline(always)]
fn fold(rows: Rows, scale: Option<(&[f32], &mut [f32])>, out: &mut Vec<f32>) {
    match scale {
        Some(scale) => fold_rows::<true>(rows, scale, out),
        None => fold_rows::<false>(rows, (&[], &mut []), out),
    }
}

/// [`fold`] by tiles of four rows, then one by one; `w_a` written when `SCALE`.
#[inline(always)]
fn fold_rows<const SCALE: bool>(rows: Rows, scale: (&[f32], &mut [f32]), out: &mut Vec<f32>) {
    const TILE: usize = 4;
    let (m, (a, w_a)) = (rows.2.len(), scale);
    let mut r = 0;
    while r + TILE <= m {
        fold_tile::<TILE, SCALE>(rows, r, (a, w_a), out);
        r += TILE;
    }
    while r < m {
        fold_tile::<1, SCALE>(rows, r, (a, w_a), out);
        r += 1;
    }
}

/// [`fold`] for the `R` rows from `r0` on; `w_a` written when `SCALE`.
#[inline(always)]
fn fold_tile<const R: usize, const SCALE: bool>(
    (w, d, b, beta): Rows,
    r0: usize,
    (a, w_a): (&[f32], &mut [f32]),
    out: &mut Vec<f32>,
) {
    let rows: [&[f32]; R] = std::array::from_fn(|k| &w[(r0 + k) * d..(r0 + k + 1) * d]);
    let mut part = [[0f64; 8]; R];
    let full = d / 8 * 8;
    // Eights as arrays: one bounds check per eight, and the products vectorise.
    let eight = |v: &[f32], j: usize| -> [f32; 8] {
        v[j..j + 8]
            .try_into()
            .unwrap_or_else(|_| unreachable!("eight floats"))
    };
    for j in (0..full).step_by(8) {
        let beta8 = eight(beta, j);
        for (k, (row, part)) in rows.iter().zip(&mut part).enumerate() {
            let w8 = eight(row, j);
            for ((p, &w), &beta) in part.iter_mut().zip(&w8).zip(&beta8) {
                *p += f64::from(w) * f64::from(beta);
            }
            if SCALE {
                let (at, a8) = ((r0 + k) * padded(d) + j, eight(a, j));
                let o: &mut [f32; 8] = (&mut w_a[at..at + 8])
                    .try_into()
                    .unwrap_or_else(|_| unreachable!("eight floats"));
                *o = std::array::from_fn(|l| w8[l] * a8[l]);
            }
        }
    }
    for (k, (row, part)) in rows.iter().zip(&part).enumerate() {
        let tail: f64 = (full..d)
            .map(|j| f64::from(row[j]) * f64::from(beta[j]))
            .sum();
        let shift: f64 = part.iter().sum::<f64>() + tail;
        out.push((f64::from(b[r0 + k]) - shift) as f32);
        if SCALE {
            let at = (r0 + k) * padded(d);
            for j in full..d {
                w_a[at + j] = row[j] * a[j];
            }
        }
    }
}

/// `out[r] = b[r] − Σ_j W[r, j] β[j]` for the rows of `w: m×d`, each sum in f64
/// in 8 interleaved partial sums so that it vectorises: the plain maths of
/// [`fold`], one row at a time.
fn shifts((w, d, b, beta): Rows, out: &mut Vec<f32>) {
    for (row, &b) in w.chunks_exact(d).zip(b) {
        let mut part = [0f64; 8];
        for (w8, beta8) in row.chunks_exact(8).zip(beta.chunks_exact(8)) {
            for ((p, &w), &beta) in part.iter_mut().zip(w8).zip(beta8) {
                *p += f64::from(w) * f64::from(beta);
            }
        }
        let full = d / 8 * 8;
        let tail: f64 = (full..d)
            .map(|j| f64::from(row[j]) * f64::from(beta[j]))
            .sum();
        let shift: f64 = part.iter().sum::<f64>() + tail;
        out.push((f64::from(b) - shift) as f32);
    }
}

/// `col ← softmax(col) − e_y`, subtracting the max first.
fn softmax_minus_onehot(col: &mut [f32], y: usize) {
    let max = col.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0.0;
    for v in col.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in col.iter_mut() {
        *v /= sum;
    }
    col[y] -= 1.0;
}

/// Loss, cost and accuracy of one model on a whole data set (softmax loss).
pub fn evaluate(model: &Model, data: &Dataset, lambda: f64) -> Metrics {
    evaluate_loss(model, data, lambda, Loss::Softmax)
}

/// Loss, cost and accuracy of one model on a whole data set under `loss`.
pub fn evaluate_loss(model: &Model, data: &Dataset, lambda: f64, loss: Loss) -> Metrics {
    let stack = Stack::new(std::slice::from_ref(model));
    let affine = data.normalizer.affine();
    let x = Images::new(&data.pixels, &affine);
    let mut ws = Workspace::default();
    let mut m = ws.evaluate(&stack, x, &data.labels, &[lambda], &[loss]);
    m.pop()
        .unwrap_or_else(|| unreachable!("one run in, one result out"))
}

#[cfg(test)]
mod tests;
