//! `onelayer reproduce` and `onelayer train`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use onelayer::config::{
    DEFAULT_SEED, ExperimentConfig, OptionsConfig, RunConfig, SplitConfig, Validation,
};
use onelayer::io::Staging;
use onelayer::{experiments, report, results};

use super::DataArgs;
use super::download::{FetchArgs, resolve_or_download};
use super::progress::Progress;

/// Arguments of `reproduce`.
#[derive(Debug, Args)]
pub struct ReproduceArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    fetch: FetchArgs,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// Threads (default: all cores): one per stack of runs, and those left over
    /// share out the stacks' steps and evaluations.
    #[arg(long)]
    threads: Option<usize>,
}

/// Arguments of `train`: a TOML experiment file, or one run given by flags.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    fetch: FetchArgs,
    /// TOML experiment file (a [split] and [[run]] entries); replaces the run flags.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["lambda", "eta", "n_epochs", "n_batch", "seed", "shuffle", "name", "train_batches", "val_batch", "val_size", "run_options"])]
    config: Option<PathBuf>,
    /// L2 penalty λ.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    lambda: f64,
    /// Learning rate η.
    #[arg(long, default_value_t = 0.001, allow_negative_numbers = true)]
    eta: f64,
    /// Number of epochs.
    #[arg(long, default_value_t = 40)]
    n_epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 100)]
    n_batch: usize,
    /// Seed of the initialisation and shuffling.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Shuffle the training set before every epoch.
    #[arg(long)]
    shuffle: bool,
    /// Name of the run and of its folder.
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    options: OptionsConfig,
    /// Training batches, e.g. 1,2,3,4,5.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    train_batches: Vec<u8>,
    /// Validate on this batch.
    #[arg(long, conflicts_with = "val_size")]
    val_batch: Option<u8>,
    /// Validate on this many images held out of the training batches.
    #[arg(long)]
    val_size: Option<usize>,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "results-train")]
    out: PathBuf,
    /// Also save the trained model to FILE (format: see `onelayer evaluate`, the
    /// README). Needs a single run; every run's model is also in OUT/<run>/model.onelayer.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
    /// Threads (default: all cores): one per stack of runs, and those left over
    /// share out the stacks' steps and evaluations.
    #[arg(long)]
    threads: Option<usize>,
}

pub fn default_threads(flag: Option<usize>) -> anyhow::Result<usize> {
    match flag {
        Some(0) => anyhow::bail!("--threads: must be at least 1"),
        Some(t) => Ok(t),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// `onelayer reproduce`: the report's four experiments.
pub fn reproduce(a: ReproduceArgs) -> anyhow::Result<ExitCode> {
    let opts = Outputs {
        out: a.out,
        threads: default_threads(a.threads)?,
        save: None,
    };
    run(&ExperimentConfig::report(), &a.data, &a.fetch, &opts)
}

/// `onelayer train`: custom runs.
pub fn train(a: TrainArgs) -> anyhow::Result<ExitCode> {
    let config = match &a.config {
        Some(path) => ExperimentConfig::from_file(path)?,
        None => config_from_flags(&a),
    };
    check_before_work(&config, a.config.as_deref())?;
    if let Some(save) = &a.save {
        check_save(save, config.run.len())?;
    }
    let opts = Outputs {
        out: a.out,
        threads: default_threads(a.threads)?,
        save: a.save,
    };
    // The settings are checked again against the images the data holds: errors
    // that name a field are named as by `check_before_work`.
    run(&config, &a.data, &a.fetch, &opts).map_err(|e| name_config_error(e, a.config.as_deref()))
}

/// The one run and the split that `train`'s flags give.
fn config_from_flags(a: &TrainArgs) -> ExperimentConfig {
    let validation = match (a.val_batch, a.val_size) {
        (_, Some(n)) => Validation::HoldOut(n),
        (Some(b), None) => Validation::Batch(b),
        (None, None) if a.train_batches.contains(&2) => Validation::HoldOut(1000),
        (None, None) => Validation::Batch(2),
    };
    ExperimentConfig {
        split: SplitConfig {
            train_batches: a.train_batches.clone(),
            validation,
        },
        run: vec![RunConfig {
            name: a.name.clone(),
            lambda: a.lambda,
            eta: a.eta,
            n_epochs: a.n_epochs,
            n_batch: a.n_batch,
            seed: a.seed,
            shuffle: a.shuffle,
            options: a.options.clone(),
        }],
    }
}

/// Checks `config` before any work. Flags are named `--flag` in errors; the
/// fields of the config `file` by the file and their place in it.
fn check_before_work(config: &ExperimentConfig, file: Option<&Path>) -> anyhow::Result<()> {
    if let Some(path) = file {
        config
            .check(config.n_train())
            .map_err(|e| anyhow::anyhow!("config {}: {e}", path.display()))?;
    } else {
        config
            .split
            .check()
            .map_err(|e| anyhow::anyhow!("{}", flag_error(&e.to_string())))?;
        config.run[0]
            .check("--", config.n_train())
            .map_err(|e| anyhow::anyhow!("{}", run_flag_error(&e.to_string())))?;
    }
    Ok(())
}

/// A settings error found once the data is read, named as [`check_before_work`]
/// names it; any other error as it is.
fn name_config_error(e: anyhow::Error, file: Option<&Path>) -> anyhow::Error {
    let msg = e.to_string();
    match (e.downcast_ref::<onelayer::Error>(), file) {
        (Some(onelayer::Error::Config(_)), Some(path)) => {
            anyhow::anyhow!("config {}: {msg}", path.display())
        }
        (Some(onelayer::Error::Config(_)), None) => {
            anyhow::anyhow!(
                "{}",
                run_flag_error(&flag_error(&msg.replace("run[0].", "--")))
            )
        }
        _ => e,
    }
}

/// A run's field as its flag (`--n_batch` → `--n-batch`).
pub(super) fn run_flag_error(msg: &str) -> String {
    msg.replace("--n_", "--n-")
        .replace("--early_stopping", "--early-stopping")
        .replace("--label_smoothing", "--label-smoothing")
        .replace("--gce_q", "--gce-q")
}

/// Fails early, before any training, when `--save` cannot be honoured.
fn check_save(save: &Path, runs: usize) -> anyhow::Result<()> {
    if runs != 1 {
        anyhow::bail!(
            "--save {}: needs a single run, the config has {runs}; each run's model is \
             written to OUT/<run name>/{}",
            save.display(),
            results::MODEL_FILE
        );
    }
    let parent = save.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = parent.filter(|d| !d.is_dir()) {
        anyhow::bail!(
            "--save {}: folder {} does not exist",
            save.display(),
            dir.display()
        );
    }
    if save.is_dir() {
        anyhow::bail!("--save {}: is a folder; give a file name", save.display());
    }
    Ok(())
}

/// Where and how a command's results go.
struct Outputs {
    out: PathBuf,
    threads: usize,
    /// Where to save the (single) run's model too.
    save: Option<PathBuf>,
}

fn flag_error(msg: &str) -> String {
    msg.replace("train_batches", "--train-batches")
        .replace("validation.batch", "--val-batch")
        .replace("validation.hold_out", "--val-size")
}

fn run(
    config: &ExperimentConfig,
    data: &DataArgs,
    fetch: &FetchArgs,
    outputs: &Outputs,
) -> anyhow::Result<ExitCode> {
    let (out, threads) = (&outputs.out, outputs.threads);
    // The output folder is locked and checked before any work; nothing appears in
    // it unless every output was written: results, weights, figures, and the report last.
    let _lock = super::lock_out(out)?;
    let runs = config.check(config.n_train())?;
    results::check_targets(out, runs.iter().map(|h| h.name.as_str()))?;
    let mut stage = Staging::new(out)?;
    let (path, opts) = resolve_or_download(data, fetch)?;
    if let Some(save) = &outputs.save {
        check_save_not_input(save, &path)?;
    }
    let progress = Progress::for_stderr();
    let observers = |_: usize, h: &onelayer::config::Hyper| progress.observer(h);
    let exp = experiments::run_experiment(config, &path, &opts, threads, &observers)?;
    let weights: Vec<_> = exp.models.iter().map(|m| m.w.clone()).collect();
    // The figures and the report render on another thread while the weights and
    // model files are written.
    let (staged, rendered) = std::thread::scope(|s| {
        let rendered = s.spawn(|| report::render(&exp.results, &weights));
        let staged = results::stage_outputs(&mut stage, &exp);
        let rendered = rendered
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (staged, rendered)
    });
    staged?;
    let html = report::stage(&mut stage, rendered?)?;
    stage.commit()?;
    // Every file is written before anything is printed.
    if let Some(save) = &outputs.save {
        let file = exp.model_file(0).context("no trained run to save")?;
        file.save(save)?;
    }
    super::print_out(&exp.results.summary_table())?;
    outln!("results written to {}", out.join("results.json").display())?;
    outln!("report written to {}", html.display())?;
    if let Some(save) = &outputs.save {
        outln!("model saved to {}", save.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Fails, before any training, when `--save` names a data file being read: the
/// archive `data`, or a file in the data folder `data` (or one level below).
fn check_save_not_input(save: &Path, data: &Path) -> anyhow::Result<()> {
    let Ok(target) = std::fs::metadata(save) else {
        return Ok(());
    };
    let same = |p: &Path| std::fs::metadata(p).is_ok_and(|m| same_file(&m, &target));
    let mut inputs = vec![data.to_path_buf()];
    if data.is_dir() {
        for entry in std::fs::read_dir(data).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                inputs.extend(
                    std::fs::read_dir(&p)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .map(|e| e.path()),
                );
            }
            inputs.push(p);
        }
    }
    if let Some(input) = inputs.iter().find(|p| same(p)) {
        anyhow::bail!(
            "--save {}: is the data file {} that this command reads; give another file name",
            save.display(),
            input.display()
        );
    }
    Ok(())
}

/// Whether two files' metadata are of the same file.
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        a.len() == b.len() && a.modified().ok() == b.modified().ok()
    }
}
