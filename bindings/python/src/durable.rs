//! Durable engines for Python: where an engine keeps what it must not forget
//! (nothing, an audit log file, or a data directory), the arguments that
//! configure it, and the `(node, cluster)` pairs of `Engine.enroll_many`.

use std::path::PathBuf;
use std::time::Duration;

use fleetgov::{EngineConfig, Error};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::args::{describe, text};
use crate::error;

/// Where an engine keeps its state.
pub(crate) enum Storage {
    /// Everything in memory.
    Memory,
    /// The audit log in a file; the rest in memory.
    AuditLog(PathBuf),
    /// A data directory (see the README's "Durable engines").
    DataDir(PathBuf),
    /// Both were given, which the core refuses; kept so that the core's own
    /// error reaches the caller.
    Both(PathBuf, PathBuf),
}

/// The data directory's cadence, as `Engine(...)` takes it; `None` keeps the
/// core's default.
pub(crate) struct Cadence {
    pub(crate) journal_interval_ms: Option<u64>,
    pub(crate) checkpoint_interval_ms: Option<u64>,
    pub(crate) journal_segment_len: Option<u64>,
}

impl Storage {
    /// The storage `audit_path` and `data_dir` name.
    pub(crate) fn new(audit_path: Option<PathBuf>, data_dir: Option<PathBuf>) -> Storage {
        match (audit_path, data_dir) {
            (None, None) => Storage::Memory,
            (Some(log), None) => Storage::AuditLog(log),
            (None, Some(dir)) => Storage::DataDir(dir),
            (Some(log), Some(dir)) => Storage::Both(log, dir),
        }
    }

    /// Writes the storage and `cadence` into `config`. A cadence without a
    /// data directory, or an interval of zero, is `InvalidInput`.
    pub(crate) fn configure(&self, py: Python<'_>, config: &mut EngineConfig, cadence: Cadence) -> PyResult<()> {
        match self {
            Storage::Memory => {}
            Storage::AuditLog(log) => config.audit_path = Some(log.clone()),
            Storage::DataDir(dir) => config.data_dir = Some(dir.clone()),
            Storage::Both(log, dir) => {
                config.audit_path = Some(log.clone());
                config.data_dir = Some(dir.clone());
            }
        }
        let given = cadence.journal_interval_ms.is_some()
            || cadence.checkpoint_interval_ms.is_some()
            || cadence.journal_segment_len.is_some();
        if given && config.data_dir.is_none() {
            return Err(error::invalid(
                py,
                "journal_interval_ms, checkpoint_interval_ms and journal_segment_len need a data_dir".to_owned(),
            ));
        }
        let interval = |ms: Option<u64>, name: &str, default: Duration| match ms {
            None => Ok(default),
            Some(0) => Err(error::invalid(py, format!("{name} must be at least 1 ms, got 0"))),
            Some(ms) => Ok(Duration::from_millis(ms)),
        };
        config.journal_interval =
            interval(cadence.journal_interval_ms, "journal_interval_ms", config.journal_interval)?;
        config.checkpoint_interval =
            interval(cadence.checkpoint_interval_ms, "checkpoint_interval_ms", config.checkpoint_interval)?;
        if let Some(len) = cadence.journal_segment_len {
            config.journal_segment_len = len;
        }
        Ok(())
    }

    /// Whether anything is written to disk: then a heartbeat may wait for it.
    pub(crate) fn on_disk(&self) -> bool {
        !matches!(self, Storage::Memory)
    }

    /// The exception for `e`, an error opening the engine on this storage.
    pub(crate) fn open_error(&self, py: Python<'_>, e: Error) -> PyErr {
        match self {
            Storage::AuditLog(log) => error::audit_file(py, e, log),
            _ => error::to_py(py, e),
        }
    }

    /// `audit_log=in memory`, `audit_log='<path>'` or `data_dir='<path>'`, for reprs.
    pub(crate) fn describe(&self) -> String {
        match self {
            Storage::Memory => "audit_log=in memory".to_owned(),
            Storage::AuditLog(log) => format!("audit_log={:?}", log.display().to_string()),
            Storage::DataDir(dir) | Storage::Both(_, dir) => format!("data_dir={:?}", dir.display().to_string()),
        }
    }
}

/// The `(node, cluster)` pairs of `nodes`, any iterable of 2-tuples of str,
/// copied out of Python so the core call can run without the GIL. Anything
/// else is `InvalidType` naming the item.
pub(crate) fn pairs(nodes: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let py = nodes.py();
    let items = nodes.try_iter().map_err(|_| {
        error::wrong_type(py, format!("nodes must be an iterable of (node, cluster) tuples, got {}", describe(nodes)))
    })?;
    let mut out = Vec::with_capacity(nodes.len().unwrap_or(0));
    for (i, item) in items.enumerate() {
        let item = item?;
        let pair = item.cast::<PyTuple>().ok().filter(|t| t.len() == 2).ok_or_else(|| {
            error::wrong_type(py, format!("nodes[{i}] must be a (node, cluster) tuple, got {}", describe(&item)))
        })?;
        let (node, cluster) = (pair.get_borrowed_item(0)?, pair.get_borrowed_item(1)?);
        let what = format!("a str in nodes[{i}]");
        out.push((text(node, &what)?.0.to_owned(), text(cluster, &what)?.0.to_owned()));
    }
    Ok(out)
}
