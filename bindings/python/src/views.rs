//! The read-only Python classes the engine hands out: `Snapshot`, `Directive`,
//! `ClusterView` and `NodeView`. Each is a frozen copy taken at call time.

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// A published snapshot: `Snapshot` in Python.
#[pyclass(module = "fleetgov._native", name = "Snapshot", frozen, eq, hash, get_all, skip_from_py_object)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PySnapshot {
    id: String,
    cluster: String,
    revision: u32,
    hash: String,
    author: String,
    published_at_ms: u64,
    size_bytes: u64,
}

impl From<fleetgov::Snapshot> for PySnapshot {
    fn from(s: fleetgov::Snapshot) -> Self {
        PySnapshot {
            hash: s.hash.to_string(),
            id: s.id,
            cluster: s.cluster,
            revision: s.revision,
            author: s.author,
            published_at_ms: s.published_at_ms,
            size_bytes: s.size_bytes,
        }
    }
}

#[pymethods]
impl PySnapshot {
    fn __repr__(&self) -> String {
        format!(
            "Snapshot(id={:?}, revision={}, hash={:?}, author={:?})",
            self.id, self.revision, self.hash, self.author
        )
    }
}

/// The engine's answer to a heartbeat: pull snapshot `snapshot` whose content
/// hash is `hash`. `Directive` in Python.
#[pyclass(module = "fleetgov._native", name = "Directive", frozen, eq, hash, get_all, skip_from_py_object)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PyDirective {
    kind: &'static str,
    snapshot: String,
    revision: u32,
    hash: String,
}

impl From<fleetgov::Directive<'_>> for PyDirective {
    fn from(d: fleetgov::Directive<'_>) -> Self {
        PyDirective {
            kind: d.kind.as_str(),
            snapshot: d.snapshot.id.clone(),
            revision: d.snapshot.revision,
            hash: d.snapshot.hash.to_string(),
        }
    }
}

#[pymethods]
impl PyDirective {
    fn __repr__(&self) -> String {
        format!("Directive(kind={:?}, snapshot={:?}, hash={:?})", self.kind, self.snapshot, self.hash)
    }
}

/// A cluster's authority and execution at one moment: `ClusterView` in Python.
#[pyclass(module = "fleetgov._native", name = "ClusterView", frozen)]
pub(crate) struct PyClusterView {
    #[pyo3(get)]
    id: String,
    #[pyo3(get)]
    workspace: String,
    #[pyo3(get)]
    environment: &'static str,
    #[pyo3(get)]
    owner_team: String,
    #[pyo3(get)]
    auto_reconcile: bool,
    #[pyo3(get)]
    status: &'static str,
    #[pyo3(get)]
    cohesion: u8,
    #[pyo3(get)]
    in_sync: u64,
    #[pyo3(get)]
    total: u64,
    #[pyo3(get)]
    desired_snapshot: Option<String>,
    #[pyo3(get)]
    desired_revision: u32,
    #[pyo3(get)]
    desired_hash: Option<String>,
    /// (revision, nodes), as the core orders them.
    revisions: Vec<(u32, u64)>,
    /// (code, nodes, example node), most nodes first.
    root_causes: Vec<(&'static str, u64, Option<String>)>,
}

impl From<fleetgov::ClusterView> for PyClusterView {
    fn from(c: fleetgov::ClusterView) -> Self {
        PyClusterView {
            id: c.id,
            workspace: c.workspace,
            environment: c.environment.as_str(),
            owner_team: c.owner_team,
            auto_reconcile: c.auto_reconcile,
            status: c.status.as_str(),
            cohesion: c.cohesion,
            in_sync: c.in_sync,
            total: c.total,
            desired_snapshot: c.desired_snapshot,
            desired_revision: c.desired_revision,
            desired_hash: c.desired_hash.map(|h| h.to_string()),
            revisions: c.revisions.into_iter().map(|r| (r.revision, r.nodes)).collect(),
            root_causes: c.root_causes.into_iter().map(|r| (r.code.as_str(), r.nodes, r.example_node)).collect(),
        }
    }
}

#[pymethods]
impl PyClusterView {
    /// Divergent nodes by root cause: sync-error code -> node count, most first.
    #[getter]
    fn root_causes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (code, nodes, _) in &self.root_causes {
            out.set_item(code, nodes)?;
        }
        Ok(out)
    }

    /// One node per root cause, for a first look: sync-error code -> node id.
    #[getter]
    fn root_cause_examples<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (code, _, example) in &self.root_causes {
            out.set_item(code, example)?;
        }
        Ok(out)
    }

    /// Applied-revision histogram: revision -> node count (0: no snapshot of
    /// this cluster, or a hash that does not match the revision's).
    #[getter]
    fn revisions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let out = PyDict::new(py);
        for (revision, nodes) in &self.revisions {
            out.set_item(revision, nodes)?;
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!(
            "ClusterView(id={:?}, status={:?}, cohesion={}, in_sync={}, total={}, desired_snapshot={})",
            self.id,
            self.status,
            self.cohesion,
            self.in_sync,
            self.total,
            py_optional(self.desired_snapshot.as_deref())
        )
    }
}

/// One node's authority, execution and health at one moment: `NodeView` in Python.
#[pyclass(module = "fleetgov._native", name = "NodeView", frozen, get_all)]
pub(crate) struct PyNodeView {
    id: String,
    cluster: String,
    status: &'static str,
    health: &'static str,
    process_health: &'static str,
    process_status: Option<&'static str>,
    config_status: &'static str,
    drift: &'static str,
    desired_snapshot: Option<String>,
    desired_hash: Option<String>,
    applied_snapshot: Option<String>,
    applied_hash: Option<String>,
    last_heartbeat_ms: Option<u64>,
    last_sync_error: Option<String>,
    sync_error_code: Option<&'static str>,
    reconcile_reason: Option<String>,
    runtime_version: Option<String>,
    cpu: f32,
    memory: f32,
    tps: f32,
    heap: f32,
    heap_trend: f32,
    hot_swap_errors: u32,
}

impl From<fleetgov::NodeView> for PyNodeView {
    fn from(n: fleetgov::NodeView) -> Self {
        PyNodeView {
            id: n.id,
            cluster: n.cluster_id,
            status: n.status.as_str(),
            health: n.health.as_str(),
            process_health: n.process_health.as_str(),
            process_status: n.process_status.map(|s| s.as_str()),
            config_status: n.config_status.as_str(),
            drift: n.drift.as_str(),
            desired_snapshot: n.desired_snapshot_id,
            desired_hash: n.desired_hash.map(|h| h.to_string()),
            applied_snapshot: n.applied_snapshot_id,
            applied_hash: n.applied_hash.map(|h| h.to_string()),
            last_heartbeat_ms: n.last_heartbeat_ms,
            sync_error_code: n.last_sync_error.as_ref().map(|e| e.code.as_str()),
            last_sync_error: n.last_sync_error.map(|e| e.to_string()),
            reconcile_reason: n.reconcile_reason,
            runtime_version: n.runtime_version.map(|v| v.to_string()),
            cpu: n.metrics.cpu,
            memory: n.metrics.memory,
            tps: n.metrics.tps,
            heap: n.metrics.heap,
            heap_trend: n.heap_trend,
            hot_swap_errors: n.metrics.hot_swap_errors,
        }
    }
}

#[pymethods]
impl PyNodeView {
    fn __repr__(&self) -> String {
        format!(
            "NodeView(id={:?}, cluster={:?}, health={:?}, config_status={:?}, drift={:?}, applied_snapshot={})",
            self.id,
            self.cluster,
            self.health,
            self.config_status,
            self.drift,
            py_optional(self.applied_snapshot.as_deref())
        )
    }
}

/// `None` or the quoted string, as a Python repr shows an optional string.
fn py_optional(value: Option<&str>) -> String {
    value.map_or_else(|| "None".to_owned(), |v| format!("{v:?}"))
}
