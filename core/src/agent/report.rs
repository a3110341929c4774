//! Heartbeats built by the agent from what it really applied.

use std::sync::atomic::Ordering;

use super::{Agent, NO_HEAP};
use crate::authority::snapshot::parse_snapshot_id;
use crate::engine::NodeHandle;
use crate::error::Result;
use crate::execution::heartbeat::{Heartbeat, Metrics};
use crate::execution::heartbeat_record::HeartbeatRecord;
use crate::execution::sync_error::SyncError;
use crate::hash::ContentHash;
use crate::health::ProcessStatus;
use crate::version::RuntimeVersion;

/// A heartbeat the agent built, owning its strings; lend it to the engine
/// with [`as_heartbeat`](Self::as_heartbeat).
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedHeartbeat {
    /// When (unix ms).
    pub at_ms: u64,
    /// The snapshot id live on the node, if any.
    pub applied_snapshot: Option<String>,
    /// The hash the agent computed over the live bytes.
    pub applied_hash: Option<ContentHash>,
    /// The runtime's version.
    pub runtime_version: RuntimeVersion,
    /// The process status the caller gave.
    pub status: ProcessStatus,
    /// The caller's metrics, with `hot_swap_errors` set to the agent's count
    /// of failed reloads.
    pub metrics: Metrics,
    /// JVM heap percent change since the previous heartbeat built (0 for the first).
    pub heap_trend: f32,
    /// Reloads that failed for memory pressure (`MEMORY_PRESSURE`,
    /// `JVM_MEMORY_PRESSURE`) since the agent started.
    pub memory_pressure_reloads: u32,
    /// The last sync error, until a successful apply clears it.
    pub sync_error: Option<SyncError>,
}

impl OwnedHeartbeat {
    /// The borrowed form the engine takes.
    ///
    /// ```
    /// use fleetgov::{ContentHash, Metrics, ProcessStatus, agent::Agent};
    /// let agent = Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// agent.apply("c@r1", b"v1".to_vec(), ContentHash::of(b"v1"), 1)?;
    /// let owned = agent.heartbeat(2, Metrics::default(), ProcessStatus::Ready)?;
    /// let hb = owned.as_heartbeat();
    /// assert_eq!((hb.applied_snapshot, hb.applied_hash), (Some("c@r1"), Some(ContentHash::of(b"v1"))));
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn as_heartbeat(&self) -> Heartbeat<'_> {
        Heartbeat {
            at_ms: self.at_ms,
            applied_snapshot: self.applied_snapshot.as_deref(),
            applied_hash: self.applied_hash,
            runtime_version: self.runtime_version,
            status: self.status,
            metrics: self.metrics,
            sync_error: self.sync_error.as_ref(),
        }
    }

    /// The binary record of this heartbeat (see [`crate::execution::heartbeat_record`]) for node
    /// `handle` enrolled in `cluster`, for the batch path. The record carries a
    /// revision of the node's own cluster, so a snapshot of another cluster
    /// (or a local one) is reported as revision 0 with its hash, exactly as the
    /// engine reads the same heartbeat in struct form. The sync-error detail is
    /// cut to the record's 47 bytes.
    ///
    /// ```
    /// use fleetgov::{ContentHash, Metrics, NodeHandle, ProcessStatus, agent::Agent};
    /// let agent = Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// agent.apply("eks-prod-us@r4", b"v4".to_vec(), ContentHash::of(b"v4"), 1)?;
    /// let hb = agent.heartbeat(2, Metrics::default(), ProcessStatus::Ready)?;
    /// let record = hb.to_record(NodeHandle::from_raw(7), "eks-prod-us");
    /// assert_eq!(record.applied(), Some((4, ContentHash::of(b"v4"))));
    /// assert_eq!(hb.to_record(NodeHandle::from_raw(7), "gke-stage-eu").applied(), Some((0, ContentHash::of(b"v4"))));
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn to_record(&self, handle: NodeHandle, cluster: &str) -> HeartbeatRecord {
        let mut record = HeartbeatRecord::new(handle, self.at_ms, self.runtime_version, self.status, self.metrics);
        if let (Some(id), Some(hash)) = (&self.applied_snapshot, self.applied_hash) {
            let revision = parse_snapshot_id(id).filter(|(c, _)| *c == cluster).map_or(0, |(_, r)| r);
            record = record.with_applied(revision, hash);
        }
        match &self.sync_error {
            Some(e) => record.with_sync_error(e.code, &e.detail),
            None => record,
        }
    }
}

impl Agent {
    /// Builds the node's heartbeat at `at_ms` from one consistent view of what
    /// it runs: the live snapshot id and the hash the agent computed over its
    /// bytes (never the hash it was told to expect), the last sync error and
    /// the failed-reload counts. `metrics` are the caller's (cpu, memory, tps,
    /// heap); their `hot_swap_errors` is replaced by the agent's count.
    ///
    /// Invalid metrics (NaN, negative, a percentage over 100) are
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput) and change nothing.
    ///
    /// ```
    /// use fleetgov::{ContentHash, Metrics, ProcessStatus, agent::Agent};
    /// let agent = Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
    /// let m = Metrics { cpu: 20.0, memory: 50.0, tps: 900.0, heap: 40.0, hot_swap_errors: 99 };
    /// let first = agent.heartbeat(1, m, ProcessStatus::Ready)?;
    /// assert_eq!((first.metrics.hot_swap_errors, first.heap_trend, first.applied_snapshot), (0, 0.0, None));
    /// let second = agent.heartbeat(2, Metrics { heap: 55.0, ..m }, ProcessStatus::Ready)?;
    /// assert_eq!(second.heap_trend, 15.0);
    /// # Ok::<(), fleetgov::Error>(())
    /// ```
    pub fn heartbeat(&self, at_ms: u64, metrics: Metrics, status: ProcessStatus) -> Result<OwnedHeartbeat> {
        metrics.validate()?;
        let state = self.published.load_full();
        // Relaxed: the previous heap figure is a standalone number; nothing is
        // published with it.
        let previous = self.last_heap.swap(metrics.heap.to_bits(), Ordering::Relaxed);
        let heap_trend = if previous == NO_HEAP { 0.0 } else { metrics.heap - f32::from_bits(previous) };
        Ok(OwnedHeartbeat {
            at_ms,
            applied_snapshot: state.current.as_ref().map(|c| c.snapshot_id().to_owned()),
            applied_hash: state.current.as_ref().map(|c| c.hash()),
            runtime_version: self.runtime_version,
            status,
            metrics: Metrics { hot_swap_errors: state.hot_swap_errors, ..metrics },
            heap_trend,
            memory_pressure_reloads: state.memory_pressure_reloads,
            sync_error: state.last_error.clone(),
        })
    }
}
