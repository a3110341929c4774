//! The private native module `fleetgov._native`: a thin pyo3 layer over the
//! `fleetgov` crate. The public Python package `fleetgov` re-exports it.
//!
//! Every method unpacks its arguments while holding the GIL, then calls the
//! core through [`boundary::run`], detached from the GIL, where an error
//! becomes a `fleetgov` exception ([`error`]) and a panic becomes
//! `fleetgov.InternalError`.
#![warn(missing_docs)]

mod boundary;
mod engine;
mod error;
mod heartbeat;
mod views;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<views::PySnapshot>()?;
    m.add_class::<views::PyDirective>()?;
    m.add_class::<views::PyClusterView>()?;
    m.add_class::<views::PyNodeView>()?;
    m.add_function(wrap_pyfunction!(_boundary_self_test, m)?)?;
    Ok(())
}

/// Panics inside the call boundary, on purpose: proves that a Rust panic
/// reaches Python as `fleetgov.InternalError` and leaves the interpreter
/// usable. Used by the test suite; harmless anywhere else.
#[pyfunction]
fn _boundary_self_test(py: Python<'_>, message: &str) -> PyResult<()> {
    boundary::run(py, || -> fleetgov::Result<()> { panic!("{message}") })
}
