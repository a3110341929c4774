//! The fleet inventory of a workspace, shaped like the seeds'
//! `GET /api/v1/workspaces/{id}/fleet`.

use crate::drift::DriftStatus;
use crate::engine::Engine;
use crate::error::Result;
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

impl Engine {
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
            let desired = cluster.authority.snapshot(cluster.authority.desired());
            let min_version = self.min_version(cluster);
            cluster.counters.with_members(|members| {
                for &slot in members {
                    let facts = self.node_facts(slot, desired, min_version, now_ms);
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
