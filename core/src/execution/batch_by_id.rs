//! Batch ingest of heartbeat records whose nodes are named by id, not by
//! handle: what a caller that knows only ids (JSON over HTTP, a data frame,
//! a `String[]`) hands over without a lookup call per node.
//!
//! The ids come as an [`IdColumn`], the layout of an Arrow string column
//! (offsets into one byte buffer), beside the records, whose handle field
//! must be zero. The guarantees are the handle batch's
//! ([`Engine::ingest_records`]): a malformed record or id rejects the whole
//! batch, naming its index, before anything is applied; a well-formed batch
//! gets one outcome per record, in place, with a node that is not enrolled
//! refused as [`Outcome::UnknownNode`](crate::record::Outcome::UnknownNode)
//! at its record's index; the records of one node are applied in batch
//! order.
//!
//! Every record is validated and its id hashed first (over the thread pool
//! for a large batch). Then the batch goes a window at a time: the window's
//! records are grouped by the registry shard of their id (a stable counting
//! sort), which groups them **by node** — one id, one hash, one shard — with
//! a node's records in batch order, as the handle batch splits by slot. A
//! large batch's window is split over the thread pool into parts of
//! whole shards, so a part takes each of its shards' read locks once and no
//! other thread touches them. A part looks its ids up shard by shard, in
//! groups whose table buckets, id texts and slots are fetched together so
//! their misses overlap, then applies its records, prefetching slots and
//! records ahead. Its outcomes are written next to each other and copied to
//! their places after the window, so two threads never write one cache line.
//! A small batch is one part, on the calling thread, applied in batch order
//! (as the handle batch applies one), its records read one after the other.

use rayon::prelude::*;

use crate::authority::snapshot::{Snapshot, parse_snapshot_id};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::execution::batch::{
    Applied, BatchSummary, PARALLEL_CHUNK, PREFETCH_DISTANCE, RECORD_PREFETCH_DISTANCE, prefetch_record,
};
use crate::execution::heartbeat::{Directive, DirectiveKind};
use crate::execution::heartbeat_record::{HeartbeatRecord, Outcome, OutcomeRecord};
use crate::execution::ingest::NodeRef;
use crate::execution::node_registry::{NO_SLOT, Registry};
use crate::execution::snapshot_memo::SnapshotMemo;
use crate::id::validate_snapshot_id;

/// Records resolved, then applied, at a time: the window's ids, hashes and
/// slots stay in cache between the two.
const WINDOW: usize = 8192;

/// A chunk of a batch being checked: its records, and where their ids and
/// hashes go.
type Unchecked<'c, 'a> = ((&'c [HeartbeatRecord], &'c mut [&'a str]), &'c mut [u64]);

/// How a batch's windows are split, and their working buffers, allocated
/// once per batch and reused by each of its windows.
struct Buffers<A> {
    /// Parts a window is split into (1: applied on the calling thread).
    parts: usize,
    /// The window's record indices grouped by shard, in batch order within one.
    order: Vec<u32>,
    /// Shard `s`'s records are `order[bounds[s]..bounds[s + 1]]`.
    bounds: Vec<usize>,
    /// `slots[j]`: the slot of record `order[j]`'s node, or [`NO_SLOT`].
    slots: Vec<u32>,
    /// `staged[j]`: the answer to record `order[j]`.
    staged: Vec<A>,
    /// Of a window in one part: `in_order[k]`, the slot of record `k`'s node.
    in_order: Vec<u32>,
}

/// One window of a batch: its records, their ids and the ids' hashes, and
/// the batch index of its first record.
#[derive(Clone, Copy)]
struct Window<'w, 'a> {
    base: usize,
    names: &'w [&'a str],
    hashes: &'w [u64],
    records: &'w [HeartbeatRecord],
}

/// What a batch by id does with a record once its node is found, and what
/// it answers: the one difference between [`Engine::ingest_by_id`] (outcome
/// records) and [`Engine::ingest_by_id_scoped`] (answers with the
/// directive's snapshot, for a caller of some workspaces whose records name
/// their applied snapshot by id). The lookups, the split and the order of
/// application are the same for both.
trait Answering<'e>: Sync {
    /// One record's answer.
    type Answer: Copy + Send;

    /// A placeholder answer, overwritten before it is read.
    fn blank(&self) -> Self::Answer;

    /// Checks record `i` beyond what every batch by id checks; the error
    /// names the record.
    fn check(&self, i: usize, record: &HeartbeatRecord) -> Result<()>;

    /// Applies record `i` to `node` (`None`: no enrolled node has its id):
    /// its answer, and what a summary counts of it.
    fn apply(
        &self,
        engine: &'e Engine,
        node: Option<NodeRef<'e>>,
        i: usize,
        record: &HeartbeatRecord,
        now_ms: u64,
        memo: &mut SnapshotMemo,
    ) -> (Self::Answer, (Outcome, bool));
}

/// [`Engine::ingest_by_id`]'s answers: outcome records, records as given.
struct Records;

impl<'e> Answering<'e> for Records {
    type Answer = OutcomeRecord;

    fn blank(&self) -> OutcomeRecord {
        OutcomeRecord::default()
    }

    fn check(&self, _: usize, _: &HeartbeatRecord) -> Result<()> {
        Ok(())
    }

    #[inline]
    fn apply(
        &self,
        engine: &'e Engine,
        node: Option<NodeRef<'e>>,
        _: usize,
        record: &HeartbeatRecord,
        now_ms: u64,
        memo: &mut SnapshotMemo,
    ) -> (OutcomeRecord, (Outcome, bool)) {
        let applied: Applied = match node {
            Some(node) => engine.apply_resolved(node, record, now_ms, None, memo),
            None => (Outcome::UnknownNode, None),
        };
        let mut out = OutcomeRecord::default();
        let counted = out.apply(applied);
        (out, counted)
    }
}

/// [`Engine::ingest_by_id_scoped`]'s answers: records whose applied
/// snapshot is named by id text, refused outside the caller's workspaces.
struct Scoped<'c, F> {
    /// `applied[i]`: record `i`'s applied snapshot id, as the node sent it.
    applied: &'c [Option<&'c str>],
    /// Whether the caller may report for a node of this workspace.
    in_scope: F,
}

impl<'e, F: Fn(&str) -> bool + Sync> Answering<'e> for Scoped<'_, F> {
    type Answer = HeartbeatAnswer<'e>;

    fn blank(&self) -> HeartbeatAnswer<'e> {
        HeartbeatAnswer { outcome: Outcome::UnknownNode, snapshot: None }
    }

    /// The id is checked as the single call checks one of another cluster
    /// (one of the node's own cluster passes the same check: a cluster id
    /// is a valid id, and `@r` and ten digits fit the longer limit).
    fn check(&self, i: usize, record: &HeartbeatRecord) -> Result<()> {
        match (self.applied[i], record.applied()) {
            (None, None) => Ok(()),
            (Some(id), Some((0, _))) => {
                validate_snapshot_id("applied snapshot id", id).map_err(|e| e.context(format_args!("record {i}")))
            }
            (Some(_), Some(_)) => Err(Error::invalid(format!(
                "record {i}: carries an applied revision; this batch names the applied snapshot by id"
            ))),
            _ => Err(Error::invalid(format!("record {i}: applied_snapshot and applied_hash go together"))),
        }
    }

    #[inline]
    fn apply(
        &self,
        engine: &'e Engine,
        node: Option<NodeRef<'e>>,
        i: usize,
        record: &HeartbeatRecord,
        now_ms: u64,
        memo: &mut SnapshotMemo,
    ) -> (HeartbeatAnswer<'e>, (Outcome, bool)) {
        // Outside the caller's workspaces: refused exactly as an id of no node.
        let Some(node) = node.filter(|node| (self.in_scope)(&node.cluster.workspace)) else {
            return (self.blank(), (Outcome::UnknownNode, false));
        };
        // A snapshot of the node's own cluster is its revision; any other
        // (checked by `check`) counts as none, as on the single call.
        let resolved;
        let record = match (self.applied[i], record.applied()) {
            (Some(id), Some((_, hash))) => {
                let revision = parse_snapshot_id(id).filter(|&(c, _)| c == &*node.cluster.id).map_or(0, |(_, r)| r);
                resolved = record.with_applied(revision, hash);
                &resolved
            }
            _ => record,
        };
        let (outcome, directive) = engine.apply_resolved(node, record, now_ms, None, memo);
        // The directive's snapshot (a directive is rare: found in the cluster).
        let snapshot = directive.and_then(|(revision, _)| node.cluster.authority.snapshot(revision));
        (HeartbeatAnswer { outcome, snapshot }, (outcome, snapshot.is_some()))
    }
}

/// What [`Engine::ingest_by_id_scoped`] answers to one heartbeat: its
/// outcome and, with a directive, the snapshot to pull (its id and hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeartbeatAnswer<'e> {
    /// What happened.
    pub outcome: Outcome,
    /// The directive's snapshot, when the outcome is `Reconcile` or `ForceSync`.
    pub snapshot: Option<&'e Snapshot>,
}

impl<'e> HeartbeatAnswer<'e> {
    /// The directive back to the node, if any.
    pub fn directive(&self) -> Option<Directive<'e>> {
        let kind = match self.outcome {
            Outcome::Reconcile => DirectiveKind::Reconcile,
            Outcome::ForceSync => DirectiveKind::ForceSync,
            _ => return None,
        };
        self.snapshot.map(|snapshot| Directive { kind, snapshot })
    }
}

/// The node ids of a by-id batch, laid out as an Arrow string column:
/// id `i` is `bytes[offsets[i]..offsets[i + 1]]`, so `offsets` holds one
/// entry more than there are ids. Offsets never decrease and stay within
/// `bytes`; the first need not be zero (a slice of a longer column).
///
/// ```
/// use fleetgov::IdColumn;
/// let column = IdColumn::new(&[0, 4, 9], b"gw-1gw-22").unwrap();
/// assert_eq!(column.len(), 2);
/// assert!(IdColumn::new(&[0, 4, 3], b"gw-1").is_err());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct IdColumn<'a> {
    offsets: &'a [i32],
    bytes: &'a [u8],
}

impl<'a> IdColumn<'a> {
    /// Checks the column's shape (the ids themselves are checked by the
    /// batch, which names the record of a malformed one).
    pub fn new(offsets: &'a [i32], bytes: &'a [u8]) -> Result<Self> {
        let Some(&first) = offsets.first() else {
            return Err(Error::invalid("an id column has one offset more than ids; it has none"));
        };
        if first < 0 {
            return Err(Error::invalid(format!("id column offset 0 is negative ({first})")));
        }
        if let Some(i) = offsets.windows(2).position(|w| w[1] < w[0]) {
            return Err(Error::invalid(format!(
                "id column offset {} ({}) is below the one before ({})",
                i + 1,
                offsets[i + 1],
                offsets[i]
            )));
        }
        let last = offsets[offsets.len() - 1];
        if usize::try_from(last).map_or(true, |l| l > bytes.len()) {
            return Err(Error::invalid(format!("id column offset {last} is past its {} bytes", bytes.len())));
        }
        Ok(IdColumn { offsets, bytes })
    }

    /// How many ids it holds.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether it holds no id.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of id `i` (`i < len()`).
    fn raw(&self, i: usize) -> &'a [u8] {
        // In range and ordered: checked by `new`.
        &self.bytes[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Id `i`, checked as a node id; the error names record `i`.
    fn id(&self, i: usize) -> Result<&'a str> {
        std::str::from_utf8(self.raw(i))
            .map_err(|_| Error::invalid("node id is not UTF-8"))
            .and_then(|id| crate::id::validate_id("node", id).map(|()| id))
            .map_err(|e| e.context(format_args!("record {i}")))
    }
}

/// An owned [`IdColumn`], built id by id.
///
/// ```
/// use fleetgov::IdBuffer;
/// let ids: IdBuffer = ["gw-1", "gw-2"].into_iter().collect();
/// assert_eq!(ids.column().len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdBuffer {
    offsets: Vec<i32>,
    bytes: Vec<u8>,
}

impl Default for IdBuffer {
    fn default() -> Self {
        IdBuffer { offsets: vec![0], bytes: Vec::new() }
    }
}

impl IdBuffer {
    /// Appends `id`. Ids past 2 GiB in all do not fit an Arrow string
    /// column: `InvalidInput`, and the buffer is unchanged.
    ///
    /// ```
    /// let mut ids = fleetgov::IdBuffer::default();
    /// ids.push("gw-1").unwrap();
    /// assert_eq!(ids.column().len(), 1);
    /// ```
    pub fn push(&mut self, id: &str) -> Result<()> {
        let end = i32::try_from(self.bytes.len() + id.len())
            .map_err(|_| Error::invalid("an id column holds at most 2 GiB of ids"))?;
        self.bytes.extend_from_slice(id.as_bytes());
        self.offsets.push(end);
        Ok(())
    }

    /// The ids as a column.
    pub fn column(&self) -> IdColumn<'_> {
        IdColumn { offsets: &self.offsets, bytes: &self.bytes }
    }

    /// The column of ids `range` (a slice, as Arrow slices a column).
    /// Panics, as slicing does, if `range` is past the ids.
    ///
    /// ```
    /// let ids: fleetgov::IdBuffer = ["gw-1", "gw-2", "gw-3"].into_iter().collect();
    /// assert_eq!(ids.slice(1..3).len(), 2);
    /// ```
    pub fn slice(&self, range: std::ops::Range<usize>) -> IdColumn<'_> {
        IdColumn { offsets: &self.offsets[range.start..range.end + 1], bytes: &self.bytes }
    }
}

impl<'s> FromIterator<&'s str> for IdBuffer {
    /// Panics past 2 GiB of ids, which [`push`](IdBuffer::push) refuses.
    fn from_iter<I: IntoIterator<Item = &'s str>>(ids: I) -> Self {
        let mut buffer = IdBuffer::default();
        for id in ids {
            buffer.push(id).expect("an id column holds at most 2 GiB of ids");
        }
        buffer
    }
}

impl Engine {
    /// Applies heartbeat records whose nodes are named by `ids` (id `i`
    /// names record `i`; each record's handle field must be zero) and writes
    /// one outcome per record into `outcomes`, as
    /// [`ingest_records`](Self::ingest_records) does for records by handle.
    ///
    /// Refused whole, before anything is applied (`InvalidInput`, naming
    /// the first bad record): a malformed record, a record carrying a
    /// handle, an id that is not a valid node id ([`validate_id`](crate::validate_id)),
    /// a count of ids other than of records, or an outcome buffer shorter
    /// than the batch. A well-formed id of no enrolled node is refused at its
    /// record alone, as `Outcome::UnknownNode`. A node's records are applied
    /// in batch order.
    ///
    /// ```
    /// use fleetgov::record::{HeartbeatRecord, Outcome, OutcomeRecord};
    /// use fleetgov::*;
    /// let e = demo::engine(1_700_000_000_000).unwrap();
    /// let s = e.desired("eks-prod-us").unwrap().unwrap();
    /// let r = HeartbeatRecord::new(NodeHandle::from_raw(0), 1_700_000_000_000, "3.6.1".parse().unwrap(),
    ///     ProcessStatus::Ready, Metrics::default()).with_applied(s.revision, s.hash);
    /// let ids: IdBuffer = ["gw-prod-us-1", "gw-nowhere"].into_iter().collect();
    /// let mut out = [OutcomeRecord::default(); 2];
    /// let summary = e.ingest_by_id(ids.column(), &[r, r], &mut out).unwrap();
    /// assert_eq!((summary.accepted, summary.refused), (1, 1));
    /// assert_eq!(out[0].outcome(), Some(Outcome::Accepted));
    /// assert_eq!(out[1].outcome(), Some(Outcome::UnknownNode));
    /// ```
    pub fn ingest_by_id(
        &self,
        ids: IdColumn<'_>,
        records: &[HeartbeatRecord],
        outcomes: &mut [OutcomeRecord],
    ) -> Result<BatchSummary> {
        self.ingest_answering(&Records, ids, records, outcomes)
    }

    /// Applies the heartbeats of a caller that may report only for nodes of
    /// some workspaces and names each applied snapshot by its id, as the
    /// node sent it: [`ingest_by_id`](Self::ingest_by_id), with one registry
    /// lookup per record serving the scope check, the applied snapshot and
    /// the ingest. Returns one answer per record: its outcome and the
    /// directive's snapshot, if any.
    ///
    /// `applied[i]` is record `i`'s applied snapshot id; the record then
    /// carries the applied hash with revision 0
    /// (`with_applied(0, hash)`), and without an id no applied snapshot at
    /// all. An id of the node's own cluster counts as that revision; a
    /// revision never published, or a snapshot of another cluster, counts
    /// as none (the node shows no applied snapshot id, only its hash), as on
    /// [`heartbeat_by_id`](Self::heartbeat_by_id). A node whose cluster's
    /// workspace `in_scope` refuses is answered `Outcome::UnknownNode`, as
    /// an id of no node is, and nothing of it changes.
    ///
    /// Refused whole, before anything is applied (`InvalidInput`, naming
    /// the first bad record): what [`ingest_by_id`](Self::ingest_by_id)
    /// refuses, a count of applied ids other than of records, an applied id
    /// without an applied hash or the other way round, an applied id that
    /// fails [`validate_snapshot_id`](crate::validate_snapshot_id), or a
    /// record that carries an applied revision besides its id.
    ///
    /// ```
    /// use fleetgov::record::{HeartbeatRecord, Outcome};
    /// use fleetgov::*;
    /// let e = demo::engine(1_700_000_000_000).unwrap();
    /// let old = e.snapshot("gke-stage-eu@r1").unwrap();
    /// let r = HeartbeatRecord::new(NodeHandle::from_raw(0), 1_700_000_000_000, "3.6.1".parse().unwrap(),
    ///     ProcessStatus::Ready, Metrics::default()).with_applied(0, old.hash);
    /// let ids: IdBuffer = ["gw-stage-eu-1", "gw-prod-us-1"].into_iter().collect();
    /// let applied = [Some("gke-stage-eu@r1"), Some("gke-stage-eu@r1")];
    /// // A caller of another workspace reaches neither node.
    /// let (summary, answers) = e.ingest_by_id_scoped(ids.column(), &applied, &[r, r], |w| w == "other").unwrap();
    /// assert_eq!((summary.accepted, summary.refused), (0, 2));
    /// assert_eq!(answers[0].outcome, Outcome::UnknownNode);
    /// // One of acme-edge: the stage node runs r1 of an auto-reconciling
    /// // cluster and is told to pull r2; the other reported a snapshot of
    /// // another cluster, which counts as none.
    /// let (summary, answers) = e.ingest_by_id_scoped(ids.column(), &applied, &[r, r], |w| w == "acme-edge").unwrap();
    /// assert_eq!((summary.accepted, summary.directives), (2, 1));
    /// let directive = answers[0].directive().unwrap();
    /// assert_eq!((directive.kind, directive.snapshot.id.as_str()), (DirectiveKind::Reconcile, "gke-stage-eu@r2"));
    /// assert_eq!(answers[1].outcome, Outcome::Accepted);
    /// assert_eq!(e.node("gw-prod-us-1", 1_700_000_000_000).unwrap().applied_snapshot_id, None);
    /// ```
    pub fn ingest_by_id_scoped<'e>(
        &'e self,
        ids: IdColumn<'_>,
        applied: &[Option<&str>],
        records: &[HeartbeatRecord],
        in_scope: impl Fn(&str) -> bool + Sync,
    ) -> Result<(BatchSummary, Vec<HeartbeatAnswer<'e>>)> {
        if applied.len() != records.len() {
            return Err(Error::invalid(format!(
                "{} applied snapshot ids for {} records",
                applied.len(),
                records.len()
            )));
        }
        let scoped = Scoped { applied, in_scope };
        let mut answers = vec![scoped.blank(); records.len()];
        let summary = self.ingest_answering(&scoped, ids, records, &mut answers)?;
        Ok((summary, answers))
    }

    /// A batch by id, answered by `answering`: the checks, then the
    /// windows, each resolved and applied.
    fn ingest_answering<'e, 'a, A: Answering<'e>>(
        &'e self,
        answering: &A,
        ids: IdColumn<'a>,
        records: &[HeartbeatRecord],
        outcomes: &mut [A::Answer],
    ) -> Result<BatchSummary> {
        if ids.len() != records.len() {
            return Err(Error::invalid(format!("{} node ids for {} records", ids.len(), records.len())));
        }
        if outcomes.len() < records.len() {
            return Err(Error::invalid(format!(
                "outcome buffer holds {} records, the batch has {}",
                outcomes.len(),
                records.len()
            )));
        }
        if u32::try_from(records.len()).is_err() {
            return Err(Error::invalid(format!("a batch holds fewer than 2^32 records, not {}", records.len())));
        }
        // Validated whole first: all or nothing. The ids and their hashes
        // are kept for the lookups. A large batch is checked over the pool,
        // chunk by chunk; the error still names the first bad record.
        let parallel = records.len() >= 2 * PARALLEL_CHUNK && rayon::current_num_threads() > 1;
        let mut names: Vec<&'a str> = vec![""; records.len()];
        let mut hashes = vec![0; records.len()];
        let check = |(c, ((records, names), hashes)): (usize, Unchecked<'_, 'a>)| {
            self.check_chunk(answering, ids, c * PARALLEL_CHUNK, records, names, hashes).err()
        };
        let first = if parallel {
            let chunks = records.par_chunks(PARALLEL_CHUNK).zip(names.par_chunks_mut(PARALLEL_CHUNK));
            chunks.zip(hashes.par_chunks_mut(PARALLEL_CHUNK)).enumerate().find_map_first(check)
        } else {
            let chunks = records.chunks(PARALLEL_CHUNK).zip(names.chunks_mut(PARALLEL_CHUNK));
            chunks.zip(hashes.chunks_mut(PARALLEL_CHUNK)).enumerate().find_map(check)
        };
        if let Some(e) = first {
            return Err(e);
        }
        let now_ms = self.clock.now_ms();
        // Parts of whole shards: a few per thread, so one slow part does not
        // hold the window up.
        let parts = if parallel { rayon::current_num_threads() * 4 } else { 1 };
        let mut buffers = Buffers {
            parts,
            order: Vec::new(),
            bounds: Vec::new(),
            slots: Vec::new(),
            staged: Vec::new(),
            in_order: Vec::new(),
        };
        let mut summary = BatchSummary::default();
        let windows = names
            .chunks(WINDOW)
            .zip(hashes.chunks(WINDOW))
            .zip(records.chunks(WINDOW))
            .zip(outcomes.chunks_mut(WINDOW));
        for (w, (((names, hashes), records), outcomes)) in windows.enumerate() {
            let window = Window { base: w * WINDOW, names, hashes, records };
            summary = summary.merge(self.apply_window(answering, &mut buffers, &window, outcomes, now_ms));
        }
        Ok(summary)
    }

    /// [`ingest_by_id`](Self::ingest_by_id) over binary records and outcome
    /// records in byte buffers (as [`ingest_batch`](Self::ingest_batch)
    /// takes them): what a binding hands over from its own buffers.
    ///
    /// ```
    /// use fleetgov::record::{HeartbeatRecord, Outcome, OutcomeRecord, OUTCOME_SIZE};
    /// use fleetgov::*;
    /// let e = demo::engine(1_700_000_000_000).unwrap();
    /// let r = HeartbeatRecord::new(NodeHandle::from_raw(0), 1_700_000_000_000, "3.6.1".parse().unwrap(),
    ///     ProcessStatus::Ready, Metrics::default());
    /// let ids: IdBuffer = ["gw-prod-us-1"].into_iter().collect();
    /// let mut out = vec![0u8; OUTCOME_SIZE];
    /// e.ingest_batch_by_id(ids.column(), zerocopy::IntoBytes::as_bytes(&r), &mut out).unwrap();
    /// assert_eq!(OutcomeRecord::from_bytes_mut(&mut out).unwrap()[0].outcome(), Some(Outcome::Accepted));
    /// ```
    pub fn ingest_batch_by_id(&self, ids: IdColumn<'_>, records: &[u8], outcomes: &mut [u8]) -> Result<BatchSummary> {
        let records = HeartbeatRecord::view_all(records)?;
        let outcomes = OutcomeRecord::from_bytes_mut(outcomes)?;
        self.ingest_by_id(ids, records, outcomes)
    }

    /// Validates `records` (the batch's records from index `start` on) and
    /// their ids, as every batch by id and `answering` check them, and
    /// writes each id and its hash into `names` and `hashes`. The error
    /// names the first bad record by its index in the batch.
    fn check_chunk<'e, 'a>(
        &self,
        answering: &impl Answering<'e>,
        ids: IdColumn<'a>,
        start: usize,
        records: &[HeartbeatRecord],
        names: &mut [&'a str],
        hashes: &mut [u64],
    ) -> Result<()> {
        for (i, ((r, name), hash)) in records.iter().zip(names).zip(hashes).enumerate() {
            let i = start + i;
            r.validate().map_err(|e| e.context(format_args!("record {i}")))?;
            if r.handle().to_raw() != 0 {
                return Err(Error::invalid(format!(
                    "record {i}: carries a node handle; a batch by id names its nodes by id alone"
                )));
            }
            answering.check(i, r)?;
            *name = ids.id(i)?;
            *hash = self.execution.nodes.hash(name);
        }
        Ok(())
    }

    /// Resolves and applies one window in `buffers.parts` parts of whole
    /// shards (over the thread pool when more than one), with `buffers`. A
    /// window in one part is applied in batch order, as the handle batch
    /// applies a small batch.
    fn apply_window<'e, A: Answering<'e>>(
        &'e self,
        answering: &A,
        buffers: &mut Buffers<A::Answer>,
        window: &Window<'_, '_>,
        outcomes: &mut [A::Answer],
        now_ms: u64,
    ) -> BatchSummary {
        let Window { names, hashes, records, .. } = *window;
        let Buffers { parts, order, bounds, slots, staged, in_order } = buffers;
        Registry::group_by_shard(hashes, order, bounds);
        slots.clear();
        slots.resize(records.len(), NO_SLOT);
        let shards = bounds.len() - 1;
        let parts = (*parts).clamp(1, shards);
        let (order, bounds) = (&order[..], &bounds[..]);
        // Looks up the ids of shards `shards` into `slots`, aligned with
        // their stretch of `order`.
        let lookup = |shards: std::ops::Range<usize>, slots: &mut [u32]| {
            let base = bounds[shards.start];
            for s in shards {
                if bounds[s] < bounds[s + 1] {
                    let (from, to) = (bounds[s] - base, bounds[s + 1] - base);
                    self.execution.nodes.lookup_shard(
                        s,
                        names,
                        hashes,
                        &order[bounds[s]..bounds[s + 1]],
                        &mut slots[from..to],
                    );
                }
            }
        };
        if parts == 1 {
            lookup(0..shards, slots);
            in_order.clear();
            in_order.resize(records.len(), NO_SLOT);
            for (&k, &slot) in order.iter().zip(slots.iter()) {
                in_order[k as usize] = slot;
            }
            return self.apply_slots(answering, window, |k| k, in_order, outcomes, now_ms);
        }
        staged.clear();
        staged.resize(records.len(), answering.blank());
        // Part `p` holds shards `p * shards / parts ..`: one stretch of `order`.
        let (mut slots_left, mut staged_left) = (&mut slots[..], &mut staged[..]);
        let mut work = Vec::with_capacity(parts);
        for p in 0..parts {
            let (first, last) = (p * shards / parts, (p + 1) * shards / parts);
            let len = bounds[last] - bounds[first];
            let (part_slots, rest) = std::mem::take(&mut slots_left).split_at_mut(len);
            slots_left = rest;
            let (part_staged, rest) = std::mem::take(&mut staged_left).split_at_mut(len);
            staged_left = rest;
            work.push((first..last, part_slots, part_staged));
        }
        let summary = work
            .into_par_iter()
            .map(|(shards, slots, staged): (std::ops::Range<usize>, &mut [u32], &mut [A::Answer])| {
                let part = &order[bounds[shards.start]..bounds[shards.end]];
                lookup(shards, slots);
                self.apply_slots(answering, window, |j| part[j] as usize, slots, staged, now_ms)
            })
            .reduce(BatchSummary::default, BatchSummary::merge);
        for (&k, out) in order.iter().zip(staged.iter()) {
            outcomes[k as usize] = *out;
        }
        summary
    }

    /// Applies record `records[at(j)]` of `window` to the node in
    /// `slots[j]` and writes its answer to `out[j]`, for every `j` in turn,
    /// prefetching slots and records ahead.
    fn apply_slots<'e, A: Answering<'e>>(
        &'e self,
        answering: &A,
        window: &Window<'_, '_>,
        at: impl Fn(usize) -> usize,
        slots: &[u32],
        out: &mut [A::Answer],
        now_ms: u64,
    ) -> BatchSummary {
        let records = window.records;
        let mut summary = BatchSummary::default();
        let mut memo = self.execution.memos.take();
        for (j, (&slot, out)) in slots.iter().zip(out).enumerate() {
            if let Some(&ahead) = slots.get(j + PREFETCH_DISTANCE).filter(|&&s| s != NO_SLOT) {
                self.prefetch_slot(self.execution.handle(ahead));
            }
            if j + RECORD_PREFETCH_DISTANCE < slots.len() {
                prefetch_record(&records[at(j + RECORD_PREFETCH_DISTANCE)]);
            }
            let node = match slot {
                NO_SLOT => None,
                slot => self.resolve(self.execution.handle(slot)).ok(),
            };
            let k = at(j);
            let (answer, counted) = answering.apply(self, node, window.base + k, &records[k], now_ms, &mut memo);
            *out = answer;
            summary.count(counted);
        }
        self.execution.memos.give(memo);
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_is_checked_for_shape() {
        assert!(IdColumn::new(&[], b"").unwrap_err().message().contains("has none"));
        assert!(IdColumn::new(&[-1, 2], b"ab").unwrap_err().message().contains("negative"));
        assert!(IdColumn::new(&[0, 2, 1], b"ab").unwrap_err().message().contains("offset 2 (1) is below"));
        assert!(IdColumn::new(&[0, 3], b"ab").unwrap_err().message().contains("past its 2 bytes"));
        let c = IdColumn::new(&[1, 2, 2], b"ab").unwrap();
        assert_eq!((c.len(), c.raw(0), c.raw(1)), (2, &b"b"[..], &b""[..]));
        assert!(c.id(1).unwrap_err().message().contains("record 1"));
        assert!(IdColumn::new(&[0], b"").unwrap().is_empty());
    }

    const NOW: u64 = 1_700_000_000_000;

    /// The demo fleet, and a node `other-1` of workspace `other-ws`.
    fn two_workspaces() -> Engine {
        let e = crate::demo::engine(NOW).unwrap();
        e.upsert_workspace(crate::WorkspaceSpec::new("other-ws")).unwrap();
        let spec = crate::ClusterSpec::new("other-c", "other-ws", crate::Environment::Staging).auto_reconcile(true);
        e.upsert_cluster(spec).unwrap();
        e.publish("other-c", b"a", "p", NOW).unwrap();
        e.enroll("other-1", "other-c", NOW).unwrap();
        e
    }

    fn record(applied: Option<crate::ContentHash>) -> HeartbeatRecord {
        let r = HeartbeatRecord::new(
            crate::NodeHandle::from_raw(0),
            NOW,
            "3.6.1".parse().unwrap(),
            crate::ProcessStatus::Ready,
            crate::Metrics::default(),
        );
        applied.map_or(r, |hash| r.with_applied(0, hash))
    }

    /// A node of a workspace outside the caller's scope is answered as an id
    /// of no node is (the outcome the server words as `NOT_FOUND`, node not
    /// found) and nothing of it changes; the nodes in scope still apply. A
    /// batch with a malformed applied id is refused whole, naming its
    /// record, and changes nothing at all.
    #[test]
    fn a_node_outside_the_scope_is_refused_as_unknown_and_unchanged() {
        let e = two_workspaces();
        let hash = e.snapshot("other-c@r1").unwrap().hash;
        let (other_before, cluster_before) = (e.node("other-1", NOW).unwrap(), e.cluster("other-c", NOW).unwrap());
        let prod_before = e.node("gw-prod-us-1", NOW).unwrap();
        let ids: IdBuffer = ["other-1", "gw-nowhere", "gw-prod-us-1"].into_iter().collect();
        let records = [record(Some(hash)), record(Some(hash)), record(None)];
        let applied = [Some("other-c@r1"), Some("other-c@r1"), None];

        // Malformed: refused whole, before anything is applied.
        let bad = [Some("other-c@r1"), Some("not a snapshot!"), None];
        let err = e.ingest_by_id_scoped(ids.column(), &bad, &records, |_| true).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(err.message().starts_with("record 1: applied snapshot id"), "{}", err.message());
        let short = e.ingest_by_id_scoped(ids.column(), &applied[..2], &records, |_| true).unwrap_err();
        assert_eq!(short.message(), "2 applied snapshot ids for 3 records");
        let unpaired = [None, Some("other-c@r1"), None];
        let err = e.ingest_by_id_scoped(ids.column(), &unpaired, &records, |_| true).unwrap_err();
        assert_eq!(err.message(), "record 0: applied_snapshot and applied_hash go together");
        let revision = [record(None), record(None), record(None).with_applied(1, hash)];
        let err = e.ingest_by_id_scoped(ids.column(), &[None, None, Some("other-c@r1")], &revision, |_| true);
        assert!(err.unwrap_err().message().starts_with("record 2: carries an applied revision"));
        assert_eq!(e.node("other-1", NOW).unwrap(), other_before);
        assert_eq!(e.node("gw-prod-us-1", NOW).unwrap(), prod_before);

        let (summary, answers) =
            e.ingest_by_id_scoped(ids.column(), &applied, &records, |w| w == crate::demo::WORKSPACE).unwrap();
        assert_eq!(summary, BatchSummary { accepted: 1, directives: 0, refused: 2 });
        assert_eq!(answers[0], answers[1], "out of scope answers as an unknown id");
        assert_eq!(answers[0], HeartbeatAnswer { outcome: Outcome::UnknownNode, snapshot: None });
        assert_eq!(answers[2].outcome, Outcome::Accepted);
        assert_eq!(e.node("other-1", NOW).unwrap(), other_before, "nothing of it changed");
        assert_eq!(e.cluster("other-c", NOW).unwrap(), cluster_before);
        assert_eq!(e.node("gw-prod-us-1", NOW).unwrap().last_heartbeat_ms, Some(NOW), "in scope: applied");

        // The same batch by a caller of its workspace reaches it.
        let (summary, answers) = e.ingest_by_id_scoped(ids.column(), &applied, &records, |_| true).unwrap();
        assert_eq!((summary.accepted, summary.refused), (2, 1));
        assert_eq!(answers[0].outcome, Outcome::Accepted);
        assert_eq!(e.node("other-1", NOW).unwrap().applied_snapshot_id.as_deref(), Some("other-c@r1"));
    }

    /// Every kind of applied snapshot id resolves as the single call by id
    /// resolves it: a revision of the node's own cluster (behind: a
    /// directive with its snapshot; current), one never published (no
    /// applied snapshot id shown, only its hash), another cluster's, one
    /// outside the `<cluster>@r<revision>` form, and none.
    #[test]
    fn an_applied_id_resolves_as_the_single_call_resolves_it() {
        let [single, batch] = [two_workspaces(), two_workspaces()];
        let r1 = single.snapshot("gke-stage-eu@r1").unwrap().hash;
        let r2 = single.snapshot("gke-stage-eu@r2").unwrap().hash;
        let cases: [(&str, Option<(&str, crate::ContentHash)>); 7] = [
            ("gw-stage-eu-1", Some(("gke-stage-eu@r1", r1))),
            ("gw-stage-eu-2", Some(("gke-stage-eu@r2", r2))),
            ("gw-stage-eu-3", Some(("gke-stage-eu@r99", r2))),
            ("gw-stage-eu-4", Some(("eks-prod-us@r2", r2))),
            ("gw-dev-west-1", Some(("local-override", r1))),
            ("gw-dev-west-2", None),
            ("other-1", Some(("other-c@r1", single.snapshot("other-c@r1").unwrap().hash))),
        ];
        let ids: IdBuffer = cases.iter().map(|(id, _)| *id).collect();
        let applied: Vec<Option<&str>> = cases.iter().map(|(_, a)| a.map(|(id, _)| id)).collect();
        let records: Vec<HeartbeatRecord> = cases.iter().map(|(_, a)| record(a.map(|(_, h)| h))).collect();
        let (summary, answers) = batch.ingest_by_id_scoped(ids.column(), &applied, &records, |_| true).unwrap();
        assert_eq!((summary.accepted, summary.refused), (7, 0));
        for ((node, reported), answer) in cases.iter().zip(&answers) {
            let mut hb = crate::Heartbeat::new(NOW, "3.6.1".parse().unwrap());
            if let Some((id, hash)) = *reported {
                hb = hb.applied(id, hash);
            }
            let want = single.heartbeat_by_id(node, &hb).unwrap();
            assert_eq!(answer.directive(), want, "{node}");
            assert_eq!(batch.node(node, NOW).unwrap(), single.node(node, NOW).unwrap(), "{node}");
        }
        let directed = answers[0].directive().expect("stage auto-reconciles a node behind");
        assert_eq!((directed.snapshot.id.as_str(), directed.snapshot.hash), ("gke-stage-eu@r2", r2));
        assert_eq!(answers[0].outcome, Outcome::Reconcile);
        let unknown = batch.node("gw-stage-eu-3", NOW).unwrap();
        assert_eq!((unknown.applied_snapshot_id, unknown.applied_hash), (None, Some(r2)));
        assert_eq!(batch.node("gw-stage-eu-2", NOW).unwrap().applied_snapshot_id.as_deref(), Some("gke-stage-eu@r2"));
        assert_eq!(batch.node("gw-stage-eu-4", NOW).unwrap().applied_snapshot_id, None, "another cluster's");
    }

    #[test]
    fn a_buffer_slices_like_an_arrow_column() {
        let ids: IdBuffer = ["a-1", "bb-2", "ccc-3"].into_iter().collect();
        let tail = ids.slice(1..3);
        assert_eq!((tail.len(), tail.id(0).unwrap(), tail.id(1).unwrap()), (2, "bb-2", "ccc-3"));
        assert_eq!(IdColumn::new(tail.offsets, tail.bytes).unwrap().len(), 2);
    }
}
