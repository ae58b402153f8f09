//! The report: every figure of a results set and the pages that show them,
//! `report.html` (self-contained, images by relative path) and `report.md`.
//!
//! [`render`] produces every file in memory (the figures in `figures`) from the
//! results and each run's `W: K×3072`; [`write`](fn@write) writes them all or
//! nothing, the report last ([`stage`] adds them to outputs being staged);
//! [`load`] reads a results folder back, checking everything before anything
//! is drawn.

use std::path::{Path, PathBuf};

use ndarray::Array2;

use crate::io::{OutputError, Staging};
use crate::observations::{self, run_label};
use crate::plot::PlotError;
use crate::plot::curves::Quantity;
use crate::results::Results;

mod figures;
mod html;
mod markdown;
pub mod tables;

/// The stacked templates of every run, at the top of the results folder.
pub const STACKED_TEMPLATES: &str = "templates_all.png";
/// The validation loss of every run, at the top of the results folder (`.png`, `.svg`).
pub const VALIDATION_LOSS: &str = "validation_loss";

/// An error while reading a results folder or producing its report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// `results.json` could not be read.
    #[error("cannot read {path}: {source}")]
    ReadResults {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// `results.json` is not JSON of the results schema.
    #[error("{path} is not a valid results file: {source}")]
    ParseResults {
        /// The file.
        path: PathBuf,
        /// What the parser found, with line and column.
        source: serde_json::Error,
    },
    /// `results.json` parses but is inconsistent.
    #[error("{path} is inconsistent: {message}")]
    InvalidResults {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field.
        message: String,
    },
    /// Results given in memory are inconsistent (with themselves or the weights).
    #[error("cannot report these results: {message}")]
    Mismatch {
        /// What is wrong.
        message: String,
    },
    /// A run's weights could not be read as a float32 `.npy` matrix.
    #[error("cannot read the weights {path}: {message}")]
    ReadWeights {
        /// The file.
        path: PathBuf,
        /// The cause.
        message: String,
    },
    /// A run's weights have the wrong shape.
    #[error("{path} has shape {found:?}, expected [{rows}, {cols}]")]
    WeightsShape {
        /// The file.
        path: PathBuf,
        /// Expected rows (one per class).
        rows: usize,
        /// Expected columns (3072).
        cols: usize,
        /// The shape found.
        found: Vec<usize>,
    },
    /// A run's weights hold a NaN or an infinity.
    #[error("{path} holds a non-finite value at flat index {index}")]
    WeightsNotFinite {
        /// The file.
        path: PathBuf,
        /// The first such entry, row-major.
        index: usize,
    },
    /// Drawing a figure failed.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// Writing failed.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Checks what the report relies on beyond [`Results::check`]: run names that
/// are plain, distinct folder names, and class names.
pub fn validate(r: &Results) -> Result<(), String> {
    r.check()?;
    if r.setup.class_names.is_empty() {
        return Err("setup.class_names is empty".into());
    }
    for (i, run) in r.runs.iter().enumerate() {
        if !crate::config::is_valid_run_name(&run.run.name) {
            return Err(format!(
                "runs[{i}].name {:?} is not a plain folder name (letters, digits, '_', '-', '.')",
                run.run.name
            ));
        }
        if r.runs[..i].iter().any(|o| o.run.name == run.run.name) {
            return Err(format!("runs[{i}].name {:?} is used twice", run.run.name));
        }
    }
    Ok(())
}

/// Reads `dir/results.json` and every `dir/<run>/W.npy`, and checks them.
pub fn load(dir: &Path) -> Result<(Results, Vec<Array2<f32>>), ReportError> {
    let path = dir.join("results.json");
    let bytes = crate::input::read(&path, crate::input::limit::TEXT, "a results file").map_err(
        |source| ReportError::ReadResults {
            path: path.clone(),
            source,
        },
    )?;
    let results: Results =
        serde_json::from_slice(&bytes).map_err(|source| ReportError::ParseResults {
            path: path.clone(),
            source,
        })?;
    validate(&results).map_err(|message| ReportError::InvalidResults { path, message })?;
    let rows = results.setup.class_names.len();
    let weights = results
        .runs
        .iter()
        .map(|r| read_weights(&dir.join(&r.run.name).join("W.npy"), rows))
        .collect::<Result<_, _>>()?;
    Ok((results, weights))
}

/// Reads a float32 `rows×3072` matrix from a `.npy` file and checks it is finite.
pub fn read_weights(path: &Path, rows: usize) -> Result<Array2<f32>, ReportError> {
    let err = |message: String| ReportError::ReadWeights {
        path: path.to_path_buf(),
        message,
    };
    let bytes = crate::input::read(path, crate::input::limit::MODEL, "a weights file")
        .map_err(|e| err(e.to_string()))?;
    let dynamic: ndarray::ArrayD<f32> = crate::npy::read(&bytes).map_err(err)?;
    let found = dynamic.shape().to_vec();
    let shape_error = || ReportError::WeightsShape {
        path: path.to_path_buf(),
        rows,
        cols: crate::D,
        found: found.clone(),
    };
    if found != [rows, crate::D] {
        return Err(shape_error());
    }
    let w = dynamic
        .into_dimensionality::<ndarray::Ix2>()
        .map_err(|_| shape_error())?;
    if let Some(index) = w.iter().position(|v| !v.is_finite()) {
        return Err(ReportError::WeightsNotFinite {
            path: path.to_path_buf(),
            index,
        });
    }
    Ok(w)
}

/// A figure as the pages show it: its PNG, its SVG if any, and words.
#[derive(Debug, Clone)]
pub struct FigureRef {
    /// The PNG's path relative to the report.
    pub png: String,
    /// The SVG's path relative to the report, if there is one.
    pub svg: Option<String>,
    /// Alternative text and caption.
    pub caption: String,
}

/// One run's section of the report.
#[derive(Debug, Clone)]
pub struct RunSection {
    /// The run's name (its folder, and the section's anchor).
    pub name: String,
    /// `λ = …, η = …`.
    pub label: String,
    /// Its loss, cost and accuracy curves.
    pub curves: Vec<FigureRef>,
    /// Its templates.
    pub templates: FigureRef,
}

/// Everything a page shows, computed once for both formats.
#[derive(Debug, Clone)]
pub struct Page {
    /// The setup, as `(what, value)`.
    pub setup: Vec<(String, String)>,
    /// The gradient-check table.
    pub gradient_check: Table,
    /// The experiments table.
    pub experiments: Table,
    /// Observations, one sentence each.
    pub observations: Vec<String>,
    /// The figures comparing the runs.
    pub comparison: Vec<FigureRef>,
    /// One section per run.
    pub runs: Vec<RunSection>,
}

pub use tables::Table;

fn page(r: &Results) -> Page {
    let runs = r
        .runs
        .iter()
        .map(|run| RunSection {
            name: run.run.name.clone(),
            label: run_label(run),
            curves: Quantity::ALL
                .iter()
                .map(|q| FigureRef {
                    png: format!("{}/{}.png", run.run.name, q.stem()),
                    svg: Some(format!("{}/{}.svg", run.run.name, q.stem())),
                    caption: format!("{}: training and validation {}", run_label(run), q.stem()),
                })
                .collect(),
            templates: FigureRef {
                png: format!("{}/templates.png", run.run.name),
                svg: None,
                caption: format!("{}: the class templates, rows of W", run_label(run)),
            },
        })
        .collect();
    Page {
        setup: tables::setup(r),
        gradient_check: tables::gradient_check(r),
        experiments: tables::experiments(r),
        observations: observations::observe(r)
            .iter()
            .map(|o| o.to_string())
            .collect(),
        comparison: vec![
            FigureRef {
                png: format!("{VALIDATION_LOSS}.png"),
                svg: Some(format!("{VALIDATION_LOSS}.svg")),
                caption: "The validation loss of every run".into(),
            },
            FigureRef {
                png: STACKED_TEMPLATES.into(),
                svg: None,
                caption: "The class templates of every run, one run per row".into(),
            },
        ],
        runs,
    }
}

/// Every file of the report, as `(path relative to the results folder, bytes)`:
/// the figures first, then `report.md`, then `report.html`. `weights[i]` is
/// run `i`'s `W`.
pub fn render(
    r: &Results,
    weights: &[Array2<f32>],
) -> Result<Vec<(PathBuf, Vec<u8>)>, ReportError> {
    validate(r).map_err(|message| ReportError::Mismatch { message })?;
    check_weights(r, weights)?;
    let mut files = figures::figures(r, weights)?;
    let p = page(r);
    files.push(("report.md".into(), markdown::render(&p).into_bytes()));
    files.push(("report.html".into(), html::render(&p).into_bytes()));
    Ok(files)
}

/// `Ok` when `weights` holds one `K×3072` matrix per run of `r`.
fn check_weights(r: &Results, weights: &[Array2<f32>]) -> Result<(), ReportError> {
    let rows = r.setup.class_names.len();
    if weights.len() != r.runs.len() || weights.iter().any(|w| w.dim() != (rows, crate::D)) {
        let shapes: Vec<_> = weights.iter().map(|w| w.dim()).collect();
        return Err(ReportError::Mismatch {
            message: format!(
                "{} runs of {rows} classes need as many {rows}×{} weight matrices, got {shapes:?}",
                r.runs.len(),
                crate::D
            ),
        });
    }
    Ok(())
}

/// Stages the files [`render`] made in `stage`, the report last; returns the
/// path `report.html` will have once the stage is committed.
pub fn stage(stage: &mut Staging, files: Vec<(PathBuf, Vec<u8>)>) -> Result<PathBuf, ReportError> {
    for (rel, bytes) in files {
        stage.write_bytes(rel, &bytes)?;
    }
    Ok(stage.dir().join("report.html"))
}

/// Renders every file and writes it under `dir`: all files appear together or
/// not at all (see [`Staging`]). Returns the path of `report.html`.
pub fn write(dir: &Path, r: &Results, weights: &[Array2<f32>]) -> Result<PathBuf, ReportError> {
    let files = render(r, weights)?;
    let mut st = Staging::new(dir)?;
    let html = stage(&mut st, files)?;
    st.commit()?;
    Ok(html)
}

#[cfg(test)]
mod tests;
