//! An append-only RFC 9162 Merkle tree that can answer for any past size.
//!
//! The tree keeps every *complete* subtree it has ever formed:
//! `levels[l][i]` is the hash of the `2^l` leaves starting at leaf `i·2^l`.
//! That is about two hashes per leaf, and it makes the root at any size, an
//! inclusion proof and a consistency proof cost `O(log n)` node lookups and
//! at most `O(log n)` fresh hashes (for the ragged right edge).
//!
//! The definitions are RFC 9162 §2.1.1 (MTH), §2.1.3.1 (PATH) and §2.1.4.1
//! (PROOF / SUBPROOF), transcribed with explicit leaf ranges `[start, end)`.

use std::marker::PhantomData;

use super::hasher::{Rfc6962, TreeHash, TreeHasher};
use crate::error::{Error, Result};

/// An append-only Merkle tree over leaf hashes.
///
/// ```
/// use fleetgov::audit::{verify_inclusion, Rfc6962, MerkleTree};
/// let mut tree = MerkleTree::new();
/// for i in 0..5u8 {
///     tree.push_leaf(&[i]);
/// }
/// let root3 = tree.root_at(3).unwrap();
/// let path = tree.inclusion_path(1, 3).unwrap();
/// let leaf = tree.leaf_hash(1).unwrap();
/// assert!(verify_inclusion::<Rfc6962>(&leaf, 1, 3, &path, &root3).is_ok());
/// ```
pub struct MerkleTree<H: TreeHasher = Rfc6962> {
    levels: Vec<Vec<TreeHash>>,
    hasher: PhantomData<fn() -> H>,
}

impl<H: TreeHasher> Default for MerkleTree<H> {
    fn default() -> Self {
        MerkleTree { levels: Vec::new(), hasher: PhantomData }
    }
}

impl<H: TreeHasher> std::fmt::Debug for MerkleTree<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MerkleTree").field("size", &self.len()).field("root", &self.root()).finish()
    }
}

impl MerkleTree {
    /// An empty audit (SHA-256) tree. (A tree over another hasher `H`:
    /// `MerkleTree::<H>::default()`.)
    pub fn new() -> Self {
        Self::default()
    }
}

impl<H: TreeHasher> MerkleTree<H> {
    /// The number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a leaf holding `data` and returns its leaf hash.
    pub fn push_leaf(&mut self, data: &[u8]) -> TreeHash {
        let leaf = H::leaf(data);
        self.push_leaf_hash(leaf);
        leaf
    }

    /// Appends a leaf given by its leaf hash.
    pub fn push_leaf_hash(&mut self, leaf: TreeHash) {
        let mut node = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(node);
            let n = row.len();
            if !n.is_multiple_of(2) {
                return;
            }
            // A new right child completed a pair: the parent is complete too.
            node = H::node(&row[n - 2], &row[n - 1]);
            level += 1;
        }
    }

    /// The hash of leaf `index`, if there is one.
    pub fn leaf_hash(&self, index: u64) -> Option<TreeHash> {
        let leaves = self.levels.first()?;
        leaves.get(usize::try_from(index).ok()?).copied()
    }

    /// The hashes of the complete subtrees of `2^height` leaves numbered
    /// `start..start + count` (subtree `i` covers leaves `i·2^height ..
    /// (i+1)·2^height`), if the tree holds them all: what a C2SP tile holds.
    pub(crate) fn complete_subtrees(&self, height: u32, start: u64, count: u64) -> Option<&[TreeHash]> {
        let row = self.levels.get(usize::try_from(height).ok()?)?;
        let start = usize::try_from(start).ok()?;
        row.get(start..start.checked_add(usize::try_from(count).ok()?)?)
    }

    /// The root of the whole tree (the hash of the empty string when empty).
    pub fn root(&self) -> TreeHash {
        self.subtree(0, self.len())
    }

    /// The root the tree had when it held `size` leaves.
    ///
    /// `size` above [`len`](Self::len) is [`InvalidInput`](crate::ErrorKind::InvalidInput).
    pub fn root_at(&self, size: u64) -> Result<TreeHash> {
        self.check_size(size)?;
        Ok(self.subtree(0, size))
    }

    /// The root at `size`, or at [`len`](Self::len) if `size` is larger.
    pub(crate) fn prefix_root(&self, size: u64) -> TreeHash {
        self.subtree(0, size.min(self.len()))
    }

    /// The audit path of leaf `index` in the tree of the first `size` leaves
    /// (RFC 9162 §2.1.3.1), leaf level first.
    pub fn inclusion_path(&self, index: u64, size: u64) -> Result<Vec<TreeHash>> {
        self.check_size(size)?;
        if index >= size {
            return Err(Error::invalid(format!("leaf {index} is not in a tree of size {size}")));
        }
        let mut out = Vec::new();
        self.path(index, 0, size, &mut out);
        Ok(out)
    }

    /// The consistency proof from the tree of `old_size` leaves to the tree of
    /// `new_size` leaves (RFC 9162 §2.1.4.1). Empty when `old_size` is 0 or
    /// equals `new_size`.
    pub fn consistency_path(&self, old_size: u64, new_size: u64) -> Result<Vec<TreeHash>> {
        self.check_size(new_size)?;
        if old_size > new_size {
            return Err(Error::invalid(format!("no consistency proof from size {old_size} back to size {new_size}")));
        }
        let mut out = Vec::new();
        if old_size > 0 && old_size < new_size {
            self.subproof(old_size, 0, new_size, true, &mut out);
        }
        Ok(out)
    }

    fn check_size(&self, size: u64) -> Result<()> {
        if size > self.len() {
            return Err(Error::invalid(format!("tree size {size} exceeds the log's size {}", self.len())));
        }
        Ok(())
    }

    /// MTH(D[start..end]) for `end <= len`.
    fn subtree(&self, start: u64, end: u64) -> TreeHash {
        let n = end - start;
        if n == 0 {
            return H::empty_root();
        }
        if n.is_power_of_two() && start.is_multiple_of(n) {
            let level = n.trailing_zeros() as usize;
            // Complete, aligned and below `len`: formed when its last leaf arrived.
            return self.levels[level][(start >> level) as usize];
        }
        let k = split(n);
        H::node(&self.subtree(start, start + k), &self.subtree(start + k, end))
    }

    /// PATH(m, D[start..end]).
    fn path(&self, m: u64, start: u64, end: u64, out: &mut Vec<TreeHash>) {
        let n = end - start;
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, start, start + k, out);
            out.push(self.subtree(start + k, end));
        } else {
            self.path(m - k, start + k, end, out);
            out.push(self.subtree(start, start + k));
        }
    }

    /// SUBPROOF(m, D[start..end], complete).
    fn subproof(&self, m: u64, start: u64, end: u64, complete: bool, out: &mut Vec<TreeHash>) {
        let n = end - start;
        if m == n {
            if !complete {
                out.push(self.subtree(start, end));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, start + k, complete, out);
            out.push(self.subtree(start + k, end));
        } else {
            self.subproof(m - k, start + k, end, false, out);
            out.push(self.subtree(start, start + k));
        }
    }
}

/// The largest power of two strictly below `n` (`n >= 2`): where RFC 9162
/// splits a tree of `n` leaves.
pub(crate) fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MTH straight from the RFC's recursive definition, over leaf hashes.
    fn reference_root(leaves: &[TreeHash]) -> TreeHash {
        match leaves.len() {
            0 => Rfc6962::empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                Rfc6962::node(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn split_is_the_largest_power_of_two_below() {
        assert_eq!(split(2), 1);
        assert_eq!(split(3), 2);
        assert_eq!(split(4), 2);
        assert_eq!(split(5), 4);
        assert_eq!(split(8), 4);
        assert_eq!(split(9), 8);
        assert_eq!(split(u64::MAX), 1 << 63);
    }

    #[test]
    fn roots_at_every_size_match_the_recursive_definition() {
        let mut tree = MerkleTree::<Rfc6962>::new();
        let mut leaves = Vec::new();
        assert_eq!(tree.root(), Rfc6962::empty_root());
        for i in 0..70u32 {
            leaves.push(tree.push_leaf(&i.to_be_bytes()));
            assert_eq!(tree.root(), reference_root(&leaves), "size {}", i + 1);
        }
        for size in 0..=70 {
            assert_eq!(tree.root_at(size).unwrap(), reference_root(&leaves[..size as usize]));
        }
    }

    #[test]
    fn sizes_beyond_the_tree_are_invalid() {
        let mut tree = MerkleTree::<Rfc6962>::new();
        tree.push_leaf(b"a");
        tree.push_leaf(b"b");
        for e in [
            tree.root_at(3).unwrap_err(),
            tree.inclusion_path(0, 3).unwrap_err(),
            tree.inclusion_path(2, 2).unwrap_err(),
            tree.consistency_path(1, 3).unwrap_err(),
            tree.consistency_path(2, 1).unwrap_err(),
        ] {
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{e}");
        }
        assert_eq!(tree.leaf_hash(2), None);
    }

    #[test]
    fn trivial_consistency_proofs_are_empty() {
        let mut tree = MerkleTree::<Rfc6962>::new();
        tree.push_leaf(b"a");
        tree.push_leaf(b"b");
        assert!(tree.consistency_path(0, 2).unwrap().is_empty());
        assert!(tree.consistency_path(2, 2).unwrap().is_empty());
        assert_eq!(tree.consistency_path(1, 2).unwrap().len(), 1);
    }
}
