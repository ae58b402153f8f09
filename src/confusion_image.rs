//! The confusion matrix as a PNG heat map, drawn with the `image` crate alone (no
//! font needed): cell `(t, p)` — row `t` the true class, column `p` the predicted
//! one — is shaded by `C[t][p] / Σ_p C[t][p]` (white 0 → dark blue 1) and shows its
//! count; rows and columns are numbered by class index along the top and left.
//! Digits are drawn from a built-in 3×5 pixel font.

use std::path::Path;

use image::{Rgb, RgbImage};

use crate::io::{self, OutputError};
use crate::metrics::Confusion;

/// Side of a cell, in pixels.
const CELL: u32 = 48;
/// Width of the margin holding the class indices.
const MARGIN: u32 = 28;
/// Size of one font pixel.
const SCALE: u32 = 2;

/// 3×5 glyphs of the digits 0–9, one row of 3 bits per entry, top row first.
const DIGITS: [[u8; 5]; 10] = [
    [0b111, 0b101, 0b101, 0b101, 0b111],
    [0b010, 0b110, 0b010, 0b010, 0b111],
    [0b111, 0b001, 0b111, 0b100, 0b111],
    [0b111, 0b001, 0b111, 0b001, 0b111],
    [0b101, 0b101, 0b111, 0b001, 0b001],
    [0b111, 0b100, 0b111, 0b001, 0b111],
    [0b111, 0b100, 0b111, 0b101, 0b111],
    [0b111, 0b001, 0b010, 0b010, 0b010],
    [0b111, 0b101, 0b111, 0b101, 0b111],
    [0b111, 0b101, 0b111, 0b001, 0b111],
];

/// Draws `c` as an RGB image of `(MARGIN + K·CELL)²` pixels.
pub fn render(c: &Confusion) -> RgbImage {
    let k = c.k() as u32;
    let side = MARGIN + k * CELL;
    let mut img = RgbImage::from_pixel(side, side, Rgb([255, 255, 255]));
    for i in 0..k {
        let centre = MARGIN + i * CELL + CELL / 2;
        draw_number(&mut img, i as u64, centre, MARGIN / 2, Rgb([0, 0, 0]));
        draw_number(&mut img, i as u64, MARGIN / 2, centre, Rgb([0, 0, 0]));
    }
    for t in 0..k {
        let row = c.row_sum(t as usize).max(1) as f64;
        for p in 0..k {
            let n = c.count(t as usize, p as usize);
            let f = n as f64 / row;
            let shade = |lo: f64| (255.0 - (255.0 - lo) * f).round() as u8;
            let fill = Rgb([shade(8.0), shade(48.0), shade(107.0)]);
            let (x0, y0) = (MARGIN + p * CELL, MARGIN + t * CELL);
            for y in y0..y0 + CELL - 1 {
                for x in x0..x0 + CELL - 1 {
                    img.put_pixel(x, y, fill);
                }
            }
            let ink = if f > 0.5 {
                Rgb([255, 255, 255])
            } else {
                Rgb([0, 0, 0])
            };
            draw_number(&mut img, n, x0 + CELL / 2, y0 + CELL / 2, ink);
        }
    }
    img
}

/// Draws the decimal digits of `n` centred on `(cx, cy)`.
fn draw_number(img: &mut RgbImage, n: u64, cx: u32, cy: u32, ink: Rgb<u8>) {
    let digits: Vec<usize> = n
        .to_string()
        .bytes()
        .map(|b| usize::from(b - b'0'))
        .collect();
    let advance = 4 * SCALE;
    let width = digits.len() as u32 * advance - SCALE;
    let x0 = cx.saturating_sub(width / 2);
    let y0 = cy.saturating_sub(5 * SCALE / 2);
    for (i, &d) in digits.iter().enumerate() {
        for (row, bits) in DIGITS[d].iter().enumerate() {
            for col in 0..3u32 {
                if bits & (0b100 >> col) == 0 {
                    continue;
                }
                let (px, py) = (
                    x0 + i as u32 * advance + col * SCALE,
                    y0 + row as u32 * SCALE,
                );
                for dy in 0..SCALE {
                    for dx in 0..SCALE {
                        if px + dx < img.width() && py + dy < img.height() {
                            img.put_pixel(px + dx, py + dy, ink);
                        }
                    }
                }
            }
        }
    }
}

/// Writes [`render`]`(c)` as a PNG to `path`, atomically.
pub fn write_png(c: &Confusion, path: &Path) -> Result<(), OutputError> {
    let img = render(c);
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| OutputError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
    io::write_bytes_atomic(path, &png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_shaded_by_row_fraction() {
        // Row 0: 3 of 3 on the diagonal; row 1: 1 of 4 on the diagonal.
        let c = Confusion::from_pairs(2, &[0, 0, 0, 1, 1, 1, 1], &[0, 0, 0, 0, 0, 0, 1]).unwrap();
        let img = render(&c);
        assert_eq!(img.dimensions(), (MARGIN + 2 * CELL, MARGIN + 2 * CELL));
        let corner = |t: u32, p: u32| *img.get_pixel(MARGIN + p * CELL + 2, MARGIN + t * CELL + 2);
        assert_eq!(corner(0, 0), Rgb([8, 48, 107]), "fraction 1");
        assert_eq!(corner(0, 1), Rgb([255, 255, 255]), "fraction 0");
        // 1/4 of the way from white to dark blue.
        assert_eq!(corner(1, 1), Rgb([193, 203, 218]));
    }

    #[test]
    fn digits_are_drawn_in_the_cell() {
        let c = Confusion::from_pairs(1 + 1, &[1], &[1]).unwrap();
        let img = render(&c);
        // The "1" of cell (1, 1): its glyph's middle column is ink (white on dark).
        let (cx, cy) = (MARGIN + CELL + CELL / 2, MARGIN + CELL + CELL / 2);
        let ink = (cy - 5..cy + 5)
            .filter(|&y| *img.get_pixel(cx - 1, y) == Rgb([255, 255, 255]))
            .count();
        assert!(ink >= 6, "{ink} ink pixels");
    }
}
