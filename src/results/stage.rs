//! Staging a run's outputs: `results.json`, `config.toml`, and each run's weights,
//! normalisation and model file, committed together (see [`io::Staging`]), from
//! an [`Experiment`]: what a command produced, before it is written.

use std::path::{Path, PathBuf};

use crate::config::ExperimentConfig;
use crate::data::DataFingerprint;
use crate::data::normalize::Normalizer;
use crate::io::{self, OutputError};
use crate::model::Model;
use crate::modelfile::{ModelFile, ModelMeta};
use crate::results::Results;

/// Everything `reproduce` (or `train`) produced, before it is written.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The record written to `results.json`.
    pub results: Results,
    /// The trained weights, one per run, in the order of `results.runs`.
    pub models: Vec<Model>,
    /// The normalisation used.
    pub normalizer: Normalizer,
    /// The config that produced it.
    pub config: ExperimentConfig,
    /// What the training set was.
    pub fingerprint: DataFingerprint,
}

impl Experiment {
    /// Run `i` as a model file: its weights, the normalisation, the class names,
    /// its hyper-parameters and the data's fingerprint. `None` when there is no run `i`.
    pub fn model_file(&self, i: usize) -> Option<ModelFile> {
        let run = self.results.runs.get(i)?;
        Some(ModelFile {
            model: self.models.get(i)?.clone(),
            normalizer: self.normalizer.clone(),
            meta: ModelMeta::new(
                self.results.setup.class_names.clone(),
                run.run.clone(),
                self.config.split.clone(),
                self.fingerprint.clone(),
                Some(run.test_accuracy),
            ),
        })
    }
}

/// Writes `results.json`, `config.toml`, and under `dir/<run name>/` each run's
/// `W.npy` and `b.npy` and the normalisation `mean.npy`, `std.npy` (float32), and
/// the whole model as [`MODEL_FILE`] (see [`crate::modelfile`]).
/// The files appear together, or not at all (see [`io::Staging`]). The folders
/// of other runs already in `dir` (listed by an earlier `results.json`) are kept:
/// `results.json` lists the runs of the last command.
pub fn write_outputs(dir: &Path, exp: &Experiment) -> Result<Vec<PathBuf>, OutputError> {
    let mut stage = io::Staging::new(dir)?;
    stage_outputs(&mut stage, exp)?;
    stage.commit()
}

/// The files of one run's folder that [`stage_outputs`] writes.
pub const RUN_FILES: [&str; 5] = ["W.npy", "b.npy", "mean.npy", "std.npy", MODEL_FILE];

/// Checks, before any work, that the outputs of runs named `runs` can go into
/// `dir` (see [`io::check_target`]): no link, no file named like a run folder,
/// no folder named like an output file.
pub fn check_targets<'a>(
    dir: &Path,
    runs: impl IntoIterator<Item = &'a str>,
) -> Result<(), OutputError> {
    for top in ["results.json", "config.toml", "report.md", "report.html"] {
        io::check_target(dir, Path::new(top))?;
    }
    for run in runs {
        for file in RUN_FILES {
            io::check_target(dir, &Path::new(run).join(file))?;
        }
    }
    Ok(())
}

/// Stages the files of [`write_outputs`] into `stage`, for callers that add more.
pub fn stage_outputs(stage: &mut io::Staging, exp: &Experiment) -> Result<(), OutputError> {
    let other = |path: &Path, e: &dyn std::fmt::Display| OutputError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let json = serde_json::to_vec_pretty(&exp.results)
        .map_err(|e| other(&stage.dir().join("results.json"), &e))?;
    let toml = toml::to_string_pretty(&exp.config)
        .map_err(|e| other(&stage.dir().join("config.toml"), &e))?;
    for (i, (run, model)) in exp.results.runs.iter().zip(&exp.models).enumerate() {
        let rd = Path::new(&run.run.name);
        stage_npy(stage, rd.join("W.npy"), &model.w)?;
        stage_npy(stage, rd.join("b.npy"), &model.b)?;
        stage_npy(stage, rd.join("mean.npy"), &exp.normalizer.mean)?;
        stage_npy(stage, rd.join("std.npy"), &exp.normalizer.std)?;
        if let Some(file) = exp.model_file(i) {
            let rel = rd.join(MODEL_FILE);
            let bytes = file
                .to_bytes(&rel)
                .map_err(|e| other(&stage.dir().join(&rel), &e))?;
            stage.write_bytes(rel, &bytes)?;
        }
    }
    stage.write_bytes("config.toml", toml.as_bytes())?;
    stage.write_bytes("results.json", &json)
}

/// The model file's name in each run folder.
pub const MODEL_FILE: &str = "model.onelayer";

/// Stages an f32 array as a numpy `.npy` file.
pub fn stage_npy<A, D>(
    stage: &mut io::Staging,
    rel: PathBuf,
    a: &ndarray::ArrayBase<A, D>,
) -> Result<(), OutputError>
where
    A: ndarray::Data<Elem = f32>,
    D: ndarray::Dimension,
{
    use ndarray_npy::WriteNpyExt;
    stage.write(rel, |w| a.write_npy(w).map_err(std::io::Error::other))
}
