//! Running a search: parallel workers, records streamed to disk as runs finish,
//! resumption after an interruption, and the one test of the best run.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use super::{BestRun, SearchConfig, SearchError, SearchRecord, SearchSummary};
use crate::config::RunConfig;
use crate::io;
use crate::kernels;
use crate::model::Model;
use crate::normalize::Dataset;
use crate::train::{self, Silent};

/// How to run a search.
#[derive(Debug, Clone, Copy)]
pub struct SearchOptions {
    /// Runs trained at once, one core each.
    pub threads: usize,
    /// Stop after this many new runs (the rest wait for the next invocation).
    pub max_new_runs: Option<usize>,
}

/// File of the records, one JSON object per line.
pub const RECORDS: &str = "search.jsonl";
/// The same records as a table.
pub const TABLE: &str = "search.csv";
/// The best run and its test result.
pub const BEST: &str = "best.json";

/// Runs the candidates of `cfg` not yet recorded in `out`, then, once every
/// candidate has run, picks the best on validation and tests it (see the
/// [module documentation](super)). `on_done` sees every newly finished record.
pub fn run_search(
    cfg: &SearchConfig,
    data: (&Dataset, &Dataset, &Dataset),
    out: &Path,
    opts: &SearchOptions,
    on_done: &(dyn Fn(&SearchRecord) + Sync),
) -> Result<SearchSummary, SearchError> {
    let (train_set, val_set, test_set) = data;
    let candidates = cfg.candidates(train_set.len())?;
    io::create_dir(out)?;
    let mut records = load_records(out, &candidates)?;
    let toml = toml::to_string_pretty(cfg).map_err(|e| io::OutputError::Write {
        path: out.join("search.toml"),
        source: std::io::Error::other(e),
    })?;
    io::write_bytes_atomic(&out.join("search.toml"), toml.as_bytes())?;
    let mut pending: Vec<usize> = (0..candidates.len())
        .filter(|i| !records.iter().any(|r| r.index == *i))
        .collect();
    pending.truncate(opts.max_new_runs.unwrap_or(usize::MAX));
    // Every output's place is checked before any training: no link, no collision.
    for top in ["search.toml", RECORDS, TABLE, BEST] {
        io::check_target(out, Path::new(top))?;
    }
    for &i in &pending {
        check_run_targets(out, &candidates[i])?;
    }
    let next = AtomicUsize::new(0);
    let state = Mutex::new((std::mem::take(&mut records), None::<SearchError>));
    std::thread::scope(|scope| {
        for _ in 0..opts.threads.clamp(1, pending.len().max(1)) {
            scope.spawn(|| {
                while let Some(&i) = pending.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let rec = train_one(i, &candidates[i], train_set, val_set, out);
                    let Ok(mut st) = state.lock() else { break };
                    let saved = rec.and_then(|rec| {
                        st.0.push(rec.clone());
                        st.0.sort_by_key(|r| r.index);
                        write_records(out, &st.0)?;
                        Ok(rec)
                    });
                    match saved {
                        Ok(rec) => on_done(&rec),
                        Err(e) => {
                            st.1.get_or_insert(e);
                            next.store(pending.len(), Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let (records, error) = state.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = error {
        return Err(e);
    }
    let best = if records.len() == candidates.len() {
        Some(test_best(&records, out, test_set)?)
    } else {
        None
    };
    Ok(SearchSummary {
        records,
        candidates: candidates.len(),
        best,
    })
}

fn run_dir(out: &Path, run: &RunConfig) -> PathBuf {
    out.join(run_rel(run))
}

/// [`run_dir`] relative to the output folder.
fn run_rel(run: &RunConfig) -> PathBuf {
    Path::new("runs").join(run.name.as_deref().unwrap_or("run"))
}

/// Checks that a run's weights can be written without following a link (see
/// [`io::check_target`]).
fn check_run_targets(out: &Path, run: &RunConfig) -> Result<(), io::OutputError> {
    for file in ["W.npy", "b.npy"] {
        io::check_target(out, &run_rel(run).join(file))?;
    }
    Ok(())
}

/// Trains candidate `i`, saves its weights and returns its record.
fn train_one(
    i: usize,
    run: &RunConfig,
    train_set: &Dataset,
    val_set: &Dataset,
    out: &Path,
) -> Result<SearchRecord, SearchError> {
    let start = Instant::now();
    let h = run.check(&format!("run{i:03}."), train_set.len())?;
    let t = train::train(&h, train_set, val_set, &mut Silent);
    let val = kernels::evaluate_loss(&t.model, val_set, h.lambda, h.options.reported_loss());
    let dir = run_dir(out, run);
    check_run_targets(out, run)?;
    io::create_dir(&dir)?;
    write_npy(&dir.join("W.npy"), &t.model.w)?;
    write_npy(&dir.join("b.npy"), &t.model.b)?;
    let epochs = t.history.epochs();
    Ok(SearchRecord {
        index: i,
        run: run.clone(),
        val_accuracy: val.accuracy,
        val_loss: if val.loss.is_finite() {
            val.loss
        } else {
            f64::MAX
        },
        train_accuracy: t.history.train_accuracy.last().copied().unwrap_or(0.0),
        epochs,
        kept_epoch: t.best_epoch.unwrap_or(epochs),
        diverged: t.diverged_at_epoch.is_some(),
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Reads the records of a previous invocation, checking that each matches this
/// search's candidate of the same index; records whose weights are missing are
/// dropped (those runs train again).
fn load_records(out: &Path, candidates: &[RunConfig]) -> Result<Vec<SearchRecord>, SearchError> {
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
fn write_records(out: &Path, records: &[SearchRecord]) -> Result<(), SearchError> {
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

/// Tests the best run's saved weights and writes `best.json`.
fn test_best(records: &[SearchRecord], out: &Path, test: &Dataset) -> Result<BestRun, SearchError> {
    let best = pick_best(records).ok_or_else(|| SearchError::Read {
        path: out.join(RECORDS),
        reason: "no finished run".into(),
    })?;
    let dir = run_dir(out, &best.run);
    let model = Model {
        w: read_npy::<ndarray::Ix2>(&dir.join("W.npy"))?,
        b: read_npy::<ndarray::Ix1>(&dir.join("b.npy"))?,
    };
    let m = kernels::evaluate_loss(
        &model,
        test,
        best.run.lambda,
        best.run.options.loss.reported(),
    );
    let result = BestRun {
        record: best.clone(),
        test_accuracy: m.accuracy,
        test_loss: m.loss,
    };
    let json = serde_json::to_vec_pretty(&result).map_err(|e| io::OutputError::Write {
        path: out.join(BEST),
        source: e.into(),
    })?;
    io::write_bytes_atomic(&out.join(BEST), &json)?;
    Ok(result)
}

/// Writes a float32 array as a `.npy` file, atomically.
fn write_npy<A, D>(path: &Path, a: &ndarray::ArrayBase<A, D>) -> Result<(), io::OutputError>
where
    A: ndarray::Data<Elem = f32>,
    D: ndarray::Dimension,
{
    use ndarray_npy::WriteNpyExt;
    io::write_atomic(path, |w| a.write_npy(w).map_err(std::io::Error::other))
}

/// Reads a float32 `.npy` array.
pub fn read_npy<D: ndarray::Dimension>(path: &Path) -> Result<ndarray::Array<f32, D>, SearchError> {
    let err = |reason: String| SearchError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = crate::input::read(path, crate::input::limit::MODEL, "a weights file")
        .map_err(|e| err(e.to_string()))?;
    crate::npy::read(&bytes).map_err(err)
}
