//! Discarding what nodes reported, in this engine only: for an engine that
//! held a set of clusters, lost them to another engine, and takes them back
//! (a scale-out instance regaining a partition). What it held before is
//! stale; it forgets it, then restores the clusters' state afresh
//! ([`Engine::import_execution`]).

use crate::engine::Engine;
use crate::error::Result;
use crate::execution::heartbeat::Metrics;
use crate::execution::slot::{NodeState, SlotWrite};

impl Engine {
    /// Forgets what the nodes of `clusters` reported: each stays enrolled,
    /// at the same handle, but shows no heartbeat, no applied snapshot, no
    /// sync error and no rollout failure, as if just enrolled, and every
    /// count of its cluster moves accordingly. Their history (the journal)
    /// is kept: it is what happened. Nothing is audited: no fact changed,
    /// only this engine's knowledge of it, which an
    /// [`import_execution`](Self::import_execution) of the clusters' current
    /// state then restores (a report older than what it knew is no longer
    /// preferred to the imported one). Returns how many nodes were reset.
    /// Unknown clusters are [`NotFound`](crate::ErrorKind::NotFound) and
    /// nothing changes.
    ///
    /// ```
    /// let t = 1_700_000_000_000;
    /// let e = fleetgov::demo::engine(t).unwrap();
    /// let total = e.cluster("eks-prod-us", t).unwrap().total;
    /// assert_eq!(e.discard_execution(&["eks-prod-us"]).unwrap(), total);
    /// let c = e.cluster("eks-prod-us", t).unwrap();
    /// assert_eq!((c.total, c.in_sync), (total, 0), "enrolled still, nothing known");
    /// assert!(e.recount_mismatches().is_empty());
    /// assert!(e.discard_execution(&["nowhere"]).is_err());
    /// ```
    pub fn discard_execution(&self, clusters: &[&str]) -> Result<u64> {
        let states = clusters.iter().map(|c| self.cluster_state(c)).collect::<Result<Vec<_>>>()?;
        let mut reset = 0;
        for cluster in states {
            // A copy of the members: a removal locks its slot, then the members.
            for slot in cluster.counters.members() {
                let Some(cell) = self.execution.nodes.slot(slot) else { continue };
                let guard = cell.lock();
                let old = guard.state();
                if !old.is_enrolled() {
                    continue;
                }
                let new = NodeState::enrolled(old.epoch()).with_force_pending(old.force_pending());
                let quiet = Metrics::default();
                guard.write(&SlotWrite { at_ms: 0, metrics: &quiet, version: 0, error_fp: 0, odd_hash: 0 });
                guard.set_state(new);
                let bucket = cell.bucket();
                cluster.counters.move_bucket(old.bucket(), new.bucket());
                cluster.counters.move_fresh(bucket, old.fresh_bucket(), None);
                cluster.counters.move_error(slot, old.error_code(), None);
                if old.is_failing() {
                    cluster.counters.buckets.move_failing(bucket, false);
                }
                drop(guard);
                self.execution.sync_errors.forget(slot);
                reset += 1;
            }
            self.announce_cluster(cluster);
        }
        Ok(reset)
    }
}
