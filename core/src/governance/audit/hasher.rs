//! The 32-byte hashes of the audit tree and the hash functions that make them.
//!
//! The tree is RFC 6962 / RFC 9162 §2.1 with SHA-256, the hash every
//! transparency-log tool speaks (Go's `golang.org/x/mod/sumdb/tlog`, the
//! C2SP `tlog-tiles` clients). Leaves and interior nodes are
//! domain-separated by a one-byte prefix, so no leaf can pose as an interior
//! node:
//!
//! ```text
//! leaf(d)    = SHA-256(0x00 || d)
//! node(l, r) = SHA-256(0x01 || l || r)
//! empty tree = SHA-256("")
//! ```
//!
//! [`TreeHasher`] names these three functions; [`Rfc6962`] is the one the
//! audit log uses. (blake3 stays the content hash of artifacts and payloads.)

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::ContentHash;
use crate::error::{Error, Result};

/// A node of the audit Merkle tree: a leaf hash, an interior node or a root.
///
/// Shown as 64 lowercase hex characters (JSON too); checkpoints carry it in
/// base64 as C2SP prescribes.
///
/// ```
/// use fleetgov::audit::TreeHash;
/// let h = TreeHash([7; 32]);
/// assert_eq!(h.to_string().parse::<TreeHash>().unwrap(), h);
/// assert!("zz".parse::<TreeHash>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TreeHash(pub [u8; 32]);

impl TreeHash {
    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses 64 hex characters (either case); anything else is
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput).
    pub fn from_hex(hex: &str) -> Result<Self> {
        ContentHash::from_hex(hex).map(|h| TreeHash(h.0))
    }
}

impl fmt::Display for TreeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&ContentHash(self.0), f)
    }
}

impl fmt::Debug for TreeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TreeHash({self})")
    }
}

impl FromStr for TreeHash {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        TreeHash::from_hex(s)
    }
}

impl Serialize for TreeHash {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TreeHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        ContentHash::deserialize(d).map(|h| TreeHash(h.0))
    }
}

/// The three hash functions of an RFC 9162-style tree.
///
/// Implementations must keep leaves and interior nodes apart (RFC 9162 uses
/// the prefixes `0x00` and `0x01`). [`Rfc6962`] is the one fleetgov uses.
///
/// ```
/// use fleetgov::audit::{Rfc6962, TreeHasher};
/// let a = Rfc6962::leaf(b"a");
/// assert_ne!(a, Rfc6962::leaf(b"b"));
/// assert_ne!(Rfc6962::node(&a, &a), Rfc6962::leaf(&[a.0, a.0].concat()));
/// ```
pub trait TreeHasher {
    /// The root of the empty tree: the hash of the empty string.
    fn empty_root() -> TreeHash;
    /// The hash of a leaf holding `data`: `H(0x00 || data)`.
    fn leaf(data: &[u8]) -> TreeHash;
    /// The hash of an interior node: `H(0x01 || left || right)`.
    fn node(left: &TreeHash, right: &TreeHash) -> TreeHash;
}

/// The audit tree's hash: SHA-256 with the RFC 6962 prefixes.
///
/// An uninhabited marker type; use it as a type argument.
///
/// ```
/// use fleetgov::audit::{Rfc6962, TreeHasher, TreeHash};
/// // SHA-256("") and SHA-256(0x00), the empty tree and the empty leaf of RFC 6962.
/// assert_eq!(Rfc6962::empty_root(), TreeHash::from_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855").unwrap());
/// assert_eq!(Rfc6962::leaf(b""), TreeHash::from_hex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d").unwrap());
/// ```
#[derive(Debug)]
pub enum Rfc6962 {}

impl TreeHasher for Rfc6962 {
    fn empty_root() -> TreeHash {
        TreeHash(Sha256::digest(b"").into())
    }

    fn leaf(data: &[u8]) -> TreeHash {
        let mut h = Sha256::new();
        h.update([0x00]);
        h.update(data);
        TreeHash(h.finalize().into())
    }

    fn node(left: &TreeHash, right: &TreeHash) -> TreeHash {
        let mut h = Sha256::new();
        h.update([0x01]);
        h.update(left.0);
        h.update(right.0);
        TreeHash(h.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_separate_leaves_from_nodes() {
        let (l, r) = (TreeHash([1; 32]), TreeHash([2; 32]));
        let mut joined = vec![0x01];
        joined.extend_from_slice(&l.0);
        joined.extend_from_slice(&r.0);
        assert_eq!(Rfc6962::node(&l, &r).0, <[u8; 32]>::from(Sha256::digest(&joined)));
        assert_ne!(Rfc6962::node(&l, &r), Rfc6962::node(&r, &l));
    }

    #[test]
    fn json_is_hex() {
        let h = TreeHash([0xab; 32]);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<TreeHash>(&json).unwrap(), h);
        assert!(serde_json::from_str::<TreeHash>("\"ab\"").is_err());
    }
}
