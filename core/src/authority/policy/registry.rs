//! The cloud's policies: org-scoped and workspace-scoped, shared between threads.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;

use super::rule_set::RuleSet;
use super::scope::{Policy, PolicyScope};
use crate::error::{Error, ErrorKind, Result};

/// Holds the org-scoped and workspace-scoped policies and, per workspace, the
/// cloud rules they add up to (every active policy
/// [tightened](RuleSet::tighten) together), kept current on every change.
///
/// Invariant: the policies that can be active together (all org policies
/// with those of any one workspace) never give one rule name two kinds, and
/// add up to at most [`MAX_RULES`](super::MAX_RULES) rules. A change that
/// would break it is [`Conflict`](ErrorKind::Conflict) and changes nothing,
/// so [`cloud_rules`](PolicyRegistry::cloud_rules) cannot fail.
///
/// Readers take a shared lock; changes (rare, administrative) take the write
/// lock and recompute the merged rules of the workspaces they touch.
///
/// ```
/// # fn main() -> fleetgov::Result<()> {
/// use fleetgov::policy::{Policy, PolicyRegistry, PolicyScope, RuleSet, RuleValue};
/// let reg = PolicyRegistry::new();
/// let org = RuleSet::new().with("require_mtls", RuleValue::Flag(true))?;
/// reg.upsert(Policy::new(PolicyScope::Org, "org-baseline", org)?)?;
/// let ws = RuleSet::new().with("rate_limit_per_minute", RuleValue::Limit(600))?;
/// reg.upsert(Policy::new(PolicyScope::workspace("ws-1"), "edge", ws)?)?;
///
/// assert_eq!(reg.active("ws-1").len(), 2);
/// assert_eq!(reg.cloud_rules("ws-1").len(), 2);
/// assert_eq!(reg.cloud_rules("ws-2").len(), 1, "only the org policy applies to ws-2");
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct PolicyRegistry {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    org: BTreeMap<String, Policy>,
    /// The org policies tightened together.
    org_rules: Arc<RuleSet>,
    /// Workspaces with at least one policy of their own.
    workspaces: BTreeMap<String, WorkspacePolicies>,
}

#[derive(Debug)]
struct WorkspacePolicies {
    policies: BTreeMap<String, Policy>,
    /// The org policies and these tightened together.
    rules: Arc<RuleSet>,
}

impl PolicyRegistry {
    /// An empty registry.
    ///
    /// ```
    /// let reg = fleetgov::policy::PolicyRegistry::new();
    /// assert!(reg.active("ws-1").is_empty());
    /// ```
    pub fn new() -> Self {
        PolicyRegistry::default()
    }

    /// Adds `policy`, or replaces the one with its scope and id, returning
    /// the replaced one. [`Conflict`](ErrorKind::Conflict) if it gives a rule
    /// another kind than a policy it can be active with, or pushes a
    /// workspace's cloud rules past [`MAX_RULES`](super::MAX_RULES); the
    /// registry is then unchanged.
    ///
    /// ```
    /// # fn main() -> fleetgov::Result<()> {
    /// use fleetgov::ErrorKind;
    /// use fleetgov::policy::{Policy, PolicyRegistry, PolicyScope, RuleSet, RuleValue};
    /// let reg = PolicyRegistry::new();
    /// let mtls = RuleSet::new().with("require_mtls", RuleValue::Flag(true))?;
    /// assert!(reg.upsert(Policy::new(PolicyScope::Org, "baseline", mtls)?)?.is_none());
    ///
    /// let clash = RuleSet::new().with("require_mtls", RuleValue::Limit(1))?;
    /// let e = reg.upsert(Policy::new(PolicyScope::workspace("ws-1"), "odd", clash)?).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Conflict);
    /// # Ok(()) }
    /// ```
    pub fn upsert(&self, policy: Policy) -> Result<Option<Policy>> {
        let scope = policy.scope().clone();
        let id = policy.id().to_owned();
        self.inner.write().apply(&scope, &id, Some(policy))
    }

    /// Removes the policy `id` of `scope` and returns it;
    /// [`NotFound`](ErrorKind::NotFound) if there is none.
    ///
    /// ```
    /// # fn main() -> fleetgov::Result<()> {
    /// use fleetgov::policy::{Policy, PolicyRegistry, PolicyScope, RuleSet};
    /// let reg = PolicyRegistry::new();
    /// reg.upsert(Policy::new(PolicyScope::Org, "baseline", RuleSet::new())?)?;
    /// assert_eq!(reg.remove(&PolicyScope::Org, "baseline")?.id(), "baseline");
    /// assert!(reg.remove(&PolicyScope::Org, "baseline").is_err());
    /// # Ok(()) }
    /// ```
    pub fn remove(&self, scope: &PolicyScope, id: &str) -> Result<Policy> {
        let missing = || Error::not_found(format_args!("policy {id:?} ({scope})"));
        let mut inner = self.inner.write();
        if inner.get(scope, id).is_none() {
            return Err(missing());
        }
        inner.apply(scope, id, None)?.ok_or_else(missing)
    }

    /// The policy `id` of `scope`, if present.
    ///
    /// ```
    /// use fleetgov::policy::{PolicyRegistry, PolicyScope};
    /// assert!(PolicyRegistry::new().get(&PolicyScope::Org, "baseline").is_none());
    /// ```
    pub fn get(&self, scope: &PolicyScope, id: &str) -> Option<Policy> {
        self.inner.read().get(scope, id).cloned()
    }

    /// The policies of exactly `scope`, in id order.
    ///
    /// ```
    /// # fn main() -> fleetgov::Result<()> {
    /// use fleetgov::policy::{Policy, PolicyRegistry, PolicyScope, RuleSet};
    /// let reg = PolicyRegistry::new();
    /// reg.upsert(Policy::new(PolicyScope::workspace("ws-1"), "p", RuleSet::new())?)?;
    /// assert!(reg.list(&PolicyScope::Org).is_empty());
    /// assert_eq!(reg.list(&PolicyScope::workspace("ws-1")).len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn list(&self, scope: &PolicyScope) -> Vec<Policy> {
        let inner = self.inner.read();
        let policies = match scope {
            PolicyScope::Org => Some(&inner.org),
            PolicyScope::Workspace { workspace_id } => inner.workspaces.get(workspace_id).map(|w| &w.policies),
        };
        policies.map(|p| p.values().cloned().collect()).unwrap_or_default()
    }

    /// The policies active in workspace `workspace_id`: the org-scoped ones,
    /// then the workspace's own, each in id order.
    ///
    /// ```
    /// # fn main() -> fleetgov::Result<()> {
    /// use fleetgov::policy::{Policy, PolicyRegistry, PolicyScope, RuleSet};
    /// let reg = PolicyRegistry::new();
    /// reg.upsert(Policy::new(PolicyScope::workspace("ws-1"), "a", RuleSet::new())?)?;
    /// reg.upsert(Policy::new(PolicyScope::Org, "z", RuleSet::new())?)?;
    /// let ids: Vec<String> = reg.active("ws-1").iter().map(|p| p.id().to_owned()).collect();
    /// assert_eq!(ids, ["z", "a"]);
    /// # Ok(()) }
    /// ```
    pub fn active(&self, workspace_id: &str) -> Vec<Policy> {
        let inner = self.inner.read();
        let own = inner.workspaces.get(workspace_id).into_iter().flat_map(|w| w.policies.values());
        inner.org.values().chain(own).cloned().collect()
    }

    /// The cloud rules of workspace `workspace_id`: every active policy
    /// tightened together (the empty set when none is active). Shared, not
    /// copied.
    ///
    /// ```
    /// # fn main() -> fleetgov::Result<()> {
    /// use fleetgov::policy::{Policy, PolicyRegistry, PolicyScope, RuleSet, RuleValue};
    /// let reg = PolicyRegistry::new();
    /// let org = RuleSet::new().with("rate_limit_per_minute", RuleValue::Limit(1000))?;
    /// let ws = RuleSet::new().with("rate_limit_per_minute", RuleValue::Limit(600))?;
    /// reg.upsert(Policy::new(PolicyScope::Org, "org", org)?)?;
    /// reg.upsert(Policy::new(PolicyScope::workspace("ws-1"), "ws", ws)?)?;
    /// assert_eq!(reg.cloud_rules("ws-1").get("rate_limit_per_minute"), Some(&RuleValue::Limit(600)));
    /// assert_eq!(reg.cloud_rules("ws-2").get("rate_limit_per_minute"), Some(&RuleValue::Limit(1000)));
    /// # Ok(()) }
    /// ```
    pub fn cloud_rules(&self, workspace_id: &str) -> Arc<RuleSet> {
        let inner = self.inner.read();
        match inner.workspaces.get(workspace_id) {
            Some(w) => Arc::clone(&w.rules),
            None => Arc::clone(&inner.org_rules),
        }
    }
}

impl Inner {
    fn get(&self, scope: &PolicyScope, id: &str) -> Option<&Policy> {
        match scope {
            PolicyScope::Org => self.org.get(id),
            PolicyScope::Workspace { workspace_id } => self.workspaces.get(workspace_id)?.policies.get(id),
        }
    }

    /// Puts `new` in place of the policy `id` of `scope` (`None` removes it),
    /// recomputing the merged rules of every workspace the change touches
    /// first, so that an error leaves everything as it was. Returns the
    /// policy replaced or removed.
    fn apply(&mut self, scope: &PolicyScope, id: &str, new: Option<Policy>) -> Result<Option<Policy>> {
        let conflict = |e: Error| Error::new(ErrorKind::Conflict, format!("policy {id:?} ({scope}): {}", e.message()));
        match scope {
            PolicyScope::Org => {
                let org_rules =
                    merge(&RuleSet::new(), self.org.values().filter(|p| p.id() != id).chain(&new)).map_err(conflict)?;
                let workspace_rules = self
                    .workspaces
                    .values()
                    .map(|w| merge(&org_rules, w.policies.values()))
                    .collect::<Result<Vec<_>>>()
                    .map_err(conflict)?;
                for (w, rules) in self.workspaces.values_mut().zip(workspace_rules) {
                    w.rules = Arc::new(rules);
                }
                self.org_rules = Arc::new(org_rules);
                Ok(match new {
                    Some(p) => self.org.insert(id.to_owned(), p),
                    None => self.org.remove(id),
                })
            }
            PolicyScope::Workspace { workspace_id } => {
                let current = self.workspaces.get(workspace_id).into_iter().flat_map(|w| w.policies.values());
                let rules = merge(&self.org_rules, current.filter(|p| p.id() != id).chain(&new)).map_err(conflict)?;
                let entry = self
                    .workspaces
                    .entry(workspace_id.clone())
                    .or_insert_with(|| WorkspacePolicies { policies: BTreeMap::new(), rules: Arc::default() });
                entry.rules = Arc::new(rules);
                let old = match new {
                    Some(p) => entry.policies.insert(id.to_owned(), p),
                    None => entry.policies.remove(id),
                };
                if entry.policies.is_empty() {
                    self.workspaces.remove(workspace_id);
                }
                Ok(old)
            }
        }
    }
}

/// `base` tightened with the rules of every policy.
fn merge<'a>(base: &RuleSet, policies: impl IntoIterator<Item = &'a Policy>) -> Result<RuleSet> {
    policies.into_iter().try_fold(base.clone(), |acc, p| acc.tighten(p.rules()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::policy::RuleValue;

    fn policy(scope: PolicyScope, id: &str, rules: &[(&str, RuleValue)]) -> Policy {
        let mut set = RuleSet::new();
        for (name, value) in rules {
            set.insert(*name, value.clone()).unwrap();
        }
        Policy::new(scope, id, set).unwrap()
    }

    fn ws(id: &str) -> PolicyScope {
        PolicyScope::workspace(id)
    }

    #[test]
    fn upsert_replaces_and_returns_the_previous_policy() {
        let reg = PolicyRegistry::new();
        let v1 = policy(PolicyScope::Org, "rate", &[("rate_limit_per_minute", RuleValue::Limit(1000))]);
        let v2 = policy(PolicyScope::Org, "rate", &[("rate_limit_per_minute", RuleValue::Limit(500))]);
        assert_eq!(reg.upsert(v1.clone()).unwrap(), None);
        assert_eq!(reg.upsert(v2.clone()).unwrap(), Some(v1));
        assert_eq!(reg.list(&PolicyScope::Org), [v2]);
        assert_eq!(reg.cloud_rules("ws-1").get("rate_limit_per_minute"), Some(&RuleValue::Limit(500)));
    }

    #[test]
    fn same_id_in_different_scopes_are_different_policies() {
        let reg = PolicyRegistry::new();
        reg.upsert(policy(PolicyScope::Org, "p", &[])).unwrap();
        reg.upsert(policy(ws("ws-1"), "p", &[])).unwrap();
        reg.upsert(policy(ws("ws-2"), "p", &[])).unwrap();
        assert_eq!(reg.active("ws-1").len(), 2);
        reg.remove(&ws("ws-1"), "p").unwrap();
        assert!(reg.get(&PolicyScope::Org, "p").is_some());
        assert!(reg.get(&ws("ws-2"), "p").is_some());
        assert!(reg.get(&ws("ws-1"), "p").is_none());
    }

    #[test]
    fn an_org_policy_clashing_with_any_workspace_is_refused_and_changes_nothing() {
        let reg = PolicyRegistry::new();
        reg.upsert(policy(ws("ws-2"), "edge", &[("require_mtls", RuleValue::Flag(true))])).unwrap();
        let before_org = reg.cloud_rules("ws-1");
        let before_ws2 = reg.cloud_rules("ws-2");
        let clash = policy(PolicyScope::Org, "odd", &[("require_mtls", RuleValue::Limit(1))]);
        let e = reg.upsert(clash).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert!(e.message().contains("\"odd\"") && e.message().contains("\"require_mtls\""), "{e}");
        assert!(reg.list(&PolicyScope::Org).is_empty());
        assert_eq!(reg.cloud_rules("ws-1"), before_org);
        assert_eq!(reg.cloud_rules("ws-2"), before_ws2);
    }

    #[test]
    fn workspaces_that_are_never_active_together_may_disagree_on_kinds() {
        let reg = PolicyRegistry::new();
        reg.upsert(policy(ws("ws-1"), "a", &[("x_custom", RuleValue::Flag(true))])).unwrap();
        reg.upsert(policy(ws("ws-2"), "a", &[("x_custom", RuleValue::Limit(5))])).unwrap();
        let e = reg.upsert(policy(ws("ws-1"), "b", &[("x_custom", RuleValue::Limit(5))])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(reg.list(&ws("ws-1")).len(), 1, "the refused policy was not stored");
    }

    #[test]
    fn a_replacement_is_checked_against_the_others_but_not_its_old_self() {
        let reg = PolicyRegistry::new();
        reg.upsert(policy(ws("ws-1"), "a", &[("x_custom", RuleValue::Flag(true))])).unwrap();
        reg.upsert(policy(ws("ws-1"), "a", &[("x_custom", RuleValue::Limit(5))])).unwrap();
        assert_eq!(reg.cloud_rules("ws-1").get("x_custom"), Some(&RuleValue::Limit(5)));
    }

    #[test]
    fn cloud_rules_follow_every_change() {
        let reg = PolicyRegistry::new();
        let org = policy(
            PolicyScope::Org,
            "org-baseline",
            &[
                ("rate_limit_per_minute", RuleValue::Limit(1000)),
                ("blocked_ips", RuleValue::deny_list(["198.51.100.7"])),
            ],
        );
        let edge = policy(
            ws("ws-1"),
            "edge",
            &[
                ("rate_limit_per_minute", RuleValue::Limit(600)),
                ("blocked_ips", RuleValue::deny_list(["203.0.113.0/24"])),
                ("cors_allowed_origins", RuleValue::allow_list(["https://app.example.com"])),
            ],
        );
        reg.upsert(edge.clone()).unwrap();
        assert_eq!(*reg.cloud_rules("ws-1"), edge.rules().clone());
        reg.upsert(org.clone()).unwrap();
        let both = reg.cloud_rules("ws-1");
        assert_eq!(both.get("rate_limit_per_minute"), Some(&RuleValue::Limit(600)));
        assert_eq!(both.get("blocked_ips"), Some(&RuleValue::deny_list(["198.51.100.7", "203.0.113.0/24"])));
        assert_eq!(*reg.cloud_rules("ws-9"), org.rules().clone());

        reg.remove(&ws("ws-1"), "edge").unwrap();
        assert_eq!(*reg.cloud_rules("ws-1"), org.rules().clone());
        reg.remove(&PolicyScope::Org, "org-baseline").unwrap();
        assert!(reg.cloud_rules("ws-1").is_empty());
        assert!(reg.active("ws-1").is_empty());
    }

    #[test]
    fn removing_a_missing_policy_is_not_found() {
        let reg = PolicyRegistry::new();
        for scope in [PolicyScope::Org, ws("ws-1")] {
            let e = reg.remove(&scope, "nope").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotFound);
            assert!(e.message().contains("nope"), "{e}");
        }
    }

    #[test]
    fn concurrent_writers_leave_cloud_rules_equal_to_a_fresh_merge() {
        let reg = PolicyRegistry::new();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let reg = &reg;
                s.spawn(move || {
                    for i in 0..50u64 {
                        let scope = if i % 3 == 0 { PolicyScope::Org } else { ws(&format!("ws-{}", i % 2)) };
                        let id = format!("p{}", (t + i) % 5);
                        let p = policy(
                            scope.clone(),
                            &id,
                            &[
                                ("rate_limit_per_minute", RuleValue::Limit(100 + (t * 50 + i) % 900)),
                                ("blocked_ips", RuleValue::deny_list([format!("10.0.{t}.{i}")])),
                            ],
                        );
                        reg.upsert(p).unwrap();
                        if i % 7 == 0 {
                            // Another writer may have removed it first.
                            if let Err(e) = reg.remove(&scope, &id) {
                                assert_eq!(e.kind(), ErrorKind::NotFound);
                            }
                        }
                        assert!(reg.cloud_rules("ws-0").len() <= 2);
                    }
                });
            }
        });
        for w in ["ws-0", "ws-1", "ws-2"] {
            let fresh = merge(&RuleSet::new(), reg.active(w).iter()).unwrap();
            assert_eq!(*reg.cloud_rules(w), fresh, "{w}");
        }
    }
}
