//! A cluster's figures: the O(1) tally from its counters after the expiry
//! sweep, and the recount from the slots, which answers a time before an
//! expiry already swept and checks the counters in tests and diagnostics.
//! Counters are exact at quiescence, so while no heartbeat is in flight the
//! recount must equal them.

use std::collections::BTreeMap;

use crate::authority::rollout::{BUCKETS, BucketCounts, Rollout};
use crate::cluster_state::ClusterState;
use crate::engine::Engine;
use crate::execution::counters::Counts;
use crate::execution::freshness::{Due, Tally, expiry, is_verified};
use crate::execution::slot::SlotRead;

impl Engine {
    /// Recomputes every cluster's counters from its nodes' slots (O(nodes)) and
    /// returns one line per difference from the kept counters; empty when
    /// they agree. Call it while no heartbeat is in flight. The verified
    /// figures are compared at the engine clock's now.
    ///
    /// ```
    /// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
    /// assert!(e.recount_mismatches().is_empty());
    /// ```
    pub fn recount_mismatches(&self) -> Vec<String> {
        self.recount_mismatches_at(self.clock.now_ms())
    }

    /// [`recount_mismatches`](Self::recount_mismatches) with the verified
    /// figures (verified count, cohesion, status) read at `now_ms` and
    /// compared with the per-node rule at that time.
    ///
    /// ```
    /// let t = 1_700_000_000_000;
    /// let e = fleetgov::demo::engine(t).unwrap();
    /// assert!(e.recount_mismatches_at(t + 2 * 3_600_000).is_empty());
    /// assert!(e.recount_mismatches_at(t).is_empty(), "an earlier time is recounted");
    /// ```
    pub fn recount_mismatches_at(&self, now_ms: u64) -> Vec<String> {
        let mut out = Vec::new();
        for cluster in self.all_clusters() {
            let tally = self.tally(cluster, now_ms);
            let recounted = self.recount_tally(cluster, now_ms);
            if tally != recounted {
                out.push(format!("cluster '{}' at {now_ms}: figures {tally:?} but recount {recounted:?}", cluster.id));
            }
            let kept = cluster.counts();
            let mut histogram = BTreeMap::new();
            let mut fresh = BTreeMap::new();
            let mut errors = BTreeMap::new();
            let mut enrolled = 0;
            for slot in cluster.counters.members() {
                let Some(state) = self.execution.nodes.slot(slot).map(|s| s.read().state) else { continue };
                enrolled += 1;
                *histogram.entry(state.bucket()).or_insert(0u64) += 1;
                if let Some(bucket) = state.fresh_bucket() {
                    *fresh.entry(bucket).or_insert(0u64) += 1;
                }
                if let Some(code) = state.error_code() {
                    *errors.entry(code).or_insert(0u64) += 1;
                }
            }
            let counted = Counts {
                enrolled,
                histogram: histogram.into_iter().collect(),
                fresh: fresh.into_iter().collect(),
                errors: errors.into_iter().collect(),
            };
            if counted != kept {
                out.push(format!("cluster '{}': counters {kept:?} but recount {counted:?}", cluster.id));
            }
            out.extend(self.recount_buckets(cluster));
        }
        out
    }

    /// The differences between a cluster's counters by rollout bucket and
    /// a recount from its slots.
    fn recount_buckets(&self, cluster: &ClusterState) -> Vec<String> {
        let tracked = cluster.counters.buckets.tracked_revisions();
        let (target, previous) = (tracked.first().copied().unwrap_or(0), tracked.get(1).copied().unwrap_or(0));
        let kept = cluster.counters.buckets.counts(previous, target);
        // What the counters keep: fresh on a revision, however old the heartbeat.
        let counted = self.recount_buckets_by(cluster, previous, target, |read, revision| {
            revision != 0 && read.state.fresh_bucket() == Some(revision)
        });
        (0..usize::from(BUCKETS))
            .filter(|&b| kept[b] != counted[b])
            .map(|b| {
                format!("cluster '{}' bucket {b}: counters {:?} but recount {:?}", cluster.id, kept[b], counted[b])
            })
            .collect()
    }
}

impl Engine {
    /// Moves the nodes of `cluster` whose last heartbeat is older than the
    /// window at `now_ms` out of its fresh count (the steady state costs one
    /// comparison), and tells the change feed when any did.
    pub(crate) fn sweep(&self, cluster: &ClusterState, now_ms: u64) {
        if !cluster.counters.expiry.is_due(now_ms) {
            return;
        }
        let expired = cluster.counters.expiry.sweep(now_ms, |slot| {
            let Some(cell) = self.execution.nodes.slot(slot) else { return Due::Drop };
            let guard = cell.lock();
            let state = guard.state();
            let due = expiry(guard.last_heartbeat_ms());
            if !state.is_fresh() {
                Due::Drop
            } else if due > now_ms {
                Due::Later(due)
            } else {
                guard.set_state(state.expired());
                cluster.counters.move_fresh(cell.bucket(), state.fresh_bucket(), None);
                Due::Expired(due)
            }
        });
        if expired > 0 && self.feed.is_listened() {
            self.feed.push(crate::feed::Change::Cluster(cluster.change(cluster.tally())));
        }
    }

    /// The figures of `cluster` at `now_ms`: O(1) in its nodes when `now_ms`
    /// is not before an expiry already swept, an exact recount otherwise.
    pub(crate) fn tally(&self, cluster: &ClusterState, now_ms: u64) -> Tally {
        self.sweep(cluster, now_ms);
        if now_ms >= cluster.counters.expiry.latest_expired() {
            return cluster.tally();
        }
        self.recount_tally(cluster, now_ms)
    }

    /// The counts by rollout bucket of `cluster` at `now_ms`, for a rollout
    /// from `previous` to `target`: its counters when `now_ms` is not
    /// before an expiry already swept (100 counter reads), else a recount
    /// from the slots at `now_ms`, as [`tally`](Self::tally) answers.
    pub(crate) fn bucket_counts(
        &self,
        cluster: &ClusterState,
        previous: u32,
        target: u32,
        now_ms: u64,
    ) -> [BucketCounts; BUCKETS as usize] {
        self.sweep(cluster, now_ms);
        if now_ms >= cluster.counters.expiry.latest_expired() {
            return cluster.counters.buckets.counts(previous, target);
        }
        self.recount_buckets_by(cluster, previous, target, |read, revision| {
            is_verified(read.state, read.last_hb_ms, revision, now_ms)
        })
    }

    /// The counts by rollout bucket of `cluster` recomputed from its slots
    /// (O(nodes)), a node counted on `target` or `previous` when `on(read,
    /// revision)` says so.
    fn recount_buckets_by(
        &self,
        cluster: &ClusterState,
        previous: u32,
        target: u32,
        on: impl Fn(&SlotRead, u32) -> bool,
    ) -> [BucketCounts; BUCKETS as usize] {
        let mut counted = [BucketCounts::default(); BUCKETS as usize];
        for cell in cluster.counters.members().into_iter().filter_map(|slot| self.execution.nodes.slot(slot)) {
            let read = cell.read();
            let c = &mut counted[usize::from(cell.bucket())];
            c.nodes += 1;
            c.failures += u64::from(read.state.is_failing());
            c.on_target += u64::from(on(&read, target));
            c.on_previous += u64::from(on(&read, previous));
        }
        counted
    }

    /// [`tally`](Self::tally) recomputed from the slots (O(nodes)).
    pub(crate) fn recount_tally(&self, cluster: &ClusterState, now_ms: u64) -> Tally {
        let desired = cluster.authority.desired();
        let rollout = cluster.with_active_rollout(Rollout::clone);
        let mut tally =
            Tally { verified: 0, enrolled: 0, errors: 0, rollout: rollout.as_ref().map(|r| r.gate().phase()) };
        cluster.counters.with_members(|members| {
            for cell in members.iter().filter_map(|&slot| self.execution.nodes.slot(slot)) {
                let read = cell.read();
                let desired = rollout.as_ref().map_or(desired, |r| r.desired_for(cell.bucket()));
                tally.enrolled += 1;
                tally.verified += u64::from(is_verified(read.state, read.last_hb_ms, desired, now_ms));
                tally.errors += u64::from(read.state.error_code().is_some());
            }
        });
        tally
    }
}

#[cfg(test)]
mod tests {
    const T: u64 = 1_700_000_000_000;

    #[test]
    fn the_recount_names_a_bucket_whose_counters_drifted() {
        let e = crate::demo::engine(T).unwrap();
        assert!(e.recount_mismatches_at(T).is_empty(), "{:?}", e.recount_mismatches_at(T));
        let cluster = e.cluster_state("eks-prod-us").unwrap();
        let slot = cluster.counters.members()[0];
        let bucket = e.execution.nodes.slot(slot).unwrap().bucket();
        cluster.counters.buckets.move_failing(bucket, true);
        let found = e.recount_mismatches_at(T);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with(&format!("cluster 'eks-prod-us' bucket {bucket}: counters")), "{found:?}");
        cluster.counters.buckets.move_failing(bucket, false);
        assert!(e.recount_mismatches_at(T).is_empty());
    }
}
