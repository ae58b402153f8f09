use super::*;
use crate::plot::{to_png, to_svg};
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
