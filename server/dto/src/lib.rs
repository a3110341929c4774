//! The JSON shapes of the fleet server's HTTP API.
//!
//! The engine returns plain Rust values ([`ClusterView`], [`NodeView`],
//! [`FleetInventory`], [`AppliedChange`], ...); this crate holds the
//! camelCase documents the API serves for them, each built with `From`. It
//! is the one place those shapes are written: the server serves them and the
//! Java binding's `FleetEngine.fleetJson` returns the same inventory text.
//!
//! ```
//! use fleetgov::{ClusterSpec, Engine, Environment, WorkspaceSpec};
//! use fleetgov_dto::FleetInventoryJson;
//! let e = Engine::new();
//! e.upsert_workspace(WorkspaceSpec::new("ws-1")).unwrap();
//! e.upsert_cluster(ClusterSpec::new("c", "ws-1", Environment::Staging)).unwrap();
//! e.enroll("gw-1", "c", 0).unwrap();
//! let json = serde_json::to_value(FleetInventoryJson::from(e.fleet("ws-1", 0).unwrap())).unwrap();
//! assert_eq!(json["desiredState"]["policyMode"], "authoritative");
//! assert_eq!(json["summary"]["awaitingSync"], 1);
//! ```

#![warn(missing_docs)]

mod audit;
mod authority;
mod rollout;

pub use audit::{AuditRecordJson, ConsistencyProofJson, InclusionProofJson};
pub use authority::{ClusterDesiredJson, FleetConfigJson, PolicyJson, SnapshotJson};
pub use rollout::{RolloutJson, RolloutPlanJson, WaveJson};

use fleetgov::{
    AppliedChange, AuthorityMode, ClusterStatus, ClusterView, ConfigStatus, ContentHash, DesiredCluster, DesiredState,
    DriftStatus, Environment, FleetInventory, FleetSummary, Health, Metrics, NodeStatus, NodeView, ProcessHealth,
    ProcessStatus, RevisionCount, RootCause, Runtime, RuntimeVersion, SyncError, SyncErrorCode,
};
use serde::{Deserialize, Serialize};

/// How many nodes run one revision ([`RevisionCount`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionCountJson {
    /// The revision (0: unverified).
    pub revision: u32,
    /// Nodes verified to run it.
    pub nodes: u64,
}

impl From<&RevisionCount> for RevisionCountJson {
    fn from(r: &RevisionCount) -> Self {
        RevisionCountJson { revision: r.revision, nodes: r.nodes }
    }
}

/// Nodes of a cluster whose last heartbeat reported one sync-error code ([`RootCause`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RootCauseJson {
    /// The code.
    pub code: SyncErrorCode,
    /// How many nodes report it.
    pub nodes: u64,
    /// One node that reported it most recently.
    pub example_node: Option<String>,
}

impl From<&RootCause> for RootCauseJson {
    fn from(r: &RootCause) -> Self {
        RootCauseJson { code: r.code, nodes: r.nodes, example_node: r.example_node.clone() }
    }
}

/// A cluster ([`ClusterView`]): its authority beside its execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterJson {
    /// The cluster id.
    pub id: String,
    /// Its workspace.
    pub workspace: String,
    /// Production, staging or development.
    pub environment: Environment,
    /// The accountable team.
    pub owner_team: String,
    /// Whether divergent nodes are told to reconcile.
    pub auto_reconcile: bool,
    /// HEALTHY, SYNCING or DIVERGENT.
    pub status: ClusterStatus,
    /// Percent of enrolled nodes verified, floored.
    pub cohesion: u8,
    /// Cohesion in basis points, floored.
    #[serde(rename = "cohesionBasisPoints")]
    pub cohesion_bp: u16,
    /// Nodes verified.
    pub in_sync: u64,
    /// Nodes enrolled.
    pub total: u64,
    /// The desired snapshot id.
    pub desired_snapshot: Option<String>,
    /// The desired revision (0: nothing published).
    pub desired_revision: u32,
    /// The desired artifact hash.
    pub desired_hash: Option<ContentHash>,
    /// Nodes per verified applied revision.
    pub revisions: Vec<RevisionCountJson>,
    /// Sync-error codes reported by the cluster's nodes, most frequent first.
    pub root_causes: Vec<RootCauseJson>,
}

impl From<&ClusterView> for ClusterJson {
    fn from(c: &ClusterView) -> Self {
        ClusterJson {
            id: c.id.clone(),
            workspace: c.workspace.clone(),
            environment: c.environment,
            owner_team: c.owner_team.clone(),
            auto_reconcile: c.auto_reconcile,
            status: c.status,
            cohesion: c.cohesion,
            cohesion_bp: c.cohesion_bp,
            in_sync: c.in_sync,
            total: c.total,
            desired_snapshot: c.desired_snapshot.clone(),
            desired_revision: c.desired_revision,
            desired_hash: c.desired_hash,
            revisions: c.revisions.iter().map(Into::into).collect(),
            root_causes: c.root_causes.iter().map(Into::into).collect(),
        }
    }
}

/// Runtime metrics ([`Metrics`]), as a node reports them and as the API shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricsJson {
    /// CPU use, percent.
    pub cpu: f32,
    /// Memory use, percent.
    pub memory: f32,
    /// Transactions per second.
    pub tps: f32,
    /// JVM heap use, percent.
    pub heap: f32,
    /// Hot-swap errors since the runtime started.
    pub hot_swap_errors: u32,
}

impl From<Metrics> for MetricsJson {
    fn from(m: Metrics) -> Self {
        MetricsJson { cpu: m.cpu, memory: m.memory, tps: m.tps, heap: m.heap, hot_swap_errors: m.hot_swap_errors }
    }
}

impl From<MetricsJson> for Metrics {
    fn from(m: MetricsJson) -> Self {
        Metrics { cpu: m.cpu, memory: m.memory, tps: m.tps, heap: m.heap, hot_swap_errors: m.hot_swap_errors }
    }
}

/// A node ([`NodeView`]): what it runs beside what it should, with its health and drift.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeJson {
    /// The node id.
    pub id: String,
    /// Its cluster.
    pub cluster_id: String,
    /// Ready, Starting, Error or Divergent.
    pub status: NodeStatus,
    /// What should run.
    pub desired_snapshot_id: Option<String>,
    /// The hash of what should run.
    pub desired_hash: Option<ContentHash>,
    /// What the node reports it applied.
    pub applied_snapshot_id: Option<String>,
    /// The hash the node computed over what it applied.
    pub applied_hash: Option<ContentHash>,
    /// When the node was enrolled (unix ms).
    pub enrolled_at_ms: u64,
    /// The last heartbeat (unix ms).
    pub last_heartbeat_ms: Option<u64>,
    /// How long ago the last heartbeat was.
    pub heartbeat_age_ms: Option<u64>,
    /// Whether the node's last report counts at the query time.
    pub verified: bool,
    /// The last sync error.
    pub last_sync_error: Option<SyncError>,
    /// Why the node is not in sync, when it is not.
    pub reconcile_reason: Option<String>,
    /// The node's process status as reported.
    pub process_status: Option<ProcessStatus>,
    /// Runtime metrics of the last heartbeat.
    pub metrics: MetricsJson,
    /// Heap percent change since the heartbeat before.
    pub heap_trend: f32,
    /// The runtime version reported.
    pub runtime_version: Option<RuntimeVersion>,
    /// Heartbeat freshness at the query time.
    pub health: Health,
    /// Healthy, Degraded or Offline.
    pub process_health: ProcessHealth,
    /// IN_SYNC or DIVERGENT.
    pub config_status: ConfigStatus,
    /// aligned, needs_reconcile, upgrade_required or awaiting_sync.
    pub drift: DriftStatus,
}

impl From<&NodeView> for NodeJson {
    fn from(n: &NodeView) -> Self {
        NodeJson {
            id: n.id.clone(),
            cluster_id: n.cluster_id.clone(),
            status: n.status,
            desired_snapshot_id: n.desired_snapshot_id.clone(),
            desired_hash: n.desired_hash,
            applied_snapshot_id: n.applied_snapshot_id.clone(),
            applied_hash: n.applied_hash,
            enrolled_at_ms: n.enrolled_at_ms,
            last_heartbeat_ms: n.last_heartbeat_ms,
            heartbeat_age_ms: n.heartbeat_age_ms,
            verified: n.verified,
            last_sync_error: n.last_sync_error.clone(),
            reconcile_reason: n.reconcile_reason.clone(),
            process_status: n.process_status,
            metrics: n.metrics.into(),
            heap_trend: n.heap_trend,
            runtime_version: n.runtime_version,
            health: n.health,
            process_health: n.process_health,
            config_status: n.config_status,
            drift: n.drift,
        }
    }
}

/// One enrolled runtime of the fleet inventory ([`Runtime`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeJson {
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

impl From<Runtime> for RuntimeJson {
    fn from(r: Runtime) -> Self {
        RuntimeJson {
            id: r.id,
            cluster: r.cluster,
            health: r.health,
            version: r.version,
            drift: r.drift,
            applied_snapshot: r.applied_snapshot,
            applied_hash: r.applied_hash,
            last_heartbeat: r.last_heartbeat,
            last_sync_error: r.last_sync_error,
        }
    }
}

/// Aggregate counts over a workspace's runtimes ([`FleetSummary`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetSummaryJson {
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

impl From<FleetSummary> for FleetSummaryJson {
    fn from(s: FleetSummary) -> Self {
        FleetSummaryJson {
            total: s.total,
            active: s.active,
            stale: s.stale,
            dormant: s.dormant,
            never: s.never,
            upgrade_required: s.upgrade_required,
            needs_reconcile: s.needs_reconcile,
            aligned: s.aligned,
            awaiting_sync: s.awaiting_sync,
        }
    }
}

/// One cluster's desired state ([`DesiredCluster`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredClusterJson {
    /// The cluster id.
    pub cluster: String,
    /// The desired snapshot id.
    pub snapshot: Option<String>,
    /// Its revision (0: nothing published).
    pub revision: u32,
    /// Its artifact hash.
    pub hash: Option<ContentHash>,
}

/// A workspace's desired state ([`DesiredState`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredStateJson {
    /// The authority mode.
    pub policy_mode: AuthorityMode,
    /// The minimum runtime version.
    pub min_runtime_version: String,
    /// Each cluster's snapshot, revision and hash.
    pub clusters: Vec<DesiredClusterJson>,
}

impl From<DesiredState> for DesiredStateJson {
    fn from(d: DesiredState) -> Self {
        let cluster = |c: DesiredCluster| DesiredClusterJson {
            cluster: c.cluster,
            snapshot: c.snapshot,
            revision: c.revision,
            hash: c.hash,
        };
        DesiredStateJson {
            policy_mode: d.policy_mode,
            min_runtime_version: d.min_runtime_version,
            clusters: d.clusters.into_iter().map(cluster).collect(),
        }
    }
}

/// `GET /api/v1/workspaces/{id}/fleet` ([`FleetInventory`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetInventoryJson {
    /// Every enrolled runtime of the workspace.
    pub runtimes: Vec<RuntimeJson>,
    /// Aggregate counts.
    pub summary: FleetSummaryJson,
    /// What should run.
    pub desired_state: DesiredStateJson,
}

impl From<FleetInventory> for FleetInventoryJson {
    fn from(f: FleetInventory) -> Self {
        FleetInventoryJson {
            runtimes: f.runtimes.into_iter().map(Into::into).collect(),
            summary: f.summary.into(),
            desired_state: f.desired_state.into(),
        }
    }
}

/// One change of what a node ran ([`AppliedChange`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedChangeJson {
    /// When (unix ms).
    pub at_ms: u64,
    /// The snapshot it reported from then on.
    pub snapshot: Option<String>,
    /// The hash it computed.
    pub hash: Option<ContentHash>,
    /// Whether that hash is its snapshot's own.
    pub verified: bool,
}

impl From<AppliedChange> for AppliedChangeJson {
    fn from(c: AppliedChange) -> Self {
        AppliedChangeJson { at_ms: c.at_ms, snapshot: c.snapshot, hash: c.hash, verified: c.verified }
    }
}
