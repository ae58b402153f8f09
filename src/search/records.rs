//! The search's records: one per finished run, in `search.jsonl` (one JSON
//! object per line) and `search.csv`, read back to resume a search, and the pick
//! of the best run on validation.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::SearchError;
use crate::config::RunConfig;
use crate::io;

/// File of the records, one JSON object per line.
pub const RECORDS: &str = "search.jsonl";
/// The same records as a table.
pub const TABLE: &str = "search.csv";

/// What the search records of one finished run: its settings and its result on
/// the validation set (never the test set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRecord {
    /// Position of the run among the search's candidates.
    pub index: usize,
    /// The run's settings (its name is `run<index>`).
    pub run: RunConfig,
    /// Validation accuracy of the weights kept, as a fraction.
    pub val_accuracy: f64,
    /// Validation loss of the weights kept.
    pub val_loss: f64,
    /// Training accuracy at the last epoch.
    pub train_accuracy: f64,
    /// Epochs trained.
    pub epochs: usize,
    /// The epoch whose weights were kept.
    pub kept_epoch: usize,
    /// Whether the run diverged.
    pub diverged: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The folder of a run's weights.
pub(super) fn run_dir(out: &Path, run: &RunConfig) -> PathBuf {
    out.join(run_rel(run))
}

/// [`run_dir`] relative to the output folder.
fn run_rel(run: &RunConfig) -> PathBuf {
    Path::new("runs").join(run.name.as_deref().unwrap_or("run"))
}

/// Checks that a run's weights can be written without following a link (see
/// [`io::check_target`]).
pub(super) fn check_run_targets(out: &Path, run: &RunConfig) -> Result<(), io::OutputError> {
    for file in ["W.npy", "b.npy"] {
        io::check_target(out, &run_rel(run).join(file))?;
    }
    Ok(())
}

/// Reads the records of a previous invocation, checking that each matches this
/// search's candidate of the same index; records whose weights are missing are
/// dropped (those runs train again).
pub(super) fn load(out: &Path, candidates: &[RunConfig]) -> Result<Vec<SearchRecord>, SearchError> {
    let path = out.join(RECORDS);
    let text =
        match crate::input::read_to_string(&path, crate::input::limit::TEXT, "a records file") {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => {
                return Err(SearchError::Read {
                    path,
                    reason: e.to_string(),
                });
            }
        };
    let mut records = vec![];
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let resume = |reason: String| SearchError::Resume {
            path: path.clone(),
            line: n + 1,
            reason,
        };
        let rec: SearchRecord =
            serde_json::from_str(line).map_err(|e| resume(format!("not a search record: {e}")))?;
        match candidates.get(rec.index) {
            Some(c) if *c == rec.run => {}
            Some(_) => {
                return Err(resume(format!(
                    "run{:03} was trained with other settings than this search's",
                    rec.index
                )));
            }
            None => {
                return Err(resume(format!(
                    "run{:03} is beyond this search's {} candidates",
                    rec.index,
                    candidates.len()
                )));
            }
        }
        let dir = run_dir(out, &rec.run);
        if dir.join("W.npy").is_file() && dir.join("b.npy").is_file() {
            records.push(rec);
        }
    }
    records.sort_by_key(|r| r.index);
    records.dedup_by_key(|r| r.index);
    Ok(records)
}

/// Rewrites `search.jsonl` and `search.csv` atomically.
pub(super) fn write(out: &Path, records: &[SearchRecord]) -> Result<(), SearchError> {
    let mut jsonl = String::new();
    let mut csv = String::from(
        "index,name,lambda,eta,n_batch,schedule,loss,label_smoothing,gce_q,flip,translate,n_epochs,seed,\
         epochs,kept_epoch,train_accuracy,val_accuracy,val_loss,diverged,seconds\n",
    );
    for r in records {
        let line = serde_json::to_string(r).map_err(|e| io::OutputError::Write {
            path: out.join(RECORDS),
            source: e.into(),
        })?;
        jsonl += &line;
        jsonl.push('\n');
        let u = &r.run;
        csv += &format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.4},{:.4},{:.5},{},{:.1}\n",
            r.index,
            u.name.as_deref().unwrap_or(""),
            u.lambda,
            u.eta,
            u.n_batch,
            u.options.schedule.label(),
            u.options.loss,
            u.options.label_smoothing,
            u.options.gce_q,
            u.options.flip,
            u.options.translate,
            u.n_epochs,
            u.seed,
            r.epochs,
            r.kept_epoch,
            r.train_accuracy,
            r.val_accuracy,
            r.val_loss,
            r.diverged,
            r.seconds
        );
    }
    io::write_bytes_atomic(&out.join(RECORDS), jsonl.as_bytes())?;
    io::write_bytes_atomic(&out.join(TABLE), csv.as_bytes())?;
    Ok(())
}

/// The best record on validation: highest accuracy among runs that did not
/// diverge, then lowest validation loss, then first.
pub fn pick_best(records: &[SearchRecord]) -> Option<&SearchRecord> {
    records.iter().min_by(|a, b| {
        (a.diverged, -a.val_accuracy, a.val_loss, a.index)
            .partial_cmp(&(b.diverged, -b.val_accuracy, b.val_loss, b.index))
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}
