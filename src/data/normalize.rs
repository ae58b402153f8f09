//! Pre-processing, the last step of preparing the data ([`super::prepare()`]): each
//! dimension is centred and scaled by the mean and the population standard
//! deviation of the training data (as numpy's `np.std`).

use ndarray::{Array1, Array2, ArrayView2};

use crate::D;
use crate::data::LabeledImages;

/// The pre-processing in words, as the results record it.
pub const PREPROCESSING: &str = "x/255, then per dimension minus the training mean and divided by \
     the training (population) standard deviation";

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

/// The sums `Σx` and `Σx²` per dimension of `pixels` (`n × d` bytes), exact: blocks
/// of `block` images summed in u32 (at most 2¹⁶ images, as 255² · 2¹⁶ < 2³²), so
/// that the inner loop vectorises, then added into u64.
fn byte_sums(pixels: &[u8], d: usize, block: usize) -> (Vec<u64>, Vec<u64>) {
    debug_assert!(block <= 1 << 16);
    let (mut sum, mut sum_sq) = (vec![0u64; d], vec![0u64; d]);
    let (mut s32, mut q32) = (vec![0u32; d], vec![0u32; d]);
    for part in pixels.chunks(d * block) {
        s32.fill(0);
        q32.fill(0);
        for img in part.chunks_exact(d) {
            for ((s, q), &p) in s32.iter_mut().zip(q32.iter_mut()).zip(img) {
                let p = u32::from(p);
                *s += p;
                *q += p * p;
            }
        }
        for (t, &v) in sum.iter_mut().zip(&s32).chain(sum_sq.iter_mut().zip(&q32)) {
            *t += u64::from(v);
        }
    }
    (sum, sum_sq)
}

impl Normalizer {
    /// Fits mean and std to `images` from the sums of the bytes and of their squares
    /// per dimension, exact in integers: `mean = Σx / (255 n)` and
    /// `std² = (n Σx² − (Σx)²) / (255 n)²`, whose numerator is exact too, so that a
    /// constant dimension has a variance of exactly 0 (and gets std 1).
    pub fn fit(images: &LabeledImages) -> Normalizer {
        // The images summed: with `n` of them, n Σx² ≥ (Σx)² (Cauchy–Schwarz).
        let n = (images.pixels.len() / D).max(1) as u128;
        let (sum, sum_sq) = byte_sums(&images.pixels, D, 1 << 16);
        let scale = 255.0 * n as f64;
        let mean: Array1<f32> = sum.iter().map(|&s| (s as f64 / scale) as f32).collect();
        let std: Array1<f32> = sum
            .iter()
            .zip(&sum_sq)
            .map(|(&s, &q)| {
                let spread = n * u128::from(q) - u128::from(s) * u128::from(s);
                match spread {
                    0 => 1.0,
                    _ => ((spread as f64).sqrt() / scale) as f32,
                }
            })
            .collect();
        Normalizer { mean, std }
    }

    /// Fits mean and std to the float features `x: n×d` (one example per row) as
    /// they are, without the images' `/255`: two passes in f64, so that features
    /// with a large offset keep their variance. A constant feature gets std 1.
    pub fn fit_features(x: ArrayView2<f32>) -> Normalizer {
        let n = x.nrows().max(1) as f64;
        let mut sum = vec![0f64; x.ncols()];
        for row in x.rows() {
            for (s, &v) in sum.iter_mut().zip(row) {
                *s += f64::from(v);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let mut sq = vec![0f64; x.ncols()];
        for row in x.rows() {
            for ((q, &v), &m) in sq.iter_mut().zip(row).zip(&mean) {
                *q += (f64::from(v) - m).powi(2);
            }
        }
        Normalizer {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std: (sq.iter())
                .map(|&q| match (q / n).sqrt() as f32 {
                    s if s > 0.0 => s,
                    _ => 1.0,
                })
                .collect(),
        }
    }

    /// Standardises the features `x: n×d` in place: `x̂ = (x − mean) / std`.
    pub fn standardize(&self, x: &mut Array2<f32>) {
        for mut row in x.rows_mut() {
            for ((v, &m), &s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *v = (*v - m) / s;
            }
        }
    }

    /// The normalised images `(x/255 − mean) / std` of `pixels` (`n × d` bytes, row-major)
    /// as the report's `X: d×n`, in f32: the plain path, for a few images.
    pub fn normalize(&self, pixels: &[u8]) -> Array2<f32> {
        let d = self.mean.len().max(1);
        Array2::from_shape_fn((self.mean.len(), pixels.len() / d), |(j, i)| {
            (f32::from(pixels[i * d + j]) / 255.0 - self.mean[j]) / self.std[j]
        })
    }

    /// Pairs `images` with this normalisation. The pixels stay bytes (4× less
    /// memory and memory traffic than f32); the kernels apply
    /// `x̂ = (x/255 − mean) / std` as they read them.
    pub fn apply(&self, images: LabeledImages) -> Dataset {
        Dataset {
            pixels: images.pixels,
            labels: images.labels,
            normalizer: self.clone(),
        }
    }

    /// The same map as an affine one on the raw bytes.
    pub fn affine(&self) -> Affine {
        Affine {
            a: self.std.iter().map(|&s| 1.0 / (255.0 * s)).collect(),
            beta: self
                .mean
                .iter()
                .zip(&self.std)
                .map(|(&m, &s)| m / s)
                .collect(),
        }
    }
}

/// The normalisation as an affine map on the raw bytes: `x̂_j = a_j x_j − β_j`, with
/// `a_j = 1 / (255 std_j)` and `β_j = mean_j / std_j`.
#[derive(Debug, Clone, PartialEq)]
pub struct Affine {
    /// `a`, `d`.
    pub a: Vec<f32>,
    /// `β`, `d`.
    pub beta: Vec<f32>,
}

/// A data set and its pre-processing.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Raw pixels, `n × d` row-major (image `i` at `i·d .. (i+1)·d`), as read.
    pub pixels: Vec<u8>,
    /// Labels in `0..K`, `n`.
    pub labels: Vec<u8>,
    /// The normalisation fitted on the training data.
    pub normalizer: Normalizer,
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

    /// The normalised images `range` as the report's `X: d×k` (one column per
    /// image), in f64: `(x/255 − mean) / std`. Allocates `8·d·k` bytes.
    pub fn columns_f64(&self, range: std::ops::Range<usize>) -> Array2<f64> {
        let d = self.normalizer.mean.len();
        let range = range.start.min(self.len())..range.end.min(self.len());
        let mut x = Array2::<f64>::zeros((d, range.len()));
        for (mut col, i) in x.columns_mut().into_iter().zip(range) {
            let img = &self.pixels[i * d..(i + 1) * d];
            for (((v, &p), &m), &s) in col
                .iter_mut()
                .zip(img)
                .zip(&self.normalizer.mean)
                .zip(&self.normalizer.std)
            {
                *v = (f64::from(p) / 255.0 - f64::from(m)) / f64::from(s);
            }
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn images(n: usize, seed: u64) -> LabeledImages {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
        let mut pixels: Vec<u8> = (0..n * D).map(|_| rng.random::<u8>()).collect();
        for img in pixels.chunks_exact_mut(D) {
            img[0] = 77; // a constant dimension
            img[1] = 255; // another, at the top of the range
            img[2] = rng.random_range(250..=255); // little spread, a large mean
        }
        LabeledImages {
            pixels,
            labels: vec![0; n],
        }
    }

    #[test]
    fn byte_sums_add_their_blocks_exactly() {
        let data = images(11, 1);
        for block in [1, 3, 11, 1 << 16] {
            let (sum, sum_sq) = byte_sums(&data.pixels, D, block);
            for j in [0, 1, 2, 5, D - 1] {
                let column = data.pixels.iter().skip(j).step_by(D).map(|&p| u64::from(p));
                assert_eq!(
                    sum[j],
                    column.clone().sum::<u64>(),
                    "block {block}, dim {j}"
                );
                assert_eq!(
                    sum_sq[j],
                    column.map(|p| p * p).sum::<u64>(),
                    "block {block}"
                );
            }
        }
    }

    #[test]
    fn byte_sums_hold_the_largest_block() {
        let n = (1 << 16) + 1;
        let (sum, sum_sq) = byte_sums(&vec![255; n], 1, 1 << 16);
        assert_eq!(
            (sum, sum_sq),
            (vec![255 * n as u64], vec![255 * 255 * n as u64])
        );
    }

    #[test]
    fn fit_counts_the_images_it_sums() {
        // More images than labels: the sums are over the pixels, and so is `n`.
        let mut data = images(3, 4);
        data.labels.truncate(1);
        let fit = Normalizer::fit(&data);
        assert!(
            fit.std
                .iter()
                .all(|s| s.is_finite() && *s > 0.0 && *s <= 1.0)
        );
        assert_eq!(fit.mean[0], 77.0 / 255.0);
    }

    #[test]
    fn fit_is_the_population_mean_and_std_of_x_over_255() {
        let data = images(200, 2);
        let fit = Normalizer::fit(&data);
        // The constant dimensions 0 and 1 are checked exactly below: in floating
        // point, the two passes leave them a variance of rounding errors.
        for j in 2..D {
            let x: Vec<f64> = (data.pixels.iter().skip(j).step_by(D))
                .map(|&p| f64::from(p) / 255.0)
                .collect();
            let mean = x.iter().sum::<f64>() / x.len() as f64;
            let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
            assert!(
                (f64::from(fit.mean[j]) - mean).abs() <= 1e-7 * mean,
                "mean {j}"
            );
            assert!(
                (f64::from(fit.std[j]) - var.sqrt()).abs() <= 1e-6 * var.sqrt(),
                "std {j}"
            );
        }
        assert_eq!((fit.mean[0], fit.std[0]), (77.0 / 255.0, 1.0));
        assert_eq!((fit.mean[1], fit.std[1]), (1.0, 1.0));
        let empty = LabeledImages {
            pixels: Vec::new(),
            labels: Vec::new(),
        };
        let none = Normalizer::fit(&empty);
        assert!(none.mean.iter().all(|&m| m == 0.0) && none.std.iter().all(|&s| s == 1.0));
    }
}
