//! The one place where fleetgov's [`ErrorKind`] becomes a Python exception.
//!
//! The classes live in the pure-Python module `fleetgov.exceptions`, where
//! their built-in bases (`ValueError`, `KeyError`, `PermissionError`, ...)
//! are plain to read; this file only picks the class for a kind.

use std::any::Any;

use fleetgov::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// The Python class name in `fleetgov.exceptions` for `kind`.
///
/// A kind this binding does not know yet (the enum is non-exhaustive) maps to
/// the base class; its code still reaches Python through the `code` attribute.
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidInput => "InvalidInput",
        ErrorKind::NotFound => "NotFound",
        ErrorKind::Conflict => "Conflict",
        ErrorKind::StaleHeartbeat => "StaleHeartbeat",
        ErrorKind::FutureHeartbeat => "FutureHeartbeat",
        ErrorKind::JustificationRequired => "JustificationRequired",
        ErrorKind::PermissionDenied => "PermissionDenied",
        ErrorKind::AuditTampered => "AuditTampered",
        ErrorKind::Io => "StorageError",
        ErrorKind::Future => "FutureTime",
        ErrorKind::HistoryUnavailable => "HistoryUnavailable",
        ErrorKind::ReloadFailure => "ReloadFailure",
        _ => "FleetError",
    }
}

/// The class `name` of `fleetgov.exceptions`.
fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = MODULE.get_or_try_init(py, || py.import("fleetgov.exceptions").map(Bound::unbind))?;
    Ok(module.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

/// An exception of class `name` carrying `message`, with `code` set when the
/// class's own default code does not say it.
fn raise(py: Python<'_>, name: &str, message: String, code: Option<&str>) -> PyErr {
    let made = class(py, name).and_then(|cls| {
        let exc = cls.call1((message,))?;
        if let Some(code) = code {
            exc.setattr("code", code)?;
        }
        Ok(PyErr::from_value(exc))
    });
    made.unwrap_or_else(|import_failed| import_failed)
}

/// Turns a core error into the matching `fleetgov` exception.
pub(crate) fn to_py(py: Python<'_>, e: Error) -> PyErr {
    let name = class_name(e.kind());
    let code = (name == "FleetError").then(|| e.kind().code());
    // The engine's Rust configuration names, in the Python API's terms.
    let message = e.message().replace("EngineConfig::capacity", "Engine(capacity=...)");
    raise(py, name, message, code)
}

/// Turns a caught panic into `fleetgov.InternalError`.
pub(crate) fn panicked(py: Python<'_>, payload: Box<dyn Any + Send>) -> PyErr {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic payload".to_owned());
    raise(py, "InternalError", format!("fleetgov panicked (a bug; please report it): {what}"), None)
}

/// `fleetgov.InvalidInput` carrying `message`: an argument out of range.
pub(crate) fn invalid(py: Python<'_>, message: String) -> PyErr {
    raise(py, "InvalidInput", message, None)
}

/// `fleetgov.InvalidType` carrying `message`: an argument of the wrong
/// Python type (a `TypeError` that is also an `InvalidInput`).
pub(crate) fn wrong_type(py: Python<'_>, message: String) -> PyErr {
    raise(py, "InvalidType", message, None)
}

/// Turns a core error about the audit log file at `path` into the matching
/// exception. A missing file or directory is a storage problem here
/// (`StorageError`, an `OSError`), not a missing engine object (`NotFound`,
/// a `KeyError`).
pub(crate) fn audit_file(py: Python<'_>, e: Error, path: &std::path::Path) -> PyErr {
    if e.kind() == ErrorKind::NotFound {
        let why = if path.parent().is_some_and(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
            "its directory does not exist"
        } else {
            "no such file"
        };
        return raise(py, "StorageError", format!("audit log {}: {why}", path.display()), None);
    }
    to_py(py, e)
}

/// `fleetgov.EngineClosed`, for a call on a closed engine.
pub(crate) fn closed(py: Python<'_>) -> PyErr {
    raise(py, "EngineClosed", "the engine is closed".to_owned(), None)
}
