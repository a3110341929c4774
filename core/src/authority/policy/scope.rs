//! Named policies and the scope they apply to.

use serde::{Deserialize, Serialize};

use super::rule_set::RuleSet;
use crate::error::{Error, Result};
use crate::id::validate_id;

/// Where a policy applies: to every workspace of the organisation, or to one
/// workspace.
///
/// In JSON the scope is flattened into its policy as `"scope": "org"` or
/// `"scope": "workspace", "workspace_id": "ws-1"`.
///
/// ```
/// use fleetgov::policy::PolicyScope;
/// assert!(PolicyScope::Org.applies_to("ws-1"));
/// assert!(PolicyScope::workspace("ws-1").applies_to("ws-1"));
/// assert!(!PolicyScope::workspace("ws-1").applies_to("ws-2"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum PolicyScope {
    /// Applies to every workspace.
    Org,
    /// Applies to one workspace.
    Workspace {
        /// The workspace id.
        workspace_id: String,
    },
}

impl PolicyScope {
    /// The scope of workspace `id`.
    ///
    /// ```
    /// use fleetgov::policy::PolicyScope;
    /// assert_eq!(PolicyScope::workspace("ws-1"), PolicyScope::Workspace { workspace_id: "ws-1".into() });
    /// ```
    pub fn workspace(id: impl Into<String>) -> Self {
        PolicyScope::Workspace { workspace_id: id.into() }
    }

    /// Whether a policy of this scope is active in workspace `workspace_id`.
    ///
    /// ```
    /// assert!(fleetgov::policy::PolicyScope::Org.applies_to("any-workspace"));
    /// ```
    pub fn applies_to(&self, workspace_id: &str) -> bool {
        match self {
            PolicyScope::Org => true,
            PolicyScope::Workspace { workspace_id: own } => own == workspace_id,
        }
    }

    /// Checks the workspace id of a workspace scope.
    ///
    /// ```
    /// use fleetgov::policy::PolicyScope;
    /// assert!(PolicyScope::workspace("ws 1").validate().is_err());
    /// assert!(PolicyScope::Org.validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<()> {
        match self {
            PolicyScope::Org => Ok(()),
            PolicyScope::Workspace { workspace_id } => validate_id("workspace", workspace_id),
        }
    }
}

impl std::fmt::Display for PolicyScope {
    /// `org` or `workspace ws-1`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyScope::Org => f.write_str("org"),
            PolicyScope::Workspace { workspace_id } => write!(f, "workspace {workspace_id}"),
        }
    }
}

/// A named set of rules with a scope: what the cloud side declares.
///
/// ```
/// # fn main() -> fleetgov::Result<()> {
/// use fleetgov::policy::{Policy, PolicyScope, RuleSet, RuleValue};
/// let rules = RuleSet::new().with("require_mtls", RuleValue::Flag(true))?;
/// let p = Policy::new(PolicyScope::workspace("ws-1"), "edge-baseline", rules)?;
/// assert_eq!(
///     serde_json::to_string(&p).unwrap(),
///     r#"{"id":"edge-baseline","scope":"workspace","workspace_id":"ws-1","rules":{"require_mtls":{"kind":"flag","value":true}}}"#
/// );
/// assert!(Policy::new(PolicyScope::Org, "", RuleSet::new()).is_err());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PolicyRepr", into = "PolicyRepr")]
pub struct Policy {
    id: String,
    scope: PolicyScope,
    rules: RuleSet,
}

/// The JSON shape of a [`Policy`], validated on the way in.
#[derive(Serialize, Deserialize)]
struct PolicyRepr {
    id: String,
    #[serde(flatten)]
    scope: PolicyScope,
    rules: RuleSet,
}

impl Policy {
    /// A policy named `id` (see [`validate_id`](crate::validate_id)) in
    /// `scope`; a malformed id or workspace id is
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput).
    ///
    /// ```
    /// use fleetgov::policy::{Policy, PolicyScope, RuleSet};
    /// assert!(Policy::new(PolicyScope::Org, "org-baseline", RuleSet::new()).is_ok());
    /// assert!(Policy::new(PolicyScope::workspace(""), "p", RuleSet::new()).is_err());
    /// ```
    pub fn new(scope: PolicyScope, id: impl Into<String>, rules: RuleSet) -> Result<Self> {
        let id = id.into();
        validate_id("policy", &id)?;
        scope.validate()?;
        Ok(Policy { id, scope, rules })
    }

    /// The policy id, unique within its scope.
    ///
    /// ```
    /// use fleetgov::policy::{Policy, PolicyScope, RuleSet};
    /// assert_eq!(Policy::new(PolicyScope::Org, "p1", RuleSet::new()).unwrap().id(), "p1");
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where it applies.
    ///
    /// ```
    /// use fleetgov::policy::{Policy, PolicyScope, RuleSet};
    /// assert_eq!(Policy::new(PolicyScope::Org, "p1", RuleSet::new()).unwrap().scope(), &PolicyScope::Org);
    /// ```
    pub fn scope(&self) -> &PolicyScope {
        &self.scope
    }

    /// Its rules.
    ///
    /// ```
    /// use fleetgov::policy::{Policy, PolicyScope, RuleSet};
    /// assert!(Policy::new(PolicyScope::Org, "p1", RuleSet::new()).unwrap().rules().is_empty());
    /// ```
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }
}

impl TryFrom<PolicyRepr> for Policy {
    type Error = Error;

    fn try_from(repr: PolicyRepr) -> Result<Self> {
        Policy::new(repr.scope, repr.id, repr.rules)
    }
}

impl From<Policy> for PolicyRepr {
    fn from(p: Policy) -> Self {
        PolicyRepr { id: p.id, scope: p.scope, rules: p.rules }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::policy::RuleValue;

    #[test]
    fn org_policy_json_has_no_workspace_id() {
        let rules = RuleSet::new().with("max_body_bytes", RuleValue::Limit(10 << 20)).unwrap();
        let p = Policy::new(PolicyScope::Org, "org-baseline", rules).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(
            json,
            r#"{"id":"org-baseline","scope":"org","rules":{"max_body_bytes":{"kind":"limit","value":10485760}}}"#
        );
        assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), p);
    }

    #[test]
    fn deserialising_validates() {
        for bad in [
            r#"{"id":"","scope":"org","rules":{}}"#,
            r#"{"id":"p","scope":"workspace","rules":{}}"#,
            r#"{"id":"p","scope":"workspace","workspace_id":"ws 1","rules":{}}"#,
            r#"{"id":"p","scope":"tenant","rules":{}}"#,
            r#"{"id":"p","scope":"org","rules":{"x":{"kind":"allow_list","value":[""]}}}"#,
        ] {
            assert!(serde_json::from_str::<Policy>(bad).is_err(), "{bad}");
        }
        let ok = r#"{"id":"p","scope":"workspace","workspace_id":"ws-1","rules":{}}"#;
        assert_eq!(serde_json::from_str::<Policy>(ok).unwrap().scope(), &PolicyScope::workspace("ws-1"));
    }

    #[test]
    fn scope_display() {
        assert_eq!(PolicyScope::Org.to_string(), "org");
        assert_eq!(PolicyScope::workspace("ws-1").to_string(), "workspace ws-1");
    }
}
