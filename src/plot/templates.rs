//! Class templates: each row of `W: K×3072` shown as a 32×32 colour image.
//!
//! Row `k` holds, at index `c·1024 + 32·row + col`, the weight of channel `c`
//! (red, green, blue) of pixel `(row, col)`, the layout of a CIFAR-10 record.

use image::{Rgb, RgbImage};
use ndarray::{ArrayView1, ArrayView2};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FONT, PlotError, encode_png, msg, register_font};

/// Side of a CIFAR-10 image.
pub const SIDE: u32 = 32;
/// The nearest-neighbour upscaling factor of the figures.
pub const SCALE: u32 = 4;

/// Row `w` of W as a 32×32 RGB image, min–max scaled on its own:
/// `pixel = round(255 · (w − min w) / (max w − min w))`, mid-grey if `w` is constant.
pub fn template(w: ArrayView1<f32>) -> RgbImage {
    let lo = w.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = w.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let scale = if hi > lo { 1.0 / (hi - lo) } else { 0.0 };
    let area = (SIDE * SIDE) as usize;
    let value = |c: usize, row: u32, col: u32| -> u8 {
        let i = c * area + (SIDE * row + col) as usize;
        let v = w.get(i).copied().unwrap_or(lo);
        let t = if scale > 0.0 { (v - lo) * scale } else { 0.5 };
        (255.0 * t).round().clamp(0.0, 255.0) as u8
    };
    RgbImage::from_fn(SIDE, SIDE, |col, row| {
        Rgb([value(0, row, col), value(1, row, col), value(2, row, col)])
    })
}

/// `img` enlarged `factor` times by nearest neighbour: each pixel becomes a
/// `factor×factor` block.
pub fn upscale(img: &RgbImage, factor: u32) -> RgbImage {
    let f = factor.max(1);
    RgbImage::from_fn(img.width() * f, img.height() * f, |x, y| {
        *img.get_pixel(x / f, y / f)
    })
}

/// A white RGB canvas on which images are copied and text is drawn.
struct Canvas {
    w: u32,
    h: u32,
    rgb: Vec<u8>,
    texts: Vec<(String, (i32, i32), u32, HPos)>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Canvas {
        Canvas {
            w,
            h,
            rgb: vec![255; w as usize * h as usize * 3],
            texts: Vec::new(),
        }
    }

    /// Copies `img` with its top-left corner at `(x, y)`, clipped to the canvas.
    fn blit(&mut self, img: &RgbImage, x: u32, y: u32) {
        for (px, py, p) in img.enumerate_pixels() {
            let (cx, cy) = (x + px, y + py);
            if cx < self.w && cy < self.h {
                let i = 3 * (cy as usize * self.w as usize + cx as usize);
                self.rgb[i..i + 3].copy_from_slice(&p.0);
            }
        }
    }

    /// Queues `text` of `size` px, its top anchored at `(x, y)`.
    fn text(&mut self, text: &str, x: u32, y: u32, size: u32, h: HPos) {
        self.texts
            .push((text.to_string(), (x as i32, y as i32), size, h));
    }

    fn png(mut self, figure: &str) -> Result<Vec<u8>, PlotError> {
        register_font()?;
        let (w, h) = (self.w, self.h);
        {
            let area = BitMapBackend::with_buffer(&mut self.rgb, (w, h)).into_drawing_area();
            let draw = || -> Result<(), String> {
                for (t, pos, size, hpos) in &self.texts {
                    let style = TextStyle::from((FONT, *size).into_font())
                        .color(&BLACK)
                        .pos(Pos::new(*hpos, VPos::Top));
                    area.draw(&Text::new(t.as_str(), *pos, style))
                        .map_err(msg)?;
                }
                area.present().map_err(msg)
            };
            draw().map_err(|message| PlotError::Draw {
                figure: figure.to_string(),
                message,
            })?;
        }
        encode_png(&self.rgb, w, h, figure)
    }
}

const GAP: u32 = 12;
const LABEL: u32 = 22;
const TITLE: u32 = 40;

/// The templates of one run, `W: K×3072`, upscaled ×[`SCALE`] in a grid of
/// `columns` columns, each labelled with its class name, under `title`: PNG bytes.
pub fn grid_png(
    w: ArrayView2<f32>,
    class_names: &[String],
    columns: usize,
    title: &str,
) -> Result<Vec<u8>, PlotError> {
    let cell = SIDE * SCALE;
    let cols = columns.clamp(1, w.nrows().max(1)) as u32;
    let rows = (w.nrows() as u32).div_ceil(cols);
    let width = GAP + cols * (cell + GAP);
    let height = TITLE + rows * (cell + LABEL + GAP);
    let mut c = Canvas::new(width, height);
    c.text(title, width / 2, 10, 20, HPos::Center);
    for (k, row) in w.rows().into_iter().enumerate() {
        let (gx, gy) = (k as u32 % cols, k as u32 / cols);
        let x = GAP + gx * (cell + GAP);
        let y = TITLE + gy * (cell + LABEL + GAP);
        c.blit(&upscale(&template(row), SCALE), x, y);
        let name = class_names.get(k).map_or("?", String::as_str);
        c.text(name, x + cell / 2, y + cell + 4, 15, HPos::Center);
    }
    c.png(title)
}

/// Several runs' templates, one run per row (labelled on the left with
/// `labels`), one class per column (named on top): PNG bytes.
pub fn stacked_png(
    ws: &[ArrayView2<f32>],
    labels: &[String],
    class_names: &[String],
    title: &str,
) -> Result<Vec<u8>, PlotError> {
    let cell = SIDE * SCALE;
    // Wide enough for the longest label at about 10 px a character.
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as u32;
    let label_w = (10 * longest + 2 * GAP).max(180);
    let cols = ws.iter().map(|w| w.nrows()).max().unwrap_or(0) as u32;
    let width = label_w + cols * (cell + GAP) + GAP;
    let top = TITLE + LABEL;
    let height = top + ws.len() as u32 * (cell + GAP) + GAP;
    let mut c = Canvas::new(width, height);
    c.text(title, width / 2, 8, 22, HPos::Center);
    for k in 0..cols {
        let name = class_names.get(k as usize).map_or("?", String::as_str);
        let x = label_w + k * (cell + GAP) + cell / 2;
        c.text(name, x, TITLE, 17, HPos::Center);
    }
    for (r, w) in ws.iter().enumerate() {
        let y = top + r as u32 * (cell + GAP);
        let label = labels.get(r).map_or("", String::as_str);
        c.text(label, label_w - GAP, y + cell / 2 - 9, 18, HPos::Right);
        for (k, row) in w.rows().into_iter().enumerate() {
            let x = label_w + k as u32 * (cell + GAP);
            c.blit(&upscale(&template(row), SCALE), x, y);
        }
    }
    c.png(title)
}

#[cfg(test)]
mod tests;
