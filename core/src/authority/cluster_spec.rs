//! Clusters: groups of nodes that share one desired snapshot.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The environment a cluster serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Environment {
    /// Serves production traffic.
    Production,
    /// Pre-production.
    Staging,
    /// Development; the only environment `dev_override` may apply to.
    Development,
}

impl Environment {
    /// The upper-case name used in JSON (`PRODUCTION`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "PRODUCTION",
            Environment::Staging => "STAGING",
            Environment::Development => "DEVELOPMENT",
        }
    }

    /// Parses `production`, `staging` or `development` (any case; `prod`,
    /// `stage` and `dev` also accepted).
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "production" | "prod" => Ok(Environment::Production),
            "staging" | "stage" => Ok(Environment::Staging),
            "development" | "dev" => Ok(Environment::Development),
            _ => Err(Error::invalid(format!("environment {s:?} is not one of production, staging, development"))),
        }
    }
}

/// A cluster as its owner declares it.
///
/// ```
/// use fleetgov::{ClusterSpec, Environment};
/// let c = ClusterSpec::new("eks-prod-us", "ws-1", Environment::Production)
///     .owner_team("edge")
///     .auto_reconcile(true);
/// assert!(c.auto_reconcile);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// The cluster id.
    pub id: String,
    /// The workspace it belongs to.
    pub workspace: String,
    /// Production, staging or development.
    pub environment: Environment,
    /// The team accountable for it: empty, or visible text of at most 256
    /// bytes with no control character (see
    /// [`validate_owner_team`](crate::validate_owner_team)).
    pub owner_team: String,
    /// Whether divergent nodes are told to reconcile automatically.
    pub auto_reconcile: bool,
}

impl ClusterSpec {
    /// A cluster with no owner team and auto-reconcile off.
    pub fn new(id: impl Into<String>, workspace: impl Into<String>, environment: Environment) -> Self {
        ClusterSpec {
            id: id.into(),
            workspace: workspace.into(),
            environment,
            owner_team: String::new(),
            auto_reconcile: false,
        }
    }

    /// Sets the owner team.
    pub fn owner_team(mut self, team: impl Into<String>) -> Self {
        self.owner_team = team.into();
        self
    }

    /// Sets the auto-reconcile flag.
    pub fn auto_reconcile(mut self, on: bool) -> Self {
        self.auto_reconcile = on;
        self
    }
}
