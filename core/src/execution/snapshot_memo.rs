//! The snapshots a batch's records report, remembered for the batch.
//!
//! Every heartbeat that reports an applied revision checks the node's hash
//! against that revision's snapshot. Finding the snapshot is a chain of
//! dependent loads (cluster → revision table → its chunk → the snapshot),
//! each of which a batch's random slot misses evict from the nearest
//! caches, so on the batch path it cost as much as the node's own slot.
//! A batch reports few distinct (cluster, revision) pairs — mostly each
//! cluster's desired revision — so a small direct-mapped table on the
//! applying thread's stack, holding each pair's snapshot and its hash,
//! answers almost every record from the nearest cache.
//!
//! Remembering is always correct: a published revision's snapshot never
//! changes, and a revision not yet published is not remembered.

use crate::authority::snapshot::Snapshot;
use crate::cluster_state::ClusterState;
use crate::hash::ContentHash;

/// Entries of the table: a power of two, a few times the clusters a batch
/// typically spans (56 bytes an entry).
const ENTRIES: usize = 128;

/// A published snapshot and a copy of its hash, which the heartbeat's
/// hash is checked against.
#[derive(Clone, Copy)]
pub(crate) struct Known<'e> {
    pub(crate) snapshot: &'e Snapshot,
    pub(crate) hash: ContentHash,
}

/// Where the ingest path finds a revision's snapshot.
pub(crate) trait Snapshots<'e> {
    /// The snapshot of `revision` of `cluster` (the cluster at `index`), if published.
    fn snapshot(&mut self, cluster: &'e ClusterState, index: u32, revision: u32) -> Option<Known<'e>>;
}

/// No memory: every lookup goes to the cluster (single heartbeats).
pub(crate) struct Direct;

impl<'e> Snapshots<'e> for Direct {
    #[inline]
    fn snapshot(&mut self, cluster: &'e ClusterState, _index: u32, revision: u32) -> Option<Known<'e>> {
        cluster.authority.snapshot(revision).map(|snapshot| Known { snapshot, hash: snapshot.hash })
    }
}

/// The snapshots one applying thread of a batch has found so far: one
/// entry per cluster index (modulo the table's size), holding the last
/// revision looked up in that cluster.
pub(crate) struct SnapshotMemo<'e> {
    entries: [Option<Entry<'e>>; ENTRIES],
}

#[derive(Clone, Copy)]
struct Entry<'e> {
    cluster: u32,
    revision: u32,
    known: Known<'e>,
}

impl Default for SnapshotMemo<'_> {
    fn default() -> Self {
        SnapshotMemo { entries: [None; ENTRIES] }
    }
}

impl<'e> Snapshots<'e> for SnapshotMemo<'e> {
    #[inline]
    fn snapshot(&mut self, cluster: &'e ClusterState, index: u32, revision: u32) -> Option<Known<'e>> {
        if revision == 0 {
            return None;
        }
        let entry = &mut self.entries[index as usize & (ENTRIES - 1)];
        match *entry {
            Some(e) if e.cluster == index && e.revision == revision => Some(e.known),
            _ => {
                let known = Direct.snapshot(cluster, index, revision)?;
                *entry = Some(Entry { cluster: index, revision, known });
                Some(known)
            }
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
        let mut memo = SnapshotMemo::default();
        for round in 0..3 {
            for node in &nodes {
                for revision in 0..5 {
                    let want = node.cluster.authority.snapshot(revision).map(|s| (s.id.clone(), s.hash));
                    let got = memo
                        .snapshot(node.cluster, node.cell.cluster(), revision)
                        .map(|k| (k.snapshot.id.clone(), k.hash));
                    assert_eq!(got, want, "round {round}, node {}, revision {revision}", node.slot);
                }
            }
        }
    }
}
