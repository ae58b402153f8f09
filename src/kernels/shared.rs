//! A step or an evaluation shared out among the threads of a crew: the rayon
//! pool a [`super::Workspace`] was made in (see [`super::Workspace::shared`]).
//! When a stack has threads to spare, say a single run on a machine of 8 cores,
//! each of its steps is cut into parts of the rows of `W`, each of whole tiles
//! of rows of the kernels ([`super::Isa::part_rows`]):
//!
//! ```text
//! S[:, r0..r1] = X Ŵ[r0..r1, :]ᵀ + b̂[r0..r1]     part p, rows r0..r1, every image
//! G = ∂ℓ/∂S, b ← b − η G 1 / n                   the calling thread
//! W[r0..r1, :] ← W[r0..r1, :] − η (...)          part p again
//! ```
//!
//! Part `p` runs on thread `p` of the pool in both phases ([`on_threads`]), so
//! that its update reads the images its thread (and, unless the system moves
//! the thread, its core) has just read for the scores. (Parts by images for the
//! scores, then by rows for the update, made each core fetch the other's
//! images: the update took twice as long.) On the AMX tiles, which hold the
//! weights of all rows, the scores go by parts of the images. An evaluation goes
//! by parts of its groups of 16 images, whose sums are
//! then added in group order; in a [`super::Team`], each thread of a member's
//! crew takes the team's groups of images.
//!
//! Every value is computed by the same operations as when one thread does it all
//! (an image's scores do not depend on its group or on the other rows, nor a
//! row's update on its tile), so the results are the same, bit for bit, whatever
//! the crew.

use std::ops::Range;
use std::sync::Mutex;

/// The buffers of one part: a panel of images (or the AMX tiles' copy of a
/// group), and scores or a part's columns of `G`.
#[derive(Debug, Clone, Default)]
pub(super) struct Buffers {
    pub panel: Vec<u8>,
    pub s: Vec<f32>,
}

/// `n` items cut into at most `parts` ranges of about equal length, each
/// boundary a multiple of `unit` (the last range takes the remainder); no range
/// is empty.
pub(super) fn split(n: usize, parts: usize, unit: usize) -> Vec<Range<usize>> {
    let parts = parts.clamp(1, n.div_ceil(unit).max(1));
    let mut ranges = Vec::with_capacity(parts);
    let mut start = 0;
    for p in 1..=parts {
        let end = match p == parts {
            true => n,
            // The nearest multiple of `unit` to n·p/parts.
            false => ((n * p + parts * unit / 2) / (parts * unit) * unit).min(n),
        };
        if end > start {
            ranges.push(start..end);
            start = end;
        }
    }
    ranges
}

/// Part `p` of `parts` to `work` on thread `p` of the current rayon pool
/// (rayon's global pool outside any), or on threads `p mod T` of a pool of `T`
/// threads; returns when all are done. The same part goes to the same thread
/// every time, so that a part's rows and images stay in one core's caches from
/// the scores to the update.
pub(super) fn on_threads<P: Send>(parts: Vec<P>, work: &(impl Fn(P) + Sync)) {
    let slots: Vec<Mutex<Option<P>>> = parts.into_iter().map(|p| Mutex::new(Some(p))).collect();
    rayon::broadcast(|thread| {
        let mine = slots.iter().skip(thread.index());
        for slot in mine.step_by(thread.num_threads()) {
            let part = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(part) = part {
                work(part)
            }
        }
    });
}

/// The `ranges` (consecutive, from 0) of `out`, `per` values per item, each with
/// the buffers of one part, handed to `work` by [`on_threads`].
pub(super) fn run<T: Send>(
    ranges: &[Range<usize>],
    per: usize,
    out: &mut [T],
    crew: &mut [Buffers],
    work: &(impl Fn(Range<usize>, &mut [T], &mut Buffers) + Sync),
) {
    assert!(crew.len() >= ranges.len());
    let mut rest = out;
    let parts = (ranges.iter().zip(crew))
        .map(|(range, bufs)| {
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(range.len() * per);
            rest = tail;
            (range.clone(), mine, bufs)
        })
        .collect();
    on_threads(parts, &|(range, out, bufs)| work(range, out, bufs))
}

/// Columns `rows` of `g: nb×m` (image-major), `nb×rows.len()`, into `out`.
pub(super) fn columns(g: &[f32], m: usize, rows: &Range<usize>, out: &mut Vec<f32>) {
    out.clear();
    for gi in g.chunks_exact(m) {
        out.extend_from_slice(&gi[rows.clone()]);
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn split_covers_every_item_once_in_whole_units() {
        for n in 0..200 {
            for parts in 1..6 {
                for unit in [1, 5, 16] {
                    let r = split(n, parts, unit);
                    assert!(r.len() <= parts.max(1));
                    let mut next = 0;
                    for (i, range) in r.iter().enumerate() {
                        assert_eq!(range.start, next);
                        assert!(!range.is_empty());
                        if i + 1 < r.len() {
                            assert!(range.end.is_multiple_of(unit), "{n} {parts} {unit}: {r:?}");
                        }
                        next = range.end;
                    }
                    assert_eq!(next, n);
                }
            }
        }
        // A mini-batch of 100 in two parts: 48 and 52 images, groups kept whole.
        assert_eq!(split(100, 2, 16), [0..48, 48..100]);
        assert_eq!(split(10, 2, 1), [0..5, 5..10]);
        assert_eq!(split(10, 3, 1), [0..3, 3..7, 7..10]);
    }
}
