//! A node's view: what its slot says, read against its cluster's authority.

use crate::authority::snapshot::snapshot_id;
use crate::cluster_state::{ClusterState, NodeDesired};
use crate::drift::{ConfigStatus, DriftStatus, NodeStatus};
use crate::engine::Engine;
use crate::error::Result;
use crate::execution::heartbeat::Metrics;
use crate::execution::slot::SlotRead;
use crate::execution::sync_error::SyncError;
use crate::hash::ContentHash;
use crate::health::{Health, ProcessHealth};
use crate::version::RuntimeVersion;
use crate::view::NodeView;

/// The rule results of one node at a query time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NodeFacts {
    pub(in crate::execution) read: SlotRead,
    pub(in crate::execution) in_sync: bool,
    pub(in crate::execution) version: Option<RuntimeVersion>,
    pub(crate) health: Health,
    pub(crate) drift: DriftStatus,
}

const EMPTY_READ: SlotRead = SlotRead {
    state: crate::execution::slot::NodeState::EMPTY,
    last_hb_ms: 0,
    odd_hash: 0,
    last_transition: 0,
    metrics: Metrics { cpu: 0.0, memory: 0.0, tps: 0.0, heap: 0.0, hot_swap_errors: 0 },
    heap_prev: 0.0,
    version: 0,
};

impl Engine {
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
            .counters
            .with_members(|m| m.iter().skip(offset).take(limit).map(|&slot| self.node_view(slot, now_ms)).collect()))
    }

    /// What a node's status rules derive from its slot at `now_ms`, without
    /// allocating (the summary path uses only this).
    pub(crate) fn node_facts(
        &self,
        slot: u32,
        desired: &NodeDesired<'_>,
        min_version: Option<RuntimeVersion>,
        now_ms: u64,
    ) -> NodeFacts {
        let cell = self.execution.nodes.slot(slot);
        let read = cell.map_or(EMPTY_READ, |s| s.read());
        let desired = desired.snapshot(cell.map_or(0, |s| s.bucket()));
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
            return cluster.authority.snapshot(read.state.revision()).map(|s| s.hash);
        }
        self.execution.journal.odd_hash(crate::execution::journal::HashRef::from_bits(read.odd_hash))
    }

    pub(crate) fn node_view(&self, slot: u32, now_ms: u64) -> NodeView {
        let cluster = self.cluster_at(self.execution.nodes.slot(slot).map_or(0, |s| s.cluster()));
        let plan = cluster.node_desired();
        let facts = self.node_facts(slot, &plan, self.min_version(cluster), now_ms);
        let desired = plan.snapshot(self.execution.nodes.slot(slot).map_or(0, |s| s.bucket()));
        let NodeFacts { read, in_sync, version, health, drift } = facts;
        let state = read.state;
        let has_hb = state.has_heartbeat();
        let applied_hash = self.applied_hash(&read, cluster);
        let last_sync_error = state.error_code().map(|code| {
            self.execution.sync_errors.get(slot).unwrap_or_else(|| {
                let expected =
                    cluster.authority.snapshot(state.revision()).map_or_else(String::new, |s| s.hash.to_string());
                let computed = match (applied_hash, crate::execution::journal::HashRef::from_bits(read.odd_hash)) {
                    (Some(h), _) => h.to_string(),
                    (None, crate::execution::journal::HashRef::Withheld) => format!(
                        "a hash not kept (over {} new unmatched hashes this hour)",
                        crate::execution::unmatched::MAX_NEW_PER_HOUR
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
            id: self.execution.nodes.id(slot).to_owned(),
            cluster_id: cluster.id.to_string(),
            status: NodeStatus::of(state.status(), in_sync),
            desired_snapshot_id: desired.map(|d| d.id.clone()),
            desired_hash: desired.map(|d| d.hash),
            applied_snapshot_id: (state.revision() != 0).then(|| snapshot_id(&cluster.id, state.revision())),
            applied_hash,
            enrolled_at_ms: self.execution.nodes.enrolled_at(slot),
            last_heartbeat_ms: has_hb.then_some(read.last_hb_ms),
            heartbeat_age_ms: has_hb.then(|| now_ms.saturating_sub(read.last_hb_ms)),
            verified: in_sync && crate::execution::freshness::is_fresh(read.last_hb_ms, now_ms),
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
