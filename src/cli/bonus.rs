//! `onelayer bonus`: the best recipe found, its ensemble, the sigmoid comparison
//! and the report section comparing them with the report's four settings.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use onelayer::bonus::{self, BonusConfig, section};
use onelayer::config::{ExperimentConfig, SplitConfig};
use onelayer::results::{Results, RunResult};
use onelayer::{data, train};

use super::DataArgs;
use super::progress::Progress;

/// The shipped recipe, used when no --config is given.
const SHIPPED: &str = include_str!("../../configs/bonus.toml");

/// Arguments of `bonus`.
#[derive(Debug, Args)]
pub struct BonusArgs {
    #[command(flatten)]
    data: DataArgs,
    /// TOML bonus file (default: the shipped configs/bonus.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "results-bonus")]
    out: PathBuf,
    /// The report's results.json (from `onelayer reproduce`) to compare with;
    /// without it the report's four settings are trained again.
    #[arg(long, value_name = "FILE")]
    compare: Option<PathBuf>,
    /// Threads (default: all cores): one per stack of runs, and those left over
    /// share out the stacks' steps and evaluations.
    #[arg(long)]
    threads: Option<usize>,
}

fn report_runs(a: &BonusArgs, threads: usize) -> anyhow::Result<Vec<RunResult>> {
    if let Some(p) = &a.compare {
        let text =
            onelayer::input::read_to_string(p, onelayer::input::limit::TEXT, "a results file")
                .with_context(|| format!("--compare {}", p.display()))?;
        let r: Results = serde_json::from_str(&text).with_context(|| {
            format!(
                "--compare {}: not a results.json of onelayer reproduce",
                p.display()
            )
        })?;
        r.check()
            .map_err(|m| anyhow::anyhow!("--compare {}: {m}", p.display()))?;
        return Ok(r.runs);
    }
    let (path, opts) = a.data.resolve()?;
    let report = ExperimentConfig::report();
    report.check(report.n_train())?;
    let data = data::prepare(&path, &SplitConfig::default(), &opts)?;
    let hypers = report.check(data.train.len())?;
    let progress = Progress::for_stderr();
    let outs = train::run_all(&hypers, &data, threads, &|_, h| progress.observer(h));
    Ok(outs.into_iter().map(|o| o.result).collect())
}

/// Trains the bonus runs and writes their results, figures and section.
pub fn run(a: BonusArgs) -> anyhow::Result<ExitCode> {
    let cfg: BonusConfig = match &a.config {
        Some(p) => BonusConfig::from_file(p)?,
        None => toml::from_str(SHIPPED).context("the shipped configs/bonus.toml")?,
    };
    let threads = super::reproduce::default_threads(a.threads)?;
    let _lock = super::lock_out(&a.out)?;
    let (path, opts) = a.data.resolve()?;
    let data = data::prepare(&path, &cfg.split, &opts)?;
    cfg.runs(data.train.len())?;
    let report = report_runs(&a, threads)?;
    let progress = Progress::for_stderr();
    let out = bonus::run_bonus(&cfg, &data, report, threads, &|_, h| progress.observer(h))?;
    section::write(&a.out, &cfg, &out)
        .with_context(|| format!("writing results to {}", a.out.display()))?;
    for r in section::table(&out.results) {
        outln!("{:<44} {:>8}", r[0], r[8])?;
    }
    outln!("results written to {}", a.out.join("bonus.json").display())?;
    Ok(ExitCode::SUCCESS)
}
