//! The evaluation of whole data sets: loss, cost and accuracy of every run of a
//! stack, alone ([`Workspace::evaluate`]) or as a [`Team`]. Threads that train
//! stacks on the same training and validation sets evaluate all their runs
//! together at the end of each epoch: they meet (a [`crate::team::Team`]), then
//! share the images out 16 at a time, so that each panel of images serves every
//! run and neither thread waits for the other at the end of the evaluation.
//!
//! The sums are the same either way: each group of 16 images gives, per run, the
//! sum of its images' losses (in image order) and its count of right answers, and
//! the groups' sums are added in group order.

use std::ops::Range;
use std::sync::Mutex;

use ndarray::Array1;

use super::amx::Quantized;
use super::{Images, Isa, Stack, Workspace, padded, panel, panel_scores, shared};
use crate::loss::Loss;
use crate::model::Evaluation as Metrics;
use crate::normalize::{Affine, Dataset};
use crate::team;

/// Per run: the sum of the losses of some images and how many it classified right.
pub(super) type Sums = Vec<(f64, usize)>;

/// The runs as an evaluation needs them: folded weights `w: m×d` (row stride
/// [`padded`]`(d)`), biases `b: m`, `k` classes per run, each run's loss; and the
/// weights in fixed point for the AMX tiles, where there are.
#[derive(Debug, Clone)]
struct Folded {
    w: Vec<f32>,
    d: usize,
    b: Vec<f32>,
    k: usize,
    loss: Vec<Loss>,
    tiles: Option<Quantized>,
}

impl Folded {
    fn runs(&self) -> Runs<'_> {
        Runs {
            wb: panel::Weights {
                w: &self.w,
                ld: padded(self.d),
                b: &self.b,
            },
            tiles: self.tiles.as_ref(),
            k: self.k,
            loss: &self.loss,
        }
    }
}

/// What the scores of an evaluation are made of: the folded weights `wb` (and
/// the same in fixed point for the AMX tiles, which then compute the scores),
/// `k` classes per run, each run's loss.
#[derive(Clone, Copy)]
struct Runs<'a> {
    wb: panel::Weights<'a>,
    tiles: Option<&'a Quantized>,
    k: usize,
    loss: &'a [Loss],
}

/// `wb` in fixed point, if `isa` has the AMX tiles and they can take it.
fn quantized(isa: Isa, wb: panel::Weights, d: usize) -> Option<Quantized> {
    isa.1.and_then(|t| Quantized::new(t, wb, d))
}

/// Scratch space of one thread's evaluation.
#[derive(Default)]
struct Scratch {
    max: Vec<f32>,
    sum: Vec<f32>,
    /// A group's scores by row, `m × 16`.
    by_row: Vec<[f32; panel::GROUP]>,
}

impl Workspace {
    /// Loss, cost and accuracy of every run of `stack` on the whole set `x` with
    /// `labels`, run `r` with `lambda[r]` and `loss[r]`. The softmax loss goes
    /// through log-sum-exp, the others through [`Loss::example_loss`] in f64; sums
    /// in f64.
    pub fn evaluate(
        &mut self,
        stack: &Stack,
        x: Images,
        labels: &[u8],
        lambda: &[f64],
        loss: &[Loss],
    ) -> Vec<Metrics> {
        let (m, d) = stack.w.dim();
        let mut total = vec![(0.0, 0); stack.runs()];
        if m > 0 && d > 0 {
            self.fold(stack, x.affine, true);
            let wb = panel::Weights {
                w: &self.w_scaled,
                ld: padded(d),
                b: &self.b_shifted,
            };
            // The step's buffers for the weights in fixed point take these.
            let tiles = match &mut self.tiles {
                Some(q) => q.fill((wb.w, wb.ld, d), None, wb.b).then_some(&*q),
                None => None,
            };
            let runs = Runs {
                wb,
                tiles,
                k: stack.k,
                loss,
            };
            let group = panel::GROUP * d;
            let groups = labels.len().div_ceil(panel::GROUP);
            let parts = shared::split(groups, self.parts, 1);
            // The sums of groups `range` into `out`, one per group.
            let sums = |range: Range<usize>,
                        out: &mut [Sums],
                        (panel, s): (&mut Vec<u8>, &mut Vec<f32>)| {
                let mut scratch = Scratch::default();
                for (g, out) in range.zip(out) {
                    let yg = &labels[g * panel::GROUP..labels.len().min((g + 1) * panel::GROUP)];
                    let xg = (&x.pixels[g * group..], d);
                    group_sums(self.isa, (panel, s, &mut scratch), runs, xg, yg, out);
                }
            };
            let mut per_group = vec![Sums::new(); groups];
            if parts.len() <= 1 {
                sums(0..groups, &mut per_group, (&mut self.panel, &mut self.s));
            } else {
                shared::run(
                    &parts,
                    1,
                    &mut per_group,
                    &mut self.crew,
                    &|range, out, bufs| sums(range, out, (&mut bufs.panel, &mut bufs.s)),
                );
            }
            // Added in group order, whoever computed them.
            for g in &per_group {
                add(&mut total, g);
            }
        }
        metrics(stack, &total, labels.len(), lambda)
    }

    /// The runs of `stack` folded with `affine`, as an owned copy.
    fn folded(&mut self, stack: &Stack, affine: &Affine, loss: &[Loss]) -> Folded {
        self.fold(stack, affine, true);
        Folded {
            w: self.w_scaled.clone(),
            d: stack.w.ncols(),
            b: self.b_shifted.clone(),
            k: stack.k,
            loss: loss.to_vec(),
            tiles: None,
        }
    }
}

pub(super) fn add(total: &mut [(f64, usize)], sums: &[(f64, usize)]) {
    for (t, s) in total.iter_mut().zip(sums) {
        t.0 += s.0;
        t.1 += s.1;
    }
}

/// Metrics of each run of `stack` from its summed losses and right answers over
/// `n` images: the mean loss, plus `λ‖W‖²` for the cost.
pub(super) fn metrics(
    stack: &Stack,
    total: &[(f64, usize)],
    n: usize,
    lambda: &[f64],
) -> Vec<Metrics> {
    let k = stack.k;
    total
        .iter()
        .zip(lambda)
        .enumerate()
        .map(|(r, (&(sum, correct), &lambda))| {
            let rows = stack.w.slice(ndarray::s![r * k..(r + 1) * k, ..]);
            let l2: f64 = rows.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            Metrics::from_sums(sum, correct, n, lambda, l2)
        })
        .collect()
}

/// The [`Sums`] of one group of `labels.len() ≤ 16` images, the first of `x`
/// (the rest of the set follows, to be fetched meanwhile), under `runs`.
fn group_sums(
    isa: Isa,
    (panel_buf, s, scratch): (&mut Vec<u8>, &mut Vec<f32>, &mut Scratch),
    Runs { wb, tiles, k, loss }: Runs,
    (x, d): (&[u8], usize),
    labels: &[u8],
    out: &mut Sums,
) {
    let (m, n) = (wb.b.len(), labels.len());
    let runs = m / k;
    s.resize(n * m, 0.0);
    scratch.max.resize(n * runs, 0.0);
    scratch.sum.resize(n * runs, 0.0);
    let terms = panel::SoftmaxTerms {
        k,
        max: &mut scratch.max,
        sum: &mut scratch.sum,
    };
    let s = &mut s[..n * m];
    let covered = match tiles {
        Some(q) => {
            scratch.by_row.resize(m, [0.0; panel::GROUP]);
            q.scores(&x[..n * d], s, panel_buf, Some(&mut scratch.by_row));
            panel::softmax_rows(isa, &scratch.by_row, n, terms);
            runs
        }
        None => {
            scratch.by_row.resize(m, [0.0; panel::GROUP]);
            let terms = (terms, &mut scratch.by_row[..]);
            panel_scores(isa, panel_buf, wb, (x, d), s, Some(terms))
        }
    };
    out.clear();
    out.resize(runs, (0.0, 0));
    for (c, (si, &y)) in s.chunks_exact(m).zip(labels).enumerate() {
        for (r, (col, &kind)) in si.chunks_exact(k).zip(loss).enumerate() {
            let at = c * runs + r;
            let terms = (r < covered).then(|| (scratch.max[at], scratch.sum[at]));
            let (l, best) = loss_argmax(kind, col, y as usize, terms);
            out[r].0 += l;
            out[r].1 += usize::from(best == y as usize);
        }
    }
}

/// The index of the largest of `s`, the first one on ties (NaN never wins).
fn argmax(s: &[f32]) -> usize {
    let mut max = f32::NEG_INFINITY;
    let mut best = 0;
    for (i, &v) in s.iter().enumerate() {
        if v > max {
            max = v;
            best = i;
        }
    }
    best
}

/// `(ℓ(s, y), argmax s)` of one column of scores under `loss`. Softmax:
/// `logΣexp(s) − s[y] = max + ln(sum) − s[y]` from the column's softmax terms
/// `(max, sum)` (given, or computed by [`panel::softmax_terms`]; see
/// [`panel::SoftmaxTerms`]); the others through [`Loss::example_loss`] in f64.
pub(super) fn loss_argmax(
    loss: Loss,
    s: &[f32],
    y: usize,
    terms: Option<(f32, f32)>,
) -> (f64, usize) {
    let best = argmax(s);
    if loss == Loss::Softmax {
        let (max, sum) = terms.unwrap_or_else(|| panel::softmax_terms(s));
        // sum ∈ [1, K]: its logarithm in f32 is exact to a few 1e-8.
        return (f64::from(max) + f64::from(sum.ln()) - f64::from(s[y]), best);
    }
    let s64: Array1<f64> = s.iter().map(|&v| f64::from(v)).collect();
    (loss.example_loss(s64.view(), y), best)
}

/// Threads training stacks on the same training and validation sets, evaluating
/// them together after every epoch (see the module's documentation). Each thread
/// takes a [`TeamMember`]; a member leaves when it is dropped, and the others go
/// on without it.
pub struct Team<'d> {
    /// Training set (0) and validation set (1): images, labels, normalisation.
    sets: [(&'d Dataset, Affine); 2],
    team: team::Team<Part, Round>,
}

/// What a member brings to a round: its instruction set and its runs folded for
/// each set.
type Part = (Isa, [Folded; 2]);

/// One evaluation of the runs of every member on both sets.
struct Round {
    /// All runs, the members' one after the other, folded for each set.
    folded: [Folded; 2],
    /// Per member in the round, in the round's order: its first run in `folded`,
    /// its runs.
    owners: Vec<(usize, usize)>,
    /// Groups of 16 images in each set.
    groups: [usize; 2],
    /// Each group's sums, once evaluated (a task is one group, the training
    /// set's first).
    sums: Mutex<Vec<Sums>>,
}

impl Round {
    /// The round of the members' parts, in the order of their ids, on sets of
    /// `groups` groups of images.
    fn new(parts: Vec<(usize, Part)>, groups: [usize; 2]) -> Round {
        let mut owners = Vec::new();
        let mut first = 0;
        for (_, (_, f)) in &parts {
            let runs = f[0].b.len() / f[0].k;
            owners.push((first, runs));
            first += runs;
        }
        let folded = [0, 1].map(|set| {
            let all: Vec<&Folded> = parts.iter().map(|(_, (_, f))| &f[set]).collect();
            let (k, d) = (all[0].k, all[0].d);
            assert!(
                all.iter().all(|f| (f.k, f.d) == (k, d)),
                "a team's runs are alike"
            );
            let mut f = Folded {
                w: all.iter().flat_map(|f| f.w.iter().copied()).collect(),
                d,
                b: all.iter().flat_map(|f| f.b.iter().copied()).collect(),
                k,
                loss: all.iter().flat_map(|f| f.loss.iter().copied()).collect(),
                tiles: None,
            };
            // The tiles only if every member may use them.
            if parts.iter().all(|(_, (isa, _))| isa.has_tiles()) {
                f.tiles = quantized(parts[0].1.0, f.runs().wb, d);
            }
            f
        });
        Round {
            folded,
            owners,
            groups,
            sums: Mutex::new(vec![Sums::new(); groups[0] + groups[1]]),
        }
    }
}

impl<'d> Team<'d> {
    /// A team of `members` threads on the training set `train` and validation set
    /// `val`.
    pub fn new(train: &'d Dataset, val: &'d Dataset, members: usize) -> Team<'d> {
        let groups = [train, val].map(|d| d.len().div_ceil(panel::GROUP));
        Team {
            sets: [
                (train, train.normalizer.affine()),
                (val, val.normalizer.affine()),
            ],
            team: team::Team::new(members, move |parts| Round::new(parts, groups)),
        }
    }

    /// Member `id` (`0 ≤ id < members`, each id taken by one thread).
    pub fn member(&self, id: usize) -> TeamMember<'_, 'd> {
        TeamMember {
            sets: &self.sets,
            member: self.team.member(id),
        }
    }
}

/// One thread's place in a [`Team`].
pub struct TeamMember<'t, 'd> {
    sets: &'t [(&'d Dataset, Affine); 2],
    member: team::Member<'t, Part, Round>,
}

impl<'d> TeamMember<'_, 'd> {
    /// The team's training and validation sets.
    pub fn sets(&self) -> (&'d Dataset, &'d Dataset) {
        (self.sets[0].0, self.sets[1].0)
    }

    /// What [`Workspace::evaluate`] gives for `stack` on the training set and on
    /// the validation set, computed with the other members.
    pub fn evaluate(
        &self,
        ws: &mut Workspace,
        stack: &Stack,
        lambda: &[f64],
        loss: &[Loss],
    ) -> (Vec<Metrics>, Vec<Metrics>) {
        let folded = self.sets.each_ref().map(|(_, a)| ws.folded(stack, a, loss));
        let round = self.member.meet((ws.isa, folded));
        self.member.share(&round, |r| self.share(ws, &round, r));
        let at = round
            .members
            .iter()
            .position(|&id| id == self.member.id())
            .unwrap_or_else(|| unreachable!("a member is in its round"));
        let (first, runs) = round.work.owners[at];
        let r = &round.work;
        let sums = r.sums.lock().unwrap_or_else(|e| e.into_inner());
        let [tr, va] = [0, 1].map(|set| {
            let range = if set == 0 {
                0..r.groups[0]
            } else {
                r.groups[0]..r.groups[0] + r.groups[1]
            };
            let mut total = vec![(0.0, 0); runs];
            for g in range {
                add(&mut total, &sums[g][first..first + runs]);
            }
            metrics(stack, &total, self.sets[set].0.len(), lambda)
        });
        (tr, va)
    }

    /// Evaluates groups of the round until none is left: on this thread, or on
    /// every thread of the member's crew (see `shared.rs`).
    fn share(&self, ws: &mut Workspace, tasks: &team::Round<Round>, round: &Round) {
        let isa = ws.isa;
        let take = |(panel, s): (&mut Vec<u8>, &mut Vec<f32>)| {
            let (mut scratch, mut sums) = (Scratch::default(), Sums::new());
            loop {
                let g = tasks.next_task();
                let set = usize::from(g >= round.groups[0]);
                let local = if set == 0 { g } else { g - round.groups[0] };
                if local >= round.groups[set] {
                    return;
                }
                let (data, _) = self.sets[set];
                let f = &round.folded[set];
                let x = &data.pixels[local * panel::GROUP * f.d..];
                let labels = &data.labels[local * panel::GROUP..];
                let labels = &labels[..labels.len().min(panel::GROUP)];
                let bufs = (&mut *panel, &mut *s, &mut scratch);
                group_sums(isa, bufs, f.runs(), (x, f.d), labels, &mut sums);
                let mut all = round.sums.lock().unwrap_or_else(|e| e.into_inner());
                all[g] = std::mem::take(&mut sums);
            }
        };
        if ws.parts == 1 {
            take((&mut ws.panel, &mut ws.s));
        } else {
            let everyone = ws.crew.iter_mut().collect();
            shared::on_threads(everyone, &|bufs: &mut shared::Buffers| {
                take((&mut bufs.panel, &mut bufs.s))
            });
        }
    }
}
