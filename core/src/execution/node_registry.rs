//! The node registry: node id → dense slot, resolved once at enrolment.
//!
//! Ids map to `u32` slots through 64 independently locked shards of an
//! [`IdTable`] of 4-byte entries: the slot number in the low bits and, in
//! the bits the engine's capacity leaves free above it, a tag of its id's
//! hash (12 bits at a capacity of 1,000,000, 7 at 16,777,216, none from
//! 2^31: then the id text alone decides). The id text lives once, beside
//! the slot. A lookup reads one cache line of entries, compares the tags
//! there before it reads an id text, so a candidate of another id rarely
//! costs a miss on its text, and it prefetches the slot together with the
//! text it compares, so those two misses overlap: two dependent misses
//! (the entries' line, then the text and the slot) stand between an id and
//! its slot. Lookups by id take one shard's read lock; heartbeats by handle
//! skip the registry entirely.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU32, Ordering};

use crossbeam_utils::CachePadded;
use parking_lot::RwLock;

use crate::chunked::Chunked;
use crate::error::{Error, Result};
use crate::execution::id_table::IdTable;
use crate::execution::id_text::IdText;
use crate::execution::slot::Slot;

const SHARDS: usize = 64;
/// Slots per chunk: 32,768, so a chunk of slots is one 2 MiB huge page and
/// a fleet whose size falls just past a chunk boundary leaves at most that
/// much of the slot, id and enrolment-time tables unused.
const SLOT_CHUNK_BITS: u32 = 15;
/// Id cells per chunk: 262,144 24-byte cells, 6 MiB, three whole huge pages
/// (the smallest power of two of them that fills huge pages exactly), so
/// the id a lookup compares costs no TLB miss either.
const ID_CHUNK_BITS: u32 = 18;

/// A shard's table starts with room for its share of the capacity up to this
/// many ids, and an eighth more for the unevenness of the hash (the share
/// of a 1,000,000-node engine, 15,625, deviates by about 125), so a fleet
/// up to 64 times this never grows a table; an engine of the default
/// capacity takes 88 KiB a shard once an id lands in it.
const FIRST_SHARE: usize = 1 << 14;

/// Ids looked up together by [`Registry::lookup_shard`]: enough misses in
/// flight to cover a memory latency, few enough to stay in registers and L1.
const LOOKUP_GROUP: usize = 16;

/// What [`Registry::lookup_shard`] writes for an id that is not enrolled.
pub(crate) const NO_SLOT: u32 = u32::MAX;

/// The shard of an id's hash. Bits 40..46: the tag takes bits from 8 up and
/// a shard's table places entries by bits 46 and up, so the shard must be
/// chosen by neither, or every entry of a shard would share a tag (or a
/// group stride).
fn shard_index(hash: u64) -> usize {
    (hash >> 40) as usize % SHARDS
}

/// How an entry of a shard's table packs a slot and its id's tag: the slot
/// in the low `slot_bits`, the tag above them. The tag is taken from hash
/// bits 8 and up (at most 31 of them, so below bit 40): within a shard bits
/// 40..46 are all alike and the table's group already matched the bits from
/// 46 up, so these are the bits that still tell two ids apart. The slot bits
/// hold the capacity itself, so some slot bit is clear in every entry and
/// an entry is never the table's [`EMPTY`](crate::execution::id_table::EMPTY).
#[derive(Clone, Copy, Debug)]
struct Packing {
    /// Bits of an entry that hold the slot (the rest hold the tag).
    slot_mask: u32,
}

impl Packing {
    /// The packing for slots `0..capacity`: as few slot bits as hold the
    /// capacity (one more than the slots need when it is a power of two).
    fn for_capacity(capacity: u32) -> Self {
        let slot_bits = u32::BITS - capacity.max(1).leading_zeros();
        Packing { slot_mask: u32::MAX >> (u32::BITS - slot_bits) }
    }

    /// The bits of an entry that hold the tag.
    #[inline]
    fn tag_mask(self) -> u32 {
        !self.slot_mask
    }

    /// `hash`'s tag, in the entry's tag bits (zero when there are none).
    #[inline]
    fn tag(self, hash: u64) -> u32 {
        ((hash >> 8) as u32).wrapping_shl(self.slot_mask.count_ones()) & !self.slot_mask
    }

    /// The entry of `slot` for an id whose hash has tag `tag` (from [`tag`](Self::tag)).
    #[inline]
    fn entry(self, slot: u32, tag: u32) -> u32 {
        debug_assert!(slot & !self.slot_mask == 0);
        slot | tag
    }

    #[inline]
    fn slot(self, entry: u32) -> u32 {
        entry & self.slot_mask
    }
}

/// What `enroll` found.
pub(crate) enum Enrolled {
    /// A new slot was claimed.
    New(u32),
    /// The id was already enrolled, at this slot.
    Existing(u32),
}

pub(crate) struct Registry {
    /// Entries packed by `packing`.
    shards: Box<[CachePadded<RwLock<IdTable>>]>,
    packing: Packing,
    hasher: hashbrown::DefaultHashBuilder,
    slots: Chunked<Slot>,
    /// Node ids, inline up to 24 bytes (no allocation for typical ids).
    ids: Chunked<IdText>,
    /// When each node was enrolled, in whole unix seconds (4 bytes a node;
    /// they last until 2106), as the enrolling call said.
    enrolled_at: Chunked<AtomicU32>,
    /// Slots handed out so far; never more than `capacity`.
    next: AtomicU32,
    /// The most nodes the registry holds (at most [`MAX_CAPACITY`]).
    capacity: u32,
}

/// The most nodes an engine can hold: slots are `u32` numbers, and the count
/// of slots handed out is a `u32` too, so the largest capacity is
/// `u32::MAX` nodes (slots `0..u32::MAX`).
pub const MAX_CAPACITY: usize = u32::MAX as usize;

/// A node capacity checked by [`check_capacity`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Capacity(u32);

/// Checks a node capacity: 1 to [`MAX_CAPACITY`]
/// ([`InvalidInput`](crate::ErrorKind::InvalidInput) otherwise).
pub(crate) fn check_capacity(capacity: usize) -> Result<Capacity> {
    u32::try_from(capacity)
        .ok()
        .filter(|&c| c > 0)
        .map(Capacity)
        .ok_or_else(|| Error::invalid(format!("capacity is {capacity} nodes; it must be between 1 and {MAX_CAPACITY}")))
}

impl Registry {
    /// A registry for up to `capacity` nodes (checked by [`check_capacity`]).
    /// Memory comes in chunks (of 32,768 slots, 262,144 ids) as nodes enrol.
    pub(crate) fn new(capacity: Capacity) -> Self {
        let capacity = capacity.0;
        let chunks = (capacity as usize).div_ceil(1 << SLOT_CHUNK_BITS);
        Registry {
            shards: (0..SHARDS)
                .map(|_| {
                    let share = (capacity as usize).div_ceil(SHARDS).min(FIRST_SHARE);
                    CachePadded::new(RwLock::new(IdTable::new(share + share / 8)))
                })
                .collect(),
            packing: Packing::for_capacity(capacity),
            hasher: hashbrown::DefaultHashBuilder::default(),
            slots: Chunked::fixed(SLOT_CHUNK_BITS, chunks),
            ids: Chunked::fixed(ID_CHUNK_BITS, (capacity as usize).div_ceil(1 << ID_CHUNK_BITS)),
            enrolled_at: Chunked::fixed(SLOT_CHUNK_BITS, chunks),
            next: AtomicU32::new(0),
            capacity,
        }
    }

    fn shard(&self, hash: u64) -> &RwLock<IdTable> {
        &self.shards[shard_index(hash)]
    }

    fn id_of(&self, slot: u32) -> &str {
        self.ids.get(slot as usize).and_then(IdText::get).unwrap_or("")
    }

    /// Whether `entry` (one of the right tag) is `id`'s: its text decides.
    #[inline]
    fn is(&self, entry: u32, id: &str) -> bool {
        self.id_of(self.packing.slot(entry)) == id
    }

    /// The probe of `table` (the shard of `hash`) for the entries tagged as
    /// `hash` is.
    #[inline]
    fn candidates<'t>(&self, table: &'t IdTable, hash: u64) -> crate::execution::id_table::Candidates<'t> {
        table.candidates(hash, self.packing.tag(hash), self.packing.tag_mask())
    }

    /// The slot of `id` (whose hash is `hash`) in `table`, its shard; each
    /// candidate's slot is prefetched together with the text compared.
    #[inline]
    fn find(&self, table: &IdTable, hash: u64, id: &str) -> Option<u32> {
        self.candidates(table, hash).map(|e| self.packing.slot(e)).find(|&slot| {
            self.prefetch_candidate(slot);
            self.id_of(slot) == id
        })
    }

    /// The hash of the id of `entry`, for the table to grow by.
    fn rehash(&self, entry: u32) -> u64 {
        self.hasher.hash_one(self.id_of(self.packing.slot(entry)))
    }

    /// Hints the cache to fetch `slot`'s id text and its slot: a lookup
    /// compares the one and its caller then touches the other.
    #[inline]
    fn prefetch_candidate(&self, slot: u32) {
        if let Some(cell) = self.ids.get(slot as usize) {
            cell.prefetch();
        }
        if let Some(cell) = self.slots.get(slot as usize) {
            crate::prefetch::prefetch(cell);
        }
    }

    /// The slot of `id`, if enrolled. The slot's line is on its way to the
    /// cache when this returns (fetched while the id text was compared).
    #[inline]
    pub(crate) fn lookup(&self, id: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(id);
        self.find(&self.shard(hash).read(), hash, id)
    }

    /// The hash [`lookup`](Self::lookup) would compute for `id`.
    #[inline]
    pub(crate) fn hash(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    /// The slots of many ids of one shard: `out[j]` becomes the slot of
    /// `ids[order[j]]` (whose hash is `hashes[order[j]]`, from
    /// [`hash`](Self::hash), and whose shard is `shard` for every `j`), or
    /// [`NO_SLOT`] if it is not enrolled. The shard's read lock is taken
    /// once for all of them.
    ///
    /// The lookups go [`LOOKUP_GROUP`] at a time, in three passes, so their
    /// cache misses overlap instead of queueing: the first loads every id's
    /// group of entries, the second takes each id's first candidate of the
    /// same tag and prefetches its id text and its slot, the third compares
    /// the ids (and probes further on the rare false candidate).
    pub(crate) fn lookup_shard(&self, shard: usize, ids: &[&str], hashes: &[u64], order: &[u32], out: &mut [u32]) {
        let (table, packing) = (self.shards[shard].read(), self.packing);
        for (group, out) in order.chunks(LOOKUP_GROUP).zip(out.chunks_mut(LOOKUP_GROUP)) {
            debug_assert!(group.iter().all(|&k| shard_index(hashes[k as usize]) == shard));
            // Pass 1: every id's group of entries, loads in flight together.
            let mut probes: [_; LOOKUP_GROUP] =
                std::array::from_fn(|j| group.get(j).map(|&k| self.candidates(&table, hashes[k as usize])));
            // Pass 2: each first candidate of the id's tag; its id text and slot prefetched.
            let mut first = [NO_SLOT; LOOKUP_GROUP];
            for (candidate, probe) in first.iter_mut().zip(&mut probes) {
                if let Some(entry) = probe.as_mut().and_then(Iterator::next) {
                    *candidate = packing.slot(entry);
                    self.prefetch_candidate(*candidate);
                }
            }
            // Pass 3: compare; probe on past a colliding candidate.
            for (((&k, &candidate), probe), out) in group.iter().zip(&first).zip(&mut probes).zip(out) {
                let id = ids[k as usize];
                *out = if candidate == NO_SLOT {
                    NO_SLOT
                } else if self.id_of(candidate) == id {
                    candidate
                } else {
                    probe.as_mut().and_then(|p| p.find(|&e| self.is(e, id))).map_or(NO_SLOT, |e| packing.slot(e))
                };
            }
        }
    }

    /// Fills `order` with `0..hashes.len()` grouped by the shard of each hash,
    /// in index order within a shard, and `bounds` (one more than the shards)
    /// so that shard `s`'s indices are `order[bounds[s]..bounds[s + 1]]`.
    pub(crate) fn group_by_shard(hashes: &[u64], order: &mut Vec<u32>, bounds: &mut Vec<usize>) {
        bounds.clear();
        bounds.resize(SHARDS + 1, 0);
        hashes.iter().for_each(|&h| bounds[shard_index(h) + 1] += 1);
        for s in 0..SHARDS {
            bounds[s + 1] += bounds[s];
        }
        let mut next: [usize; SHARDS] = std::array::from_fn(|s| bounds[s]);
        order.clear();
        order.resize(hashes.len(), 0);
        for (k, &h) in hashes.iter().enumerate() {
            let at = &mut next[shard_index(h)];
            // Indices fit: a batch's length is checked against u32 by its caller.
            order[*at] = k as u32;
            *at += 1;
        }
    }

    /// Enrolls `id` at `at_ms`: claims a slot and runs `init` on it before
    /// the id becomes visible to lookups, or reports the existing slot (whose
    /// enrolment time stays the first one).
    pub(crate) fn enroll(&self, id: &str, at_ms: u64, init: impl FnOnce(u32, &Slot)) -> Result<Enrolled> {
        let hash = self.hasher.hash_one(id);
        let mut shard = self.shard(hash).write();
        if let Some(slot) = self.find(&shard, hash, id) {
            return Ok(Enrolled::Existing(slot));
        }
        let full = || {
            Error::invalid(format!(
                "the engine is full: capacity is {} nodes (raise EngineConfig::capacity)",
                self.capacity
            ))
        };
        // Relaxed: slot numbers only need to be unique; the shard lock
        // publishes the slot. The count never passes the capacity, so it
        // never wraps onto a slot in use.
        let slot = self
            .next
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < self.capacity).then_some(n + 1))
            .map_err(|_| full())?;
        // Unreachable when `None`: the chunks cover `capacity` slots. A slot
        // number given out is never given back (another may have been taken since).
        let cell = self.fill(slot, id, u32::try_from(at_ms / 1000).unwrap_or(u32::MAX)).ok_or_else(full)?;
        init(slot, cell);
        shard.insert(hash, self.packing.entry(slot, self.packing.tag(hash)), |e| self.rehash(e));
        Ok(Enrolled::New(slot))
    }

    /// Writes the id and enrolment time (whole seconds) of `slot`.
    fn fill(&self, slot: u32, id: &str, at_s: u32) -> Option<&Slot> {
        let cell = self.slots.get_or_alloc(slot as usize)?;
        let _ = self.ids.get_or_alloc(slot as usize)?.set(id);
        // Relaxed: published with the slot by the shard lock, like the id.
        self.enrolled_at.get_or_alloc(slot as usize)?.store(at_s, Ordering::Relaxed);
        Some(cell)
    }

    /// Puts `id` back at `slot`, as a data directory's enrolment log says it
    /// was enrolled (at `at_s`, whole seconds); `init` runs as in
    /// [`enroll`](Self::enroll). Refused: a slot beyond the capacity, a slot
    /// or id already taken.
    pub(crate) fn restore(&self, slot: u32, id: &str, at_s: u32, init: impl FnOnce(u32, &Slot)) -> Result<()> {
        if slot >= self.capacity {
            return Err(Error::invalid(format!(
                "node '{id}' was enrolled at slot {slot}, beyond this engine's capacity of {} nodes",
                self.capacity
            )));
        }
        let hash = self.hasher.hash_one(id);
        let mut shard = self.shard(hash).write();
        let (None, None) = (self.find(&shard, hash, id), self.slot(slot)) else {
            return Err(Error::new(
                crate::ErrorKind::AuditTampered,
                format!("the enrolment log enrols node '{id}' or slot {slot} twice"),
            ));
        };
        let cell = self.fill(slot, id, at_s).ok_or_else(|| Error::invalid(format!("slot {slot} out of range")))?;
        init(slot, cell);
        shard.insert(hash, self.packing.entry(slot, self.packing.tag(hash)), |e| self.rehash(e));
        // Relaxed: as in `enroll`.
        self.next.fetch_max(slot + 1, Ordering::Relaxed);
        Ok(())
    }

    /// Takes `id` out of the lookup table and returns its slot, if it was
    /// enrolled. The slot number is never handed out again: its id and
    /// enrolment time stay readable (for the journal of its past), and the
    /// id may enrol again, at a new slot.
    pub(crate) fn remove(&self, id: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(id);
        let (tag, mask) = (self.packing.tag(hash), self.packing.tag_mask());
        let entry = self.shard(hash).write().remove(hash, tag, mask, |e| self.is(e, id))?;
        Some(self.packing.slot(entry))
    }

    /// The slot's memory if a node was ever enrolled there (even one removed since).
    pub(crate) fn slot_ever_enrolled(&self, slot: u32) -> Option<&Slot> {
        self.ids.get(slot as usize).and_then(IdText::get).and_then(|_| self.slots.get(slot as usize))
    }

    /// The slot at `slot`, if it was ever handed out.
    #[inline]
    pub(crate) fn slot(&self, slot: u32) -> Option<&Slot> {
        self.slots.get(slot as usize).filter(|s| s.state().is_enrolled())
    }

    /// The slot's memory, without checking that it is enrolled (for prefetching).
    #[inline]
    pub(crate) fn slot_unchecked(&self, slot: u32) -> Option<&Slot> {
        self.slots.get(slot as usize)
    }

    /// When the node at `slot` was enrolled (unix ms, kept to the second).
    pub(crate) fn enrolled_at(&self, slot: u32) -> u64 {
        // Relaxed: written once before the slot was published (see `enroll`).
        self.enrolled_at.get(slot as usize).map_or(0, |at| u64::from(at.load(Ordering::Relaxed)) * 1000)
    }

    /// The id of the node at `slot`.
    pub(crate) fn id(&self, slot: u32) -> &str {
        self.id_of(slot)
    }

    /// The most nodes the registry holds.
    pub(crate) fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Slots handed out so far (some may still be initialising), at most the capacity.
    pub(crate) fn len(&self) -> u32 {
        // Relaxed: a bound for iteration; `slot` filters uninitialised slots.
        self.next.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Grouped lookups find what single lookups find, for enrolled ids,
    /// removed ones and ids never enrolled, in any order and with repeats.
    #[test]
    fn grouped_lookups_agree_with_single_lookups() {
        let registry = Registry::new(check_capacity(10_000).unwrap());
        for n in 0..5_000 {
            registry.enroll(&format!("gw-{n}"), 0, |_, _| {}).unwrap();
        }
        for n in (0..5_000).step_by(7) {
            registry.remove(&format!("gw-{n}")).unwrap();
        }
        let names: Vec<String> = (0..12_000).map(|k| format!("gw-{}", (k * 7_919) % 6_000)).collect();
        let ids: Vec<&str> = names.iter().map(String::as_str).collect();
        let hashes: Vec<u64> = ids.iter().map(|id| registry.hash(id)).collect();
        let (mut order, mut bounds) = (Vec::new(), Vec::new());
        Registry::group_by_shard(&hashes, &mut order, &mut bounds);
        assert_eq!((bounds.len(), bounds[SHARDS]), (SHARDS + 1, ids.len()));
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..ids.len() as u32).collect::<Vec<_>>(), "every index once");
        let mut out = vec![0; ids.len()];
        for s in 0..SHARDS {
            let part = &order[bounds[s]..bounds[s + 1]];
            assert!(part.iter().all(|&k| shard_index(hashes[k as usize]) == s));
            assert!(part.windows(2).all(|w| w[0] < w[1]), "index order within a shard");
            registry.lookup_shard(s, &ids, &hashes, part, &mut out[bounds[s]..bounds[s + 1]]);
        }
        for (&k, &got) in order.iter().zip(&out) {
            let id = ids[k as usize];
            assert_eq!(got, registry.lookup(id).unwrap_or(NO_SLOT), "{id}");
        }
        assert!(out.contains(&NO_SLOT) && out.iter().any(|&s| s != NO_SLOT));
    }

    /// Capacities that leave the tag 30, 12, 11, 7 and no bits beside the slot.
    const CAPACITIES: [u32; 7] = [2, 1 << 20, 1_000_000, (1 << 24) + 1, 1 << 24, (1 << 31) + 1, u32::MAX];

    #[test]
    fn the_tag_takes_the_bits_the_slots_leave() {
        for (capacity, tag_bits) in CAPACITIES.into_iter().zip([30, 11, 12, 7, 7, 0, 0]) {
            let packing = Packing::for_capacity(capacity);
            assert_eq!(packing.slot_mask.count_zeros(), tag_bits, "capacity {capacity}");
            let top = capacity - 1;
            assert_eq!(packing.slot(top), top, "the largest slot fits");
            for hash in [0, u64::MAX, 0x0123_4567_89ab_cdef] {
                let tag = packing.tag(hash);
                let entry = packing.entry(top, tag);
                assert_eq!((packing.slot(entry), entry & packing.tag_mask()), (top, tag));
                assert_ne!(entry, crate::execution::id_table::EMPTY, "capacity {capacity}, hash {hash:#x}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// Whatever the capacity (so however few tag bits it leaves), every
        /// enrolled id is found at its own slot, singly and in groups, even at
        /// the highest slots; ids never enrolled and removed ids are not.
        #[test]
        fn every_enrolled_id_is_found_at_its_slot(
            capacity in proptest::sample::select(CAPACITIES.to_vec()),
            picks in proptest::collection::btree_map(0u32..u32::MAX, "[a-z0-9.:_-]{1,40}", 1..24),
            removed in 0usize..24,
        ) {
            let registry = Registry::new(check_capacity(capacity as usize).unwrap());
            let mut slots = std::collections::BTreeSet::new();
            let mut enrolled = Vec::new();
            for (&pick, id) in &picks {
                // Spread over the whole range, the top slots included.
                let slot = capacity - 1 - pick % capacity.min(1 << 16) * (capacity / (1 << 16)).max(1);
                if registry.lookup(id).is_none() && slots.insert(slot) {
                    registry.restore(slot, id, 0, |_, _| {}).unwrap();
                    enrolled.push((id.clone(), slot));
                }
            }
            for (id, slot) in &enrolled {
                proptest::prop_assert_eq!(registry.lookup(id), Some(*slot), "{}", id);
                proptest::prop_assert_eq!(registry.id(*slot), id.as_str());
            }
            for unknown in ["", "never-enrolled", "A", "gw-0000001x"] {
                proptest::prop_assert_eq!(registry.lookup(unknown), None);
            }
            let gone = removed % enrolled.len();
            proptest::prop_assert_eq!(registry.remove(&enrolled[gone].0), Some(enrolled[gone].1));
            let mut ids: Vec<&str> = enrolled.iter().map(|(id, _)| id.as_str()).collect();
            ids.push("never-enrolled");
            let hashes: Vec<u64> = ids.iter().map(|id| registry.hash(id)).collect();
            let (mut order, mut bounds) = (Vec::new(), Vec::new());
            Registry::group_by_shard(&hashes, &mut order, &mut bounds);
            let mut out = vec![0; ids.len()];
            for s in 0..SHARDS {
                registry.lookup_shard(s, &ids, &hashes, &order[bounds[s]..bounds[s + 1]], &mut out[bounds[s]..bounds[s + 1]]);
            }
            for (&k, &got) in order.iter().zip(&out) {
                let k = k as usize;
                let want = match enrolled.get(k) {
                    Some((_, slot)) if k != gone => *slot,
                    _ => NO_SLOT,
                };
                proptest::prop_assert_eq!(got, want, "{}", ids[k]);
                proptest::prop_assert_eq!(registry.lookup(ids[k]), (want != NO_SLOT).then_some(want));
            }
        }
    }

    /// An entry of another id under the same hash bucket and tag (a tag
    /// collision) is passed over by every lookup: the id text decides.
    #[test]
    fn a_colliding_tag_is_passed_over() {
        let registry = Registry::new(check_capacity(16).unwrap());
        let Enrolled::New(other) = registry.enroll("gw-other", 0, |_, _| {}).unwrap() else { unreachable!() };
        let hash = registry.hash("gw-1");
        // Planted first, so every probe for gw-1 meets it before gw-1's own entry.
        let planted = registry.packing.entry(other, registry.packing.tag(hash));
        registry.shard(hash).write().insert(hash, planted, |e| registry.rehash(e));
        assert_eq!(registry.lookup("gw-1"), None);
        let Enrolled::New(own) = registry.enroll("gw-1", 0, |_, _| {}).unwrap() else { unreachable!() };
        assert_ne!(own, other);
        assert_eq!(registry.lookup("gw-1"), Some(own));
        let mut out = [0];
        registry.lookup_shard(shard_index(hash), &["gw-1"], &[hash], &[0], &mut out);
        assert_eq!(out, [own]);
        assert_eq!(registry.remove("gw-1"), Some(own));
        assert_eq!(registry.lookup("gw-1"), None);
    }
}
