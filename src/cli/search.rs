//! `onelayer search`: a grid or random search, resumable, picked on validation.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use onelayer::data;
use onelayer::search::{self, SearchConfig, SearchOptions, SearchRecord};

use super::DataArgs;

/// Arguments of `search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    data: DataArgs,
    /// TOML search file: [split], [base], [space] and optionally [random].
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Output folder; a search started there before resumes.
    #[arg(long, value_name = "DIR", default_value = "search")]
    out: PathBuf,
    /// Runs trained at once, one core each (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Stop after this many new runs; run again to continue.
    #[arg(long, value_name = "N")]
    max_runs: Option<usize>,
}

fn line(r: &SearchRecord) -> String {
    let u = &r.run;
    let smoothing = match (u.options.label_smoothing, u.options.gce_q) {
        (0.0, 0.0) => String::new(),
        (0.0, q) => format!("gce q {q:<4} "),
        (e, _) => format!("smooth {e:<5}"),
    };
    format!(
        "{:<7} lambda {:<8} eta {:<8} batch {:<4} {:<18} {smoothing}val acc {:6.2}% loss {:7.4}  epoch {:>3}/{:<3} {:6.1} s{}",
        u.name.as_deref().unwrap_or(""),
        u.lambda,
        u.eta,
        u.n_batch,
        u.options.schedule.label(),
        100.0 * r.val_accuracy,
        r.val_loss,
        r.kept_epoch,
        r.epochs,
        r.seconds,
        if r.diverged { "  diverged" } else { "" }
    )
}

/// Runs the search and prints one line per finished run, then the best run's
/// test accuracy once the search is complete.
pub fn run(a: SearchArgs) -> anyhow::Result<ExitCode> {
    let cfg = SearchConfig::from_file(&a.config)?;
    // Every candidate is checked before any work, with errors naming the file.
    cfg.candidates(cfg.split.n_train())
        .map_err(|e| anyhow::anyhow!("config {}: {e}", a.config.display()))?;
    let threads = super::reproduce::default_threads(a.threads)?;
    if a.max_runs == Some(0) {
        anyhow::bail!("--max-runs: must be at least 1");
    }
    let _lock = super::lock_out(&a.out)?;
    let (path, opts) = a.data.resolve()?;
    let data = data::prepare(&path, &cfg.split, &opts)?;
    let summary = search::run_search(
        &cfg,
        (&data.train, &data.val, &data.test),
        &a.out,
        &SearchOptions {
            threads,
            max_new_runs: a.max_runs,
        },
        &|r| errln!("{}", line(r)),
    )
    .with_context(|| format!("search in {}", a.out.display()))?;
    outln!(
        "{} of {} runs recorded in {}",
        summary.records.len(),
        summary.candidates,
        a.out.join(search::RECORDS).display()
    )?;
    let mut ranked: Vec<&SearchRecord> = summary.records.iter().collect();
    ranked.sort_by(|x, y| y.val_accuracy.total_cmp(&x.val_accuracy));
    outln!("best on validation:")?;
    for r in ranked.iter().take(5) {
        outln!("  {}", line(r))?;
    }
    match summary.best {
        Some(b) => outln!(
            "picked {} on validation ({:.2}%): test accuracy {:.2}% (written to {})",
            b.record.run.name.as_deref().unwrap_or(""),
            100.0 * b.record.val_accuracy,
            100.0 * b.test_accuracy,
            a.out.join(search::BEST).display()
        )?,
        None => outln!("incomplete: run the same command again to continue")?,
    }
    Ok(ExitCode::SUCCESS)
}
