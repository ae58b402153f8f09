//! A training set of CIFAR-10 images for the loop: bytes stepped on and
//! evaluated by the kernels, the normalisation folded into the weights.

use rand::SeedableRng;

use super::{AUGMENT_STREAM, Rows, TrainingSet};
use crate::D;
use crate::config::Hyper;
use crate::kernels::{self, Images, Stack, Workspace};
use crate::loss::Loss;
use crate::model::{Evaluation, Model};
use crate::normalize::{Affine, Dataset};

/// Images as bytes, stepped on and evaluated by [`crate::kernels`] (with the
/// normalisation folded into the weights), alone or as a member of a team.
/// Mini-batches are slices of the training bytes, or gathered into a buffer when
/// the runs shuffle or augment (augmented runs train alone, so the augmentation
/// is that run's).
pub(super) struct ImageSets<'a, 't> {
    train: &'a Dataset,
    val: &'a Dataset,
    team: Option<&'a kernels::TeamMember<'t, 'a>>,
    /// The normalisation of both sets: validation data is normalised with the
    /// training statistics, as it carries.
    affine: (Affine, Affine),
    ws: Workspace,
    augment: crate::augment::Augment,
    aug_rng: rand_pcg::Pcg64,
    gather: bool,
    gathered: Vec<u8>,
    labels: Vec<u8>,
    scratch: Vec<u8>,
    /// The shifts' border: the training mean image to the nearest byte, which is
    /// (up to that rounding) 0 after normalisation.
    fill: Vec<u8>,
}

impl<'a, 't> ImageSets<'a, 't> {
    /// The sets of the runs `hs` (one stack; the first run's options decide).
    pub(super) fn new(
        hs: &[Hyper],
        train: &'a Dataset,
        val: &'a Dataset,
        team: Option<&'a kernels::TeamMember<'t, 'a>>,
    ) -> ImageSets<'a, 't> {
        let (augment, shuffle, n_batch, seed) = hs.first().map_or(Default::default(), |h| {
            (h.options.augment, h.shuffle, h.n_batch.max(1), h.seed)
        });
        let gather = shuffle || !augment.is_off();
        ImageSets {
            train,
            val,
            team,
            affine: (train.normalizer.affine(), val.normalizer.affine()),
            ws: Workspace::shared(),
            augment,
            aug_rng: rand_pcg::Pcg64::seed_from_u64(seed ^ AUGMENT_STREAM),
            gather,
            gathered: vec![0u8; if gather { n_batch * D } else { 0 }],
            labels: vec![0u8; if gather { n_batch } else { 0 }],
            scratch: vec![0u8; D],
            fill: (train.normalizer.mean.iter())
                .map(|&m| (m * 255.0).round().clamp(0.0, 255.0) as u8)
                .collect(),
        }
    }
}

impl TrainingSet for ImageSets<'_, '_> {
    type Params = Stack;

    fn len(&self) -> usize {
        self.train.len()
    }

    fn dim(&self) -> usize {
        D
    }

    fn stack(&self, models: &[Model]) -> Stack {
        Stack::new(models)
    }

    fn step(
        &mut self,
        stack: &mut Stack,
        rows: Rows<'_>,
        eta: &[f32],
        lambda: &[f32],
        loss: &[Loss],
    ) {
        let (xs, ys) = (&self.train.pixels, &self.train.labels);
        let (pixels, labels): (&[u8], &[u8]) = match rows {
            Rows::Range(range) if !self.gather => (&xs[range.start * D..range.end * D], &ys[range]),
            rows => {
                let order: &mut dyn Iterator<Item = usize> = match &rows {
                    Rows::Range(range) => &mut range.clone(),
                    Rows::Listed(list) => &mut list.iter().copied(),
                };
                for ((dst, y), i) in (self.gathered.chunks_exact_mut(D))
                    .zip(&mut self.labels)
                    .zip(order)
                {
                    dst.copy_from_slice(&xs[i * D..(i + 1) * D]);
                    *y = ys[i];
                    if !self.augment.is_off() {
                        (self.augment).apply(dst, &mut self.scratch, &self.fill, &mut self.aug_rng);
                    }
                }
                (&self.gathered, &self.labels)
            }
        };
        let x = Images::new(pixels, &self.affine.0);
        self.ws.sgd_step(stack, x, labels, eta, lambda, loss);
    }

    fn evaluate(
        &mut self,
        stack: &Stack,
        lambda: &[f64],
        loss: &[Loss],
    ) -> (Vec<Evaluation>, Vec<Evaluation>) {
        let (at, av) = &self.affine;
        match self.team {
            Some(member) => member.evaluate(&mut self.ws, stack, lambda, loss),
            None => (
                self.ws.evaluate(
                    stack,
                    Images::new(&self.train.pixels, at),
                    &self.train.labels,
                    lambda,
                    loss,
                ),
                self.ws.evaluate(
                    stack,
                    Images::new(&self.val.pixels, av),
                    &self.val.labels,
                    lambda,
                    loss,
                ),
            ),
        }
    }
}
