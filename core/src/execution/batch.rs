//! Batch ingest of binary heartbeat records.
//!
//! The guarantee (a malformed record rejects the whole batch, naming its
//! index; a well-formed batch gets one outcome per record) and both record
//! layouts are in [`crate::execution::heartbeat_record`].
//!
//! Large batches are applied in windows of consecutive records, one window
//! after the other, and each window is split across the rayon thread pool
//! **by node**, not by position: every record of one node lands in the same
//! part, and each part is applied in batch order, so a batch that reports a
//! node several times is applied exactly as if record by record, whatever
//! the parallelism. Each record touches only its node's slot (and shared
//! counters on transitions), so the parts need no coordination.
//!
//! What keeps the split cheap: a window's records stay in cache between the
//! pass that splits them and the one that applies them; a part walks a
//! compact list of (handle, index) entries, so it prefetches slots and
//! records ahead without waiting for the records; its outcomes are written
//! next to each other and copied to their places after the window, so two
//! threads never write one cache line. Nothing is allocated per record (one
//! entry list and one outcome stage per large batch, reused by its windows).

use rayon::prelude::*;

use crate::cluster_state::ClusterState;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::execution::heartbeat_record::{HeartbeatRecord, Outcome, OutcomeRecord, RECORD_SIZE};
use crate::execution::ingest::Snapshots;
use crate::execution::snapshot_memo::{MemoPool, SnapshotMemo};
use crate::execution::{Observation, Refusal};

/// Records per parallel task: below this a batch is applied on the calling thread.
pub(super) const PARALLEL_CHUNK: usize = 4096;
/// Records per window of a large batch: the windows are applied one after
/// the other, each split by node over the thread pool. A window's records
/// stay in cache between the pass that splits them and the one that
/// applies them.
const WINDOW: usize = 16_384;
/// How many records ahead a batch prefetches its slots: enough to keep
/// several cache misses in flight.
pub(super) const PREFETCH_DISTANCE: usize = 32;
/// How many records ahead a part of a large batch prefetches the records
/// themselves (scattered over the batch): after their slots, as a record is
/// read only when it is applied.
pub(super) const RECORD_PREFETCH_DISTANCE: usize = 16;

/// Counts of a batch's outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchSummary {
    /// Records accepted (with or without a directive).
    pub accepted: u64,
    /// Accepted records answered with a directive.
    pub directives: u64,
    /// Records refused by a state rule (stale, future, unknown node, wrong cluster).
    pub refused: u64,
}

impl BatchSummary {
    pub(super) fn count(&mut self, (outcome, directive): (Outcome, bool)) {
        self.accepted += u64::from(matches!(outcome, Outcome::Accepted | Outcome::Reconcile | Outcome::ForceSync));
        self.directives += u64::from(directive);
        self.refused += u64::from(matches!(
            outcome,
            Outcome::Stale | Outcome::Future | Outcome::UnknownNode | Outcome::WrongCluster
        ));
    }

    pub(super) fn merge(self, o: BatchSummary) -> BatchSummary {
        BatchSummary {
            accepted: self.accepted + o.accepted,
            directives: self.directives + o.directives,
            refused: self.refused + o.refused,
        }
    }
}

/// What applying one record gave: its outcome and directive, if any.
pub(super) type Applied = (Outcome, Option<(u32, crate::ContentHash)>);

impl OutcomeRecord {
    /// Writes `applied` here; returns what a summary counts.
    pub(super) fn apply(&mut self, (outcome, directive): Applied) -> (Outcome, bool) {
        self.set(outcome, directive);
        (outcome, directive.is_some())
    }
}

/// The clusters an applying thread's records name, by cluster index, each
/// found in the catalog once: the catalog's lookup is a chain of loads (its
/// directory, a chunk, the cell's initialisation word) that a batch's slot
/// misses keep evicting.
struct Clusters<'e> {
    entries: [Option<(u32, &'e ClusterState)>; CLUSTERS],
}

/// Entries of [`Clusters`]: a power of two, more than most batches span.
const CLUSTERS: usize = 128;

impl Default for Clusters<'_> {
    fn default() -> Self {
        Clusters { entries: [None; CLUSTERS] }
    }
}

impl<'e> Clusters<'e> {
    /// The cluster at `index` of `engine`.
    #[inline]
    fn get(&mut self, engine: &'e Engine, index: u32) -> &'e ClusterState {
        let entry = &mut self.entries[index as usize & (CLUSTERS - 1)];
        match *entry {
            Some((at, cluster)) if at == index => cluster,
            _ => {
                let cluster = engine.cluster_at(index);
                *entry = Some((index, cluster));
                cluster
            }
        }
    }
}

/// A record's place in its batch and its node's handle: a part of a large
/// batch walks these, so it can prefetch a node's slot without first
/// reading (and waiting for) the record, which is far away in the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    handle: crate::NodeHandle,
    index: u32,
}

/// The buffers a large batch is split with, allocated once per batch and
/// reused by each of its windows.
struct Split {
    /// The window's records grouped by part (see [`by_node`]).
    entries: Vec<Entry>,
    /// Part `p` is `entries[bounds[p]..bounds[p + 1]]`.
    bounds: Vec<usize>,
    /// Outcome `k` of the window's split: the outcome of `entries[k]`.
    staged: Vec<OutcomeRecord>,
    /// Part `p`'s snapshot hashes, lent by the engine's pool for the
    /// batch (see [`crate::execution::snapshot_memo`]).
    memos: Vec<Box<SnapshotMemo>>,
}

impl Split {
    fn new(window: usize, parts: usize, pool: &MemoPool) -> Self {
        Split {
            entries: Vec::with_capacity(window),
            bounds: vec![0; parts + 1],
            staged: vec![OutcomeRecord::default(); window],
            memos: (0..parts).map(|_| pool.take()).collect(),
        }
    }

    /// Gives the memos back to `pool`.
    fn finish(self, pool: &MemoPool) {
        self.memos.into_iter().for_each(|memo| pool.give(memo));
    }
}

/// Fills `entries` with `records` in `bounds.len() - 1` (a power of two)
/// groups by node (slot), each in batch order, in one array: part `p` is
/// `entries[bounds[p]..bounds[p + 1]]`. A stable counting sort: one pass to
/// count, one to place.
fn by_node(records: &[HeartbeatRecord], entries: &mut Vec<Entry>, bounds: &mut [usize]) {
    let parts = bounds.len() - 1;
    debug_assert!(parts.is_power_of_two(), "{parts} parts");
    // The slot's low bits: a mask, where a remainder would divide twice per record.
    let part = |h: crate::NodeHandle| h.slot() as usize & (parts - 1);
    bounds.fill(0);
    records.iter().for_each(|r| bounds[part(r.handle()) + 1] += 1);
    for p in 0..parts {
        bounds[p + 1] += bounds[p];
    }
    let mut next = bounds[..parts].to_vec();
    // Every entry is overwritten below: the counts place each record once.
    entries.clear();
    entries.resize(records.len(), Entry { handle: crate::NodeHandle::from_raw(0), index: 0 });
    for (i, r) in records.iter().enumerate() {
        let handle = r.handle();
        let at = &mut next[part(handle)];
        // Indices fit: a batch is bounded by its byte length, far below 2^32 records.
        entries[*at] = Entry { handle, index: i as u32 };
        *at += 1;
    }
}

/// Hints the cache to fetch every line of `record` (128 bytes, at any alignment).
pub(super) fn prefetch_record(record: &HeartbeatRecord) {
    let bytes = zerocopy::IntoBytes::as_bytes(record);
    for at in [0, 64, RECORD_SIZE - 1] {
        crate::prefetch::prefetch(&bytes[at]);
    }
}

impl Engine {
    /// Applies a batch of binary heartbeat records (see [`crate::execution::heartbeat_record`])
    /// and writes one 40-byte outcome per record into `outcomes`.
    ///
    /// ```
    /// use fleetgov::record::{HeartbeatRecord, OutcomeRecord, Outcome, OUTCOME_SIZE};
    /// use fleetgov::*;
    /// let e = demo::engine(1_700_000_000_000).unwrap();
    /// let gw = e.node_handle("gw-prod-us-1").unwrap();
    /// let s = e.desired("eks-prod-us").unwrap().unwrap();
    /// let r = HeartbeatRecord::new(gw, 1_700_000_000_000, "3.6.1".parse().unwrap(), ProcessStatus::Ready, Metrics::default())
    ///     .with_applied(s.revision, s.hash);
    /// let mut out = vec![0u8; OUTCOME_SIZE];
    /// let summary = e.ingest_batch(zerocopy::IntoBytes::as_bytes(&r), &mut out).unwrap();
    /// assert_eq!(summary.accepted, 1);
    /// assert_eq!(OutcomeRecord::from_bytes_mut(&mut out).unwrap()[0].outcome(), Some(Outcome::Accepted));
    /// ```
    pub fn ingest_batch(&self, records: &[u8], outcomes: &mut [u8]) -> Result<BatchSummary> {
        let records = HeartbeatRecord::view_all(records)?;
        let outcomes = OutcomeRecord::from_bytes_mut(outcomes)?;
        self.ingest_records(records, outcomes)
    }

    /// [`ingest_batch`](Self::ingest_batch) bound to `cluster`, for a
    /// transport whose senders are confined to one cluster (a NATS subject):
    /// a record whose node is enrolled in another cluster is refused as
    /// [`Outcome::WrongCluster`] and never applied. An unknown `cluster` is
    /// `NotFound` and nothing is applied.
    ///
    /// ```
    /// use fleetgov::record::{HeartbeatRecord, OutcomeRecord, Outcome, OUTCOME_SIZE};
    /// use fleetgov::*;
    /// let e = demo::engine(1_700_000_000_000).unwrap();
    /// let gw = e.node_handle("gw-prod-us-1").unwrap(); // of eks-prod-us
    /// let r = HeartbeatRecord::new(gw, 1_700_000_000_000, "3.6.1".parse().unwrap(), ProcessStatus::Ready, Metrics::default());
    /// let mut out = vec![0u8; OUTCOME_SIZE];
    /// let summary = e.ingest_cluster_batch("azure-dev-west", zerocopy::IntoBytes::as_bytes(&r), &mut out).unwrap();
    /// assert_eq!((summary.accepted, summary.refused), (0, 1));
    /// assert_eq!(OutcomeRecord::from_bytes_mut(&mut out).unwrap()[0].outcome(), Some(Outcome::WrongCluster));
    /// ```
    pub fn ingest_cluster_batch(&self, cluster: &str, records: &[u8], outcomes: &mut [u8]) -> Result<BatchSummary> {
        let cluster = self.cluster_index(cluster)?;
        let records = HeartbeatRecord::view_all(records)?;
        let outcomes = OutcomeRecord::from_bytes_mut(outcomes)?;
        self.ingest_bound(records, outcomes, Some(cluster))
    }

    /// [`ingest_batch`](Self::ingest_batch) over records already in memory.
    /// The records are validated first; a malformed one fails the whole call.
    pub fn ingest_records(&self, records: &[HeartbeatRecord], outcomes: &mut [OutcomeRecord]) -> Result<BatchSummary> {
        self.ingest_bound(records, outcomes, None)
    }

    /// Ingests `records`, refusing those of nodes outside the cluster of index `bound`, if given.
    fn ingest_bound(
        &self,
        records: &[HeartbeatRecord],
        outcomes: &mut [OutcomeRecord],
        bound: Option<u32>,
    ) -> Result<BatchSummary> {
        if outcomes.len() < records.len() {
            return Err(Error::invalid(format!(
                "outcome buffer holds {} records, the batch has {}",
                outcomes.len(),
                records.len()
            )));
        }
        // A power of two: a record's part is its slot's low bits.
        let parts = (rayon::current_num_threads() * 4).next_power_of_two();
        let outcomes = &mut outcomes[..records.len()];
        if records.len() < 2 * PARALLEL_CHUNK || parts < 2 {
            self.validate_prefetching(records)?;
            return Ok(self.apply_in_order(records, outcomes, self.clock.now_ms(), bound));
        }
        // Large batches are validated over the pool, chunk by chunk; the
        // error still names the first malformed record in batch order.
        let malformed = |(chunk, records): (usize, &[HeartbeatRecord])| {
            records.iter().enumerate().find_map(|(i, r)| {
                r.validate().err().map(|e| e.context(format_args!("record {}", chunk * PARALLEL_CHUNK + i)))
            })
        };
        if let Some(e) = records.par_chunks(PARALLEL_CHUNK).enumerate().find_map_first(malformed) {
            return Err(e);
        }
        let now_ms = self.clock.now_ms();
        let mut split = Split::new(WINDOW.min(records.len()), parts, &self.execution.memos);
        let mut summary = BatchSummary::default();
        for (records, outcomes) in records.chunks(WINDOW).zip(outcomes.chunks_mut(WINDOW)) {
            let window = if records.len() < 2 * PARALLEL_CHUNK {
                // A short last window: its slots fit in cache, as a small batch's.
                records.iter().for_each(|r| self.prefetch_slot(r.handle()));
                self.apply_in_order(records, outcomes, now_ms, bound)
            } else {
                self.apply_by_node(&mut split, records, outcomes, now_ms, bound)
            };
            summary = summary.merge(window);
        }
        split.finish(&self.execution.memos);
        Ok(summary)
    }

    /// Validates every record of a batch small enough to be applied on the
    /// calling thread (nothing is applied unless all are well-formed), and
    /// meanwhile starts loading each record's slot: the slots' misses
    /// overlap the reading of the records, and the whole batch's slots
    /// (64 bytes a record) wait in cache for [`apply_in_order`](Self::apply_in_order).
    fn validate_prefetching(&self, records: &[HeartbeatRecord]) -> Result<()> {
        debug_assert!(records.len() < 2 * PARALLEL_CHUNK, "{} records: more than the cache keeps", records.len());
        for (i, r) in records.iter().enumerate() {
            self.prefetch_slot(r.handle());
            r.validate().map_err(|e| e.context(format_args!("record {i}")))?;
        }
        Ok(())
    }

    /// Applies `records`, validated and their slots prefetched (see
    /// [`validate_prefetching`](Self::validate_prefetching)), one after the
    /// other on the calling thread.
    fn apply_in_order(
        &self,
        records: &[HeartbeatRecord],
        outcomes: &mut [OutcomeRecord],
        now_ms: u64,
        bound: Option<u32>,
    ) -> BatchSummary {
        let mut summary = BatchSummary::default();
        let mut memo = self.execution.memos.take();
        let mut clusters = Clusters::default();
        for (record, out) in records.iter().zip(outcomes) {
            summary.count(out.apply(self.apply_record(record, now_ms, bound, &mut *memo, &mut clusters)));
        }
        self.execution.memos.give(memo);
        summary
    }

    /// Applies one window of a large batch over the thread pool, split by
    /// node (see the module docs), with `split`'s buffers.
    fn apply_by_node(
        &self,
        split: &mut Split,
        records: &[HeartbeatRecord],
        outcomes: &mut [OutcomeRecord],
        now_ms: u64,
        bound: Option<u32>,
    ) -> BatchSummary {
        let Split { entries, bounds, staged, memos } = split;
        by_node(records, entries, bounds);
        // Each part writes its outcomes next to each other, in its own
        // stretch of `staged` (entry `k`'s outcome at `k`): written in place
        // at their records' indices, two parts would share cache lines.
        let mut rest = &mut staged[..records.len()];
        let mut parts = Vec::with_capacity(bounds.len() - 1);
        for (range, memo) in bounds.windows(2).zip(memos.iter_mut()) {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(range[1] - range[0]);
            parts.push((&entries[range[0]..range[1]], head, memo));
            rest = tail;
        }
        let summary = parts
            .into_par_iter()
            .map(|(part, staged, memo)| {
                let mut summary = BatchSummary::default();
                let mut clusters = Clusters::default();
                for (k, (entry, out)) in part.iter().zip(staged).enumerate() {
                    if let Some(ahead) = part.get(k + PREFETCH_DISTANCE) {
                        self.prefetch_slot(ahead.handle);
                    }
                    if let Some(ahead) = part.get(k + RECORD_PREFETCH_DISTANCE) {
                        prefetch_record(&records[ahead.index as usize]);
                    }
                    let record = &records[entry.index as usize];
                    summary.count(out.apply(self.apply_record(record, now_ms, bound, &mut **memo, &mut clusters)));
                }
                summary
            })
            .reduce(BatchSummary::default, BatchSummary::merge);
        for (entry, out) in entries.iter().zip(staged.iter()) {
            outcomes[entry.index as usize] = *out;
        }
        summary
    }

    fn apply_record<'e>(
        &'e self,
        r: &HeartbeatRecord,
        now_ms: u64,
        bound: Option<u32>,
        snapshots: &mut impl Snapshots,
        clusters: &mut Clusters<'e>,
    ) -> Applied {
        let handle = r.handle();
        let node = self.owns(handle).then(|| self.node_in(handle.slot(), |index| clusters.get(self, index))).flatten();
        let Some(node) = node else { return (Outcome::UnknownNode, None) };
        self.apply_resolved(node, r, now_ms, bound, snapshots)
    }

    /// Applies `r` to `node`, already resolved (by handle or by id): the
    /// outcome every batch path writes.
    pub(super) fn apply_resolved<'e>(
        &'e self,
        node: crate::execution::ingest::NodeRef<'e>,
        r: &HeartbeatRecord,
        now_ms: u64,
        bound: Option<u32>,
        snapshots: &mut impl Snapshots,
    ) -> Applied {
        if bound.is_some_and(|cluster| cluster != node.cell.cluster()) {
            return (Outcome::WrongCluster, None);
        }
        let applied = r.applied();
        let metrics = r.metrics();
        let obs = Observation {
            at_ms: r.at_ms(),
            revision: applied.map_or(0, |a| a.0),
            hash: applied.as_ref().map(|a| &a.1),
            version: r.runtime_version_bits(),
            status: r.status(),
            metrics: &metrics,
            sync_error: r.sync_error(),
        };
        match self.observe(node, &obs, now_ms, snapshots) {
            Ok(None) => (Outcome::Accepted, None),
            Ok(Some(d)) => {
                let outcome = match d.kind {
                    crate::DirectiveKind::Reconcile => Outcome::Reconcile,
                    crate::DirectiveKind::ForceSync => Outcome::ForceSync,
                };
                (outcome, Some((d.snapshot.revision, d.snapshot.hash)))
            }
            Err(Refusal::Stale { .. }) => (Outcome::Stale, None),
            Err(Refusal::Future { .. }) => (Outcome::Future, None),
            Err(Refusal::Removed { .. }) => (Outcome::UnknownNode, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Metrics, ProcessStatus};

    fn record(slot: u32, at_ms: u64) -> HeartbeatRecord {
        let handle = crate::NodeHandle::from_raw(u64::from(slot));
        HeartbeatRecord::new(handle, at_ms, "3.5.0".parse().unwrap(), ProcessStatus::Ready, Metrics::default())
    }

    #[test]
    fn parts_group_records_by_node_in_batch_order() {
        let records: Vec<HeartbeatRecord> = (0..40u64).map(|i| record((i % 5) as u32, i)).collect();
        let (mut entries, mut bounds) = (Vec::new(), vec![0; 5]);
        by_node(&records, &mut entries, &mut bounds);
        assert_eq!((bounds[0], bounds[4]), (0, 40), "four parts covering the batch");
        let mut all: Vec<u32> = entries.iter().map(|e| e.index).collect();
        all.sort_unstable();
        assert_eq!(all, (0..40).collect::<Vec<_>>(), "every record in exactly one part");
        for range in bounds.windows(2) {
            let part = &entries[range[0]..range[1]];
            assert!(part.windows(2).all(|w| w[0].index < w[1].index), "batch order within a part");
            assert!(part.iter().all(|e| e.handle == records[e.index as usize].handle()), "each entry's own handle");
            let slots: std::collections::BTreeSet<u32> = part.iter().map(|e| e.handle.slot() % 4).collect();
            assert!(slots.len() <= 1, "one part per node group");
        }
    }
}
