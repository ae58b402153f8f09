//! Using a saved model: class probabilities of raw images and their top classes.
//!
//! For raw images `x` (3072 bytes each, CIFAR layout) and a [`ModelFile`]:
//! `Z = (X/255 − mean) / std` (`d×n`), `P = softmax(W Z + b 1ᵀ)` (`K×n`).

use ndarray::{Array2, s};

use crate::model::{self, argmax};
use crate::modelfile::ModelFile;

/// Images normalised and scored at a time: bounds the f64 copy of the inputs
/// (`3072 × CHUNK` values) to 24 MB.
const CHUNK: usize = 1000;

/// Class probabilities `P: K×n` of the raw images `pixels` (`n × 3072` bytes).
///
/// `Z` and `S = W Z + b 1ᵀ` are computed in f64, where they cannot overflow for
/// any finite f32 parameters (|z| < 10^84, |s| < 10^126), so every column of `P`
/// is a distribution even for extreme weights, which in f32 give infinite scores
/// and NaN probabilities.
pub fn probabilities(file: &ModelFile, pixels: &[u8]) -> Array2<f32> {
    let (mean, std) = (&file.normalizer.mean, &file.normalizer.std);
    let d = mean.len().max(1);
    let m = file.model.to_f64();
    let mut p = Array2::zeros((file.model.b.len(), pixels.len() / d));
    for (c, chunk) in pixels
        .chunks_exact(d)
        .collect::<Vec<_>>()
        .chunks(CHUNK)
        .enumerate()
    {
        // Z: d×m, one column per image of the chunk.
        let z = Array2::from_shape_fn((d, chunk.len()), |(j, i)| {
            (f64::from(chunk[i][j]) / 255.0 - f64::from(mean[j])) / f64::from(std[j])
        });
        let mut s = model::scores(m.w.view(), m.b.view(), z.view());
        model::softmax_columns(&mut s);
        let first = c * CHUNK;
        p.slice_mut(s![.., first..first + chunk.len()])
            .assign(&s.mapv(|v| v as f32));
    }
    p
}

/// The predicted class (first arg-max) of each image, `n`.
pub fn predict(file: &ModelFile, pixels: &[u8]) -> Vec<usize> {
    probabilities(file, pixels)
        .columns()
        .into_iter()
        .map(argmax)
        .collect()
}

/// One class and its probability.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ranked {
    /// Class index.
    pub class: usize,
    /// Class name.
    pub name: String,
    /// Probability.
    pub probability: f32,
}

/// The `n` most probable classes of one image's probabilities `p: K`, most
/// probable first (ties: lower class first).
pub fn top(p: &[f32], class_names: &[String], n: usize) -> Vec<Ranked> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
    order
        .into_iter()
        .take(n)
        .map(|class| Ranked {
            class,
            name: class_names.get(class).cloned().unwrap_or_default(),
            probability: p[class],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_orders_by_probability_then_class() {
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let t = top(&[0.1, 0.4, 0.1, 0.4], &names, 3);
        let classes: Vec<usize> = t.iter().map(|r| r.class).collect();
        assert_eq!(classes, [1, 3, 0]);
        assert_eq!(t[0].name, "b");
        assert_eq!(t[2].probability, 0.1);
    }
}
