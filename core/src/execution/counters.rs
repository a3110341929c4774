//! A cluster's execution counters, kept incrementally by heartbeats.
//!
//! Counters change only on transitions and are exact at quiescence:
//! `histogram[r]` counts enrolled nodes whose verified applied revision is
//! `r` (bucket 0: nothing verified yet), and `fresh[r]` those of them whose
//! last heartbeat is within the freshness window (see [`crate::execution::freshness`]),
//! so the verified count is simply `fresh[desired]` and publishing a new
//! snapshot is O(1).

use std::sync::atomic::Ordering;

use parking_lot::RwLock;

use crate::authority::cluster::REVISION_BASE_BITS;
use crate::chunked::Chunked;
use crate::execution::bucket_counters::BucketCounters;
use crate::execution::freshness::{ExpiryQueue, Tally};
use crate::execution::slot::NodeState;
use crate::execution::sync_error::SyncErrorCode;
use crate::sync::{AtomicU32, AtomicU64};

const CODES: usize = SyncErrorCode::ALL.len();

/// Counts (for views and the recount check).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) enrolled: u64,
    /// Non-zero buckets, by revision (0 first).
    pub(crate) histogram: Vec<(u32, u64)>,
    /// Non-zero fresh buckets, by revision (0 first).
    pub(crate) fresh: Vec<(u32, u64)>,
    /// Non-zero error counts, by code.
    pub(crate) errors: Vec<(SyncErrorCode, u64)>,
}

/// What a cluster's nodes run, counted.
pub(crate) struct ClusterCounters {
    enrolled: AtomicU64,
    histogram: Chunked<AtomicU64>,
    /// The fresh nodes of each histogram bucket.
    fresh: Chunked<AtomicU64>,
    /// The fresh nodes, by the time they may stop counting.
    pub(crate) expiry: ExpiryQueue,
    errors: [AtomicU64; CODES],
    /// An example node per code: slot + 1 (0: none).
    error_examples: [AtomicU32; CODES],
    /// Slots of the cluster's nodes, in enrolment order.
    members: RwLock<Vec<u32>>,
    /// The same nodes by rollout bucket.
    pub(crate) buckets: BucketCounters,
}

// Orderings. Every counter uses Relaxed: they publish no other data, every
// change is an RMW (so the modification order makes them exact at
// quiescence), and every node's changes are serialised by its slot lock.

impl ClusterCounters {
    pub(crate) fn new() -> Self {
        let histogram = Chunked::doubling(REVISION_BASE_BITS);
        histogram.get_or_alloc(0);
        let fresh = Chunked::doubling(REVISION_BASE_BITS);
        fresh.get_or_alloc(0);
        ClusterCounters {
            enrolled: AtomicU64::new(0),
            histogram,
            fresh,
            expiry: ExpiryQueue::new(),
            errors: Default::default(),
            error_examples: Default::default(),
            members: RwLock::new(Vec::new()),
            buckets: BucketCounters::new(),
        }
    }

    /// Makes room for `revision`'s buckets (before it becomes visible);
    /// `false` when the tables are full.
    pub(crate) fn reserve(&self, revision: u32) -> bool {
        self.histogram.get_or_alloc(revision as usize).is_some() && self.fresh.get_or_alloc(revision as usize).is_some()
    }

    /// Adds a freshly enrolled node (in histogram bucket 0) of rollout
    /// bucket `rank_bucket` to the counters.
    pub(crate) fn add_member(&self, slot: u32, rank_bucket: u8) {
        self.members.write().push(slot);
        self.enrolled.fetch_add(1, Ordering::Relaxed);
        self.bucket(0).fetch_add(1, Ordering::Relaxed);
        self.buckets.add_node(rank_bucket, true);
    }
    /// Takes a removed node out of the counters and the members, as its
    /// last state `state` counted it (under its slot lock, so no heartbeat
    /// moves it meanwhile); an example of an error code that named it is forgotten.
    pub(crate) fn remove_member(&self, slot: u32, rank_bucket: u8, state: NodeState) {
        self.members.write().retain(|&s| s != slot);
        self.enrolled.fetch_sub(1, Ordering::Relaxed);
        self.bucket(state.bucket()).fetch_sub(1, Ordering::Relaxed);
        self.move_fresh(rank_bucket, state.fresh_bucket(), None);
        self.buckets.add_node(rank_bucket, false);
        if state.is_failing() {
            self.buckets.move_failing(rank_bucket, false);
        }
        self.move_error(slot, state.error_code(), None);
        for example in &self.error_examples {
            // Relaxed: as every counter here; a racing new example wins.
            let _ = example.compare_exchange(slot + 1, 0, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
    fn bucket(&self, revision: u32) -> &AtomicU64 {
        Self::cell(&self.histogram, revision)
    }
    fn cell(counters: &Chunked<AtomicU64>, revision: u32) -> &AtomicU64 {
        // Invariant: bucket 0 is allocated in `new`, and a publish reserves
        // a revision's buckets before the revision becomes visible, so no
        // node can be counted under a bucket that does not exist.
        counters.get(revision as usize).expect("histogram bucket allocated before use")
    }
    /// Moves a node from one histogram bucket to another.
    #[inline]
    pub(crate) fn move_bucket(&self, from: u32, to: u32) {
        self.bucket(from).fetch_sub(1, Ordering::Relaxed);
        self.bucket(to).fetch_add(1, Ordering::Relaxed);
    }
    /// Moves a node of rollout bucket `rank_bucket` between fresh
    /// histogram buckets (`None`: not fresh).
    #[inline]
    pub(crate) fn move_fresh(&self, rank_bucket: u8, from: Option<u32>, to: Option<u32>) {
        if let Some(from) = from {
            Self::cell(&self.fresh, from).fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(to) = to {
            Self::cell(&self.fresh, to).fetch_add(1, Ordering::Relaxed);
        }
        self.buckets.move_fresh(rank_bucket, from, to);
    }
    /// Moves a node from one error code to another and remembers it as an example.
    pub(crate) fn move_error(&self, slot: u32, from: Option<SyncErrorCode>, to: Option<SyncErrorCode>) {
        if let Some(c) = from {
            self.errors[c.index()].fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(c) = to {
            self.errors[c.index()].fetch_add(1, Ordering::Relaxed);
            self.error_examples[c.index()].store(slot + 1, Ordering::Relaxed);
        }
    }
    /// The kept figures: the fresh nodes of revision `desired`, the
    /// enrolled nodes and the nodes reporting an error (a few counter reads;
    /// exact at the latest sweep, see [`crate::execution::freshness`]).
    #[inline]
    pub(crate) fn tally(&self, desired: u32) -> Tally {
        let enrolled = self.enrolled.load(Ordering::Relaxed);
        let verified = if desired == 0 { 0 } else { Self::cell(&self.fresh, desired).load(Ordering::Relaxed) };
        let errors = self.errors.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        Tally { verified: verified.min(enrolled), enrolled, errors, rollout: None }
    }
    /// Every counter, as kept, for revisions up to `latest`.
    pub(crate) fn counts(&self, latest: u32) -> Counts {
        let buckets = |counters: &Chunked<AtomicU64>| {
            (0..=latest)
                .filter_map(|r| counters.get(r as usize).map(|c| (r, c.load(Ordering::Relaxed))))
                .filter(|&(_, n)| n != 0)
                .collect()
        };
        let errors = SyncErrorCode::ALL
            .into_iter()
            .map(|c| (c, self.errors[c.index()].load(Ordering::Relaxed)))
            .filter(|&(_, n)| n != 0)
            .collect();
        Counts {
            enrolled: self.enrolled.load(Ordering::Relaxed),
            histogram: buckets(&self.histogram),
            fresh: buckets(&self.fresh),
            errors,
        }
    }
    /// The example node (slot) for `code`, if any.
    pub(crate) fn error_example(&self, code: SyncErrorCode) -> Option<u32> {
        self.error_examples[code.index()].load(Ordering::Relaxed).checked_sub(1)
    }
    /// A copy of the member slots (enrolment order).
    pub(crate) fn members(&self) -> Vec<u32> {
        self.members.read().clone()
    }
    /// Runs `f` over the member slots without copying them.
    pub(crate) fn with_members<R>(&self, f: impl FnOnce(&[u32]) -> R) -> R {
        f(&self.members.read())
    }
}

/// loom model of the counter moves (see `crate::sync`).
#[cfg(all(test, fleetgov_loom))]
mod loom_model {
    use loom::sync::Arc;
    use loom::thread;

    use super::*;

    /// Two nodes of one cluster verify revision 1 at once while a reader
    /// reads the counts: the reader never sees more in sync than enrolled,
    /// and the counts are exact once both are done.
    #[test]
    fn two_transitions_of_one_cluster_leave_exact_counts() {
        loom::model(|| {
            let counters = Arc::new(ClusterCounters::new());
            assert!(counters.reserve(1));
            counters.add_member(0, 0);
            counters.add_member(1, 0);
            counters.move_fresh(0, None, Some(0));
            counters.move_fresh(0, None, Some(0));
            let verify = |counters: Arc<ClusterCounters>, slot: u32| {
                thread::spawn(move || {
                    counters.move_bucket(0, 1);
                    counters.move_fresh(0, Some(0), Some(1));
                    counters.move_error(slot, Some(SyncErrorCode::ReloadFailure), None);
                })
            };
            // Both nodes start with an error, counted as a transition would.
            counters.move_error(0, None, Some(SyncErrorCode::ReloadFailure));
            counters.move_error(1, None, Some(SyncErrorCode::ReloadFailure));
            let (a, b) = (verify(Arc::clone(&counters), 0), verify(Arc::clone(&counters), 1));
            let tally = counters.tally(1);
            assert!(tally.verified <= tally.enrolled && tally.enrolled == 2);
            a.join().unwrap();
            b.join().unwrap();
            let counts = counters.counts(1);
            assert_eq!(
                (counts.enrolled, counts.histogram, counts.fresh, counts.errors),
                (2, vec![(1, 2)], vec![(1, 2)], vec![])
            );
        });
    }
}
