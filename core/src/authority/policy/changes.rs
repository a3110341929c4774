//! The engine's policies: org- and workspace-scoped rules, audited, and what
//! a runtime must run once its local policy meets the cloud's.

use crate::authority::event::AuthorityEvent;
use crate::authority::policy::{Loosening, Policy, PolicyScope, RuleSet, effective_policy, loosenings};
use crate::distribution::FleetConfig;
use crate::engine::{EMBEDDER, Engine};
use crate::error::Result;
use crate::governance::audit::{AuditAction, AuditEntry};
use crate::governance::overrides::By;
use crate::role::Role;

impl Engine {
    /// Creates or replaces a policy (a workspace-scoped one needs its
    /// workspace). Audited (actor [`EMBEDDER`], role admin).
    ///
    /// ```
    /// use fleetgov::policy::{Policy, PolicyScope, RuleSet, RuleValue};
    /// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
    /// let mut rules = RuleSet::new();
    /// rules.insert("rate_limit_per_minute", RuleValue::Limit(600)).unwrap();
    /// e.upsert_policy(Policy::new(PolicyScope::Org, "baseline", rules).unwrap()).unwrap();
    /// let config = e.fleet_config(fleetgov::demo::WORKSPACE).unwrap();
    /// assert_eq!(config.active_policies.len(), 1);
    /// ```
    pub fn upsert_policy(&self, policy: Policy) -> Result<()> {
        self.record_policy(policy, EMBEDDER, Role::Admin, self.clock.now_ms())
    }

    /// [`upsert_policy`](Self::upsert_policy), audited with `by`'s actor,
    /// role and time. Needs the admin role
    /// ([`PermissionDenied`](crate::ErrorKind::PermissionDenied)) and an
    /// actor that is neither blank nor [reserved](crate::is_reserved_actor);
    /// nothing changes otherwise.
    pub fn upsert_policy_by(&self, policy: Policy, by: &By<'_>) -> Result<()> {
        by.check(Role::Admin, "change a policy")?;
        self.record_policy(policy, by.actor, by.role, by.at_ms)
    }

    fn record_policy(&self, policy: Policy, actor: &str, role: Role, at_ms: u64) -> Result<()> {
        let mut authority = self.authority_lock()?;
        let (scope, id) = (policy.scope().clone(), policy.id().to_owned());
        loop {
            if let PolicyScope::Workspace { workspace_id } = &scope {
                self.workspace(workspace_id)?;
            }
            // Applied first (the registry refuses a clash), then recorded; if
            // the log does not record it, the previous policy is put back.
            let previous = self.authority.policies.upsert(policy.clone())?;
            let entry = AuditEntry::new(at_ms, actor, role, AuditAction::UpsertPolicy, format!("policy:{id}"));
            let recorded = authority.record(entry, AuthorityEvent::Policy { policy: policy.clone() }, &[]);
            if let Ok(true) = recorded {
                return Ok(());
            }
            let _ = match previous {
                Some(p) => self.authority.policies.upsert(p).map(drop),
                None => self.authority.policies.remove(&scope, &id).map(drop),
            };
            recorded?;
        }
    }

    /// Removes a policy. Audited (actor [`EMBEDDER`], role admin).
    pub fn remove_policy(&self, scope: &PolicyScope, id: &str) -> Result<Policy> {
        self.record_removal(scope, id, EMBEDDER, Role::Admin, self.clock.now_ms())
    }

    /// [`remove_policy`](Self::remove_policy), audited with `by`'s actor,
    /// role and time; needs the admin role, as
    /// [`upsert_policy_by`](Self::upsert_policy_by) does.
    pub fn remove_policy_by(&self, scope: &PolicyScope, id: &str, by: &By<'_>) -> Result<Policy> {
        by.check(Role::Admin, "remove a policy")?;
        self.record_removal(scope, id, by.actor, by.role, by.at_ms)
    }

    fn record_removal(&self, scope: &PolicyScope, id: &str, actor: &str, role: Role, at_ms: u64) -> Result<Policy> {
        let mut authority = self.authority_lock()?;
        loop {
            self.authority
                .policies
                .get(scope, id)
                .ok_or_else(|| crate::Error::not_found(format_args!("policy '{id}'")))?;
            let entry = AuditEntry::new(at_ms, actor, role, AuditAction::RemovePolicy, format!("policy:{id}"));
            let event = AuthorityEvent::RemovePolicy { scope: scope.clone(), id: id.to_owned() };
            if authority.record(entry, event, &[])? {
                return self.authority.policies.remove(scope, id);
            }
        }
    }

    /// The policy `id` of `scope`.
    ///
    /// ```
    /// use fleetgov::policy::PolicyScope;
    /// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
    /// assert_eq!(e.policy(&PolicyScope::Org, "nope").unwrap_err().kind(), fleetgov::ErrorKind::NotFound);
    /// ```
    pub fn policy(&self, scope: &PolicyScope, id: &str) -> Result<Policy> {
        self.authority
            .policies
            .get(scope, id)
            .ok_or_else(|| crate::Error::not_found(format_args!("policy '{id}' ({scope})")))
    }

    /// The policies active in `workspace`: org-scoped first, then its own.
    pub fn active_policies(&self, workspace: &str) -> Result<Vec<Policy>> {
        self.workspace(workspace)?;
        Ok(self.authority.policies.active(workspace))
    }

    /// What a runtime of `workspace` pulls: the seeds'
    /// `GET /api/v1/workspaces/{id}/fleet/config`.
    pub fn fleet_config(&self, workspace: &str) -> Result<FleetConfig> {
        let ws = self.workspace(workspace)?;
        let clusters: Vec<_> = self
            .clusters_of(workspace)
            .map(|c| {
                (
                    c.id.to_string(),
                    c.authority.snapshot(c.authority.desired()).map(|s| (s.id.clone(), s.revision, s.hash)),
                )
            })
            .collect();
        FleetConfig::new(workspace, ws.authority_mode, self.authority.policies.active(workspace), clusters)
    }

    /// The policy a node of `cluster` must run, given its `local` policy and
    /// its workspace's authority mode (`dev_override` outside development is
    /// `PermissionDenied`).
    pub fn effective_policy(&self, cluster: &str, local: &RuleSet) -> Result<RuleSet> {
        let state = self.cluster_state(cluster)?;
        let ws = self.workspace(&state.workspace)?;
        let environment = state.authority.spec.read().environment;
        effective_policy(ws.authority_mode, environment, &self.authority.policies.cloud_rules(&ws.id), local)
    }

    /// Every rule where a node of `cluster` with `local` policy would loosen
    /// its workspace's cloud policy.
    pub fn policy_loosenings(&self, cluster: &str, local: &RuleSet) -> Result<Vec<Loosening>> {
        let state = self.cluster_state(cluster)?;
        loosenings(&self.authority.policies.cloud_rules(&state.workspace), local)
    }
}
