//! Read-only views of clusters and nodes, as the dashboard and bindings show them.

use crate::authority::cluster_spec::Environment;
use crate::cohesion::ClusterStatus;
use crate::drift::{ConfigStatus, DriftStatus, NodeStatus};
use crate::engine::Engine;
use crate::error::Result;
use crate::execution::heartbeat::Metrics;
use crate::execution::sync_error::{SyncError, SyncErrorCode};
use crate::hash::ContentHash;
use crate::health::{Health, ProcessHealth, ProcessStatus};
use crate::version::RuntimeVersion;

/// How many nodes run one revision (revision 0: nothing verified, i.e. no
/// heartbeat yet, no snapshot reported, or a hash that did not match).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionCount {
    /// The revision (0: unverified).
    pub revision: u32,
    /// Nodes verified to run it.
    pub nodes: u64,
}

/// Nodes of a cluster whose last heartbeat reported one sync-error code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootCause {
    /// The code.
    pub code: SyncErrorCode,
    /// How many nodes report it.
    pub nodes: u64,
    /// One node that reported it most recently.
    pub example_node: Option<String>,
}

/// A cluster: its authority beside its execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterView {
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
    /// HEALTHY (every node verified, no sync error), SYNCING or DIVERGENT
    /// (cohesion below 50).
    pub status: ClusterStatus,
    /// Percent of enrolled nodes verified, floored: 100 only when all are.
    pub cohesion: u8,
    /// Cohesion in basis points, floored (9950: 99.50 %).
    pub cohesion_bp: u16,
    /// Nodes verified: in sync with the desired snapshot and heard from
    /// within the last 60 minutes.
    pub in_sync: u64,
    /// Nodes enrolled.
    pub total: u64,
    /// The desired snapshot id.
    pub desired_snapshot: Option<String>,
    /// The desired revision (0: nothing published).
    pub desired_revision: u32,
    /// The desired artifact hash.
    pub desired_hash: Option<ContentHash>,
    /// Nodes per verified applied revision (non-zero buckets only).
    pub revisions: Vec<RevisionCount>,
    /// Sync-error codes reported by the cluster's nodes, most frequent first.
    pub root_causes: Vec<RootCause>,
}

/// A node: the article's `GatewayNode` plus health, drift and config status.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeView {
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
    /// What the node reports it applied (`None`: nothing, a snapshot of
    /// another cluster or outside the engine, or a revision of its own
    /// cluster that was never published).
    pub applied_snapshot_id: Option<String>,
    /// The hash the node computed over what it applied.
    pub applied_hash: Option<ContentHash>,
    /// When the node was enrolled (unix ms, kept to the second).
    pub enrolled_at_ms: u64,
    /// The last heartbeat (unix ms): its stamp, or the engine's clock when
    /// it arrived if that was earlier (a node clock running ahead).
    pub last_heartbeat_ms: Option<u64>,
    /// How long ago the last heartbeat was, at the query time (`None`: never).
    pub heartbeat_age_ms: Option<u64>,
    /// Whether the node's last report counts at the query time: in sync and
    /// heard from within the last 60 minutes.
    pub verified: bool,
    /// The last sync error the node reported, or `HASH_MISMATCH` found by the engine.
    pub last_sync_error: Option<SyncError>,
    /// Why the node is not in sync, when it is not.
    pub reconcile_reason: Option<String>,
    /// The node's process status as reported.
    pub process_status: Option<ProcessStatus>,
    /// Runtime metrics of the last heartbeat.
    pub metrics: Metrics,
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

impl Engine {
    /// Cohesion of `cluster` at the engine clock's now: a few counter reads.
    ///
    /// ```
    /// # use fleetgov::*;
    /// # let e = Engine::new();
    /// # e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    /// # e.upsert_cluster(ClusterSpec::new("c", "ws", Environment::Staging)).unwrap();
    /// e.enroll("n1", "c", 0).unwrap();
    /// assert_eq!(e.cohesion("c").unwrap(), 0); // nothing published, nobody verified
    /// ```
    #[inline]
    pub fn cohesion(&self, cluster: &str) -> Result<u8> {
        Ok(self.tally(self.cluster_state(cluster)?, self.clock.now_ms()).cohesion())
    }

    /// The status of `cluster` at the engine clock's now: a few counter reads.
    pub fn cluster_status(&self, cluster: &str) -> Result<ClusterStatus> {
        Ok(self.tally(self.cluster_state(cluster)?, self.clock.now_ms()).status())
    }

    /// The view of `cluster` at `now_ms`: nodes count as verified while
    /// their last heartbeat is at most 60 minutes before `now_ms` (see
    /// [`crate::execution::freshness`]).
    pub fn cluster(&self, cluster: &str, now_ms: u64) -> Result<ClusterView> {
        let state = self.cluster_state(cluster)?;
        let spec = state.authority.spec.read().clone();
        let tally = self.tally(state, now_ms);
        let counts = state.counts();
        let desired = state.authority.snapshot(state.authority.desired());
        let mut root_causes: Vec<RootCause> = counts
            .errors
            .iter()
            .map(|&(code, nodes)| RootCause {
                code,
                nodes,
                example_node: state.counters.error_example(code).map(|s| self.execution.node_id(s).to_owned()),
            })
            .collect();
        root_causes.sort_by(|a, b| b.nodes.cmp(&a.nodes).then(a.code.cmp(&b.code)));
        Ok(ClusterView {
            id: spec.id,
            workspace: spec.workspace,
            environment: spec.environment,
            owner_team: spec.owner_team,
            auto_reconcile: spec.auto_reconcile,
            status: tally.status(),
            cohesion: tally.cohesion(),
            cohesion_bp: tally.cohesion_bp(),
            in_sync: tally.verified,
            total: tally.enrolled,
            desired_snapshot: desired.map(|s| s.id.clone()),
            desired_revision: desired.map_or(0, |s| s.revision),
            desired_hash: desired.map(|s| s.hash),
            revisions: counts.histogram.iter().map(|&(revision, nodes)| RevisionCount { revision, nodes }).collect(),
            root_causes,
        })
    }

    /// Every cluster view, in creation order.
    pub fn clusters(&self, now_ms: u64) -> Vec<ClusterView> {
        self.all_clusters().filter_map(|c| self.cluster(&c.id, now_ms).ok()).collect()
    }
}
