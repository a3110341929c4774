//! Snapshots: published, versioned pointers to content-addressed artifacts.

use serde::{Deserialize, Serialize};

use crate::hash::ContentHash;

/// A published configuration snapshot: what a cluster's authority points at.
///
/// Its id is `<cluster>@r<revision>`, so a node's reported snapshot id names
/// both the cluster and the revision it applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// `<cluster>@r<revision>`, e.g. `eks-prod-us@r3`.
    pub id: String,
    /// The cluster it was published to.
    pub cluster: String,
    /// Monotonic per cluster, starting at 1.
    pub revision: u32,
    /// `blake3` of the artifact bytes.
    pub hash: ContentHash,
    /// Who published it.
    pub author: String,
    /// When it was published (unix ms).
    pub published_at_ms: u64,
    /// Size of the artifact in bytes.
    pub size_bytes: u64,
}

/// Formats a snapshot id.
///
/// ```
/// assert_eq!(fleetgov::snapshot_id("eks-prod-us", 3), "eks-prod-us@r3");
/// ```
pub fn snapshot_id(cluster: &str, revision: u32) -> String {
    format!("{cluster}@r{revision}")
}

/// Splits a snapshot id into cluster and revision; `None` if it is not of
/// the form `<cluster>@r<revision>` with a revision of at least 1.
///
/// ```
/// assert_eq!(fleetgov::parse_snapshot_id("eks-prod-us@r3"), Some(("eks-prod-us", 3)));
/// assert_eq!(fleetgov::parse_snapshot_id("local-override"), None);
/// for bad in ["@r1", "c@r", "c@r0", "c@rx", "c@r+1", "c@r99999999999", "c@s1"] {
///     assert_eq!(fleetgov::parse_snapshot_id(bad), None, "{bad}");
/// }
/// ```
pub fn parse_snapshot_id(id: &str) -> Option<(&str, u32)> {
    // A byte scan from the end: this runs on every heartbeat.
    let bytes = id.as_bytes();
    let at = bytes.iter().rposition(|&b| b == b'@')?;
    let digits = bytes.get(at + 2..).filter(|d| bytes[at + 1] == b'r' && !d.is_empty() && d.len() <= 10)?;
    let mut revision: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        revision = revision * 10 + u64::from(d - b'0');
    }
    let revision = u32::try_from(revision).ok().filter(|&r| r > 0)?;
    (at > 0).then(|| (&id[..at], revision))
}
