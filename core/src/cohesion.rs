//! Cohesion (% of enrolled nodes verified) and the cluster status.

use serde::{Deserialize, Serialize};

/// `floor(100 * verified / enrolled)`: 100 only when every enrolled node is
/// verified. An empty cluster has nothing unverified: its cohesion is 100.
///
/// ```
/// use fleetgov::cohesion::cohesion;
/// assert_eq!(cohesion(2, 3), 66);
/// assert_eq!(cohesion(199, 200), 99);
/// assert_eq!(cohesion(3, 3), 100);
/// assert_eq!(cohesion(0, 0), 100);
/// ```
pub fn cohesion(verified: u64, enrolled: u64) -> u8 {
    // At most 100, so the cast is exact.
    share(verified, enrolled, 100) as u8
}

/// Cohesion in basis points: `floor(10000 * verified / enrolled)` (9950 is
/// shown as 99.50 %); 10000 only when every enrolled node is verified.
///
/// ```
/// use fleetgov::cohesion::cohesion_bp;
/// assert_eq!(cohesion_bp(199, 200), 9950);
/// assert_eq!(cohesion_bp(1, 3), 3333);
/// assert_eq!(cohesion_bp(0, 0), 10_000);
/// ```
pub fn cohesion_bp(verified: u64, enrolled: u64) -> u16 {
    // At most 10,000, so the cast is exact.
    share(verified, enrolled, 10_000) as u16
}

fn share(verified: u64, enrolled: u64, scale: u128) -> u128 {
    if enrolled == 0 {
        return scale;
    }
    scale * u128::from(verified.min(enrolled)) / u128::from(enrolled)
}

/// A cluster's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterStatus {
    /// Every enrolled node verified, and no node's last heartbeat carries a sync error.
    Healthy,
    /// Otherwise, with cohesion 50 or more.
    Syncing,
    /// Otherwise: cohesion below 50.
    Divergent,
}

impl ClusterStatus {
    /// The status of a cluster with `verified` of `enrolled` nodes verified
    /// and `errors` nodes whose last heartbeat carries a sync error.
    ///
    /// ```
    /// use fleetgov::ClusterStatus;
    /// assert_eq!(ClusterStatus::of(200, 200, 0), ClusterStatus::Healthy);
    /// assert_eq!(ClusterStatus::of(200, 200, 1), ClusterStatus::Syncing); // verified, yet reports an error
    /// assert_eq!(ClusterStatus::of(199, 200, 0), ClusterStatus::Syncing);
    /// assert_eq!(ClusterStatus::of(499, 1_000, 0), ClusterStatus::Divergent);
    /// assert_eq!(ClusterStatus::of(500, 1_000, 0), ClusterStatus::Syncing);
    /// ```
    pub fn of(verified: u64, enrolled: u64, errors: u64) -> Self {
        if verified >= enrolled && errors == 0 {
            ClusterStatus::Healthy
        } else if cohesion(verified, enrolled) < 50 {
            ClusterStatus::Divergent
        } else {
            ClusterStatus::Syncing
        }
    }

    /// The status of a cluster whose rollout is in phase `phase`, with
    /// `verified` of `enrolled` nodes verified against their own desired
    /// snapshot: while the rollout progresses, bakes or is paused the
    /// reconciliation is in progress (`SYNCING`, or `DIVERGENT` below
    /// cohesion 50); a halted rollout is `DIVERGENT` until it is rolled back,
    /// resumed or aborted; any other phase follows [`of`](Self::of).
    ///
    /// ```
    /// use fleetgov::ClusterStatus;
    /// use fleetgov::rollout::Phase;
    /// assert_eq!(ClusterStatus::during_rollout(Phase::Baking, 100, 100, 0), ClusterStatus::Syncing);
    /// assert_eq!(ClusterStatus::during_rollout(Phase::Paused, 49, 100, 0), ClusterStatus::Divergent);
    /// assert_eq!(ClusterStatus::during_rollout(Phase::Halted, 99, 100, 1), ClusterStatus::Divergent);
    /// assert_eq!(ClusterStatus::during_rollout(Phase::Complete, 100, 100, 0), ClusterStatus::Healthy);
    /// ```
    pub fn during_rollout(phase: crate::authority::rollout::Phase, verified: u64, enrolled: u64, errors: u64) -> Self {
        use crate::authority::rollout::Phase;
        match phase {
            Phase::Halted => ClusterStatus::Divergent,
            Phase::Progressing | Phase::Baking | Phase::Paused if cohesion(verified, enrolled) < 50 => {
                ClusterStatus::Divergent
            }
            Phase::Progressing | Phase::Baking | Phase::Paused => ClusterStatus::Syncing,
            Phase::RolledBack | Phase::Aborted | Phase::Complete => ClusterStatus::of(verified, enrolled, errors),
        }
    }

    /// The name used in JSON and the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterStatus::Healthy => "HEALTHY",
            ClusterStatus::Syncing => "SYNCING",
            ClusterStatus::Divergent => "DIVERGENT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cohesion_floors_so_100_means_every_node() {
        assert_eq!(cohesion(3, 3), 100);
        assert_eq!(cohesion(3, 4), 75);
        assert_eq!(cohesion(1, 2), 50);
        assert_eq!(cohesion(199, 200), 99);
        assert_eq!(cohesion(9_990, 10_000), 99);
        assert_eq!(cohesion(4_985, 10_000), 49);
        assert_eq!(cohesion(0, 5), 0);
        assert_eq!(cohesion(u64::MAX, u64::MAX), 100);
        assert_eq!(cohesion(u64::MAX - 1, u64::MAX), 99);
        assert_eq!(cohesion(7, 3), 100, "never above 100");
        assert_eq!((cohesion_bp(u64::MAX - 1, u64::MAX), cohesion_bp(4_985, 10_000)), (9_999, 4_985));
    }

    #[test]
    fn status_needs_every_node_verified_and_no_error() {
        assert_eq!(ClusterStatus::of(0, 0, 0), ClusterStatus::Healthy);
        assert_eq!(ClusterStatus::of(0, 0, 1), ClusterStatus::Syncing, "an error is never healthy");
        assert_eq!(ClusterStatus::of(1, 2, 0), ClusterStatus::Syncing);
        assert_eq!(ClusterStatus::of(9_990, 10_000, 10), ClusterStatus::Syncing);
        assert_eq!(ClusterStatus::of(0, 5, 0), ClusterStatus::Divergent);
    }
}
