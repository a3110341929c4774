//! The recount: every counter recomputed from the slots, for tests and
//! diagnostics. Counters are exact at quiescence, so while no heartbeat is
//! in flight the recount must equal them.

use std::collections::BTreeMap;

use crate::engine::Engine;
use crate::execution::counters::Counts;

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
        }
        out
    }
}
