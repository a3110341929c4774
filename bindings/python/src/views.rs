//! The read-only value classes the engine hands out: `Snapshot`, `Directive`,
//! `ClusterView` and `NodeView`. Each is a frozen copy taken at call time:
//! equal when every field is equal, `copy`/`deepcopy` return the object
//! itself (nothing in it can change), `pickle` rebuilds it through its
//! constructor, and `to_dict()` gives its fields as a plain dict.
//!
//! The constructors exist for pickling and for tests that need a view
//! without an engine; they check every enumerated field against the
//! engine's own labels.

use fleetgov::{
    ClusterStatus, ConfigStatus, DirectiveKind, DriftStatus, Environment, Health, NodeStatus, ProcessHealth,
    ProcessStatus, SyncErrorCode,
};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::args::{Metric, Text, Uint};
use crate::error;

/// The engine's label of `value` among `labels`, or `InvalidInput` naming `field`.
pub(crate) fn label(py: Python<'_>, field: &str, value: &str, labels: &[&'static str]) -> PyResult<&'static str> {
    labels
        .iter()
        .find(|l| **l == value)
        .copied()
        .ok_or_else(|| error::invalid(py, format!("{field} must be one of {}, got {value:?}", labels.join(", "))))
}

/// [`label`] of an optional value.
fn optional_label(
    py: Python<'_>,
    field: &str,
    value: Option<Text<'_>>,
    labels: &[&'static str],
) -> PyResult<Option<&'static str>> {
    value.map(|v| label(py, field, v.0, labels)).transpose()
}

pub(crate) fn owned(text: Option<Text<'_>>) -> Option<String> {
    text.map(|t| t.0.to_owned())
}

/// A value class's fields, in its constructor's order: what `__reduce__`
/// passes back to the constructor and `to_dict()` returns.
pub(crate) trait Fields {
    /// The field names, which are also the attribute names.
    const NAMES: &'static [&'static str];

    /// The field values, in the order of [`NAMES`](Self::NAMES).
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>>;
}

/// Implements [`Fields`] for `$class` from its field names; the names after
/// `;` are methods taking `py` that compute a field (a mapping).
macro_rules! fields {
    ($class:ty { $($field:ident),* $(; $($computed:ident()),*)? }) => {
        impl Fields for $class {
            const NAMES: &'static [&'static str] = &[$(stringify!($field)),* $($(, stringify!($computed))*)?];

            fn values<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
                Ok(vec![$(self.$field.clone().into_bound_py_any(py)?),* $($(, self.$computed(py)?.into_any())*)?])
            }
        }
    };
}

/// The `#[pymethods]` of a value class: its own methods, then what every
/// value class shares, built on its [`Fields`]: `pickle` rebuilds it with its
/// constructor, `copy` and `deepcopy` return the object itself (nothing in it
/// can change), and `to_dict()` gives its fields as a dict.
macro_rules! value_class {
    ($class:ident { $($methods:tt)* }) => {
        #[pymethods]
        impl $class {
            $($methods)*

            fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyTuple>> {
                let py = slf.py();
                let args = PyTuple::new(py, slf.get().values(py)?)?;
                PyTuple::new(py, [slf.get_type().into_any(), args.into_any()])
            }

            fn __copy__(slf: Py<Self>) -> Py<Self> {
                slf
            }

            fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
                slf
            }

            /// The fields as a dict (a mapping field as a dict of its own).
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let d = PyDict::new(py);
                for (name, value) in Self::NAMES.iter().zip(self.values(py)?) {
                    d.set_item(name, value)?;
                }
                Ok(d)
            }
        }
    };
}

pub(crate) use {fields, value_class};

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

fields!(PySnapshot { id, cluster, revision, hash, author, published_at_ms, size_bytes });

value_class!(PySnapshot {
    #[new]
    #[pyo3(signature = (id, cluster, revision, hash, author, published_at_ms, size_bytes))]
    fn new(
        id: Text<'_>,
        cluster: Text<'_>,
        revision: Uint<u32>,
        hash: Text<'_>,
        author: Text<'_>,
        published_at_ms: Uint<u64>,
        size_bytes: Uint<u64>,
    ) -> Self {
        PySnapshot {
            id: id.0.to_owned(),
            cluster: cluster.0.to_owned(),
            revision: revision.0,
            hash: hash.0.to_owned(),
            author: author.0.to_owned(),
            published_at_ms: published_at_ms.0,
            size_bytes: size_bytes.0,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Snapshot(id={:?}, revision={}, hash={:?}, author={:?}, published_at_ms={}, size_bytes={})",
            Q(&self.id),
            self.revision,
            Q(&self.hash),
            Q(&self.author),
            self.published_at_ms,
            self.size_bytes
        )
    }
});

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

fn directive_kinds() -> [&'static str; 2] {
    [DirectiveKind::Reconcile.as_str(), DirectiveKind::ForceSync.as_str()]
}

fields!(PyDirective { kind, snapshot, revision, hash });

value_class!(PyDirective {
    #[new]
    #[pyo3(signature = (kind, snapshot, revision, hash))]
    fn new(py: Python<'_>, kind: Text<'_>, snapshot: Text<'_>, revision: Uint<u32>, hash: Text<'_>) -> PyResult<Self> {
        Ok(PyDirective {
            kind: label(py, "kind", kind.0, &directive_kinds())?,
            snapshot: snapshot.0.to_owned(),
            revision: revision.0,
            hash: hash.0.to_owned(),
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "Directive(kind={:?}, snapshot={:?}, revision={}, hash={:?})",
            Q(self.kind),
            Q(&self.snapshot),
            self.revision,
            Q(&self.hash)
        )
    }
});

fn environments() -> [&'static str; 3] {
    [Environment::Production.as_str(), Environment::Staging.as_str(), Environment::Development.as_str()]
}
fn cluster_statuses() -> [&'static str; 3] {
    [ClusterStatus::Healthy.as_str(), ClusterStatus::Syncing.as_str(), ClusterStatus::Divergent.as_str()]
}

/// Every sync-error code's name.
fn sync_error_codes() -> Vec<&'static str> {
    SyncErrorCode::ALL.iter().map(|c| c.as_str()).collect()
}

/// A cluster's authority and execution at one moment: `ClusterView` in Python.
#[pyclass(module = "fleetgov._native", name = "ClusterView", frozen, eq, skip_from_py_object)]
#[derive(Clone, PartialEq)]
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
    cohesion_bp: u16,
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
            cohesion_bp: c.cohesion_bp,
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

fields!(PyClusterView {
    id, workspace, environment, owner_team, auto_reconcile, status, cohesion, cohesion_bp, in_sync, total,
    desired_snapshot, desired_revision, desired_hash; root_causes(), root_cause_examples(), revisions()
});

value_class!(PyClusterView {
    #[new]
    #[pyo3(signature = (
        id, workspace, environment, owner_team, auto_reconcile, status, cohesion, cohesion_bp, in_sync, total,
        desired_snapshot, desired_revision, desired_hash, root_causes, root_cause_examples, revisions,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        id: Text<'_>,
        workspace: Text<'_>,
        environment: Text<'_>,
        owner_team: Text<'_>,
        auto_reconcile: crate::args::Flag,
        status: Text<'_>,
        cohesion: Uint<u32>,
        cohesion_bp: Uint<u32>,
        in_sync: Uint<u64>,
        total: Uint<u64>,
        desired_snapshot: Option<Text<'_>>,
        desired_revision: Uint<u32>,
        desired_hash: Option<Text<'_>>,
        root_causes: &Bound<'_, PyDict>,
        root_cause_examples: &Bound<'_, PyDict>,
        revisions: &Bound<'_, PyDict>,
    ) -> PyResult<Self> {
        let codes = sync_error_codes();
        let mut causes = Vec::with_capacity(root_causes.len());
        for (code, nodes) in root_causes {
            let code = label(py, "a root cause", crate::args::text(code.as_borrowed(), "a str")?.0, &codes)?;
            let example = match root_cause_examples.get_item(code)? {
                Some(e) if !e.is_none() => Some(crate::args::text(e.as_borrowed(), "a node id")?.0.to_owned()),
                _ => None,
            };
            causes.push((code, crate::args::uint::<u64>(&nodes, "a node count")?, example));
        }
        let mut counts = Vec::with_capacity(revisions.len());
        for (revision, nodes) in revisions {
            counts.push((
                crate::args::uint::<u32>(&revision, "a revision")?,
                crate::args::uint::<u64>(&nodes, "a node count")?,
            ));
        }
        let cohesion = u8::try_from(cohesion.0)
            .ok()
            .filter(|c| *c <= 100)
            .ok_or_else(|| error::invalid(py, format!("cohesion must be from 0 to 100, got {}", cohesion.0)))?;
        let cohesion_bp = u16::try_from(cohesion_bp.0)
            .ok()
            .filter(|c| *c <= 10_000)
            .ok_or_else(|| error::invalid(py, format!("cohesion_bp must be from 0 to 10000, got {}", cohesion_bp.0)))?;
        Ok(PyClusterView {
            id: id.0.to_owned(),
            workspace: workspace.0.to_owned(),
            environment: label(py, "environment", environment.0, &environments())?,
            owner_team: owner_team.0.to_owned(),
            auto_reconcile: auto_reconcile.0,
            status: label(py, "status", status.0, &cluster_statuses())?,
            cohesion,
            cohesion_bp,
            in_sync: in_sync.0,
            total: total.0,
            desired_snapshot: owned(desired_snapshot),
            desired_revision: desired_revision.0,
            desired_hash: owned(desired_hash),
            revisions: counts,
            root_causes: causes,
        })
    }

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
        let causes: Vec<String> = self.root_causes.iter().map(|(code, n, _)| format!("{:?}: {n}", Q(code))).collect();
        format!(
            "ClusterView(id={:?}, workspace={:?}, environment={:?}, status={:?}, cohesion={}, cohesion_bp={}, \
             in_sync={}, total={}, desired_snapshot={}, root_causes={{{}}})",
            Q(&self.id),
            Q(&self.workspace),
            Q(self.environment),
            Q(self.status),
            self.cohesion,
            self.cohesion_bp,
            self.in_sync,
            self.total,
            py_optional(self.desired_snapshot.as_deref()),
            causes.join(", ")
        )
    }
});

fn node_statuses() -> [&'static str; 4] {
    [
        NodeStatus::Ready.as_str(),
        NodeStatus::Starting.as_str(),
        NodeStatus::Error.as_str(),
        NodeStatus::Divergent.as_str(),
    ]
}
fn healths() -> [&'static str; 4] {
    [Health::Connected.as_str(), Health::Stale.as_str(), Health::Dormant.as_str(), Health::Never.as_str()]
}
fn process_healths() -> [&'static str; 3] {
    [ProcessHealth::Healthy.as_str(), ProcessHealth::Degraded.as_str(), ProcessHealth::Offline.as_str()]
}
fn process_statuses() -> [&'static str; 3] {
    [ProcessStatus::Ready.as_str(), ProcessStatus::Starting.as_str(), ProcessStatus::Error.as_str()]
}
fn config_statuses() -> [&'static str; 2] {
    [ConfigStatus::InSync.as_str(), ConfigStatus::Divergent.as_str()]
}
fn drifts() -> [&'static str; 4] {
    [
        DriftStatus::Aligned.as_str(),
        DriftStatus::NeedsReconcile.as_str(),
        DriftStatus::UpgradeRequired.as_str(),
        DriftStatus::AwaitingSync.as_str(),
    ]
}

/// One node's authority, execution and health at one moment: `NodeView` in Python.
#[pyclass(module = "fleetgov._native", name = "NodeView", frozen, eq, get_all, skip_from_py_object)]
#[derive(Clone, PartialEq)]
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
    heartbeat_age_ms: Option<u64>,
    verified: bool,
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
            heartbeat_age_ms: n.heartbeat_age_ms,
            verified: n.verified,
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

fields!(PyNodeView {
    id,
    cluster,
    status,
    health,
    process_health,
    process_status,
    config_status,
    drift,
    desired_snapshot,
    desired_hash,
    applied_snapshot,
    applied_hash,
    last_heartbeat_ms,
    heartbeat_age_ms,
    verified,
    last_sync_error,
    sync_error_code,
    reconcile_reason,
    runtime_version,
    cpu,
    memory,
    tps,
    heap,
    heap_trend,
    hot_swap_errors
});

value_class!(PyNodeView {
    #[new]
    #[pyo3(signature = (
        id, cluster, status, health, process_health, process_status, config_status, drift, desired_snapshot,
        desired_hash, applied_snapshot, applied_hash, last_heartbeat_ms, heartbeat_age_ms, verified, last_sync_error,
        sync_error_code, reconcile_reason, runtime_version, cpu, memory, tps, heap, heap_trend, hot_swap_errors,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        id: Text<'_>,
        cluster: Text<'_>,
        status: Text<'_>,
        health: Text<'_>,
        process_health: Text<'_>,
        process_status: Option<Text<'_>>,
        config_status: Text<'_>,
        drift: Text<'_>,
        desired_snapshot: Option<Text<'_>>,
        desired_hash: Option<Text<'_>>,
        applied_snapshot: Option<Text<'_>>,
        applied_hash: Option<Text<'_>>,
        last_heartbeat_ms: Option<Uint<u64>>,
        heartbeat_age_ms: Option<Uint<u64>>,
        verified: crate::args::Flag,
        last_sync_error: Option<Text<'_>>,
        sync_error_code: Option<Text<'_>>,
        reconcile_reason: Option<Text<'_>>,
        runtime_version: Option<Text<'_>>,
        cpu: Metric,
        memory: Metric,
        tps: Metric,
        heap: Metric,
        heap_trend: Metric,
        hot_swap_errors: Uint<u32>,
    ) -> PyResult<Self> {
        Ok(PyNodeView {
            id: id.0.to_owned(),
            cluster: cluster.0.to_owned(),
            status: label(py, "status", status.0, &node_statuses())?,
            health: label(py, "health", health.0, &healths())?,
            process_health: label(py, "process_health", process_health.0, &process_healths())?,
            process_status: optional_label(py, "process_status", process_status, &process_statuses())?,
            config_status: label(py, "config_status", config_status.0, &config_statuses())?,
            drift: label(py, "drift", drift.0, &drifts())?,
            desired_snapshot: owned(desired_snapshot),
            desired_hash: owned(desired_hash),
            applied_snapshot: owned(applied_snapshot),
            applied_hash: owned(applied_hash),
            last_heartbeat_ms: last_heartbeat_ms.map(|t| t.0),
            heartbeat_age_ms: heartbeat_age_ms.map(|t| t.0),
            verified: verified.0,
            last_sync_error: owned(last_sync_error),
            sync_error_code: optional_label(py, "sync_error_code", sync_error_code, &sync_error_codes())?,
            reconcile_reason: owned(reconcile_reason),
            runtime_version: owned(runtime_version),
            cpu: cpu.0,
            memory: memory.0,
            tps: tps.0,
            heap: heap.0,
            heap_trend: heap_trend.0,
            hot_swap_errors: hot_swap_errors.0,
        })
    }

    fn __repr__(&self) -> String {
        format!(
            "NodeView(id={:?}, cluster={:?}, status={:?}, health={:?}, config_status={:?}, drift={:?}, \
             verified={}, applied_snapshot={}, last_heartbeat_ms={}, sync_error_code={})",
            Q(&self.id),
            Q(&self.cluster),
            Q(self.status),
            Q(self.health),
            Q(self.config_status),
            Q(self.drift),
            if self.verified { "True" } else { "False" },
            py_optional(self.applied_snapshot.as_deref()),
            self.last_heartbeat_ms.map_or_else(|| "None".to_owned(), |t| t.to_string()),
            py_optional(self.sync_error_code),
        )
    }
});

/// `None` or the quoted string, as a Python repr shows an optional string.
pub(crate) fn py_optional(value: Option<&str>) -> String {
    value.map_or_else(|| "None".to_owned(), |v| format!("{:?}", Q(v)))
}

/// Text that formats (with `{:?}`) as Python's `repr` of a `str` does for
/// ordinary text: in single quotes, with backslashes and quotes escaped.
pub(crate) struct Q<'a>(pub(crate) &'a str);

impl std::fmt::Debug for Q<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("'")?;
        for c in self.0.chars() {
            match c {
                '\\' => f.write_str("\\\\")?,
                '\'' => f.write_str("\\'")?,
                c if c.is_control() => write!(f, "{}", c.escape_unicode())?,
                c => write!(f, "{c}")?,
            }
        }
        f.write_str("'")
    }
}
