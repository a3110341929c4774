//! The authority an operator declares: workspaces and policies in the
//! configuration file (`[[workspaces]]`, `[[policies]]`, applied at start)
//! and workspaces over `PUT /api/v1/workspaces/{id}`, with one conversion
//! for both.

use fleetgov::policy::{Policy, PolicyScope, RuleSet};
use fleetgov::{AuthorityMode, Engine, ErrorKind, RuntimeVersion, WorkspaceSpec};
use serde::Deserialize;

/// A workspace of the configuration file; absent fields keep the
/// workspace's value (a new workspace: `authoritative`, `3.4.0`).
///
/// ```toml
/// [[workspaces]]
/// id = "acme-lab"
/// authority_mode = "Dev Override"
/// min_runtime_version = "3.5.0"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceConfig {
    /// The workspace id.
    pub id: String,
    /// `authoritative`, `tighten_only` or `dev_override` (the seeds' spellings too).
    #[serde(default)]
    pub authority_mode: Option<String>,
    /// Runtimes below this version are `upgrade_required`.
    #[serde(default)]
    pub min_runtime_version: Option<String>,
}

/// A policy of the configuration file: org-wide, or of one workspace.
///
/// ```toml
/// [[policies]]
/// id = "edge-baseline"
/// workspace = "acme-edge"                  # absent: every workspace
/// [policies.rules]
/// require_mtls = { kind = "flag", value = true }
/// rate_limit_rpm = { kind = "limit", value = 60000 }
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// The policy id.
    pub id: String,
    /// The workspace it applies to; every workspace when absent.
    #[serde(default)]
    pub workspace: Option<String>,
    /// The rules, by name (as `GET /api/v1/workspaces/{id}/fleet/policies` shows them).
    #[serde(default)]
    pub rules: RuleSet,
}

impl PolicyConfig {
    /// The policy this entry declares.
    pub fn policy(&self) -> fleetgov::Result<Policy> {
        let scope = self.workspace.clone().map_or(PolicyScope::Org, PolicyScope::workspace);
        Policy::new(scope, self.id.as_str(), self.rules.clone())
    }
}

/// `base` with a new authority mode and minimum runtime version, each when
/// given: a mode in any case, with `-` or a space for `_`.
///
/// ```
/// use fleetgov::{AuthorityMode, WorkspaceSpec};
/// let ws = fleetgov_server::authority::changed(WorkspaceSpec::new("w"), Some("Tighten-only"), None).unwrap();
/// assert_eq!((ws.authority_mode, ws.min_runtime_version.to_string()), (AuthorityMode::TightenOnly, "3.4.0".into()));
/// assert!(fleetgov_server::authority::changed(WorkspaceSpec::new("w"), None, Some("three")).is_err());
/// ```
pub fn changed(
    mut base: WorkspaceSpec,
    authority_mode: Option<&str>,
    min_runtime_version: Option<&str>,
) -> fleetgov::Result<WorkspaceSpec> {
    if let Some(mode) = authority_mode {
        base.authority_mode = AuthorityMode::parse(mode)?;
    }
    if let Some(version) = min_runtime_version {
        base.min_runtime_version = version.parse::<RuntimeVersion>()?;
    }
    Ok(base)
}

impl WorkspaceConfig {
    /// The workspace this entry declares over `base` (the current one, or a new one).
    pub fn spec(&self, base: Option<WorkspaceSpec>) -> fleetgov::Result<WorkspaceSpec> {
        fleetgov::validate_id("workspace", &self.id)?;
        let base = base.unwrap_or_else(|| WorkspaceSpec::new(self.id.as_str()));
        changed(base, self.authority_mode.as_deref(), self.min_runtime_version.as_deref())
    }
}

/// Applies the configuration's workspaces, then its policies, to `engine`:
/// creates the missing ones and changes those that differ (each change
/// audited as the embedder's), so a restart with the same file records
/// nothing. `Err` with a message for people when one is refused.
pub fn apply(engine: &Engine, workspaces: &[WorkspaceConfig], policies: &[PolicyConfig]) -> Result<(), String> {
    for declared in workspaces {
        let current = match engine.workspace(&declared.id) {
            Ok(ws) => Some(ws),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(format!("workspace '{}': {e}", declared.id)),
        };
        let spec = declared.spec(current.clone()).map_err(|e| format!("workspace '{}': {e}", declared.id))?;
        if current.as_ref() != Some(&spec) {
            engine.upsert_workspace(spec).map_err(|e| format!("workspace '{}': {e}", declared.id))?;
        }
    }
    for declared in policies {
        let policy = declared.policy().map_err(|e| format!("policy '{}': {e}", declared.id))?;
        if engine.policy(policy.scope(), policy.id()).ok().as_ref() != Some(&policy) {
            engine.upsert_policy(policy).map_err(|e| format!("policy '{}': {e}", declared.id))?;
        }
    }
    Ok(())
}
