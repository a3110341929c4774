//! Pull distribution: the document a runtime fetches to learn what it should run.
//!
//! Runtimes pull; the cloud never pushes. A runtime polls
//! `GET /api/v1/workspaces/{id}/fleet/config` ([`config_path`]) and receives a
//! [`FleetConfig`]: the distribution mode, the canonical fetch paths, the
//! authority mode, the active org- and workspace-scoped policies (each
//! marked with its scope), the cloud rules they add up to, and per cluster
//! the desired snapshot (id, revision, hash) to pull and verify.
//! `GET /api/v1/workspaces/{id}/fleet/policies` ([`policies_path`]) serves the
//! active policies alone.
//!
//! This module builds the document's content; the fleet server writes it as
//! JSON in the published API's spelling.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::authority::policy::{Policy, RuleSet};
use crate::authority::snapshot::{parse_snapshot_id, snapshot_id};
use crate::authority::workspace::AuthorityMode;
use crate::error::{Error, Result};
use crate::hash::ContentHash;
use crate::id::validate_id;

/// How configuration reaches runtimes. Serialised as `"always_pull"`.
///
/// ```
/// use fleetgov::distribution::DistributionMode;
/// assert_eq!(serde_json::to_string(&DistributionMode::AlwaysPull).unwrap(), r#""always_pull""#);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DistributionMode {
    /// Runtimes fetch their desired state; the cloud does not push.
    #[default]
    AlwaysPull,
}

/// The canonical path of workspace `workspace_id`'s fleet configuration.
///
/// ```
/// assert_eq!(fleetgov::distribution::config_path("ws-1"), "/api/v1/workspaces/ws-1/fleet/config");
/// ```
pub fn config_path(workspace_id: &str) -> String {
    format!("/api/v1/workspaces/{workspace_id}/fleet/config")
}

/// The canonical path of workspace `workspace_id`'s active policies.
///
/// ```
/// assert_eq!(fleetgov::distribution::policies_path("ws-1"), "/api/v1/workspaces/ws-1/fleet/policies");
/// ```
pub fn policies_path(workspace_id: &str) -> String {
    format!("/api/v1/workspaces/{workspace_id}/fleet/policies")
}

/// The snapshot a cluster's runtimes should run: pull it, check that the
/// artifact hashes to `hash`, apply, report.
///
/// ```
/// use fleetgov::ContentHash;
/// use fleetgov::distribution::DesiredSnapshot;
/// let s = DesiredSnapshot { id: "eks-prod-us@r3".into(), revision: 3, hash: ContentHash::of(b"routes: []") };
/// let json = serde_json::to_string(&s).unwrap();
/// assert!(json.starts_with(r#"{"id":"eks-prod-us@r3","revision":3,"hash":""#));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DesiredSnapshot {
    /// The snapshot id.
    pub id: String,
    /// Its revision, monotonic per cluster.
    pub revision: u32,
    /// The blake3 hash of its artifact.
    pub hash: ContentHash,
}

/// One cluster's desired state; `desired_snapshot` is `None` until a first
/// snapshot is published.
///
/// ```
/// use fleetgov::distribution::ClusterDesiredState;
/// let c = ClusterDesiredState { cluster_id: "azure-dev-west".into(), desired_snapshot: None };
/// assert!(c.desired_snapshot.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClusterDesiredState {
    /// The cluster id.
    pub cluster_id: String,
    /// What its runtimes should run, if anything has been published.
    pub desired_snapshot: Option<DesiredSnapshot>,
}

/// What `GET /api/v1/workspaces/{id}/fleet/config` returns.
///
/// ```
/// # fn main() -> fleetgov::Result<()> {
/// use fleetgov::{AuthorityMode, ContentHash};
/// use fleetgov::distribution::FleetConfig;
/// use fleetgov::policy::{Policy, PolicyScope, RuleSet, RuleValue};
/// let org = Policy::new(PolicyScope::Org, "org-baseline",
///     RuleSet::new().with("require_mtls", RuleValue::Flag(true))?)?;
/// let hash = ContentHash::of(b"routes: []");
/// let cfg = FleetConfig::new(
///     "ws-1",
///     AuthorityMode::TightenOnly,
///     [org],
///     [("eks-prod-us", Some(("eks-prod-us@r3", 3, hash))), ("azure-dev-west", None)],
/// )?;
/// assert_eq!(cfg.config_path, "/api/v1/workspaces/ws-1/fleet/config");
/// assert_eq!(cfg.clusters[0].cluster_id, "azure-dev-west", "clusters are in id order");
/// assert_eq!(cfg.distribution_mode, fleetgov::distribution::DistributionMode::AlwaysPull);
/// assert_eq!(cfg.active_policies[0].id(), "org-baseline");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetConfig {
    /// The workspace.
    pub workspace_id: String,
    /// Always [`DistributionMode::AlwaysPull`].
    pub distribution_mode: DistributionMode,
    /// Where to fetch this document again ([`config_path`]).
    pub config_path: String,
    /// Where to fetch the active policies alone ([`policies_path`]).
    pub policies_path: String,
    /// How the runtime combines [`cloud_rules`](FleetConfig::cloud_rules)
    /// with its local policy (see [`effective_policy`](crate::authority::policy::effective_policy)).
    pub authority_mode: AuthorityMode,
    /// The active policies: org-scoped first, then workspace-scoped, each in id order.
    pub active_policies: Vec<Policy>,
    /// Every active policy tightened together.
    pub cloud_rules: RuleSet,
    /// Per cluster, in id order, the desired snapshot.
    pub clusters: Vec<ClusterDesiredState>,
}

impl FleetConfig {
    /// Builds the document for workspace `workspace_id` from its authority
    /// mode, its active policies (any order) and, per cluster, the desired
    /// snapshot as `(id, revision, hash)`.
    ///
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput) for a malformed
    /// workspace or cluster id, a policy scoped to another workspace, a
    /// policy or cluster given twice, a snapshot id that is not
    /// `<cluster>@r<revision>` for its cluster and revision, or active
    /// policies that give a rule two kinds.
    ///
    /// ```
    /// use fleetgov::AuthorityMode;
    /// use fleetgov::distribution::FleetConfig;
    /// use fleetgov::policy::{Policy, PolicyScope, RuleSet};
    /// let other = Policy::new(PolicyScope::workspace("ws-2"), "p", RuleSet::new()).unwrap();
    /// let none: [(&str, Option<(&str, u32, fleetgov::ContentHash)>); 0] = [];
    /// assert!(FleetConfig::new("ws-1", AuthorityMode::Authoritative, [other], none).is_err());
    /// ```
    pub fn new<C, S>(
        workspace_id: &str,
        authority_mode: AuthorityMode,
        policies: impl IntoIterator<Item = Policy>,
        clusters: impl IntoIterator<Item = (C, Option<(S, u32, ContentHash)>)>,
    ) -> Result<FleetConfig>
    where
        C: Into<String>,
        S: Into<String>,
    {
        validate_id("workspace", workspace_id)?;
        let active_policies = active_policies(workspace_id, policies)?;
        let cloud_rules = active_policies
            .iter()
            .try_fold(RuleSet::new(), |acc, p| acc.tighten(p.rules()))
            .map_err(|e| e.context(format_args!("active policies of workspace {workspace_id}")))?;
        let clusters = cluster_states(clusters)?;
        Ok(FleetConfig {
            workspace_id: workspace_id.to_owned(),
            distribution_mode: DistributionMode::AlwaysPull,
            config_path: config_path(workspace_id),
            policies_path: policies_path(workspace_id),
            authority_mode,
            active_policies,
            cloud_rules,
            clusters,
        })
    }
}

/// Checks that every policy applies to `workspace_id` and none is given
/// twice; returns them org-scoped first, then by id.
fn active_policies(workspace_id: &str, policies: impl IntoIterator<Item = Policy>) -> Result<Vec<Policy>> {
    let mut active: Vec<Policy> = policies.into_iter().collect();
    if let Some(p) = active.iter().find(|p| !p.scope().applies_to(workspace_id)) {
        return Err(Error::invalid(format!(
            "policy {:?} ({}) is not active in workspace {workspace_id}",
            p.id(),
            p.scope()
        )));
    }
    active.sort_by(|a, b| (a.scope(), a.id()).cmp(&(b.scope(), b.id())));
    if let Some(pair) = active.windows(2).find(|w| (w[0].scope(), w[0].id()) == (w[1].scope(), w[1].id())) {
        return Err(Error::invalid(format!("policy {:?} ({}) is given twice", pair[0].id(), pair[0].scope())));
    }
    Ok(active)
}

/// Validates the cluster list and returns it in id order.
fn cluster_states<C, S>(
    clusters: impl IntoIterator<Item = (C, Option<(S, u32, ContentHash)>)>,
) -> Result<Vec<ClusterDesiredState>>
where
    C: Into<String>,
    S: Into<String>,
{
    let mut seen = BTreeSet::new();
    let mut states = Vec::new();
    for (cluster_id, desired) in clusters {
        let cluster_id = cluster_id.into();
        validate_id("cluster", &cluster_id)?;
        if !seen.insert(cluster_id.clone()) {
            return Err(Error::invalid(format!("cluster {cluster_id} is given twice")));
        }
        let desired_snapshot = match desired {
            None => None,
            Some((id, revision, hash)) => {
                let id = id.into();
                if parse_snapshot_id(&id) != Some((cluster_id.as_str(), revision)) {
                    return Err(Error::invalid(format!(
                        "cluster {cluster_id}: snapshot id {id:?} is not {:?}",
                        snapshot_id(&cluster_id, revision)
                    )));
                }
                Some(DesiredSnapshot { id, revision, hash })
            }
        };
        states.push(ClusterDesiredState { cluster_id, desired_snapshot });
    }
    states.sort_by(|a, b| a.cluster_id.cmp(&b.cluster_id));
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::authority::policy::{PolicyScope, RuleValue};

    type Desired<'a> = Option<(&'a str, u32, ContentHash)>;
    type Clusters<'a> = Vec<(&'a str, Desired<'a>)>;

    fn policy(scope: PolicyScope, id: &str, rules: &[(&str, RuleValue)]) -> Policy {
        let mut set = RuleSet::new();
        for (name, value) in rules {
            set.insert(*name, value.clone()).unwrap();
        }
        Policy::new(scope, id, set).unwrap()
    }

    fn seed_policies() -> Vec<Policy> {
        vec![
            policy(
                PolicyScope::workspace("ws-1"),
                "edge-cors",
                &[
                    ("cors_allowed_origins", RuleValue::allow_list(["https://app.example.com"])),
                    ("rate_limit_per_minute", RuleValue::Limit(600)),
                ],
            ),
            policy(
                PolicyScope::Org,
                "org-baseline",
                &[("require_mtls", RuleValue::Flag(true)), ("rate_limit_per_minute", RuleValue::Limit(1000))],
            ),
        ]
    }

    #[test]
    fn document_holds_the_active_policies_and_clusters_in_order() {
        let h = ContentHash::of(b"prod config");
        let clusters: Clusters = vec![("eks-prod-us", Some(("eks-prod-us@r12", 12, h))), ("azure-dev-west", None)];
        let cfg = FleetConfig::new("ws-1", AuthorityMode::TightenOnly, seed_policies(), clusters).unwrap();
        let ids: Vec<&str> = cfg.active_policies.iter().map(Policy::id).collect();
        assert_eq!(ids, ["org-baseline", "edge-cors"], "org-scoped first");
        assert_eq!(cfg.cloud_rules.get("rate_limit_per_minute"), Some(&RuleValue::Limit(600)), "the stricter limit");
        assert_eq!(cfg.clusters[0].cluster_id, "azure-dev-west");
        assert_eq!(
            cfg.clusters[1].desired_snapshot,
            Some(DesiredSnapshot { id: "eks-prod-us@r12".into(), revision: 12, hash: h })
        );
    }

    #[test]
    fn bad_input_is_invalid_input() {
        let h = ContentHash::of(b"x");
        let ok_clusters = || -> Clusters<'static> { vec![("c1", Some(("c1@r1", 1, h)))] };
        let cases: Vec<(&str, Vec<Policy>, Clusters)> = vec![
            ("bad workspace", vec![], ok_clusters()),
            ("ws-1", vec![policy(PolicyScope::workspace("ws-2"), "p", &[])], ok_clusters()),
            ("ws-1", vec![policy(PolicyScope::Org, "p", &[]), policy(PolicyScope::Org, "p", &[])], ok_clusters()),
            (
                "ws-1",
                vec![
                    policy(PolicyScope::Org, "a", &[("require_mtls", RuleValue::Flag(true))]),
                    policy(PolicyScope::workspace("ws-1"), "b", &[("require_mtls", RuleValue::Limit(1))]),
                ],
                ok_clusters(),
            ),
            ("ws-1", vec![], vec![("bad cluster", None)]),
            ("ws-1", vec![], vec![("c1", None), ("c1", None)]),
            ("ws-1", vec![], vec![("c1", Some(("", 1, h)))]),
            ("ws-1", vec![], vec![("c1", Some(("c1@r1", 2, h)))]),
            ("ws-1", vec![], vec![("c1", Some(("c2@r1", 1, h)))]),
            ("ws-1", vec![], vec![("c1", Some(("c1@r0", 0, h)))]),
        ];
        for (ws, policies, clusters) in cases {
            let e = FleetConfig::new(ws, AuthorityMode::Authoritative, policies.clone(), clusters.clone())
                .expect_err(&format!("{ws} {policies:?} {clusters:?}"));
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        }
    }

    #[test]
    fn same_id_in_org_and_workspace_scope_is_not_a_duplicate() {
        let none: Clusters = vec![];
        let policies = vec![policy(PolicyScope::Org, "p", &[]), policy(PolicyScope::workspace("ws-1"), "p", &[])];
        let cfg = FleetConfig::new("ws-1", AuthorityMode::DevOverride, policies, none).unwrap();
        assert_eq!(cfg.active_policies.len(), 2);
        assert_eq!(cfg.active_policies[0].scope(), &PolicyScope::Org);
    }

    #[test]
    fn a_document_from_the_registry_carries_its_cloud_rules() {
        let reg = crate::authority::policy::PolicyRegistry::new();
        for p in seed_policies() {
            reg.upsert(p).unwrap();
        }
        let none: Clusters = vec![];
        let cfg = FleetConfig::new("ws-1", AuthorityMode::Authoritative, reg.active("ws-1"), none).unwrap();
        assert_eq!(cfg.cloud_rules, *reg.cloud_rules("ws-1"));
    }
}
