//! The transition journal: every node's applied-state changes, compactly.
//!
//! One append-only array of 24-byte entries, linked per node (each entry
//! names the node's previous one; the node's slot names its latest), so a
//! node's history costs 24 bytes per transition and nothing per heartbeat.
//! Hashes are not repeated: an entry says "the snapshot's own hash" (the
//! node verified it), "none", or points into a side table of the hashes
//! nodes reported that matched no snapshot.

use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use crate::chunked::Chunked;
use crate::hash::ContentHash;
use crate::sync::{AtomicU32, AtomicU64};

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

pub(crate) struct Journal {
    entries: Chunked<Entry>,
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
            // Fixed chunks of 65,536 entries (1.5 MB): the journal grows with
            // the fleet, and a doubling layout would touch twice what it uses.
            entries: Chunked::fixed(16, 1 << 16),
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
        let entry = self.entries.get_or_alloc(i as usize).filter(|_| i < u32::MAX - 1)?;
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
        let e = self.entries.get(index as usize)?;
        // Acquire: pairs with the Release in `push` (see above).
        let slot = e.slot.load(Ordering::Acquire).checked_sub(1)?;
        let t = Transition {
            at_ms: e.at_ms.load(Ordering::Relaxed),
            revision: e.revision.load(Ordering::Relaxed),
            hash: HashRef::from_bits(e.hash.load(Ordering::Relaxed)),
        };
        Some((slot, t))
    }

    /// The node's transitions newest first, walking back from its entry
    /// `latest` (index + 1).
    pub(crate) fn walk(&self, latest: u32) -> impl Iterator<Item = Transition> + '_ {
        let mut cursor = latest;
        std::iter::from_fn(move || {
            let e = self.entries.get(cursor.checked_sub(1)? as usize)?;
            // Relaxed: see above.
            cursor = e.prev.load(Ordering::Relaxed);
            Some(Transition {
                at_ms: e.at_ms.load(Ordering::Relaxed),
                revision: e.revision.load(Ordering::Relaxed),
                hash: HashRef::from_bits(e.hash.load(Ordering::Relaxed)),
            })
        })
    }

    /// The node's latest transition at or before `t_ms`, walking back from
    /// its entry `latest` (index + 1).
    pub(crate) fn at(&self, latest: u32, t_ms: u64) -> Option<Transition> {
        self.walk(latest).find(|t| t.at_ms <= t_ms)
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
        assert_eq!(j.at(a2, 9), None);
        assert_eq!(j.at(a2, 10).unwrap().revision, 1);
        assert_eq!(j.at(a2, 25).unwrap().hash, odd);
        assert_eq!(j.odd_hash(odd), Some(ContentHash([7; 32])));
        assert_eq!(j.at(b1, 100).unwrap().hash, HashRef::None);
        assert_eq!(std::mem::size_of::<Entry>(), 24);
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
            slot.init(0, 0);
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
                let t = journal.at(latest, u64::MAX).expect("a published entry");
                assert_eq!((t.at_ms, t.revision, t.hash), (7, 3, HashRef::Verified));
            }
            writer.join().unwrap();
        });
    }
}
