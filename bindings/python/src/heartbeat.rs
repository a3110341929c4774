//! A heartbeat as Python passes it (keyword arguments of plain types), parsed
//! into the core's [`Heartbeat`] on the far side of the GIL.

use fleetgov::{ContentHash, Engine, Heartbeat, Metrics, NodeHandle, ProcessStatus, RuntimeVersion, SyncError};

use crate::views::PyDirective;

/// Which node a heartbeat is from: its id, or the handle `enroll` returned
/// (which skips the id lookup).
pub(crate) enum NodeRef<'a> {
    Id(&'a str),
    Handle(u64),
}

/// The arguments of `Engine.heartbeat`, borrowed from the Python call.
pub(crate) struct HeartbeatArgs<'a> {
    pub(crate) at_ms: Option<u64>,
    pub(crate) applied_snapshot: Option<&'a str>,
    pub(crate) applied_hash: Option<&'a str>,
    pub(crate) runtime_version: &'a str,
    pub(crate) process_status: &'a str,
    pub(crate) metrics: Metrics,
    pub(crate) sync_error: Option<&'a str>,
}

impl HeartbeatArgs<'_> {
    /// Parses the arguments and records the heartbeat of `node`; bad input is
    /// `InvalidInput` and records nothing.
    pub(crate) fn record(&self, engine: &Engine, node: NodeRef<'_>) -> fleetgov::Result<Option<PyDirective>> {
        let sync_error = self.sync_error.map(str::parse::<SyncError>).transpose()?;
        let hb = Heartbeat {
            at_ms: now_or(self.at_ms, engine),
            applied_snapshot: self.applied_snapshot,
            applied_hash: self.applied_hash.map(ContentHash::from_hex).transpose()?,
            runtime_version: self.runtime_version.parse::<RuntimeVersion>()?,
            status: ProcessStatus::parse(self.process_status)?,
            metrics: self.metrics,
            sync_error: sync_error.as_ref(),
        };
        let directive = match node {
            NodeRef::Id(id) => engine.heartbeat_by_id(id, &hb)?,
            NodeRef::Handle(raw) => engine.heartbeat(NodeHandle::from_raw(raw), &hb)?,
        };
        Ok(directive.map(PyDirective::from))
    }
}

/// A time argument in unix milliseconds, or the engine's clock when omitted.
pub(crate) fn now_or(at_ms: Option<u64>, engine: &Engine) -> u64 {
    at_ms.unwrap_or_else(|| engine.clock().now_ms())
}
