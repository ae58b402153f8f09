//! The Python module `onelayer._onelayer`: a thin layer over the `onelayer` crate
//! that takes and returns numpy arrays, and the `onelayer` command itself.
//!
//! Every number comes from the library: [`data`] reads CIFAR-10 with its readers,
//! [`training`] trains with its one training loop and runs the report's
//! experiment, [`model`] wraps its model file. Errors become
//! [`OnelayerError`] (a `ValueError`) with the library's message.

use std::ffi::OsString;
use std::process::ExitCode;

use pyo3::prelude::*;

mod arrays;
mod data;
mod interrupt;
mod model;
mod training;

pyo3::create_exception!(
    onelayer,
    OnelayerError,
    pyo3::exceptions::PyValueError,
    "An input onelayer cannot use: a missing or damaged data or model file, a setting out of range. The message names the file or setting and what is wrong."
);

/// `err` as an [`OnelayerError`] carrying its message.
pub(crate) fn error(err: impl std::fmt::Display) -> PyErr {
    OnelayerError::new_err(err.to_string())
}

/// The `threads` a function was given, all cores by default; 0 is refused.
pub(crate) fn threads(threads: Option<usize>) -> PyResult<usize> {
    match threads {
        Some(0) => Err(error("threads: must be at least 1")),
        Some(t) => Ok(t),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// Runs the `onelayer` command with `argv` (the program's name first) and returns
/// its exit status; the GIL is released meanwhile.
///
/// >>> from onelayer import _onelayer
/// >>> _onelayer.main(["onelayer", "--version"])  # doctest: +SKIP
/// onelayer 0.1.0
/// 0
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<OsString>) -> u8 {
    let code = py.detach(|| onelayer::cli::run(argv));
    // ExitCode is opaque: find the status it stands for.
    (0..=u8::MAX)
        .find(|&c| ExitCode::from(c) == code)
        .unwrap_or(1)
}

#[pymodule]
fn _onelayer(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("OnelayerError", m.py().get_type::<OnelayerError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_SEED", onelayer::config::DEFAULT_SEED)?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_function(wrap_pyfunction!(data::load_cifar10, m)?)?;
    m.add_function(wrap_pyfunction!(training::train, m)?)?;
    m.add_function(wrap_pyfunction!(training::reproduce, m)?)?;
    m.add_function(wrap_pyfunction!(model::load, m)?)?;
    m.add_class::<model::Model>()?;
    interrupt::quiet_panics_when_stopped();
    Ok(())
}
