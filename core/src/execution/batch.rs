//! Batch ingest of binary heartbeat records.
//!
//! The guarantee (a malformed record rejects the whole batch, naming its
//! index; a well-formed batch gets one outcome per record) and both record
//! layouts are in [`crate::execution::heartbeat_record`].
//!
//! Large batches are split across the rayon thread pool **by node**, not
//! by position: every record of one node lands in the same part, and each
//! part is applied in batch order, so a batch that reports a node several
//! times is applied exactly as if record by record, whatever the
//! parallelism. Each record touches only its node's slot (and shared
//! counters on transitions), so the parts need no coordination.
//!
//! Every pass of a large batch runs on the pool, none on one thread while
//! the others wait (the calling thread of a binding's bulk ingest is one
//! caller with one large batch):
//!
//! 1. **validate and split**, chunk by chunk of [`PARALLEL_CHUNK`]
//!    records: each chunk is validated and its records' (handle, index)
//!    entries grouped by part while the chunk is in cache ([`by_node`]);
//!    nothing is applied until every chunk is well-formed;
//! 2. **apply**, window by window of [`WINDOW`] records, part by part: a
//!    part gathers its entries from the window's chunks (in batch order),
//!    prefetches slots and records ahead without waiting for the records,
//!    and writes its outcomes next to each other, so two threads never
//!    write one cache line;
//! 3. **copy back**, chunk by chunk: each chunk writes its records'
//!    outcomes in record order from the parts' stages (a chunk's outcomes
//!    are its own).
//!
//! Nothing is allocated per record (a chunk's entries, a part's entries and
//! outcomes per window).

use rayon::prelude::*;

use crate::cluster_state::ClusterState;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::execution::heartbeat_record::{HeartbeatRecord, Outcome, OutcomeRecord, RECORD_SIZE};
use crate::execution::ingest::Snapshots;
use crate::execution::{Observation, Refusal};

/// Records per parallel task: below this a batch is applied on the calling thread.
pub(super) const PARALLEL_CHUNK: usize = 4096;
/// Records per window of a large batch (a multiple of [`PARALLEL_CHUNK`]):
/// the windows are applied one after the other, each split by node over
/// the thread pool; it bounds the parts' staged outcomes (40 bytes a record).
const WINDOW: usize = 16 * PARALLEL_CHUNK;
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

/// A record's place in its chunk (or, once a part gathers it, in its
/// window) and its node's handle: a part of a large batch walks these, so
/// it can prefetch a node's slot without first reading (and waiting for)
/// the record, which is far away in the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    handle: crate::NodeHandle,
    index: u32,
}

/// One chunk of a large batch grouped by node ([`by_node`]).
struct ChunkSplit {
    /// The chunk's entries, part after part, each part in batch order.
    entries: Vec<Entry>,
    /// Part `p` is `entries[bounds[p]..bounds[p + 1]]`.
    bounds: Vec<usize>,
    /// Where record `i` of the chunk went: its part (above [`PLACE_BITS`])
    /// and its place among the part's entries of the chunk, so the
    /// outcomes are copied back in record order.
    places: Vec<u32>,
}

/// Bits of a [`ChunkSplit::places`] entry that hold the place within a
/// part: a chunk holds at most [`PARALLEL_CHUNK`] records.
const PLACE_BITS: u32 = 16;
const _: () = assert!(PARALLEL_CHUNK <= 1 << PLACE_BITS);

/// The part and the place within it of a [`ChunkSplit::places`] entry.
fn unplace(place: u32) -> (usize, usize) {
    ((place >> PLACE_BITS) as usize, (place & ((1 << PLACE_BITS) - 1)) as usize)
}

impl ChunkSplit {
    /// The entries of part `p`.
    fn part(&self, p: usize) -> &[Entry] {
        &self.entries[self.bounds[p]..self.bounds[p + 1]]
    }
}

/// Groups `records` (one chunk) into `parts` (a power of two) groups by
/// node (slot), each in batch order: a stable counting sort, one pass to
/// count, one to place.
fn by_node(records: &[HeartbeatRecord], parts: usize) -> ChunkSplit {
    debug_assert!(parts.is_power_of_two(), "{parts} parts");
    // The slot's low bits: a mask, where a remainder would divide twice per record.
    let part = |h: crate::NodeHandle| h.slot() as usize & (parts - 1);
    let mut bounds = vec![0; parts + 1];
    records.iter().for_each(|r| bounds[part(r.handle()) + 1] += 1);
    for p in 0..parts {
        bounds[p + 1] += bounds[p];
    }
    let mut next = bounds[..parts].to_vec();
    // Every entry is overwritten below: the counts place each record once.
    let mut entries = vec![Entry { handle: crate::NodeHandle::from_raw(0), index: 0 }; records.len()];
    let mut places = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        let handle = r.handle();
        let p = part(handle);
        let at = &mut next[p];
        // Indices and places fit: a chunk holds PARALLEL_CHUNK records, and
        // parts are a few per thread.
        entries[*at] = Entry { handle, index: i as u32 };
        places.push((p as u32) << PLACE_BITS | (*at - bounds[p]) as u32);
        *at += 1;
    }
    ChunkSplit { entries, bounds, places }
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
        // Large batches are validated and split over the pool, chunk by
        // chunk; the error names the first malformed record in batch order.
        let split = |(chunk, records): (usize, &[HeartbeatRecord])| {
            for (i, r) in records.iter().enumerate() {
                r.validate().map_err(|e| e.context(format_args!("record {}", chunk * PARALLEL_CHUNK + i)))?;
            }
            Ok(by_node(records, parts))
        };
        let splits: Vec<Result<ChunkSplit>> = records.par_chunks(PARALLEL_CHUNK).enumerate().map(split).collect();
        let splits = splits.into_iter().collect::<Result<Vec<_>>>()?;
        let now_ms = self.clock.now_ms();
        let windows = records.chunks(WINDOW).zip(outcomes.chunks_mut(WINDOW));
        let chunks_per_window = WINDOW / PARALLEL_CHUNK;
        Ok(windows
            .zip(splits.chunks(chunks_per_window))
            .map(|((records, outcomes), splits)| self.apply_by_node(splits, parts, records, outcomes, now_ms, bound))
            .fold(BatchSummary::default(), BatchSummary::merge))
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
    /// node (see the module docs): `splits` are its chunks' entries.
    fn apply_by_node(
        &self,
        splits: &[ChunkSplit],
        parts: usize,
        records: &[HeartbeatRecord],
        outcomes: &mut [OutcomeRecord],
        now_ms: u64,
        bound: Option<u32>,
    ) -> BatchSummary {
        let applied: Vec<(BatchSummary, Vec<OutcomeRecord>)> = (0..parts)
            .into_par_iter()
            .map(|p| {
                // The part's entries in batch order, indexed within the window.
                let mut part = Vec::with_capacity(splits.iter().map(|s| s.part(p).len()).sum());
                for (c, split) in splits.iter().enumerate() {
                    let base = (c * PARALLEL_CHUNK) as u32;
                    part.extend(split.part(p).iter().map(|e| Entry { handle: e.handle, index: base + e.index }));
                }
                let mut staged = Vec::with_capacity(part.len());
                let (mut summary, mut clusters, mut memo) =
                    (BatchSummary::default(), Clusters::default(), self.execution.memos.take());
                for (k, entry) in part.iter().enumerate() {
                    if let Some(ahead) = part.get(k + PREFETCH_DISTANCE) {
                        self.prefetch_slot(ahead.handle);
                    }
                    if let Some(ahead) = part.get(k + RECORD_PREFETCH_DISTANCE) {
                        prefetch_record(&records[ahead.index as usize]);
                    }
                    let record = &records[entry.index as usize];
                    let mut out = OutcomeRecord::default();
                    summary.count(out.apply(self.apply_record(record, now_ms, bound, &mut *memo, &mut clusters)));
                    staged.push(out);
                }
                self.execution.memos.give(memo);
                (summary, staged)
            })
            .collect();
        // Where each chunk's entries of each part begin in the part's stage.
        let mut starts = Vec::with_capacity(splits.len());
        let mut next = vec![0; parts];
        for split in splits {
            starts.push(next.clone());
            next.iter_mut().enumerate().for_each(|(p, at)| *at += split.part(p).len());
        }
        outcomes.par_chunks_mut(PARALLEL_CHUNK).zip(splits).zip(starts).for_each(|((outcomes, split), starts)| {
            // In record order: the writes are sequential, the reads one
            // sequential stream per part.
            for (out, &place) in outcomes.iter_mut().zip(&split.places) {
                let (p, k) = unplace(place);
                *out = applied[p].1[starts[p] + k];
            }
        });
        applied.iter().fold(BatchSummary::default(), |total, (summary, _)| total.merge(*summary))
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
        let split = by_node(&records, 4);
        assert_eq!((split.bounds[0], split.bounds[4]), (0, 40), "four parts covering the batch");
        let mut all: Vec<u32> = split.entries.iter().map(|e| e.index).collect();
        all.sort_unstable();
        assert_eq!(all, (0..40).collect::<Vec<_>>(), "every record in exactly one part");
        for p in 0..4 {
            let part = split.part(p);
            assert!(part.windows(2).all(|w| w[0].index < w[1].index), "batch order within a part");
            assert!(part.iter().all(|e| e.handle == records[e.index as usize].handle()), "each entry's own handle");
            let slots: std::collections::BTreeSet<u32> = part.iter().map(|e| e.handle.slot() % 4).collect();
            assert!(slots.len() <= 1, "one part per node group");
        }
        for (i, &place) in split.places.iter().enumerate() {
            let (p, k) = unplace(place);
            assert_eq!(split.part(p)[k].index, i as u32, "record {i}'s place names its own entry");
        }
    }
}
