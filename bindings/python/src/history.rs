//! What ran when, for Python: `Engine.what_ran`, `Engine.fleet_at`,
//! `Engine.history`, `Engine.attest` and `Engine.verify_journal` answer with
//! dicts (`fleetgov.types.AppliedAt`, `AppliedChange`, `Attestation`,
//! `JournalVerification`), built field by field from the core's values.

use fleetgov::{AppliedAt, AppliedChange, Attestation, JournalVerification};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// `a` as a dict: `node`, `snapshot`, `hash` (hex, or `None`), `since_ms`.
pub(crate) fn applied_at<'py>(py: Python<'py>, a: &AppliedAt) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("node", &a.node)?;
    d.set_item("snapshot", &a.snapshot)?;
    d.set_item("hash", a.hash.map(|h| h.to_string()))?;
    d.set_item("since_ms", a.since_ms)?;
    Ok(d)
}

/// A list of [`applied_at`] dicts.
pub(crate) fn applied_ats<'py>(py: Python<'py>, all: &[AppliedAt]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for a in all {
        out.append(applied_at(py, a)?)?;
    }
    Ok(out)
}

/// A list of dicts, one per change: `at_ms`, `snapshot`, `hash` (hex, or
/// `None`), `verified`.
pub(crate) fn applied_changes<'py>(py: Python<'py>, changes: &[AppliedChange]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for c in changes {
        let d = PyDict::new(py);
        d.set_item("at_ms", c.at_ms)?;
        d.set_item("snapshot", &c.snapshot)?;
        d.set_item("hash", c.hash.map(|h| h.to_string()))?;
        d.set_item("verified", c.verified)?;
        out.append(d)?;
    }
    Ok(out)
}

/// `v` as a dict: `sealed_segments`, `sealed_transitions`.
pub(crate) fn journal_verification<'py>(py: Python<'py>, v: &JournalVerification) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("sealed_segments", v.sealed_segments)?;
    d.set_item("sealed_transitions", v.sealed_transitions)?;
    Ok(d)
}

/// `a` as a dict: `cluster`, `at_ms`, `nodes`, `desired` (`snapshot`, `hash`,
/// or `None`), `checkpoint` (`size`, `root`) and `envelope` (DSSE JSON text).
pub(crate) fn attestation<'py>(py: Python<'py>, a: &Attestation) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("cluster", &a.cluster)?;
    d.set_item("at_ms", a.at_ms)?;
    d.set_item("nodes", applied_ats(py, &a.nodes)?)?;
    let desired = match &a.desired {
        Some(s) => {
            let desired = PyDict::new(py);
            desired.set_item("snapshot", &s.snapshot)?;
            desired.set_item("hash", s.hash.to_string())?;
            desired.into_any()
        }
        None => py.None().into_bound(py),
    };
    d.set_item("desired", desired)?;
    let checkpoint = PyDict::new(py);
    checkpoint.set_item("size", a.checkpoint.size)?;
    checkpoint.set_item("root", a.checkpoint.root.to_string())?;
    d.set_item("checkpoint", checkpoint)?;
    d.set_item("envelope", &a.envelope)?;
    Ok(d)
}
