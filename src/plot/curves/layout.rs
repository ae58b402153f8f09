//! The layout of a panel: its axes' ranges and the corner its legend takes.

use plotters::prelude::SeriesLabelPosition::{self, LowerLeft, LowerRight, UpperLeft, UpperRight};

use super::{Panel, shown};

/// The y range covering every value shown (finite, at most [`MAX_SHOWN`] in
/// magnitude), padded by 5 % (around a single value: ±0.5, or ±0.1 % of its
/// magnitude when that is more; 0–1 when there is none), clamped to 0–100 for
/// percentages. Its ends are always finite and apart.
///
/// [`MAX_SHOWN`]: super::MAX_SHOWN
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
    let (y0, y1) = y_range(p);
    let labels = p.series.len() + p.series.iter().filter(|s| s.diverged_at.is_some()).count();
    // The legend's box as fractions of the plot: width and height.
    let (bw, bh) = (0.36, 0.05 + 0.065 * labels as f64);
    let pts = line_points(p, (y0, y1));
    let inside = |right: bool, upper: bool| {
        pts.iter()
            .filter(|(u, v)| {
                let x_in = if right { *u > 1.0 - bw } else { *u < bw };
                let y_in = if upper { *v > 1.0 - bh } else { *v < bh };
                x_in && y_in
            })
            .count()
    };
    let order = corners(p.percent);
    let counts = order.clone().map(|(_, right, upper)| inside(right, upper));
    let best = (0..4).min_by_key(|&i| counts[i]).unwrap_or(0);
    let (pos, _, upper) = order[best].clone();
    if counts[best] == 0 {
        return (pos, (y0, y1));
    }
    make_room(p, (y0, y1), bh, upper)
}

/// Points along every line of `p` (4 per segment), as fractions of the plot
/// whose y axis spans `y0..y1`.
fn line_points(p: &Panel, (y0, y1): (f64, f64)) -> Vec<(f64, f64)> {
    let x1 = f64::from(x_max(p));
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
    pts
}

/// The corners in the order they are tried, each with whether it is on the
/// right and at the top: the right ones first; for percentages the lower one
/// first, else the upper one.
fn corners(percent: bool) -> [(SeriesLabelPosition, bool, bool); 4] {
    if percent {
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
    }
}

/// The legend in a band of its own (`bh` of the plot's height) added above the
/// y range `y0..y1` when `upper`, else below it, so that the lines keep their
/// range; clamped to 0–100 for percentages.
fn make_room(
    p: &Panel,
    (y0, y1): (f64, f64),
    bh: f64,
    upper: bool,
) -> (SeriesLabelPosition, (f64, f64)) {
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
