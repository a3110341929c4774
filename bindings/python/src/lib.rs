//! The private native module `fleetgov._native`: a thin pyo3 layer over the
//! `fleetgov` crate. The public Python package `fleetgov` re-exports it.
//!
//! Every method unpacks its arguments while holding the GIL, then calls the
//! core through [`boundary::run`], detached from the GIL, where an error
//! becomes a `fleetgov` exception ([`error`]) and a panic becomes
//! `fleetgov.InternalError`.
#![warn(missing_docs)]

mod applied;
mod args;
mod audit;
mod boundary;
mod by_id;
mod columns;
mod durable;
mod engine;
mod error;
mod events;
mod heartbeat;
mod history;
mod ingest;
mod inventory;
mod node_state;
mod proof;
mod rollout;
mod table;
mod views;

use pyo3::prelude::*;
use pyo3::types::IntoPyDict;

/// The packed `u32` form of runtime version `version` (e.g. `"3.5.0"`), as
/// binary heartbeat records carry it.
#[pyfunction]
#[pyo3(signature = (version, /))]
fn pack_version(py: Python<'_>, version: args::Text<'_>) -> PyResult<u32> {
    boundary::run_attached(py, || version.0.parse::<fleetgov::RuntimeVersion>().map(fleetgov::RuntimeVersion::to_bits))
}

/// Verifies an audit log file offline without changing it and returns the
/// hex root of its Merkle tree head; raises `AuditTampered` naming the first
/// bad record.
#[pyfunction]
#[pyo3(signature = (path, /))]
fn verify_audit_file(py: Python<'_>, path: args::FilePath) -> PyResult<String> {
    let path = path.0;
    let verified =
        py.detach(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fleetgov::audit::verify_file(&path))));
    match verified {
        Ok(Ok(v)) => Ok(v.head.root.to_string()),
        Ok(Err(e)) => Err(error::audit_file(py, e, &path)),
        Err(payload) => Err(error::panicked(py, payload)),
    }
}

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<events::PyEventStream>()?;
    m.add_class::<views::PySnapshot>()?;
    m.add_class::<views::PyDirective>()?;
    m.add_class::<views::PyClusterView>()?;
    m.add_class::<views::PyNodeView>()?;
    m.add_class::<rollout::PyRolloutView>()?;
    m.add_class::<rollout::PyWaveView>()?;
    m.add_class::<ingest::PyBatchResult>()?;
    m.add_class::<table::PyNodesTable>()?;
    m.add_class::<table::PyAuditTable>()?;
    m.add_class::<proof::PyInclusionProof>()?;
    m.add_class::<proof::PyConsistencyProof>()?;
    m.add("RECORD_SIZE", fleetgov::record::RECORD_SIZE)?;
    m.add("RECORD_VERSION", fleetgov::record::RECORD_VERSION)?;
    m.add("OUTCOME_SIZE", fleetgov::record::OUTCOME_SIZE)?;
    let codes: Vec<(&str, u8)> = fleetgov::SyncErrorCode::ALL.iter().map(|c| (c.as_str(), *c as u8)).collect();
    m.add("SYNC_ERROR_CODES", codes.into_py_dict(m.py())?)?;
    m.add_function(wrap_pyfunction!(pack_version, m)?)?;
    m.add_function(wrap_pyfunction!(verify_audit_file, m)?)?;
    m.add_function(wrap_pyfunction!(proof::open_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(proof::verify_inclusion, m)?)?;
    m.add_function(wrap_pyfunction!(_boundary_self_test, m)?)?;
    m.add_function(wrap_pyfunction!(ingest::_set_ingest_chunk, m)?)?;
    Ok(())
}

/// Panics inside the call boundary, on purpose: proves that a Rust panic
/// reaches Python as `fleetgov.InternalError` and leaves the interpreter
/// usable. Used by the test suite; harmless anywhere else.
#[pyfunction]
fn _boundary_self_test(py: Python<'_>, message: args::Text<'_>) -> PyResult<()> {
    let message = message.0;
    boundary::run(py, || -> fleetgov::Result<()> { panic!("{message}") })
}
