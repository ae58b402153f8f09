//! The bonus section's figures, rendered in memory as PNG bytes with
//! [`crate::plot`]: the best run's curves and class templates, and the
//! histograms of the true class's probability, softmax against sigmoid.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{BINS, TrueClassHistogram};
use crate::model::Model;
use crate::plot::curves::{self, Curves, Quantity};
use crate::plot::{FONT, Figure, PlotError, to_png};
use crate::results::RunResult;

const GREEN: RGBColor = RGBColor(44, 160, 44);
const RED: RGBColor = RGBColor(214, 39, 40);

/// The histograms figure.
struct Histograms<'a>(&'a [TrueClassHistogram; 2]);

impl Figure for Histograms<'_> {
    fn name(&self) -> String {
        "bonus_histograms".into()
    }

    fn size(&self) -> (u32, u32) {
        (1200, 450)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let panels = root.split_evenly((1, 2));
        for (area, hist) in panels.iter().zip(self.0) {
            draw_histogram(area, hist)?;
        }
        Ok(())
    }
}

/// Two panels, softmax and sigmoid: the number of correctly (green) and wrongly
/// (red) classified test images against the probability of their true class.
pub fn histograms_png(h: &[TrueClassHistogram; 2]) -> Result<Vec<u8>, PlotError> {
    to_png(&Histograms(h))
}

/// One panel of [`histograms_png`].
fn draw_histogram<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    hist: &TrueClassHistogram,
) -> Result<(), String> {
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
        .y_label_formatter(&|v| format!("{v:.0}"))
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
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperMiddle)
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Two panels: the best run's loss and accuracy per epoch, training and validation.
pub fn curves_png(r: &RunResult) -> Result<Vec<u8>, PlotError> {
    let panels = [Quantity::Loss, Quantity::Accuracy]
        .into_iter()
        .flat_map(|q| curves::run_figure(r, q).panels)
        .collect();
    to_png(&Curves {
        name: "bonus_curves".into(),
        title: None,
        panels,
    })
}

/// The rows of W as 32×32 colour images, five to a row, labelled with the
/// class names (see [`crate::plot::templates`]).
pub fn templates_png(m: &Model, class_names: &[String]) -> Result<Vec<u8>, PlotError> {
    crate::plot::templates::grid_png(
        m.w.view(),
        class_names,
        5,
        "Class templates of the best run",
    )
}
