//! Drift: how a runtime's execution compares with its authority.

use serde::{Deserialize, Serialize};

/// The seeds' drift status of a runtime; the first matching rule wins:
/// no heartbeat → `AwaitingSync`; version below the workspace minimum →
/// `UpgradeRequired`; not in sync → `NeedsReconcile`; else `Aligned`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftStatus {
    /// In sync and on a supported runtime version.
    Aligned,
    /// Applied configuration differs from the authority.
    NeedsReconcile,
    /// Runtime version below the workspace minimum.
    UpgradeRequired,
    /// Enrolled, no heartbeat yet.
    AwaitingSync,
}

impl DriftStatus {
    /// Applies the rules in order.
    ///
    /// ```
    /// use fleetgov::DriftStatus;
    /// assert_eq!(DriftStatus::of(false, true, false), DriftStatus::AwaitingSync);
    /// assert_eq!(DriftStatus::of(true, true, false), DriftStatus::UpgradeRequired);
    /// assert_eq!(DriftStatus::of(true, false, false), DriftStatus::NeedsReconcile);
    /// assert_eq!(DriftStatus::of(true, false, true), DriftStatus::Aligned);
    /// ```
    pub fn of(has_heartbeat: bool, below_minimum_version: bool, in_sync: bool) -> Self {
        if !has_heartbeat {
            DriftStatus::AwaitingSync
        } else if below_minimum_version {
            DriftStatus::UpgradeRequired
        } else if !in_sync {
            DriftStatus::NeedsReconcile
        } else {
            DriftStatus::Aligned
        }
    }

    /// The snake-case name used in JSON and the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftStatus::Aligned => "aligned",
            DriftStatus::NeedsReconcile => "needs_reconcile",
            DriftStatus::UpgradeRequired => "upgrade_required",
            DriftStatus::AwaitingSync => "awaiting_sync",
        }
    }
}

/// The node matrix's config column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConfigStatus {
    /// Applied snapshot id and node-computed hash both equal the authority's.
    InSync,
    /// Anything else, including "no heartbeat yet".
    Divergent,
}

impl ConfigStatus {
    /// The name used in JSON and the bindings (`IN_SYNC`, `DIVERGENT`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigStatus::InSync => "IN_SYNC",
            ConfigStatus::Divergent => "DIVERGENT",
        }
    }
}

/// The article's `GatewayNode.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeStatus {
    /// Running and in sync.
    Ready,
    /// Starting, or not heard from yet.
    Starting,
    /// The process reports an error.
    Error,
    /// Running but not in sync with its authority.
    Divergent,
}

impl NodeStatus {
    /// Process error wins, then divergence (of a node that has reported),
    /// then starting; a node that never reported is `Starting`.
    pub fn of(process: Option<crate::ProcessStatus>, in_sync: bool) -> Self {
        use crate::ProcessStatus as P;
        match process {
            None => NodeStatus::Starting,
            Some(P::Error) => NodeStatus::Error,
            Some(_) if !in_sync => NodeStatus::Divergent,
            Some(P::Starting) => NodeStatus::Starting,
            Some(P::Ready) => NodeStatus::Ready,
        }
    }

    /// The name used in JSON and the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Ready => "Ready",
            NodeStatus::Starting => "Starting",
            NodeStatus::Error => "Error",
            NodeStatus::Divergent => "Divergent",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProcessStatus as P;

    #[test]
    fn first_matching_drift_rule_wins() {
        assert_eq!(DriftStatus::of(false, true, true), DriftStatus::AwaitingSync);
        assert_eq!(DriftStatus::of(true, true, true), DriftStatus::UpgradeRequired);
    }

    #[test]
    fn node_status_prefers_error_then_divergence() {
        assert_eq!(NodeStatus::of(Some(P::Error), false), NodeStatus::Error);
        assert_eq!(NodeStatus::of(Some(P::Ready), false), NodeStatus::Divergent);
        assert_eq!(NodeStatus::of(Some(P::Starting), false), NodeStatus::Divergent);
        assert_eq!(NodeStatus::of(Some(P::Starting), true), NodeStatus::Starting);
        assert_eq!(NodeStatus::of(Some(P::Ready), true), NodeStatus::Ready);
        assert_eq!(NodeStatus::of(None, false), NodeStatus::Starting);
    }
}
