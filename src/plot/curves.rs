//! Curves over the epochs: a run's training against validation loss, cost and
//! accuracy, and the validation loss of several runs together.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FONT, Figure, color, msg};
use crate::observations::{CostTrend, run_label};
use crate::results::{History, RunResult};

/// One line: a label, a colour and `(epoch, value)` points.
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend's text.
    pub label: String,
    /// The line's colour.
    pub color: RGBColor,
    /// `(epoch from 1, value)`.
    pub points: Vec<(i32, f64)>,
    /// Where the run diverged (epoch from 1), marked by a dashed line.
    pub diverged_at: Option<usize>,
}

/// One chart: series over epochs `1..=n_epochs`.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The chart's caption.
    pub title: String,
    /// The y axis's label.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Series>,
    /// The last epoch on the x axis.
    pub n_epochs: usize,
    /// Values are percentages: the y axis stays within 0–100.
    pub percent: bool,
}

/// A figure of one or more panels side by side.
#[derive(Debug, Clone)]
pub struct Curves {
    /// Name in errors (e.g. the file name).
    pub name: String,
    /// A title above all panels (a single panel is titled by its caption).
    pub title: Option<String>,
    /// The panels, left to right.
    pub panels: Vec<Panel>,
}

/// Which quantity a run figure shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// Mean cross-entropy.
    Loss,
    /// Loss plus λ‖W‖².
    Cost,
    /// Accuracy.
    Accuracy,
}

impl Quantity {
    /// All three, in the order the report shows them.
    pub const ALL: [Quantity; 3] = [Quantity::Loss, Quantity::Cost, Quantity::Accuracy];

    /// The file stem: `loss`, `cost`, `accuracy`.
    pub fn stem(self) -> &'static str {
        match self {
            Quantity::Loss => "loss",
            Quantity::Cost => "cost",
            Quantity::Accuracy => "accuracy",
        }
    }

    fn y_label(self) -> &'static str {
        match self {
            Quantity::Loss => "cross-entropy loss",
            Quantity::Cost => "cost = loss + λ‖W‖²",
            Quantity::Accuracy => "accuracy (%)",
        }
    }

    /// The training and validation series of `h`, accuracy in percent.
    fn of(self, h: &History) -> (&[f64], &[f64], f64) {
        match self {
            Quantity::Loss => (&h.train_loss, &h.val_loss, 1.0),
            Quantity::Cost => (&h.train_cost, &h.val_cost, 1.0),
            Quantity::Accuracy => (&h.train_accuracy, &h.val_accuracy, 100.0),
        }
    }
}

/// The most points a series draws: a longer history is decimated to the lowest
/// and highest value of each of `MAX_POINTS / 2` runs of epochs, which keeps
/// its spikes and its envelope (the figure is 820 pixels wide).
pub const MAX_POINTS: usize = 2000;

/// The largest magnitude a curve shows. A value beyond it (no training gives
/// one) is left out of the figure, so that the axes and their padding stay
/// finite and apart.
pub const MAX_SHOWN: f64 = 1e300;

/// Whether `v` is drawn: finite and at most [`MAX_SHOWN`] in magnitude.
fn shown(v: f64) -> bool {
    v.is_finite() && v.abs() <= MAX_SHOWN
}

/// `(epoch from 1, scale · value)` of the values shown, at most [`MAX_POINTS`].
fn points(v: &[f64], scale: f64) -> Vec<(i32, f64)> {
    let all = (1..=i32::MAX)
        .zip(v)
        .map(|(e, &y)| (e, scale * y))
        .filter(|&(_, y)| shown(y));
    if v.len() <= MAX_POINTS {
        return all.collect();
    }
    let all: Vec<(i32, f64)> = all.collect();
    let run = all.len().div_ceil(MAX_POINTS / 2).max(1);
    let mut out = Vec::with_capacity(MAX_POINTS);
    for chunk in all.chunks(run) {
        let lowest = chunk.iter().min_by(|a, b| a.1.total_cmp(&b.1));
        let highest = chunk.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        if let (Some(&lo), Some(&hi)) = (lowest, highest) {
            // In epoch order; once when the run is flat.
            let (a, b) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
            out.push(a);
            if b.0 != a.0 {
                out.push(b);
            }
        }
    }
    out
}

/// The figure of one run's training and validation `q` over the epochs, titled
/// with its settings.
pub fn run_figure(r: &RunResult, q: Quantity) -> Curves {
    let (train, val, scale) = q.of(&r.history);
    let series = |label: &str, i, v| Series {
        label: label.to_string(),
        color: color(i),
        points: points(v, scale),
        diverged_at: r.diverged_at_epoch,
    };
    Curves {
        name: format!("{}/{}", r.run.name, q.stem()),
        title: None,
        panels: vec![Panel {
            title: format!(
                "{} — {}, batch {}, {} epochs",
                q.stem(),
                run_label(r),
                r.run.n_batch,
                r.run.n_epochs
            ),
            y_label: q.y_label().to_string(),
            series: vec![series("training", 0, train), series("validation", 1, val)],
            n_epochs: r.run.n_epochs,
            percent: q == Quantity::Accuracy,
        }],
    }
}

/// The validation loss of every run together. When some runs oscillated or
/// diverged and others did not, a second panel shows the steady runs alone on
/// their own scale, so that the differences between them stay visible.
pub fn validation_loss_figure(runs: &[RunResult]) -> Curves {
    let series: Vec<Series> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| Series {
            label: run_label(r),
            color: color(i),
            points: points(&r.history.val_loss, 1.0),
            diverged_at: r.diverged_at_epoch,
        })
        .collect();
    let n_epochs = runs.iter().map(|r| r.run.n_epochs).max().unwrap_or(1);
    let steady: Vec<Series> = runs
        .iter()
        .zip(&series)
        .filter(|(r, _)| !r.diverged && !CostTrend::of(&r.history.train_cost).oscillated())
        .map(|(_, s)| s.clone())
        .collect();
    let panel = |title: &str, series| Panel {
        title: title.to_string(),
        y_label: "validation loss".to_string(),
        series,
        n_epochs,
        percent: false,
    };
    let mut panels = Vec::new();
    if !steady.is_empty() && steady.len() < series.len() {
        panels.push(panel("all runs", series));
        panels.push(panel("steady runs only, on their own scale", steady));
    } else {
        panels.push(panel("all runs", series));
    }
    Curves {
        name: "validation_loss".to_string(),
        title: Some("Validation loss of every run".to_string()),
        panels,
    }
}

/// The y range covering every value shown (finite, at most [`MAX_SHOWN`] in
/// magnitude), padded by 5 % (around a single value: ±0.5, or ±0.1 % of its
/// magnitude when that is more; 0–1 when there is none), clamped to 0–100 for
/// percentages. Its ends are always finite and apart.
pub fn y_range(p: &Panel) -> (f64, f64) {
    let values = p.series.iter().flat_map(|s| s.points.iter().map(|q| q.1));
    let (lo, hi) = values
        .filter(|&v| shown(v))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let magnitude = lo.abs().max(hi.abs());
    let (lo, hi) = if lo > hi {
        (0.0, 1.0)
    } else if hi - lo < 1e-12_f64.max(1e-9 * magnitude) {
        let half = 0.5_f64.max(1e-3 * magnitude);
        (lo - half, hi + half)
    } else {
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    };
    if p.percent {
        (lo.max(0.0), hi.min(100.0))
    } else {
        (lo, hi)
    }
}

/// The last epoch on the x axis: at least 2 (a one-point axis is empty), and
/// covering any divergence marker.
pub fn x_max(p: &Panel) -> i32 {
    let marker = p.series.iter().filter_map(|s| s.diverged_at).max();
    p.n_epochs.max(marker.unwrap_or(0)).max(2) as i32
}

/// Where a legend goes: the corner of the chart that the lines cross least, and
/// the y range, enlarged on that side when every corner is crossed so that the
/// legend sits above (or below) the lines rather than on them.
pub fn legend_place(p: &Panel) -> (SeriesLabelPosition, (f64, f64)) {
    use SeriesLabelPosition::{LowerLeft, LowerRight, UpperLeft, UpperRight};
    let (y0, y1) = y_range(p);
    let x1 = f64::from(x_max(p));
    let labels = p.series.len() + p.series.iter().filter(|s| s.diverged_at.is_some()).count();
    // The legend's box as fractions of the plot: width and height.
    let (bw, bh) = (0.36, 0.05 + 0.065 * labels as f64);
    // Points along every line (4 per segment), as fractions of the plot.
    let mut pts = Vec::new();
    for s in &p.series {
        let norm = |(x, y): (i32, f64)| ((f64::from(x) - 1.0) / (x1 - 1.0), (y - y0) / (y1 - y0));
        for w in s.points.windows(2) {
            let (a, b) = (norm(w[0]), norm(w[1]));
            pts.extend((0..4).map(|i| {
                let t = f64::from(i) / 4.0;
                (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
            }));
        }
        pts.extend(s.points.last().map(|&q| norm(q)));
    }
    let inside = |right: bool, upper: bool| {
        pts.iter()
            .filter(|(u, v)| {
                let x_in = if right { *u > 1.0 - bw } else { *u < bw };
                let y_in = if upper { *v > 1.0 - bh } else { *v < bh };
                x_in && y_in
            })
            .count()
    };
    let order = if p.percent {
        [
            (LowerRight, true, false),
            (UpperRight, true, true),
            (LowerLeft, false, false),
            (UpperLeft, false, true),
        ]
    } else {
        [
            (UpperRight, true, true),
            (LowerRight, true, false),
            (UpperLeft, false, true),
            (LowerLeft, false, false),
        ]
    };
    let counts = order.clone().map(|(_, right, upper)| inside(right, upper));
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    let (pos, _, upper) = order[best].clone();
    if counts[best] == 0 {
        return (pos, (y0, y1));
    }
    // Make room: the lines keep the range, the legend gets a band of its own.
    let extra = (y1 - y0) * bh / (1.0 - bh);
    let (pos, range) = if upper {
        (UpperRight, (y0, y1 + extra))
    } else {
        (LowerRight, (y0 - extra, y1))
    };
    let range = if p.percent {
        (range.0.max(0.0), range.1.min(100.0))
    } else {
        range
    };
    (pos, range)
}

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

#[cfg(test)]
mod tests;
