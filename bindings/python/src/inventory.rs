//! `Engine.fleet()`: a workspace's inventory as the dict the README and the
//! stubs (`fleetgov.types.FleetInventory`) describe, built field by field
//! from the core's inventory types. The keys are this binding's own and
//! do not follow any serialised form of the core types.

use fleetgov::drift::DriftStatus;
use fleetgov::{DesiredState, Error, FleetPage, FleetSummary, Result, Runtime};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// The one of `all` named `value` (by `name`), if a value is given; an
/// unknown name is an error listing the names.
pub(crate) fn named<T: Copy>(
    what: &str,
    value: Option<&str>,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<Option<T>> {
    let Some(v) = value else { return Ok(None) };
    all.iter().copied().find(|&x| name(x) == v).map(Some).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|&x| name(x)).collect();
        Error::invalid(format!("{what} must be one of {names:?}, got {v:?}"))
    })
}

/// Every drift status, in the order of the table's labels.
pub(crate) const DRIFTS: [DriftStatus; 4] =
    [DriftStatus::Aligned, DriftStatus::NeedsReconcile, DriftStatus::UpgradeRequired, DriftStatus::AwaitingSync];

/// `page` as `{"runtimes": ..., "summary": {...}, "desiredState": {...},
/// "nextCursor": str | None}`; the runtimes a list of dicts, or with
/// `columnar` one dict of equal-length lists keyed like a runtime's dict.
pub(crate) fn fleet<'py>(py: Python<'py>, page: &FleetPage, columnar: bool) -> PyResult<Bound<'py, PyDict>> {
    let runtimes = if columnar {
        columns(py, &page.runtimes)?.into_any()
    } else {
        let rows = PyList::empty(py);
        for r in &page.runtimes {
            rows.append(runtime(py, r)?)?;
        }
        rows.into_any()
    };
    let d = PyDict::new(py);
    d.set_item("runtimes", runtimes)?;
    d.set_item("summary", summary(py, &page.summary)?)?;
    d.set_item("desiredState", desired_state(py, &page.desired_state)?)?;
    d.set_item("nextCursor", &page.next_cursor)?;
    Ok(d)
}

/// The keys of a runtime's dict, in order.
const RUNTIME_KEYS: [&str; 9] =
    ["id", "cluster", "health", "version", "drift", "appliedSnapshot", "appliedHash", "lastHeartbeat", "lastSyncError"];

/// A runtime's values, in the order of [`RUNTIME_KEYS`].
fn runtime_values<'py>(py: Python<'py>, r: &Runtime) -> PyResult<[Bound<'py, PyAny>; 9]> {
    Ok([
        r.id.as_str().into_pyobject(py)?.into_any(),
        r.cluster.as_str().into_pyobject(py)?.into_any(),
        r.health.as_str().into_pyobject(py)?.into_any(),
        r.version.as_deref().into_pyobject(py)?,
        r.drift.as_str().into_pyobject(py)?.into_any(),
        r.applied_snapshot.as_deref().into_pyobject(py)?,
        r.applied_hash.map(|h| h.to_string()).into_pyobject(py)?,
        r.last_heartbeat.into_pyobject(py)?,
        r.last_sync_error.as_deref().into_pyobject(py)?,
    ])
}

fn runtime<'py>(py: Python<'py>, r: &Runtime) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (key, value) in RUNTIME_KEYS.into_iter().zip(runtime_values(py, r)?) {
        d.set_item(key, value)?;
    }
    Ok(d)
}

/// The runtimes as columns: one list per key of [`runtime`]'s dict.
fn columns<'py>(py: Python<'py>, runtimes: &[Runtime]) -> PyResult<Bound<'py, PyDict>> {
    let lists = RUNTIME_KEYS.map(|_| PyList::empty(py));
    for r in runtimes {
        for (list, value) in lists.iter().zip(runtime_values(py, r)?) {
            list.append(value)?;
        }
    }
    let d = PyDict::new(py);
    for (key, list) in RUNTIME_KEYS.into_iter().zip(lists) {
        d.set_item(key, list)?;
    }
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
