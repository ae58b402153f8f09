//! The bonus section's figures, rendered in memory as PNG bytes: the best run's
//! curves, its class templates, and the histograms of the true class's
//! probability, softmax against sigmoid. Text uses the bundled DejaVu Sans.

use std::sync::OnceLock;

use image::{ImageEncoder, Rgb, RgbImage};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::{BINS, TrueClassHistogram};
use crate::model::Model;
use crate::results::RunResult;

static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
const FONT: &str = "sans-serif";

/// An error while drawing a figure.
#[derive(Debug, thiserror::Error)]
pub enum FigureError {
    /// The bundled font could not be loaded.
    #[error("the bundled font could not be loaded")]
    Font,
    /// Drawing or encoding failed.
    #[error("cannot draw {figure}: {message}")]
    Draw {
        /// The figure.
        figure: String,
        /// What the library said.
        message: String,
    },
}

fn register_font() -> Result<(), FigureError> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok { Ok(()) } else { Err(FigureError::Font) }
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Draws with `draw` on a white `w×h` canvas and encodes it as PNG.
fn render(
    figure: &str,
    (w, h): (u32, u32),
    draw: impl FnOnce(&Area) -> Result<(), String>,
) -> Result<Vec<u8>, FigureError> {
    register_font()?;
    let err = |message: String| FigureError::Draw {
        figure: figure.into(),
        message,
    };
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        draw(&root).map_err(err)?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    encode(&buf, w, h).map_err(err)
}

fn encode(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(rgb, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

const GREEN: RGBColor = RGBColor(44, 160, 44);
const RED: RGBColor = RGBColor(214, 39, 40);
const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);

/// Two panels, softmax and sigmoid: the number of correctly (green) and wrongly
/// (red) classified test images against the probability of their true class.
pub fn histograms_png(h: &[TrueClassHistogram; 2]) -> Result<Vec<u8>, FigureError> {
    render("histograms", (1200, 450), |root| {
        let panels = root.split_evenly((1, 2));
        for (area, hist) in panels.iter().zip(h) {
            let top = hist
                .correct
                .iter()
                .chain(&hist.incorrect)
                .copied()
                .max()
                .unwrap_or(1);
            let mut chart = ChartBuilder::on(area)
                .caption(
                    format!("{} — probability of the true class", hist.loss),
                    (FONT, 20),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(0f64..1f64, 0f64..top as f64 * 1.05)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc("probability of the true class")
                .y_desc("test images")
                .label_style((FONT, 14))
                .draw()
                .map_err(|e| e.to_string())?;
            let width = 1.0 / BINS as f64;
            for (counts, color, label, offset) in [
                (&hist.correct, GREEN, "correct", 0.0),
                (&hist.incorrect, RED, "incorrect", 0.5),
            ] {
                chart
                    .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                        let x0 = i as f64 * width + offset * width;
                        Rectangle::new(
                            [(x0, 0.0), (x0 + width / 2.0, c as f64)],
                            color.mix(0.8).filled(),
                        )
                    }))
                    .map_err(|e| e.to_string())?
                    .label(label)
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                    });
            }
            chart
                .configure_series_labels()
                .label_font((FONT, 14))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperMiddle)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// Two panels: loss and accuracy per epoch, training and validation.
pub fn curves_png(r: &RunResult) -> Result<Vec<u8>, FigureError> {
    let h = &r.history;
    render("curves", (1200, 450), |root| {
        let panels = root.split_evenly((1, 2));
        let series = [
            ("loss", &h.train_loss, &h.val_loss),
            ("accuracy", &h.train_accuracy, &h.val_accuracy),
        ];
        for (area, (what, train, val)) in panels.iter().zip(series) {
            let all = train.iter().chain(val.iter()).copied();
            let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
            let pad = ((hi - lo) * 0.05).max(1e-3);
            let epochs = train.len().max(1) as f64;
            let mut chart = ChartBuilder::on(area)
                .caption(format!("{}: {what}", r.name), (FONT, 20))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(1f64..epochs, (lo - pad)..(hi + pad))
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc(what)
                .label_style((FONT, 14))
                .draw()
                .map_err(|e| e.to_string())?;
            for (values, color, label) in [(train, BLUE, "training"), (val, ORANGE, "validation")] {
                chart
                    .draw_series(LineSeries::new(
                        values.iter().enumerate().map(|(i, &v)| (i as f64 + 1.0, v)),
                        color.stroke_width(2),
                    ))
                    .map_err(|e| e.to_string())?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .label_font((FONT, 14))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// The rows of W as ten 32×32 colour images side by side, each min–max scaled
/// on its own and enlarged 4× (pixel `(c, row, col)` of class `k` is
/// `W[k, c·1024 + 32·row + col]`).
pub fn templates_png(m: &Model) -> Result<Vec<u8>, FigureError> {
    let (scale, gap) = (4u32, 8u32);
    let k = m.w.nrows() as u32;
    let side = 32 * scale;
    let mut img = RgbImage::from_pixel(k * (side + gap) - gap, side, Rgb([255, 255, 255]));
    for (ki, row) in m.w.rows().into_iter().enumerate() {
        let lo = row.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let span = if hi > lo { hi - lo } else { 1.0 };
        for y in 0..side {
            for x in 0..side {
                let at = |c: u32| {
                    let v = row[(c * 1024 + 32 * (y / scale) + x / scale) as usize];
                    (255.0 * (v - lo) / span).round().clamp(0.0, 255.0) as u8
                };
                img.put_pixel(ki as u32 * (side + gap) + x, y, Rgb([at(0), at(1), at(2)]));
            }
        }
    }
    encode(img.as_raw(), img.width(), img.height()).map_err(|message| FigureError::Draw {
        figure: "templates".into(),
        message,
    })
}
