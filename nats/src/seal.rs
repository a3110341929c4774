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
//!
//! # Trimming
//!
//! Once sealed, a segment need not stay in `FLEET_JOURNAL` for ever. After
//! each node checkpoint, the owner trims the partition's subject below the
//! first segment it must keep ([`trimmable`]): a segment goes only if it
//! is sealed, a whole checkpoint written after it covers it, all of its
//! transitions are older than the engine's retention horizon
//! ([`EngineConfig::retention`](fleetgov::EngineConfig::retention)), and
//! it holds no node's *base* (the node's last transition at the horizon,
//! which answers what the node ran at any time within the horizon until
//! its next transition). So a new owner that restores the latest
//! checkpoint and the segments left answers every question within the
//! horizon as the old owner did; older times are refused by every engine
//! alike. What was trimmed stays committed by its seal.

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

/// The leading segments of `seals` (one partition's, by stream sequence)
/// that may be trimmed: each sealed at or below `covered` (the last
/// segment a whole node checkpoint was written after), with every
/// transition before `horizon_ms`, and holding none of `bases` (sorted:
/// the time of each node's last transition at the horizon). Trimming
/// stops at the first segment that must stay.
///
/// ```
/// use fleetgov::ContentHash;
/// use fleetgov_nats::seal::{Seal, trimmable};
/// let seal = |seq, from_ms, to_ms| Seal { partition: 1, seq, count: 1, from_ms, to_ms, hash: ContentHash::of(b"") };
/// let seals = [seal(3, 10, 20), seal(5, 30, 40), seal(8, 50, 60), seal(9, 70, 80)];
/// let seqs = |s: Vec<Seal>| s.iter().map(|s| s.seq).collect::<Vec<_>>();
/// assert_eq!(seqs(trimmable(&seals, 9, 65, &[])), [3, 5, 8], "the last one reaches past the horizon");
/// assert_eq!(seqs(trimmable(&seals, 5, 65, &[])), [3, 5], "only what a checkpoint covers");
/// assert_eq!(seqs(trimmable(&seals, 9, 65, &[35, 52])), [3], "a base stays, and what follows it");
/// ```
pub fn trimmable(seals: &[Seal], covered: u64, horizon_ms: u64, bases: &[u64]) -> Vec<Seal> {
    let holds_base = |s: &Seal| {
        let first = bases.partition_point(|&b| b < s.from_ms);
        bases.get(first).is_some_and(|&b| b <= s.to_ms)
    };
    seals.iter().take_while(|s| s.seq <= covered && s.to_ms < horizon_ms && !holds_base(s)).copied().collect()
}

/// Where a trim of a partition's subject ends: the stream sequence below
/// which its `segments` (every segment of the subject from its first, by
/// stream sequence, with its bytes) may be purged, given the `trimmable`
/// seals ([`trimmable`]). It is the first segment that has no seal in
/// `trimmable` (it is unsealed, or must stay) or does not hash to its
/// seal, or else the one after the last segment read; `None` when the
/// first segment must stay. A segment that is not sealed into the audit
/// log is never trimmed, nor anything after it.
///
/// ```
/// use fleetgov::ContentHash;
/// use fleetgov_nats::seal::{Seal, trim_point};
/// let seal = |seq, bytes: &[u8]| Seal { partition: 1, seq, count: 1, from_ms: 1, to_ms: 2, hash: ContentHash::of(bytes) };
/// let segments = [(3, &b"a"[..]), (4, b"b"), (6, b"c"), (7, b"d")];
/// let all = [seal(3, b"a"), seal(4, b"b"), seal(6, b"c"), seal(7, b"d")];
/// assert_eq!(trim_point(segments, &all), Some(8));
/// // Segment 6 is not sealed: it stays, and so does what follows it.
/// assert_eq!(trim_point(segments, &[seal(3, b"a"), seal(4, b"b"), seal(7, b"d")]), Some(6));
/// // Segment 4 does not hash to its seal.
/// assert_eq!(trim_point(segments, &[seal(3, b"a"), seal(4, b"x")]), Some(4));
/// // Seals of segments trimmed before (1, 2) are passed over.
/// assert_eq!(trim_point(segments, &[seal(1, b"z"), seal(2, b"y"), seal(3, b"a")]), Some(4));
/// assert_eq!(trim_point(segments, &[seal(4, b"b")]), None, "the first segment is unsealed");
/// ```
pub fn trim_point<'a>(segments: impl IntoIterator<Item = (u64, &'a [u8])>, trimmable: &[Seal]) -> Option<u64> {
    let mut below = None;
    for (seq, bytes) in segments {
        let sealed = trimmable.binary_search_by_key(&seq, |s| s.seq).ok().map(|i| &trimmable[i]);
        if !sealed.is_some_and(|s| s.verifies(bytes)) {
            return below.map(|_| seq);
        }
        below = Some(seq + 1);
    }
    below
}
