//! Experiments: the report's runs from data to results. [`run_experiment`] prepares
//! the data ([`crate::data::prepare`]), checks the gradients
//! ([`crate::gradcheck::gradient_checks`]), trains every run
//! ([`crate::train::pool::run_all`]), and returns an [`Experiment`], which
//! [`crate::results::stage`] writes.

use std::path::Path;

use crate::Result;
use crate::config::ExperimentConfig;
use crate::data::normalize::Normalizer;
use crate::data::{DataFingerprint, ReadOptions};
use crate::gradcheck::GradCheckConfig;
use crate::model::Model;
use crate::modelfile::{ModelFile, ModelMeta};
use crate::results::{Results, Setup};

pub use crate::data::{Prepared, prepare};
pub use crate::gradcheck::{
    GCE_EPS, GRADCHECK_LAMBDA, HINGE_EPS, SIGMOID_STEP, gradient_checks, gradient_checks_for,
};
pub use crate::results::stage::{
    MODEL_FILE, RUN_FILES, check_targets, stage_npy, stage_outputs, write_outputs,
};
pub use crate::train::pool::{ObserverFactory, RunOutput, plan, run_all, run_group, run_one};

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

/// Checks `config`, prepares the data once ([`prepare`]), checks the gradients on
/// it and trains every run of `config` on it.
pub fn run_experiment(
    config: &ExperimentConfig,
    data_path: &Path,
    opts: &ReadOptions,
    threads: usize,
    observers: &ObserverFactory,
) -> Result<Experiment> {
    // Checked before reading (assuming official batches of 10 000 images), and
    // again against the images the batches hold.
    config.check(config.n_train())?;
    let data = prepare(data_path, &config.split, opts)?;
    let hypers = config.check(data.train.len())?;
    let gradient_check = gradient_checks(&data.train, &GradCheckConfig::default())?;
    let outputs = run_all(&hypers, &data, threads, observers);
    let (runs, models) = outputs.into_iter().map(|o| (o.result, o.model)).unzip();
    Ok(Experiment {
        results: Results {
            onelayer_version: env!("CARGO_PKG_VERSION").to_string(),
            setup: Setup::of(&data, threads),
            gradient_check,
            runs,
        },
        models,
        normalizer: data.normalizer,
        config: config.clone(),
        fingerprint: data.fingerprint,
    })
}
