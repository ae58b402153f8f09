//! Drawing a [`Curves`] figure: each panel's axes, lines, divergence markers
//! and legend.

use plotters::coord::Shift;
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::prelude::*;

use super::{Curves, Panel, legend_place, x_max};
use crate::plot::{FONT, Figure, msg};

/// A panel's chart: epochs (from 1) across, values up.
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordi32, RangedCoordf64>>;

/// The decimals of the y ticks of an axis spanning `span`.
fn decimals(span: f64) -> usize {
    match span {
        s if s >= 20.0 => 0,
        s if s >= 2.0 => 1,
        s if s >= 0.2 => 2,
        _ => 3,
    }
}

/// A y tick's text: `d` decimals, or 3 significant digits in exponent form for
/// magnitudes of a million and more.
fn tick_label(v: f64, d: usize) -> String {
    if v.abs() >= 1e6 {
        format!("{v:.2e}")
    } else {
        format!("{v:.d$}")
    }
}

/// Draws panel `p` on `area`: its axes and grid, its lines, a marker where a
/// run diverged, a note when no epoch finished, and the legend.
fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> Result<(), String> {
    let (legend, (y0, y1)) = legend_place(p);
    let x1 = x_max(p);
    let d = decimals(y1 - y0);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, 21))
        .margin(14)
        .x_label_area_size(50)
        .y_label_area_size(78)
        .build_cartesian_2d(1..x1, y0..y1)
        .map_err(msg)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(&p.y_label)
        .label_style((FONT, 16))
        .axis_desc_style((FONT, 17))
        .light_line_style(RGBColor(240, 240, 240))
        .bold_line_style(RGBColor(215, 215, 215))
        .y_label_formatter(&|v| tick_label(*v, d))
        .draw()
        .map_err(msg)?;
    draw_lines(&mut chart, p)?;
    mark_divergence(&mut chart, p, (y0, y1))?;
    if p.series.iter().all(|s| s.points.is_empty()) {
        let centre = (1 + x1) / 2;
        chart
            .draw_series([Text::new(
                "no epoch finished",
                (centre, 0.5 * (y0 + y1)),
                (FONT, 16),
            )])
            .map_err(msg)?;
    }
    chart
        .configure_series_labels()
        .position(legend)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .draw()
        .map_err(msg)?;
    Ok(())
}

/// Every series of `p` as a line in its colour, with a dot at each point when
/// there are at most 60, and its legend entry.
fn draw_lines<DB: DrawingBackend>(chart: &mut Chart<'_, DB>, p: &Panel) -> Result<(), String> {
    for s in &p.series {
        let c = s.color;
        let dots = if s.points.len() <= 60 { 3 } else { 0 };
        chart
            .draw_series(
                LineSeries::new(s.points.iter().copied(), c.stroke_width(2)).point_size(dots),
            )
            .map_err(msg)?
            .label(&s.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(2)));
    }
    Ok(())
}

/// A dashed vertical line from `y0` to `y1` at each epoch in which a run of `p`
/// diverged (once per epoch), with its legend entry.
fn mark_divergence<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    p: &Panel,
    (y0, y1): (f64, f64),
) -> Result<(), String> {
    let mut marked = Vec::new();
    for s in &p.series {
        let Some(e) = s.diverged_at else { continue };
        if marked.contains(&e) {
            continue;
        }
        marked.push(e);
        let style = BLACK.stroke_width(2);
        let line = [(e as i32, y0), (e as i32, y1)];
        chart
            .draw_series(DashedLineSeries::new(line, 8, 6, style))
            .map_err(msg)?
            .label(format!("diverged in epoch {e}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], style));
    }
    Ok(())
}

impl Figure for Curves {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn size(&self) -> (u32, u32) {
        let n = self.panels.len().max(1) as u32;
        let title = if self.title.is_some() { 40 } else { 0 };
        (if n == 1 { 820 } else { 640 * n }, 500 + title)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        area.fill(&WHITE).map_err(msg)?;
        let area = match &self.title {
            Some(t) => area.titled(t, (FONT, 22)).map_err(msg)?,
            None => area.clone(),
        };
        let cells = area.split_evenly((1, self.panels.len().max(1)));
        for (cell, p) in cells.iter().zip(&self.panels) {
            draw_panel(cell, p)?;
        }
        Ok(())
    }
}
