//! `fleetgov.Engine`: every method is a shim that unpacks its Python
//! arguments and runs the core call through [`PyEngine::with`], detached from
//! the GIL.

use std::path::PathBuf;

use fleetgov::{
    AuthorityMode, ClusterSpec, Engine, EngineConfig, Environment, ForceTarget, Metrics, NodeHandle, Override, Role,
    RuntimeVersion, WorkspaceSpec,
};
use parking_lot::RwLock;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyInt, PyTuple};

use crate::heartbeat::{HeartbeatArgs, NodeRef, millis};
use crate::ingest::PyBatchResult;
use crate::table::PyNodesTable;
use crate::views::{PyClusterView, PyDirective, PyNodeView, PySnapshot};
use crate::{boundary, error, ingest, table};

/// The fleet-governance engine, shared by any number of Python threads.
///
/// `close()` (or leaving a `with` block) releases it; any call after that
/// raises `fleetgov.EngineClosed`.
#[pyclass(module = "fleetgov._native", name = "Engine", frozen)]
pub(crate) struct PyEngine {
    /// `None` once closed. Calls hold the read lock while they run, so
    /// `close` waits for them and never frees an engine in use.
    inner: RwLock<Option<Engine>>,
}

impl PyEngine {
    /// Runs a force sync of `target` and returns its audit record as a dict.
    fn force<'py>(
        &self,
        py: Python<'py>,
        target: ForceTarget<'_>,
        actor: &str,
        role: &str,
        reason: &str,
        at_ms: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = self.with(py, |e| {
            let by = Override::new(actor, Role::parse(role)?, reason, millis("at_ms", at_ms, e)?);
            to_json(&*e.force_sync(target, &by)?)
        })?;
        json_loads(py, &text)
    }

    /// Runs `f` on the open engine, detached from the GIL.
    pub(crate) fn with<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&Engine) -> fleetgov::Result<T> + Send,
    {
        boundary::run(py, || self.inner.read().as_ref().map(f).transpose())?.ok_or_else(|| error::closed(py))
    }
}

#[pymethods]
impl PyEngine {
    /// An engine on the system clock. With `audit_path`, the audit log is
    /// durable: an existing log is verified and replayed to restore the
    /// authority state (a damaged one raises `AuditTampered`).
    #[new]
    #[pyo3(signature = (audit_path = None))]
    fn new(py: Python<'_>, audit_path: Option<PathBuf>) -> PyResult<Self> {
        let engine = boundary::run(py, || Engine::with_config(EngineConfig { audit_path, ..EngineConfig::default() }))?;
        Ok(PyEngine { inner: RwLock::new(Some(engine)) })
    }

    /// Releases the engine. Idempotent; calls in flight finish first.
    fn close(&self, py: Python<'_>) {
        // Detached: the write lock waits for calls in flight, which need the
        // GIL back to return, and dropping may free much memory.
        py.detach(|| drop(self.inner.write().take()));
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.read().is_none()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, PyTuple>) -> bool {
        self.close(py);
        false
    }

    /// Creates or updates workspace `id`.
    #[pyo3(signature = (id, /, *, authority_mode = "authoritative", min_runtime_version = "3.4.0"))]
    fn upsert_workspace(
        &self,
        py: Python<'_>,
        id: &str,
        authority_mode: &str,
        min_runtime_version: &str,
    ) -> PyResult<()> {
        self.with(py, |e| {
            let spec = WorkspaceSpec::new(id)
                .authority_mode(AuthorityMode::parse(authority_mode)?)
                .min_runtime_version(min_runtime_version.parse::<RuntimeVersion>()?);
            e.upsert_workspace(spec)
        })
    }

    /// Creates or updates cluster `id` of `workspace`.
    #[pyo3(signature = (id, /, *, workspace, environment, owner_team = "", auto_reconcile = false))]
    fn upsert_cluster(
        &self,
        py: Python<'_>,
        id: &str,
        workspace: &str,
        environment: &str,
        owner_team: &str,
        auto_reconcile: bool,
    ) -> PyResult<()> {
        self.with(py, |e| {
            let spec = ClusterSpec::new(id, workspace, Environment::parse(environment)?)
                .owner_team(owner_team)
                .auto_reconcile(auto_reconcile);
            e.upsert_cluster(spec)
        })
    }

    /// Publishes `config` as the next snapshot of `cluster`, now its desired state.
    #[pyo3(signature = (cluster, config, /, *, actor, at_ms = None))]
    fn publish(
        &self,
        py: Python<'_>,
        cluster: &str,
        config: PyBackedBytes,
        actor: &str,
        at_ms: Option<i64>,
    ) -> PyResult<PySnapshot> {
        self.with(py, |e| e.publish(cluster, &config, actor, millis("at_ms", at_ms, e)?).map(PySnapshot::from))
    }

    /// Enrolls node `node` in `cluster` (again in the same cluster: no
    /// change) and returns its handle, the `handle` field of its binary
    /// heartbeat records.
    #[pyo3(signature = (node, /, *, cluster, at_ms = None))]
    fn enroll(&self, py: Python<'_>, node: &str, cluster: &str, at_ms: Option<i64>) -> PyResult<u64> {
        self.with(py, |e| e.enroll(node, cluster, millis("at_ms", at_ms, e)?).map(NodeHandle::to_raw))
    }

    /// The handle of enrolled node `node`.
    #[pyo3(signature = (node, /))]
    fn node_handle(&self, py: Python<'_>, node: &str) -> PyResult<u64> {
        self.with(py, |e| e.node_handle(node).map(NodeHandle::to_raw))
    }

    /// Applies a batch of binary heartbeat records in one call: a NumPy array
    /// of `fleetgov.records.RECORD_DTYPE` (or any C-contiguous buffer of
    /// 128-byte records), or an Arrow array / stream of `fixed_size_binary(128)`.
    /// A malformed record fails the whole batch with nothing applied.
    #[pyo3(signature = (batch, /))]
    fn ingest(&self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<PyBatchResult> {
        ingest::ingest(self, py, batch)
    }

    /// The state of every node at `now_ms` as an Arrow table (`NodesTable`,
    /// read by `pyarrow.table`, `polars.DataFrame`, DuckDB, ...). Raises
    /// `Conflict` if snapshots kept being published during every attempt.
    #[pyo3(signature = (*, now_ms = None))]
    fn nodes_table(&self, py: Python<'_>, now_ms: Option<i64>) -> PyResult<PyNodesTable> {
        self.with(py, |e| table::build(e, millis("now_ms", now_ms, e)?))
    }

    /// Records a heartbeat of `node` (an id, or the handle `enroll` returned);
    /// returns a `Directive` or `None`.
    #[pyo3(signature = (
        node, /, *, runtime_version, at_ms = None, applied_snapshot = None, applied_hash = None,
        process_status = "ready", cpu = 0.0, memory = 0.0, tps = 0.0, heap = 0.0,
        hot_swap_errors = 0, sync_error = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn heartbeat(
        &self,
        py: Python<'_>,
        node: &Bound<'_, PyAny>,
        runtime_version: &str,
        at_ms: Option<i64>,
        applied_snapshot: Option<&str>,
        applied_hash: Option<&str>,
        process_status: &str,
        cpu: f32,
        memory: f32,
        tps: f32,
        heap: f32,
        hot_swap_errors: i64,
        sync_error: Option<&str>,
    ) -> PyResult<Option<PyDirective>> {
        let node = match node.cast::<PyInt>() {
            Ok(handle) => NodeRef::Handle(handle.extract().map_err(|_| {
                error::to_py(py, fleetgov::Error::invalid(format!("node handle {handle} is not a u64")))
            })?),
            Err(_) => NodeRef::Id(node.extract()?),
        };
        self.with(py, |e| {
            let hot_swap_errors = u32::try_from(hot_swap_errors).map_err(|_| {
                fleetgov::Error::invalid(format!("hot_swap_errors must be from 0 to 2^32-1, got {hot_swap_errors}"))
            })?;
            let args = HeartbeatArgs {
                at_ms,
                applied_snapshot,
                applied_hash,
                runtime_version,
                process_status,
                metrics: Metrics { cpu, memory, tps, heap, hot_swap_errors },
                sync_error,
            };
            args.record(e, node)
        })
    }

    /// Cluster `id` at `now_ms`.
    #[pyo3(signature = (id, /, *, now_ms = None))]
    fn cluster(&self, py: Python<'_>, id: &str, now_ms: Option<i64>) -> PyResult<PyClusterView> {
        self.with(py, |e| e.cluster(id, millis("now_ms", now_ms, e)?).map(PyClusterView::from))
    }

    /// Node `id` at `now_ms`.
    #[pyo3(signature = (id, /, *, now_ms = None))]
    fn node(&self, py: Python<'_>, id: &str, now_ms: Option<i64>) -> PyResult<PyNodeView> {
        self.with(py, |e| e.node(id, millis("now_ms", now_ms, e)?).map(PyNodeView::from))
    }

    /// The nodes of `cluster` in enrolment order, `limit` of them from `offset`.
    #[pyo3(signature = (cluster, /, *, now_ms = None, offset = 0, limit = None))]
    fn cluster_nodes(
        &self,
        py: Python<'_>,
        cluster: &str,
        now_ms: Option<i64>,
        offset: usize,
        limit: Option<usize>,
    ) -> PyResult<Vec<PyNodeView>> {
        self.with(py, |e| {
            let nodes = e.cluster_nodes(cluster, millis("now_ms", now_ms, e)?, offset, limit.unwrap_or(usize::MAX))?;
            Ok(nodes.into_iter().map(PyNodeView::from).collect())
        })
    }

    /// The ids of every cluster, in creation order.
    fn cluster_ids(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.with(py, |e| Ok(e.cluster_ids()))
    }

    /// The snapshot `id` (`"<cluster>@r<revision>"`).
    #[pyo3(signature = (id, /))]
    fn snapshot(&self, py: Python<'_>, id: &str) -> PyResult<PySnapshot> {
        self.with(py, |e| e.snapshot(id).map(PySnapshot::from))
    }

    /// The desired snapshot of `cluster`, or `None` before the first publish.
    #[pyo3(signature = (cluster, /))]
    fn desired(&self, py: Python<'_>, cluster: &str) -> PyResult<Option<PySnapshot>> {
        self.with(py, |e| Ok(e.desired(cluster)?.map(PySnapshot::from)))
    }

    /// The configuration bytes whose blake3 hash is `hash` (what a runtime pulls).
    #[pyo3(signature = (hash, /))]
    fn artifact<'py>(&self, py: Python<'py>, hash: &str) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.with(py, |e| e.artifact(&fleetgov::ContentHash::from_hex(hash)?))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The fleet inventory of `workspace`, shaped like
    /// `GET /api/v1/workspaces/{id}/fleet`: `runtimes`, `summary`, `desiredState`.
    #[pyo3(signature = (workspace, /, *, now_ms = None))]
    fn fleet<'py>(&self, py: Python<'py>, workspace: &str, now_ms: Option<i64>) -> PyResult<Bound<'py, PyAny>> {
        let text = self.with(py, |e| to_json(&e.fleet(workspace, millis("now_ms", now_ms, e)?)?))?;
        json_loads(py, &text)
    }

    /// Forces one node (`node=`) or every node of a cluster (`cluster=`) to
    /// resync to its authority: audited first, then answered with a
    /// `force_sync` directive on the node's next heartbeat. Returns the audit
    /// record. Needs a non-blank `reason` and the operator or admin role.
    #[pyo3(signature = (*, node = None, cluster = None, actor, role, reason, at_ms = None))]
    #[allow(clippy::too_many_arguments)]
    fn force_sync<'py>(
        &self,
        py: Python<'py>,
        node: Option<&str>,
        cluster: Option<&str>,
        actor: &str,
        role: &str,
        reason: &str,
        at_ms: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let target = match (node, cluster) {
            (Some(n), None) => ForceTarget::Node(n),
            (None, Some(c)) => ForceTarget::Cluster(c),
            _ => {
                return Err(error::to_py(
                    py,
                    fleetgov::Error::invalid("force_sync takes exactly one of node= and cluster="),
                ));
            }
        };
        self.force(py, target, actor, role, reason, at_ms)
    }

    /// Global fleet overwrite: forces every cluster of `workspace` (or of
    /// every workspace when omitted) to resync. Admin only; audited.
    #[pyo3(signature = (*, workspace = None, actor, role, reason, at_ms = None))]
    fn force_global<'py>(
        &self,
        py: Python<'py>,
        workspace: Option<&str>,
        actor: &str,
        role: &str,
        reason: &str,
        at_ms: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let target = workspace.map_or(ForceTarget::Fleet, ForceTarget::Workspace);
        self.force(py, target, actor, role, reason, at_ms)
    }

    /// Every audit record, oldest first, as dicts (`seq`, `timeMs`, `actor`,
    /// `role`, `action`, `target`, `justification`, `payload`, `payloadHash`,
    /// `prevHash`).
    fn audit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = self.with(py, |e| {
            let records = e.audit();
            to_json(&records.iter().map(|r| &**r).collect::<Vec<_>>())
        })?;
        json_loads(py, &text)
    }

    /// Re-verifies the whole audit log (hash chain and Merkle tree) and
    /// returns the hex root of its head; raises `AuditTampered` if it does not verify.
    fn verify_audit(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |e| e.verify_audit().map(|head| head.root.to_string()))
    }

    /// A signed checkpoint of the audit log's current head (a signed note).
    fn checkpoint(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, Engine::checkpoint)
    }

    fn __repr__(&self) -> &'static str {
        if self.closed() { "<fleetgov.Engine (closed)>" } else { "<fleetgov.Engine>" }
    }
}

/// `value` as JSON text, for [`json_loads`].
fn to_json(value: &impl serde::Serialize) -> fleetgov::Result<String> {
    serde_json::to_string(value).map_err(|e| fleetgov::Error::invalid(format!("cannot serialise: {e}")))
}

/// `json.loads(text)`.
fn json_loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let loads = LOADS.get_or_try_init(py, || py.import("json")?.getattr("loads").map(Bound::unbind))?;
    loads.bind(py).call1((text,))
}
