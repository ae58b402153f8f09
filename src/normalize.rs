//! Pre-processing: each dimension is centred and scaled by the mean and the
//! population standard deviation of the training data (as numpy's `np.std`).

use ndarray::{Array1, Array2, ArrayView2};

use crate::D;
use crate::data::LabeledImages;

/// Per-dimension mean and standard deviation of the training pixels, on the
/// scale `x / 255`.
#[derive(Debug, Clone, PartialEq)]
pub struct Normalizer {
    /// Mean of each dimension, `d`.
    pub mean: Array1<f32>,
    /// Population standard deviation of each dimension, `d`. A dimension that is
    /// constant in the training data gets 1, so that it maps to 0.
    pub std: Array1<f32>,
}

impl Normalizer {
    /// Fits mean and std to `images` (accumulated in f64).
    pub fn fit(images: &LabeledImages) -> Normalizer {
        let n = images.len().max(1) as f64;
        let mut sum = vec![0f64; D];
        let mut sum_sq = vec![0f64; D];
        for img in images.pixels.chunks_exact(D) {
            for ((s, q), &p) in sum.iter_mut().zip(sum_sq.iter_mut()).zip(img) {
                let v = p as f64 / 255.0;
                *s += v;
                *q += v * v;
            }
        }
        let mean: Array1<f32> = sum.iter().map(|s| (s / n) as f32).collect();
        let std: Array1<f32> = sum
            .iter()
            .zip(&sum_sq)
            .map(|(s, q)| {
                let m = s / n;
                let var = (q / n - m * m).max(0.0);
                if var > 0.0 { var.sqrt() as f32 } else { 1.0 }
            })
            .collect();
        Normalizer { mean, std }
    }

    /// Applies `(x/255 − mean) / std` to every image.
    pub fn apply(&self, images: &LabeledImages) -> Dataset {
        let n = images.len();
        let mut x = Array2::<f32>::zeros((n, D));
        for (row, img) in x.outer_iter_mut().zip(images.pixels.chunks_exact(D)) {
            for (((v, &p), &m), &s) in row.into_iter().zip(img).zip(&self.mean).zip(&self.std) {
                *v = (p as f32 / 255.0 - m) / s;
            }
        }
        Dataset {
            x,
            labels: images.labels.clone(),
        }
    }
}

/// A pre-processed data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Normalised images, `n × d` row-major: image `i` is row `i`, contiguous.
    /// The same memory is the report's `X: d×n` in column-major order, see [`Dataset::x`].
    pub x: Array2<f32>,
    /// Labels in `0..K`, `n`.
    pub labels: Vec<u8>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The images as one row-major `n×d` slice, image `i` at `i·d .. (i+1)·d`
    /// (borrowed, unless `x` was built with another layout).
    pub fn rows(&self) -> std::borrow::Cow<'_, [f32]> {
        match self.x.as_slice() {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(self.x.iter().copied().collect()),
        }
    }

    /// The report's `X: d×n`, one column per image (a column-major view).
    pub fn x(&self) -> ArrayView2<'_, f32> {
        self.x.t()
    }
}
