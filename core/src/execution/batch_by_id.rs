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
//! The ids are resolved a window at a time before the window is applied:
//! every id is hashed first, the window's ids are grouped by registry shard
//! (one read lock per shard and window), and each shard's lookups go in
//! groups whose table buckets and id texts are fetched together, so their
//! misses overlap; the apply loop then prefetches each record's slot ahead,
//! as the handle batch does.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::execution::batch::{Applied, BatchSummary, PREFETCH_DISTANCE};
use crate::execution::heartbeat_record::{HeartbeatRecord, Outcome, OutcomeRecord};
use crate::execution::node_registry::{NO_SLOT, Registry};
use crate::execution::snapshot_memo::SnapshotMemo;

/// Records resolved, then applied, at a time: the window's ids, hashes and
/// slots stay in cache between the two.
const WINDOW: usize = 4096;

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
        let nodes = &self.execution.nodes;
        // Validated whole first: all or nothing. The ids and their hashes
        // are kept for the lookups.
        let mut names = Vec::with_capacity(records.len());
        let mut hashes = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            r.validate().map_err(|e| e.context(format_args!("record {i}")))?;
            if r.handle().to_raw() != 0 {
                return Err(Error::invalid(format!(
                    "record {i}: carries a node handle; a batch by id names its nodes by id alone"
                )));
            }
            let id = ids.id(i)?;
            names.push(id);
            hashes.push(nodes.hash(id));
        }
        let now_ms = self.clock.now_ms();
        // One set of window buffers per batch, reused by its windows.
        let (mut order, mut bounds, mut slots) = (Vec::new(), Vec::new(), Vec::new());
        let mut summary = BatchSummary::default();
        let windows = names.chunks(WINDOW).zip(hashes.chunks(WINDOW));
        for ((names, hashes), (records, outcomes)) in
            windows.zip(records.chunks(WINDOW).zip(outcomes.chunks_mut(WINDOW)))
        {
            slots.clear();
            slots.resize(records.len(), NO_SLOT);
            Registry::group_by_shard(hashes, &mut order, &mut bounds);
            nodes.lookup_grouped(names, hashes, &order, &bounds, &mut slots);
            summary = summary.merge(self.apply_slots(records, &slots, outcomes, now_ms));
        }
        Ok(summary)
    }

    /// Applies `records[k]` to the node in `slots[k]`, in order, prefetching slots ahead.
    fn apply_slots(
        &self,
        records: &[HeartbeatRecord],
        slots: &[u32],
        outcomes: &mut [OutcomeRecord],
        now_ms: u64,
    ) -> BatchSummary {
        let mut summary = BatchSummary::default();
        let mut memo = SnapshotMemo::default();
        for (k, (record, out)) in records.iter().zip(outcomes).enumerate() {
            if let Some(&ahead) = slots.get(k + PREFETCH_DISTANCE).filter(|&&s| s != NO_SLOT) {
                self.prefetch_slot(self.execution.handle(ahead));
            }
            let applied: Applied = match slots[k] {
                NO_SLOT => (Outcome::UnknownNode, None),
                slot => match self.resolve(self.execution.handle(slot)) {
                    Ok(node) => self.apply_resolved(node, record, now_ms, None, &mut memo),
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
