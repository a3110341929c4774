//! Batch ingest of binary heartbeat records.
//!
//! The guarantee (a malformed record rejects the whole batch, naming its
//! index; a well-formed batch gets one outcome per record) and both record
//! layouts are in [`crate::execution::heartbeat_record`].
//!
//! A large batch is validated whole first, over the rayon thread pool, and
//! then applied in windows of consecutive records, one window after the
//! other, each split across the pool **by node**, not by position: every
//! node belongs to one part (by its slot), and each part walks the window
//! in batch order and applies only its own nodes' records, so a batch that
//! reports a node several times is applied exactly as if record by record,
//! whatever the parallelism. Each record touches only its node's slot (and
//! shared counters on transitions), so the parts need no coordination. The
//! calling thread applies one part itself while the pool applies the
//! others.
//!
//! What keeps the split cheap:
//! - the validation copies each record's handle to a column of its own, so
//!   a part finds its records there (eight to a cache line, no pass to count
//!   or scatter them) and reads only its own records, prefetching their
//!   slots and lines ahead from a small ring of their indices;
//! - a part finds its own by a multiply and a compare, with no branch;
//! - a part writes its outcomes next to each other, in a stretch only it
//!   writes: written in place, two threads would share cache lines, and
//!   each slot's locked update would wait for the other thread's line. After
//!   each window the pool copies them to their records' places, each thread
//!   a stretch of the window;
//! - a window's handles and staged outcomes stay in cache from the parts'
//!   pass to the copy's. Nothing is allocated per record (one handle column
//!   and one outcome stage per part per large batch).

use rayon::prelude::*;

use crate::cluster_state::ClusterState;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::execution::heartbeat_record::{HeartbeatRecord, Outcome, OutcomeRecord, RECORD_SIZE};
use crate::execution::ingest::Snapshots;
use crate::execution::snapshot_memo::SnapshotMemo;
use crate::execution::{Observation, Refusal};

/// Records per parallel task: below this a batch is applied on the calling thread.
pub(super) const PARALLEL_CHUNK: usize = 4096;
/// Records per window of a large batch: the windows are applied one after
/// the other, each by every part and then copied out; a window's records
/// stay in cache from the parts' pass to the copy's.
const WINDOW: usize = 8192;
/// Records a part of a large batch scans for its own at a time: a fixed
/// count, so the scan has no branch that depends on the records.
const SCAN: usize = 64;
/// Indices of a part's own records found and not yet applied: room for
/// those kept ahead for prefetching plus one scan's worth (a power of two).
const RING: usize = 128;
const _: () = assert!(PREFETCH_DISTANCE + SCAN <= RING && RING.is_power_of_two());
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

/// Which of `parts` parts applies the records of the node in `slot`: the
/// slot mixed by an odd multiplier (a bijection, so nearby slots spread
/// over the parts), then scaled to `0..parts` by a multiply and a shift,
/// where a remainder would divide once per record and part.
#[inline]
fn part_of(slot: u32, parts: u32) -> u32 {
    ((u64::from(slot.wrapping_mul(0x9e37_79b9)) * u64::from(parts)) >> 32) as u32
}

/// What one part of a window keeps for the window's outcomes to be
/// copied to their records' places: written by that part alone, so no two
/// threads write one cache line while they apply (a slot's locked update
/// would wait for every such write).
#[derive(Default)]
struct Staged {
    /// The outcomes of the part's records, in batch order.
    outcomes: Vec<OutcomeRecord>,
    /// `marks[b]`: how many of the part's records precede the window's
    /// scan block `b` (records `b * SCAN ..`).
    marks: Vec<u32>,
}

/// Copies the outcomes `staged` holds for the records of `handles` (scan
/// blocks `first_block ..` of a window) to their places in `outcomes`.
fn copy_back(handles: &[crate::NodeHandle], first_block: usize, staged: &[Staged], outcomes: &mut [OutcomeRecord]) {
    let parts = staged.len() as u32;
    let mut next: Vec<usize> = staged.iter().map(|s| s.marks.get(first_block).map_or(0, |&m| m as usize)).collect();
    for (handle, out) in handles.iter().zip(outcomes) {
        let part = part_of(handle.slot(), parts) as usize;
        // Each record was staged by its part, in batch order: the cursor is in bounds.
        *out = staged[part].outcomes[next[part]];
        next[part] += 1;
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
        let outcomes = &mut outcomes[..records.len()];
        if records.len() < 2 * PARALLEL_CHUNK || rayon::current_num_threads() < 2 {
            self.validate_prefetching(records)?;
            return Ok(self.apply_in_order(records, outcomes, self.clock.now_ms(), bound));
        }
        // Large batches are validated over the pool, chunk by chunk; the
        // error still names the first malformed record in batch order.
        // Meanwhile each record's handle is copied to a column of its own:
        // the parts find their records there (eight to a cache line)
        // instead of each reading every record.
        let mut handles = vec![crate::NodeHandle::from_raw(0); records.len()];
        let malformed = |(chunk, (records, handles)): (usize, (&[HeartbeatRecord], &mut [crate::NodeHandle]))| {
            records.iter().zip(handles).enumerate().find_map(|(i, (r, handle))| {
                *handle = r.handle();
                r.validate().err().map(|e| e.context(format_args!("record {}", chunk * PARALLEL_CHUNK + i)))
            })
        };
        let chunks = records.par_chunks(PARALLEL_CHUNK).zip(handles.par_chunks_mut(PARALLEL_CHUNK));
        if let Some(e) = chunks.enumerate().find_map_first(malformed) {
            return Err(e);
        }
        Ok(self.apply_by_slot(records, &handles, outcomes, self.clock.now_ms(), bound))
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

    /// Applies a large batch, validated, over the thread pool, split by
    /// node (see the module docs): in windows of [`WINDOW`] records, each
    /// applied by one part per thread of the pool (the calling thread
    /// applying the first), then its outcomes copied to their places.
    fn apply_by_slot(
        &self,
        records: &[HeartbeatRecord],
        handles: &[crate::NodeHandle],
        outcomes: &mut [OutcomeRecord],
        now_ms: u64,
        bound: Option<u32>,
    ) -> BatchSummary {
        let parts = rayon::current_num_threads().clamp(1, u32::MAX as usize);
        let mut memos: Vec<_> = (0..parts).map(|_| self.execution.memos.take()).collect();
        let mut staged: Vec<Staged> = (0..parts).map(|_| Staged::default()).collect();
        let mut summaries = vec![BatchSummary::default(); parts];
        let windows = records.chunks(WINDOW).zip(handles.chunks(WINDOW));
        for ((records, handles), outcomes) in windows.zip(outcomes.chunks_mut(WINDOW)) {
            rayon::in_place_scope(|scope| {
                let mut work = memos.iter_mut().zip(staged.iter_mut()).zip(summaries.iter_mut()).enumerate();
                let own = work.next();
                for (part, ((memo, staged), summary)) in work {
                    scope.spawn(move |_| {
                        *summary = summary.merge(self.apply_part(part, parts, (records, handles), staged, now_ms, bound, memo));
                    });
                }
                if let Some((part, ((memo, staged), summary))) = own {
                    *summary = summary.merge(self.apply_part(part, parts, (records, handles), staged, now_ms, bound, memo));
                }
            });
            // Each thread copies whole scan blocks, so it knows where each part's outcomes start.
            let share = records.len().div_ceil(parts).next_multiple_of(SCAN);
            let staged = &staged;
            rayon::in_place_scope(|scope| {
                let mut work = handles.chunks(share).zip(outcomes.chunks_mut(share)).enumerate();
                let own = work.next();
                for (k, (handles, outcomes)) in work {
                    scope.spawn(move |_| copy_back(handles, k * share / SCAN, staged, outcomes));
                }
                if let Some((_, (handles, outcomes))) = own {
                    copy_back(handles, 0, staged, outcomes);
                }
            });
        }
        memos.into_iter().for_each(|memo| self.execution.memos.give(memo));
        summaries.into_iter().fold(BatchSummary::default(), BatchSummary::merge)
    }

    /// Applies the records of `records` (a window) whose nodes belong to
    /// part `part` of `parts` (see [`part_of`]), in batch order, and stages
    /// their outcomes in `staged`.
    #[allow(clippy::too_many_arguments)]
    fn apply_part(
        &self,
        part: usize,
        parts: usize,
        (records, handles): (&[HeartbeatRecord], &[crate::NodeHandle]),
        staged: &mut Staged,
        now_ms: u64,
        bound: Option<u32>,
        memo: &mut SnapshotMemo,
    ) -> BatchSummary {
        let (part, parts) = (part as u32, parts as u32);
        staged.outcomes.clear();
        staged.marks.clear();
        let mut summary = BatchSummary::default();
        let mut clusters = Clusters::default();
        // Own records' indices, from `ring[applied % RING]` to `ring[found % RING]`.
        let mut ring = [0u32; RING];
        let (mut applied, mut found, mut scanned) = (0, 0, 0);
        loop {
            while found - applied <= PREFETCH_DISTANCE && scanned < records.len() {
                let end = (scanned + SCAN).min(records.len());
                // A window's counts fit: it holds `WINDOW` records.
                staged.marks.push(found as u32);
                for (i, handle) in handles[scanned..end].iter().enumerate() {
                    // Every index is stored; only an own record's is kept.
                    ring[found % RING] = (scanned + i) as u32;
                    found += usize::from(part_of(handle.slot(), parts) == part);
                }
                scanned = end;
            }
            if applied == found {
                return summary;
            }
            if found - applied > PREFETCH_DISTANCE {
                self.prefetch_slot(handles[ring[(applied + PREFETCH_DISTANCE) % RING] as usize]);
            }
            if found - applied > RECORD_PREFETCH_DISTANCE {
                prefetch_record(&records[ring[(applied + RECORD_PREFETCH_DISTANCE) % RING] as usize]);
            }
            let index = ring[applied % RING] as usize;
            applied += 1;
            let mut out = OutcomeRecord::default();
            summary.count(out.apply(self.apply_record(&records[index], now_ms, bound, memo, &mut clusters)));
            staged.outcomes.push(out);
        }
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

    /// An engine of `nodes` nodes in two clusters (auto reconcile on in
    /// one, so some records get directives), each with two revisions.
    fn fleet(nodes: usize) -> (Engine, Vec<crate::NodeHandle>, [crate::Snapshot; 2]) {
        const T0: u64 = 1_700_000_000_000;
        let e = Engine::with_config(crate::EngineConfig {
            clock: crate::Clock::manual(T0 + 1_000_000),
            capacity: nodes,
            ..crate::EngineConfig::default()
        })
        .unwrap();
        e.upsert_workspace(crate::WorkspaceSpec::new("ws")).unwrap();
        for (id, auto) in [("a", false), ("b", true)] {
            e.upsert_cluster(crate::ClusterSpec::new(id, "ws", crate::Environment::Production).auto_reconcile(auto))
                .unwrap();
        }
        let snapshots = ["a", "b"].map(|c| {
            e.publish(c, b"one", "p", T0).unwrap();
            e.publish(c, b"two", "p", T0).unwrap()
        });
        let ids: Vec<(String, &str)> = (0..nodes).map(|i| (format!("n{i}"), ["a", "b"][i % 2])).collect();
        let handles = e.enroll_many(ids.iter().map(|(id, c)| (id.as_str(), *c)), T0).unwrap();
        (e, handles, snapshots)
    }

    /// A large batch split over pools of 2, 3 and 4 threads (whatever the
    /// machine) gives every record the outcome, and the fleet the state,
    /// that applying the records one after the other gives: nodes repeated
    /// within and across windows, stale and unknown records, directives, and
    /// a short last window.
    #[test]
    fn a_split_batch_is_applied_as_if_record_by_record_at_any_pool_size() {
        const NODES: usize = 3_000;
        let records_for = |handles: &[crate::NodeHandle], snapshots: &[crate::Snapshot; 2]| {
            let mut seed = 0x2545_f491_4f6c_dd1du64;
            (0..3 * WINDOW + 1_234)
                .map(|i| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let node = (seed % (NODES as u64 + 20)) as usize;
                    let handle = handles.get(node).copied().unwrap_or(crate::NodeHandle::from_raw(node as u64));
                    // Mostly later than the node's last record; one in eight goes back in time.
                    let at = 1_700_000_000_000 + i as u64 - if seed.is_multiple_of(8) { 500 } else { 0 };
                    let r =
                        HeartbeatRecord::new(handle, at, "3.5.0".parse().unwrap(), ProcessStatus::Ready, Metrics::default());
                    match seed % 3 {
                        0 => r,
                        _ => {
                            let s = &snapshots[node % 2];
                            r.with_applied(s.revision, s.hash)
                        }
                    }
                })
                .collect::<Vec<_>>()
        };
        let (one_by_one, handles, snapshots) = fleet(NODES);
        let records = records_for(&handles, &snapshots);
        let mut expected = vec![OutcomeRecord::default(); records.len()];
        let mut want = BatchSummary::default();
        for (r, out) in records.chunks(1_000).zip(expected.chunks_mut(1_000)) {
            want = want.merge(one_by_one.ingest_records(r, out).unwrap());
        }
        assert!(want.refused > 0 && want.directives > 0 && want.accepted > 0, "{want:?}");
        for threads in [2, 3, 4] {
            let (split, handles, snapshots) = fleet(NODES);
            // The same records, but for this engine's handles (an engine tags its own).
            let records = records_for(&handles, &snapshots);
            let mut outcomes = vec![OutcomeRecord::default(); records.len()];
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let got = pool.install(|| split.ingest_records(&records, &mut outcomes)).unwrap();
            assert_eq!(got, want, "{threads} threads");
            for (k, (o, e)) in outcomes.iter().zip(&expected).enumerate() {
                assert_eq!((o.outcome(), o.directive()), (e.outcome(), e.directive()), "record {k}, {threads} threads");
            }
            for c in ["a", "b"] {
                let now = 1_700_000_000_000 + 1_000_000;
                let (a, b) = (split.cluster(c, now).unwrap(), one_by_one.cluster(c, now).unwrap());
                assert_eq!((a.in_sync, a.total), (b.in_sync, b.total), "cluster {c}, {threads} threads");
            }
            assert!(split.recount_mismatches().is_empty());
        }
    }

    #[test]
    fn every_slot_has_one_part_and_the_parts_are_even() {
        for parts in [1u32, 2, 3, 4, 7, 16] {
            let mut sizes = vec![0u32; parts as usize];
            for slot in (0..100_000u32).chain([u32::MAX - 1, u32::MAX]) {
                let p = part_of(slot, parts);
                assert!(p < parts, "slot {slot} in part {p} of {parts}");
                sizes[p as usize] += 1;
            }
            let even = 100_000 / parts;
            assert!(sizes.iter().all(|&n| n.abs_diff(even) < even / 20 + 10), "{parts} parts: {sizes:?}");
        }
    }

}
