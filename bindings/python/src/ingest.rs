//! `Engine.ingest`: a batch of binary heartbeat records (the layout of
//! `fleetgov::record`) from a NumPy array or any buffer (read in place when
//! read-only, copied once when writable: into the engine's [`Staging`]
//! buffer when the batch fits in one chunk), or from an Arrow array or
//! stream, and applied in one core call per chunk; or an Arrow table whose
//! rows name their nodes by id (see [`by_id`](crate::by_id)).

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema, from_ffi};
use arrow_array::ffi_stream::{ArrayStreamReader, FFI_ArrowArrayStream};
use arrow_array::{Array, ArrayRef, FixedSizeBinaryArray, StructArray, make_array};
use fleetgov::record::{HeartbeatRecord, OUTCOME_SIZE, OutcomeRecord, RECORD_SIZE};
use fleetgov::{BatchSummary, Error, IdColumn};
use pyo3::buffer::PyUntypedBuffer;
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyCapsule, PyTuple};

use rayon::prelude::*;
use zerocopy::FromBytes;

use crate::args::Uint;
use crate::by_id::{self, IdBatch, Ids};
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

/// Applies one piece of records to the engine, writing their outcomes (the
/// engine's side of an ingest: the caller holds the engine). The ids name
/// the records' nodes in a batch by id.
pub(crate) type Apply<'a> =
    &'a dyn Fn(Python<'_>, Option<IdColumn<'_>>, &[HeartbeatRecord], &mut [OutcomeRecord]) -> PyResult<BatchSummary>;

/// Records per parallel task when copying or checking a batch.
const BLOCK_RECORDS: usize = 4096;

/// The memory an engine keeps across ingests to copy a writable buffer
/// into: a fresh allocation a call would cost its page faults every time
/// (about 80 ms of CPU for the 128 MiB of a million records), a reused one
/// only once.
///
/// It grows to the largest writable batch of at most one chunk
/// ([`CHUNK_RECORDS`] records, 128 MiB at the default) ingested so far and
/// is never larger; a longer batch is copied into fresh memory as before.
/// `Engine.release_ingest_buffer()` frees it, and so does closing the
/// engine. One ingest uses it at a time: a call that finds it taken (another
/// thread's ingest, the GIL released) copies into fresh memory instead of
/// waiting for it.
#[derive(Default)]
pub(crate) struct Staging(Mutex<Vec<u8>>);

impl Staging {
    /// Frees the buffer and returns the bytes it held. Waits, detached from
    /// the GIL, for an ingest that is using it.
    pub(crate) fn release(&self, py: Python<'_>) -> usize {
        py.detach(|| std::mem::take(&mut *self.0.lock()).len())
    }
}

/// Applies `batch`, whatever form it takes; a writable buffer is copied into
/// `staging` when it fits.
pub(crate) fn ingest(
    engine: Apply<'_>,
    staging: &Staging,
    py: Python<'_>,
    batch: &Bound<'_, PyAny>,
) -> PyResult<PyBatchResult> {
    let chunks = if batch.hasattr("__arrow_c_array__")? {
        let exported = batch.call_method0("__arrow_c_array__")?;
        let (schema, array) = exported.cast::<PyTuple>()?.extract::<(Bound<'_, PyCapsule>, Bound<'_, PyCapsule>)>()?;
        vec![import_array(py, &schema, &array)?]
    } else if batch.hasattr("__arrow_c_stream__")? {
        let capsule = batch.call_method0("__arrow_c_stream__")?.cast_into::<PyCapsule>()?;
        import_stream(py, &capsule)?
    } else {
        return ingest_buffer(engine, staging, py, batch);
    };
    let many = chunks.len() > 1;
    if chunks.first().is_some_and(by_id::names_nodes_by_id) {
        let batches = boundary::run(py, || {
            let batches = chunks.iter().enumerate().map(|(k, c)| IdBatch::of(c).map_err(|e| in_chunk(e, k, many)));
            batches.collect::<Result<Vec<_>, _>>()
        })?;
        let parts: Vec<Part<'_>> = batches.iter().map(|b| Part { records: b.records(), ids: Some(&b.ids) }).collect();
        return apply(engine, py, &parts);
    }
    let columns = chunks.into_iter().map(records_column).collect::<fleetgov::Result<Vec<_>>>();
    let columns = columns.map_err(|e| error::to_py(py, e))?;
    let parts = columns.iter().map(|c| Part::unchecked(record_bytes(c))).collect::<fleetgov::Result<Vec<_>>>();
    apply(engine, py, &parts.map_err(|e| error::to_py(py, e))?)
}

/// A buffer-protocol object (NumPy array, bytes, bytearray, memoryview, ...).
///
/// The records are validated and applied with the GIL released, so another
/// Python thread could write a writable buffer meanwhile, and what was
/// validated would not be what is applied. A writable buffer is therefore
/// copied first, with the GIL held, and the copy is ingested: into
/// `staging` when the batch fits in one chunk and no other ingest is using
/// it (the copy is then validated and applied by one core call, all or
/// nothing), else into fresh memory (validated whole before the first chunk
/// is applied). A read-only buffer (`bytes`, a read-only NumPy array or
/// memoryview) is read in place, and the memory behind it must not change
/// during the call (as `bytes` guarantees). The caller must not resize the
/// buffer either way.
fn ingest_buffer(
    engine: Apply<'_>,
    staging: &Staging,
    py: Python<'_>,
    batch: &Bound<'_, PyAny>,
) -> PyResult<PyBatchResult> {
    let buffer = PyUntypedBuffer::get(batch)?;
    if !buffer.is_c_contiguous() {
        return Err(error::to_py(py, Error::invalid("the record batch must be one C-contiguous buffer")));
    }
    let len = buffer.len_bytes();
    let from = buffer.buf_ptr().cast::<u8>();
    // Relaxed: see `_set_ingest_chunk`.
    let fits = len <= CHUNK_RECORDS.load(Ordering::Relaxed).max(1).saturating_mul(RECORD_SIZE);
    // Not waited for: its holder may need the GIL this thread holds.
    let mut reused = if fits && !buffer.readonly() { staging.0.try_lock() } else { None };
    let copy: Vec<u8>;
    let bytes: &[u8] = if len == 0 {
        &[]
    } else if buffer.readonly() {
        // SAFETY: the exporter guarantees `len` readable, contiguous bytes at
        // `buf_ptr` for as long as `buffer` (the Py_buffer view) is held,
        // which outlives every use of `bytes` in this function; a read-only
        // buffer is not written meanwhile (the contract above); `u8` has no
        // alignment or validity requirement.
        unsafe { std::slice::from_raw_parts(from, len) }
    } else if let Some(held) = reused.as_deref_mut() {
        if held.len() < len {
            // Exact: the buffer never holds more than the largest batch.
            held.reserve_exact(len - held.len());
            held.resize(len, 0);
        }
        copy_into(from, &mut held[..len]);
        &held[..len]
    } else {
        copy = copied(from, len);
        &copy
    };
    let result = Part::unchecked(bytes).map_err(|e| error::to_py(py, e)).and_then(|part| apply(engine, py, &[part]));
    drop(reused);
    buffer.release(py);
    result
}

/// A copy of the `len` bytes at `from` in fresh memory (see [`copy_into`]).
fn copied(from: *const u8, len: usize) -> Vec<u8> {
    let mut owned = vec![0u8; len];
    copy_into(from, &mut owned);
    owned
}

/// Copies the `to.len()` bytes at `from` into `to`, over the thread pool
/// while the calling thread keeps the GIL (no Python code runs meanwhile).
///
/// `from` must hold `len = to.len()` readable bytes for the whole call,
/// outside `to`.
fn copy_into(from: *const u8, to: &mut [u8]) {
    // An address, not a pointer: the pool's tasks may read it (see below).
    let from = from as usize;
    let block = BLOCK_RECORDS * RECORD_SIZE;
    to.par_chunks_mut(block).enumerate().for_each(|(k, piece)| {
        // SAFETY: `from` holds `len` readable bytes for the whole call (the
        // caller holds the Py_buffer view), and block `k` of `to` lies at
        // `k * block..k * block + piece.len()`, within `len`; `to` is the
        // binding's own memory (a fresh allocation or the engine's staging
        // buffer, held exclusively), never the buffer's. No reference to the
        // buffer's memory is made. Native code that released the GIL (a
        // NumPy assignment on another thread) could still write during the
        // copy, which can tear only the copied bytes: the copy is what is
        // validated whole and then applied, so a torn record is refused or
        // applied as copied, never changed between the two.
        unsafe { std::ptr::copy_nonoverlapping((from as *const u8).add(k * block), piece.as_mut_ptr(), piece.len()) };
    });
}

/// One piece of a batch: records, with their nodes' ids in a batch by id.
struct Part<'a> {
    records: &'a [HeartbeatRecord],
    ids: Option<&'a Ids>,
}

impl<'a> Part<'a> {
    /// `bytes` as records by handle, not yet checked; the error of a length
    /// that is not whole records is the core's.
    fn unchecked(bytes: &'a [u8]) -> fleetgov::Result<Self> {
        let records = match <[HeartbeatRecord]>::ref_from_bytes(bytes) {
            Ok(records) => records,
            Err(_) => HeartbeatRecord::decode_all(bytes)?,
        };
        Ok(Part { records, ids: None })
    }
}

/// `e` of Arrow chunk `k`, saying so when there are `many`.
fn in_chunk(e: Error, k: usize, many: bool) -> Error {
    if many { e.context(format_args!("Arrow chunk {k}")) } else { e }
}

/// The first malformed record of `records`, whose first is record `start`
/// of its batch.
fn malformed(records: &[HeartbeatRecord], start: usize) -> Option<Error> {
    records
        .iter()
        .enumerate()
        .find_map(|(i, r)| r.validate().err().map(|e| e.context(format_args!("record {}", start + i))))
}

/// The first malformed record of `records`, over the thread pool.
fn first_malformed(records: &[HeartbeatRecord]) -> Option<Error> {
    records.par_chunks(BLOCK_RECORDS).enumerate().find_map_first(|(k, block)| malformed(block, k * BLOCK_RECORDS))
}

/// The contiguous record bytes of a null-free `FixedSizeBinary(128)` column
/// (its value buffer starts at the column's first value, offset applied).
fn record_bytes(column: &FixedSizeBinaryArray) -> &[u8] {
    let values = column.value_data();
    values.get(..column.len() * RECORD_SIZE).unwrap_or(values)
}

/// Records applied per core call: between two calls the binding takes the
/// GIL back and checks for signals, so Ctrl-C stops a large batch within
/// one chunk's time (about a tenth of a second). A batch of more than one
/// chunk is checked whole before the first is applied, and each chunk again
/// by the core: a chunk of 2^20 records lets a batch of a million go in one
/// core call, checked once. Settable for tests through `_set_ingest_chunk`.
static CHUNK_RECORDS: AtomicUsize = AtomicUsize::new(1 << 20);

/// Sets the records applied per core call (at least 1) and returns the
/// previous value. For tests of the interruption path.
#[pyfunction]
#[pyo3(signature = (records, /))]
pub(crate) fn _set_ingest_chunk(records: Uint<usize>) -> usize {
    // Relaxed: a tuning knob read once per batch; no other memory depends on it.
    CHUNK_RECORDS.swap(records.0.max(1), Ordering::Relaxed)
}

/// Applies the parts of a batch in order into one outcome buffer: when they
/// are applied in more than one core call, every record (and id) of every
/// part is validated first (a malformed one fails the whole batch with nothing
/// applied; a single call is all or nothing of itself). The records are
/// applied [`CHUNK_RECORDS`] at a time, with the GIL released during each
/// call and a signal check between two.
fn apply(engine: Apply<'_>, py: Python<'_>, parts: &[Part<'_>]) -> PyResult<PyBatchResult> {
    // Relaxed: see `_set_ingest_chunk`.
    let step = CHUNK_RECORDS.load(Ordering::Relaxed).max(1);
    let total: usize = parts.iter().map(|p| p.records.len()).sum();
    if parts.len() > 1 || total > step {
        let many = parts.len() > 1;
        boundary::run(py, || {
            let bad = parts.iter().enumerate().find_map(|(k, p)| {
                let bad = first_malformed(p.records).or_else(|| p.ids.and_then(Ids::first_malformed));
                bad.map(|e| in_chunk(e, k, many))
            });
            bad.map_or(Ok(()), Err)
        })?;
    }
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
    let mut summary = BatchSummary::default();
    let mut done = 0;
    for part in parts {
        for from in (0..part.records.len()).step_by(step) {
            let to = part.records.len().min(from + step);
            if done > 0
                && let Err(signal) = py.check_signals()
            {
                let partial = result(summary, &outcomes, done)?;
                return Err(interrupted(py, signal, partial, done, total));
            }
            let (here, later) = std::mem::take(&mut rest).split_at_mut(to - from);
            let ids = part.ids.map(|ids| ids.column(from..to)).transpose().map_err(|e| error::to_py(py, e))?;
            let s = engine(py, ids, &part.records[from..to], here)?;
            summary.accepted += s.accepted;
            summary.directives += s.directives;
            summary.refused += s.refused;
            done += to - from;
            rest = later;
        }
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
fn import_array(py: Python<'_>, schema: &Bound<'_, PyCapsule>, array: &Bound<'_, PyCapsule>) -> PyResult<ArrayRef> {
    let schema_ptr = schema.pointer_checked(Some(c"arrow_schema"))?.cast::<FFI_ArrowSchema>();
    let array_ptr = array.pointer_checked(Some(c"arrow_array"))?.cast::<FFI_ArrowArray>();
    // SAFETY: the capsules are named per the Arrow PyCapsule interface, so the
    // pointers are valid `ArrowSchema` / `ArrowArray` structs owned by the
    // capsules. `from_raw` moves the array out and marks the capsule's copy
    // released, as the interface prescribes; the schema is only borrowed.
    let data = unsafe { from_ffi(FFI_ArrowArray::from_raw(array_ptr.as_ptr()), schema_ptr.as_ref()) }
        .map_err(|e| error::to_py(py, Error::invalid(format!("not a readable Arrow array: {e}"))))?;
    Ok(make_array(data))
}

/// Imports every chunk of an Arrow stream exported as a PyCapsule: record
/// batches (a table, a reader) or plain arrays (a chunked array).
fn import_stream(py: Python<'_>, capsule: &Bound<'_, PyCapsule>) -> PyResult<Vec<ArrayRef>> {
    let stream = capsule.pointer_checked(Some(c"arrow_array_stream"))?.cast::<FFI_ArrowArrayStream>();
    let invalid =
        |e: arrow_schema::ArrowError| error::to_py(py, Error::invalid(format!("not a readable Arrow stream: {e}")));
    // SAFETY: the capsule is named `arrow_array_stream`, so the pointer is a
    // valid `ArrowArrayStream` owned by it; `from_raw` moves it out and marks
    // the capsule's copy released.
    let reader = unsafe { ArrayStreamReader::from_raw(stream.as_ptr()) }.map_err(invalid)?;
    reader.map(|chunk| chunk.map_err(invalid)).collect()
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
