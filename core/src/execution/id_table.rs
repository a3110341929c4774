//! One shard of the node registry's id table: 4-byte entries in groups of
//! fifteen, each group one cache line.
//!
//! An entry packs a slot and a tag of its id's hash (see the registry's
//! `Packing`); the table compares the tags itself, so a lookup's first miss,
//! the group's line, already yields the candidate slots, with no separate
//! control bytes to read first. A hash's home group is chosen by hash bits
//! 46 and up, then 39 down (the registry picks the shard by bits 40..46 and
//! the tag from bits 8 up); an entry whose home group is full goes to the
//! next group with room, and every group it passes counts it in its
//! `overflow`, so a probe stops at the first group that nothing passed.
//!
//! The first insert allocates room for the entries its owner expects (a
//! shard's share of the engine's capacity, up to a bound), so a fleet
//! within that bound never grows a table and leaves no freed tables behind;
//! past it the table doubles (every entry placed anew) before it is 7/8
//! full, so a probe rarely reads a second line.

/// Entries per group: fifteen, and the overflow count, fill 64 bytes.
const ENTRIES: usize = 15;

/// What an unused entry holds: never an entry of the registry, whose
/// packing leaves some slot bit clear in every entry.
pub(crate) const EMPTY: u32 = u32::MAX;

/// The fewest groups a table allocates.
const MIN_GROUPS: usize = 4;

/// Groups that hold `entries` below the 7/8 a table grows at.
fn groups_for(entries: usize) -> usize {
    (entries.saturating_mul(8).div_ceil(ENTRIES * 7)).max(MIN_GROUPS)
}

/// One cache line of entries.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Group {
    entries: [u32; ENTRIES],
    /// Entries placed past this group whose probe began at or before it.
    overflow: u32,
}

impl Group {
    const VACANT: Group = Group { entries: [EMPTY; ENTRIES], overflow: 0 };

    /// A bit per entry that is in use and whose bits under `mask` are `key`.
    #[inline]
    fn matching(&self, key: u32, mask: u32) -> u16 {
        // Branch-free, so the compiler compares the fifteen at once.
        self.entries.iter().enumerate().fold(0, |bits, (i, &e)| bits | (u16::from(e != EMPTY && e & mask == key) << i))
    }
}

/// One shard's entries (see the module documentation). Its owner holds it
/// behind a lock: lookups read it shared, changes take it exclusively.
pub(crate) struct IdTable {
    /// Its groups: none before the first insert.
    groups: Box<[Group]>,
    /// Entries in use.
    len: usize,
    /// Groups of the first allocation.
    first: usize,
}

impl IdTable {
    /// An empty table; its first insert allocates room for `expected`
    /// entries.
    pub(crate) fn new(expected: usize) -> Self {
        IdTable { groups: Box::new([]), len: 0, first: groups_for(expected) }
    }

    /// The group a probe for `hash` starts at: the hash's bits 46 and up,
    /// then 39 down, as a fraction of the groups (0 when there are none).
    #[inline]
    fn home(&self, hash: u64) -> usize {
        let bits = (hash >> 46 << 46) | ((hash << 24) >> 18);
        ((u128::from(bits) * self.groups.len() as u128) >> 64) as usize
    }

    /// The group after `group` on a probe.
    #[inline]
    fn after(&self, group: usize) -> usize {
        if group + 1 == self.groups.len() { 0 } else { group + 1 }
    }

    /// The entries on `hash`'s probe whose bits under `mask` are `key`, in
    /// probe order. Its home group is read when this is called, so a caller
    /// can start many probes before it takes the first candidate of any.
    #[inline]
    pub(crate) fn candidates(&self, hash: u64, key: u32, mask: u32) -> Candidates<'_> {
        let group = self.home(hash);
        let bits = self.groups.get(group).map_or(0, |g| g.matching(key, mask));
        Candidates { table: self, group, bits, key, mask, steps: 0 }
    }

    /// Adds `entry` (not [`EMPTY`]) on `hash`'s probe; `rehash(e)` gives the
    /// hash of any entry already in, for growing. The caller has checked
    /// that no entry of the same id is in.
    pub(crate) fn insert(&mut self, hash: u64, entry: u32, rehash: impl Fn(u32) -> u64) {
        debug_assert_ne!(entry, EMPTY);
        if (self.len + 1) * 8 > self.groups.len() * ENTRIES * 7 {
            self.grow(rehash);
        }
        self.place(hash, entry);
        self.len += 1;
    }

    /// Puts `entry` in the first group with room from `hash`'s home, counting
    /// it in every full group it passes. There is room: the table is kept
    /// below 7/8 full.
    fn place(&mut self, hash: u64, entry: u32) {
        let mut g = self.home(hash);
        loop {
            let group = &mut self.groups[g];
            if let Some(free) = group.entries.iter_mut().find(|e| **e == EMPTY) {
                *free = entry;
                return;
            }
            group.overflow += 1;
            g = self.after(g);
        }
    }

    /// The first allocation, or twice the groups, every entry placed anew.
    fn grow(&mut self, rehash: impl Fn(u32) -> u64) {
        let groups = if self.groups.is_empty() { self.first } else { self.groups.len() * 2 };
        let old = std::mem::replace(&mut self.groups, vec![Group::VACANT; groups].into_boxed_slice());
        for &entry in old.iter().flat_map(|g| &g.entries).filter(|&&e| e != EMPTY) {
            self.place(rehash(entry), entry);
        }
    }

    /// Takes out the first entry on `hash`'s probe whose bits under `mask`
    /// are `key` and that `is_it` accepts, and returns it.
    pub(crate) fn remove(&mut self, hash: u64, key: u32, mask: u32, is_it: impl Fn(u32) -> bool) -> Option<u32> {
        let home = self.home(hash);
        let mut probe = self.candidates(hash, key, mask);
        let (group, at) = std::iter::from_fn(|| probe.next_at()).find(|&(g, i)| is_it(self.groups[g].entries[i]))?;
        let entry = std::mem::replace(&mut self.groups[group].entries[at], EMPTY);
        // The groups it passed no longer hold it back.
        let mut g = home;
        while g != group {
            self.groups[g].overflow -= 1;
            g = self.after(g);
        }
        self.len -= 1;
        Some(entry)
    }
}

/// A probe of an [`IdTable`]: see [`IdTable::candidates`].
pub(crate) struct Candidates<'t> {
    table: &'t IdTable,
    group: usize,
    /// The current group's matching entries not yet returned.
    bits: u16,
    key: u32,
    mask: u32,
    /// Groups passed; a probe never reads more than all of them.
    steps: usize,
}

impl Candidates<'_> {
    /// Where the next candidate is: its group and its place in the group.
    #[inline]
    fn next_at(&mut self) -> Option<(usize, usize)> {
        let groups = &self.table.groups;
        while self.bits == 0 {
            if groups.get(self.group)?.overflow == 0 || self.steps + 1 >= groups.len() {
                return None;
            }
            self.group = self.table.after(self.group);
            self.steps += 1;
            self.bits = groups[self.group].matching(self.key, self.mask);
        }
        let i = self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some((self.group, i))
    }
}

impl Iterator for Candidates<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        self.next_at().map(|(g, i)| self.table.groups[g].entries[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A well-mixed hash of an entry (the tests key entries by all their bits).
    fn hash(entry: u32) -> u64 {
        u64::from(entry).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    fn find(table: &IdTable, entry: u32) -> Option<u32> {
        table.candidates(hash(entry), entry, u32::MAX).next()
    }

    #[test]
    fn a_group_is_one_cache_line() {
        assert_eq!((size_of::<Group>(), align_of::<Group>()), (64, 64));
    }

    /// Many entries forced onto one home group overflow into the next ones,
    /// are all found, and stay found while others are removed; a removed
    /// one is not found, and the overflow counts return to zero.
    #[test]
    fn overflowing_entries_are_found_and_removed() {
        let mut table = IdTable::new(0);
        let same_home = |_: u32| 0u64;
        for e in 0..100 {
            table.insert(0, e, same_home);
        }
        assert!(table.groups.len() >= 8, "grown to {} groups", table.groups.len());
        for e in 0..100 {
            assert_eq!(table.candidates(0, e, u32::MAX).next(), Some(e), "{e}");
        }
        for e in (0..100).step_by(3) {
            assert_eq!(table.remove(0, e, u32::MAX, |_| true), Some(e));
            assert_eq!(table.remove(0, e, u32::MAX, |_| true), None);
        }
        for e in 0..100 {
            let want = (e % 3 != 0).then_some(e);
            assert_eq!(table.candidates(0, e, u32::MAX).next(), want, "{e}");
        }
        for e in (0..100).filter(|e| e % 3 != 0) {
            assert_eq!(table.remove(0, e, u32::MAX, |_| true), Some(e));
        }
        assert_eq!(table.len, 0);
        assert!(table.groups.iter().all(|g| g.overflow == 0 && g.entries == [EMPTY; ENTRIES]));
    }

    /// A probe yields exactly the entries whose masked bits match, and
    /// `remove` takes the one its predicate picks.
    #[test]
    fn candidates_share_the_key_and_the_predicate_decides() {
        let mut table = IdTable::new(0);
        let (mask, key) = (0xFFFF_0000, 0x00AB_0000);
        for slot in 0..20 {
            table.insert(7, key | slot, |_| 7);
            table.insert(7, 0x00CD_0000 | slot, |_| 7);
        }
        let mut got: Vec<u32> = table.candidates(7, key, mask).collect();
        got.sort_unstable();
        assert_eq!(got, (0..20).map(|s| key | s).collect::<Vec<_>>());
        assert_eq!(table.remove(7, key, mask, |e| e == key | 11), Some(key | 11));
        assert_eq!(table.candidates(7, key, mask).count(), 19);
        assert_eq!(table.candidates(7, 0x00CD_0000, mask).count(), 20);
    }

    /// A table given its expected size allocates it once and never grows
    /// within it; one given none starts small and grows.
    #[test]
    fn the_expected_entries_fit_the_first_allocation() {
        let mut table = IdTable::new(10_000);
        for e in 0..10_000 {
            table.insert(hash(e), e, |_| unreachable!("grew at {e} entries"));
        }
        assert_eq!(table.groups.len(), groups_for(10_000));
        assert!(groups_for(10_000) * ENTRIES * 7 < 10_100 * 8, "no more than it needs");
        let mut small = IdTable::new(0);
        small.insert(hash(1), 1, hash);
        assert_eq!(small.groups.len(), MIN_GROUPS);
        for e in 2..1_000 {
            small.insert(hash(e), e, hash);
        }
        assert!(small.groups.len() >= groups_for(999));
        assert!((1..1_000).all(|e| find(&small, e) == Some(e)));
    }

    #[test]
    fn an_empty_table_finds_nothing() {
        let mut table = IdTable::new(0);
        assert_eq!(find(&table, 3), None);
        assert_eq!(table.remove(hash(3), 3, u32::MAX, |_| true), None);
        assert_eq!(table.candidates(0, 0, 0).next(), None);
        table.insert(hash(3), 3, hash);
        let all: Vec<u32> = table.candidates(hash(3), 0, 0).collect();
        assert_eq!(all, [3], "every entry in use matches an empty mask, no unused one does");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Against a set: after any inserts and removals (through growth),
        /// exactly the entries in the set are found.
        #[test]
        fn the_table_agrees_with_a_set(ops in proptest::collection::vec((0u32..600, proptest::bool::ANY), 1..900)) {
            let mut table = IdTable::new(0);
            let mut set = std::collections::BTreeSet::new();
            for (e, add) in ops {
                if add && set.insert(e) {
                    table.insert(hash(e), e, hash);
                } else if !add {
                    proptest::prop_assert_eq!(table.remove(hash(e), e, u32::MAX, |_| true).is_some(), set.remove(&e));
                }
            }
            proptest::prop_assert_eq!(table.len, set.len());
            for e in 0..600 {
                proptest::prop_assert_eq!(find(&table, e), set.contains(&e).then_some(e), "{}", e);
            }
        }
    }
}
