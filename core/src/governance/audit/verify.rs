//! Verification of a whole log: sequence, hash chain, payload hashes, root.

use serde::{Deserialize, Serialize};

use super::hasher::TreeHash;
use super::merkle::MerkleTree;
use super::record::AuditRecord;
use crate::ContentHash;
use crate::error::{Error, ErrorKind, Result};

/// The size and root of the log at some moment: what a checkpoint signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TreeHead {
    /// The number of records.
    pub size: u64,
    /// The Merkle root over their leaves.
    pub root: TreeHash,
}

/// Checks records one at a time, in order, and grows their Merkle tree.
#[derive(Debug, Default)]
pub(crate) struct Chain {
    tree: MerkleTree,
}

impl Chain {
    /// Checks that `record` is the next record of the log; returns its leaf hash.
    ///
    /// The errors are [`AuditTampered`](ErrorKind::AuditTampered) and name the
    /// position at which the log stops being valid.
    pub(crate) fn push(&mut self, record: &AuditRecord) -> Result<TreeHash> {
        let leaf = check_next(&self.tree, record)?;
        self.tree.push_leaf_hash(leaf);
        Ok(leaf)
    }

    pub(crate) fn head(&self) -> TreeHead {
        TreeHead { size: self.tree.len(), root: self.tree.root() }
    }

    pub(crate) fn into_tree(self) -> MerkleTree {
        self.tree
    }
}

/// Checks that `record` is the next record of the log whose tree is `tree`;
/// returns its leaf hash.
///
/// The errors are [`AuditTampered`](ErrorKind::AuditTampered) and name the
/// position at which the log stops being valid.
pub(crate) fn check_next(tree: &MerkleTree, record: &AuditRecord) -> Result<TreeHash> {
    let seq = tree.len();
    if record.seq != seq {
        return Err(tampered(
            seq,
            format!("found the record numbered {} (a record was removed, inserted or moved)", record.seq),
        ));
    }
    let prev = seq.checked_sub(1).and_then(|p| tree.leaf_hash(p)).unwrap_or_default();
    if record.prev_hash != prev {
        return Err(tampered(seq, "its prev hash is not the leaf hash of the record before it".into()));
    }
    if ContentHash::of(&record.payload) != record.payload_hash {
        return Err(tampered(seq, "its payload does not match its payload hash".into()));
    }
    // Only valid entries are ever appended.
    record.validate().map_err(|e| tampered(seq, e.message().to_string()))?;
    Ok(record.leaf_hash())
}

/// An [`AuditTampered`](ErrorKind::AuditTampered) error that names record `seq`.
pub(crate) fn tampered(seq: u64, why: String) -> Error {
    Error::new(ErrorKind::AuditTampered, format!("audit record {seq} is bad: {why}"))
}

/// Verifies a whole log given as its records in order: dense sequence
/// numbers from 0, each `prev_hash` the leaf hash of the record before, each
/// payload matching its hash, each record obeying the entry rules
/// ([`AuditEntry::validate`](super::AuditEntry::validate)). Returns the head (size and root) to compare
/// with a signed checkpoint; on failure the
/// [`AuditTampered`](ErrorKind::AuditTampered) message names the first bad record.
///
/// What a chain alone can and cannot show: a changed `seq`, `prev_hash` or
/// payload is caught at that record; a changed field of record `k` (actor,
/// target, ...) changes its leaf hash, so it is caught at record `k + 1`,
/// whose `prev_hash` no longer matches. A changed *last* record, or records
/// cut off the end, change only the root: compare the returned head with a
/// signed [`Checkpoint`](super::Checkpoint) to catch those.
///
/// ```
/// use fleetgov::audit::{verify_records, AuditAction, AuditEntry, AuditLog};
/// use fleetgov::Role;
/// let log = AuditLog::in_memory();
/// for t in 0..3 {
///     log.append(AuditEntry::new(t, "alice", Role::Admin, AuditAction::Publish, "eks-prod-us")).unwrap();
/// }
/// let mut records: Vec<_> = log.records().iter().map(|r| (**r).clone()).collect();
/// assert_eq!(verify_records(&records).unwrap(), log.head());
/// records[1].target = "gke-stage-eu".into();
/// let e = verify_records(&records).unwrap_err();
/// assert!(e.message().contains("audit record 2"), "{e}");
/// ```
pub fn verify_records<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> Result<TreeHead> {
    let mut chain = Chain::default();
    for record in records {
        chain.push(record)?;
    }
    Ok(chain.head())
}

#[cfg(test)]
mod tests {
    use super::super::record::{AuditAction, AuditEntry};
    use super::*;
    use crate::Role;

    fn records(n: u64) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        for seq in 0..n {
            let prev = out.last().map(AuditRecord::leaf_hash).unwrap_or_default();
            let entry = AuditEntry::new(seq, "bob", Role::Operator, AuditAction::UpsertCluster, "c-1")
                .payload(seq.to_string().into_bytes());
            out.push(AuditRecord::chain(entry, seq, prev));
        }
        out
    }

    fn first_bad(records: &[AuditRecord]) -> String {
        let e = verify_records(records).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AuditTampered);
        e.message().to_string()
    }

    #[test]
    fn a_valid_chain_verifies_to_the_tree_root() {
        let rs = records(6);
        let mut tree = MerkleTree::new();
        rs.iter().for_each(|r| tree.push_leaf_hash(r.leaf_hash()));
        assert_eq!(verify_records(&rs).unwrap(), TreeHead { size: 6, root: tree.root() });
        assert_eq!(verify_records(&[]).unwrap().size, 0);
    }

    #[test]
    fn each_rule_names_the_first_bad_record() {
        let rs = records(6);
        let mut removed = rs.clone();
        removed.remove(2);
        assert!(first_bad(&removed).starts_with("audit record 2 is bad: found the record numbered 3"));

        let mut swapped = rs.clone();
        swapped.swap(1, 4);
        assert!(first_bad(&swapped).starts_with("audit record 1 "));

        let mut payload = rs.clone();
        payload[3].payload.push(b'!');
        assert!(first_bad(&payload).starts_with("audit record 3 is bad: its payload"));

        let mut field = rs.clone();
        field[4].justification = "edited".into();
        assert!(first_bad(&field).starts_with("audit record 5 is bad: its prev hash"));

        let mut unjustified = rs.clone();
        unjustified[2].action = AuditAction::GlobalOverwrite;
        assert!(first_bad(&unjustified).starts_with("audit record 2 is bad: global_overwrite"));

        let mut huge = rs.clone();
        huge[1].justification = "x".repeat(70_000);
        assert!(first_bad(&huge).starts_with("audit record 1 is bad: justification is 70000 bytes, longer than 4096"));

        let mut relinked = rs.clone();
        relinked[0].prev_hash = TreeHash([1; 32]);
        assert!(first_bad(&relinked).starts_with("audit record 0 is bad: its prev hash"));
    }
}
