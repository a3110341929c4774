//! A node's slot: its execution state, updated in place by heartbeats.
//!
//! Each enrolled node owns one [`Slot`] in a dense array. A heartbeat locks
//! only its own slot (a per-slot sequence lock: one CAS), rewrites the slot's
//! fields and releases it. Readers never block writers: they read the fields
//! and retry if the sequence moved. The packed [`NodeState`] word is the one
//! source of truth for counting; the other fields are details for views.

use std::sync::atomic::Ordering;

use crate::sync::{AtomicU32, AtomicU64, fence, spin_loop};

use crate::execution::heartbeat::Metrics;
use crate::execution::sync_error::SyncErrorCode;
use crate::health::ProcessStatus;

/// The packed state word of a node.
///
/// | bits  | field |
/// |-------|-------|
/// | 0–31  | applied revision (0: none, unknown or another cluster's) |
/// | 32    | enrolled |
/// | 33    | has reported at least one heartbeat |
/// | 34    | reported hash equals the hash of the reported revision |
/// | 35–36 | process status |
/// | 37–44 | sync error code (0: none) |
/// | 45    | a force sync is pending for this node |
/// | 46    | counted as fresh: its last heartbeat has not yet been found older than 60 minutes (see `crate::execution::freshness`) |
/// | 47    | counted as failing in its cluster's rollout: its last heartbeat since its wave started reported a sync error or a hash mismatch (see `crate::execution::bucket_counters`) |
/// | 48–63 | low 16 bits of the cluster force epoch this node last answered (a sweep every 2^15 cluster forces keeps the wrap from hiding one: `ClusterState::bump_force_epoch`) |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NodeState(u64);

const ENROLLED: u64 = 1 << 32;
const HAS_HB: u64 = 1 << 33;
const HASH_OK: u64 = 1 << 34;
const STATUS_SHIFT: u32 = 35;
const CODE_SHIFT: u32 = 37;
const FORCE_PENDING: u64 = 1 << 45;
const FRESH: u64 = 1 << 46;
const FAILING: u64 = 1 << 47;
const EPOCH_SHIFT: u32 = 48;

impl NodeState {
    /// A vacant slot's state.
    pub(crate) const EMPTY: NodeState = NodeState(0);

    pub(crate) fn enrolled(epoch: u16) -> Self {
        NodeState(ENROLLED | (epoch as u64) << EPOCH_SHIFT)
    }
    pub(crate) fn is_enrolled(self) -> bool {
        self.0 & ENROLLED != 0
    }
    pub(crate) fn has_heartbeat(self) -> bool {
        self.0 & HAS_HB != 0
    }
    pub(crate) fn revision(self) -> u32 {
        self.0 as u32
    }
    pub(crate) fn hash_ok(self) -> bool {
        self.0 & HASH_OK != 0
    }
    /// The revision histogram bucket: the verified applied revision, or 0.
    pub(crate) fn bucket(self) -> u32 {
        if self.has_heartbeat() && self.hash_ok() { self.revision() } else { 0 }
    }
    /// Whether the node is counted among its cluster's fresh nodes.
    pub(crate) fn is_fresh(self) -> bool {
        self.0 & FRESH != 0
    }
    /// The fresh-histogram bucket the node is counted in, if it is fresh:
    /// its verified applied revision, or 0.
    pub(crate) fn fresh_bucket(self) -> Option<u32> {
        self.is_fresh().then(|| self.bucket())
    }
    pub(crate) fn status(self) -> Option<ProcessStatus> {
        self.has_heartbeat().then(|| ProcessStatus::from_u8((self.0 >> STATUS_SHIFT) as u8 & 3)).flatten()
    }
    pub(crate) fn error_code(self) -> Option<SyncErrorCode> {
        SyncErrorCode::from_u8((self.0 >> CODE_SHIFT) as u8)
    }
    pub(crate) fn force_pending(self) -> bool {
        self.0 & FORCE_PENDING != 0
    }
    /// Whether the node is counted among its rollout's failures.
    pub(crate) fn is_failing(self) -> bool {
        self.0 & FAILING != 0
    }
    pub(crate) fn with_failing(self, on: bool) -> Self {
        NodeState(if on { self.0 | FAILING } else { self.0 & !FAILING })
    }
    pub(crate) fn epoch(self) -> u16 {
        (self.0 >> EPOCH_SHIFT) as u16
    }

    /// The state after a heartbeat reporting `revision` (verified or not),
    /// `status` and `code`: fresh, with the force and failing bits kept
    /// (the heartbeat's rollout decides the failing bit, see
    /// [`with_failing`](Self::with_failing)).
    pub(crate) fn observed(
        self,
        revision: u32,
        hash_ok: bool,
        status: ProcessStatus,
        code: Option<SyncErrorCode>,
    ) -> Self {
        let keep = self.0 & (ENROLLED | FORCE_PENDING | FAILING | 0xffff << EPOCH_SHIFT);
        NodeState(
            keep | HAS_HB
                | FRESH
                | revision as u64
                | if hash_ok { HASH_OK } else { 0 }
                | (status as u64) << STATUS_SHIFT
                | (code.map_or(0, |c| c as u64)) << CODE_SHIFT,
        )
    }
    pub(crate) fn with_force_pending(self, on: bool) -> Self {
        NodeState(if on { self.0 | FORCE_PENDING } else { self.0 & !FORCE_PENDING })
    }
    /// The state once the node's last heartbeat is older than the freshness window.
    pub(crate) fn expired(self) -> Self {
        NodeState(self.0 & !FRESH)
    }
    pub(crate) fn with_epoch(self, epoch: u16) -> Self {
        NodeState(self.0 & !(0xffff << EPOCH_SHIFT) | (epoch as u64) << EPOCH_SHIFT)
    }
}

/// The bits of a slot's cluster word that hold the cluster index: the
/// engine holds at most 2^24 clusters.
pub(crate) const CLUSTER_BITS: u32 = 24;

/// Percent → hundredths of a percent, for packing four gauges into one word.
fn centi(p: f32) -> u64 {
    // Adding a half and truncating rounds a non-negative value without a
    // libm call (metrics are validated to be 0..=100).
    (p * 100.0 + 0.5).clamp(0.0, 10_000.0) as u64
}
fn uncenti(v: u64) -> f32 {
    (v & 0xffff) as f32 / 100.0
}

/// One node's slot: exactly one 64-byte cache line, so a heartbeat costs one
/// miss. All fields are atomics so that readers racing a writer read torn
/// values at worst, which the sequence check discards. The applied hash is
/// not here: a verified node runs its snapshot's hash, and any other hash
/// lives in the journal's side table (`odd_hash`).
#[derive(Default)]
#[repr(C, align(64))]
pub(crate) struct Slot {
    /// Sequence lock: odd while a writer is inside.
    seq: AtomicU64,
    state: AtomicU64,
    last_hb_ms: AtomicU64,
    /// cpu, memory, heap, previous heap: hundredths of a percent, 16 bits each.
    gauges: AtomicU64,
    tps: AtomicU32,
    hot_swap_errors: AtomicU32,
    version: AtomicU32,
    /// Fingerprint of the node-reported sync error detail (0: none).
    error_fp: AtomicU32,
    /// The cluster index (low [`CLUSTER_BITS`] bits) and the node's rollout
    /// bucket in it (the bits above; see [`Rank::bucket`](crate::authority::rollout::Rank::bucket)),
    /// both fixed at enrolment.
    cluster: AtomicU32,
    /// The node's latest journal entry, index + 1 (0: none).
    last_transition: AtomicU32,
    /// The reported hash when it matched no snapshot (a journal `HashRef` bits, 0: none).
    odd_hash: AtomicU32,
    /// New unmatched hashes kept this hour (see `crate::execution::unmatched`).
    unmatched_budget: AtomicU32,
}

/// A consistent copy of a slot, read under the sequence check.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlotRead {
    pub(crate) state: NodeState,
    pub(crate) last_hb_ms: u64,
    pub(crate) odd_hash: u32,
    pub(crate) last_transition: u32,
    pub(crate) metrics: Metrics,
    pub(crate) heap_prev: f32,
    pub(crate) version: u32,
}

/// Everything a heartbeat writes besides the state word.
pub(crate) struct SlotWrite<'a> {
    pub(crate) at_ms: u64,
    pub(crate) metrics: &'a Metrics,
    pub(crate) version: u32,
    pub(crate) error_fp: u32,
    pub(crate) odd_hash: u32,
}

impl Slot {
    /// Claims a vacant slot for a node of `cluster` (an index below
    /// 2^[`CLUSTER_BITS`]) in rollout bucket `bucket`. Called once, before
    /// the slot's handle is published to anyone.
    pub(crate) fn init(&self, cluster: u32, bucket: u8, epoch: u16) {
        debug_assert!(cluster < 1 << CLUSTER_BITS && bucket < crate::authority::rollout::BUCKETS);
        // Relaxed: the slot is not reachable by other threads yet; the
        // registry's lock publishes it (release on unlock, acquire on lookup).
        self.cluster.store(cluster | u32::from(bucket) << CLUSTER_BITS, Ordering::Relaxed);
        self.state.store(NodeState::enrolled(epoch).0, Ordering::Release);
    }

    /// The node's cluster index (fixed at enrolment).
    #[inline]
    pub(crate) fn cluster(&self) -> u32 {
        // Relaxed: written once before the slot was published (see `init`).
        self.cluster.load(Ordering::Relaxed) & ((1 << CLUSTER_BITS) - 1)
    }

    /// The node's rollout bucket in its cluster (fixed at enrolment).
    #[inline]
    pub(crate) fn bucket(&self) -> u8 {
        // Relaxed: as for `cluster`. The shift leaves 8 bits.
        (self.cluster.load(Ordering::Relaxed) >> CLUSTER_BITS) as u8
    }

    /// The state word, outside the lock (for filters that tolerate a race).
    #[inline]
    pub(crate) fn state(&self) -> NodeState {
        // Acquire: pairs with the release in `init`/unlock so an enrolled
        // bit is never seen before the fields it guards.
        NodeState(self.state.load(Ordering::Acquire))
    }

    /// Locks the slot for writing (spins while another writer is inside;
    /// writers of one node are rare and short).
    #[inline]
    pub(crate) fn lock(&self) -> SlotGuard<'_> {
        loop {
            // Relaxed: only a hint whether to try; the CAS below synchronises.
            let s = self.seq.load(Ordering::Relaxed);
            // Acquire on success: we see everything the previous writer wrote
            // before its releasing store of the sequence.
            if s & 1 == 0 && self.seq.compare_exchange_weak(s, s + 1, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                // Release fence: no field store below may become visible
                // before the odd sequence (readers pair it with their acquire
                // fence and re-check the sequence).
                fence(Ordering::Release);
                return SlotGuard { slot: self, seq: s + 1 };
            }
            spin_loop();
        }
    }

    /// Reads a consistent copy of the slot.
    pub(crate) fn read(&self) -> SlotRead {
        loop {
            // Acquire: pairs with the writer's releasing unlock, so the
            // fields below are at least as new as this sequence.
            let s1 = self.seq.load(Ordering::Acquire);
            if s1 & 1 == 1 {
                spin_loop();
                continue;
            }
            // Relaxed: field loads are validated by the sequence re-check.
            let r = Ordering::Relaxed;
            let g = self.gauges.load(r);
            let read = SlotRead {
                state: NodeState(self.state.load(r)),
                last_hb_ms: self.last_hb_ms.load(r),
                odd_hash: self.odd_hash.load(r),
                last_transition: self.last_transition.load(r),
                metrics: Metrics {
                    cpu: uncenti(g),
                    memory: uncenti(g >> 16),
                    heap: uncenti(g >> 32),
                    tps: f32::from_bits(self.tps.load(r)),
                    hot_swap_errors: self.hot_swap_errors.load(r),
                },
                heap_prev: uncenti(g >> 48),
                version: self.version.load(r),
            };
            // Acquire fence: the field loads above happen before the re-check.
            fence(Ordering::Acquire);
            // Relaxed: ordered by the fence above.
            if self.seq.load(Ordering::Relaxed) == s1 {
                return read;
            }
        }
    }
}

/// The write lock on one slot; unlocks on drop.
pub(crate) struct SlotGuard<'s> {
    slot: &'s Slot,
    seq: u64,
}

impl SlotGuard<'_> {
    /// The state word (stable while locked).
    #[inline]
    pub(crate) fn state(&self) -> NodeState {
        // Relaxed: we hold the lock; the acquiring CAS made the last writer's stores visible.
        NodeState(self.slot.state.load(Ordering::Relaxed))
    }

    /// The last heartbeat time (stable while locked).
    #[inline]
    pub(crate) fn last_heartbeat_ms(&self) -> u64 {
        // Relaxed: as in `state`.
        self.slot.last_hb_ms.load(Ordering::Relaxed)
    }

    /// The fingerprint of the stored sync-error detail.
    #[inline]
    pub(crate) fn error_fp(&self) -> u32 {
        // Relaxed: as in `state`.
        self.slot.error_fp.load(Ordering::Relaxed)
    }

    /// The stored odd hash reference (0: none).
    #[inline]
    pub(crate) fn odd_hash(&self) -> u32 {
        // Relaxed: as in `state`.
        self.slot.odd_hash.load(Ordering::Relaxed)
    }

    /// The node's budget word of new unmatched hashes (see `crate::execution::unmatched`).
    #[inline]
    pub(crate) fn unmatched_budget(&self) -> u32 {
        // Relaxed: as in `state`.
        self.slot.unmatched_budget.load(Ordering::Relaxed)
    }

    /// Replaces the budget word of new unmatched hashes.
    #[inline]
    pub(crate) fn set_unmatched_budget(&self, word: u32) {
        // Relaxed: published by the releasing unlock.
        self.slot.unmatched_budget.store(word, Ordering::Relaxed);
    }

    /// The node's latest journal entry (index + 1, 0: none).
    #[inline]
    pub(crate) fn last_transition(&self) -> u32 {
        // Relaxed: as in `state`.
        self.slot.last_transition.load(Ordering::Relaxed)
    }

    /// Records the node's latest journal entry.
    #[inline]
    pub(crate) fn set_last_transition(&self, entry: u32) {
        // Relaxed: published by the releasing unlock.
        self.slot.last_transition.store(entry, Ordering::Relaxed);
    }

    /// Replaces the state word.
    #[inline]
    pub(crate) fn set_state(&self, state: NodeState) {
        // Relaxed: published by the releasing unlock.
        self.slot.state.store(state.0, Ordering::Relaxed);
    }

    /// Writes a heartbeat's details.
    #[inline]
    pub(crate) fn write(&self, w: &SlotWrite<'_>) {
        // Relaxed everywhere: published by the releasing unlock; readers
        // validate with the sequence.
        let r = Ordering::Relaxed;
        self.slot.last_hb_ms.store(w.at_ms, r);
        self.slot.odd_hash.store(w.odd_hash, r);
        let prev_heap = (self.slot.gauges.load(r) >> 32) & 0xffff;
        let m = w.metrics;
        self.slot.gauges.store(centi(m.cpu) | centi(m.memory) << 16 | centi(m.heap) << 32 | prev_heap << 48, r);
        self.slot.tps.store(m.tps.to_bits(), r);
        self.slot.hot_swap_errors.store(m.hot_swap_errors, r);
        self.slot.version.store(w.version, r);
        self.slot.error_fp.store(w.error_fp, r);
    }
}

impl Drop for SlotGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // Release: publishes every store made under the lock.
        self.slot.seq.store(self.seq + 1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_word_round_trips_every_field() {
        let s = NodeState::enrolled(7).with_force_pending(true);
        let t = s.observed(42, true, ProcessStatus::Error, Some(SyncErrorCode::Other));
        assert!(t.is_enrolled() && t.has_heartbeat() && t.hash_ok());
        assert_eq!((t.revision(), t.bucket(), t.epoch()), (42, 42, 7));
        assert_eq!(t.status(), Some(ProcessStatus::Error));
        assert_eq!(t.error_code(), Some(SyncErrorCode::Other));
        assert!(t.force_pending());
        assert_eq!((t.fresh_bucket(), t.expired().fresh_bucket(), s.fresh_bucket()), (Some(42), None, None));
        let u = t.observed(42, false, ProcessStatus::Ready, None).with_force_pending(false).with_epoch(9);
        assert_eq!((u.bucket(), u.error_code(), u.force_pending(), u.epoch()), (0, None, false, 9));
        assert_eq!(NodeState::enrolled(0).status(), None);
    }

    #[test]
    fn slot_is_one_cache_line() {
        assert_eq!((std::mem::size_of::<Slot>(), std::mem::align_of::<Slot>()), (64, 64));
    }

    #[test]
    fn heap_trend_keeps_the_previous_reading() {
        let slot = Slot::default();
        slot.init(3, 7, 0);
        let m = |heap| Metrics { heap, ..Metrics::default() };
        for heap in [40.0, 55.5] {
            let g = slot.lock();
            g.write(&SlotWrite { at_ms: 1, metrics: &m(heap), version: 1, error_fp: 0, odd_hash: 0 });
        }
        let r = slot.read();
        assert_eq!((r.metrics.heap, r.heap_prev, slot.cluster(), slot.bucket()), (55.5, 40.0, 3, 7));
    }
}

/// loom models of the sequence lock (see `crate::sync`).
#[cfg(all(test, fleetgov_loom))]
mod loom_model {
    use loom::sync::Arc;
    use loom::thread;

    use super::*;

    /// A write whose fields all name `n`: a reader that mixes two writes sees two names.
    fn write(slot: &Slot, n: u32) {
        let guard = slot.lock();
        let metrics = Metrics::default();
        guard.write(&SlotWrite { at_ms: u64::from(n), metrics: &metrics, version: n, error_fp: n, odd_hash: n });
        guard.set_state(guard.state().observed(n, true, ProcessStatus::Ready, None));
    }

    #[test]
    fn a_reader_never_sees_a_torn_write() {
        loom::model(|| {
            let slot = Arc::new(Slot::default());
            slot.init(0, 0, 0);
            let writer = {
                let slot = Arc::clone(&slot);
                thread::spawn(move || (1..=2).for_each(|n| write(&slot, n)))
            };
            let read = slot.read();
            let n = read.state.revision();
            assert_eq!((read.last_hb_ms, read.version, read.odd_hash), (u64::from(n), n, n));
            writer.join().unwrap();
            assert_eq!(slot.read().state.revision(), 2);
        });
    }

    #[test]
    fn two_writers_exclude_each_other() {
        loom::model(|| {
            let slot = Arc::new(Slot::default());
            slot.init(0, 0, 0);
            let bump = |slot: Arc<Slot>| {
                thread::spawn(move || {
                    let guard = slot.lock();
                    let n = guard.state().revision() + 1;
                    guard.set_state(guard.state().observed(n, true, ProcessStatus::Ready, None));
                })
            };
            let (a, b) = (bump(Arc::clone(&slot)), bump(Arc::clone(&slot)));
            a.join().unwrap();
            b.join().unwrap();
            assert_eq!(slot.read().state.revision(), 2, "no increment is lost");
        });
    }
}
