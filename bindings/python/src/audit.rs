//! Audit records for Python: one record as a dict (`Engine.audit()`, the
//! result of `force_sync` / `force_global`), and the whole log as an Arrow
//! table (`Engine.audit_table()`), both built field by field from the core's
//! [`AuditRecord`].
//!
//! A record's payload is opaque bytes to the audit log; the engine writes one
//! line of JSON describing the event, then, for a publish, a newline and the
//! configuration bytes. The table splits the two (`event`, `config`).

use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, StringBuilder, StringDictionaryBuilder};
use arrow_array::types::{Int8Type, Int32Type, TimestampMillisecondType, UInt64Type};
use arrow_array::{ArrayRef, PrimitiveArray, RecordBatch};
use arrow_schema::ArrowError;
use fleetgov::ContentHash;
use fleetgov::audit::{AuditAction, AuditQueryPage, AuditRecord};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// `record` as a dict: `seq`, `timeMs`, `actor`, `role`, `action`, `target`,
/// `justification`, `payload` (bytes), `payloadHash`, `prevHash` (hex).
pub(crate) fn record<'py>(py: Python<'py>, r: &AuditRecord) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("seq", r.seq)?;
    d.set_item("timeMs", r.time_ms)?;
    d.set_item("actor", &r.actor)?;
    d.set_item("role", r.role.as_str())?;
    d.set_item("action", r.action.as_str())?;
    d.set_item("target", &r.target)?;
    d.set_item("justification", &r.justification)?;
    d.set_item("payload", PyBytes::new(py, &r.payload))?;
    d.set_item("payloadHash", r.payload_hash.to_string())?;
    d.set_item("prevHash", r.prev_hash.to_string())?;
    Ok(d)
}

/// A page of an audit query as a dict: `records` (dicts as [`record`]) and
/// `nextBefore` (`None` at the start of the log).
pub(crate) fn page<'py>(py: Python<'py>, page: &AuditQueryPage) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let records = PyList::empty(py);
    for r in &page.records {
        records.append(record(py, r)?)?;
    }
    d.set_item("records", records)?;
    d.set_item("nextBefore", page.next_before)?;
    Ok(d)
}

/// The actions an audit query names: `None`, one name, or a sequence of names.
pub(crate) fn actions(py: Python<'_>, given: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<AuditAction>> {
    let Some(given) = given.filter(|g| !g.is_none()) else { return Ok(Vec::new()) };
    let names: Vec<String> = match given.extract::<String>() {
        Ok(one) => vec![one],
        Err(_) => given.extract().map_err(|_| {
            crate::error::wrong_type(py, "action must be an audit action name or a list of them".to_owned())
        })?,
    };
    names.iter().map(|n| AuditAction::parse(n).map_err(|e| crate::error::to_py(py, e))).collect()
}

/// A payload split into its event line and the bytes after it, if any.
fn split(payload: &[u8]) -> (&[u8], Option<&[u8]>) {
    match payload.iter().position(|&b| b == b'\n') {
        Some(i) => (&payload[..i], Some(&payload[i + 1..])),
        None => (payload, None),
    }
}

/// The audit log as one record batch: `seq`, `time` (timestamp, ms, UTC),
/// `actor`, `role`, `action`, `target`, `justification`, `event` (the JSON
/// line, null if the payload is empty or not UTF-8), `config` (the bytes a
/// publish carried, else null), `payload_hash`, `prev_hash`.
pub(crate) fn table(records: &[Arc<AuditRecord>]) -> Result<RecordBatch, ArrowError> {
    let rows = records.len();
    let seq = PrimitiveArray::<UInt64Type>::from_iter_values(records.iter().map(|r| r.seq));
    // Times past i64::MAX ms cannot be shown; the log never holds them in practice.
    let time =
        PrimitiveArray::<TimestampMillisecondType>::from_iter(records.iter().map(|r| i64::try_from(r.time_ms).ok()))
            .with_timezone("UTC");
    let mut actor = StringDictionaryBuilder::<Int32Type>::new();
    let mut role = StringDictionaryBuilder::<Int8Type>::new();
    let mut action = StringDictionaryBuilder::<Int8Type>::new();
    let (mut target, mut justification, mut event) =
        (StringBuilder::with_capacity(rows, 0), StringBuilder::with_capacity(rows, 0), StringBuilder::new());
    let mut config = BinaryBuilder::new();
    let (mut payload_hash, mut prev_hash) =
        (StringBuilder::with_capacity(rows, rows * 64), StringBuilder::with_capacity(rows, rows * 64));
    for r in records {
        // Fewer than 2^31 records, so fewer distinct actors: the key fits.
        actor.append(&r.actor)?;
        role.append_value(r.role.as_str());
        action.append_value(r.action.as_str());
        target.append_value(&r.target);
        justification.append_value(&r.justification);
        let (line, bytes) = split(&r.payload);
        event.append_option((!line.is_empty()).then(|| std::str::from_utf8(line).ok()).flatten());
        config.append_option(bytes);
        payload_hash.append_value(r.payload_hash.to_string());
        prev_hash.append_value(ContentHash(r.prev_hash.0).to_string());
    }
    let columns: Vec<(&str, ArrayRef, bool)> = vec![
        ("seq", Arc::new(seq), false),
        ("time", Arc::new(time), true),
        ("actor", Arc::new(actor.finish()), false),
        ("role", Arc::new(role.finish()), false),
        ("action", Arc::new(action.finish()), false),
        ("target", Arc::new(target.finish()), false),
        ("justification", Arc::new(justification.finish()), false),
        ("event", Arc::new(event.finish()), true),
        ("config", Arc::new(config.finish()), true),
        ("payload_hash", Arc::new(payload_hash.finish()), false),
        ("prev_hash", Arc::new(prev_hash.finish()), false),
    ];
    RecordBatch::try_from_iter_with_nullable(columns)
}
