//! Figures, drawn with plotters from the data that training returned: the curves
//! of a run ([`curves`]) and the class templates, the rows of W shown as images
//! ([`templates`]). Every figure is rendered in memory (PNG bytes, SVG text) so
//! that the caller writes it atomically.
//!
//! Text is drawn with DejaVu Sans, bundled in the binary and registered with
//! plotters' `ab_glyph` renderer: no system font or font library is needed.

use std::sync::OnceLock;

use image::ImageEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

pub mod confusion;
pub mod curves;
pub mod templates;

/// The bundled font (DejaVu Sans; licence in `assets/DejaVuSans-LICENSE.txt`).
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The font family every figure uses.
pub const FONT: &str = "sans-serif";

/// An error while drawing or encoding a figure.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The bundled font could not be loaded.
    #[error("the bundled font could not be loaded")]
    Font,
    /// Drawing failed.
    #[error("cannot draw {figure}: {message}")]
    Draw {
        /// The figure.
        figure: String,
        /// What the plotting library said.
        message: String,
    },
    /// PNG encoding failed.
    #[error("cannot encode {figure} as PNG: {message}")]
    Encode {
        /// The figure.
        figure: String,
        /// What the encoder said.
        message: String,
    },
}

/// Registers the bundled font with plotters, once per process.
pub fn register_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok()
    });
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    /// What the figure is called in errors.
    fn name(&self) -> String;
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the figure on `area`; errors are the plotting library's messages.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Turns a plotters error into its message.
pub(crate) fn msg<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Draws `fig` on `root` and flushes it to the backend.
fn render<DB: DrawingBackend>(
    fig: &impl Figure,
    root: DrawingArea<DB, Shift>,
) -> Result<(), PlotError> {
    fig.draw(&root)
        .and_then(|()| root.present().map_err(msg))
        .map_err(|message| PlotError::Draw {
            figure: fig.name(),
            message,
        })
}

/// Renders `fig` as PNG bytes.
pub fn to_png(fig: &impl Figure) -> Result<Vec<u8>, PlotError> {
    register_font()?;
    let (w, h) = fig.size();
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    render(
        fig,
        BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area(),
    )?;
    encode_png(&buf, w, h, &fig.name())
}

/// Renders `fig` as SVG text.
pub fn to_svg(fig: &impl Figure) -> Result<Vec<u8>, PlotError> {
    register_font()?;
    let mut out = String::new();
    render(
        fig,
        SVGBackend::with_string(&mut out, fig.size()).into_drawing_area(),
    )?;
    Ok(out.into_bytes())
}

/// Encodes an RGB buffer (`w·h·3` bytes, row-major) as PNG.
pub fn encode_png(rgb: &[u8], w: u32, h: u32, figure: &str) -> Result<Vec<u8>, PlotError> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(rgb, w, h, image::ExtendedColorType::Rgb8)
        .map_err(|e| PlotError::Encode {
            figure: figure.to_string(),
            message: e.to_string(),
        })?;
    Ok(out)
}

/// The colours of successive series (matplotlib's "tab10").
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// The colour of series `i`.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}
