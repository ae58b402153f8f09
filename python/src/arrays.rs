//! numpy arrays in and out: checked conversions with errors that name the
//! argument, its expected shape and dtype, and what was given.

use numpy::{PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;

use onelayer::D;

/// `obj` described for an error: `float32 array of shape (5, 3)`, or its type.
fn describe(obj: &Bound<'_, PyAny>) -> String {
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
             (red plane, green plane, blue plane, each 32x32 row-major), got {}; \
             training reads pixels as bytes, so float features are not accepted",
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
