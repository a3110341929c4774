//! Workspaces: the authority scope (authority mode, minimum runtime version).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::version::RuntimeVersion;

/// Who wins when cloud (authority) and local runtime configuration disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityMode {
    /// Cloud configuration overrides local runtime configuration.
    #[default]
    Authoritative,
    /// Cloud may tighten local policy but never loosen it: the effective
    /// policy is the stricter of the two, rule by rule.
    TightenOnly,
    /// Local runtime configuration wins; allowed for development clusters only.
    DevOverride,
}

impl AuthorityMode {
    /// The snake-case name used in JSON and the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorityMode::Authoritative => "authoritative",
            AuthorityMode::TightenOnly => "tighten_only",
            AuthorityMode::DevOverride => "dev_override",
        }
    }

    /// Parses `authoritative`, `tighten_only` or `dev_override` in any case,
    /// with `-` or a space for `_`: the seeds' spellings ("Tighten-only",
    /// "Dev Override") too.
    ///
    /// ```
    /// use fleetgov::AuthorityMode;
    /// assert_eq!(AuthorityMode::parse("tighten-only").unwrap(), AuthorityMode::TightenOnly);
    /// assert_eq!(AuthorityMode::parse("Dev Override").unwrap(), AuthorityMode::DevOverride);
    /// assert!(AuthorityMode::parse("anarchy").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace(['-', ' '], "_").as_str() {
            "authoritative" => Ok(AuthorityMode::Authoritative),
            "tighten_only" => Ok(AuthorityMode::TightenOnly),
            "dev_override" => Ok(AuthorityMode::DevOverride),
            _ => Err(Error::invalid(format!(
                "authority mode {s:?} is not one of authoritative, tighten_only, dev_override"
            ))),
        }
    }
}

/// A workspace as its owner declares it.
///
/// ```
/// use fleetgov::{AuthorityMode, WorkspaceSpec};
/// let ws = WorkspaceSpec::new("ws-1").authority_mode(AuthorityMode::TightenOnly);
/// assert_eq!(ws.min_runtime_version.to_string(), "3.4.0");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceSpec {
    /// The workspace id.
    pub id: String,
    /// Who wins between cloud and local configuration.
    pub authority_mode: AuthorityMode,
    /// Runtimes below this version are `upgrade_required`.
    pub min_runtime_version: RuntimeVersion,
}

impl WorkspaceSpec {
    /// A workspace with the defaults: authoritative, minimum version 3.4.0.
    pub fn new(id: impl Into<String>) -> Self {
        WorkspaceSpec {
            id: id.into(),
            authority_mode: AuthorityMode::default(),
            min_runtime_version: RuntimeVersion::DEFAULT_MINIMUM,
        }
    }

    /// Sets the authority mode.
    pub fn authority_mode(mut self, mode: AuthorityMode) -> Self {
        self.authority_mode = mode;
        self
    }

    /// Sets the minimum runtime version.
    pub fn min_runtime_version(mut self, version: RuntimeVersion) -> Self {
        self.min_runtime_version = version;
        self
    }
}
