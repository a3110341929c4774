//! `Engine.ingest`: a batch of binary heartbeat records (the layout of
//! `fleetgov::record`) from a NumPy array or any buffer (read in place when
//! read-only, copied once when writable), or from an Arrow array or stream,
//! and applied in one core call per batch.

use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi};
use arrow_array::ffi_stream::{ArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::{Array, ArrayRef, FixedSizeBinaryArray, StructArray, make_array};
use fleetgov::record::{HeartbeatRecord, OUTCOME_SIZE, OutcomeRecord, RECORD_SIZE};
use fleetgov::{BatchSummary, Error};
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyCapsule, PyTuple};

use crate::args::Uint;
use crate::{boundary, error};

/// What a batch did: counts, and one 40-byte outcome record per heartbeat
/// record (`fleetgov.records.OUTCOME_DTYPE` reads them). `BatchResult` in Python.
#[pyclass(module = "fleetgov._native", name = "BatchResult", frozen, get_all)]
pub(crate) struct PyBatchResult {
    /// Records accepted, with or without a directive.
    accepted: u64,
    /// Accepted records answered with a directive.
    directives: u64,
    /// Records refused by a state rule: stale, from the future, unknown node.
    refused: u64,
    /// The outcome records, in batch order.
    outcomes: Py<PyByteArray>,
}

#[pymethods]
impl PyBatchResult {
    fn __len__(&self, py: Python<'_>) -> usize {
        self.outcomes.bind(py).len() / OUTCOME_SIZE
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "BatchResult(records={}, accepted={}, directives={}, refused={})",
            self.__len__(py),
            self.accepted,
            self.directives,
            self.refused
        )
    }
}

/// Applies `batch`, whatever form it takes.
/// Applies one piece of records to the engine, writing their outcomes (the
/// engine's side of an ingest: the caller holds the engine).
pub(crate) type Apply<'a> = &'a dyn Fn(Python<'_>, &[HeartbeatRecord], &mut [OutcomeRecord]) -> PyResult<BatchSummary>;

pub(crate) fn ingest(engine: Apply<'_>, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<PyBatchResult> {
    if batch.hasattr("__arrow_c_array__")? {
        let exported = batch.call_method0("__arrow_c_array__")?;
        let (schema, array) = exported.cast::<PyTuple>()?.extract::<(Bound<'_, PyCapsule>, Bound<'_, PyCapsule>)>()?;
        let column = import_array(py, &schema, &array)?;
        return ingest_columns(engine, py, &[column]);
    }
    if batch.hasattr("__arrow_c_stream__")? {
        let capsule = batch.call_method0("__arrow_c_stream__")?.cast_into::<PyCapsule>()?;
        let columns = import_stream(py, &capsule)?;
        return ingest_columns(engine, py, &columns);
    }
    ingest_buffer(engine, py, batch)
}

/// A buffer-protocol object (NumPy array, bytes, bytearray, memoryview, ...).
///
/// The records are validated and applied with the GIL released, so another
/// Python thread could write a writable buffer meanwhile, and what was
/// validated would not be what is applied. A writable buffer is therefore
/// copied first, with the GIL held, and the copy is ingested; a read-only
/// one (`bytes`, a read-only NumPy array or memoryview) is read in place, and
/// the memory behind it must not change during the call (as `bytes`
/// guarantees). The caller must not resize the buffer either way.
fn ingest_buffer(engine: Apply<'_>, py: Python<'_>, batch: &Bound<'_, PyAny>) -> PyResult<PyBatchResult> {
    let buffer = PyUntypedBuffer::get(batch)?;
    if !buffer.is_c_contiguous() {
        return Err(error::to_py(py, Error::invalid("the record batch must be one C-contiguous buffer")));
    }
    let len = buffer.len_bytes();
    let copy: Vec<u8>;
    let bytes: &[u8] = if len == 0 {
        &[]
    } else if buffer.readonly() {
        // SAFETY: the exporter guarantees `len` readable, contiguous bytes at
        // `buf_ptr` for as long as `buffer` (the Py_buffer view) is held,
        // which outlives every use of `bytes` in this function; a read-only
        // buffer is not written meanwhile (the contract above); `u8` has no
        // alignment or validity requirement.
        unsafe { std::slice::from_raw_parts(buffer.buf_ptr().cast::<u8>(), len) }
    } else {
        let mut owned = vec![0u8; len];
        // SAFETY: `buf_ptr` holds `len` readable, contiguous bytes while
        // `buffer` is held (see above), and `owned` is a distinct allocation
        // of `len` bytes. No reference to the buffer's memory is made, and
        // nothing reads it after the copy. The GIL is held, so no Python code
        // runs meanwhile; native code that released the GIL (a NumPy
        // assignment on another thread) could still write during the copy,
        // which can tear only the copied bytes: the copy is what is
        // validated whole and then applied, so a torn record is refused or
        // applied as copied, never changed between the two.
        unsafe { std::ptr::copy_nonoverlapping(buffer.buf_ptr().cast::<u8>(), owned.as_mut_ptr(), len) };
        copy = owned;
        &copy
    };
    let result = apply(engine, py, &[bytes]);
    buffer.release(py);
    result
}

/// Arrow columns of `FixedSizeBinary(128)`, each one record per value.
fn ingest_columns(engine: Apply<'_>, py: Python<'_>, columns: &[FixedSizeBinaryArray]) -> PyResult<PyBatchResult> {
    let chunks: Vec<&[u8]> = columns.iter().map(record_bytes).collect();
    apply(engine, py, &chunks)
}

/// The contiguous record bytes of a null-free `FixedSizeBinary(128)` column
/// (its value buffer starts at the column's first value, offset applied).
fn record_bytes(column: &FixedSizeBinaryArray) -> &[u8] {
    let values = column.value_data();
    values.get(..column.len() * RECORD_SIZE).unwrap_or(values)
}

/// Records applied per core call: between two calls the binding takes the
/// GIL back and checks for signals, so Ctrl-C stops a large batch within
/// one chunk's time (tens of milliseconds). Settable for tests through
/// `_set_ingest_chunk`.
static CHUNK_RECORDS: AtomicUsize = AtomicUsize::new(1 << 18);

/// Sets the records applied per core call (at least 1) and returns the
/// previous value. For tests of the interruption path.
#[pyfunction]
#[pyo3(signature = (records, /))]
pub(crate) fn _set_ingest_chunk(records: Uint<usize>) -> usize {
    // Relaxed: a tuning knob read once per batch; no other memory depends on it.
    CHUNK_RECORDS.swap(records.0.max(1), Ordering::Relaxed)
}

/// Applies record chunks in order into one outcome buffer: every record of
/// every chunk is validated first (a malformed one fails the whole batch
/// with nothing applied), then the records are applied a chunk of
/// [`CHUNK_RECORDS`] at a time, with the GIL released during each and a
/// signal check between two.
fn apply(engine: Apply<'_>, py: Python<'_>, chunks: &[&[u8]]) -> PyResult<PyBatchResult> {
    let many = chunks.len() > 1;
    let views = boundary::run(py, || {
        chunks
            .iter()
            .enumerate()
            .map(|(k, c)| {
                HeartbeatRecord::decode_all(c)
                    .map_err(|e| if many { e.context(format_args!("Arrow chunk {k}")) } else { e })
            })
            .collect::<fleetgov::Result<Vec<_>>>()
    })?;
    let total: usize = views.iter().map(|v| v.len()).sum();
    let outcomes = PyByteArray::new_with(py, total * OUTCOME_SIZE, |_| Ok(()))?;
    let out: &mut [u8] = if total == 0 {
        &mut []
    } else {
        // SAFETY: the bytearray was created just above and no other code holds
        // a reference to it until it is returned, so nothing can resize, read
        // or write it while this slice lives (the GIL is released and taken
        // back below, and a signal handler may run in between, but the object
        // is reachable from no other code).
        unsafe { outcomes.as_bytes_mut() }
    };
    let mut rest = OutcomeRecord::from_bytes_mut(out).map_err(|e| error::to_py(py, e))?;
    // Relaxed: see `_set_ingest_chunk`.
    let step = CHUNK_RECORDS.load(Ordering::Relaxed).max(1);
    let mut summary = BatchSummary::default();
    let mut done = 0;
    for piece in views.iter().flat_map(|v| v.chunks(step)) {
        if done > 0
            && let Err(signal) = py.check_signals()
        {
            let partial = result(summary, &outcomes, done)?;
            return Err(interrupted(py, signal, partial, done, total));
        }
        let (here, later) = std::mem::take(&mut rest).split_at_mut(piece.len());
        let s = engine(py, piece, here)?;
        summary.accepted += s.accepted;
        summary.directives += s.directives;
        summary.refused += s.refused;
        done += piece.len();
        rest = later;
    }
    result(summary, &outcomes, done)
}

/// The result of the first `done` records, whose outcomes start `outcomes`.
fn result(summary: BatchSummary, outcomes: &Bound<'_, PyByteArray>, done: usize) -> PyResult<PyBatchResult> {
    if outcomes.len() != done * OUTCOME_SIZE {
        outcomes.resize(done * OUTCOME_SIZE)?;
    }
    Ok(PyBatchResult {
        accepted: summary.accepted,
        directives: summary.directives,
        refused: summary.refused,
        outcomes: outcomes.clone().unbind(),
    })
}

/// The exception for a signal noticed after `done` of `total` records: a
/// Ctrl-C becomes `fleetgov.IngestInterrupted` (a `KeyboardInterrupt`)
/// carrying the partial result; whatever else a signal handler raised
/// propagates with a note saying how much was applied.
fn interrupted(py: Python<'_>, signal: PyErr, partial: PyBatchResult, done: usize, total: usize) -> PyErr {
    let message =
        format!("ingest interrupted after {done} of {total} records: those {done} are applied, the rest are not");
    if signal.is_instance_of::<PyKeyboardInterrupt>(py) {
        let made = py.import("fleetgov.exceptions").and_then(|m| {
            let exc = m.getattr("IngestInterrupted")?.call1((message.clone(), partial))?;
            let err = PyErr::from_value(exc);
            err.set_cause(py, Some(signal.clone_ref(py)));
            Ok(err)
        });
        return made.unwrap_or_else(|failed| failed);
    }
    let _ = signal.value(py).call_method1("add_note", (format!("fleetgov: {message}"),));
    signal
}

/// Imports an array exported through the Arrow PyCapsule interface.
fn import_array(
    py: Python<'_>,
    schema: &Bound<'_, PyCapsule>,
    array: &Bound<'_, PyCapsule>,
) -> PyResult<FixedSizeBinaryArray> {
    let schema_ptr = schema.pointer_checked(Some(c"arrow_schema"))?.cast::<FFI_ArrowSchema>();
    let array_ptr = array.pointer_checked(Some(c"arrow_array"))?.cast::<FFI_ArrowArray>();
    // SAFETY: the capsules are named per the Arrow PyCapsule interface, so the
    // pointers are valid `ArrowSchema` / `ArrowArray` structs owned by the
    // capsules. `from_raw` moves the array out and marks the capsule's copy
    // released, as the interface prescribes; the schema is only borrowed.
    let data = unsafe { from_ffi(FFI_ArrowArray::from_raw(array_ptr.as_ptr()), schema_ptr.as_ref()) }
        .map_err(|e| error::to_py(py, Error::invalid(format!("not a readable Arrow array: {e}"))))?;
    records_column(make_array(data)).map_err(|e| error::to_py(py, e))
}

/// Imports every chunk of an Arrow stream exported as a PyCapsule: record
/// batches (a table, a reader) or plain arrays (a chunked array).
fn import_stream(py: Python<'_>, capsule: &Bound<'_, PyCapsule>) -> PyResult<Vec<FixedSizeBinaryArray>> {
    let stream = capsule.pointer_checked(Some(c"arrow_array_stream"))?.cast::<FFI_ArrowArrayStream>();
    let invalid =
        |e: arrow_schema::ArrowError| error::to_py(py, Error::invalid(format!("not a readable Arrow stream: {e}")));
    // SAFETY: the capsule is named `arrow_array_stream`, so the pointer is a
    // valid `ArrowArrayStream` owned by it; `from_raw` moves it out and marks
    // the capsule's copy released.
    let reader = unsafe { ArrayStreamReader::from_raw(stream.as_ptr()) }.map_err(invalid)?;
    reader.map(|chunk| records_column(chunk.map_err(invalid)?).map_err(|e| error::to_py(py, e))).collect()
}

/// The records column of an array: a `FixedSizeBinary(128)` array itself, or
/// the only field of a struct (a record batch) that is one. No nulls.
fn records_column(array: ArrayRef) -> fleetgov::Result<FixedSizeBinaryArray> {
    let array = match array.as_any().downcast_ref::<StructArray>() {
        Some(s) if s.num_columns() == 1 => s.column(0).clone(),
        Some(s) => {
            return Err(Error::invalid(format!(
                "an Arrow record batch of heartbeat records has one column, this one has {}",
                s.num_columns()
            )));
        }
        None => array,
    };
    let column =
        array.as_any().downcast_ref::<FixedSizeBinaryArray>().filter(|c| c.value_length() as usize == RECORD_SIZE);
    match column {
        Some(c) if c.null_count() == 0 => Ok(c.clone()),
        Some(_) => Err(Error::invalid("the Arrow records column has nulls")),
        None => Err(Error::invalid(format!(
            "Arrow heartbeat records are fixed_size_binary({RECORD_SIZE}), got {}",
            array.data_type()
        ))),
    }
}
