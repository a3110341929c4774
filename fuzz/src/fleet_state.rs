//! What a refused input must leave unchanged: every cluster's view, every
//! node's view and the audit log's length, read at one time.

use fleetgov::{ClusterView, Engine, NodeView};

/// The engine's observable state at one time.
#[derive(Debug, PartialEq)]
pub(crate) struct FleetState {
    pub(crate) clusters: Vec<ClusterView>,
    pub(crate) nodes: Vec<NodeView>,
    pub(crate) audit_len: u64,
}

impl FleetState {
    /// The state of `engine` at `now_ms`, clusters and nodes in id order.
    pub(crate) fn of(engine: &Engine, now_ms: u64) -> FleetState {
        let mut clusters = engine.clusters(now_ms);
        clusters.sort_by(|a, b| a.id.cmp(&b.id));
        let mut nodes: Vec<NodeView> = clusters
            .iter()
            .flat_map(|c| engine.cluster_nodes(&c.id, now_ms, 0, usize::MAX).expect("a listed cluster has nodes"))
            .collect();
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        FleetState { clusters, nodes, audit_len: engine.audit_len() }
    }

    /// Panics unless the engine still reads as `self` at `now_ms`, naming `what` changed it.
    pub(crate) fn assert_unchanged(&self, engine: &Engine, now_ms: u64, what: &str) {
        let after = FleetState::of(engine, now_ms);
        assert_eq!(self.audit_len, after.audit_len, "{what} appended to the audit log");
        assert_eq!(self.clusters, after.clusters, "{what} changed a cluster");
        assert_eq!(self.nodes, after.nodes, "{what} changed a node");
    }
}

/// Panics if the engine's counters differ from a recount of its slots.
pub(crate) fn assert_counters_exact(engine: &Engine, now_ms: u64) {
    let mismatches = engine.recount_mismatches_at(now_ms);
    assert!(mismatches.is_empty(), "counters differ from a recount: {mismatches:?}");
}
