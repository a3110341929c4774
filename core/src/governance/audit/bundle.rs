//! Offline proof bundles: C2SP `tlog-proof@v1`, a record's inclusion proof
//! and the signed checkpoint it leads to, in one text anyone can check with
//! the log owner's verifier key alone.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! index <leaf index, decimal>
//! <base64 hash>                 the inclusion path, leaf level first
//! ...
//!                               an empty line
//! <signed checkpoint, verbatim>
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::checkpoint::Checkpoint;
use super::hasher::{Rfc6962, TreeHash, TreeHasher};
use super::note::CheckpointVerifier;
use super::proof::verify_inclusion;
use crate::error::{Error, Result};

/// The first line of every bundle.
const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A C2SP `tlog-proof@v1` bundle: that the entry at `index` is in the log
/// whose signed checkpoint the bundle carries.
///
/// ```
/// use fleetgov::audit::{AuditAction, AuditEntry, AuditLog, CheckpointSigner, TlogProof};
/// use fleetgov::Role;
/// let signer = CheckpointSigner::generate("fleetgov.example/audit").unwrap();
/// let log = AuditLog::in_memory();
/// for t in 0..5 {
///     log.append(AuditEntry::new(t, "alice", Role::Admin, AuditAction::Publish, "eks-prod-us")).unwrap();
/// }
/// let text = log.tlog_proof(3, &signer).unwrap().to_string();
/// assert!(text.starts_with("c2sp.org/tlog-proof@v1\nindex 3\n"));
///
/// // An auditor with the entry bytes, the text and the verifier key:
/// let entry = log.record(3).unwrap().encode();
/// let bundle: TlogProof = text.parse().unwrap();
/// let checkpoint = bundle.verify(&entry, &signer.verifier()).unwrap();
/// assert_eq!(checkpoint.size, 5);
/// assert!(bundle.verify(&log.record(2).unwrap().encode(), &signer.verifier()).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// The entry's position in the log (a record's sequence number).
    pub index: u64,
    /// The inclusion path, leaf level first.
    pub path: Vec<TreeHash>,
    /// The signed checkpoint (a C2SP signed note) the path leads to.
    pub checkpoint: String,
}

impl TlogProof {
    /// Checks the bundle with the log owner's key alone: the checkpoint's
    /// signature (and origin), then that `entry` is leaf [`index`](Self::index)
    /// of the tree the checkpoint signs. Returns the checkpoint.
    ///
    /// A bad signature or a path that does not lead to the signed root is
    /// [`AuditTampered`](crate::ErrorKind::AuditTampered); a malformed checkpoint is
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput).
    pub fn verify(&self, entry: &[u8], verifier: &CheckpointVerifier) -> Result<Checkpoint> {
        let checkpoint = Checkpoint::open(&self.checkpoint, verifier)?;
        verify_inclusion::<Rfc6962>(&Rfc6962::leaf(entry), self.index, checkpoint.size, &self.path, &checkpoint.root)?;
        Ok(checkpoint)
    }
}

impl fmt::Display for TlogProof {
    /// The bundle's text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{HEADER}\nindex {}", self.index)?;
        for hash in &self.path {
            writeln!(f, "{}", BASE64.encode(hash.0))?;
        }
        write!(f, "\n{}", self.checkpoint)
    }
}

impl FromStr for TlogProof {
    type Err = Error;

    /// Parses a bundle. An `extra` line is allowed and ignored (its data is
    /// not authenticated); the index must be canonical decimal, each hash
    /// canonical base64 of 32 bytes. Anything else is
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput). The checkpoint is
    /// checked by [`verify`](TlogProof::verify), not here.
    fn from_str(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid(format!("malformed tlog proof: {why}"));
        let (head, checkpoint) = text.split_once("\n\n").ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("the first line must be c2sp.org/tlog-proof@v1"));
        }
        let mut line = lines.next().ok_or_else(|| bad("no index line"))?;
        if let Some(extra) = line.strip_prefix("extra ") {
            BASE64.decode(extra).map_err(|_| bad("the extra data is not base64"))?;
            line = lines.next().ok_or_else(|| bad("no index line"))?;
        }
        let index = line.strip_prefix("index ").ok_or_else(|| bad("no index line"))?;
        let canonical = index == "0" || (!index.starts_with('0') && index.bytes().all(|b| b.is_ascii_digit()));
        let index = index.parse().ok().filter(|_| canonical).ok_or_else(|| bad("the index is not a decimal number"))?;
        let path = lines
            .map(|line| {
                let raw = BASE64.decode(line).map_err(|_| bad("a hash is not base64"))?;
                Ok(TreeHash(raw.try_into().map_err(|_| bad("a hash is not 32 bytes"))?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TlogProof { index, path, checkpoint: checkpoint.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::governance::audit::{CheckpointSigner, MerkleTree, TreeHead};

    fn bundle() -> (TlogProof, Vec<u8>, CheckpointSigner) {
        let signer = CheckpointSigner::from_seed("log.example/a", [9; 32]).unwrap();
        let mut tree = MerkleTree::new();
        for i in 0..11u8 {
            tree.push_leaf(&[i; 3]);
        }
        let head = TreeHead { size: 11, root: tree.root() };
        let checkpoint = Checkpoint::new(signer.name(), head).sign(&signer).unwrap();
        (TlogProof { index: 6, path: tree.inclusion_path(6, 11).unwrap(), checkpoint }, vec![6; 3], signer)
    }

    #[test]
    fn text_round_trips_and_verifies() {
        let (proof, entry, signer) = bundle();
        let text = proof.to_string();
        assert_eq!(text.lines().nth(1), Some("index 6"));
        let parsed: TlogProof = text.parse().unwrap();
        assert_eq!(parsed, proof);
        assert_eq!(parsed.verify(&entry, &signer.verifier()).unwrap().size, 11);
        let with_extra = text.replacen("\nindex", "\nextra AAEC\nindex", 1);
        assert_eq!(with_extra.parse::<TlogProof>().unwrap(), proof);
    }

    #[test]
    fn every_single_bit_flip_of_the_text_is_rejected() {
        let (proof, entry, signer) = bundle();
        let text = proof.to_string();
        let verifier = signer.verifier();
        for i in 0..text.len() {
            for bit in 0..8 {
                let mut bytes = text.clone().into_bytes();
                bytes[i] ^= 1 << bit;
                let Ok(mutant) = String::from_utf8(bytes) else { continue };
                let accepted = mutant.parse::<TlogProof>().is_ok_and(|p| p.verify(&entry, &verifier).is_ok());
                assert!(!accepted, "accepted byte {i} bit {bit}: {mutant:?}");
            }
        }
    }

    #[test]
    fn malformed_bundles_are_invalid_input() {
        let (proof, _, _) = bundle();
        let text = proof.to_string();
        for bad in [
            text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
            text.replacen("index 6", "index 06", 1),
            text.replacen("index 6", "index -6", 1),
            text.replacen("index 6", "idx 6", 1),
            text.replacen("\n\n", "\n", 1),
            text.replacen("\nindex", "\nextra !!\nindex", 1),
            text.replacen("index 6\n", "index 6\nAAAA\n", 1),
        ] {
            assert_eq!(bad.parse::<TlogProof>().unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
    }
}
