//! Read-only views of clusters and nodes, as the dashboard and bindings show them.

use crate::cluster_spec::Environment;
use crate::cluster_state::ClusterState;
use crate::cohesion::ClusterStatus;
use crate::drift::{ConfigStatus, DriftStatus, NodeStatus};
use crate::engine::Engine;
use crate::error::Result;
use crate::hash::ContentHash;
use crate::health::{Health, ProcessHealth, ProcessStatus};
use crate::heartbeat::Metrics;
use crate::slot::SlotRead;
use crate::snapshot::Snapshot;
use crate::snapshot::snapshot_id;
use crate::sync_error::{SyncError, SyncErrorCode};
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

/// The rule results of one node at a query time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NodeFacts {
    pub(crate) read: SlotRead,
    pub(crate) in_sync: bool,
    pub(crate) version: Option<RuntimeVersion>,
    pub(crate) health: Health,
    pub(crate) drift: DriftStatus,
}

const EMPTY_READ: SlotRead = SlotRead {
    state: crate::slot::NodeState::EMPTY,
    last_hb_ms: 0,
    odd_hash: 0,
    last_transition: 0,
    metrics: Metrics { cpu: 0.0, memory: 0.0, tps: 0.0, heap: 0.0, hot_swap_errors: 0 },
    heap_prev: 0.0,
    version: 0,
};

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
    /// [`crate::freshness`]).
    pub fn cluster(&self, cluster: &str, now_ms: u64) -> Result<ClusterView> {
        let state = self.cluster_state(cluster)?;
        let spec = state.spec.read().clone();
        let tally = self.tally(state, now_ms);
        let counts = state.counts();
        let desired = state.snapshot(state.desired());
        let mut root_causes: Vec<RootCause> = counts
            .errors
            .iter()
            .map(|&(code, nodes)| RootCause {
                code,
                nodes,
                example_node: state.error_example(code).map(|s| self.nodes.id(s).to_owned()),
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

    /// The view of node `node` at `now_ms`.
    pub fn node(&self, node: &str, now_ms: u64) -> Result<NodeView> {
        let slot = self.node_handle(node).and_then(|h| self.slot_of(h))?;
        Ok(self.node_view(slot, now_ms))
    }

    /// The views of the nodes of `cluster`, in enrolment order, from `offset`,
    /// at most `limit`.
    pub fn cluster_nodes(&self, cluster: &str, now_ms: u64, offset: usize, limit: usize) -> Result<Vec<NodeView>> {
        let state = self.cluster_state(cluster)?;
        Ok(state
            .with_members(|m| m.iter().skip(offset).take(limit).map(|&slot| self.node_view(slot, now_ms)).collect()))
    }

    /// What a node's status rules derive from its slot at `now_ms`, without
    /// allocating (the summary path uses only this).
    pub(crate) fn node_facts(
        &self,
        slot: u32,
        desired: Option<&Snapshot>,
        min_version: Option<RuntimeVersion>,
        now_ms: u64,
    ) -> NodeFacts {
        let read = self.nodes.slot(slot).map_or(EMPTY_READ, |s| s.read());
        let has_hb = read.state.has_heartbeat();
        let in_sync = desired.is_some_and(|d| read.state.bucket() == d.revision);
        let version = RuntimeVersion::from_bits(read.version).ok().filter(|_| has_hb);
        let below_min = matches!((version, min_version), (Some(v), Some(m)) if v < m);
        NodeFacts {
            read,
            in_sync,
            version,
            health: Health::at(has_hb.then_some(read.last_hb_ms), now_ms),
            drift: DriftStatus::of(has_hb, below_min, in_sync),
        }
    }

    /// The hash a node reported it applied: its snapshot's when verified,
    /// else the odd hash it reported, if any.
    pub(crate) fn applied_hash(&self, read: &SlotRead, cluster: &ClusterState) -> Option<ContentHash> {
        if read.state.bucket() != 0 {
            return cluster.snapshot(read.state.revision()).map(|s| s.hash);
        }
        self.journal.odd_hash(crate::journal::HashRef::from_bits(read.odd_hash))
    }

    /// The minimum runtime version of a cluster's workspace.
    pub(crate) fn min_version(&self, cluster: &ClusterState) -> Option<RuntimeVersion> {
        self.workspaces.read().get(&*cluster.workspace).map(|w| w.min_runtime_version)
    }

    pub(crate) fn node_view(&self, slot: u32, now_ms: u64) -> NodeView {
        let cluster = self.cluster_at(self.nodes.slot(slot).map_or(0, |s| s.cluster()));
        let desired = cluster.snapshot(cluster.desired());
        let facts = self.node_facts(slot, desired, self.min_version(cluster), now_ms);
        let NodeFacts { read, in_sync, version, health, drift } = facts;
        let state = read.state;
        let has_hb = state.has_heartbeat();
        let applied_hash = self.applied_hash(&read, cluster);
        let last_sync_error = state.error_code().map(|code| {
            self.sync_errors.get(slot).unwrap_or_else(|| {
                let expected = cluster.snapshot(state.revision()).map_or_else(String::new, |s| s.hash.to_string());
                let computed = match (applied_hash, crate::journal::HashRef::from_bits(read.odd_hash)) {
                    (Some(h), _) => h.to_string(),
                    (None, crate::journal::HashRef::Withheld) => format!(
                        "a hash not kept (over {} new unmatched hashes this hour)",
                        crate::unmatched::MAX_NEW_PER_HOUR
                    ),
                    (None, _) => String::new(),
                };
                SyncError::new(code, format!("node computed {computed}, authority hash is {expected}"))
            })
        });
        let reconcile_reason = match (has_hb, desired, in_sync) {
            (_, None, _) => Some("no snapshot published".to_owned()),
            (false, Some(_), _) => Some("no heartbeat yet".to_owned()),
            (true, Some(_), true) => None,
            (true, Some(d), false) => Some(match &last_sync_error {
                Some(e) => e.to_string(),
                None if state.revision() == 0 => format!("runs no snapshot of this cluster; authority is {}", d.id),
                None => format!("runs {} while authority is {}", snapshot_id(&cluster.id, state.revision()), d.id),
            }),
        };
        NodeView {
            id: self.nodes.id(slot).to_owned(),
            cluster_id: cluster.id.to_string(),
            status: NodeStatus::of(state.status(), in_sync),
            desired_snapshot_id: desired.map(|d| d.id.clone()),
            desired_hash: desired.map(|d| d.hash),
            applied_snapshot_id: (state.revision() != 0).then(|| snapshot_id(&cluster.id, state.revision())),
            applied_hash,
            enrolled_at_ms: self.nodes.enrolled_at(slot),
            last_heartbeat_ms: has_hb.then_some(read.last_hb_ms),
            heartbeat_age_ms: has_hb.then(|| now_ms.saturating_sub(read.last_hb_ms)),
            verified: in_sync && crate::freshness::is_fresh(read.last_hb_ms, now_ms),
            process_health: ProcessHealth::of(health, state.status(), last_sync_error.is_some()),
            last_sync_error,
            reconcile_reason,
            process_status: state.status(),
            metrics: read.metrics,
            heap_trend: if has_hb { read.metrics.heap - read.heap_prev } else { 0.0 },
            runtime_version: version,
            health,
            config_status: if in_sync { ConfigStatus::InSync } else { ConfigStatus::Divergent },
            drift,
        }
    }
}
