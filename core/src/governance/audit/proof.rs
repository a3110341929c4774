//! Inclusion and consistency proofs, and their checks for third parties.
//!
//! The check functions need nothing from the log: a verifier holding a
//! trusted root (from a [signed checkpoint](super::checkpoint)) and a proof
//! can decide on its own. They follow RFC 9162 §2.1.3.2 and §2.1.4.2 step by
//! step. Every failure is [`AuditTampered`](crate::ErrorKind::AuditTampered).

use serde::{Deserialize, Serialize};

use super::checkpoint::Checkpoint;
use super::hasher::{Rfc6962, TreeHash, TreeHasher};
use super::note::CheckpointVerifier;
use super::verify::TreeHead;
use crate::error::{Error, ErrorKind, Result};

/// Proof that a leaf is in a tree of a given size.
///
/// ```
/// use fleetgov::audit::{AuditAction, AuditEntry, AuditLog};
/// use fleetgov::Role;
/// let log = AuditLog::in_memory();
/// for i in 0..3 {
///     let entry = AuditEntry::new(1_000 + i, "alice", Role::Operator, AuditAction::Publish, "eks-prod-us");
///     log.append(entry).unwrap();
/// }
/// let head = log.head();
/// let proof = log.inclusion_proof(1, head.size).unwrap();
/// let leaf = log.record(1).unwrap().leaf_hash();
/// assert!(proof.verify(&leaf, &head).is_ok());
/// let older = fleetgov::audit::TreeHead { size: 2, root: log.root_at(2).unwrap() };
/// assert!(proof.verify(&leaf, &older).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The leaf's position (the record's sequence number).
    pub leaf_index: u64,
    /// The size of the tree the proof is for.
    pub tree_size: u64,
    /// The audit path, leaf level first.
    pub path: Vec<TreeHash>,
}

impl InclusionProof {
    /// Checks that `leaf_hash` is leaf [`leaf_index`](Self::leaf_index) of
    /// the audit tree whose trusted head (from a checkpoint) is `head`.
    /// The proof's [`tree_size`](Self::tree_size) must be the head's size.
    pub fn verify(&self, leaf_hash: &TreeHash, head: &TreeHead) -> Result<()> {
        self.verify_with::<Rfc6962>(leaf_hash, head)
    }

    /// [`verify`](Self::verify) for a tree hashed with `H`.
    pub fn verify_with<H: TreeHasher>(&self, leaf_hash: &TreeHash, head: &TreeHead) -> Result<()> {
        check_size("inclusion proof", self.tree_size, head)?;
        verify_inclusion::<H>(leaf_hash, self.leaf_index, self.tree_size, &self.path, &head.root)
    }
}

/// Proof that a tree of `old_size` leaves is a prefix of a tree of
/// `new_size` leaves: the log only grew.
///
/// ```
/// use fleetgov::audit::{AuditAction, AuditEntry, AuditLog};
/// use fleetgov::Role;
/// let log = AuditLog::in_memory();
/// let entry = |t| AuditEntry::new(t, "alice", Role::Admin, AuditAction::UpsertWorkspace, "ws-1");
/// log.append(entry(1)).unwrap();
/// let old = log.head();
/// log.append(entry(2)).unwrap();
/// log.append(entry(3)).unwrap();
/// let new = log.head();
/// let proof = log.consistency_proof(old.size, new.size).unwrap();
/// assert!(proof.verify(&old, &new).is_ok());
/// assert!(proof.verify(&new, &old).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The size of the older tree.
    pub old_size: u64,
    /// The size of the newer tree.
    pub new_size: u64,
    /// The proof's node hashes.
    pub path: Vec<TreeHash>,
}

impl ConsistencyProof {
    /// Checks that the audit tree with trusted head `old` is a prefix
    /// of the one with trusted head `new`. The proof's sizes must be the
    /// heads' sizes.
    pub fn verify(&self, old: &TreeHead, new: &TreeHead) -> Result<()> {
        self.verify_with::<Rfc6962>(old, new)
    }

    /// Checks the proof between two signed checkpoints with the log owner's
    /// key alone: both signatures, then that the older log is a prefix of
    /// the newer. Returns the two checkpoints, older first.
    ///
    /// ```
    /// use fleetgov::audit::{AuditAction, AuditEntry, AuditLog, CheckpointSigner};
    /// use fleetgov::Role;
    /// let signer = CheckpointSigner::generate("fleetgov.example/audit").unwrap();
    /// let log = AuditLog::in_memory();
    /// let entry = |t| AuditEntry::new(t, "alice", Role::Admin, AuditAction::UpsertWorkspace, "ws-1");
    /// log.append(entry(1)).unwrap();
    /// let before = log.checkpoint(&signer).unwrap();
    /// log.append(entry(2)).unwrap();
    /// let after = log.checkpoint(&signer).unwrap();
    /// let proof = log.consistency_proof(1, 2).unwrap();
    /// let (old, new) = proof.verify_checkpoints(&before, &after, &signer.verifier()).unwrap();
    /// assert_eq!((old.size, new.size), (1, 2));
    /// assert!(proof.verify_checkpoints(&after, &before, &signer.verifier()).is_err());
    /// ```
    pub fn verify_checkpoints(
        &self,
        old: &str,
        new: &str,
        verifier: &CheckpointVerifier,
    ) -> Result<(Checkpoint, Checkpoint)> {
        let (old, new) = (Checkpoint::open(old, verifier)?, Checkpoint::open(new, verifier)?);
        self.verify(&old.head(), &new.head())?;
        Ok((old, new))
    }

    /// [`verify`](Self::verify) for a tree hashed with `H`.
    pub fn verify_with<H: TreeHasher>(&self, old: &TreeHead, new: &TreeHead) -> Result<()> {
        check_size("consistency proof (old tree)", self.old_size, old)?;
        check_size("consistency proof (new tree)", self.new_size, new)?;
        verify_consistency::<H>(self.old_size, self.new_size, &self.path, &old.root, &new.root)
    }
}

/// A proof's size must be the trusted head's: RFC 9162 paths do not bind
/// the tree size on their own.
fn check_size(what: &str, size: u64, head: &TreeHead) -> Result<()> {
    if size != head.size {
        return Err(tampered(format!("{what} is for a tree of size {size}, the trusted head has size {}", head.size)));
    }
    Ok(())
}

fn tampered(message: String) -> Error {
    Error::new(ErrorKind::AuditTampered, message)
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2): `leaf_hash` is leaf
/// `index` of the tree of `size` leaves with root `root`.
///
/// `size` and `root` must come together from a trusted head (a checkpoint
/// signs both): an RFC 9162 path does not bind the size on its own (leaf 0
/// has paths of the same shape in trees of 5 and of 7 leaves, say).
/// [`InclusionProof::verify`] takes a [`TreeHead`] and checks the proof's
/// size against it.
///
/// ```
/// use fleetgov::audit::{verify_inclusion, Rfc6962, TreeHasher};
/// let (a, b) = (Rfc6962::leaf(b"a"), Rfc6962::leaf(b"b"));
/// let root = Rfc6962::node(&a, &b);
/// assert!(verify_inclusion::<Rfc6962>(&b, 1, 2, &[a], &root).is_ok());
/// assert!(verify_inclusion::<Rfc6962>(&b, 0, 2, &[a], &root).is_err());
/// ```
pub fn verify_inclusion<H: TreeHasher>(
    leaf_hash: &TreeHash,
    index: u64,
    size: u64,
    path: &[TreeHash],
    root: &TreeHash,
) -> Result<()> {
    if index >= size {
        return Err(tampered(format!("inclusion proof for leaf {index} in a tree of size {size}")));
    }
    let mut f = index;
    let mut s = size - 1;
    let mut r = *leaf_hash;
    for p in path {
        if s == 0 {
            return Err(tampered(format!(
                "inclusion proof for leaf {index} of {size} has more than {} hashes",
                path.len() - 1
            )));
        }
        if f & 1 == 1 || f == s {
            r = H::node(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = H::node(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(tampered(format!(
            "inclusion proof for leaf {index} of {size} is too short ({} hashes)",
            path.len()
        )));
    }
    if r != *root {
        return Err(tampered(format!("inclusion proof for leaf {index} of {size} does not lead to the root")));
    }
    Ok(())
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): the tree of `old_size`
/// leaves with root `old_root` is a prefix of the tree of `new_size` leaves
/// with root `new_root`.
///
/// Equal sizes need an empty proof and equal roots; an empty old tree is a
/// prefix of every tree (empty proof). As with [`verify_inclusion`], sizes
/// and roots must come in pairs from trusted heads;
/// [`ConsistencyProof::verify`] takes [`TreeHead`]s.
///
/// ```
/// use fleetgov::audit::{verify_consistency, Rfc6962, TreeHasher};
/// let (a, b) = (Rfc6962::leaf(b"a"), Rfc6962::leaf(b"b"));
/// let root2 = Rfc6962::node(&a, &b);
/// assert!(verify_consistency::<Rfc6962>(1, 2, &[b], &a, &root2).is_ok());
/// assert!(verify_consistency::<Rfc6962>(1, 2, &[a], &a, &root2).is_err());
/// ```
pub fn verify_consistency<H: TreeHasher>(
    old_size: u64,
    new_size: u64,
    path: &[TreeHash],
    old_root: &TreeHash,
    new_root: &TreeHash,
) -> Result<()> {
    let what = || format!("consistency proof from size {old_size} to {new_size}");
    if old_size > new_size {
        return Err(tampered(format!("{}: the tree shrank", what())));
    }
    if old_size == new_size || old_size == 0 {
        if !path.is_empty() {
            return Err(tampered(format!("{}: expected an empty proof", what())));
        }
        if old_size == new_size && old_root != new_root {
            return Err(tampered(format!("{}: the roots differ", what())));
        }
        return Ok(());
    }
    let Some((first, rest)) = path.split_first() else {
        return Err(tampered(format!("{}: the proof is empty", what())));
    };
    // When the old tree is complete its root is the proof's implicit first node.
    let (seed, rest) = if old_size.is_power_of_two() { (old_root, path) } else { (first, rest) };
    let mut f = old_size - 1;
    let mut s = new_size - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut fr = *seed;
    let mut sr = *seed;
    for c in rest {
        if s == 0 {
            return Err(tampered(format!("{}: the proof is too long", what())));
        }
        if f & 1 == 1 || f == s {
            fr = H::node(c, &fr);
            sr = H::node(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = H::node(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(tampered(format!("{}: the proof is too short", what())));
    }
    if fr != *old_root {
        return Err(tampered(format!("{}: the proof does not lead to the old root", what())));
    }
    if sr != *new_root {
        return Err(tampered(format!("{}: the proof does not lead to the new root", what())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::merkle::MerkleTree;
    use super::*;

    fn tree(n: u32) -> MerkleTree {
        let mut t = MerkleTree::new();
        for i in 0..n {
            t.push_leaf(&i.to_le_bytes());
        }
        t
    }

    #[test]
    fn every_inclusion_proof_of_small_trees_verifies_and_no_other_leaf_does() {
        let t = tree(17);
        for size in 1..=17 {
            let root = t.root_at(size).unwrap();
            for index in 0..size {
                let path = t.inclusion_path(index, size).unwrap();
                let leaf = t.leaf_hash(index).unwrap();
                verify_inclusion::<Rfc6962>(&leaf, index, size, &path, &root).unwrap();
                for other in (0..size).filter(|&o| o != index) {
                    let e = verify_inclusion::<Rfc6962>(&leaf, other, size, &path, &root).unwrap_err();
                    assert_eq!(e.kind(), ErrorKind::AuditTampered);
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_of_small_trees_verifies() {
        let t = tree(17);
        for new in 0..=17 {
            for old in 0..=new {
                let path = t.consistency_path(old, new).unwrap();
                let (r1, r2) = (t.root_at(old).unwrap(), t.root_at(new).unwrap());
                verify_consistency::<Rfc6962>(old, new, &path, &r1, &r2).unwrap();
                if old > 0 && old < new {
                    assert!(verify_consistency::<Rfc6962>(old, new, &path, &r2, &r1).is_err());
                }
            }
        }
    }

    #[test]
    fn leaf_index_outside_the_tree_is_rejected() {
        let h = TreeHash([1; 32]);
        for (index, size) in [(0, 0), (1, 1), (5, 3)] {
            let e = verify_inclusion::<Rfc6962>(&h, index, size, &[], &h).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AuditTampered);
        }
        verify_inclusion::<Rfc6962>(&h, 0, 1, &[], &h).unwrap();
    }

    #[test]
    fn degenerate_consistency_cases() {
        let (a, b) = (TreeHash([1; 32]), TreeHash([2; 32]));
        verify_consistency::<Rfc6962>(0, 0, &[], &a, &a).unwrap();
        verify_consistency::<Rfc6962>(0, 5, &[], &a, &b).unwrap();
        verify_consistency::<Rfc6962>(3, 3, &[], &b, &b).unwrap();
        assert!(verify_consistency::<Rfc6962>(3, 3, &[], &a, &b).is_err());
        assert!(verify_consistency::<Rfc6962>(0, 5, &[a], &a, &b).is_err());
        assert!(verify_consistency::<Rfc6962>(3, 3, &[a], &a, &a).is_err());
        assert!(verify_consistency::<Rfc6962>(4, 3, &[], &a, &b).is_err());
        assert!(verify_consistency::<Rfc6962>(1, 2, &[], &a, &b).is_err());
    }
}
