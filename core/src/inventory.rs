//! The fleet inventory of a workspace, shaped like the seeds'
//! `GET /api/v1/workspaces/{id}/fleet`.

use crate::drift::DriftStatus;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::hash::ContentHash;
use crate::health::Health;
use crate::view::NodeView;

use crate::authority::workspace::AuthorityMode;

/// One enrolled runtime.
#[derive(Clone, Debug, PartialEq)]
pub struct Runtime {
    /// The node id.
    pub id: String,
    /// Its cluster.
    pub cluster: String,
    /// connected, stale, dormant or never.
    pub health: Health,
    /// The runtime version reported, if any.
    pub version: Option<String>,
    /// aligned, needs_reconcile, upgrade_required or awaiting_sync.
    pub drift: DriftStatus,
    /// The applied snapshot id.
    pub applied_snapshot: Option<String>,
    /// The node-computed hash.
    pub applied_hash: Option<ContentHash>,
    /// The last heartbeat (unix ms).
    pub last_heartbeat: Option<u64>,
    /// `CODE: detail`, if the node reports one.
    pub last_sync_error: Option<String>,
}

impl From<NodeView> for Runtime {
    fn from(n: NodeView) -> Self {
        Runtime {
            id: n.id,
            cluster: n.cluster_id,
            health: n.health,
            version: n.runtime_version.map(|v| v.to_string()),
            drift: n.drift,
            applied_snapshot: n.applied_snapshot_id,
            applied_hash: n.applied_hash,
            last_heartbeat: n.last_heartbeat_ms,
            last_sync_error: n.last_sync_error.map(|e| e.to_string()),
        }
    }
}

/// Aggregate counts over a workspace's runtimes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FleetSummary {
    /// Enrolled runtimes.
    pub total: u64,
    /// Connected (heartbeat under 5 minutes ago).
    pub active: u64,
    /// Stale (5 to 60 minutes).
    pub stale: u64,
    /// Dormant (over 60 minutes).
    pub dormant: u64,
    /// Never heard from.
    pub never: u64,
    /// Drift `upgrade_required`.
    pub upgrade_required: u64,
    /// Drift `needs_reconcile`.
    pub needs_reconcile: u64,
    /// Drift `aligned`.
    pub aligned: u64,
    /// Drift `awaiting_sync`.
    pub awaiting_sync: u64,
}

impl FleetSummary {
    fn add(&mut self, health: Health, drift: DriftStatus) {
        self.total += 1;
        *match health {
            Health::Connected => &mut self.active,
            Health::Stale => &mut self.stale,
            Health::Dormant => &mut self.dormant,
            Health::Never => &mut self.never,
        } += 1;
        *match drift {
            DriftStatus::UpgradeRequired => &mut self.upgrade_required,
            DriftStatus::NeedsReconcile => &mut self.needs_reconcile,
            DriftStatus::Aligned => &mut self.aligned,
            DriftStatus::AwaitingSync => &mut self.awaiting_sync,
        } += 1;
    }
}

/// One cluster's desired state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredCluster {
    /// The cluster id.
    pub cluster: String,
    /// The desired snapshot id.
    pub snapshot: Option<String>,
    /// Its revision (0: nothing published).
    pub revision: u32,
    /// Its artifact hash.
    pub hash: Option<ContentHash>,
}

/// The workspace's desired state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredState {
    /// The authority mode.
    pub policy_mode: AuthorityMode,
    /// The minimum runtime version.
    pub min_runtime_version: String,
    /// Each cluster's snapshot, revision and hash.
    pub clusters: Vec<DesiredCluster>,
}

/// `GET /api/v1/workspaces/{id}/fleet`.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetInventory {
    /// Every enrolled runtime of the workspace.
    pub runtimes: Vec<Runtime>,
    /// Aggregate counts.
    pub summary: FleetSummary,
    /// What should run.
    pub desired_state: DesiredState,
}

/// Which runtimes one page of a workspace's inventory holds
/// ([`Engine::fleet_page`]), as the HTTP API's
/// `?health=&drift=&cluster=&limit=&cursor=`. The default is every runtime.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FleetQuery<'a> {
    /// Only runtimes of this health.
    pub health: Option<Health>,
    /// Only runtimes of this drift status.
    pub drift: Option<DriftStatus>,
    /// Only runtimes of this cluster of the workspace.
    pub cluster: Option<&'a str>,
    /// At most this many runtimes (at least 1; `None`: no limit).
    pub limit: Option<usize>,
    /// Where the page starts: the [`FleetPage::next_cursor`] of an earlier page.
    pub cursor: Option<&'a str>,
}

/// One page of a workspace's inventory.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetPage {
    /// The runtimes that match the query, in cluster then enrolment order.
    pub runtimes: Vec<Runtime>,
    /// Aggregate counts over the whole workspace (not only this page).
    pub summary: FleetSummary,
    /// What should run, over the whole workspace.
    pub desired_state: DesiredState,
    /// Where the next page starts (pass it as [`FleetQuery::cursor`]); `None` on the last page.
    pub next_cursor: Option<String>,
}

impl Engine {
    /// One page of the inventory of workspace `workspace` at `now_ms`: the
    /// runtimes that match `query`, in cluster then enrolment order, from
    /// its cursor. Filtering reads each node's slot without allocating; only
    /// the runtimes on the page are built. A limit of 0, a cursor this method
    /// did not return or a cluster outside the workspace is an error.
    ///
    /// ```
    /// # use fleetgov::*;
    /// let e = Engine::new();
    /// e.upsert_workspace(WorkspaceSpec::new("ws-1")).unwrap();
    /// e.upsert_cluster(ClusterSpec::new("c", "ws-1", Environment::Staging)).unwrap();
    /// for n in ["gw-1", "gw-2", "gw-3"] {
    ///     e.enroll(n, "c", 0).unwrap();
    /// }
    /// let first = e.fleet_page("ws-1", 0, &FleetQuery { limit: Some(2), ..FleetQuery::default() }).unwrap();
    /// assert_eq!(first.runtimes.len(), 2);
    /// let cursor = first.next_cursor.as_deref();
    /// let rest = e.fleet_page("ws-1", 0, &FleetQuery { cursor, ..FleetQuery::default() }).unwrap();
    /// assert_eq!((rest.runtimes[0].id.as_str(), rest.next_cursor), ("gw-3", None));
    /// assert_eq!(rest.summary.total, 3);
    /// ```
    pub fn fleet_page(&self, workspace: &str, now_ms: u64, query: &FleetQuery<'_>) -> Result<FleetPage> {
        if query.limit == Some(0) {
            return Err(Error::invalid("limit must be at least 1"));
        }
        let position: u64 = match query.cursor {
            None => 0,
            Some(c) => c.parse().map_err(|_| Error::invalid(format!("cursor {c:?} is not one a page returned")))?,
        };
        let desired_state = self.desired_state(workspace)?;
        if let Some(c) = query.cluster
            && !desired_state.clusters.iter().any(|d| d.cluster == c)
        {
            return Err(Error::not_found(format_args!("cluster '{c}' in workspace '{workspace}'")));
        }
        let limit = query.limit.unwrap_or(usize::MAX);
        let (mut runtimes, mut next_cursor, mut start) = (Vec::new(), None, 0_u64);
        for cluster in self.clusters_of(workspace) {
            let selected = query.cluster.is_none_or(|c| c == &*cluster.id);
            let desired = cluster.node_desired();
            let min_version = self.min_version(cluster);
            start = cluster.counters.with_members(|members| {
                let from = match selected {
                    true => usize::try_from(position.saturating_sub(start)).unwrap_or(usize::MAX),
                    false => members.len(),
                };
                for (i, &slot) in members.iter().enumerate().skip(from) {
                    if runtimes.len() == limit {
                        next_cursor = Some((start + i as u64).to_string());
                        break;
                    }
                    let facts = self.node_facts(slot, &desired, min_version, now_ms);
                    if query.health.is_none_or(|h| h == facts.health) && query.drift.is_none_or(|d| d == facts.drift) {
                        runtimes.push(Runtime::from(self.node_view(slot, now_ms)));
                    }
                }
                start + members.len() as u64
            });
            if next_cursor.is_some() {
                break;
            }
        }
        Ok(FleetPage { runtimes, summary: self.fleet_summary(workspace, now_ms)?, desired_state, next_cursor })
    }

    /// The inventory of workspace `workspace` at `now_ms`.
    ///
    /// ```
    /// # use fleetgov::*;
    /// let e = Engine::new();
    /// e.upsert_workspace(WorkspaceSpec::new("ws-1")).unwrap();
    /// e.upsert_cluster(ClusterSpec::new("c", "ws-1", Environment::Staging)).unwrap();
    /// e.enroll("gw-1", "c", 0).unwrap();
    /// let f = e.fleet("ws-1", 0).unwrap();
    /// assert_eq!((f.summary.total, f.summary.never, f.summary.awaiting_sync), (1, 1, 1));
    /// assert_eq!(f.desired_state.policy_mode, AuthorityMode::Authoritative);
    /// ```
    pub fn fleet(&self, workspace: &str, now_ms: u64) -> Result<FleetInventory> {
        let mut runtimes = Vec::new();
        let mut summary = FleetSummary::default();
        self.workspace(workspace)?;
        for cluster in self.clusters_of(workspace) {
            cluster.counters.with_members(|members| {
                for &slot in members {
                    let view = self.node_view(slot, now_ms);
                    summary.add(view.health, view.drift);
                    runtimes.push(Runtime::from(view));
                }
            });
        }
        Ok(FleetInventory { runtimes, summary, desired_state: self.desired_state(workspace)? })
    }

    /// The summary of workspace `workspace` at `now_ms`, without the runtimes
    /// list: one pass over the slots, no allocation per node.
    pub fn fleet_summary(&self, workspace: &str, now_ms: u64) -> Result<FleetSummary> {
        self.workspace(workspace)?;
        let mut summary = FleetSummary::default();
        for cluster in self.clusters_of(workspace) {
            let desired = cluster.node_desired();
            let min_version = self.min_version(cluster);
            cluster.counters.with_members(|members| {
                for &slot in members {
                    let facts = self.node_facts(slot, &desired, min_version, now_ms);
                    summary.add(facts.health, facts.drift);
                }
            });
        }
        Ok(summary)
    }

    /// The desired state of workspace `workspace`.
    pub fn desired_state(&self, workspace: &str) -> Result<DesiredState> {
        let ws = self.workspace(workspace)?;
        let clusters = self
            .clusters_of(workspace)
            .map(|c| {
                let d = c.authority.snapshot(c.authority.desired());
                DesiredCluster {
                    cluster: c.id.to_string(),
                    snapshot: d.map(|s| s.id.clone()),
                    revision: d.map_or(0, |s| s.revision),
                    hash: d.map(|s| s.hash),
                }
            })
            .collect();
        Ok(DesiredState {
            policy_mode: ws.authority_mode,
            min_runtime_version: ws.min_runtime_version.to_string(),
            clusters,
        })
    }
}
