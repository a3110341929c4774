//! Freshness: a node's report counts — the node is *verified* — only while
//! its last heartbeat is at most [`VERIFIED_WITHIN_MS`] (60 minutes) old,
//! and the clusters' verified counts follow the clock with no heartbeat to
//! move them.
//!
//! Each cluster keeps, beside its histogram of verified revisions, a second
//! histogram of its *fresh* nodes (a bit in the node's state word), so the
//! verified count at any moment is one counter: the fresh nodes of the
//! desired revision. A heartbeat makes its node fresh. A node leaves the
//! fresh histogram when a read of its cluster finds its last heartbeat older
//! than the window; to find such nodes without a scan, every fresh node has
//! exactly one entry in its cluster's expiry queue (a min-heap by time),
//! keyed by a time at or before its real expiry: the expiry of the heartbeat
//! that made it fresh. Steady heartbeats never touch the queue. When an
//! entry falls due, the sweep looks at the node's slot: a node heard from
//! since is queued again at its new expiry (at most once per node per
//! window), any other leaves the fresh count.
//!
//! Reading a cluster at `now` first sweeps the entries due by `now` — one
//! comparison when none is, which is the steady state — then reads three
//! counters, whatever the number of nodes. Reads normally move forward with
//! the clock; a read at a `now` before the latest expiry already swept is
//! answered by an exact recount from the slots (O(nodes)), so every answer
//! equals the per-node rule at its `now`. A heartbeat stamped after a
//! query's `now` counts as age zero (as [`Health::at`](crate::Health::at) does).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;

use crate::cohesion::{ClusterStatus, cohesion, cohesion_bp};
use crate::execution::slot::NodeState;
use crate::execution::transition::in_sync;
use crate::health::DORMANT_AFTER_MS;
use crate::sync::AtomicU64;

/// How old a node's last heartbeat may be for its report to count: 60
/// minutes, both ends included (the node is connected or stale, not dormant).
pub const VERIFIED_WITHIN_MS: u64 = DORMANT_AFTER_MS;

/// Whether a heartbeat at `last_hb_ms` is fresh at `now_ms`.
///
/// ```
/// use fleetgov::freshness::{VERIFIED_WITHIN_MS, is_fresh};
/// assert!(is_fresh(0, VERIFIED_WITHIN_MS));
/// assert!(!is_fresh(0, VERIFIED_WITHIN_MS + 1));
/// assert!(is_fresh(5_000, 0)); // a heartbeat after `now` counts as age zero
/// ```
pub fn is_fresh(last_hb_ms: u64, now_ms: u64) -> bool {
    now_ms.saturating_sub(last_hb_ms) <= VERIFIED_WITHIN_MS
}

/// The first moment a heartbeat at `last_hb_ms` is no longer fresh.
pub(super) fn expiry(last_hb_ms: u64) -> u64 {
    last_hb_ms.saturating_add(VERIFIED_WITHIN_MS + 1)
}

/// Whether a node with state `state` and last heartbeat `last_hb_ms` is
/// verified at `now_ms` against the desired revision `desired`: the per-node
/// rule every count must agree with.
pub(crate) fn is_verified(state: NodeState, last_hb_ms: u64, desired: u32, now_ms: u64) -> bool {
    in_sync(state, desired) && is_fresh(last_hb_ms, now_ms)
}

/// A cluster's figures at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Nodes verified at that moment.
    pub(crate) verified: u64,
    /// Nodes enrolled.
    pub(crate) enrolled: u64,
    /// Nodes whose last heartbeat carries a sync error (whatever its age).
    pub(crate) errors: u64,
    /// The phase of the rollout that decides the verified count, if any.
    pub(crate) rollout: Option<crate::authority::rollout::Phase>,
}

impl Tally {
    pub(crate) fn cohesion(&self) -> u8 {
        cohesion(self.verified, self.enrolled)
    }

    pub(crate) fn cohesion_bp(&self) -> u16 {
        cohesion_bp(self.verified, self.enrolled)
    }

    pub(crate) fn status(&self) -> ClusterStatus {
        match self.rollout {
            Some(phase) => ClusterStatus::during_rollout(phase, self.verified, self.enrolled, self.errors),
            None => ClusterStatus::of(self.verified, self.enrolled, self.errors),
        }
    }
}

/// What the sweep found at a due entry's node.
pub(crate) enum Due {
    /// The node left the fresh count; its report stopped counting at this time.
    Expired(u64),
    /// Heard from since: look again at this time.
    Later(u64),
    /// Not fresh (or gone): the entry is dropped.
    Drop,
}

/// The fresh nodes of one cluster, by the time they may stop counting.
pub(crate) struct ExpiryQueue {
    heap: Mutex<BinaryHeap<Reverse<(u64, u32)>>>,
    /// The earliest entry's time (`u64::MAX`: none).
    next_due: AtomicU64,
    /// The latest expiry swept so far (0: none).
    latest_expired: AtomicU64,
}

// Orderings: both words are hints read outside the heap lock and written
// under it. Relaxed suffices: a reader that sees an old `next_due` sweeps
// late or takes the lock for nothing, and counts are exact at quiescence.

impl ExpiryQueue {
    pub(crate) fn new() -> Self {
        ExpiryQueue {
            heap: Mutex::new(BinaryHeap::new()),
            next_due: AtomicU64::new(u64::MAX),
            latest_expired: AtomicU64::new(0),
        }
    }

    /// Queues the node in `slot`, made fresh by a heartbeat at `at_ms`.
    pub(crate) fn schedule(&self, slot: u32, at_ms: u64) {
        let due = expiry(at_ms);
        let mut heap = self.heap.lock();
        heap.push(Reverse((due, slot)));
        // Relaxed: see above; written under the heap lock.
        self.next_due.fetch_min(due, Ordering::Relaxed);
    }

    /// Whether an entry may be due at `now_ms`.
    #[inline]
    pub(crate) fn is_due(&self, now_ms: u64) -> bool {
        // Relaxed: see above.
        now_ms >= self.next_due.load(Ordering::Relaxed)
    }

    /// The latest expiry swept so far: reads at an earlier `now` recount.
    #[inline]
    pub(crate) fn latest_expired(&self) -> u64 {
        // Relaxed: see above.
        self.latest_expired.load(Ordering::Relaxed)
    }

    /// Takes every entry due by `now_ms` and asks `check` about its node.
    /// Returns how many nodes left the fresh count.
    pub(crate) fn sweep(&self, now_ms: u64, mut check: impl FnMut(u32) -> Due) -> u64 {
        let mut heap = self.heap.lock();
        let mut expired = 0;
        while let Some(&Reverse((due, slot))) = heap.peek() {
            if due > now_ms {
                break;
            }
            heap.pop();
            match check(slot) {
                Due::Expired(at) => {
                    expired += 1;
                    // Relaxed: see above.
                    self.latest_expired.fetch_max(at, Ordering::Relaxed);
                }
                Due::Later(at) => heap.push(Reverse((at, slot))),
                Due::Drop => {}
            }
        }
        let next = heap.peek().map_or(u64::MAX, |&Reverse((due, _))| due);
        // Relaxed: see above.
        self.next_due.store(next, Ordering::Relaxed);
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_includes_exactly_sixty_minutes() {
        assert!(is_fresh(1_000, 1_000 + VERIFIED_WITHIN_MS));
        assert!(!is_fresh(1_000, 1_001 + VERIFIED_WITHIN_MS));
        assert_eq!(expiry(1_000), 1_001 + VERIFIED_WITHIN_MS);
        assert_eq!(expiry(u64::MAX), u64::MAX);
    }

    #[test]
    fn the_sweep_takes_due_entries_in_time_order_and_requeues_the_living() {
        let q = ExpiryQueue::new();
        assert!(!q.is_due(u64::MAX - 1));
        q.schedule(1, 5_000);
        q.schedule(2, 1_000);
        q.schedule(3, 9_000);
        assert!(!q.is_due(expiry(1_000) - 1) && q.is_due(expiry(1_000)));
        let mut seen = Vec::new();
        let expired = q.sweep(expiry(5_000), |slot| {
            seen.push(slot);
            if slot == 2 { Due::Expired(expiry(1_000)) } else { Due::Later(expiry(20_000)) }
        });
        assert_eq!((expired, seen), (1, vec![2, 1]));
        assert_eq!(q.latest_expired(), expiry(1_000));
        assert!(!q.is_due(expiry(9_000) - 1) && q.is_due(expiry(9_000)));
        assert_eq!(q.sweep(u64::MAX - 1, |_| Due::Drop), 0);
        assert!(!q.is_due(u64::MAX - 1), "dropped entries are gone");
    }
}
