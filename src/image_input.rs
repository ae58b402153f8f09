//! A user's image as a CIFAR-10 record: PNG or JPEG of any size, alpha dropped,
//! grey turned into RGB, resized to 32×32 and laid out channel-major.
//!
//! Resizing stretches the image to 32×32 (the aspect ratio is not kept) with
//! [`RESIZE_FILTER`]: a triangle (linear) filter whose support widens with the
//! shrink factor, so every source pixel contributes (an area average when
//! shrinking). An image that is already 32×32 is not resampled.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;

use crate::D;

/// The resampling filter used to bring an image to 32×32.
pub const RESIZE_FILTER: FilterType = FilterType::Triangle;
/// Side of a CIFAR-10 image.
pub const SIDE: u32 = 32;
/// Largest width or height accepted, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// Most pixels accepted (width × height): 64 megapixels, whose RGB copy and
/// resize buffers stay under 1 GB.
pub const MAX_PIXELS: u64 = 64 << 20;
/// Most bytes the decoder may allocate.
pub const MAX_DECODE_BYTES: u64 = 1 << 30;

/// Why an image could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ImageInputError {
    /// The file could not be read.
    #[error("cannot read image {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a PNG or JPEG file, or a damaged one.
    #[error("{path} is not a readable PNG or JPEG image: {reason}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        reason: String,
    },
    /// An image larger than onelayer reads, found from its header before decoding.
    #[error(
        "{path}: the image is {found}, larger than the {MAX_SIDE}×{MAX_SIDE} \
         and {MAX_PIXELS} pixels accepted"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What was found: `width×height`, or the decoder's refusal.
        found: String,
    },
    /// An image with no pixels.
    #[error("{path}: the image is {width}×{height}, expected at least 1×1")]
    Empty {
        /// The file.
        path: PathBuf,
        /// Width found.
        width: u32,
        /// Height found.
        height: u32,
    },
}

/// Reads the image at `path` and returns its 3072 bytes in the CIFAR layout.
pub fn load(path: &Path) -> Result<Vec<u8>, ImageInputError> {
    let bytes =
        crate::input::read(path, crate::input::limit::IMAGE, "an image").map_err(|source| {
            ImageInputError::Io {
                path: path.to_path_buf(),
                source,
            }
        })?;
    let decode_error = |e: image::ImageError| ImageInputError::Decode {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let format = image::guess_format(&bytes).map_err(decode_error)?;
    if !matches!(format, image::ImageFormat::Png | image::ImageFormat::Jpeg) {
        return Err(ImageInputError::Decode {
            path: path.to_path_buf(),
            reason: format!("{format:?} images are not supported"),
        });
    }
    // The dimensions come from the header, checked before any pixel is decoded
    // (reading the header allocates nothing that depends on them).
    let too_large = |found: String| ImageInputError::TooLarge {
        path: path.to_path_buf(),
        found,
    };
    let mut header = image::ImageReader::with_format(std::io::Cursor::new(&bytes), format);
    header.no_limits();
    let (width, height) = header.into_dimensions().map_err(|e| match e {
        image::ImageError::Limits(l) => too_large(format!("refused by the decoder ({l})")),
        e => decode_error(e),
    })?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(too_large(format!("{width}×{height}")));
    }
    let img = reader(&bytes, format).decode().map_err(|e| match e {
        image::ImageError::Limits(l) => too_large(format!("refused by the decoder ({l})")),
        e => decode_error(e),
    })?;
    if img.width() == 0 || img.height() == 0 {
        return Err(ImageInputError::Empty {
            path: path.to_path_buf(),
            width: img.width(),
            height: img.height(),
        });
    }
    Ok(to_cifar(&img))
}

/// A decoder for `bytes` with onelayer's size limits.
fn reader(bytes: &[u8], format: image::ImageFormat) -> image::ImageReader<std::io::Cursor<&[u8]>> {
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    reader
}

/// `img` as 3072 bytes: RGB (alpha dropped, grey replicated), 32×32 via
/// [`RESIZE_FILTER`], then the red plane, the green plane and the blue plane,
/// each row-major.
pub fn to_cifar(img: &image::DynamicImage) -> Vec<u8> {
    let mut rgb = img.to_rgb8();
    if rgb.dimensions() != (SIDE, SIDE) {
        rgb = image::imageops::resize(&rgb, SIDE, SIDE, RESIZE_FILTER);
    }
    let plane = (SIDE * SIDE) as usize;
    let mut out = vec![0u8; D];
    for (i, px) in rgb.pixels().enumerate() {
        for (c, &v) in px.0.iter().enumerate() {
            out[c * plane + i] = v;
        }
    }
    out
}

/// The record `pixels` (3072 bytes, CIFAR layout) as a 32×32 RGB image: the
/// inverse of [`to_cifar`] on 32×32 RGB images.
pub fn from_cifar(pixels: &[u8]) -> image::RgbImage {
    let plane = (SIDE * SIDE) as usize;
    image::RgbImage::from_fn(SIDE, SIDE, |x, y| {
        let i = (y * SIDE + x) as usize;
        let at = |c: usize| pixels.get(c * plane + i).copied().unwrap_or(0);
        image::Rgb([at(0), at(1), at(2)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_channel_major_row_major() {
        // Pixel (x=3, y=1) is red 10, green 20, blue 30; everything else black.
        let mut img = image::RgbImage::new(32, 32);
        img.put_pixel(3, 1, image::Rgb([10, 20, 30]));
        let rec = to_cifar(&image::DynamicImage::ImageRgb8(img));
        let i = 32 + 3;
        assert_eq!((rec[i], rec[1024 + i], rec[2048 + i]), (10, 20, 30));
        assert_eq!(rec.iter().map(|&v| v as u32).sum::<u32>(), 60);
    }

    #[test]
    fn round_trip_through_an_image() {
        let rec: Vec<u8> = (0..D).map(|i| (i * 7 % 251) as u8).collect();
        let img = image::DynamicImage::ImageRgb8(from_cifar(&rec));
        assert_eq!(to_cifar(&img), rec);
    }

    #[test]
    fn grey_becomes_three_equal_planes_and_alpha_is_dropped() {
        let grey = image::GrayAlphaImage::from_pixel(64, 48, image::LumaA([77, 3]));
        let rec = to_cifar(&image::DynamicImage::ImageLumaA8(grey));
        assert!(
            rec.iter().all(|&v| v == 77),
            "a uniform image stays uniform"
        );
    }

    #[test]
    fn shrinking_averages_the_source_pixels() {
        // A 64×64 image of alternating black and white columns averages to grey.
        let img = image::RgbImage::from_fn(64, 64, |x, _| image::Rgb([255 * (x % 2) as u8; 3]));
        let rec = to_cifar(&image::DynamicImage::ImageRgb8(img));
        let interior: Vec<u8> = (1..31).map(|x| rec[5 * 32 + x]).collect();
        assert!(
            interior.iter().all(|&v| (120..=135).contains(&v)),
            "{interior:?}"
        );
    }
}
