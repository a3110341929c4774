//! Runtime health from heartbeat freshness, and process health.

use serde::{Deserialize, Serialize};

/// Five minutes in milliseconds: below this age a runtime is connected.
pub const STALE_AFTER_MS: u64 = 5 * 60 * 1000;
/// Sixty minutes in milliseconds: above this age a runtime is dormant.
pub const DORMANT_AFTER_MS: u64 = 60 * 60 * 1000;

/// Heartbeat freshness at a query time `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Last heartbeat under 5 minutes ago.
    Connected,
    /// Last heartbeat 5 to 60 minutes ago (both ends included).
    Stale,
    /// Last heartbeat over 60 minutes ago.
    Dormant,
    /// No heartbeat received.
    Never,
}

impl Health {
    /// Health of a runtime whose last heartbeat was at `last_ms` (if any), at `now_ms`.
    /// A heartbeat stamped after `now_ms` counts as age zero.
    ///
    /// ```
    /// use fleetgov::{Health, health::STALE_AFTER_MS};
    /// assert_eq!(Health::at(Some(0), STALE_AFTER_MS - 1), Health::Connected);
    /// assert_eq!(Health::at(Some(0), STALE_AFTER_MS), Health::Stale);
    /// assert_eq!(Health::at(None, 0), Health::Never);
    /// ```
    pub fn at(last_ms: Option<u64>, now_ms: u64) -> Health {
        let Some(last) = last_ms else { return Health::Never };
        let age = now_ms.saturating_sub(last);
        if age < STALE_AFTER_MS {
            Health::Connected
        } else if age <= DORMANT_AFTER_MS {
            Health::Stale
        } else {
            Health::Dormant
        }
    }

    /// The lowercase name used in JSON and the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Connected => "connected",
            Health::Stale => "stale",
            Health::Dormant => "dormant",
            Health::Never => "never",
        }
    }
}

/// What the node's process reported about itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum ProcessStatus {
    /// Serving traffic.
    Ready = 0,
    /// Starting up.
    Starting = 1,
    /// In an error state.
    Error = 2,
}

impl ProcessStatus {
    /// The status for its stable `u8` (as in the binary record).
    pub fn from_u8(value: u8) -> Option<Self> {
        match value {
            0 => Some(ProcessStatus::Ready),
            1 => Some(ProcessStatus::Starting),
            2 => Some(ProcessStatus::Error),
            _ => None,
        }
    }

    /// The lowercase name used in JSON and the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessStatus::Ready => "ready",
            ProcessStatus::Starting => "starting",
            ProcessStatus::Error => "error",
        }
    }

    /// Parses `ready`, `starting` or `error` (any case).
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ready" => Ok(ProcessStatus::Ready),
            "starting" => Ok(ProcessStatus::Starting),
            "error" => Ok(ProcessStatus::Error),
            _ => Err(crate::Error::invalid(format!("process status {s:?} is not one of ready, starting, error"))),
        }
    }
}

/// The dashboard's process health column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProcessHealth {
    /// Connected, ready and reporting no sync error.
    Healthy,
    /// Reachable but stale, starting, in error or reporting a sync error.
    Degraded,
    /// Dormant or never heard from.
    Offline,
}

impl ProcessHealth {
    /// Combines freshness, the reported process status and whether the node
    /// reports a sync error.
    pub fn of(health: Health, status: Option<ProcessStatus>, has_sync_error: bool) -> Self {
        match (health, status) {
            (Health::Dormant | Health::Never, _) | (_, None) => ProcessHealth::Offline,
            (Health::Connected, Some(ProcessStatus::Ready)) if !has_sync_error => ProcessHealth::Healthy,
            _ => ProcessHealth::Degraded,
        }
    }

    /// The name used in JSON and the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessHealth::Healthy => "Healthy",
            ProcessHealth::Degraded => "Degraded",
            ProcessHealth::Offline => "Offline",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_boundaries_are_exact() {
        assert_eq!(Health::at(Some(1_000), 1_000), Health::Connected);
        assert_eq!(Health::at(Some(0), STALE_AFTER_MS - 1), Health::Connected);
        assert_eq!(Health::at(Some(0), STALE_AFTER_MS), Health::Stale);
        assert_eq!(Health::at(Some(0), DORMANT_AFTER_MS), Health::Stale);
        assert_eq!(Health::at(Some(0), DORMANT_AFTER_MS + 1), Health::Dormant);
        assert_eq!(Health::at(None, u64::MAX), Health::Never);
        assert_eq!(Health::at(Some(10_000), 0), Health::Connected);
    }

    #[test]
    fn process_health_combines_freshness_status_and_errors() {
        use ProcessStatus::*;
        assert_eq!(ProcessHealth::of(Health::Connected, Some(Ready), false), ProcessHealth::Healthy);
        assert_eq!(ProcessHealth::of(Health::Connected, Some(Ready), true), ProcessHealth::Degraded);
        assert_eq!(ProcessHealth::of(Health::Connected, Some(Starting), false), ProcessHealth::Degraded);
        assert_eq!(ProcessHealth::of(Health::Stale, Some(Ready), false), ProcessHealth::Degraded);
        assert_eq!(ProcessHealth::of(Health::Dormant, Some(Ready), false), ProcessHealth::Offline);
        assert_eq!(ProcessHealth::of(Health::Never, None, false), ProcessHealth::Offline);
    }

    #[test]
    fn process_status_parses_names_and_bytes() {
        assert_eq!(ProcessStatus::parse("READY").unwrap(), ProcessStatus::Ready);
        assert!(ProcessStatus::parse("up").is_err());
        assert_eq!(ProcessStatus::from_u8(2), Some(ProcessStatus::Error));
        assert_eq!(ProcessStatus::from_u8(3), None);
    }
}
