//! `onelayer.train` and `onelayer.reproduce`: the library's one training loop and
//! the report's experiment, with the GIL released and Ctrl-C honoured.

use std::path::PathBuf;

use ndarray::Array2;
use pyo3::prelude::*;

use onelayer::config::{
    ConfigError, DEFAULT_SEED, ExperimentConfig, Hyper, RunConfig, SplitConfig, Validation,
};
use onelayer::data::{self, LabeledImages, ReadOptions};
use onelayer::download as dl;
use onelayer::features::{self, Features};
use onelayer::io::{OutputLock, Staging};
use onelayer::modelfile::{DataFingerprint, ModelFile, ModelMeta};
use onelayer::normalize::Normalizer;
use onelayer::train::{Observer, train_runs, with_threads};
use onelayer::{D, K, experiments, report};

use crate::arrays;
use crate::interrupt::{self, Watch};
use crate::model::Model;

/// The class names of CIFAR-10, in label order.
const CIFAR10_CLASSES: [&str; K] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// A setting given once or once per run.
#[derive(FromPyObject)]
pub enum OneOrMany {
    One(f64),
    Many(Vec<f64>),
}

impl OneOrMany {
    fn len(&self) -> Option<usize> {
        match self {
            OneOrMany::One(_) => None,
            OneOrMany::Many(v) => Some(v.len()),
        }
    }

    fn get(&self, i: usize) -> f64 {
        match self {
            OneOrMany::One(v) => *v,
            OneOrMany::Many(v) => v[i],
        }
    }
}

/// Trains one-layer networks by mini-batch gradient descent on the cross-entropy
/// plus ``lam·‖W‖²``, with onelayer's training loop (the numbers of
/// ``onelayer train`` for the same images, settings and seed).
///
/// - ``X``: uint8 images ``n×3072`` in the CIFAR-10 layout (as ``load_cifar10``
///   returns), or float32 features ``n×d`` (any ``d ≥ 1``: an embedding probed
///   linearly); ``y``: ``n`` integer labels in ``0..K``.
/// - ``X_val``, ``y_val``: an optional validation set of the same kind (``d``
///   columns for features), evaluated after every epoch (the history then has
///   ``val_*`` columns).
/// - ``lam`` (λ ≥ 0), ``eta`` (η > 0): a number, or lists for several runs
///   trained together in one pass over the data (paired; a number is used for
///   every run).
/// - ``n_epochs``, ``n_batch``: epochs, and images per step (an epoch takes
///   ``n // n_batch`` steps in order; the rest are left out, as in the report).
/// - ``seed``: initialisation ``W ~ N(0, 0.01²)`` (and shuffling);
///   ``shuffle``: a fresh permutation every epoch.
/// - ``class_names``: ``K`` names (CIFAR-10's by default).
///
/// Each dimension is standardised with the mean and (population) standard
/// deviation of ``X`` (images on the ``x/255`` scale, features as they are).
/// Images train through onelayer's fast kernels, features through its plain
/// maths (the same loop, initialisation and order of mini-batches).
/// Returns a ``Model`` (``W``: ``K×3072`` or ``K×d``), or a list of them when
/// ``lam`` or ``eta`` is a list. Features must be finite.
/// ``threads``: the threads that share out the evaluations and steps of images
/// (all cores by default; the results are the same for any number).
/// The GIL is released while training; Ctrl-C raises ``KeyboardInterrupt``.
///
/// >>> X, y, X_test, y_test = onelayer.load_cifar10()
/// >>> model = onelayer.train(X[:10000], y[:10000], X[10000:20000], y[10000:20000],
/// ...                        lam=0.1, eta=0.001, n_epochs=40, n_batch=100)
/// >>> round(model.score(X_test, y_test), 4)  # doctest: +SKIP
/// 0.3932
/// >>> models = onelayer.train(X[:10000], y[:10000], lam=[0, 0.1, 1], n_epochs=5)
/// >>> len(models)
/// 3
/// >>> E = embed(X[:10000]).astype(numpy.float32)  # any n×d embedding  # doctest: +SKIP
/// >>> probe = onelayer.train(E, y[:10000], lam=0.01, n_epochs=20)  # doctest: +SKIP
/// >>> probe.W.shape, probe.predict(E[:3]).shape  # doctest: +SKIP
/// ((10, 512), (3,))
#[pyfunction]
#[pyo3(signature = (
    X, y, X_val=None, y_val=None, *, lam=OneOrMany::One(0.0), eta=OneOrMany::One(0.001),
    n_epochs=40, n_batch=100, seed=DEFAULT_SEED, shuffle=false, class_names=None, threads=None
))]
#[allow(non_snake_case, clippy::too_many_arguments)]
pub fn train(
    py: Python<'_>,
    X: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    X_val: Option<&Bound<'_, PyAny>>,
    y_val: Option<&Bound<'_, PyAny>>,
    lam: OneOrMany,
    eta: OneOrMany,
    n_epochs: usize,
    n_batch: usize,
    seed: u64,
    shuffle: bool,
    class_names: Option<Vec<String>>,
    threads: Option<usize>,
) -> PyResult<Py<PyAny>> {
    let threads = crate::threads(threads)?;
    let class_names = class_names.unwrap_or_else(|| CIFAR10_CLASSES.map(String::from).to_vec());
    if class_names.len() != K {
        return Err(crate::error(format!(
            "class_names: onelayer trains {K} classes, got {} names",
            class_names.len()
        )));
    }
    let k = class_names.len();
    let settings = |n_train| settings(&lam, &eta, (n_epochs, n_batch, seed, shuffle), n_train);
    let validated = X_val.is_some() || y_val.is_some();
    let val = match (X_val, y_val) {
        (Some(x), Some(y)) => Some((x, y)),
        (None, None) => None,
        _ => {
            return Err(crate::error("X_val and y_val: give both or neither"));
        }
    };
    let (runs, hypers, n_val, normalizer, fingerprint, trained, d) = if arrays::is_float32(X) {
        // Float features: any d, standardised as they are, the plain maths.
        let x = arrays::features("X", X, None)?;
        let d = x.ncols();
        let labels = arrays::labels("y", y, x.nrows(), k)?;
        let (runs, hypers) = settings(labels.len())?;
        let (x_val, y_val) = match val {
            Some((xv, yv)) => {
                let xv = arrays::features("X_val", xv, Some((d, "the training features X")))?;
                let yv = arrays::labels("y_val", yv, xv.nrows(), k)?;
                (xv, yv)
            }
            None => (Array2::zeros((0, d)), vec![]),
        };
        let fingerprint = DataFingerprint::with_md5(
            "numpy arrays (float32 features)",
            &[],
            labels.len(),
            features::records_md5(x.view(), &labels),
        );
        let normalizer = Normalizer::fit_features(x.view());
        let n_val = y_val.len();
        let train_set = Features::new(x, labels, &normalizer);
        let val_set = Features::new(x_val, y_val, &normalizer);
        let trained = interrupt::run(py, |stop| {
            let mut watches: Vec<Watch> = hypers.iter().map(|_| Watch(stop.clone())).collect();
            let mut observers: Vec<&mut dyn Observer> =
                watches.iter_mut().map(|w| w as &mut dyn Observer).collect();
            features::train_runs(&hypers, &train_set, &val_set, &mut observers)
        })?
        .map_err(crate::error)?;
        (
            runs,
            hypers,
            n_val,
            normalizer,
            fingerprint,
            trained,
            Some(d),
        )
    } else {
        if X.cast::<numpy::PyArray2<u8>>().is_err() {
            return Err(crate::error(format!(
                "X: expected uint8 images of shape (n, {D}) or float32 features of shape \
                 (n, d), got {} (X.astype(numpy.float32) converts other numbers)",
                arrays::describe(X)
            )));
        }
        let train_set = labelled("X", "y", X, y, k)?;
        let val_set = match val {
            Some((x, y)) => labelled("X_val", "y_val", x, y, k)?,
            None => LabeledImages {
                pixels: vec![],
                labels: vec![],
            },
        };
        let (runs, hypers) = settings(train_set.len())?;
        let n_val = val_set.len();
        let fingerprint = DataFingerprint::of("numpy arrays", &[], &train_set);
        let normalizer = Normalizer::fit(&train_set);
        let train_data = normalizer.apply(train_set);
        let val_data = normalizer.apply(val_set);
        let trained = interrupt::run(py, |stop| {
            with_threads(threads, || {
                let mut watches: Vec<Watch> = hypers.iter().map(|_| Watch(stop.clone())).collect();
                let mut observers: Vec<&mut dyn Observer> =
                    watches.iter_mut().map(|w| w as &mut dyn Observer).collect();
                train_runs(&hypers, &train_data, &val_data, &mut observers)
            })
        })?;
        (runs, hypers, n_val, normalizer, fingerprint, trained, None)
    };
    let split = SplitConfig {
        train_batches: vec![],
        validation: Validation::HoldOut(n_val),
    };
    let mut models: Vec<Model> = hypers
        .into_iter()
        .zip(trained)
        .map(|(h, t)| Model {
            file: ModelFile {
                model: t.model,
                normalizer: normalizer.clone(),
                meta: {
                    let meta = ModelMeta::new(
                        class_names.clone(),
                        h,
                        split.clone(),
                        fingerprint.clone(),
                        None,
                    );
                    match d {
                        Some(d) => meta.for_features(d),
                        None => meta,
                    }
                },
            },
            history: Some(t.history),
            diverged_at_epoch: t.diverged_at_epoch,
            validated,
        })
        .collect();
    // One model for one setting, a list for lists.
    match (runs, models.pop()) {
        (None, Some(model)) => Ok(Py::new(py, model)?.into_any()),
        (_, last) => {
            models.extend(last);
            Ok(models.into_pyobject(py)?.into_any().unbind())
        }
    }
}

/// The checked settings of every run, and their number when `lam` or `eta` is a
/// list (`None`: one run of numbers).
fn settings(
    lam: &OneOrMany,
    eta: &OneOrMany,
    (n_epochs, n_batch, seed, shuffle): (usize, usize, u64, bool),
    n_train: usize,
) -> PyResult<(Option<usize>, Vec<Hyper>)> {
    let runs = match (lam.len(), eta.len()) {
        (Some(a), Some(b)) if a != b => {
            return Err(crate::error(format!(
                "lam and eta: lists of different lengths ({a} and {b}); give lists of \
                 one length, or a number for either"
            )));
        }
        (a, b) => a.or(b),
    };
    let hypers = (0..runs.unwrap_or(1))
        .map(|i| {
            let mut run = RunConfig::report(lam.get(i), eta.get(i));
            (run.n_epochs, run.n_batch, run.seed, run.shuffle) = (n_epochs, n_batch, seed, shuffle);
            run.check("", n_train)
                .map_err(|e| config_error(e, runs.map(|_| i)))
        })
        .collect::<PyResult<Vec<Hyper>>>()?;
    Ok((runs, hypers))
}

/// Images `xn` with labels `yn`, checked.
fn labelled(
    xn: &str,
    yn: &str,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    k: usize,
) -> PyResult<LabeledImages> {
    let pixels = arrays::images(xn, x)?;
    let labels = arrays::labels(yn, y, pixels.len() / D, k)?;
    Ok(LabeledImages { pixels, labels })
}

/// A setting's error, named as the Python argument (`lam`, `eta[2]`).
fn config_error(e: ConfigError, run: Option<usize>) -> PyErr {
    match e {
        ConfigError::Invalid { field, reason } => {
            let name = if field == "lambda" {
                "lam".to_string()
            } else {
                field
            };
            let name = match run {
                Some(i) if name == "lam" || name == "eta" => format!("{name}[{i}]"),
                _ => name,
            };
            crate::error(format!("{name}: {reason}"))
        }
        e => crate::error(e),
    }
}

/// Runs the report's experiment as ``onelayer reproduce`` does: reads the data
/// (``path``, else ``$CIFAR10_DIR``, else ``./data``), checks the gradients,
/// trains the four settings (λ, η) = (0, .1), (0, .001), (.1, .001), (1, .001)
/// for 40 epochs of batches of 100 on batch 1 (batch 2 validates), and writes
/// ``results.json``, the weights, the model files, the figures and
/// ``report.html`` into ``out``.
///
/// With ``download=True``, data that is not found is first downloaded (the
/// official binary archive, md5-verified, or from ``url``, a mirror) into the data
/// folder (``path``, else ``$CIFAR10_DIR``, else ``./data`` if it exists, else
/// the per-user cache), as ``onelayer reproduce --download`` does.
///
/// Returns the four ``Model``s, with their histories. ``threads`` defaults to
/// all cores. Ctrl-C raises ``KeyboardInterrupt`` and leaves ``out`` as it was.
///
/// >>> models = onelayer.reproduce("cifar-10-batches-bin", "results")  # doctest: +SKIP
/// >>> [round(m.meta["test_accuracy"], 4) for m in models]  # doctest: +SKIP
#[pyfunction]
#[pyo3(signature = (
    path=None, out=PathBuf::from("results"), *, threads=None, allow_modified=false,
    download=false, url=None
))]
#[allow(clippy::too_many_arguments)]
pub fn reproduce(
    py: Python<'_>,
    path: Option<PathBuf>,
    out: PathBuf,
    threads: Option<usize>,
    allow_modified: bool,
    download: bool,
    url: Option<String>,
) -> PyResult<Vec<Model>> {
    let threads = crate::threads(threads)?;
    let config = ExperimentConfig::report();
    let exp = interrupt::run(py, |stop| -> onelayer::Result<_, String> {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        // The output folder is locked and checked before any work, and written all at once.
        let _lock =
            OutputLock::acquire(&out, "onelayer.reproduce (Python)").map_err(|e| err(&e))?;
        let runs = config.check(config.n_train()).map_err(|e| err(&e))?;
        experiments::check_targets(&out, runs.iter().map(|h| h.name.as_str()))
            .map_err(|e| err(&e))?;
        let mut stage = Staging::new(&out).map_err(|e| err(&e))?;
        let path = locate(path, download, url.as_deref(), stop)?;
        let opts = ReadOptions { allow_modified };
        let observers =
            |_: usize, _: &Hyper| -> Box<dyn Observer + Send> { Box::new(Watch(stop.clone())) };
        let exp = experiments::run_experiment(&config, &path, &opts, threads, &observers)
            .map_err(|e| err(&e))?;
        let weights: Vec<_> = exp.models.iter().map(|m| m.w.clone()).collect();
        experiments::stage_outputs(&mut stage, &exp).map_err(|e| err(&e))?;
        let files = report::render(&exp.results, &weights).map_err(|e| err(&e))?;
        report::stage(&mut stage, files).map_err(|e| err(&e))?;
        stage.commit().map_err(|e| err(&e))?;
        Ok(exp)
    })?
    .map_err(crate::error)?;
    (0..exp.models.len())
        .map(|i| {
            let file = exp
                .model_file(i)
                .ok_or_else(|| crate::error("a run without a model"))?;
            Ok(Model {
                file,
                history: exp.results.runs.get(i).map(|r| r.history.clone()),
                diverged_at_epoch: exp.results.runs.get(i).and_then(|r| r.diverged_at_epoch),
                validated: true,
            })
        })
        .collect()
}

/// The data's folder: located as `load_cifar10` does, or with `download`, found
/// or downloaded as `onelayer reproduce --download` does (from `url` if given).
fn locate(
    path: Option<PathBuf>,
    download: bool,
    url: Option<&str>,
    stop: &interrupt::Stop,
) -> Result<PathBuf, String> {
    if !download {
        return data::locate(path.as_deref()).map_err(|e| match e {
            data::DataError::NotLocated { .. } => {
                format!("{e}; or pass download=True to download it there")
            }
            e => e.to_string(),
        });
    }
    match dl::data_or_target(path.as_deref()) {
        Some(Ok(found)) => Ok(found),
        Some(Err(target)) => {
            let spec = dl::DownloadSpec::official(dl::Format::Binary, url);
            let got = dl::download(&spec, &target, &mut |_| stop.check())
                .map_err(|e| format!("downloading CIFAR-10 into {}: {e}", target.display()))?;
            Ok(got.folder)
        }
        None => Err(
            "no per-user cache folder to download into: set $XDG_CACHE_HOME or \
                     $HOME, or give the folder as path"
                .to_string(),
        ),
    }
}
