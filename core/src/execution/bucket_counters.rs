//! A cluster's counters by rollout bucket: what a rollout's gates and its
//! verified count read, kept by the same transitions as the cluster's
//! histograms.
//!
//! Every node has a fixed bucket in its cluster, one of
//! [`BUCKETS`](crate::authority::rollout::BUCKETS) (see [`Rank`](crate::authority::rollout::Rank)),
//! and every wave of every rollout is a run of whole buckets. So per bucket
//! the cluster keeps:
//! - its enrolled nodes;
//! - its *failing* nodes: those whose last heartbeat since their wave
//!   started reported a sync error or a hash mismatch (the failing bit of
//!   the node's state word);
//! - for two revisions, its fresh nodes verified on that revision: the
//!   cluster's desired revision, and the one before it when a publish made
//!   it the previous snapshot of a rollout.
//!
//! A publish never counts a node: the new revision's counts start at zero
//! (no node can have been verified on a revision before it is published),
//! and the desired revision's counts, kept since it was published, become
//! the previous snapshot's. Starting a wave moves nothing either: a wave is
//! a set of buckets, and the figures of a set are sums over it, at most
//! [`BUCKETS`](crate::authority::rollout::BUCKETS) counter reads.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::authority::rollout::{BUCKETS, BucketCounts};
use crate::sync::{AtomicU64, Published};

const N: usize = BUCKETS as usize;

/// The fresh nodes verified on `revision`, by bucket.
struct RevisionCounts {
    revision: u32,
    fresh: [AtomicU64; N],
}

impl RevisionCounts {
    fn new(revision: u32) -> Arc<Self> {
        Arc::new(RevisionCounts { revision, fresh: std::array::from_fn(|_| AtomicU64::new(0)) })
    }
}

/// The revisions whose fresh nodes are counted by bucket: at most two.
#[derive(Default)]
struct Tracked(Vec<Arc<RevisionCounts>>);

/// A cluster's counters by rollout bucket.
pub(crate) struct BucketCounters {
    nodes: [AtomicU64; N],
    failing: [AtomicU64; N],
    tracked: Published<Tracked>,
}

// Orderings: as the cluster's other counters (see `counters.rs`), every
// counter here is Relaxed: it publishes no other data, every change is an
// RMW, and a node's changes are serialised by its slot lock. The set of
// tracked revisions is replaced before the revision it adds becomes
// visible (see `track`), so a heartbeat that reports a revision finds its
// counts.

impl BucketCounters {
    pub(crate) fn new() -> Self {
        BucketCounters {
            nodes: std::array::from_fn(|_| AtomicU64::new(0)),
            failing: std::array::from_fn(|_| AtomicU64::new(0)),
            tracked: Published::new(Arc::new(Tracked::default())),
        }
    }

    /// A node of `bucket` joined (`+1`) or left (`-1`) the cluster.
    pub(crate) fn add_node(&self, bucket: u8, joined: bool) {
        Self::step(&self.nodes[usize::from(bucket)], joined);
    }

    /// A node of `bucket` started (`true`) or stopped failing.
    pub(crate) fn move_failing(&self, bucket: u8, failing: bool) {
        Self::step(&self.failing[usize::from(bucket)], failing);
    }

    /// A fresh node of `bucket` moved between fresh revisions (`None`: not fresh).
    pub(crate) fn move_fresh(&self, bucket: u8, from: Option<u32>, to: Option<u32>) {
        self.tracked.read(|tracked| {
            for counts in &tracked.0 {
                if from == Some(counts.revision) {
                    Self::step(&counts.fresh[usize::from(bucket)], false);
                }
                if to == Some(counts.revision) {
                    Self::step(&counts.fresh[usize::from(bucket)], true);
                }
            }
        });
    }

    fn step(counter: &AtomicU64, up: bool) {
        if up {
            counter.fetch_add(1, Ordering::Relaxed);
        } else {
            counter.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Starts counting `revision` (about to be published: no node can be
    /// verified on it yet), keeping the counts of `keep` (the desired
    /// revision until then, counted since its own publish) and dropping any
    /// other. Called under the cluster's publish lock.
    pub(crate) fn track(&self, revision: u32, keep: u32) {
        let old = self.tracked.load_full();
        let kept = old.0.iter().find(|c| c.revision == keep && keep != 0).cloned();
        let tracked = std::iter::once(RevisionCounts::new(revision)).chain(kept).collect();
        self.tracked.store(Arc::new(Tracked(tracked)));
    }

    /// The counts of every bucket, for a rollout from `previous` to `target`.
    pub(crate) fn counts(&self, previous: u32, target: u32) -> [BucketCounts; N] {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        self.tracked.read(|tracked| {
            let fresh = |revision: u32, b: usize| {
                tracked.0.iter().find(|c| c.revision == revision && revision != 0).map_or(0, |c| load(&c.fresh[b]))
            };
            std::array::from_fn(|b| BucketCounts {
                nodes: load(&self.nodes[b]),
                on_target: fresh(target, b),
                on_previous: fresh(previous, b),
                failures: load(&self.failing[b]),
            })
        })
    }

    /// The failing nodes, all buckets together.
    pub(crate) fn failing(&self) -> u64 {
        self.failing.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The revisions counted, for the recount check.
    pub(crate) fn tracked_revisions(&self) -> Vec<u32> {
        self.tracked.read(|tracked| tracked.0.iter().map(|c| c.revision).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_keeps_the_desired_revisions_counts_and_starts_the_new_one_empty() {
        let c = BucketCounters::new();
        c.track(1, 0);
        c.add_node(4, true);
        c.add_node(4, true);
        c.move_fresh(4, None, Some(1));
        c.move_fresh(4, None, Some(0));
        assert_eq!(c.counts(0, 1)[4], BucketCounts { nodes: 2, on_target: 1, on_previous: 0, failures: 0 });
        c.track(2, 1);
        assert_eq!(c.counts(1, 2)[4], BucketCounts { nodes: 2, on_target: 0, on_previous: 1, failures: 0 });
        c.move_fresh(4, Some(1), Some(2));
        c.move_failing(4, true);
        assert_eq!(c.counts(1, 2)[4], BucketCounts { nodes: 2, on_target: 1, on_previous: 0, failures: 1 });
        assert_eq!(c.tracked_revisions(), [2, 1]);
        c.track(3, 7);
        assert_eq!(c.tracked_revisions(), [3], "revision 7 was never counted");
        assert_eq!(c.failing(), 1);
    }
}

/// loom model of a publish racing a heartbeat (see `crate::sync`).
#[cfg(all(test, fleetgov_loom))]
mod loom_model {
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicBool;
    use loom::thread;

    use super::*;

    /// A publish starts counting revision 2 and only then makes it visible;
    /// a heartbeat that sees revision 2 moves its node from 1 to 2. Whatever
    /// the interleaving, the node is counted once, on the revision it
    /// moved to, and the previous revision's counts survive the publish.
    #[test]
    fn a_publish_never_loses_a_heartbeats_move() {
        loom::model(|| {
            let counters = Arc::new(BucketCounters::new());
            counters.track(1, 0);
            counters.add_node(3, true);
            counters.move_fresh(3, None, Some(1));
            let visible = Arc::new(AtomicBool::new(false));
            let publish = {
                let (counters, visible) = (Arc::clone(&counters), Arc::clone(&visible));
                thread::spawn(move || {
                    counters.track(2, 1);
                    visible.store(true, Ordering::Release);
                })
            };
            let moved = visible.load(Ordering::Acquire);
            if moved {
                counters.move_fresh(3, Some(1), Some(2));
            }
            publish.join().unwrap();
            let c = counters.counts(1, 2)[3];
            assert_eq!((c.nodes, c.on_target, c.on_previous), (1, u64::from(moved), u64::from(!moved)));
        });
    }
}
