//! Checkpoints: a log's size and root, signed by its owner (C2SP
//! `tlog-checkpoint` in a [signed note](super::note)).
//!
//! ```text
//! fleetgov.example/audit/ws-1          origin: the signing key's name
//! 42                                   tree size, decimal
//! 3q2+7w...=                           root hash, base64
//!
//! — fleetgov.example/audit/ws-1 AbCd...   signature line(s)
//! ```
//!
//! A third party holding only the [`CheckpointVerifier`] checks a checkpoint
//! with [`Checkpoint::open`], then checks inclusion and consistency proofs
//! against its root.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::hasher::TreeHash;
use super::merkle::MerkleTree;
use super::note::{CheckpointSigner, CheckpointVerifier};
use super::verify::TreeHead;
use crate::error::{Error, ErrorKind, Result};

/// A log's size and root under its origin name.
///
/// ```
/// use fleetgov::audit::{AuditAction, AuditEntry, AuditLog, Checkpoint, CheckpointSigner};
/// use fleetgov::Role;
/// let signer = CheckpointSigner::generate("fleetgov.example/audit").unwrap();
/// let log = AuditLog::in_memory();
/// log.append(AuditEntry::new(1, "alice", Role::Admin, AuditAction::UpsertWorkspace, "ws-1")).unwrap();
/// let note = log.checkpoint(&signer).unwrap();
/// // Elsewhere, with only the public key:
/// let verifier = signer.verifier();
/// let checkpoint = Checkpoint::open(&note, &verifier).unwrap();
/// assert_eq!(checkpoint.head(), log.head());
/// assert!(Checkpoint::open(&note.replace("\n1\n", "\n2\n"), &verifier).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    /// The log's name: the name of the key that signs it.
    pub origin: String,
    /// The number of records.
    pub size: u64,
    /// The Merkle root of the first `size` records.
    pub root: TreeHash,
}

impl Checkpoint {
    /// The checkpoint of `head` under `origin`.
    pub fn new(origin: impl Into<String>, head: TreeHead) -> Self {
        Checkpoint { origin: origin.into(), size: head.size, root: head.root }
    }

    /// Size and root.
    pub fn head(&self) -> TreeHead {
        TreeHead { size: self.size, root: self.root }
    }

    /// The checkpoint's text: origin, size and base64 root, one per line.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, BASE64.encode(self.root.0))
    }

    /// Parses a checkpoint text (C2SP `tlog-checkpoint`): origin, the size
    /// in decimal without leading zeros, the root in base64 of 32 bytes,
    /// each line ending in a newline, then optional non-empty extension
    /// lines, which are opaque and dropped (fleetgov writes none).
    pub fn parse_body(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid(format!("malformed checkpoint: {why}"));
        let lines: Vec<&str> = text.strip_suffix('\n').ok_or_else(|| bad("no final newline"))?.split('\n').collect();
        let [origin, size, root, ref extensions @ ..] = lines[..] else {
            return Err(bad("expected three lines: origin, size, root"));
        };
        if extensions.iter().any(|line| line.is_empty()) {
            return Err(bad("an empty extension line"));
        }
        if origin.trim().is_empty() || origin != origin.trim() {
            return Err(bad("blank or padded origin"));
        }
        let canonical = size == "0" || (!size.starts_with('0') && size.bytes().all(|b| b.is_ascii_digit()));
        let size = size.parse::<u64>().ok().filter(|_| canonical).ok_or_else(|| bad("size is not a decimal number"))?;
        let raw = BASE64.decode(root).map_err(|_| bad("root is not base64"))?;
        let root = TreeHash(raw.try_into().map_err(|_| bad("root is not 32 bytes"))?);
        Ok(Checkpoint { origin: origin.to_string(), size, root })
    }

    /// Signs the checkpoint; its origin must be the signer's name.
    pub fn sign(&self, signer: &CheckpointSigner) -> Result<String> {
        if self.origin != signer.name() {
            return Err(Error::invalid(format!(
                "checkpoint origin {:?} is not the signing key's name {:?}",
                self.origin,
                signer.name()
            )));
        }
        signer.sign_note(&self.body())
    }

    /// Checks a signed checkpoint with the log owner's public key and returns
    /// it. The origin must be the key's name (else
    /// [`AuditTampered`](ErrorKind::AuditTampered)).
    pub fn open(note: &str, verifier: &CheckpointVerifier) -> Result<Self> {
        let checkpoint = Checkpoint::parse_body(verifier.open_note(note)?)?;
        if checkpoint.origin != verifier.name() {
            return Err(Error::new(
                ErrorKind::AuditTampered,
                format!("checkpoint of {:?} is signed by the key of {:?}", checkpoint.origin, verifier.name()),
            ));
        }
        Ok(checkpoint)
    }

    /// Checks that the first `have` leaves of `tree` contain this
    /// checkpoint's log as a prefix: at least `size` records, and the same
    /// root at `size`.
    pub(crate) fn check_prefix_of(&self, tree: &MerkleTree, have: u64) -> Result<()> {
        if have < self.size {
            return Err(Error::new(
                ErrorKind::AuditTampered,
                format!(
                    "audit record {have} is missing: the log holds {have} records but checkpoint {:?} commits to {}",
                    self.origin, self.size
                ),
            ));
        }
        if tree.root_at(self.size)? != self.root {
            return Err(Error::new(
                ErrorKind::AuditTampered,
                format!(
                    "the log's first {} records are not the ones checkpoint {:?} commits to (rewritten history)",
                    self.size, self.origin
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp() -> Checkpoint {
        Checkpoint { origin: "fleetgov.example/audit".into(), size: 42, root: TreeHash([0xde; 32]) }
    }

    #[test]
    fn body_is_the_c2sp_layout_and_parses_back() {
        let body = cp().body();
        assert_eq!(body, format!("fleetgov.example/audit\n42\n{}\n", BASE64.encode([0xde; 32])));
        assert_eq!(Checkpoint::parse_body(&body).unwrap(), cp());
    }

    #[test]
    fn non_canonical_bodies_are_rejected() {
        let root = BASE64.encode([0xde; 32]);
        for bad in [
            format!("o\n042\n{root}\n"),
            format!("o\n+42\n{root}\n"),
            format!("o\n42\n{root}"),
            format!("o\n42\n{root}\n\n"),
            format!("o\n42\n{root}\next\n\n"),
            format!(" o\n42\n{root}\n"),
            format!("\n42\n{root}\n"),
            format!("o\n42\n{}\n", BASE64.encode([0xde; 31])),
            format!("o\n42\n{}\n", root.trim_end_matches('=')),
            "o\n18446744073709551616\nAAAA\n".to_string(),
        ] {
            assert!(Checkpoint::parse_body(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(Checkpoint::parse_body(&format!("o\n0\n{root}\n")).unwrap().size, 0);
        // Extension lines are allowed, opaque, and dropped.
        let extended = Checkpoint::parse_body(&format!("o\n42\n{root}\next one\next two\n")).unwrap();
        assert_eq!(extended, Checkpoint { origin: "o".into(), ..cp() });
    }

    #[test]
    fn origin_must_be_the_key_name() {
        let signer = CheckpointSigner::from_seed("other.example/log", [1; 32]).unwrap();
        assert_eq!(cp().sign(&signer).unwrap_err().kind(), ErrorKind::InvalidInput);
        // A note whose text names another origin, signed by this key, is refused on open.
        let note = signer.sign_note(&cp().body()).unwrap();
        assert_eq!(Checkpoint::open(&note, &signer.verifier()).unwrap_err().kind(), ErrorKind::AuditTampered);
    }

    #[test]
    fn prefix_check_names_the_first_missing_record() {
        let mut tree = MerkleTree::new();
        for i in 0..5u8 {
            tree.push_leaf(&[i]);
        }
        let at3 = Checkpoint::new("o", TreeHead { size: 3, root: tree.root_at(3).unwrap() });
        at3.check_prefix_of(&tree, 5).unwrap();
        at3.check_prefix_of(&tree, 3).unwrap();
        assert!(at3.check_prefix_of(&tree, 2).unwrap_err().message().starts_with("audit record 2 is missing"));
        let at7 = Checkpoint { size: 7, ..at3.clone() };
        assert!(at7.check_prefix_of(&tree, 5).unwrap_err().message().starts_with("audit record 5 is missing"));
        let other = Checkpoint { root: TreeHash([0; 32]), ..at3 };
        assert_eq!(other.check_prefix_of(&tree, 5).unwrap_err().kind(), ErrorKind::AuditTampered);
    }
}
