//! The private native module `fleetgov._native`: a thin pyo3 layer over the
//! `fleetgov` crate. The public Python package `fleetgov` re-exports it.
//!
//! Every method unpacks its arguments while holding the GIL, then calls the
//! core through [`boundary::run`], detached from the GIL, where an error
//! becomes a `fleetgov` exception ([`error`]) and a panic becomes
//! `fleetgov.InternalError`.
#![warn(missing_docs)]

mod boundary;
mod error;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
