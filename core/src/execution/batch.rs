//! Batch ingest of binary heartbeat records.
//!
//! The guarantee (a malformed record rejects the whole batch, naming its
//! index; a well-formed batch gets one outcome per record) and both record
//! layouts are in [`crate::execution::record`].
//!
//! Large batches are split across the rayon thread pool **by node**, not by
//! position: every record of one node lands in the same part, and each part
//! is applied in batch order, so a batch that reports a node several times
//! is applied exactly as if record by record, whatever the parallelism. Each
//! record touches only its node's slot (and shared counters on
//! transitions), so the parts need no coordination. Nothing is allocated
//! per record (one index array per large batch).

use std::marker::PhantomData;

use rayon::prelude::*;

use crate::engine::Engine;
use crate::error::{Error, ErrorKind, Result};
use crate::execution::Observation;
use crate::execution::record::{HeartbeatRecord, Outcome, OutcomeRecord};

/// Records per parallel task: below this a batch is applied on the calling thread.
const PARALLEL_CHUNK: usize = 4096;
/// How many records ahead a batch prefetches its slots: enough to keep
/// several cache misses in flight.
const PREFETCH_DISTANCE: usize = 32;

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
    fn count(&mut self, (outcome, directive): (Outcome, bool)) {
        self.accepted += u64::from(matches!(outcome, Outcome::Accepted | Outcome::Reconcile | Outcome::ForceSync));
        self.directives += u64::from(directive);
        self.refused += u64::from(matches!(
            outcome,
            Outcome::Stale | Outcome::Future | Outcome::UnknownNode | Outcome::WrongCluster
        ));
    }

    fn merge(self, o: BatchSummary) -> BatchSummary {
        BatchSummary {
            accepted: self.accepted + o.accepted,
            directives: self.directives + o.directives,
            refused: self.refused + o.refused,
        }
    }
}

/// What applying one record gave: its outcome and directive, if any.
type Applied = (Outcome, Option<(u32, crate::ContentHash)>);

impl OutcomeRecord {
    /// Writes `applied` here; returns what a summary counts.
    fn apply(&mut self, (outcome, directive): Applied) -> (Outcome, bool) {
        self.set(outcome, directive);
        (outcome, directive.is_some())
    }
}

/// The record indices of a batch, in `parts` groups by node (slot), each in
/// batch order: a stable counting sort, one pass to count, one to place.
fn by_node(records: &[HeartbeatRecord], parts: usize) -> Vec<Vec<u32>> {
    let part = |r: &HeartbeatRecord| r.handle().slot() as usize % parts;
    let mut sizes = vec![0usize; parts];
    records.iter().for_each(|r| sizes[part(r)] += 1);
    let mut order: Vec<Vec<u32>> = sizes.into_iter().map(Vec::with_capacity).collect();
    // Indices fit: a batch is bounded by its byte length, far below 2^32 records.
    records.iter().enumerate().for_each(|(i, r)| order[part(r)].push(i as u32));
    order
}

/// A batch's outcome buffer, written by several tasks at once, each at
/// indices no other task writes.
struct DisjointOutcomes<'a> {
    cells: *mut OutcomeRecord,
    len: usize,
    _buffer: PhantomData<&'a mut [OutcomeRecord]>,
}

// SAFETY: the pointer comes from an exclusive borrow held for 'a; tasks
// write disjoint cells (the contract of `apply`), so sharing it is as safe
// as splitting the slice.
#[allow(unsafe_code)]
unsafe impl Send for DisjointOutcomes<'_> {}
// SAFETY: as for Send.
#[allow(unsafe_code)]
unsafe impl Sync for DisjointOutcomes<'_> {}

impl<'a> DisjointOutcomes<'a> {
    fn new(outcomes: &'a mut [OutcomeRecord]) -> Self {
        DisjointOutcomes { cells: outcomes.as_mut_ptr(), len: outcomes.len(), _buffer: PhantomData }
    }

    /// Writes outcome `i`.
    ///
    /// # Safety
    ///
    /// No other thread reads or writes outcome `i` while this runs.
    #[allow(unsafe_code)]
    unsafe fn apply(&self, i: usize, applied: Applied) -> (Outcome, bool) {
        assert!(i < self.len, "outcome {i} of {}", self.len);
        // SAFETY: `i` is in bounds (checked above) of a buffer borrowed
        // exclusively for 'a, and the caller guarantees no other access to
        // cell `i` meanwhile.
        unsafe { (*self.cells.add(i)).apply(applied) }
    }
}

impl Engine {
    /// Applies a batch of binary heartbeat records (see [`crate::execution::record`])
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
        for (i, r) in records.iter().enumerate() {
            r.validate().map_err(|e| e.context(format_args!("record {i}")))?;
        }
        let outcomes = &mut outcomes[..records.len()];
        let now_ms = self.clock.now_ms();
        let parts = rayon::current_num_threads() * 4;
        if records.len() < 2 * PARALLEL_CHUNK || parts < 2 {
            let mut summary = BatchSummary::default();
            for (i, (record, out)) in records.iter().zip(outcomes).enumerate() {
                if let Some(ahead) = records.get(i + PREFETCH_DISTANCE) {
                    self.prefetch_slot(ahead.handle());
                }
                summary.count(out.apply(self.apply_record(record, now_ms, bound)));
            }
            return Ok(summary);
        }
        let order = by_node(records, parts);
        let outcomes = DisjointOutcomes::new(outcomes);
        Ok(order
            .into_par_iter()
            .map(|part| {
                let mut summary = BatchSummary::default();
                for (k, &i) in part.iter().enumerate() {
                    if let Some(&ahead) = part.get(k + PREFETCH_DISTANCE) {
                        self.prefetch_slot(records[ahead as usize].handle());
                    }
                    let applied = self.apply_record(&records[i as usize], now_ms, bound);
                    // SAFETY: `by_node` puts each record index in exactly one
                    // part, and each part is applied by one task, so no other
                    // thread writes outcome `i`.
                    #[allow(unsafe_code)]
                    summary.count(unsafe { outcomes.apply(i as usize, applied) });
                }
                summary
            })
            .reduce(BatchSummary::default, BatchSummary::merge))
    }

    fn apply_record(&self, r: &HeartbeatRecord, now_ms: u64, bound: Option<u32>) -> Applied {
        let Ok(node) = self.resolve(r.handle()) else { return (Outcome::UnknownNode, None) };
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
        match self.observe(node, &obs, now_ms) {
            Ok(None) => (Outcome::Accepted, None),
            Ok(Some(d)) => {
                let outcome = match d.kind {
                    crate::DirectiveKind::Reconcile => Outcome::Reconcile,
                    crate::DirectiveKind::ForceSync => Outcome::ForceSync,
                };
                (outcome, Some((d.snapshot.revision, d.snapshot.hash)))
            }
            Err(e) if e.kind() == ErrorKind::StaleHeartbeat => (Outcome::Stale, None),
            Err(e) if e.kind() == ErrorKind::FutureHeartbeat => (Outcome::Future, None),
            // Validation ran before; any other error means the node vanished.
            Err(_) => (Outcome::UnknownNode, None),
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
        let parts = by_node(&records, 3);
        let mut all: Vec<u32> = parts.concat();
        all.sort_unstable();
        assert_eq!(all, (0..40).collect::<Vec<_>>(), "every record in exactly one part");
        for part in &parts {
            assert!(part.windows(2).all(|w| w[0] < w[1]), "batch order within a part");
            let slots: std::collections::BTreeSet<u32> =
                part.iter().map(|&i| records[i as usize].handle().slot() % 3).collect();
            assert!(slots.len() <= 1, "one part per node group");
        }
    }

    #[test]
    fn disjoint_outcomes_written_from_several_threads_land_where_they_belong() {
        let mut outcomes = vec![OutcomeRecord::default(); 64];
        let cells = DisjointOutcomes::new(&mut outcomes);
        std::thread::scope(|scope| {
            for part in 0..4usize {
                let cells = &cells;
                scope.spawn(move || {
                    for i in (part..64).step_by(4) {
                        let applied = if i % 2 == 0 { Outcome::Accepted } else { Outcome::Stale };
                        // SAFETY: thread `part` writes only the indices ≡ part (mod 4).
                        #[allow(unsafe_code)]
                        unsafe {
                            cells.apply(i, (applied, None));
                        }
                    }
                });
            }
        });
        for (i, out) in outcomes.iter().enumerate() {
            let expected = if i % 2 == 0 { Outcome::Accepted } else { Outcome::Stale };
            assert_eq!(out.outcome(), Some(expected), "outcome {i}");
        }
    }
}
