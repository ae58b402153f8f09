//! Which examples each mini-batch step of an epoch takes.

use rand::SeedableRng;
use rand::seq::SliceRandom;

use super::{Rows, SHUFFLE_STREAM};
use crate::config::Hyper;

/// The order of an epoch's mini-batches: the examples in order, or a fresh seeded
/// permutation every epoch when the runs shuffle.
pub(super) struct Batches {
    n_batch: usize,
    n: usize,
    shuffle: Option<rand_pcg::Pcg64>,
    order: Vec<usize>,
}

impl Batches {
    pub(super) fn new(h: &Hyper, n: usize) -> Batches {
        Batches {
            n_batch: h.n_batch.max(1),
            n,
            shuffle: h
                .shuffle
                .then(|| rand_pcg::Pcg64::seed_from_u64(h.seed ^ SHUFFLE_STREAM)),
            order: if h.shuffle {
                (0..n).collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Mini-batches per epoch, `⌊n / n_batch⌋`.
    pub(super) fn per_epoch(&self) -> usize {
        self.n / self.n_batch
    }

    /// Draws the epoch's permutation, if the runs shuffle.
    pub(super) fn shuffle(&mut self) {
        if let Some(rng) = self.shuffle.as_mut() {
            self.order.shuffle(rng);
        }
    }

    /// The examples of mini-batch `j` of the epoch.
    pub(super) fn get(&self, j: usize) -> Rows<'_> {
        let range = j * self.n_batch..(j + 1) * self.n_batch;
        match self.shuffle {
            Some(_) => Rows::Listed(&self.order[range]),
            None => Rows::Range(range),
        }
    }
}
