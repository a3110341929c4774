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

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::execution::batch::{
    Applied, BatchSummary, PARALLEL_CHUNK, PREFETCH_DISTANCE, RECORD_PREFETCH_DISTANCE, prefetch_record,
};
use crate::execution::heartbeat_record::{HeartbeatRecord, Outcome, OutcomeRecord};
use crate::execution::node_registry::{NO_SLOT, Registry};
use crate::execution::snapshot_memo::SnapshotMemo;

/// Records resolved, then applied, at a time: the window's ids, hashes and
/// slots stay in cache between the two.
const WINDOW: usize = 8192;

/// A chunk of a batch being checked: its records, and where their ids and
/// hashes go.
type Unchecked<'c, 'a> = ((&'c [HeartbeatRecord], &'c mut [&'a str]), &'c mut [u64]);

/// How a batch's windows are split, and their working buffers, allocated
/// once per batch and reused by each of its windows.
struct Buffers {
    /// Parts a window is split into (1: applied on the calling thread).
    parts: usize,
    /// The window's record indices grouped by shard, in batch order within one.
    order: Vec<u32>,
    /// Shard `s`'s records are `order[bounds[s]..bounds[s + 1]]`.
    bounds: Vec<usize>,
    /// `slots[j]`: the slot of record `order[j]`'s node, or [`NO_SLOT`].
    slots: Vec<u32>,
    /// `staged[j]`: the outcome of record `order[j]`.
    staged: Vec<OutcomeRecord>,
    /// Of a window in one part: `in_order[k]`, the slot of record `k`'s node.
    in_order: Vec<u32>,
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
    pub fn ingest_by_id<'a>(
        &self,
        ids: IdColumn<'a>,
        records: &[HeartbeatRecord],
        outcomes: &mut [OutcomeRecord],
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
            self.check_chunk(ids, c * PARALLEL_CHUNK, records, names, hashes).err()
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
        for (((names, hashes), records), outcomes) in
            names.chunks(WINDOW).zip(hashes.chunks(WINDOW)).zip(records.chunks(WINDOW)).zip(outcomes.chunks_mut(WINDOW))
        {
            summary = summary.merge(self.apply_window(&mut buffers, names, hashes, records, outcomes, now_ms));
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
    /// their ids, and writes each id and its hash into `names` and `hashes`.
    /// The error names the first bad record by its index in the batch.
    fn check_chunk<'a>(
        &self,
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
            *name = ids.id(i)?;
            *hash = self.execution.nodes.hash(name);
        }
        Ok(())
    }

    /// Resolves and applies one window in `buffers.parts` parts of whole
    /// shards (over the thread pool when more than one), with `buffers`. A
    /// window in one part is applied in batch order, as the handle batch
    /// applies a small batch.
    fn apply_window(
        &self,
        buffers: &mut Buffers,
        names: &[&str],
        hashes: &[u64],
        records: &[HeartbeatRecord],
        outcomes: &mut [OutcomeRecord],
        now_ms: u64,
    ) -> BatchSummary {
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
            return self.apply_slots(records, |k| k, in_order, outcomes, now_ms);
        }
        staged.clear();
        staged.resize(records.len(), OutcomeRecord::default());
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
            .map(|(shards, slots, staged): (std::ops::Range<usize>, &mut [u32], &mut [OutcomeRecord])| {
                let part = &order[bounds[shards.start]..bounds[shards.end]];
                lookup(shards, slots);
                self.apply_slots(records, |j| part[j] as usize, slots, staged, now_ms)
            })
            .reduce(BatchSummary::default, BatchSummary::merge);
        for (&k, out) in order.iter().zip(staged.iter()) {
            outcomes[k as usize] = *out;
        }
        summary
    }

    /// Applies record `records[at(j)]` to the node in `slots[j]` and writes
    /// its outcome to `out[j]`, for every `j` in turn, prefetching slots and
    /// records ahead.
    fn apply_slots(
        &self,
        records: &[HeartbeatRecord],
        at: impl Fn(usize) -> usize,
        slots: &[u32],
        out: &mut [OutcomeRecord],
        now_ms: u64,
    ) -> BatchSummary {
        let mut summary = BatchSummary::default();
        let mut memo = SnapshotMemo::default();
        for (j, (&slot, out)) in slots.iter().zip(out).enumerate() {
            if let Some(&ahead) = slots.get(j + PREFETCH_DISTANCE).filter(|&&s| s != NO_SLOT) {
                self.prefetch_slot(self.execution.handle(ahead));
            }
            if j + RECORD_PREFETCH_DISTANCE < slots.len() {
                prefetch_record(&records[at(j + RECORD_PREFETCH_DISTANCE)]);
            }
            let applied: Applied = match slot {
                NO_SLOT => (Outcome::UnknownNode, None),
                slot => match self.resolve(self.execution.handle(slot)) {
                    Ok(node) => self.apply_resolved(node, &records[at(j)], now_ms, None, &mut memo),
                    Err(_) => (Outcome::UnknownNode, None),
                },
            };
            summary.count(out.apply(applied));
        }
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

    #[test]
    fn a_buffer_slices_like_an_arrow_column() {
        let ids: IdBuffer = ["a-1", "bb-2", "ccc-3"].into_iter().collect();
        let tail = ids.slice(1..3);
        assert_eq!((tail.len(), tail.id(0).unwrap(), tail.id(1).unwrap()), (2, "bb-2", "ccc-3"));
        assert_eq!(IdColumn::new(tail.offsets, tail.bytes).unwrap().len(), 2);
    }
}
