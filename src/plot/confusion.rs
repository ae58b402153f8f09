//! The confusion matrix as a heat map: cell `(t, p)` — row `t` the true class,
//! column `p` the predicted one — is shaded by the share of its row,
//! `C[t][p] / Σ_p C[t][p]` (white 0 → dark blue 1), and shows its count; the rows
//! and columns are labelled with the class names.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{FONT, Figure, PlotError, msg};
use crate::metrics::Confusion;

/// Side of a cell, in pixels.
const CELL: u32 = 72;
/// Width of the row labels' column.
const LEFT: u32 = 120;
/// Height of the title and the column labels.
const TOP: u32 = 96;
/// The colour of a full row share.
const DARK: (u8, u8, u8) = (8, 48, 107);

/// The most classes drawn: a matrix of 40 classes is a 3 016-pixel square, 27 MB
/// as an RGB bitmap, and its cells still hold their counts legibly.
pub const MAX_CLASSES: usize = 40;

/// Fails, naming the count and the limit, when `k` classes are more than
/// [`MAX_CLASSES`].
pub fn check_classes(k: usize) -> Result<(), PlotError> {
    if k > MAX_CLASSES {
        return Err(PlotError::Draw {
            figure: "confusion matrix".into(),
            message: format!(
                "{k} classes are more than the {MAX_CLASSES} a confusion matrix image can show"
            ),
        });
    }
    Ok(())
}

/// A confusion matrix with its class names and title, ready to draw (at most
/// [`MAX_CLASSES`] classes: drawing more fails, without allocating their bitmap).
pub struct ConfusionFigure<'a> {
    /// The counts.
    pub confusion: &'a Confusion,
    /// Class names, `K`.
    pub class_names: &'a [String],
    /// The title.
    pub title: String,
}

/// The fill of a cell holding share `f` of its row: linear from white to dark blue.
pub fn shade(f: f64) -> RGBColor {
    let c = |dark: u8| (255.0 - (255.0 - f64::from(dark)) * f.clamp(0.0, 1.0)).round() as u8;
    RGBColor(c(DARK.0), c(DARK.1), c(DARK.2))
}

/// The top-left corner of cell `(t, p)`, in pixels.
pub fn cell_origin(t: usize, p: usize) -> (i32, i32) {
    (
        (LEFT + p as u32 * CELL) as i32,
        (TOP + t as u32 * CELL) as i32,
    )
}

impl Figure for ConfusionFigure<'_> {
    fn name(&self) -> String {
        "confusion matrix".to_string()
    }

    fn size(&self) -> (u32, u32) {
        // Bounded: `draw` refuses more classes.
        let k = self.confusion.k().min(MAX_CLASSES) as u32;
        (LEFT + k * CELL + 16, TOP + k * CELL + 16)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        check_classes(self.confusion.k()).map_err(|e| match e {
            PlotError::Draw { message, .. } => message,
            e => e.to_string(),
        })?;
        area.fill(&WHITE).map_err(msg)?;
        let text = |size: u32, h: HPos, color: &RGBColor| TextStyle {
            font: (FONT, size).into_font(),
            color: color.to_backend_color(),
            pos: Pos::new(h, VPos::Center),
        };
        let k = self.confusion.k();
        let width = (LEFT + k as u32 * CELL) as i32;
        let title = text(18, HPos::Center, &BLACK);
        area.draw_text(&self.title, &title, (width / 2 + 8, 18))
            .map_err(msg)?;
        let caption = text(14, HPos::Center, &BLACK);
        let predicted = "predicted class →";
        area.draw_text(predicted, &caption, ((LEFT as i32 + width) / 2, 46))
            .map_err(msg)?;
        area.draw_text("true class ↓", &text(14, HPos::Left, &BLACK), (8, 72))
            .map_err(msg)?;
        let label = text(13, HPos::Center, &BLACK);
        let row_label = text(13, HPos::Right, &BLACK);
        for i in 0..k {
            let name = self.class_names.get(i).map_or("?", String::as_str);
            let (x, y) = cell_origin(i, i);
            let half = CELL as i32 / 2;
            area.draw_text(name, &label, (x + half, TOP as i32 - 14))
                .map_err(msg)?;
            area.draw_text(name, &row_label, (LEFT as i32 - 8, y + half))
                .map_err(msg)?;
        }
        for t in 0..k {
            let row = self.confusion.row_sum(t).max(1) as f64;
            for p in 0..k {
                let n = self.confusion.count(t, p);
                let f = n as f64 / row;
                let (x, y) = cell_origin(t, p);
                let (x1, y1) = (x + CELL as i32 - 1, y + CELL as i32 - 1);
                area.draw(&Rectangle::new([(x, y), (x1, y1)], shade(f).filled()))
                    .map_err(msg)?;
                let ink = if f > 0.5 { WHITE } else { BLACK };
                let half = CELL as i32 / 2;
                area.draw_text(
                    &n.to_string(),
                    &text(15, HPos::Center, &ink),
                    (x + half, y + half),
                )
                .map_err(msg)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_shaded_by_their_share_of_the_row() {
        // Row 0: 3 of 3 on the diagonal; row 1: 1 of 4 on the diagonal.
        let c = Confusion::from_pairs(2, &[0, 0, 0, 1, 1, 1, 1], &[0, 0, 0, 0, 0, 0, 1]).unwrap();
        let names = ["a".to_string(), "b".to_string()];
        let fig = ConfusionFigure {
            confusion: &c,
            class_names: &names,
            title: "t".into(),
        };
        let png = super::super::to_png(&fig).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), fig.size());
        let corner = |t, p| {
            let (x, y) = cell_origin(t, p);
            img.get_pixel(x as u32 + 2, y as u32 + 2).0
        };
        assert_eq!(corner(0, 0), [8, 48, 107], "share 1");
        assert_eq!(corner(0, 1), [255, 255, 255], "share 0");
        // A quarter of the way from white: 255 − (255 − dark) / 4.
        assert_eq!(corner(1, 1), [193, 203, 218]);
        // The count is written in the cell: its centre holds ink of the other colour.
        let (x, y) = cell_origin(0, 0);
        let inked = (0..CELL)
            .flat_map(|dx| (0..CELL).map(move |dy| (dx, dy)))
            .filter(|&(dx, dy)| img.get_pixel(x as u32 + dx, y as u32 + dy).0[0] > 128)
            .count();
        assert!(inked > 10, "{inked} light pixels for the count");
    }

    #[test]
    fn more_classes_than_drawn_fail_without_their_bitmap() {
        let k = 1000;
        let c = Confusion::from_pairs(k, &[0, 999], &[999, 0]).unwrap();
        let names: Vec<String> = (0..k).map(|i| format!("c{i}")).collect();
        let fig = ConfusionFigure {
            confusion: &c,
            class_names: &names,
            title: "t".into(),
        };
        let (w, h) = fig.size();
        assert!(w as usize * h as usize * 3 < 30_000_000, "{w}×{h}");
        for e in [
            super::super::to_png(&fig).unwrap_err(),
            super::super::to_svg(&fig).unwrap_err(),
            check_classes(k).unwrap_err(),
        ] {
            let e = e.to_string();
            assert!(e.contains("1000 classes") && e.contains("40"), "{e}");
        }
        check_classes(MAX_CLASSES).unwrap();
    }
}
