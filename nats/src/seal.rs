//! Sealing a partition's journal segments into the audit log.
//!
//! Every journal segment a partition's owner appends to `FLEET_JOURNAL`
//! (at stream sequence `s` of `fleet.journal.p<k>`) is then committed to
//! `FLEET_AUDIT` by one `seal_journal` record
//! ([`Engine::record_journal_segment`](fleetgov::Engine::record_journal_segment))
//! on the target `journal:p<k>:<s>`, carrying the segment's transition
//! count, time range and the blake3 hash of its bytes: every signed audit
//! checkpoint after it commits to the partition's execution history
//! before it, and whoever reads a segment checks it against its seal
//! ([`Seal::verifies`]).
//!
//! A seal is written on behalf of the partition, so, like a wave record,
//! only under its lease ([`crate::audit_fence`]): the audit store refuses
//! it when the instance does not hold the partition (or holds it past its
//! deadline), and a seal that is sent names the partition and the lease
//! (`Fleet-Partition`, `Fleet-Lease`). A segment whose seal could not be
//! written is sealed again on the owner's next journal round, and is never
//! trimmed unsealed.

use fleetgov::ContentHash;
use fleetgov::audit::{AuditAction, AuditRecord};
use serde::Deserialize;

/// The journal name of partition `k` in seal targets (`p<k>`).
///
/// ```
/// assert_eq!(fleetgov_nats::seal::journal_name(3), "p3");
/// ```
pub fn journal_name(partition: u32) -> String {
    format!("p{partition}")
}

/// What a `seal_journal` record of a partition's journal commits to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seal {
    /// The partition.
    pub partition: u32,
    /// The segment's stream sequence in `FLEET_JOURNAL`.
    pub seq: u64,
    /// Its transitions.
    pub count: u64,
    /// The time of its first and last transition (unix ms).
    pub from_ms: u64,
    /// See `from_ms`.
    pub to_ms: u64,
    /// The blake3 hash of its bytes.
    pub hash: ContentHash,
}

/// The payload of a `seal_journal` record.
#[derive(Deserialize)]
struct Payload {
    first: u64,
    count: u64,
    from_ms: u64,
    to_ms: u64,
    hash: ContentHash,
}

impl Seal {
    /// The seal `record` holds, if it seals a segment of a partition's
    /// journal (a data directory's seals name no partition: `None`).
    ///
    /// ```
    /// # use fleetgov::*;
    /// let e = demo::engine(1_700_000_000_000).unwrap();
    /// let segment = e.export_journal(&["gke-stage-eu"], 0, usize::MAX).unwrap();
    /// let record = e.record_journal_segment(&fleetgov_nats::seal::journal_name(3), 17, &segment.bytes).unwrap();
    /// let seal = fleetgov_nats::seal::Seal::of(&record).unwrap();
    /// assert_eq!((seal.partition, seal.seq, seal.count), (3, 17, segment.transitions));
    /// assert!(seal.verifies(&segment.bytes));
    /// assert!(!seal.verifies(b"other bytes"));
    /// ```
    pub fn of(record: &AuditRecord) -> Option<Seal> {
        if record.action != AuditAction::SealJournal {
            return None;
        }
        let (partition, seq) = record.target.strip_prefix("journal:p")?.split_once(':')?;
        let (partition, seq) = (partition.parse().ok()?, seq.parse().ok()?);
        let json = record.payload.split(|&b| b == b'\n').next()?;
        let p: Payload = serde_json::from_slice(json).ok()?;
        (p.first == seq).then_some(Seal {
            partition,
            seq,
            count: p.count,
            from_ms: p.from_ms,
            to_ms: p.to_ms,
            hash: p.hash,
        })
    }

    /// The partition a seal record is written on behalf of.
    pub(crate) fn partition_of(record: &AuditRecord) -> Option<u32> {
        Seal::of(record).map(|s| s.partition)
    }

    /// Whether `segment` is the segment sealed: its blake3 hash is the seal's.
    pub fn verifies(&self, segment: &[u8]) -> bool {
        ContentHash::of(segment) == self.hash
    }
}

/// The seals of `partition` among `records`, by stream sequence.
pub fn seals_of(records: &[std::sync::Arc<AuditRecord>], partition: u32) -> Vec<Seal> {
    let mut seals: Vec<Seal> =
        records.iter().filter_map(|r| Seal::of(r)).filter(|s| s.partition == partition).collect();
    seals.sort_unstable_by_key(|s| s.seq);
    seals
}
