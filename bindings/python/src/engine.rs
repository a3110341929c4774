//! `fleetgov.Engine`: every method is a shim that unpacks its Python
//! arguments ([`crate::args`]) and runs the core call through
//! [`PyEngine::with`] (detached from the GIL) or, for a short call that
//! cannot block, [`PyEngine::quick`] (keeping it).

use fleetgov::audit::AuditQuery;
use fleetgov::drift::DriftStatus;
use fleetgov::{
    AuthorityMode, By, Clock, ClusterSpec, Engine, EngineConfig, Environment, ForceTarget, Health, IdColumn, Metrics,
    NodeHandle, Override, Role, RuntimeVersion, WorkspaceSpec,
};
use parking_lot::RwLock;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList};

use crate::args::{Bytes, FilePath, Flag, Metric, Text, Uint, millis, uint};
use crate::events::PyEventStream;
use crate::heartbeat::{HeartbeatArgs, NodeRef, now_or};
use crate::ingest::PyBatchResult;
use crate::node_state::HEALTHS;
use crate::proof::{PyConsistencyProof, PyInclusionProof};
use crate::rollout::PyRolloutView;
use crate::table::{PyAuditTable, PyNodesTable};
use crate::views::{PyClusterView, PyDirective, PyNodeView, PySnapshot};
use crate::{audit, boundary, durable, error, history, ingest, inventory, table};

/// The fleet-governance engine, shared by any number of Python threads.
///
/// `close()` (or leaving a `with` block) releases it; any call after that
/// raises `fleetgov.EngineClosed`.
#[pyclass(module = "fleetgov._native", name = "Engine", frozen)]
pub(crate) struct PyEngine {
    /// `None` once closed. Calls hold the read lock while they run, so
    /// `close` waits for them and never frees an engine in use.
    inner: RwLock<Option<Engine>>,
    /// Where the engine keeps what it must not forget. With a file or a
    /// data directory, a heartbeat may append an auto-reconcile record and
    /// wait for the disk, so it releases the GIL.
    storage: durable::Storage,
    /// The copy buffer of writable batches, kept across ingests (see
    /// [`ingest::Staging`]); freed on `close`.
    staging: ingest::Staging,
}

impl PyEngine {
    /// Runs a force sync of `target` and returns its audit record as a dict.
    #[allow(clippy::too_many_arguments)]
    fn force<'py>(
        &self,
        py: Python<'py>,
        target: ForceTarget<'_>,
        actor: &str,
        role: &str,
        reason: &str,
        at_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let at_ms = millis(at_ms, "at_ms")?;
        let record = self.with(py, |e| {
            let by = Override::new(actor, Role::parse(role)?, reason, now_or(at_ms, e));
            e.force_sync(target, &by)
        })?;
        audit::record(py, &record)
    }

    /// Runs a rollout action (`Engine::pause_rollout`, ...) on `cluster` as
    /// `who` (actor, role, justification) and returns its audit record as a dict.
    fn act_on_rollout<'py>(
        &self,
        py: Python<'py>,
        action: fn(&Engine, &str, &Override<'_>) -> fleetgov::Result<std::sync::Arc<fleetgov::audit::AuditRecord>>,
        cluster: &str,
        (actor, role, reason): (&str, &str, &str),
        at_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let at_ms = millis(at_ms, "at_ms")?;
        let record =
            self.with(py, |e| action(e, cluster, &Override::new(actor, Role::parse(role)?, reason, now_or(at_ms, e))))?;
        audit::record(py, &record)
    }

    /// Runs `f` on the open engine, detached from the GIL.
    pub(crate) fn with<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&Engine) -> fleetgov::Result<T> + Send,
    {
        boundary::run(py, || self.inner.read().as_ref().map(f).transpose())?.ok_or_else(|| error::closed(py))
    }

    /// Runs `f` on the open engine keeping the GIL: for a short call that
    /// cannot block. If the engine is being closed (the read lock is not free
    /// at once), waits detached as [`with`](Self::with) does, so the GIL is
    /// never held while waiting.
    fn quick<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        T: Send,
        F: FnOnce(&Engine) -> fleetgov::Result<T> + Send,
    {
        match self.inner.try_read() {
            Some(guard) => {
                boundary::run_attached(py, || guard.as_ref().map(f).transpose())?.ok_or_else(|| error::closed(py))
            }
            None => self.with(py, f),
        }
    }
}

#[pymethods]
impl PyEngine {
    /// An engine on the system clock, or with `clock_ms` on a manual clock
    /// that reads `clock_ms` until `set_clock` moves it (for tests and
    /// replays). With `data_dir`, the engine is durable: the directory keeps
    /// the audit log, the signing key, enrolments, the journal of what ran
    /// and every node's last report, and restores them when it is opened
    /// again (the README's "Durable engines"); the journal is
    /// written every `journal_interval_ms` and node state checkpointed every
    /// `checkpoint_interval_ms`, and a journal segment is sealed into the
    /// audit log every `journal_segment_len` transitions. With `audit_path`
    /// alone, only the audit log is durable: an existing log is verified and
    /// replayed to restore the authority state. Give one or the other
    /// (`InvalidInput`); a directory another engine has open is `Conflict`,
    /// a damaged log `AuditTampered`, a file that cannot be opened or
    /// created `StorageError`. The history begins when the data directory
    /// was made, or without one at the clock's reading now. `capacity` is the
    /// most nodes the engine holds, 1 to 4,294,967,295 (default 16,777,216;
    /// `InvalidInput` outside that range): enrolling one more is
    /// `InvalidInput` naming it. Memory grows as nodes enrol.
    /// `retention_ms` is how long the history is kept (default 30 days, at
    /// least 1): earlier times raise `HistoryUnavailable` naming the
    /// horizon, and the journal is compacted behind it.
    #[new]
    #[pyo3(signature = (
        audit_path = None, *, clock_ms = None, data_dir = None, journal_interval_ms = None,
        checkpoint_interval_ms = None, journal_segment_len = None, capacity = None, retention_ms = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        audit_path: Option<FilePath>,
        clock_ms: Option<&Bound<'_, PyAny>>,
        data_dir: Option<FilePath>,
        journal_interval_ms: Option<&Bound<'_, PyAny>>,
        checkpoint_interval_ms: Option<&Bound<'_, PyAny>>,
        journal_segment_len: Option<Uint<u64>>,
        capacity: Option<Uint<usize>>,
        retention_ms: Option<Uint<u64>>,
    ) -> PyResult<Self> {
        let clock = millis(clock_ms, "clock_ms")?.map_or(Clock::System, Clock::manual);
        let mut config = EngineConfig { clock, ..EngineConfig::default() };
        if let Some(Uint(nodes)) = capacity {
            config.capacity = nodes;
        }
        if let Some(Uint(ms)) = retention_ms {
            config.retention = std::time::Duration::from_millis(ms);
        }
        let cadence = durable::Cadence {
            journal_interval_ms: millis(journal_interval_ms, "journal_interval_ms")?,
            checkpoint_interval_ms: millis(checkpoint_interval_ms, "checkpoint_interval_ms")?,
            journal_segment_len: journal_segment_len.map(|n| n.0),
        };
        let storage = durable::Storage::new(audit_path.map(|p| p.0), data_dir.map(|p| p.0));
        storage.configure(py, &mut config, cadence)?;
        let engine =
            py.detach(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Engine::with_config(config))));
        let engine = match engine {
            Ok(Ok(engine)) => engine,
            Ok(Err(e)) => return Err(storage.open_error(py, e)),
            Err(payload) => return Err(error::panicked(py, payload)),
        };
        Ok(PyEngine { inner: RwLock::new(Some(engine)), storage, staging: ingest::Staging::default() })
    }

    /// Releases the engine. Idempotent; calls in flight finish first.
    fn close(&self, py: Python<'_>) {
        // Detached: the write lock waits for calls in flight, which need the
        // GIL back to return, and dropping may free much memory.
        py.detach(|| drop(self.inner.write().take()));
        self.staging.release(py);
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner.read().is_none()
    }

    /// Enters a `with` block; a closed engine raises `EngineClosed`.
    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        if slf.get().closed() {
            return Err(error::closed(slf.py()));
        }
        Ok(slf)
    }

    /// Leaves a `with` block: closes the engine. Never swallows an exception.
    #[pyo3(signature = (_exc_type, _exc_value, _traceback, /))]
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc_value: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) {
        self.close(py);
    }

    /// The engine's clock now (unix ms): the system clock, or the manual one.
    #[getter]
    fn clock_ms(&self, py: Python<'_>) -> PyResult<u64> {
        self.quick(py, |e| Ok(e.clock().now_ms()))
    }

    /// Moves the manual clock of an engine made with `clock_ms` to `ms`;
    /// raises `InvalidInput` on an engine on the system clock.
    #[pyo3(signature = (ms, /))]
    fn set_clock(&self, py: Python<'_>, ms: &Bound<'_, PyAny>) -> PyResult<()> {
        let ms = uint::<u64>(ms, "ms (unix milliseconds)")?;
        let manual = self.quick(py, |e| {
            let manual = matches!(e.clock(), Clock::Manual(_));
            if manual {
                e.clock().set(ms);
            }
            Ok(manual)
        })?;
        if !manual {
            return Err(error::invalid(py, "set_clock needs an engine made with clock_ms=".to_owned()));
        }
        Ok(())
    }

    /// Creates or updates workspace `id`.
    #[pyo3(
        signature = (id, /, *, authority_mode = Text("authoritative"), min_runtime_version = Text("3.4.0")),
        text_signature = "(self, id, /, *, authority_mode='authoritative', min_runtime_version='3.4.0')"
    )]
    fn upsert_workspace(
        &self,
        py: Python<'_>,
        id: Text<'_>,
        authority_mode: Text<'_>,
        min_runtime_version: Text<'_>,
    ) -> PyResult<()> {
        self.with(py, |e| {
            let spec = WorkspaceSpec::new(id.0)
                .authority_mode(AuthorityMode::parse(authority_mode.0)?)
                .min_runtime_version(min_runtime_version.0.parse::<RuntimeVersion>()?);
            e.upsert_workspace(spec)
        })
    }

    /// Creates or updates cluster `id` of `workspace`.
    #[pyo3(
        signature = (id, /, *, workspace, environment, owner_team = Text(""), auto_reconcile = Flag(false)),
        text_signature = "(self, id, /, *, workspace, environment, owner_team='', auto_reconcile=False)"
    )]
    fn upsert_cluster(
        &self,
        py: Python<'_>,
        id: Text<'_>,
        workspace: Text<'_>,
        environment: Text<'_>,
        owner_team: Text<'_>,
        auto_reconcile: Flag,
    ) -> PyResult<()> {
        self.with(py, |e| {
            let spec = ClusterSpec::new(id.0, workspace.0, Environment::parse(environment.0)?)
                .owner_team(owner_team.0)
                .auto_reconcile(auto_reconcile.0);
            e.upsert_cluster(spec)
        })
    }

    /// Publishes `config` as the next snapshot of `cluster`, now its desired
    /// state. With `rollout` (a dict: `waves`, `bake_ms`, `max_failure_pct`,
    /// `auto_rollback`), the snapshot reaches the cluster in those waves: the
    /// nodes of started waves should run it, the others keep the snapshot
    /// published before until their wave starts (`InvalidInput` when there
    /// is none, or for a plan the engine refuses).
    #[pyo3(signature = (cluster, config, /, *, actor, at_ms = None, rollout = None))]
    fn publish(
        &self,
        py: Python<'_>,
        cluster: Text<'_>,
        config: Bytes,
        actor: Text<'_>,
        at_ms: Option<&Bound<'_, PyAny>>,
        rollout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PySnapshot> {
        let at_ms = millis(at_ms, "at_ms")?;
        let plan = rollout.filter(|r| !r.is_none()).map(crate::rollout::plan).transpose()?;
        self.with(py, |e| {
            let at_ms = now_or(at_ms, e);
            let published = match plan {
                None => e.publish(cluster.0, &config.0, actor.0, at_ms),
                Some(plan) => {
                    e.publish_with_rollout(cluster.0, &config.0, &By::new(actor.0, Role::Operator, at_ms), plan)
                }
            };
            published.map(PySnapshot::from)
        })
    }

    /// The rollout of `cluster` at `now_ms` (a `RolloutView`), or `None`
    /// when the cluster never had one.
    #[pyo3(signature = (cluster, /, *, now_ms = None))]
    fn rollout(
        &self,
        py: Python<'_>,
        cluster: Text<'_>,
        now_ms: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<PyRolloutView>> {
        let now_ms = millis(now_ms, "now_ms")?;
        self.with(py, |e| Ok(e.rollout(cluster.0, now_or(now_ms, e))?.map(PyRolloutView::from)))
    }

    /// Evaluates the gates of every active rollout at `now_ms` (a bake may
    /// have ended with no heartbeat to notice it): waves start, rollouts
    /// halt, roll back or complete, each audited. Returns how many steps
    /// were taken. Call it periodically.
    #[pyo3(signature = (*, now_ms = None))]
    fn advance_rollouts(&self, py: Python<'_>, now_ms: Option<&Bound<'_, PyAny>>) -> PyResult<usize> {
        let now_ms = millis(now_ms, "now_ms")?;
        self.with(py, |e| e.advance_rollouts(now_or(now_ms, e)))
    }

    /// Pauses the rollout of `cluster`: no wave starts and the started
    /// waves' nodes get no directive until it is resumed. Needs the
    /// operator or admin role and a `reason` (`force_sync`'s rules); a
    /// rollout that is not progressing or baking raises `Conflict`, a
    /// cluster that never had one `NotFound`. Returns the audit record.
    #[pyo3(signature = (cluster, /, *, actor, role, reason, at_ms = None))]
    fn pause_rollout<'py>(
        &self,
        py: Python<'py>,
        cluster: Text<'_>,
        actor: Text<'_>,
        role: Text<'_>,
        reason: Text<'_>,
        at_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.act_on_rollout(py, Engine::pause_rollout, cluster.0, (actor.0, role.0, reason.0), at_ms)
    }

    /// Resumes a paused or halted rollout of `cluster` (a halted one halts
    /// again unless its failures fell within the budget); as `pause_rollout`.
    #[pyo3(signature = (cluster, /, *, actor, role, reason, at_ms = None))]
    fn resume_rollout<'py>(
        &self,
        py: Python<'py>,
        cluster: Text<'_>,
        actor: Text<'_>,
        role: Text<'_>,
        reason: Text<'_>,
        at_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.act_on_rollout(py, Engine::resume_rollout, cluster.0, (actor.0, role.0, reason.0), at_ms)
    }

    /// Aborts the rollout of `cluster`: every node should run the previous
    /// snapshot again, and those that applied the target are told to
    /// return; as `pause_rollout`.
    #[pyo3(signature = (cluster, /, *, actor, role, reason, at_ms = None))]
    fn abort_rollout<'py>(
        &self,
        py: Python<'py>,
        cluster: Text<'_>,
        actor: Text<'_>,
        role: Text<'_>,
        reason: Text<'_>,
        at_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.act_on_rollout(py, Engine::abort_rollout, cluster.0, (actor.0, role.0, reason.0), at_ms)
    }

    /// Starts every remaining wave of the rollout of `cluster` now; as
    /// `pause_rollout`.
    #[pyo3(signature = (cluster, /, *, actor, role, reason, at_ms = None))]
    fn promote_rollout<'py>(
        &self,
        py: Python<'py>,
        cluster: Text<'_>,
        actor: Text<'_>,
        role: Text<'_>,
        reason: Text<'_>,
        at_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.act_on_rollout(py, Engine::promote_rollout, cluster.0, (actor.0, role.0, reason.0), at_ms)
    }

    /// Enrolls node `node` in `cluster` (again in the same cluster: no
    /// change) and returns its handle, the `handle` field of its binary
    /// heartbeat records.
    #[pyo3(signature = (node, /, *, cluster, at_ms = None))]
    fn enroll(
        &self,
        py: Python<'_>,
        node: Text<'_>,
        cluster: Text<'_>,
        at_ms: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let at_ms = millis(at_ms, "at_ms")?;
        self.with(py, |e| e.enroll(node.0, cluster.0, now_or(at_ms, e)).map(NodeHandle::to_raw))
    }

    /// Enrolls every `(node, cluster)` pair of `nodes` at `at_ms`, as
    /// `enroll` would one by one, and returns their handles in order. Every
    /// pair is checked first (ids, clusters, a node enrolled or listed in
    /// another cluster, capacity): on a refusal nothing is enrolled. With a
    /// data directory the new enrolments share one write to disk.
    #[pyo3(signature = (nodes, /, *, at_ms = None))]
    fn enroll_many(
        &self,
        py: Python<'_>,
        nodes: &Bound<'_, PyAny>,
        at_ms: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<u64>> {
        let at_ms = millis(at_ms, "at_ms")?;
        let pairs = durable::pairs(nodes)?;
        self.with(py, |e| {
            let handles = e.enroll_many(pairs.iter().map(|(n, c)| (n.as_str(), c.as_str())), now_or(at_ms, e))?;
            Ok(handles.into_iter().map(NodeHandle::to_raw).collect())
        })
    }

    /// The handle of enrolled node `node`.
    #[pyo3(signature = (node, /))]
    fn node_handle(&self, py: Python<'_>, node: Text<'_>) -> PyResult<u64> {
        self.quick(py, |e| e.node_handle(node.0).map(NodeHandle::to_raw))
    }

    /// Applies a batch of binary heartbeat records in one call: a NumPy array
    /// of `fleetgov.records.RECORD_DTYPE` (or any C-contiguous buffer of
    /// 128-byte records), or an Arrow array / stream of `fixed_size_binary(128)`.
    /// A malformed record fails the whole batch with nothing applied.
    /// A writable buffer is copied before it is applied: a batch of up to
    /// one chunk (1,048,576 records) into a buffer the engine keeps for the
    /// next call (at most 128 MiB; `release_ingest_buffer()` or `close()`
    /// frees it), a longer one into fresh memory.
    #[pyo3(signature = (batch, /))]
    fn ingest(&self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<PyBatchResult> {
        let apply = |py: Python<'_>, ids: Option<IdColumn<'_>>, records: &[_], outcomes: &mut [_]| {
            self.with(py, |e| match ids {
                Some(ids) => e.ingest_by_id(ids, records, outcomes),
                None => e.ingest_records(records, outcomes),
            })
        };
        let result = ingest::ingest(&apply, &self.staging, py, batch);
        // Detached: `close` may be waiting for the write lock on calls that
        // need the GIL back.
        if py.detach(|| self.inner.read().is_none()) {
            // Closed while this call copied into the buffer: `close` may
            // have freed it before, so free it again.
            self.staging.release(py);
        }
        result
    }

    /// Frees the buffer `ingest` keeps to copy writable batches into and
    /// returns the bytes it held (0 if none). The next writable batch
    /// allocates it again.
    fn release_ingest_buffer(&self, py: Python<'_>) -> usize {
        self.staging.release(py)
    }

    /// The state of every node at `now_ms` as an Arrow table (`NodesTable`,
    /// read by `pyarrow.table`, `polars.DataFrame`, DuckDB, ...). Raises
    /// `Conflict` if snapshots kept being published during every attempt.
    #[pyo3(signature = (*, now_ms = None))]
    fn nodes_table(&self, py: Python<'_>, now_ms: Option<&Bound<'_, PyAny>>) -> PyResult<PyNodesTable> {
        let now_ms = millis(now_ms, "now_ms")?;
        self.with(py, |e| table::build(e, now_or(now_ms, e)))
    }

    /// Records a heartbeat of `node` (an id, or the handle `enroll` returned);
    /// returns a `Directive` or `None`.
    #[pyo3(
        signature = (
            node, /, *, runtime_version, at_ms = None, applied_snapshot = None, applied_hash = None,
            process_status = Text("ready"), cpu = Metric(0.0), memory = Metric(0.0), tps = Metric(0.0),
            heap = Metric(0.0), hot_swap_errors = Uint(0), sync_error = None,
        ),
        text_signature = "(self, node, /, *, runtime_version, at_ms=None, applied_snapshot=None, applied_hash=None, \
                          process_status='ready', cpu=0.0, memory=0.0, tps=0.0, heap=0.0, hot_swap_errors=0, \
                          sync_error=None)"
    )]
    #[allow(clippy::too_many_arguments)]
    fn heartbeat(
        &self,
        py: Python<'_>,
        node: &Bound<'_, PyAny>,
        runtime_version: Text<'_>,
        at_ms: Option<&Bound<'_, PyAny>>,
        applied_snapshot: Option<Text<'_>>,
        applied_hash: Option<Text<'_>>,
        process_status: Text<'_>,
        cpu: Metric,
        memory: Metric,
        tps: Metric,
        heap: Metric,
        hot_swap_errors: Uint<u32>,
        sync_error: Option<Text<'_>>,
    ) -> PyResult<Option<PyDirective>> {
        let node = if node.is_instance_of::<PyInt>() {
            NodeRef::Handle(crate::args::uint::<u64>(node, "a node handle")?)
        } else {
            NodeRef::Id(crate::args::text(node.as_borrowed(), "a node id (str) or handle (int)")?.0)
        };
        let args = HeartbeatArgs {
            at_ms: millis(at_ms, "at_ms")?,
            applied_snapshot: applied_snapshot.map(|t| t.0),
            applied_hash: applied_hash.map(|t| t.0),
            runtime_version: runtime_version.0,
            process_status: process_status.0,
            metrics: Metrics {
                cpu: cpu.0,
                memory: memory.0,
                tps: tps.0,
                heap: heap.0,
                hot_swap_errors: hot_swap_errors.0,
            },
            sync_error: sync_error.map(|t| t.0),
        };
        if self.storage.on_disk() {
            // May append an auto-reconcile record and wait for the disk.
            self.with(py, |e| args.record(e, node))
        } else {
            self.quick(py, |e| args.record(e, node))
        }
    }

    /// Cluster `id` at `now_ms`.
    #[pyo3(signature = (id, /, *, now_ms = None))]
    fn cluster(&self, py: Python<'_>, id: Text<'_>, now_ms: Option<&Bound<'_, PyAny>>) -> PyResult<PyClusterView> {
        let now_ms = millis(now_ms, "now_ms")?;
        self.quick(py, |e| e.cluster(id.0, now_or(now_ms, e)).map(PyClusterView::from))
    }

    /// Node `id` at `now_ms`.
    #[pyo3(signature = (id, /, *, now_ms = None))]
    fn node(&self, py: Python<'_>, id: Text<'_>, now_ms: Option<&Bound<'_, PyAny>>) -> PyResult<PyNodeView> {
        let now_ms = millis(now_ms, "now_ms")?;
        self.quick(py, |e| e.node(id.0, now_or(now_ms, e)).map(PyNodeView::from))
    }

    /// The nodes of `cluster` in enrolment order, `limit` of them from `offset`.
    #[pyo3(
        signature = (cluster, /, *, now_ms = None, offset = Uint(0), limit = None),
        text_signature = "(self, cluster, /, *, now_ms=None, offset=0, limit=None)"
    )]
    fn cluster_nodes(
        &self,
        py: Python<'_>,
        cluster: Text<'_>,
        now_ms: Option<&Bound<'_, PyAny>>,
        offset: Uint<usize>,
        limit: Option<Uint<usize>>,
    ) -> PyResult<Vec<PyNodeView>> {
        let now_ms = millis(now_ms, "now_ms")?;
        self.with(py, |e| {
            let limit = limit.map_or(usize::MAX, |l| l.0);
            let nodes = e.cluster_nodes(cluster.0, now_or(now_ms, e), offset.0, limit)?;
            Ok(nodes.into_iter().map(PyNodeView::from).collect())
        })
    }

    /// The ids of every cluster, in creation order.
    fn cluster_ids(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.quick(py, |e| Ok(e.cluster_ids()))
    }

    /// The snapshot `id` (`"<cluster>@r<revision>"`).
    #[pyo3(signature = (id, /))]
    fn snapshot(&self, py: Python<'_>, id: Text<'_>) -> PyResult<PySnapshot> {
        self.quick(py, |e| e.snapshot(id.0).map(PySnapshot::from))
    }

    /// The desired snapshot of `cluster`, or `None` before the first publish.
    #[pyo3(signature = (cluster, /))]
    fn desired(&self, py: Python<'_>, cluster: Text<'_>) -> PyResult<Option<PySnapshot>> {
        self.quick(py, |e| Ok(e.desired(cluster.0)?.map(PySnapshot::from)))
    }

    /// The configuration bytes whose blake3 hash is `hash` (what a runtime pulls).
    #[pyo3(signature = (hash, /))]
    fn artifact<'py>(&self, py: Python<'py>, hash: Text<'_>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = self.with(py, |e| e.artifact(&fleetgov::ContentHash::from_hex(hash.0)?))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The fleet inventory of `workspace` (`fleetgov.types.FleetInventory`):
    /// `runtimes`, `summary`, `desiredState`, `nextCursor`, filtered and
    /// paged as the HTTP API's `?health=&drift=&cluster=&limit=&cursor=`:
    /// the runtimes of that health, drift status and cluster, in cluster then
    /// enrolment order, at most `limit` of them from `cursor` (a `nextCursor`
    /// of the page before; `None` on the last page). The summary and the
    /// desired state cover the whole workspace. With `columnar`, `runtimes`
    /// is one dict of equal-length lists (`pl.DataFrame(page["runtimes"])`)
    /// instead of a list of dicts.
    #[pyo3(signature = (
        workspace, /, *, now_ms = None, health = None, drift = None, cluster = None, limit = None, cursor = None,
        columnar = Flag(false),
    ))]
    #[allow(clippy::too_many_arguments)]
    fn fleet<'py>(
        &self,
        py: Python<'py>,
        workspace: Text<'_>,
        now_ms: Option<&Bound<'py, PyAny>>,
        health: Option<Text<'_>>,
        drift: Option<Text<'_>>,
        cluster: Option<Text<'_>>,
        limit: Option<Uint<usize>>,
        cursor: Option<Text<'_>>,
        columnar: Flag,
    ) -> PyResult<Bound<'py, PyDict>> {
        let now_ms = millis(now_ms, "now_ms")?;
        let page = self.with(py, |e| {
            let query = fleetgov::FleetQuery {
                health: inventory::named("health", health.map(|t| t.0), &HEALTHS, Health::as_str)?,
                drift: inventory::named("drift", drift.map(|t| t.0), &inventory::DRIFTS, DriftStatus::as_str)?,
                cluster: cluster.map(|t| t.0),
                limit: limit.map(|n| n.0),
                cursor: cursor.map(|t| t.0),
            };
            e.fleet_page(workspace.0, now_or(now_ms, e), &query)
        })?;
        inventory::fleet(py, &page, columnar.0)
    }

    /// Forces one node (`node=`) or every node of a cluster (`cluster=`) to
    /// resync to its authority: audited first, then answered with a
    /// `force_sync` directive on the node's next heartbeat. Returns the audit
    /// record. Needs a `reason` with visible text (no control character, at most
    /// 4096 bytes, never altered) and the operator or admin role.
    #[pyo3(signature = (*, node = None, cluster = None, actor, role, reason, at_ms = None))]
    #[allow(clippy::too_many_arguments)]
    fn force_sync<'py>(
        &self,
        py: Python<'py>,
        node: Option<Text<'_>>,
        cluster: Option<Text<'_>>,
        actor: Text<'_>,
        role: Text<'_>,
        reason: Text<'_>,
        at_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let target = match (node, cluster) {
            (Some(n), None) => ForceTarget::Node(n.0),
            (None, Some(c)) => ForceTarget::Cluster(c.0),
            _ => {
                return Err(error::invalid(py, "force_sync takes exactly one of node= and cluster=".to_owned()));
            }
        };
        self.force(py, target, actor.0, role.0, reason.0, at_ms)
    }

    /// Global fleet overwrite: forces every cluster of `workspace` (or of
    /// every workspace when omitted) to resync. Admin only; audited.
    #[pyo3(signature = (*, workspace = None, actor, role, reason, at_ms = None))]
    fn force_global<'py>(
        &self,
        py: Python<'py>,
        workspace: Option<Text<'_>>,
        actor: Text<'_>,
        role: Text<'_>,
        reason: Text<'_>,
        at_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let target = workspace.map_or(ForceTarget::Fleet, |w| ForceTarget::Workspace(w.0));
        self.force(py, target, actor.0, role.0, reason.0, at_ms)
    }

    /// Removes `node` from its cluster, as `actor` in `role` (operator or
    /// admin) asks: it leaves the cluster's counts and members, its
    /// heartbeats raise `NotFound` until it is enrolled again (with a new
    /// handle), and the removal is audited (`remove_node`) before it takes
    /// effect and durable before this returns. Returns the audit record.
    #[pyo3(signature = (node, /, *, actor, role, at_ms = None))]
    fn unenroll<'py>(
        &self,
        py: Python<'py>,
        node: Text<'_>,
        actor: Text<'_>,
        role: Text<'_>,
        at_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let at_ms = millis(at_ms, "at_ms")?;
        let record =
            self.with(py, |e| e.unenroll(node.0, &By::new(actor.0, Role::parse(role.0)?, now_or(at_ms, e))))?;
        audit::record(py, &record)
    }

    /// One page of the audit log, newest first, narrowed by every filter
    /// given (as `GET /api/v1/audit`): `action` (a name or a list of them),
    /// the exact `target`, `cluster` (the cluster, its snapshots and its
    /// nodes), `node`, `actor`, `from_ms` / `to_ms` (inclusive). A dict
    /// (`fleetgov.types.AuditPage`): `records` and `nextBefore`, the `before`
    /// of the next (older) page, `None` at the start of the log.
    #[pyo3(signature = (
        *, action = None, target = None, cluster = None, node = None, actor = None, from_ms = None, to_ms = None,
        before = None, limit = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn audit_query<'py>(
        &self,
        py: Python<'py>,
        action: Option<&Bound<'py, PyAny>>,
        target: Option<Text<'_>>,
        cluster: Option<Text<'_>>,
        node: Option<Text<'_>>,
        actor: Option<Text<'_>>,
        from_ms: Option<&Bound<'py, PyAny>>,
        to_ms: Option<&Bound<'py, PyAny>>,
        before: Option<Uint<u64>>,
        limit: Option<Uint<usize>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let query = AuditQuery {
            before: before.map(|b| b.0),
            limit: limit.map_or(AuditQuery::default().limit, |l| l.0),
            actions: audit::actions(py, action)?,
            target: target.map(|t| t.0.to_owned()),
            cluster: cluster.map(|t| t.0.to_owned()),
            node: node.map(|t| t.0.to_owned()),
            actor: actor.map(|t| t.0.to_owned()),
            from_ms: millis(from_ms, "from_ms")?,
            to_ms: millis(to_ms, "to_ms")?,
        };
        let page = self.with(py, |e| e.audit_query(&query))?;
        audit::page(py, &page)
    }

    /// Every audit record, oldest first, as dicts (`fleetgov.types.AuditRecord`).
    fn audit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let records = self.with(py, |e| Ok(e.audit()))?;
        let out = PyList::empty(py);
        for r in &records {
            out.append(audit::record(py, r)?)?;
        }
        Ok(out)
    }

    /// An iterator over what changes in the engine, in order (see
    /// `EventStream`): node transitions, cluster counters and audit records,
    /// each a dict with `type` and `seq`. From the next event, or from
    /// `from_seq` (a position of an earlier stream, if the engine still holds
    /// it; `{"type": "lagged", "missed": n}` says how many were dropped).
    /// With `timeout_ms`, the iteration ends when no event came for that long.
    /// Events are recorded only while a stream is open.
    #[pyo3(signature = (from_seq = None, timeout_ms = None))]
    fn events(
        &self,
        py: Python<'_>,
        from_seq: Option<&Bound<'_, PyAny>>,
        timeout_ms: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyEventStream> {
        let from_seq =
            from_seq.filter(|o| !o.is_none()).map(|o| uint::<u64>(o, "from_seq (a feed position)")).transpose()?;
        let timeout = millis(timeout_ms, "timeout_ms")?.map(std::time::Duration::from_millis);
        let subscription = self.quick(py, |e| e.subscribe(from_seq))?;
        Ok(PyEventStream::new(subscription, timeout))
    }

    /// What node `node` ran at `at_ms` (`fleetgov.types.AppliedAt`), or
    /// `None` if it had reported nothing yet. A time after the engine's clock
    /// raises `FutureTime`, one before the engine's history began
    /// `HistoryUnavailable`. Answering about a moment seals it: whatever is
    /// recorded later is stamped after it, so the answer never changes.
    #[pyo3(signature = (node, /, *, at_ms = None))]
    fn what_ran<'py>(
        &self,
        py: Python<'py>,
        node: Text<'_>,
        at_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let at_ms = millis(at_ms, "at_ms")?;
        let ran = self.with(py, |e| e.what_ran(node.0, now_or(at_ms, e)))?;
        ran.map(|a| history::applied_at(py, &a)).transpose()
    }

    /// What every node of `cluster` ran at `at_ms`, by node id (nodes that
    /// had reported nothing yet are left out). Times are checked as by
    /// `what_ran`.
    #[pyo3(signature = (cluster, /, *, at_ms = None))]
    fn fleet_at<'py>(
        &self,
        py: Python<'py>,
        cluster: Text<'_>,
        at_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let at_ms = millis(at_ms, "at_ms")?;
        let all = self.with(py, |e| e.fleet_at(cluster.0, now_or(at_ms, e)))?;
        history::applied_ats(py, &all)
    }

    /// A signed attestation of what `cluster` ran at `at_ms`
    /// (`fleetgov.types.Attestation`): a DSSE envelope of an in-toto
    /// statement, checked with `checkpoint_verifier_key()`. The same moment
    /// gives the same envelope byte for byte. Times are checked as by
    /// `what_ran`: nothing is signed about the future.
    #[pyo3(signature = (cluster, /, *, at_ms = None))]
    fn attest<'py>(
        &self,
        py: Python<'py>,
        cluster: Text<'_>,
        at_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let at_ms = millis(at_ms, "at_ms")?;
        let attestation = self.with(py, |e| e.attest(cluster.0, now_or(at_ms, e)))?;
        history::attestation(py, &attestation)
    }

    /// Every change of what node `node` ran from `from_ms` to `to_ms` (both
    /// included), oldest first (`fleetgov.types.AppliedChange`: `at_ms`,
    /// `snapshot`, `hash`, `verified`). `from_ms` defaults to where the
    /// history begins (`history_start_ms`), `to_ms` to the engine's clock.
    /// Times are checked as by `what_ran`; `from_ms` after `to_ms` is
    /// `InvalidInput`.
    #[pyo3(signature = (node, /, *, from_ms = None, to_ms = None))]
    fn history<'py>(
        &self,
        py: Python<'py>,
        node: Text<'_>,
        from_ms: Option<&Bound<'py, PyAny>>,
        to_ms: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let (from_ms, to_ms) = (millis(from_ms, "from_ms")?, millis(to_ms, "to_ms")?);
        let changes =
            self.with(py, |e| e.history(node.0, from_ms.unwrap_or_else(|| e.history_start_ms()), now_or(to_ms, e)))?;
        history::applied_changes(py, &changes)
    }

    /// Where the engine's history begins (unix ms): when its data directory
    /// was made, or without one when the engine was made.
    #[getter]
    fn history_start_ms(&self, py: Python<'_>) -> PyResult<u64> {
        self.quick(py, |e| Ok(e.history_start_ms()))
    }

    /// Returns once every transition journalled so far is on disk in the
    /// data directory (the journal writer does this by itself every
    /// `journal_interval_ms`): before a planned stop, or to acknowledge
    /// history durably. Without a data directory there is nothing to do.
    /// Raises `StorageError` saying why the writer cannot write.
    fn sync_journal(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, Engine::sync_journal)
    }

    /// Why the data directory's journal writer last failed to write (it
    /// retries every interval), or `None`.
    #[getter]
    fn journal_failure(&self, py: Python<'_>) -> PyResult<Option<String>> {
        self.quick(py, |e| Ok(e.journal_failure()))
    }

    /// Checks every sealed journal segment of the data directory against
    /// the audit record that sealed it and returns what was checked
    /// (`fleetgov.types.JournalVerification`); `AuditTampered` names the
    /// first segment that differs or is missing. Without a data directory
    /// there is nothing to check (zeros).
    fn verify_journal<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let checked = self.with(py, Engine::verify_journal)?;
        history::journal_verification(py, &checked)
    }

    /// The public key that checks this engine's signed checkpoints and
    /// attestations, as verifier key text (`<name>+<key id>+<base64 key>`).
    fn checkpoint_verifier_key(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |e| e.checkpoint_verifier().map(|v| v.to_string()))
    }

    /// The audit log as an Arrow table (`AuditTable`), oldest record first:
    /// time as a UTC timestamp, the event as JSON text.
    fn audit_table(&self, py: Python<'_>) -> PyResult<PyAuditTable> {
        self.with(py, |e| table::audit(&e.audit()))
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

    /// Proof that audit record `seq` is in the log of `size` records (by
    /// default, the log as it is now): an `InclusionProof`, checked with its
    /// `verify` against a trusted head (`open_checkpoint`). A `size` past the
    /// end of the log, or `seq` not below it, is `InvalidInput`.
    #[pyo3(signature = (seq, /, size = None))]
    fn inclusion_proof(&self, py: Python<'_>, seq: Uint<u64>, size: Option<Uint<u64>>) -> PyResult<PyInclusionProof> {
        self.with(py, |e| e.inclusion_proof(seq.0, size.map_or_else(|| e.audit_len(), |s| s.0)))
            .map(PyInclusionProof::from)
    }

    /// Proof that the log of `old_size` records is a prefix of the log of
    /// `new_size` records (by default, the log as it is now): a
    /// `ConsistencyProof`, checked with its `verify` against two trusted
    /// heads. Sizes that shrink or pass the end of the log are `InvalidInput`.
    #[pyo3(signature = (old_size, /, new_size = None))]
    fn consistency_proof(
        &self,
        py: Python<'_>,
        old_size: Uint<u64>,
        new_size: Option<Uint<u64>>,
    ) -> PyResult<PyConsistencyProof> {
        self.with(py, |e| e.consistency_proof(old_size.0, new_size.map_or_else(|| e.audit_len(), |s| s.0)))
            .map(PyConsistencyProof::from)
    }

    /// A C2SP `tlog-proof@v1` bundle for audit record `seq`: its inclusion
    /// path and a freshly signed checkpoint, as text. Anyone checks it with
    /// `fleetgov.verify_inclusion(bundle, entry, verifier_key)`, the record's
    /// entry bytes (`audit_entry`) and the verifier key alone.
    #[pyo3(signature = (seq, /))]
    fn tlog_proof(&self, py: Python<'_>, seq: Uint<u64>) -> PyResult<String> {
        self.with(py, |e| e.tlog_proof(seq.0).map(|bundle| bundle.to_string()))
    }

    /// The canonical entry bytes of audit record `seq`: what its leaf in the
    /// audit tree hashes (`SHA-256(0x00 || entry)`) and what a proof is
    /// checked against. The payload is represented by its hash.
    #[pyo3(signature = (seq, /))]
    fn audit_entry<'py>(&self, py: Python<'py>, seq: Uint<u64>) -> PyResult<Bound<'py, PyBytes>> {
        let entry = self.with(py, |e| e.audit_record(seq.0).map(|r| r.encode()))?;
        Ok(PyBytes::new(py, &entry))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let storage = self.storage.describe();
        let counts = self.with(py, |e| {
            let now = e.clock().now_ms();
            let clusters = e.cluster_ids();
            let nodes: u64 = clusters.iter().filter_map(|c| e.cluster(c, now).ok()).map(|c| c.total).sum();
            Ok((clusters.len(), nodes, e.audit_len()))
        });
        match counts {
            Ok((clusters, nodes, records)) => {
                format!("<fleetgov.Engine clusters={clusters} nodes={nodes} audit_records={records} {storage}>")
            }
            Err(_) => format!("<fleetgov.Engine (closed) {storage}>"),
        }
    }
}
