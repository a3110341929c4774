//! The transition journal: every node's applied-state changes, compactly.
//!
//! One append-only array of 24-byte entries, linked per node (each entry
//! names the node's previous one; the node's slot names its latest), so a
//! node's history costs 24 bytes per transition and nothing per heartbeat.
//! Hashes are not repeated: an entry says "the snapshot's own hash" (the
//! node verified it), "none", or points into a side table of the hashes
//! nodes reported that matched no snapshot.
//!
//! Retention (see [`crate::execution::retention`]) drops the entries below
//! a position, keeping each node's last one there as its *base*: the
//! entries' chunks are freed, and a walk that reaches a dropped position
//! answers with that node's base instead.
//!
//! Freeing memory that lock-free readers may hold is the arc-swap scheme:
//! each chunk sits in the directory behind an `ArcSwapOption`; a reader
//! (a query walking a node's chain, the journal writer) holds a guard of the
//! chunk it reads, so the compactor only takes the chunk *out of the
//! directory* and the memory goes with the last guard. No reader waits for
//! the compactor and the compactor waits for no reader; a reader that
//! finds a chunk gone knows its position was dropped and reads the base,
//! which the compactor published before it took any chunk out.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use arc_swap::{ArcSwap, ArcSwapOption};

use crate::chunked::Chunked;
use crate::hash::ContentHash;
use crate::huge_pages::Array;
use crate::sync::{AtomicU32, AtomicU64};

/// Entries per chunk: 65,536 entries (1.5 MB), the unit compaction frees.
const CHUNK_BITS: u32 = 16;
const CHUNK: usize = 1 << CHUNK_BITS;
/// Chunks in the directory: every `u32` position.
const CHUNKS: usize = 1 << (32 - CHUNK_BITS);

/// What hash a node ran, as an entry stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HashRef {
    /// It applied nothing.
    None,
    /// Its snapshot's own hash (verified).
    Verified,
    /// A hash that matched no snapshot: index + 1 into the side table.
    Odd(u32),
    /// A hash that matched no snapshot, not kept: the node had used its
    /// hour's budget of new unmatched hashes (see [`crate::execution::unmatched`]).
    Withheld,
}

/// The bits of [`HashRef::Withheld`].
const WITHHELD: u32 = u32::MAX - 1;

impl HashRef {
    pub(crate) fn to_bits(self) -> u32 {
        match self {
            HashRef::None => 0,
            HashRef::Verified => u32::MAX,
            HashRef::Withheld => WITHHELD,
            HashRef::Odd(i) => i,
        }
    }
    pub(crate) fn from_bits(bits: u32) -> HashRef {
        match bits {
            0 => HashRef::None,
            u32::MAX => HashRef::Verified,
            WITHHELD => HashRef::Withheld,
            i => HashRef::Odd(i),
        }
    }
}

/// One transition: from `at_ms` on, the node ran `revision` with `hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Transition {
    pub(crate) at_ms: u64,
    pub(crate) revision: u32,
    pub(crate) hash: HashRef,
}

#[derive(Default)]
struct Entry {
    at_ms: AtomicU64,
    revision: AtomicU32,
    hash: AtomicU32,
    /// The node's previous entry, index + 1 (0: none).
    prev: AtomicU32,
    /// The node's slot + 1, stored last: 0 while the entry is being written.
    slot: AtomicU32,
}

// Orderings: an entry's fields and an odd hash are written once, before the
// reference to them is stored in the node's slot under its lock; the slot
// lock's release/acquire publishes them, so Relaxed suffices here. The
// counters only hand out distinct indices. The one exception is a reader
// that walks the entries by index (the data directory's journal writer,
// [`Journal::entry`]): for it the entry's `slot` is stored last with
// Release and loaded with Acquire, so a non-zero slot means a whole entry.

/// What compaction left of the dropped positions: each node's base.
#[derive(Default)]
pub(crate) struct Bases {
    /// Positions below this one are dropped (entries of freed chunks, or
    /// left in a chunk that still holds retained ones).
    pub(crate) first: u32,
    /// By slot: the node's last entry below `first` (index + 1) and its
    /// transition (dense: 32 bytes a node).
    pub(crate) by_slot: Box<[Option<(u32, Transition)>]>,
    /// How many slots have a base.
    pub(crate) count: usize,
}

pub(crate) struct Journal {
    /// The chunks of entries (see the module's notes on freeing).
    entries: Box<[ArcSwapOption<Array<Entry>>]>,
    /// The bases of the last compaction.
    bases: ArcSwap<Bases>,
    /// Held by a compaction from choosing its cut to freeing its chunks, so
    /// that two never interleave (bases of an earlier cut published after a
    /// later cut's chunks were freed would lose answers).
    compacting: parking_lot::Mutex<()>,
    next: AtomicU32,
    odd: Chunked<OnceLock<ContentHash>>,
    odd_next: AtomicU32,
    /// The earliest time from which imported history is complete (unix
    /// ms; `u64::MAX`: nothing imported), see [`crate::Engine::import_execution`].
    imported_from_ms: AtomicU64,
}

impl Journal {
    pub(crate) fn new() -> Self {
        Journal {
            // Fixed chunks: the journal grows with the fleet, and a doubling
            // layout would touch twice what it uses.
            entries: (0..CHUNKS).map(|_| ArcSwapOption::empty()).collect(),
            bases: ArcSwap::from_pointee(Bases::default()),
            compacting: parking_lot::Mutex::new(()),
            next: AtomicU32::new(0),
            odd: Chunked::doubling(10),
            odd_next: AtomicU32::new(0),
            imported_from_ms: AtomicU64::new(u64::MAX),
        }
    }

    /// Notes that imported history is complete from `from_ms` on.
    pub(crate) fn imported_from(&self, from_ms: u64) {
        // Relaxed: a bound read on its own; no other memory is published through it.
        self.imported_from_ms.fetch_min(from_ms, Ordering::Relaxed);
    }

    /// The earliest time from which imported history is complete (`u64::MAX`: none imported).
    pub(crate) fn imported_from_ms(&self) -> u64 {
        // Relaxed: see `imported_from`.
        self.imported_from_ms.load(Ordering::Relaxed)
    }

    /// Stores a hash that matched no snapshot; `None` when the table is full.
    pub(crate) fn push_odd(&self, hash: ContentHash) -> Option<HashRef> {
        // Relaxed: see above.
        let i = self.odd_next.fetch_add(1, Ordering::Relaxed);
        // Index + 1 must stay below the bits of `Withheld` and `Verified`.
        let cell = self.odd.get_or_alloc(i as usize).filter(|_| i < u32::MAX - 2)?;
        let _ = cell.set(hash);
        Some(HashRef::Odd(i + 1))
    }

    /// The odd hash `r` refers to.
    pub(crate) fn odd_hash(&self, r: HashRef) -> Option<ContentHash> {
        match r {
            HashRef::Odd(i) => self.odd.get(i as usize - 1)?.get().copied(),
            _ => None,
        }
    }

    /// Appends `t` of the node in `slot` after its entry `prev` (index + 1,
    /// 0: none) and returns the new entry's index + 1; `None` when the
    /// journal is full.
    pub(crate) fn push(&self, slot: u32, prev: u32, t: Transition) -> Option<u32> {
        // Relaxed: see above.
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= u32::MAX - 1 {
            return None;
        }
        let cell = &self.entries[i as usize >> CHUNK_BITS];
        let mut chunk = cell.load();
        if chunk.is_none() {
            // Two writers may race to allocate the chunk: one wins, both use it.
            cell.compare_and_swap(&None::<Arc<Array<Entry>>>, Some(Arc::new(Array::new(CHUNK))));
            chunk = cell.load();
        }
        let entry = &chunk.as_ref()?[i as usize & (CHUNK - 1)];
        entry.at_ms.store(t.at_ms, Ordering::Relaxed);
        entry.revision.store(t.revision, Ordering::Relaxed);
        entry.hash.store(t.hash.to_bits(), Ordering::Relaxed);
        entry.prev.store(prev, Ordering::Relaxed);
        // Release: the fields above are visible to whoever sees the slot (see above).
        entry.slot.store(slot.wrapping_add(1), Ordering::Release);
        Some(i + 1)
    }

    /// Entries handed out so far (the last ones may still be being written).
    pub(crate) fn len(&self) -> u32 {
        // Relaxed: a bound; `entry` tells a whole entry from one in progress.
        self.next.load(Ordering::Relaxed).min(u32::MAX - 1)
    }

    /// Entry `index` by number: its node's slot and transition, or `None`
    /// while it is still being written (or past the end).
    pub(crate) fn entry(&self, index: u32) -> Option<(u32, Transition)> {
        let chunk = self.entries.get(index as usize >> CHUNK_BITS)?.load();
        let e = &chunk.as_ref()?[index as usize & (CHUNK - 1)];
        // Acquire: pairs with the Release in `push` (see above).
        let slot = e.slot.load(Ordering::Acquire).checked_sub(1)?;
        let t = Transition {
            at_ms: e.at_ms.load(Ordering::Relaxed),
            revision: e.revision.load(Ordering::Relaxed),
            hash: HashRef::from_bits(e.hash.load(Ordering::Relaxed)),
        };
        Some((slot, t))
    }

    /// The node in `slot`'s transitions newest first, walking back from its
    /// entry `latest` (index + 1).
    pub(crate) fn walk(&self, slot: u32, latest: u32) -> impl Iterator<Item = Transition> + '_ {
        self.walk_entries(slot, latest).map(|(_, t)| t)
    }

    /// As [`walk`](Self::walk), with each transition's entry (index + 1). A
    /// dropped entry answers as the node's base when it is the base (the
    /// node's last entry below the dropped positions) and ends the walk
    /// otherwise: everything older was dropped.
    pub(crate) fn walk_entries(&self, slot: u32, latest: u32) -> impl Iterator<Item = (u32, Transition)> + '_ {
        let mut cursor = latest;
        std::iter::from_fn(move || {
            let at = cursor;
            let index = at.checked_sub(1)? as usize;
            let chunk = self.entries.get(index >> CHUNK_BITS)?.load();
            let Some(e) = chunk.as_ref().map(|c| &c[index & (CHUNK - 1)]) else {
                // A freed chunk: its bases were published before it was freed.
                cursor = 0;
                return self.base(slot).filter(|&(entry, _)| entry == at);
            };
            // Relaxed: see above.
            cursor = e.prev.load(Ordering::Relaxed);
            let t = Transition {
                at_ms: e.at_ms.load(Ordering::Relaxed),
                revision: e.revision.load(Ordering::Relaxed),
                hash: HashRef::from_bits(e.hash.load(Ordering::Relaxed)),
            };
            Some((at, t))
        })
    }

    /// The node in `slot`'s latest transition at or before `t_ms`, walking
    /// back from its entry `latest` (index + 1).
    pub(crate) fn at(&self, slot: u32, latest: u32, t_ms: u64) -> Option<Transition> {
        self.walk(slot, latest).find(|t| t.at_ms <= t_ms)
    }

    /// The node in `slot`'s base: its last entry (index + 1) below the
    /// dropped positions, and its transition.
    fn base(&self, slot: u32) -> Option<(u32, Transition)> {
        self.bases.load().by_slot.get(slot as usize).copied().flatten()
    }

    /// Positions below this one are dropped.
    pub(crate) fn first(&self) -> u32 {
        self.bases.load().first
    }

    /// Continues an empty journal at position `first` (a restored journal
    /// whose earlier positions were compacted away); no-op otherwise.
    pub(crate) fn start_at(&self, first: u32) {
        // Relaxed: restoring runs before the engine is shared.
        let _ = self.next.compare_exchange(0, first, Ordering::Relaxed, Ordering::Relaxed);
        self.bases.store(Arc::new(Bases { first, ..Bases::default() }));
    }

    /// Drops the positions below `bases.first`: publishes the bases, then
    /// takes every chunk wholly below it out of the directory (freed when
    /// the last reader lets go of it). Returns the chunks taken out.
    pub(crate) fn drop_below(&self, bases: Bases) -> usize {
        let whole = bases.first as usize >> CHUNK_BITS;
        self.bases.store(Arc::new(bases));
        self.entries[..whole].iter().filter_map(|c| c.swap(None)).count()
    }

    /// Waits for any other compaction; held until the returned guard drops.
    pub(crate) fn compacting(&self) -> parking_lot::MutexGuard<'_, ()> {
        self.compacting.lock()
    }

    /// Bases held for dropped positions.
    pub(crate) fn bases_held(&self) -> usize {
        self.bases.load().count
    }

    /// Chunks of entries held in memory.
    pub(crate) fn chunks_held(&self) -> usize {
        self.entries.iter().filter(|c| c.load().is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_chain_per_node_and_answer_by_time() {
        let j = Journal::new();
        let odd = j.push_odd(ContentHash([7; 32])).unwrap();
        let a1 = j.push(0, 0, Transition { at_ms: 10, revision: 1, hash: HashRef::Verified }).unwrap();
        let b1 = j.push(1, 0, Transition { at_ms: 15, revision: 1, hash: HashRef::None }).unwrap();
        let a2 = j.push(0, a1, Transition { at_ms: 20, revision: 2, hash: odd }).unwrap();
        assert_eq!((j.len(), j.entry(1).map(|(slot, t)| (slot, t.at_ms)), j.entry(3)), (3, Some((1, 15)), None));
        assert_eq!(j.at(0, a2, 9), None);
        assert_eq!(j.at(0, a2, 10).unwrap().revision, 1);
        assert_eq!(j.at(0, a2, 25).unwrap().hash, odd);
        assert_eq!(j.odd_hash(odd), Some(ContentHash([7; 32])));
        assert_eq!(j.at(1, b1, 100).unwrap().hash, HashRef::None);
        assert_eq!(std::mem::size_of::<Entry>(), 24);
    }

    #[test]
    fn dropped_chunks_are_freed_and_answer_with_the_base() {
        let j = Journal::new();
        let t = |at_ms| Transition { at_ms, revision: 1, hash: HashRef::Verified };
        // Node 0 changes twice in the first chunk, then once in the third.
        let old = j.push(0, 0, t(1)).unwrap();
        let base = j.push(0, old, t(2)).unwrap();
        j.next.store(2 * CHUNK as u32, Ordering::Relaxed);
        let latest = j.push(0, base, t(3)).unwrap();
        let held = j.chunks_held();
        let walked = |j: &Journal| j.walk_entries(0, latest).collect::<Vec<_>>();
        assert_eq!(walked(&j), [(latest, t(3)), (base, t(2)), (old, t(1))]);
        let by_slot = Box::new([Some((base, t(2)))]);
        assert_eq!(j.drop_below(Bases { first: CHUNK as u32, by_slot, count: 1 }), 1, "the first chunk is freed");
        assert_eq!((j.chunks_held(), j.entry(0), j.first()), (held - 1, None, CHUNK as u32));
        assert_eq!(walked(&j), [(latest, t(3)), (base, t(2))], "the base answers for the dropped entries");
        assert_eq!(j.at(0, base, u64::MAX), Some(t(2)), "a node whose latest entry was dropped");
        assert_eq!(j.at(0, old, u64::MAX), None, "an entry older than the base is gone");
    }
}

/// loom model of journal publication through the slot lock (see `crate::sync`).
#[cfg(all(test, fleetgov_loom))]
mod loom_model {
    use loom::sync::Arc;
    use loom::thread;

    use super::*;
    use crate::execution::slot::Slot;

    /// An entry written with Relaxed stores under a node's slot lock is
    /// whole for any reader that finds it through the slot.
    #[test]
    fn an_entry_found_through_its_slot_is_whole() {
        loom::model(|| {
            let (journal, slot) = (Arc::new(Journal::new()), Arc::new(Slot::default()));
            slot.init(0, 0, 0);
            let writer = {
                let (journal, slot) = (Arc::clone(&journal), Arc::clone(&slot));
                thread::spawn(move || {
                    let guard = slot.lock();
                    let t = Transition { at_ms: 7, revision: 3, hash: HashRef::Verified };
                    let entry = journal.push(0, guard.last_transition(), t).unwrap();
                    guard.set_last_transition(entry);
                })
            };
            let latest = slot.read().last_transition;
            if latest != 0 {
                let t = journal.at(0, latest, u64::MAX).expect("a published entry");
                assert_eq!((t.at_ms, t.revision, t.hash), (7, 3, HashRef::Verified));
            }
            writer.join().unwrap();
        });
    }
}
