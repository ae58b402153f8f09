//! `onelayer.Model` and `onelayer.load`: a trained network as the library's model
//! file holds it, with its history when it was trained in this process.

use std::path::PathBuf;

use ndarray::{Array1, Array2};
use numpy::{IntoPyArray, PyArray1, PyArray2, ToPyArray};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use onelayer::data::LabeledImages;
use onelayer::features::{self, Features};
use onelayer::loss::Loss;
use onelayer::model::argmax;
use onelayer::modelfile::{InputKind, ModelFile};
use onelayer::results::History;
use onelayer::{D, classify, kernels};

use crate::arrays;

/// A trained one-layer network: ``s = W z + b`` on ``z = (x/255 − mean) / std``,
/// ``p = softmax(s)``, for images ``x`` of 3072 bytes in the CIFAR-10 layout; or,
/// for a model trained on float32 features ``x`` of ``d`` values,
/// ``z = (x − mean) / std``.
///
/// Attributes (numpy copies): ``W`` float32 ``K×d`` (``d = 3072`` for images),
/// ``b`` float32 ``K``, ``mean`` and ``std`` float32 ``d`` (images: on the
/// ``x/255`` scale); ``input_kind`` (``"images"`` or ``"features"``);
/// ``class_names`` (``K`` strings); ``meta`` (the model file's ``meta.json`` as a
/// dict: settings, seed, data fingerprint); ``history`` (a dict of per-epoch
/// lists that ``pandas.DataFrame`` accepts, or ``None`` for a loaded model).
///
/// >>> model = onelayer.train(X_train[:10000], y_train[:10000], lam=0.1, n_epochs=5)
/// >>> model.W.shape, model.predict(X_test[:3])
/// ((10, 3072), array([6, 9, 8]))
#[pyclass(module = "onelayer", frozen)]
pub struct Model {
    pub file: ModelFile,
    pub history: Option<History>,
    pub diverged_at_epoch: Option<usize>,
    /// Whether the history has validation metrics.
    pub validated: bool,
}

#[pymethods]
impl Model {
    /// Weights, float32 ``K×d`` (``K×3072`` for images).
    #[getter(W)]
    fn w<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        self.file.model.w.to_pyarray(py)
    }

    /// Bias, float32 ``K``.
    #[getter]
    fn b<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.file.model.b.to_pyarray(py)
    }

    /// Per-dimension training mean, float32 ``d`` (images: on the ``x/255`` scale).
    #[getter]
    fn mean<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.file.normalizer.mean.to_pyarray(py)
    }

    /// Per-dimension training standard deviation (population), float32 ``d``.
    #[getter]
    fn std<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.file.normalizer.std.to_pyarray(py)
    }

    /// What the model classifies: ``"images"`` (uint8 ``n×3072``) or
    /// ``"features"`` (float32 ``n×d``).
    #[getter]
    fn input_kind(&self) -> &'static str {
        match self.file.meta.input_kind {
            InputKind::Images => "images",
            InputKind::Features => "features",
        }
    }

    /// Class names in label order, ``K``.
    #[getter]
    fn class_names(&self) -> Vec<String> {
        self.file.meta.class_names.clone()
    }

    /// The model file's metadata (``meta.json``) as a dict.
    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let json = serde_json::to_string(&self.file.meta).map_err(crate::error)?;
        py.import("json")?.call_method1("loads", (json,))
    }

    /// Per-epoch metrics on the whole training and validation sets: a dict of
    /// lists ``epoch``, ``train_loss``, ``train_cost``, ``train_accuracy`` and,
    /// with a validation set, ``val_loss``, ``val_cost``, ``val_accuracy``
    /// (accuracies as fractions). ``None`` for a model loaded from a file.
    ///
    /// >>> pandas.DataFrame(model.history).set_index("epoch").tail(1)  # doctest: +SKIP
    #[getter]
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(h) = &self.history else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("epoch", (1..=h.epochs()).collect::<Vec<_>>())?;
        d.set_item("train_loss", &h.train_loss)?;
        d.set_item("train_cost", &h.train_cost)?;
        d.set_item("train_accuracy", &h.train_accuracy)?;
        if self.validated {
            d.set_item("val_loss", &h.val_loss)?;
            d.set_item("val_cost", &h.val_cost)?;
            d.set_item("val_accuracy", &h.val_accuracy)?;
        }
        Ok(Some(d))
    }

    /// The epoch (from 1) in which the cost became non-finite, if it did; the
    /// weights are then those of the epoch before.
    #[getter]
    fn diverged_at_epoch(&self) -> Option<usize> {
        self.diverged_at_epoch
    }

    /// Class probabilities of uint8 images ``X: n×3072`` (or, for a model of
    /// features, float32 features ``X: n×d``): float32 ``n×K``, rows summing to 1.
    ///
    /// >>> model.predict_proba(X_test[:2]).shape
    /// (2, 10)
    #[allow(non_snake_case)]
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        X: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let p = match self.features("X", X)? {
            Some(x) => py.detach(|| {
                features::probabilities(&self.file.model, &self.file.normalizer, x.view())
            }),
            None => {
                let pixels = arrays::images("X", X)?;
                py.detach(|| classify::probabilities(&self.file, &pixels))
            }
        };
        Ok(p.reversed_axes()
            .as_standard_layout()
            .into_owned()
            .into_pyarray(py))
    }

    /// The most probable class (first on ties) of uint8 images ``X: n×3072`` (or,
    /// for a model of features, float32 features ``X: n×d``): int64 ``n``.
    ///
    /// >>> model.predict(X_test[:3])
    /// array([6, 9, 8])
    #[allow(non_snake_case)]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        X: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let classes = match self.features("X", X)? {
            Some(x) => py.detach(|| {
                let p = features::probabilities(&self.file.model, &self.file.normalizer, x.view());
                p.columns().into_iter().map(argmax).collect()
            }),
            None => {
                let pixels = arrays::images("X", X)?;
                py.detach(|| classify::predict(&self.file, &pixels))
            }
        };
        let classes: Array1<i64> = classes.into_iter().map(|c| c as i64).collect();
        Ok(classes.into_pyarray(py))
    }

    /// Accuracy (a fraction) on uint8 images ``X: n×3072`` (or, for a model of
    /// features, float32 features ``X: n×d``) with labels ``y: n``, computed as
    /// ``onelayer train`` computes its test accuracy.
    ///
    /// >>> model.score(X_test, y_test)  # doctest: +SKIP
    /// 0.3932
    #[allow(non_snake_case)]
    fn score(&self, py: Python<'_>, X: &Bound<'_, PyAny>, y: &Bound<'_, PyAny>) -> PyResult<f64> {
        let lambda = self.file.meta.run.lambda;
        if let Some(x) = self.features("X", X)? {
            let labels = arrays::labels("y", y, x.nrows(), self.file.k())?;
            let data = Features::new(x, labels, &self.file.normalizer);
            let metrics =
                py.detach(|| features::evaluate(&self.file.model, &data, lambda, Loss::Softmax));
            return Ok(metrics.accuracy);
        }
        let pixels = arrays::images("X", X)?;
        let labels = arrays::labels("y", y, pixels.len() / D, self.file.k())?;
        let data = self.file.normalizer.apply(LabeledImages { pixels, labels });
        let metrics =
            py.detach(|| kernels::evaluate(&self.file.model, &data, self.file.meta.run.lambda));
        Ok(metrics.accuracy)
    }

    /// Writes the model file (``.onelayer``, a numpy ``.npz``) that
    /// ``onelayer evaluate`` and ``onelayer predict`` read; atomically.
    ///
    /// >>> model.save("model.onelayer")
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.file.save(&path)).map_err(crate::error)
    }

    fn __repr__(&self) -> String {
        let run = &self.file.meta.run;
        format!(
            "Model({}: K={}, d={}, lambda={}, eta={}, n_epochs={}, n_batch={}, seed={})",
            run.name,
            self.file.k(),
            self.file.dim(),
            run.lambda,
            run.eta,
            run.n_epochs,
            run.n_batch,
            run.seed
        )
    }
}

impl Model {
    /// ``X`` as float32 features `n×d` when this is a model of `d` features
    /// (`None` for a model of images).
    #[allow(non_snake_case)]
    fn features(&self, name: &str, X: &Bound<'_, PyAny>) -> PyResult<Option<Array2<f32>>> {
        match self.file.meta.input_kind {
            InputKind::Images => Ok(None),
            InputKind::Features => {
                let d = self.file.dim();
                arrays::features(name, X, Some((d, "the model's features"))).map(Some)
            }
        }
    }
}

/// Reads a model file written by ``onelayer train``/``reproduce`` or by
/// ``Model.save`` (of images, or of float features with ``d`` columns),
/// checking its format, shapes and values.
///
/// >>> model = onelayer.load("results/lambda0.1_eta0.001/model.onelayer")
/// >>> model.W.shape
/// (10, 3072)
#[pyfunction]
pub fn load(py: Python<'_>, path: PathBuf) -> PyResult<Model> {
    let file = py.detach(|| ModelFile::load(&path)).map_err(crate::error)?;
    Ok(Model {
        file,
        history: None,
        diverged_at_epoch: None,
        validated: false,
    })
}
