//! `onelayer report DIR`: the figures and the report again, from a results
//! folder, without training.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use onelayer::report;

/// Arguments of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A results folder written by `reproduce` or `train` (results.json and <run>/W.npy).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
}

/// Reads and checks `DIR/results.json` and every `DIR/<run>/W.npy`, then writes
/// the figures, `report.md` and `report.html`; on bad input it writes nothing.
pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    // A folder that is not there gets no lock (and is not created): loading says what is missing.
    let _lock = match a.dir.is_dir() {
        true => Some(super::lock_out(&a.dir)?),
        false => None,
    };
    let (results, weights) = report::load(&a.dir)?;
    let html = report::write(&a.dir, &results, &weights)?;
    super::print_out(&results.summary_table())?;
    outln!(
        "report written to {} in {:.2} s",
        html.display(),
        start.elapsed().as_secs_f64()
    )?;
    Ok(ExitCode::SUCCESS)
}
