//! Python arguments as the engine takes them. A value of the wrong Python
//! type is `fleetgov.InvalidType` (a `TypeError` and an `InvalidInput`), a
//! value out of range `fleetgov.InvalidInput`: both `FleetError`s whose
//! message says what was expected and what came. When pyo3 extracts one of
//! these types it adds the note "while processing '<argument>'" to the error.

use std::path::PathBuf;

use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyString;

use crate::error;

/// `type(value).__name__` and a short `repr(value)`, for messages.
pub(crate) fn describe(value: &Bound<'_, PyAny>) -> String {
    let kind = value.get_type().name().map_or_else(|_| "object".to_owned(), |n| n.to_string());
    let mut shown = value.repr().map_or_else(|_| "?".to_owned(), |r| r.to_string());
    if shown.chars().count() > 60 {
        shown = shown.chars().take(57).collect::<String>() + "...";
    }
    format!("{kind} {shown}")
}

/// Text: a `str` that is valid Unicode (no lone surrogates), borrowed from
/// the Python object without a copy.
pub(crate) struct Text<'a>(pub(crate) &'a str);

impl<'a, 'py> FromPyObject<'a, 'py> for Text<'a> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        text(obj, "a str")
    }
}

/// `obj` as text, or `InvalidType` saying that `expected` was expected.
pub(crate) fn text<'a>(obj: Borrowed<'a, '_, PyAny>, expected: &str) -> PyResult<Text<'a>> {
    let py = obj.py();
    if !obj.is_instance_of::<PyString>() {
        return Err(error::wrong_type(py, format!("expected {expected}, got {}", describe(&obj))));
    }
    <&'a str as FromPyObject<'a, '_>>::extract(obj).map(Text).map_err(|_| {
        error::invalid(py, format!("text {} is not valid Unicode (it holds a lone surrogate)", describe(&obj)))
    })
}

/// An unsigned integer of type `T` (any Python int, or an object with
/// `__index__` such as a NumPy integer).
pub(crate) struct Uint<T>(pub(crate) T);

impl<'py, T> FromPyObject<'_, 'py> for Uint<T>
where
    T: for<'a> FromPyObject<'a, 'py, Error = PyErr> + Bounded,
{
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        uint(&obj, "an int").map(Uint)
    }
}

/// The largest value of an unsigned integer type, for messages.
pub(crate) trait Bounded {
    /// `T::MAX`, as text.
    const MAX: &'static str;
}

impl Bounded for u32 {
    const MAX: &'static str = "2**32-1";
}

impl Bounded for u64 {
    const MAX: &'static str = "2**64-1";
}

impl Bounded for usize {
    const MAX: &'static str = if usize::BITS == 64 { "2**64-1" } else { "2**32-1" };
}

/// `obj` as an unsigned integer; `what` names it in messages ("an int",
/// "at_ms", ...).
pub(crate) fn uint<'py, T>(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<T>
where
    T: for<'a> FromPyObject<'a, 'py, Error = PyErr> + Bounded,
{
    let py = obj.py();
    match obj.extract::<T>() {
        Ok(v) => Ok(v),
        Err(e) if e.is_instance_of::<PyOverflowError>(py) => {
            Err(error::invalid(py, format!("{what} must be from 0 to {}, got {}", T::MAX, describe(obj))))
        }
        Err(_) => Err(error::wrong_type(py, format!("{what} must be an int, got {}", describe(obj)))),
    }
}

/// A time argument in unix milliseconds; `None` (omitted) is the engine's
/// clock, resolved by the caller.
pub(crate) fn millis(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<u64>> {
    match obj {
        None => Ok(None),
        Some(o) if o.is_none() => Ok(None),
        Some(o) => uint::<u64>(o, &format!("{name} (unix milliseconds)")).map(Some),
    }
}

/// A metric: a Python float (or int) that fits the engine's 32-bit float.
/// The engine's own range check follows (finite, from 0, ...).
pub(crate) struct Metric(pub(crate) f32);

impl FromPyObject<'_, '_> for Metric {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        // A str would pass `float(...)`; only numbers are metrics.
        let value = match obj.extract::<f64>() {
            Ok(v) if !obj.is_instance_of::<PyString>() => v,
            _ => return Err(error::wrong_type(py, format!("a metric must be a float, got {}", describe(&obj)))),
        };
        let narrow = value as f32;
        if value.is_finite() && !narrow.is_finite() {
            return Err(error::invalid(
                py,
                format!("a metric must be at most {:e} (a 32-bit float), got {value:e}", f32::MAX),
            ));
        }
        Ok(Metric(narrow))
    }
}

/// A flag: exactly `True` or `False` (not 0, 1 or "yes").
pub(crate) struct Flag(pub(crate) bool);

impl FromPyObject<'_, '_> for Flag {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        obj.extract::<bool>()
            .map(Flag)
            .map_err(|_| error::wrong_type(obj.py(), format!("expected a bool, got {}", describe(&obj))))
    }
}

/// Bytes: a `bytes` or `bytearray`, shared (bytes) or copied (bytearray).
pub(crate) struct Bytes(pub(crate) PyBackedBytes);

impl FromPyObject<'_, '_> for Bytes {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        obj.extract::<PyBackedBytes>()
            .map(Bytes)
            .map_err(|_| error::wrong_type(obj.py(), format!("expected bytes or bytearray, got {}", describe(&obj))))
    }
}

/// A file system path: a `str` or an `os.PathLike`.
pub(crate) struct FilePath(pub(crate) PathBuf);

impl FromPyObject<'_, '_> for FilePath {
    type Error = PyErr;

    fn extract(obj: Borrowed<'_, '_, PyAny>) -> PyResult<Self> {
        obj.extract::<PathBuf>().map(FilePath).map_err(|_| {
            error::wrong_type(obj.py(), format!("expected a path (str or os.PathLike), got {}", describe(&obj)))
        })
    }
}
