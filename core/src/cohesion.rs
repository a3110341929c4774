//! Cohesion (% of enrolled nodes in sync) and the cluster status it implies.

use serde::{Deserialize, Serialize};

/// `round(100 * in_sync / enrolled)`, rounding halves up, in integers.
/// An empty cluster has nothing out of sync: its cohesion is 100.
///
/// ```
/// use fleetgov::cohesion::cohesion;
/// assert_eq!(cohesion(2, 3), 67);
/// assert_eq!(cohesion(1, 3), 33);
/// assert_eq!(cohesion(1, 8), 13); // 12.5 rounds up
/// assert_eq!(cohesion(0, 0), 100);
/// ```
pub fn cohesion(in_sync: u64, enrolled: u64) -> u8 {
    if enrolled == 0 {
        return 100;
    }
    let in_sync = in_sync.min(enrolled) as u128;
    let enrolled = enrolled as u128;
    ((200 * in_sync + enrolled) / (2 * enrolled)) as u8
}

/// A cluster's status band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterStatus {
    /// Cohesion 100.
    Healthy,
    /// Cohesion 50 to 99.
    Syncing,
    /// Cohesion below 50.
    Divergent,
}

impl ClusterStatus {
    /// The band of a cohesion percentage.
    ///
    /// ```
    /// use fleetgov::ClusterStatus;
    /// assert_eq!(ClusterStatus::from_cohesion(100), ClusterStatus::Healthy);
    /// assert_eq!(ClusterStatus::from_cohesion(50), ClusterStatus::Syncing);
    /// assert_eq!(ClusterStatus::from_cohesion(49), ClusterStatus::Divergent);
    /// ```
    pub fn from_cohesion(cohesion: u8) -> Self {
        match cohesion {
            100.. => ClusterStatus::Healthy,
            50..=99 => ClusterStatus::Syncing,
            _ => ClusterStatus::Divergent,
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
    fn cohesion_rounds_half_up_at_the_boundaries() {
        assert_eq!(cohesion(3, 3), 100);
        assert_eq!(cohesion(3, 4), 75);
        assert_eq!(cohesion(1, 2), 50);
        assert_eq!(cohesion(199, 200), 100); // 99.5 rounds up
        assert_eq!(cohesion(1990, 2001), 99);
        assert_eq!(cohesion(0, 5), 0);
        assert_eq!(cohesion(u64::MAX, u64::MAX), 100);
    }

    #[test]
    fn status_bands() {
        assert_eq!(ClusterStatus::from_cohesion(cohesion(1, 2)), ClusterStatus::Syncing);
        assert_eq!(ClusterStatus::from_cohesion(cohesion(199, 200)), ClusterStatus::Healthy);
        assert_eq!(ClusterStatus::from_cohesion(99), ClusterStatus::Syncing);
        assert_eq!(ClusterStatus::from_cohesion(0), ClusterStatus::Divergent);
    }
}
