//! The boundary every call into the core crosses: detached from the GIL, with
//! errors and panics turned into `fleetgov` exceptions.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::prelude::*;

use crate::error;

/// Runs `f` with the GIL released, then maps its error to the matching
/// `fleetgov` exception and a panic to `fleetgov.InternalError`, so nothing
/// unwinds into the interpreter.
pub(crate) fn run<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce() -> fleetgov::Result<T> + Send,
{
    match py.detach(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(error::to_py(py, e)),
        Err(payload) => Err(error::panicked(py, payload)),
    }
}

/// Runs `f` keeping the GIL, for a short call that cannot block (no I/O, no
/// lock held across I/O): releasing and re-taking the GIL would cost more
/// than the call. Errors and panics are mapped as in [`run`].
pub(crate) fn run_attached<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> fleetgov::Result<T>,
{
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(error::to_py(py, e)),
        Err(payload) => Err(error::panicked(py, payload)),
    }
}
