//! The authority's documents: snapshots, policies and the fleet
//! configuration a runtime pulls.

use fleetgov::distribution::{DesiredSnapshot, DistributionMode};
use fleetgov::policy::{Policy, PolicyScope, RuleSet};
use fleetgov::{AuthorityMode, ContentHash, Error, FleetConfig, Result, Snapshot};
use serde::{Deserialize, Serialize};

/// A published snapshot ([`Snapshot`]).
///
/// ```
/// use fleetgov::{ContentHash, Snapshot};
/// use fleetgov_dto::SnapshotJson;
/// let s = Snapshot {
///     id: "c@r1".into(), cluster: "c".into(), revision: 1, hash: ContentHash::of(b"x"),
///     author: "alice".into(), published_at_ms: 5, size_bytes: 1,
/// };
/// let json = serde_json::to_value(SnapshotJson::from(&s)).unwrap();
/// assert_eq!((json["publishedAtMs"].as_u64(), json["sizeBytes"].as_u64()), (Some(5), Some(1)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotJson {
    /// [`Snapshot::id`].
    pub id: String,
    /// [`Snapshot::cluster`].
    pub cluster: String,
    /// [`Snapshot::revision`].
    pub revision: u32,
    /// [`Snapshot::hash`], hex.
    pub hash: ContentHash,
    /// [`Snapshot::author`].
    pub author: String,
    /// [`Snapshot::published_at_ms`].
    pub published_at_ms: u64,
    /// [`Snapshot::size_bytes`].
    pub size_bytes: u64,
}

impl From<&Snapshot> for SnapshotJson {
    fn from(s: &Snapshot) -> Self {
        SnapshotJson {
            id: s.id.clone(),
            cluster: s.cluster.clone(),
            revision: s.revision,
            hash: s.hash,
            author: s.author.clone(),
            published_at_ms: s.published_at_ms,
            size_bytes: s.size_bytes,
        }
    }
}

/// A policy ([`Policy`]): `{"id", "scope": "org" | "workspace", "workspaceId", "rules"}`.
///
/// It is also the body of `PUT /api/v1/policies/{id}`, where the id may be
/// left out; [`policy`](PolicyJson::policy) checks it.
///
/// ```
/// use fleetgov::policy::{Policy, PolicyScope, RuleSet, RuleValue};
/// use fleetgov_dto::PolicyJson;
/// let rules = RuleSet::new().with("allowed_methods", RuleValue::allow_list(["GET"])).unwrap();
/// let p = Policy::new(PolicyScope::workspace("ws-1"), "edge", rules).unwrap();
/// let json = serde_json::to_string(&PolicyJson::from(&p)).unwrap();
/// assert_eq!(
///     json,
///     r#"{"id":"edge","scope":"workspace","workspaceId":"ws-1","rules":{"allowed_methods":{"kind":"allow_list","value":["GET"]}}}"#
/// );
/// let back: PolicyJson = serde_json::from_str(&json).unwrap();
/// assert_eq!(back.policy("edge").unwrap(), p);
/// assert!(serde_json::from_str::<PolicyJson>(&json).unwrap().policy("other").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyJson {
    /// The policy id (optional in a request body, where the path names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `org` (every workspace) or `workspace`.
    pub scope: String,
    /// The workspace of a `workspace` policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<String>,
    /// The rules, by name.
    pub rules: RuleSet,
}

impl From<&Policy> for PolicyJson {
    fn from(p: &Policy) -> Self {
        let (scope, workspace_id) = match p.scope() {
            PolicyScope::Org => ("org", None),
            PolicyScope::Workspace { workspace_id } => ("workspace", Some(workspace_id.clone())),
        };
        PolicyJson { id: Some(p.id().to_owned()), scope: scope.to_owned(), workspace_id, rules: p.rules().clone() }
    }
}

impl PolicyJson {
    /// The policy `id` this document declares;
    /// [`InvalidInput`](fleetgov::ErrorKind::InvalidInput) when it names
    /// another id, an unknown scope, or a workspace that does not fit the scope.
    pub fn policy(self, id: &str) -> Result<Policy> {
        if let Some(named) = self.id.filter(|named| named != id) {
            return Err(Error::invalid(format!("the body names policy '{named}', the path '{id}'")));
        }
        let scope = match (self.scope.as_str(), self.workspace_id) {
            ("org", None) => PolicyScope::Org,
            ("workspace", Some(workspace)) => PolicyScope::workspace(workspace),
            ("org", Some(_)) => return Err(Error::invalid("an org policy names no workspaceId")),
            ("workspace", None) => return Err(Error::invalid("a workspace policy needs workspaceId")),
            (other, _) => return Err(Error::invalid(format!("scope {other:?} is not org or workspace"))),
        };
        Policy::new(scope, id, self.rules)
    }
}

/// One cluster's entry in [`FleetConfigJson`]: `desiredSnapshot` is `null`
/// until a first snapshot is published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterDesiredJson {
    /// The cluster id.
    pub cluster_id: String,
    /// What its runtimes should run.
    pub desired_snapshot: Option<DesiredSnapshot>,
}

/// What `GET /api/v1/workspaces/{id}/fleet/config` returns ([`FleetConfig`]).
///
/// Keys are camelCase, except `distribution_mode`, `config_path` and
/// `policies_path`, which keep the snake_case spelling of the published API.
///
/// ```
/// use fleetgov::{ClusterSpec, Engine, Environment, WorkspaceSpec};
/// use fleetgov_dto::FleetConfigJson;
/// let e = Engine::new();
/// e.upsert_workspace(WorkspaceSpec::new("ws-1")).unwrap();
/// e.upsert_cluster(ClusterSpec::new("c", "ws-1", Environment::Staging)).unwrap();
/// let json = serde_json::to_value(FleetConfigJson::from(&e.fleet_config("ws-1").unwrap())).unwrap();
/// assert_eq!(json["distribution_mode"], "always_pull");
/// assert_eq!(json["config_path"], "/api/v1/workspaces/ws-1/fleet/config");
/// assert_eq!(json["clusters"][0]["desiredSnapshot"], serde_json::Value::Null);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetConfigJson {
    /// The workspace.
    pub workspace_id: String,
    /// Always `always_pull`.
    #[serde(rename = "distribution_mode")]
    pub distribution_mode: DistributionMode,
    /// Where to fetch this document again.
    #[serde(rename = "config_path")]
    pub config_path: String,
    /// Where to fetch the active policies alone.
    #[serde(rename = "policies_path")]
    pub policies_path: String,
    /// How the runtime combines `cloudRules` with its local policy.
    pub authority_mode: AuthorityMode,
    /// The active policies: org-scoped first, then workspace-scoped, each in id order.
    pub active_policies: Vec<PolicyJson>,
    /// Every active policy tightened together.
    pub cloud_rules: RuleSet,
    /// Per cluster, in id order, the desired snapshot.
    pub clusters: Vec<ClusterDesiredJson>,
}

impl From<&FleetConfig> for FleetConfigJson {
    fn from(c: &FleetConfig) -> Self {
        FleetConfigJson {
            workspace_id: c.workspace_id.clone(),
            distribution_mode: c.distribution_mode,
            config_path: c.config_path.clone(),
            policies_path: c.policies_path.clone(),
            authority_mode: c.authority_mode,
            active_policies: c.active_policies.iter().map(PolicyJson::from).collect(),
            cloud_rules: c.cloud_rules.clone(),
            clusters: c
                .clusters
                .iter()
                .map(|s| ClusterDesiredJson {
                    cluster_id: s.cluster_id.clone(),
                    desired_snapshot: s.desired_snapshot.clone(),
                })
                .collect(),
        }
    }
}
