//! The snapshot hashes a batch's records report, remembered from batch to
//! batch.
//!
//! Every heartbeat that reports an applied revision checks the node's hash
//! against that revision's snapshot. Finding the snapshot is a chain of
//! dependent loads (cluster → revision table → its chunk → the snapshot),
//! each of which a batch's random slot misses evict from the nearest
//! caches, so on the batch path it cost as much as the node's own slot.
//! A batch reports few distinct (cluster, revision) pairs — mostly each
//! cluster's desired revision — so a small direct-mapped table, holding
//! each pair's hash, answers almost every record from the nearest cache.
//! The engine keeps a few such tables in a [`MemoPool`] and lends one to
//! each applying thread of a batch, so a batch of a thousand records over a
//! hundred clusters does not start from nothing (a fresh table per batch
//! missed on one record in ten).
//!
//! Remembering is always correct: a published revision's hash never
//! changes (revisions are written once), a revision not yet published is
//! not remembered, and a table never leaves its engine.

use crate::execution::ingest::{Direct, NodeRef, Snapshots};
use crate::hash::ContentHash;

/// Entries of the table: a power of two, a few times the (cluster,
/// revision) pairs a batch typically reports (40 bytes an entry; only the
/// entries in use are ever in cache).
const ENTRIES_BITS: u32 = 9;
const ENTRIES: usize = 1 << ENTRIES_BITS;

/// Tables a pool keeps for reuse: more than the threads that apply at once.
const POOLED: usize = 64;

/// The hashes one applying thread has found so far, direct-mapped by
/// (cluster index, revision): a cluster's desired and previous revisions,
/// both reported during a rollout or a transition, have entries of their
/// own. Valid for one engine only (see [`MemoPool`]).
pub(crate) struct SnapshotMemo {
    entries: [Entry; ENTRIES],
}

/// One remembered lookup; `key` packs the cluster index (high half) and
/// the revision (low half). An empty entry's key has revision 0, which is
/// never looked up (no snapshot is revision 0), so it never matches.
#[derive(Clone, Copy)]
struct Entry {
    key: u64,
    hash: ContentHash,
}

impl Default for SnapshotMemo {
    fn default() -> Self {
        SnapshotMemo { entries: [Entry { key: 0, hash: ContentHash([0; 32]) }; ENTRIES] }
    }
}

impl Snapshots for SnapshotMemo {
    #[inline]
    fn hash(&mut self, node: &NodeRef<'_>, revision: u32) -> Option<ContentHash> {
        if revision == 0 {
            return None;
        }
        let index = node.cell.cluster();
        let key = u64::from(index) << 32 | u64::from(revision);
        // Fibonacci hashing: the key's bits mixed into the top bits.
        let at = key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (u64::BITS - ENTRIES_BITS);
        let entry = &mut self.entries[at as usize];
        if entry.key == key {
            return Some(entry.hash);
        }
        // Not remembered while unpublished: a later publish may fill it.
        let hash = Direct.hash(node, revision)?;
        *entry = Entry { key, hash };
        Some(hash)
    }
}

/// One engine's memos, lent to the threads that apply its batches and
/// given back after: what a batch learned serves the next. A memo holds
/// hashes of this engine's clusters by index, so it never leaves the
/// engine that filled it.
#[derive(Default)]
pub(crate) struct MemoPool {
    idle: parking_lot::Mutex<Vec<Box<SnapshotMemo>>>,
}

impl MemoPool {
    /// A memo to apply with: one given back earlier, or a new, empty one.
    pub(crate) fn take(&self) -> Box<SnapshotMemo> {
        self.idle.lock().pop().unwrap_or_default()
    }

    /// Gives `memo` back for a later batch (dropped if enough are idle).
    pub(crate) fn give(&self, memo: Box<SnapshotMemo>) {
        let mut idle = self.idle.lock();
        if idle.len() < POOLED {
            idle.push(memo);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memo_answers_what_the_cluster_answers() {
        let e = crate::demo::engine(1_700_000_000_000).unwrap();
        let ids = ["gw-prod-us-1", "gw-stage-eu-1", "gw-prod-us-2", "gw-dev-west-1"];
        let nodes: Vec<_> = ids.iter().map(|id| e.resolve(e.node_handle(id).unwrap()).unwrap()).collect();
        let pool = MemoPool::default();
        for round in 0..3 {
            // The same memo serves every round, as the pool lends it to batch after batch.
            let mut memo = pool.take();
            for node in &nodes {
                for revision in 0..5 {
                    let want = node.cluster.authority.snapshot(revision).map(|s| s.hash);
                    assert_eq!(
                        memo.hash(node, revision),
                        want,
                        "round {round}, node {}, revision {revision}",
                        node.slot
                    );
                }
            }
            pool.give(memo);
        }
    }

    #[test]
    fn a_revision_published_after_a_miss_is_found() {
        let e = crate::demo::engine(1_700_000_000_000).unwrap();
        let node = e.resolve(e.node_handle("gw-prod-us-1").unwrap()).unwrap();
        let next = node.cluster.authority.desired() + 1;
        let mut memo = SnapshotMemo::default();
        assert_eq!(memo.hash(&node, next), None, "not published yet");
        let s = e.publish("eks-prod-us", b"max_connections: 7\n", "ops", 1_700_000_000_000).unwrap();
        assert_eq!(s.revision, next);
        assert_eq!(memo.hash(&node, next), Some(s.hash), "a miss is not remembered");
    }

    #[test]
    fn a_pool_lends_back_what_it_was_given_and_keeps_a_bounded_number() {
        let pool = MemoPool::default();
        let memos: Vec<_> = (0..POOLED + 3).map(|_| pool.take()).collect();
        memos.into_iter().for_each(|m| pool.give(m));
        assert_eq!(pool.idle.lock().len(), POOLED, "the extra memos are dropped");
        let lent = pool.take();
        assert_eq!(pool.idle.lock().len(), POOLED - 1, "an idle memo is lent, not a new one");
        pool.give(lent);
    }
}
