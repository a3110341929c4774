//! `Engine.nodes_table`: the node state of the whole fleet as Arrow record
//! batches, handed to pyarrow, polars, pandas or DuckDB through the Arrow
//! PyCapsule interface (`__arrow_c_stream__`) without a per-row copy.

use std::sync::Arc;

use arrow_array::builder::{
    Float32Builder, Int64Builder, StringBuilder, StringDictionaryBuilder, UInt32Builder,
};
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch, RecordBatchIterator};
use arrow_schema::{ArrowError, SchemaRef};
use fleetgov::{ContentHash, Engine, Error, NodeView};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

/// Nodes per record batch.
const BATCH_ROWS: usize = 65_536;

/// A frozen table of node state: one row per enrolled node, columns named
/// like `NodeView`'s attributes. `NodesTable` in Python; read it with
/// `pyarrow.table(t)`, `polars.DataFrame(t)` or `duckdb.arrow(t)`.
#[pyclass(module = "fleetgov._native", name = "NodesTable", frozen)]
pub(crate) struct PyNodesTable {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
}

#[pymethods]
impl PyNodesTable {
    /// Exports the table as an Arrow C stream (the Arrow PyCapsule
    /// interface). The batches are shared, not copied; the table can be
    /// exported any number of times. `requested_schema` is not supported and
    /// ignored, as the interface allows.
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let reader = RecordBatchIterator::new(
            self.batches.clone().into_iter().map(Ok),
            self.schema.clone(),
        );
        let stream = FFI_ArrowArrayStream::new(Box::new(reader));
        // The consumer moves the stream out of the capsule and marks it
        // released; dropping an unconsumed stream releases it.
        PyCapsule::new_with_value(py, stream, c"arrow_array_stream")
    }

    /// The number of rows (enrolled nodes).
    #[getter]
    fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// The column names, in order.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    fn __len__(&self) -> usize {
        self.num_rows()
    }

    fn __repr__(&self) -> String {
        format!(
            "NodesTable(rows={}, columns={})",
            self.num_rows(),
            self.schema.fields().len()
        )
    }
}

/// Builds the table of every node of `engine` at `now_ms`, cluster by cluster
/// in creation order, each cluster's nodes in enrolment order.
pub(crate) fn build(engine: &Engine, now_ms: u64) -> fleetgov::Result<PyNodesTable> {
    let mut batches = Vec::new();
    let mut columns = Columns::default();
    for cluster in engine.cluster_ids() {
        let mut offset = 0;
        loop {
            let page = engine.cluster_nodes(&cluster, now_ms, offset, BATCH_ROWS - columns.rows)?;
            offset += page.len();
            let short = page.len() < BATCH_ROWS - columns.rows;
            for node in &page {
                columns.push(node);
            }
            if columns.rows == BATCH_ROWS {
                batches.push(
                    std::mem::take(&mut columns)
                        .finish()
                        .map_err(arrow_failed)?,
                );
            }
            if short || page.is_empty() {
                break;
            }
        }
    }
    let last = columns.finish().map_err(arrow_failed)?;
    let schema = last.schema();
    if last.num_rows() > 0 || batches.is_empty() {
        batches.push(last);
    }
    Ok(PyNodesTable { schema, batches })
}

fn arrow_failed(e: ArrowError) -> Error {
    Error::invalid(format!("building the Arrow table failed: {e}"))
}

type Dict = StringDictionaryBuilder<Int32Type>;

/// Column builders for one record batch. Low-cardinality text columns are
/// dictionary-encoded (categoricals in pandas and polars).
#[derive(Default)]
struct Columns {
    rows: usize,
    /// Reused for values that must be formatted (hashes, versions, errors),
    /// so a row allocates nothing of its own.
    scratch: String,
    id: StringBuilder,
    cluster: Dict,
    status: Dict,
    health: Dict,
    process_health: Dict,
    process_status: Dict,
    config_status: Dict,
    drift: Dict,
    desired_snapshot: Dict,
    desired_hash: Dict,
    applied_snapshot: Dict,
    applied_hash: StringBuilder,
    last_heartbeat_ms: Int64Builder,
    last_sync_error: StringBuilder,
    sync_error_code: Dict,
    reconcile_reason: StringBuilder,
    runtime_version: Dict,
    cpu: Float32Builder,
    memory: Float32Builder,
    tps: Float32Builder,
    heap: Float32Builder,
    heap_trend: Float32Builder,
    hot_swap_errors: UInt32Builder,
}

impl Columns {
    fn push(&mut self, n: &NodeView) {
        self.rows += 1;
        self.id.append_value(&n.id);
        self.cluster.append_value(&n.cluster_id);
        self.status.append_value(n.status.as_str());
        self.health.append_value(n.health.as_str());
        self.process_health.append_value(n.process_health.as_str());
        self.process_status
            .append_option(n.process_status.map(|s| s.as_str()));
        self.config_status.append_value(n.config_status.as_str());
        self.drift.append_value(n.drift.as_str());
        self.desired_snapshot
            .append_option(n.desired_snapshot_id.as_deref());
        append_hash(
            &mut self.desired_hash,
            &mut self.scratch,
            n.desired_hash.as_ref(),
        );
        self.applied_snapshot
            .append_option(n.applied_snapshot_id.as_deref());
        append_hash(
            &mut self.applied_hash,
            &mut self.scratch,
            n.applied_hash.as_ref(),
        );
        self.last_heartbeat_ms
            .append_option(n.last_heartbeat_ms.and_then(|ms| i64::try_from(ms).ok()));
        append_display(
            &mut self.last_sync_error,
            &mut self.scratch,
            n.last_sync_error.as_ref(),
        );
        self.sync_error_code
            .append_option(n.last_sync_error.as_ref().map(|e| e.code.as_str()));
        self.reconcile_reason
            .append_option(n.reconcile_reason.as_deref());
        append_display(
            &mut self.runtime_version,
            &mut self.scratch,
            n.runtime_version.as_ref(),
        );
        self.cpu.append_value(n.metrics.cpu);
        self.memory.append_value(n.metrics.memory);
        self.tps.append_value(n.metrics.tps);
        self.heap.append_value(n.metrics.heap);
        self.heap_trend.append_value(n.heap_trend);
        self.hot_swap_errors.append_value(n.metrics.hot_swap_errors);
    }

    fn finish(mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(self.id.finish())),
            ("cluster", Arc::new(self.cluster.finish())),
            ("status", Arc::new(self.status.finish())),
            ("health", Arc::new(self.health.finish())),
            ("process_health", Arc::new(self.process_health.finish())),
            ("process_status", Arc::new(self.process_status.finish())),
            ("config_status", Arc::new(self.config_status.finish())),
            ("drift", Arc::new(self.drift.finish())),
            ("desired_snapshot", Arc::new(self.desired_snapshot.finish())),
            ("desired_hash", Arc::new(self.desired_hash.finish())),
            ("applied_snapshot", Arc::new(self.applied_snapshot.finish())),
            ("applied_hash", Arc::new(self.applied_hash.finish())),
            (
                "last_heartbeat_ms",
                Arc::new(self.last_heartbeat_ms.finish()),
            ),
            ("last_sync_error", Arc::new(self.last_sync_error.finish())),
            ("sync_error_code", Arc::new(self.sync_error_code.finish())),
            ("reconcile_reason", Arc::new(self.reconcile_reason.finish())),
            ("runtime_version", Arc::new(self.runtime_version.finish())),
            ("cpu", Arc::new(self.cpu.finish())),
            ("memory", Arc::new(self.memory.finish())),
            ("tps", Arc::new(self.tps.finish())),
            ("heap", Arc::new(self.heap.finish())),
            ("heap_trend", Arc::new(self.heap_trend.finish())),
            ("hot_swap_errors", Arc::new(self.hot_swap_errors.finish())),
        ];
        RecordBatch::try_from_iter(columns)
    }
}

/// A column builder that takes string values (plain or dictionary-encoded).
trait StrColumn {
    fn append_str(&mut self, value: &str);
    fn append_none(&mut self);
}

impl StrColumn for StringBuilder {
    fn append_str(&mut self, value: &str) {
        self.append_value(value);
    }
    fn append_none(&mut self) {
        self.append_null();
    }
}

impl StrColumn for Dict {
    fn append_str(&mut self, value: &str) {
        self.append_value(value);
    }
    fn append_none(&mut self) {
        self.append_null();
    }
}

/// Appends `value` formatted through `scratch`, or a null.
fn append_display(
    column: &mut impl StrColumn,
    scratch: &mut String,
    value: Option<&impl std::fmt::Display>,
) {
    use std::fmt::Write;
    match value {
        Some(v) => {
            scratch.clear();
            // Writing into a String cannot fail.
            let _ = write!(scratch, "{v}");
            column.append_str(scratch);
        }
        None => column.append_none(),
    }
}

/// Appends a content hash as 64 lowercase hex characters, or a null; the same
/// text as its `Display`, without a formatter call per byte.
fn append_hash(column: &mut impl StrColumn, scratch: &mut String, hash: Option<&ContentHash>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let Some(hash) = hash else {
        return column.append_none();
    };
    scratch.clear();
    for b in hash.as_bytes() {
        scratch.push(HEX[usize::from(b >> 4)] as char);
        scratch.push(HEX[usize::from(b & 0xf)] as char);
    }
    column.append_str(scratch);
}
