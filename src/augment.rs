//! Data augmentation on the fly: each image of a mini-batch is flipped left–right
//! with probability `p`, and optionally shifted by a few pixels.
//!
//! An image is channel-first, `3×32×32` flattened: pixel `(c, row, col)` sits at
//! `c·1024 + 32·row + col`. Flipping maps `col → 31 − col` inside every row of
//! every channel; a shift by `(dx, dy)` moves pixel `(row, col)` to
//! `(row + dy, col + dx)` and fills the uncovered border from a fill image.
//!
//! Augmentation acts on the raw bytes of a gathered mini-batch, before the
//! normalisation (which the kernels fold into their products), so a flip is
//! exact: the flipped image is normalised like any other. The training loop fills
//! the border with the training mean image rounded to the nearest byte; the mean
//! is 0 after normalisation, so this is the normalised-space fill with 0 up to
//! that rounding (at most half a grey level, `0.5 / (255 std)` normalised).

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// An invalid augmentation setting, named by its field (`run[0].flip`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct AugmentError {
    /// The setting, as written in the file or flag.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Side of an image.
pub const SIDE: usize = 32;
/// Pixels of one channel.
pub const PLANE: usize = SIDE * SIDE;

/// Index of the pixel that `i` comes from (and goes to) in the left–right flip.
pub fn flip_index(i: usize) -> usize {
    let (plane, within) = (i / PLANE * PLANE, i % PLANE);
    let (row, col) = (within / SIDE, within % SIDE);
    plane + SIDE * row + (SIDE - 1 - col)
}

/// Flips a `3·32·32` image left–right in place.
pub fn flip_in_place<T>(img: &mut [T]) {
    for row in img.chunks_exact_mut(SIDE) {
        row.reverse();
    }
}

/// Writes `src` shifted by `dx` columns right and `dy` rows down into `dst`
/// (same length as `src` and `fill`, a whole number of `32×32` planes); uncovered
/// pixels take their value in `fill`.
pub fn shift_into(src: &[u8], dst: &mut [u8], fill: &[u8], dx: isize, dy: isize) {
    dst.copy_from_slice(fill);
    let s = SIDE as isize;
    for (sp, dp) in src.chunks_exact(PLANE).zip(dst.chunks_exact_mut(PLANE)) {
        for row in 0..s {
            let from = row - dy;
            if !(0..s).contains(&from) {
                continue;
            }
            let (c0, c1) = (dx.max(0), (s + dx).min(s));
            if c0 >= c1 {
                continue;
            }
            let d = (row * s) as usize;
            let f = (from * s) as usize;
            dp[d + c0 as usize..d + c1 as usize]
                .copy_from_slice(&sp[f + (c0 - dx) as usize..f + (c1 - dx) as usize]);
        }
    }
}

/// The augmentation of a run; both parts are off by default (the report's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Augment {
    /// Probability of flipping each image left–right, in `[0, 1]`.
    pub flip: f64,
    /// Largest shift in pixels along each axis (0: no shifts); each image is
    /// shifted by `(dx, dy)` drawn uniformly from `−t..=t`.
    pub translate: usize,
}

impl Augment {
    /// True when it leaves images unchanged.
    pub fn is_off(&self) -> bool {
        self.flip == 0.0 && self.translate == 0
    }

    /// Checks `flip ∈ [0, 1]` and `translate ≤ 8`; `prefix` names the run.
    pub fn check(&self, prefix: &str) -> Result<(), AugmentError> {
        if !(0.0..=1.0).contains(&self.flip) {
            return Err(AugmentError {
                field: format!("{prefix}flip"),
                reason: format!("must be a probability in [0, 1], got {}", self.flip),
            });
        }
        if self.translate > 8 {
            return Err(AugmentError {
                field: format!("{prefix}translate"),
                reason: format!("must be at most 8 pixels, got {}", self.translate),
            });
        }
        Ok(())
    }

    /// Augments one image of bytes in place, drawing from `rng`; `scratch` and the
    /// shifts' border `fill` have the image's length.
    pub fn apply<R: Rng>(&self, img: &mut [u8], scratch: &mut [u8], fill: &[u8], rng: &mut R) {
        if self.flip > 0.0 && rng.random_bool(self.flip) {
            flip_in_place(img);
        }
        if self.translate > 0 {
            let t = self.translate as i32;
            let dx = rng.random_range(-t..=t) as isize;
            let dy = rng.random_range(-t..=t) as isize;
            if dx != 0 || dy != 0 {
                shift_into(img, scratch, fill, dx, dy);
                img.copy_from_slice(scratch);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const D: usize = 3 * PLANE;

    /// An image with no left–right symmetry: pixel `i` is `37 i mod 256`.
    fn image() -> Vec<u8> {
        (0..D).map(|i| (i * 37 % 256) as u8).collect()
    }

    /// A border fill unlike the image: pixel `i` is `200 + i mod 7`.
    fn fill() -> Vec<u8> {
        (0..D).map(|i| 200 + (i % 7) as u8).collect()
    }

    #[test]
    fn flip_index_follows_the_channel_first_layout() {
        // (c, row, col) = (0, 0, 0) ↔ (0, 0, 31); (1, 2, 3) ↔ (1, 2, 28); (2, 31, 31) ↔ (2, 31, 0).
        assert_eq!(flip_index(0), 31);
        assert_eq!(flip_index(1024 + 64 + 3), 1024 + 64 + 28);
        assert_eq!(flip_index(2 * 1024 + 31 * 32 + 31), 2 * 1024 + 31 * 32);
        for i in 0..D {
            assert_eq!(flip_index(flip_index(i)), i);
            assert_eq!(flip_index(i) / 32, i / 32, "a flip stays in its row");
        }
    }

    #[test]
    fn flipping_twice_is_the_identity() {
        let mut img = image();
        flip_in_place(&mut img);
        assert_ne!(img, image());
        flip_in_place(&mut img);
        assert_eq!(img, image());
    }

    #[test]
    fn a_known_image_flips_as_expected() {
        // A red vertical bar in column 2 and a blue dot at (row 5, col 30)
        // become a red bar in column 29 and a blue dot at (5, 1); green is untouched.
        let mut img = vec![0u8; D];
        for row in 0..32 {
            img[32 * row + 2] = 255;
        }
        img[2 * PLANE + 32 * 5 + 30] = 200;
        img[PLANE + 32 * 7 + 16] = 100;
        flip_in_place(&mut img);
        let mut want = vec![0u8; D];
        for row in 0..32 {
            want[32 * row + 29] = 255;
        }
        want[2 * PLANE + 32 * 5 + 1] = 200;
        want[PLANE + 32 * 7 + 15] = 100;
        assert_eq!(img, want);
        // The same mapping as flip_index.
        let src = image();
        let mut f = src.clone();
        flip_in_place(&mut f);
        assert!((0..D).all(|i| f[i] == src[flip_index(i)]));
    }

    #[test]
    fn shifts_move_pixels_and_fill_the_border() {
        let (src, fill) = (image(), fill());
        let mut dst = vec![0u8; D];
        shift_into(&src, &mut dst, &fill, 2, -1);
        for c in 0..3 {
            for row in 0..32 {
                for col in 0..32 {
                    let (fr, fc) = (row as isize + 1, col as isize - 2);
                    let want = if (0..32).contains(&fr) && (0..32).contains(&fc) {
                        src[c * PLANE + 32 * fr as usize + fc as usize]
                    } else {
                        fill[c * PLANE + 32 * row + col]
                    };
                    assert_eq!(dst[c * PLANE + 32 * row + col], want, "{c} {row} {col}");
                }
            }
        }
        shift_into(&src, &mut dst, &fill, 0, 0);
        assert_eq!(dst, src);
        shift_into(&src, &mut dst, &fill, 40, 0);
        assert_eq!(dst, fill);
    }

    #[test]
    fn probability_one_always_flips_and_zero_never() {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(1);
        let mut scratch = vec![0u8; D];
        let fill = fill();
        let mut img = image();
        let always = Augment {
            flip: 1.0,
            translate: 0,
        };
        always.apply(&mut img, &mut scratch, &fill, &mut rng);
        let src = image();
        assert!((0..D).all(|i| img[i] == src[flip_index(i)]));
        let never = Augment::default();
        assert!(never.is_off());
        let mut img = image();
        never.apply(&mut img, &mut scratch, &fill, &mut rng);
        assert_eq!(img, image());
        // About half the images flip with p = 0.5.
        let half = Augment {
            flip: 0.5,
            translate: 0,
        };
        let flips = (0..1000)
            .filter(|_| {
                let mut img = image();
                half.apply(&mut img, &mut scratch, &fill, &mut rng);
                img != image()
            })
            .count();
        assert!((430..570).contains(&flips), "{flips}");
        assert!(
            Augment {
                flip: 1.5,
                translate: 0
            }
            .check("--")
            .is_err()
        );
        assert!(
            Augment {
                flip: 0.5,
                translate: 9
            }
            .check("--")
            .is_err()
        );
    }
}
