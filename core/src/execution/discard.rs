//! Discarding what nodes reported, in this engine only: for an engine that
//! held a set of clusters, lost them to another engine, and takes them back
//! (a scale-out instance regaining a partition). What it held before is
//! stale; it forgets it before it restores the clusters' state afresh
//! ([`Engine::replace_execution`]).

use crate::cluster_state::ClusterState;
use crate::engine::Engine;
use crate::execution::heartbeat::Metrics;
use crate::execution::slot::{NodeState, SlotWrite};

impl Engine {
    /// Forgets what the nodes of `cluster` reported: each stays enrolled,
    /// at the same handle, but shows no heartbeat, no applied snapshot, no
    /// sync error and no rollout failure, as if just enrolled, and every
    /// count of the cluster moves accordingly. Their history (the journal)
    /// is kept: it is what happened. Nothing is audited or announced: no
    /// fact changed, only this engine's knowledge of it, which the caller
    /// restores (a report older than what it knew is then no longer
    /// preferred to the restored one). Returns how many nodes were reset.
    pub(super) fn forget_reports(&self, cluster: &ClusterState) -> u64 {
        let mut reset = 0;
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
        reset
    }
}
