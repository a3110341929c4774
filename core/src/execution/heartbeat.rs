//! Heartbeats: a node's report of what it applied and how it is doing.

use serde::{Deserialize, Serialize};

use crate::authority::snapshot::Snapshot;
use crate::error::{Error, Result};
use crate::execution::sync_error::SyncError;
use crate::hash::ContentHash;
use crate::health::ProcessStatus;
use crate::version::RuntimeVersion;

/// How far ahead of the engine's clock a heartbeat may be stamped (5 minutes).
pub const MAX_FUTURE_SKEW_MS: u64 = 5 * 60 * 1000;

/// Runtime metrics a node reports. Percentages are 0 to 100.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    /// CPU use, percent.
    pub cpu: f32,
    /// Memory use, percent.
    pub memory: f32,
    /// Transactions per second.
    pub tps: f32,
    /// JVM heap use, percent (0 for non-JVM runtimes).
    pub heap: f32,
    /// Hot-swap errors since the runtime started.
    pub hot_swap_errors: u32,
}

impl Metrics {
    /// Checks that every figure is finite, non-negative and percentages are at most 100.
    ///
    /// ```
    /// use fleetgov::Metrics;
    /// assert!(Metrics { cpu: 12.5, memory: 40.0, tps: 1200.0, heap: 55.0, hot_swap_errors: 0 }.validate().is_ok());
    /// assert!(Metrics { cpu: f32::NAN, ..Metrics::default() }.validate().is_err());
    /// assert!(Metrics { memory: -1.0, ..Metrics::default() }.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        for (name, value, max) in [
            ("cpu", self.cpu, 100.0),
            ("memory", self.memory, 100.0),
            ("heap", self.heap, 100.0),
            ("tps", self.tps, f32::MAX),
        ] {
            if !value.is_finite() || value < 0.0 || value > max {
                return Err(Error::invalid(format!(
                    "metric {name} must be a finite number from 0 to {max}, got {value}"
                )));
            }
        }
        Ok(())
    }
}

/// A node's report. Borrowed strings keep the single-call path free of allocation.
///
/// ```
/// use fleetgov::{Heartbeat, ProcessStatus};
/// let hb = Heartbeat::new(1_700_000_000_000, "3.5.0".parse().unwrap());
/// assert_eq!(hb.status, ProcessStatus::Ready);
/// assert!(hb.applied_snapshot.is_none());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Heartbeat<'a> {
    /// When the node sent it (unix ms).
    pub at_ms: u64,
    /// The snapshot id the node reports it applied (`<cluster>@r<revision>`), if any.
    pub applied_snapshot: Option<&'a str>,
    /// The hash the node computed over the bytes it applied, if any.
    pub applied_hash: Option<ContentHash>,
    /// The runtime's version.
    pub runtime_version: RuntimeVersion,
    /// The process status.
    pub status: ProcessStatus,
    /// Runtime metrics.
    pub metrics: Metrics,
    /// Why the node could not apply its desired configuration, if it could not.
    /// `None` clears a previously reported error.
    pub sync_error: Option<&'a SyncError>,
}

impl<'a> Heartbeat<'a> {
    /// A heartbeat of a ready node that has applied nothing yet.
    pub fn new(at_ms: u64, runtime_version: RuntimeVersion) -> Self {
        Heartbeat {
            at_ms,
            applied_snapshot: None,
            applied_hash: None,
            runtime_version,
            status: ProcessStatus::Ready,
            metrics: Metrics::default(),
            sync_error: None,
        }
    }

    /// Sets the applied snapshot and the node-computed hash.
    pub fn applied(mut self, snapshot: &'a str, hash: ContentHash) -> Self {
        self.applied_snapshot = Some(snapshot);
        self.applied_hash = Some(hash);
        self
    }
}

/// What the engine asks of a node in answer to its heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectiveKind {
    /// The node is behind and its cluster auto-reconciles: pull this snapshot.
    Reconcile,
    /// An operator forced a sync: pull and reload this snapshot now.
    ForceSync,
}

impl DirectiveKind {
    /// The snake-case name used in JSON and the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectiveKind::Reconcile => "reconcile",
            DirectiveKind::ForceSync => "force_sync",
        }
    }
}

/// A directive: pull `snapshot` (its id and hash) and apply it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Directive<'e> {
    /// Reconcile or force sync.
    pub kind: DirectiveKind,
    /// The snapshot to pull, borrowed from the engine.
    pub snapshot: &'e Snapshot,
}
