//! `Engine.nodes_table`: the node state of the whole fleet as Arrow record
//! batches, handed to pyarrow, polars, pandas or DuckDB through the Arrow
//! PyCapsule interface (`__arrow_c_stream__`) without a per-row copy.
//!
//! The core's [`NodeTable`] already holds its columns in Arrow's layouts, so
//! most columns here are its vectors, taken over as Arrow buffers; the rest
//! are dictionary keys computed in one pass each (see [`node_state`] and
//! [`applied`]). The whole build runs detached from the GIL.
//!
//! [`node_state`]: crate::node_state
//! [`applied`]: crate::applied

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::types::{Float32Type, Int32Type, TimestampMillisecondType, UInt8Type, UInt32Type};
use arrow_array::{ArrayRef, PrimitiveArray, RecordBatch, RecordBatchIterator};
use arrow_buffer::{Buffer, ScalarBuffer};
use arrow_schema::{ArrowError, SchemaRef};
use fleetgov::table::{DRIFT_LABELS, HEALTH_LABELS, NodeTable};
use fleetgov::{ConfigStatus, Engine, Error, ErrorKind, RuntimeVersion, Snapshot};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::columns::{Labels, dictionary, keys, looked_up, primitive, strings, validity};
use crate::{applied, node_state};

/// Nodes per record batch (slices of one table, not copies).
const BATCH_ROWS: usize = 65_536;

/// Exports attempted before giving up on a fleet whose authority keeps
/// changing (see [`build`]).
const ATTEMPTS: usize = 8;

/// Record batches and their schema, exported through the Arrow PyCapsule
/// interface: the body of `NodesTable` and `AuditTable`.
struct Batches {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

impl Batches {
    /// `batch` as slices of at most [`BATCH_ROWS`] rows (views, not copies).
    fn sliced(batch: &RecordBatch) -> Self {
        let batches = (0..batch.num_rows().max(1))
            .step_by(BATCH_ROWS)
            .map(|from| batch.slice(from, BATCH_ROWS.min(batch.num_rows() - from)))
            .collect();
        Batches { schema: batch.schema(), batches }
    }

    /// An Arrow C stream of the batches (shared, not copied), in a capsule.
    fn stream<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let reader = RecordBatchIterator::new(self.batches.clone().into_iter().map(Ok), self.schema.clone());
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        // The consumer moves the stream out of the capsule and marks it
        // released; dropping an unconsumed stream releases it.
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }

    fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    fn column_names(&self) -> Vec<String> {
        self.schema.fields().iter().map(|f| f.name().clone()).collect()
    }

    /// `name(rows=..., columns=[...])`.
    fn repr(&self, name: &str) -> String {
        format!("{name}(rows={}, columns=[{}])", self.num_rows(), self.column_names().join(", "))
    }
}

/// A frozen table of node state: one row per enrolled node, columns named
/// like `NodeView`'s attributes. `NodesTable` in Python; read it with
/// `pyarrow.table(t)`, `polars.DataFrame(t)` or `duckdb.arrow(t)`.
#[pyclass(module = "fleetgov._native", name = "NodesTable", frozen)]
pub(crate) struct PyNodesTable(Batches);

/// A frozen table of the audit log: one row per record, oldest first.
/// `AuditTable` in Python, read like `NodesTable`.
#[pyclass(module = "fleetgov._native", name = "AuditTable", frozen)]
pub(crate) struct PyAuditTable(Batches);

/// The Python methods of a table class over [`Batches`].
macro_rules! table_methods {
    ($class:ident, $name:literal) => {
        #[pymethods]
        impl $class {
            /// Exports the table as an Arrow C stream (the Arrow PyCapsule
            /// interface). The batches are shared, not copied; the table can
            /// be exported any number of times. `requested_schema` is not
            /// supported and ignored, as the interface allows.
            #[pyo3(signature = (requested_schema = None))]
            fn __arrow_c_stream__<'py>(
                &self,
                py: Python<'py>,
                requested_schema: Option<Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyCapsule>> {
                let _ = requested_schema;
                self.0.stream(py)
            }

            /// The number of rows.
            #[getter]
            fn num_rows(&self) -> usize {
                self.0.num_rows()
            }

            /// The column names, in order.
            #[getter]
            fn column_names(&self) -> Vec<String> {
                self.0.column_names()
            }

            fn __len__(&self) -> usize {
                self.0.num_rows()
            }

            fn __repr__(&self) -> String {
                self.0.repr($name)
            }
        }
    };
}

table_methods!(PyNodesTable, "NodesTable");
table_methods!(PyAuditTable, "AuditTable");

/// The audit table of `records`.
pub(crate) fn audit(records: &[std::sync::Arc<fleetgov::audit::AuditRecord>]) -> fleetgov::Result<PyAuditTable> {
    let batch = crate::audit::table(records).map_err(arrow_failed)?;
    Ok(PyAuditTable(Batches::sliced(&batch)))
}

/// Builds the table of every node of `engine` at `now_ms`, in enrolment order.
///
/// The core's table says whether each node is in sync with its cluster's
/// desired snapshot, but not which snapshot that was; the desired columns
/// come from the authority read before and after it. A publish in between
/// (the only way a desired snapshot changes) makes the two reads differ, and
/// the export is taken again, so every row agrees with its desired columns.
pub(crate) fn build(engine: &Engine, now_ms: u64) -> fleetgov::Result<PyNodesTable> {
    for _ in 0..ATTEMPTS {
        let before = desired_revisions(engine, engine.cluster_ids())?;
        let table = engine.node_table(now_ms);
        let desired = table.clusters.iter().map(|c| engine.desired(c)).collect::<fleetgov::Result<Vec<_>>>()?;
        if before == desired.iter().map(|d| d.as_ref().map(|s| s.revision)).collect::<Vec<_>>() {
            let batch = assemble(engine, table, &desired).map_err(arrow_failed)?;
            return Ok(PyNodesTable(Batches::sliced(&batch)));
        }
    }
    Err(Error::new(
        ErrorKind::Conflict,
        format!("snapshots were published during each of {ATTEMPTS} attempts to export the node table; try again"),
    ))
}

/// The desired revision of each of `clusters` (`None`: nothing published).
fn desired_revisions(engine: &Engine, clusters: Vec<String>) -> fleetgov::Result<Vec<Option<u32>>> {
    clusters.iter().map(|c| Ok(engine.desired(c)?.map(|s| s.revision))).collect()
}

fn arrow_failed(e: ArrowError) -> Error {
    Error::invalid(format!("building the Arrow table failed: {e}"))
}

/// The columns of `t`, with `desired[c]` the desired snapshot of cluster `c`.
fn assemble(engine: &Engine, t: NodeTable, desired: &[Option<Snapshot>]) -> Result<RecordBatch, ArrowError> {
    let rows = t.len();
    if i32::try_from(rows).is_err() {
        // Dictionary keys are i32: a column has at most one label per row.
        return Err(ArrowError::InvalidArgumentError(format!(
            "a node table of {rows} rows is more than one Arrow table with i32 dictionary keys holds ({})",
            i32::MAX
        )));
    }
    // The derived columns, each a pass over the table, side by side. The
    // cluster keys are shared by three columns: copied once out of the table.
    let cluster_keys = ScalarBuffer::from(t.cluster.clone());
    let ((applied, state), (version, desired)) = rayon::join(
        || rayon::join(|| applied::columns(engine, &t), || node_state::columns(&t)),
        || rayon::join(|| runtime_versions(&t.runtime_version), || desired_columns(&cluster_keys, desired)),
    );
    let (applied, state, version) = (applied?, state?, version?);
    let (desired_snapshot, desired_hash) = desired?;
    let NodeTable {
        id_offsets,
        ids,
        clusters,
        health,
        drift,
        in_sync,
        applied_revision,
        last_heartbeat_ms,
        cpu,
        memory,
        tps,
        heap,
        hot_swap_errors,
        ..
    } = t;
    let cluster = cluster_keys;
    let revision_nulls = validity(rows, |i| applied_revision[i] != 0);
    // A heartbeat time of 0 means none; one past i64::MAX cannot be shown.
    let heartbeat_nulls = validity(rows, |i| (1..=i64::MAX as u64).contains(&last_heartbeat_ms[i]));
    // The u64 milliseconds, read as i64 in place: same size and alignment,
    // and every row that is not null is at most i64::MAX.
    let heartbeat_ms = ScalarBuffer::<i64>::new(Buffer::from_vec(last_heartbeat_ms), 0, rows);
    let config_labels = [ConfigStatus::Divergent.as_str(), ConfigStatus::InSync.as_str()];
    // (name, column, whether it can hold nulls)
    let columns: Vec<(&str, ArrayRef, bool)> = vec![
        ("id", strings(id_offsets, ids)?, false),
        ("cluster", dictionary::<UInt32Type, _>(cluster, None, clusters)?, false),
        ("status", state.status, false),
        ("health", dictionary::<UInt8Type, _>(health, None, HEALTH_LABELS)?, false),
        ("process_health", state.process_health, false),
        ("process_status", state.process_status, true),
        // `in_sync` is 0 or 1: a key into [DIVERGENT, IN_SYNC] as it is.
        ("config_status", dictionary::<UInt8Type, _>(in_sync, None, config_labels)?, false),
        ("drift", dictionary::<UInt8Type, _>(drift, None, DRIFT_LABELS)?, false),
        ("desired_snapshot", desired_snapshot, true),
        ("desired_hash", desired_hash, true),
        ("applied_snapshot", applied.snapshot, true),
        ("applied_revision", primitive::<UInt32Type>(applied_revision, revision_nulls)?, true),
        ("applied_hash", applied.hash, true),
        ("last_heartbeat_ms", timestamps(heartbeat_ms, heartbeat_nulls)?, true),
        ("sync_error_code", state.sync_error_code, true),
        ("runtime_version", version, true),
        ("cpu", primitive::<Float32Type>(cpu, None)?, false),
        ("memory", primitive::<Float32Type>(memory, None)?, false),
        ("tps", primitive::<Float32Type>(tps, None)?, false),
        ("heap", primitive::<Float32Type>(heap, None)?, false),
        ("hot_swap_errors", primitive::<UInt32Type>(hot_swap_errors, None)?, false),
    ];
    RecordBatch::try_from_iter_with_nullable(columns)
}

/// The `desired_snapshot` and `desired_hash` columns: each row's cluster's
/// desired snapshot id and hash, labelled once per cluster.
fn desired_columns(
    cluster: &ScalarBuffer<u32>,
    desired: &[Option<Snapshot>],
) -> Result<(ArrayRef, ArrayRef), ArrowError> {
    let (mut ids, mut hashes) = (Labels::new(), Labels::new());
    let id_of: Vec<_> =
        desired.iter().map(|d| d.as_ref().map(|s| ids.key(s.id.as_str(), |id| (*id).to_owned()))).collect();
    let hash_of: Vec<_> = desired.iter().map(|d| d.as_ref().map(|s| hashes.key(s.hash, |h| h.to_string()))).collect();
    Ok((per_cluster(cluster, &id_of, ids.into_labels())?, per_cluster(cluster, &hash_of, hashes.into_labels())?))
}

/// A column of one value per cluster: row `i` is `labels[key_of[cluster[i]]]`.
///
/// When every cluster has a value of its own (every cluster published, no
/// two running identical bytes), a row's cluster is its key, and the column
/// shares the cluster column's keys instead of computing its own.
fn per_cluster(
    cluster: &ScalarBuffer<u32>,
    key_of: &[Option<i32>],
    labels: Vec<String>,
) -> Result<ArrayRef, ArrowError> {
    let own = key_of.iter().enumerate().all(|(c, k)| k.and_then(|k| usize::try_from(k).ok()) == Some(c));
    if own {
        return dictionary::<UInt32Type, _>(cluster.clone(), None, labels);
    }
    let key_of: Vec<Option<u32>> = key_of.iter().map(|k| k.and_then(|k| u32::try_from(k).ok())).collect();
    let (keys, nulls) = looked_up(cluster.len(), |i| cluster[i] as usize, &key_of);
    dictionary::<UInt32Type, _>(keys, nulls, labels)
}

/// The `runtime_version` column (`3.5.0`), from the packed versions (0: none).
fn runtime_versions(packed: &[u32]) -> Result<ArrayRef, ArrowError> {
    let mut versions = Labels::new();
    let label = |bits: &u32| match RuntimeVersion::from_bits(*bits) {
        Ok(v) => v.to_string(),
        // The core only packs versions it parsed; shown raw all the same.
        Err(_) => format!("{bits:#010x}"),
    };
    let (keys, nulls) = keys(packed.len(), |i| (packed[i] != 0).then(|| versions.key(packed[i], label)));
    dictionary::<Int32Type, _>(keys, nulls, versions.into_labels())
}

/// A timestamp column (milliseconds since the epoch, UTC) over `ms`, taken
/// over without copying.
fn timestamps(ms: ScalarBuffer<i64>, nulls: Option<arrow_buffer::NullBuffer>) -> Result<ArrayRef, ArrowError> {
    Ok(std::sync::Arc::new(PrimitiveArray::<TimestampMillisecondType>::try_new(ms, nulls)?.with_timezone("UTC")))
}
