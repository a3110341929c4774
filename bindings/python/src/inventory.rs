//! `Engine.fleet()`: a workspace's inventory as the dict the README and the
//! stubs (`fleetgov.types.FleetInventory`) describe, built field by field
//! from the core's [`FleetInventory`]. The keys are this binding's own and
//! do not follow any serialised form of the core types.

use fleetgov::{DesiredState, FleetInventory, FleetSummary, Runtime};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// `inventory` as `{"runtimes": [...], "summary": {...}, "desiredState": {...}}`.
pub(crate) fn fleet<'py>(py: Python<'py>, inventory: &FleetInventory) -> PyResult<Bound<'py, PyDict>> {
    let runtimes = PyList::empty(py);
    for r in &inventory.runtimes {
        runtimes.append(runtime(py, r)?)?;
    }
    let d = PyDict::new(py);
    d.set_item("runtimes", runtimes)?;
    d.set_item("summary", summary(py, &inventory.summary)?)?;
    d.set_item("desiredState", desired_state(py, &inventory.desired_state)?)?;
    Ok(d)
}

fn runtime<'py>(py: Python<'py>, r: &Runtime) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", &r.id)?;
    d.set_item("cluster", &r.cluster)?;
    d.set_item("health", r.health.as_str())?;
    d.set_item("version", &r.version)?;
    d.set_item("drift", r.drift.as_str())?;
    d.set_item("appliedSnapshot", &r.applied_snapshot)?;
    d.set_item("appliedHash", r.applied_hash.map(|h| h.to_string()))?;
    d.set_item("lastHeartbeat", r.last_heartbeat)?;
    d.set_item("lastSyncError", &r.last_sync_error)?;
    Ok(d)
}

fn summary<'py>(py: Python<'py>, s: &FleetSummary) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("total", s.total)?;
    d.set_item("active", s.active)?;
    d.set_item("stale", s.stale)?;
    d.set_item("dormant", s.dormant)?;
    d.set_item("never", s.never)?;
    d.set_item("upgradeRequired", s.upgrade_required)?;
    d.set_item("needsReconcile", s.needs_reconcile)?;
    d.set_item("aligned", s.aligned)?;
    d.set_item("awaitingSync", s.awaiting_sync)?;
    Ok(d)
}

fn desired_state<'py>(py: Python<'py>, s: &DesiredState) -> PyResult<Bound<'py, PyDict>> {
    let clusters = PyList::empty(py);
    for c in &s.clusters {
        let d = PyDict::new(py);
        d.set_item("cluster", &c.cluster)?;
        d.set_item("snapshot", &c.snapshot)?;
        d.set_item("revision", c.revision)?;
        d.set_item("hash", c.hash.map(|h| h.to_string()))?;
        clusters.append(d)?;
    }
    let d = PyDict::new(py);
    d.set_item("policyMode", s.policy_mode.as_str())?;
    d.set_item("minRuntimeVersion", &s.min_runtime_version)?;
    d.set_item("clusters", clusters)?;
    Ok(d)
}
