//! Batch ingest of binary heartbeat records.
//!
//! The guarantee (a malformed record rejects the whole batch, naming its
//! index; a well-formed batch gets one outcome per record) and both record
//! layouts are in [`crate::record`].
//!
//! Large batches are split across the rayon thread pool; each record touches
//! only its node's slot (and shared counters on transitions), so the split
//! needs no coordination. Nothing is allocated per record.

use rayon::prelude::*;

use crate::engine::{Engine, Observation};
use crate::error::{Error, ErrorKind, Result};
use crate::record::{HeartbeatRecord, Outcome, OutcomeRecord};

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
    /// Records refused by a state rule (stale, future, unknown node).
    pub refused: u64,
}

impl BatchSummary {
    fn merge(self, o: BatchSummary) -> BatchSummary {
        BatchSummary {
            accepted: self.accepted + o.accepted,
            directives: self.directives + o.directives,
            refused: self.refused + o.refused,
        }
    }
}

impl Engine {
    /// Applies a batch of binary heartbeat records (see [`crate::record`])
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

    /// [`ingest_batch`](Self::ingest_batch) over records already in memory.
    /// The records are validated first; a malformed one fails the whole call.
    pub fn ingest_records(&self, records: &[HeartbeatRecord], outcomes: &mut [OutcomeRecord]) -> Result<BatchSummary> {
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
        if records.len() < 2 * PARALLEL_CHUNK {
            return Ok(self.apply_records(records, outcomes, now_ms));
        }
        Ok(records
            .par_chunks(PARALLEL_CHUNK)
            .zip(outcomes.par_chunks_mut(PARALLEL_CHUNK))
            .map(|(r, o)| self.apply_records(r, o, now_ms))
            .reduce(BatchSummary::default, BatchSummary::merge))
    }

    fn apply_records(&self, records: &[HeartbeatRecord], outcomes: &mut [OutcomeRecord], now_ms: u64) -> BatchSummary {
        let mut summary = BatchSummary::default();
        for (i, (record, out)) in records.iter().zip(outcomes).enumerate() {
            if let Some(ahead) = records.get(i + PREFETCH_DISTANCE) {
                self.prefetch_slot(ahead.handle());
            }
            let (outcome, directive) = self.apply_record(record, now_ms);
            summary.accepted +=
                u64::from(matches!(outcome, Outcome::Accepted | Outcome::Reconcile | Outcome::ForceSync));
            summary.directives += u64::from(directive.is_some());
            summary.refused += u64::from(matches!(outcome, Outcome::Stale | Outcome::Future | Outcome::UnknownNode));
            out.set(outcome, directive);
        }
        summary
    }

    fn apply_record(&self, r: &HeartbeatRecord, now_ms: u64) -> (Outcome, Option<(u32, crate::ContentHash)>) {
        let Ok(node) = self.resolve(r.handle()) else { return (Outcome::UnknownNode, None) };
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
