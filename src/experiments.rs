//! Experiments: the report's runs from data to results. [`run_experiment`] checks
//! the config, prepares the data once ([`crate::data::prepare`]), checks the
//! gradients on it ([`crate::gradcheck::gradient_checks`]), trains every run on it
//! ([`crate::train::pool::run_all`]), and returns an [`Experiment`], which
//! [`crate::results::stage`] writes.

use std::path::Path;

use crate::Result;
use crate::config::ExperimentConfig;
use crate::data::ReadOptions;
use crate::gradcheck::GradCheckConfig;
use crate::results::{Results, Setup};

pub use crate::data::{Prepared, prepare};
pub use crate::gradcheck::{
    GCE_EPS, GRADCHECK_LAMBDA, HINGE_EPS, SIGMOID_STEP, gradient_checks, gradient_checks_for,
};
pub use crate::results::stage::{
    Experiment, MODEL_FILE, RUN_FILES, check_targets, stage_npy, stage_outputs, write_outputs,
};
pub use crate::train::pool::{ObserverFactory, RunOutput, plan, run_all, run_group, run_one};

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
