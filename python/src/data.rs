//! `onelayer.load_cifar10`: the library's CIFAR-10 readers, as numpy arrays.

use std::path::PathBuf;

use ndarray::{Array1, Array2};
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::prelude::*;

use onelayer::D;
use onelayer::data::{self, BatchName, LabeledImages, ReadOptions};

/// Images `n×3072` and their labels `n`, as numpy arrays.
type Labelled<'py> = (Bound<'py, PyArray2<u8>>, Bound<'py, PyArray1<u8>>);

/// The four arrays `load_cifar10` returns.
type Cifar<'py> = (
    Bound<'py, PyArray2<u8>>,
    Bound<'py, PyArray1<u8>>,
    Bound<'py, PyArray2<u8>>,
    Bound<'py, PyArray1<u8>>,
);

/// Reads CIFAR-10 with onelayer's readers and checks (sizes, labels, each
/// batch against the official file) from a folder or an official ``.tar.gz`` archive of
/// the binary or the python version.
///
/// ``path`` defaults to ``$CIFAR10_DIR``, else ``./data``. Returns the tuple
/// ``(X_train, y_train, X_test, y_test)``:
///
/// - ``X_train``: uint8, ``50000×3072``, ``data_batch_1`` to ``data_batch_5`` in
///   order (batch ``i`` is rows ``10000·(i−1)`` to ``10000·i``);
/// - ``y_train``: uint8, ``50000``, labels in ``0..10``;
/// - ``X_test``: uint8, ``10000×3072``, ``test_batch``; ``y_test``: uint8, ``10000``.
///
/// A row is one image in the CIFAR layout: 1024 red, 1024 green, 1024 blue bytes,
/// each plane 32×32 row-major (``X.reshape(-1, 3, 32, 32)`` gives CHW images).
/// The report trains on batch 1 and validates on batch 2.
///
/// Raises ``OnelayerError`` naming the file and what is wrong.
///
/// >>> X_train, y_train, X_test, y_test = onelayer.load_cifar10("cifar-10-batches-bin")
/// >>> X_train.shape, X_train.dtype, y_test[:3]
/// ((50000, 3072), dtype('uint8'), array([3, 8, 8], dtype=uint8))
#[pyfunction]
#[pyo3(signature = (path=None, *, allow_modified=false))]
pub fn load_cifar10(
    py: Python<'_>,
    path: Option<PathBuf>,
    allow_modified: bool,
) -> PyResult<Cifar<'_>> {
    let read = py.detach(|| {
        let path = data::locate(path.as_deref())?;
        let mut which: Vec<BatchName> = (1..=5).map(BatchName::Data).collect();
        which.push(BatchName::Test);
        data::read(&path, &which, &ReadOptions { allow_modified })
    });
    let mut batches = read.map_err(crate::error)?.batches;
    let test = batches
        .pop()
        .unwrap_or_else(|| unreachable!("six batches read"));
    let mut train = LabeledImages {
        pixels: Vec::with_capacity(batches.len() * 10_000 * D),
        labels: Vec::with_capacity(batches.len() * 10_000),
    };
    for b in batches {
        train.pixels.extend_from_slice(&b.pixels);
        train.labels.extend_from_slice(&b.labels);
    }
    let (x_train, y_train) = arrays(py, train)?;
    let (x_test, y_test) = arrays(py, test)?;
    Ok((x_train, y_train, x_test, y_test))
}

/// `images` as numpy arrays `n×3072` and `n`, without copying.
fn arrays(py: Python<'_>, images: LabeledImages) -> PyResult<Labelled<'_>> {
    let n = images.len();
    let x = Array2::from_shape_vec((n, D), images.pixels).map_err(crate::error)?;
    Ok((
        x.into_pyarray(py),
        Array1::from(images.labels).into_pyarray(py),
    ))
}
