use super::*;
use crate::plot::{Figure, to_png, to_svg};
use crate::testing::{diverged, history, report_like, run};

fn decode(png: &[u8]) -> image::RgbImage {
    image::load_from_memory(png).unwrap().to_rgb8()
}

/// Pixels in rows `ys` whose colour is close to `c`.
fn count_colour(img: &image::RgbImage, ys: std::ops::Range<u32>, c: RGBColor) -> usize {
    img.enumerate_pixels()
        .filter(|(_, y, p)| {
            ys.contains(y)
                && p.0
                    .iter()
                    .zip([c.0, c.1, c.2])
                    .all(|(&a, b)| a.abs_diff(b) < 30)
        })
        .count()
}

#[test]
fn a_run_figure_draws_both_series_and_its_title() {
    let r = &report_like().runs[1];
    let fig = run_figure(r, Quantity::Loss);
    assert_eq!(fig.panels[0].series.len(), 2);
    assert!(fig.panels[0].title.contains("λ = 0, η = 0.001"));
    let img = decode(&to_png(&fig).unwrap());
    assert_eq!(img.dimensions(), fig.size());
    let h = img.height();
    assert!(
        count_colour(&img, 0..h, color(0)) > 200,
        "training line missing"
    );
    assert!(
        count_colour(&img, 0..h, color(1)) > 200,
        "validation line missing"
    );
    // The caption is text in the top band: dark pixels there.
    assert!(
        count_colour(&img, 0..30, RGBColor(0, 0, 0)) > 50,
        "no title drawn"
    );
    let svg = String::from_utf8(to_svg(&fig).unwrap()).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("validation"));
}

#[test]
fn accuracy_is_in_percent_and_the_range_covers_every_point() {
    let r = &report_like().runs[0];
    let fig = run_figure(r, Quantity::Accuracy);
    let p = &fig.panels[0];
    let (lo, hi) = y_range(p);
    for s in &p.series {
        for &(_, v) in &s.points {
            assert!(v > 1.0 && v < 100.0, "{v} is not a percentage");
            assert!(lo < v && v < hi, "{v} outside {lo}..{hi}");
        }
    }
}

#[test]
fn a_diverged_run_is_marked_where_it_diverged() {
    let h = history(&[2.0, 1.8, 1.7], 0.0, 0.1, &[0.3, 0.32, 0.33], 0.01);
    let r = diverged(run(0.0, 0.5, h), 10);
    let fig = run_figure(&r, Quantity::Cost);
    let p = &fig.panels[0];
    assert_eq!(p.series[0].diverged_at, Some(4));
    assert_eq!(x_max(p), 10);
    let img = decode(&to_png(&fig).unwrap());
    // The dashed black marker: a column of black pixels at epoch 4 inside the plot.
    let black_columns = (0..img.width())
        .filter(|&x| {
            (100..400)
                .filter(|&y| img.get_pixel(x, y).0.iter().all(|&v| v < 40))
                .count()
                > 100
        })
        .count();
    assert!(black_columns >= 1, "no divergence marker");
    let svg = String::from_utf8(to_svg(&fig).unwrap()).unwrap();
    assert!(svg.contains("diverged in epoch 4"));
}

#[test]
fn a_run_with_no_finished_epoch_still_draws() {
    let r = diverged(run(0.0, 9.0, History::default()), 1);
    let fig = run_figure(&r, Quantity::Loss);
    assert_eq!(y_range(&fig.panels[0]), (0.0, 1.0));
    assert_eq!(x_max(&fig.panels[0]), 2);
    let svg = String::from_utf8(to_svg(&fig).unwrap()).unwrap();
    assert!(svg.contains("no epoch finished"));
    to_png(&fig).unwrap();
}

#[test]
fn the_validation_figure_zooms_on_the_steady_runs() {
    let results = report_like();
    let fig = validation_loss_figure(&results.runs);
    assert_eq!(fig.panels.len(), 2);
    assert_eq!(fig.panels[0].series.len(), 4);
    let steady: Vec<&str> = fig.panels[1]
        .series
        .iter()
        .map(|s| s.label.as_str())
        .collect();
    assert_eq!(
        steady,
        ["λ = 0, η = 0.001", "λ = 0.1, η = 0.001", "λ = 1, η = 0.001"]
    );
    // The zoomed range leaves out the oscillating run's values (3.5 and above).
    assert!(y_range(&fig.panels[1]).1 < 3.0);
    let img = decode(&to_png(&fig).unwrap());
    assert_eq!(img.dimensions(), fig.size());
    // Only steady runs: a single panel.
    let fig = validation_loss_figure(&results.runs[1..]);
    assert_eq!(fig.panels.len(), 1);
}

#[test]
fn extreme_values_give_finite_distinct_axes_and_draw() {
    for loss in [
        vec![f64::MAX],
        vec![f64::MAX, f64::MAX],
        vec![1e300, 1e300],
        vec![-1e300, 1e300],
        vec![1.0, f64::MAX, 2.0],
        vec![1e20, 1e20],
        vec![1e20, 1e20 + 1e5],
    ] {
        let h = history(&loss, 0.0, 0.0, &vec![0.5; loss.len()], 0.0);
        let r = run(0.1, 0.01, h);
        for q in Quantity::ALL {
            let fig = run_figure(&r, q);
            let (lo, hi) = y_range(&fig.panels[0]);
            assert!(
                lo.is_finite() && hi.is_finite() && lo < hi,
                "{loss:?}: {lo}..{hi}"
            );
            let (_, (lo, hi)) = legend_place(&fig.panels[0]);
            assert!(
                lo.is_finite() && hi.is_finite() && lo < hi,
                "{loss:?}: {lo}..{hi}"
            );
            to_png(&fig).unwrap();
            to_svg(&fig).unwrap();
        }
        to_png(&validation_loss_figure(&[r])).unwrap();
    }
}

#[test]
fn a_million_epochs_draw_a_bounded_number_of_points_keeping_the_extremes() {
    let n = 1_000_000;
    let mut loss: Vec<f64> = (0..n).map(|i| 2.0 - i as f64 / n as f64).collect();
    loss[123_457] = 9.0;
    loss[765_431] = -3.0;
    let h = history(&loss, 0.0, 0.1, &vec![0.4; n], 0.0);
    let r = run(0.0, 0.01, h);
    let fig = run_figure(&r, Quantity::Loss);
    let pts = &fig.panels[0].series[0].points;
    assert!(pts.len() <= MAX_POINTS, "{} points", pts.len());
    assert!(
        pts.windows(2).all(|w| w[0].0 < w[1].0),
        "not in epoch order"
    );
    assert!(pts.contains(&(123_458, 9.0)) && pts.contains(&(765_432, -3.0)));
    assert_eq!(pts[0], (1, 2.0));
    assert_eq!(x_max(&fig.panels[0]), n as i32);
    let svg = to_svg(&fig).unwrap();
    assert!(svg.len() < 2_000_000, "{} bytes of SVG", svg.len());
    to_png(&validation_loss_figure(&[r])).unwrap();
}
