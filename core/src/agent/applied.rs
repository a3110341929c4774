//! The configuration a node runs: bytes verified against their hash.

use std::fmt;
use std::sync::Arc;

use crate::authority::snapshot::parse_snapshot_id;
use crate::hash::ContentHash;

/// A configuration the agent verified and the gateway's [`Reloader`](super::Reloader)
/// installed (or, while the hook runs, the candidate it is asked to install).
///
/// Only the agent builds one, after checking `blake3(bytes) == hash`, so every
/// `AppliedConfig` anybody sees is whole and self-consistent. It is immutable
/// and shared as `Arc<AppliedConfig>`; the bytes are shared too, never copied.
///
/// ```
/// use fleetgov::{ContentHash, agent::Agent};
/// let agent = Agent::new("3.5.0".parse()?, |_: &_| Ok(()));
/// let bytes = b"routes: []".to_vec();
/// let applied = agent.apply("eks-prod-us@r3", bytes, ContentHash::of(b"routes: []"), 1_000)?;
/// assert_eq!((applied.snapshot_id(), applied.revision()), ("eks-prod-us@r3", Some(3)));
/// assert_eq!(applied.hash(), ContentHash::of(applied.bytes()));
/// assert_eq!(applied.applied_at_ms(), 1_000);
/// # Ok::<(), fleetgov::Error>(())
/// ```
pub struct AppliedConfig {
    snapshot_id: String,
    revision: Option<u32>,
    hash: ContentHash,
    bytes: Arc<[u8]>,
    applied_at_ms: u64,
}

impl AppliedConfig {
    /// A config whose `hash` the caller has just computed over `bytes`.
    pub(crate) fn verified(snapshot_id: &str, hash: ContentHash, bytes: Arc<[u8]>, applied_at_ms: u64) -> Self {
        AppliedConfig {
            snapshot_id: snapshot_id.to_owned(),
            revision: parse_snapshot_id(snapshot_id).map(|(_, r)| r),
            hash,
            bytes,
            applied_at_ms,
        }
    }

    /// The same configuration, applied again at `at_ms` (a rollback).
    pub(crate) fn reapplied(&self, at_ms: u64) -> Self {
        AppliedConfig {
            snapshot_id: self.snapshot_id.clone(),
            bytes: Arc::clone(&self.bytes),
            applied_at_ms: at_ms,
            ..*self
        }
    }

    /// Whether `other` is the same snapshot with the same content.
    pub(crate) fn same_content(&self, other: &AppliedConfig) -> bool {
        self.hash == other.hash && self.snapshot_id == other.snapshot_id
    }

    /// The snapshot id, e.g. `eks-prod-us@r3` (or whatever id the caller gave).
    pub fn snapshot_id(&self) -> &str {
        &self.snapshot_id
    }

    /// The revision, when the id has the engine's `<cluster>@r<revision>` form.
    pub fn revision(&self) -> Option<u32> {
        self.revision
    }

    /// `blake3(bytes)`, computed by the agent.
    pub fn hash(&self) -> ContentHash {
        self.hash
    }

    /// The configuration bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The configuration bytes as a shared buffer (no copy).
    pub fn shared_bytes(&self) -> Arc<[u8]> {
        Arc::clone(&self.bytes)
    }

    /// When it was applied (unix ms, as given to `apply` or `rollback`).
    pub fn applied_at_ms(&self) -> u64 {
        self.applied_at_ms
    }
}

impl fmt::Debug for AppliedConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppliedConfig")
            .field("snapshot_id", &self.snapshot_id)
            .field("hash", &self.hash)
            .field("len", &self.bytes.len())
            .field("applied_at_ms", &self.applied_at_ms)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reapplied_config_shares_its_bytes() {
        let bytes: Arc<[u8]> = Arc::from(&b"x: 1"[..]);
        let a = AppliedConfig::verified("c@r2", ContentHash::of(&bytes), Arc::clone(&bytes), 5);
        let b = a.reapplied(9);
        assert!(Arc::ptr_eq(&a.bytes, &b.bytes) && a.same_content(&b));
        assert_eq!((b.revision(), b.applied_at_ms()), (Some(2), 9));
    }
}
