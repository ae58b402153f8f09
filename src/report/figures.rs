//! The report's figures, drawn in memory: each run's curves and templates, and
//! the figures comparing the runs.

use std::path::PathBuf;

use ndarray::Array2;

use super::{ReportError, STACKED_TEMPLATES, VALIDATION_LOSS};
use crate::observations::run_label;
use crate::plot::curves::{self, Quantity};
use crate::plot::{self, templates};
use crate::results::{Results, RunResult};

/// Every figure: each run's ([`run_files`]) in the order of the runs, then the
/// validation loss of every run, then the templates of every run.
///
/// The runs' figures are drawn on as many threads as there are cores, and each
/// figure of all runs on a thread of its own (PNG encoding takes a while).
pub(super) fn figures(
    r: &Results,
    weights: &[Array2<f32>],
) -> Result<Vec<(PathBuf, Vec<u8>)>, ReportError> {
    let names = &r.setup.class_names;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = r.runs.len().div_ceil(cores).max(1);
    let parts: Vec<_> = std::thread::scope(|s| {
        let mut handles: Vec<_> = r
            .runs
            .chunks(per_thread)
            .zip(weights.chunks(per_thread))
            .map(|(runs, ws)| {
                s.spawn(move || {
                    let mut files = Vec::new();
                    for (run, w) in runs.iter().zip(ws) {
                        files.extend(run_files(run, w, names)?);
                    }
                    Ok::<_, ReportError>(files)
                })
            })
            .collect();
        handles.push(s.spawn(|| validation_loss_files(r)));
        handles.push(s.spawn(|| stacked_templates_file(r, weights)));
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut files = Vec::new();
    for part in parts {
        files.extend(part?);
    }
    Ok(files)
}

/// The validation loss of every run, as [`VALIDATION_LOSS`]`.png` and `.svg`.
fn validation_loss_files(r: &Results) -> Result<Vec<(PathBuf, Vec<u8>)>, ReportError> {
    let fig = curves::validation_loss_figure(&r.runs);
    Ok(vec![
        (format!("{VALIDATION_LOSS}.png").into(), plot::to_png(&fig)?),
        (format!("{VALIDATION_LOSS}.svg").into(), plot::to_svg(&fig)?),
    ])
}

/// The templates of every run, one run per row, as [`STACKED_TEMPLATES`].
fn stacked_templates_file(
    r: &Results,
    weights: &[Array2<f32>],
) -> Result<Vec<(PathBuf, Vec<u8>)>, ReportError> {
    let views: Vec<_> = weights.iter().map(|w| w.view()).collect();
    let labels: Vec<String> = r.runs.iter().map(run_label).collect();
    let title = "Class templates of every run";
    let png = templates::stacked_png(&views, &labels, &r.setup.class_names, title)?;
    Ok(vec![(STACKED_TEMPLATES.into(), png)])
}

/// The figures of one run, under its folder: loss, cost and accuracy curves (PNG
/// and SVG) and the class templates.
fn run_files(
    run: &RunResult,
    w: &Array2<f32>,
    names: &[String],
) -> Result<Vec<(PathBuf, Vec<u8>)>, ReportError> {
    let dir = PathBuf::from(&run.run.name);
    let mut files = Vec::new();
    for q in Quantity::ALL {
        let fig = curves::run_figure(run, q);
        files.push((dir.join(format!("{}.png", q.stem())), plot::to_png(&fig)?));
        files.push((dir.join(format!("{}.svg", q.stem())), plot::to_svg(&fig)?));
    }
    let title = format!("Class templates — {}", run_label(run));
    let png = templates::grid_png(w.view(), names, 5, &title)?;
    files.push((dir.join("templates.png"), png));
    Ok(files)
}
