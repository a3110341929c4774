//! `Engine.events()`: the engine's change feed as a Python iterator.
//!
//! Each `__next__` waits for the next event with the GIL released, in slices
//! of [`SLICE`], checking for signals between slices so that Ctrl-C raises
//! `KeyboardInterrupt` promptly. Events are dicts (see `fleetgov.types`:
//! `NodeEvent`, `ClusterEvent`, `AuditEvent`, `LaggedEvent`), built from the
//! core's types directly.

use std::time::{Duration, Instant};

use fleetgov::{Change, ChangeEvent, FeedItem, Subscription};
use parking_lot::Mutex;
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The stream was closed.
struct Closed;

/// How long one wait holds the GIL released before it checks for signals.
const SLICE: Duration = Duration::from_millis(100);

/// An iterator over the engine's changes, from `Engine.events()`. It keeps
/// working after the engine is closed (it then yields no new events).
#[pyclass(name = "EventStream", module = "fleetgov._native", frozen)]
pub(crate) struct PyEventStream {
    subscription: Mutex<Option<Subscription>>,
    /// How long `__next__` waits for an event before ending the iteration
    /// (`None`: as long as it takes).
    timeout: Option<Duration>,
}

impl PyEventStream {
    pub(crate) fn new(subscription: Subscription, timeout: Option<Duration>) -> Self {
        PyEventStream { subscription: Mutex::new(Some(subscription)), timeout }
    }

    /// The next item, waiting at most `wait` with the GIL released; `Err`
    /// once the stream is closed.
    fn wait(&self, py: Python<'_>, wait: Duration) -> Result<Option<FeedItem>, Closed> {
        py.detach(|| self.subscription.lock().as_mut().map(|s| s.next_timeout(wait)).ok_or(Closed))
    }
}

#[pymethods]
impl PyEventStream {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// The next change; `StopIteration` when the stream's timeout passes
    /// with none, or after `close()`.
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let deadline = self.timeout.map(|t| Instant::now() + t);
        loop {
            let slice = deadline.map_or(SLICE, |d| d.saturating_duration_since(Instant::now()).min(SLICE));
            let Ok(item) = self.wait(py, slice) else { return Err(PyStopIteration::new_err(())) };
            if let Some(item) = item {
                return event(py, &item);
            }
            py.check_signals()?;
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(PyStopIteration::new_err(()));
            }
        }
    }

    /// The sequence number of the next event this stream yields (`None`
    /// once closed): pass it as `from_seq` to resume.
    #[getter]
    fn position(&self) -> Option<u64> {
        self.subscription.lock().as_ref().map(Subscription::position)
    }

    /// Stops the stream: the engine stops recording for it. Idempotent.
    fn close(&self, py: Python<'_>) {
        // Detached: a `__next__` of another thread may hold the lock while it waits.
        py.detach(|| drop(self.subscription.lock().take()));
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

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
}

/// One feed item as a dict.
fn event<'py>(py: Python<'py>, item: &FeedItem) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let ChangeEvent { seq, change } = match item {
        FeedItem::Change(event) => &**event,
        FeedItem::Lagged { missed } => {
            d.set_item("type", "lagged")?;
            d.set_item("missed", missed)?;
            return Ok(d);
        }
    };
    d.set_item("seq", seq)?;
    match change {
        Change::Node(n) => {
            d.set_item("type", "node")?;
            d.set_item("node", &n.node)?;
            d.set_item("cluster", &*n.cluster)?;
            d.set_item("at_ms", n.at_ms)?;
            d.set_item("applied_revision", n.applied_revision)?;
            d.set_item("applied_hash", n.applied_hash.map(|h| h.to_string()))?;
            d.set_item("in_sync", n.in_sync)?;
            d.set_item("sync_error", n.sync_error.map(|c| c.as_str()))?;
        }
        Change::Cluster(c) => {
            d.set_item("type", "cluster")?;
            d.set_item("cluster", &*c.cluster)?;
            d.set_item("workspace", &*c.workspace)?;
            d.set_item("desired_revision", c.desired_revision)?;
            d.set_item("enrolled", c.enrolled)?;
            d.set_item("in_sync", c.in_sync)?;
            d.set_item("cohesion", c.cohesion)?;
            d.set_item("cohesion_bp", c.cohesion_bp)?;
            d.set_item("status", c.status.as_str())?;
        }
        Change::Audit(a) => {
            d.set_item("type", "audit")?;
            d.set_item("audit_seq", a.audit_seq)?;
            d.set_item("at_ms", a.at_ms)?;
            d.set_item("actor", &a.actor)?;
            d.set_item("action", a.action.as_str())?;
            d.set_item("target", &a.target)?;
        }
        // A kind this binding does not know yet.
        _ => d.set_item("type", "unknown")?,
    }
    Ok(d)
}
