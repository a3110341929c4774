//! `Engine.fleet()`: a workspace's inventory as the dict the README and the
//! stubs (`fleetgov.types.FleetInventory`) describe, built field by field
//! from the core's inventory types. The keys are this binding's own and
//! do not follow any serialised form of the core types.

use fleetgov::table::{DRIFT_LABELS, HEALTH_LABELS};
use fleetgov::{DesiredState, Engine, Error, FleetSummary, Result, Runtime};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

/// Which runtimes a page holds, as the HTTP API's
/// `?health=&drift=&cluster=&limit=&cursor=`.
pub(crate) struct Query<'a> {
    /// Only runtimes of this health (`connected`, `stale`, ...).
    pub(crate) health: Option<&'a str>,
    /// Only runtimes of this drift status (`aligned`, ...).
    pub(crate) drift: Option<&'a str>,
    /// Only runtimes of this cluster of the workspace.
    pub(crate) cluster: Option<&'a str>,
    /// At most this many runtimes (`None`: all).
    pub(crate) limit: Option<usize>,
    /// Where the page starts: a `nextCursor` of an earlier page.
    pub(crate) cursor: Option<&'a str>,
}

/// One page of a workspace's inventory.
pub(crate) struct Page {
    runtimes: Vec<Runtime>,
    summary: FleetSummary,
    desired_state: DesiredState,
    next_cursor: Option<String>,
}

/// Nodes read per call while walking a cluster.
const NODE_CHUNK: usize = 2048;

/// The runtimes of `workspace` that match `q`, in cluster then enrolment
/// order, from `q.cursor` (a position in that order); the summary and the
/// desired state cover the whole workspace. Runs without the GIL.
pub(crate) fn page(engine: &Engine, workspace: &str, now_ms: u64, q: &Query<'_>) -> Result<Page> {
    let known = |what: &str, value: Option<&str>, labels: &[&str]| match value {
        Some(v) if !labels.contains(&v) => Err(Error::invalid(format!("{what} must be one of {labels:?}, got {v:?}"))),
        _ => Ok(()),
    };
    known("health", q.health, &HEALTH_LABELS)?;
    known("drift", q.drift, &DRIFT_LABELS)?;
    if q.limit == Some(0) {
        return Err(Error::invalid("limit must be at least 1"));
    }
    let position: u64 = match q.cursor {
        None => 0,
        Some(c) => c.parse().map_err(|_| Error::invalid(format!("cursor {c:?} is not one fleet() returned")))?,
    };
    let desired_state = engine.desired_state(workspace)?;
    if let Some(c) = q.cluster
        && !desired_state.clusters.iter().any(|d| d.cluster == c)
    {
        return Err(Error::not_found(format_args!("cluster '{c}' in workspace '{workspace}'")));
    }
    let limit = q.limit.unwrap_or(usize::MAX);
    let (mut runtimes, mut next_cursor, mut start) = (Vec::new(), None, 0_u64);
    'clusters: for d in &desired_state.clusters {
        let end = start + engine.cluster(&d.cluster, now_ms)?.total;
        if q.cluster.is_none_or(|c| c == d.cluster) && position < end {
            let mut offset = usize::try_from(position.saturating_sub(start)).unwrap_or(usize::MAX);
            loop {
                let chunk = engine.cluster_nodes(&d.cluster, now_ms, offset, NODE_CHUNK)?;
                for (i, node) in chunk.iter().enumerate() {
                    if runtimes.len() == limit {
                        next_cursor = Some((start + (offset + i) as u64).to_string());
                        break 'clusters;
                    }
                    if q.health.is_none_or(|h| h == node.health.as_str())
                        && q.drift.is_none_or(|dr| dr == node.drift.as_str())
                    {
                        runtimes.push(Runtime::from(node.clone()));
                    }
                }
                offset += chunk.len();
                if chunk.len() < NODE_CHUNK {
                    break;
                }
            }
        }
        start = end;
    }
    Ok(Page { runtimes, summary: engine.fleet_summary(workspace, now_ms)?, desired_state, next_cursor })
}

/// `page` as `{"runtimes": ..., "summary": {...}, "desiredState": {...},
/// "nextCursor": str | None}`; the runtimes a list of dicts, or with
/// `columnar` one dict of equal-length lists keyed like a runtime's dict.
pub(crate) fn fleet<'py>(py: Python<'py>, page: &Page, columnar: bool) -> PyResult<Bound<'py, PyDict>> {
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
