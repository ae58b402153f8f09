//! Running a search: parallel workers, records streamed to disk as runs finish,
//! resumption after an interruption, and the one test of the best run.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use super::records::{self, RECORDS, TABLE, check_run_targets, run_dir};
use super::{BestRun, SearchConfig, SearchError, SearchRecord, SearchSummary};
use crate::config::{Hyper, RunConfig};
use crate::io;
use crate::kernels;
use crate::model::Model;
use crate::normalize::Dataset;
use crate::train::{Observer, Silent, Trained, pool};

/// How to run a search.
#[derive(Debug, Clone, Copy)]
pub struct SearchOptions {
    /// Runs trained at once, one core each.
    pub threads: usize,
    /// Stop after this many new runs (the rest wait for the next invocation).
    pub max_new_runs: Option<usize>,
}

/// The best run and its test result.
pub const BEST: &str = "best.json";

/// Runs the candidates of `cfg` not yet recorded in `out`, then, once every
/// candidate has run, picks the best on validation and tests it (see the
/// [module documentation](super)). `on_done` sees every newly finished record.
///
/// The runs train on the worker pool ([`pool::for_each_group`]), each alone and
/// in the candidates' order, so that each record is written as its run finishes.
pub fn run_search(
    cfg: &SearchConfig,
    data: (&Dataset, &Dataset, &Dataset),
    out: &Path,
    opts: &SearchOptions,
    on_done: &(dyn Fn(&SearchRecord) + Sync),
) -> Result<SearchSummary, SearchError> {
    let (train_set, val_set, test_set) = data;
    let (candidates, hypers): (Vec<RunConfig>, Vec<Hyper>) =
        cfg.checked_candidates(train_set.len())?.into_iter().unzip();
    io::create_dir(out)?;
    let records = records::load(out, &candidates)?;
    write_config(cfg, out)?;
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
    let running = Running {
        candidates: &candidates,
        hypers: &hypers,
        sets: (train_set, val_set),
        out,
        on_done,
        state: Mutex::new((records, None)),
    };
    let alone: Vec<Vec<usize>> = pending.iter().map(|&i| vec![i]).collect();
    pool::for_each_group(&hypers, &alone, running.sets, opts.threads, &|g, m| {
        running.train(g, m)
    });
    let records = running.finish()?;
    let best = (records.len() == candidates.len())
        .then(|| test_best(&records, out, test_set))
        .transpose()?;
    Ok(SearchSummary {
        records,
        candidates: candidates.len(),
        best,
    })
}

/// A search under way: its runs, and the records so far with the first error.
struct Running<'a> {
    candidates: &'a [RunConfig],
    /// The candidates, checked.
    hypers: &'a [Hyper],
    /// The training and validation sets.
    sets: (&'a Dataset, &'a Dataset),
    out: &'a Path,
    on_done: &'a (dyn Fn(&SearchRecord) + Sync),
    state: Mutex<(Vec<SearchRecord>, Option<SearchError>)>,
}

impl Running<'_> {
    /// Trains a group of candidates (see [`pool::train_group`]), saves each run's
    /// weights and rewrites the records; breaks on the first error, kept in `state`.
    fn train(&self, group: &[usize], member: Option<kernels::TeamMember>) -> ControlFlow<()> {
        let start = Instant::now();
        let hs: Vec<Hyper> = group.iter().map(|&i| self.hypers[i].clone()).collect();
        let mut silent = vec![Silent; hs.len()];
        let mut obs: Vec<&mut dyn Observer> =
            silent.iter_mut().map(|o| o as &mut dyn Observer).collect();
        let trained = pool::train_group(&hs, self.sets, member, &mut obs);
        for ((&i, h), t) in group.iter().zip(&hs).zip(trained) {
            let (run, out) = (&self.candidates[i], self.out);
            let rec = save_run(i, run, h, t, self.sets.1, out, start);
            let Ok(mut st) = self.state.lock() else {
                return ControlFlow::Break(());
            };
            let saved = rec.and_then(|rec| {
                st.0.push(rec.clone());
                st.0.sort_by_key(|r| r.index);
                records::write(out, &st.0)?;
                Ok(rec)
            });
            match saved {
                Ok(rec) => (self.on_done)(&rec),
                Err(e) => {
                    st.1.get_or_insert(e);
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    }

    /// The records, or the first error.
    fn finish(self) -> Result<Vec<SearchRecord>, SearchError> {
        match self.state.into_inner().unwrap_or_else(|e| e.into_inner()) {
            (_, Some(e)) => Err(e),
            (records, None) => Ok(records),
        }
    }
}

/// Writes the search file as run to `search.toml`, atomically.
fn write_config(cfg: &SearchConfig, out: &Path) -> Result<(), SearchError> {
    let toml = toml::to_string_pretty(cfg).map_err(|e| io::OutputError::Write {
        path: out.join("search.toml"),
        source: std::io::Error::other(e),
    })?;
    io::write_bytes_atomic(&out.join("search.toml"), toml.as_bytes())?;
    Ok(())
}

/// Saves the weights of candidate `i` (`run`, checked: `h`), trained since
/// `start`, and returns its record with its result on the validation set.
fn save_run(
    i: usize,
    run: &RunConfig,
    h: &Hyper,
    t: Trained,
    val_set: &Dataset,
    out: &Path,
    start: Instant,
) -> Result<SearchRecord, SearchError> {
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

/// Tests the best run's saved weights and writes `best.json`.
fn test_best(records: &[SearchRecord], out: &Path, test: &Dataset) -> Result<BestRun, SearchError> {
    let best = records::pick_best(records).ok_or_else(|| SearchError::Read {
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
