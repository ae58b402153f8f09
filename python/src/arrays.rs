//! numpy arrays in and out: checked conversions with errors that name the
//! argument, its expected shape and dtype, and what was given.

use ndarray::Array2;
use numpy::{PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;

use onelayer::D;

/// `obj` described for an error: `float32 array of shape (5, 3)`, or its type.
pub fn describe(obj: &Bound<'_, PyAny>) -> String {
    let attr = |name: &str| {
        obj.getattr(name)
            .and_then(|v| v.str().map(|s| s.to_string()))
    };
    match (attr("dtype"), attr("shape")) {
        (Ok(dtype), Ok(shape)) => format!("{dtype} array of shape {shape}"),
        _ => obj
            .get_type()
            .name()
            .map_or_else(|_| "an object".to_string(), |n| n.to_string()),
    }
}

/// Images `name`: a uint8 numpy array `n×3072` (CIFAR layout), copied row by row.
pub fn images(name: &str, obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let wrong = || {
        crate::error(format!(
            "{name}: expected uint8 images of shape (n, {D}) in the CIFAR-10 layout \
             (red plane, green plane, blue plane, each 32x32 row-major), got {}",
            describe(obj)
        ))
    };
    let array = obj
        .cast::<numpy::PyArray2<u8>>()
        .map_err(|_| wrong())?
        .readonly();
    if array.shape()[1] != D {
        return Err(wrong());
    }
    Ok(array.as_array().iter().copied().collect())
}

/// True when `obj` is a numpy array of float32.
pub fn is_float32(obj: &Bound<'_, PyAny>) -> bool {
    obj.cast::<numpy::PyArrayDyn<f32>>().is_ok()
}

/// Features `name`: a float32 numpy array `n×d` of finite values, copied; with
/// `columns = Some((d, what fixes d))`, exactly `d` columns.
pub fn features(
    name: &str,
    obj: &Bound<'_, PyAny>,
    columns: Option<(usize, &str)>,
) -> PyResult<Array2<f32>> {
    let array = obj.cast::<numpy::PyArray2<f32>>().map_err(|_| {
        let d = columns.map_or("d".to_string(), |(d, _)| d.to_string());
        crate::error(format!(
            "{name}: expected float32 features of shape (n, {d}), got {} \
             (X.astype(numpy.float32) converts other floats)",
            describe(obj)
        ))
    })?;
    let x = array.readonly().as_array().to_owned();
    onelayer::features::check(name, x.view(), columns).map_err(crate::error)?;
    Ok(x)
}

/// Labels `name` for `n` images: any integer array of `n` values in `0..k`.
pub fn labels(name: &str, obj: &Bound<'_, PyAny>, n: usize, k: usize) -> PyResult<Vec<u8>> {
    let py = obj.py();
    let wrong = |what: String| crate::error(format!("{name}: {what}"));
    let numpy = py.import("numpy")?;
    let array = numpy.call_method1("asarray", (obj,))?;
    let kind: String = array.getattr("dtype")?.getattr("kind")?.extract()?;
    let shape: Vec<usize> = array.getattr("shape")?.extract()?;
    if !matches!(kind.as_str(), "i" | "u") || shape != [n] {
        return Err(wrong(format!(
            "expected {n} integer labels (shape ({n},)), got {}",
            describe(&array)
        )));
    }
    let wide = array.call_method1("astype", ("int64",))?;
    let values: PyReadonlyArray1<i64> = wide.extract()?;
    let mut out = Vec::with_capacity(n);
    for (i, &v) in values.as_array().iter().enumerate() {
        match u8::try_from(v) {
            Ok(l) if usize::from(l) < k => out.push(l),
            _ => {
                return Err(wrong(format!(
                    "label {i} is {v}, expected a class in 0..{k}"
                )));
            }
        }
    }
    Ok(out)
}
