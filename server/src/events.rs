//! Live fleet events for `GET /api/v1/events` (Server-Sent Events).
//!
//! A poller compares cluster views and each node's in-sync bit with the
//! previous poll and publishes the differences: a cluster's status, cohesion,
//! counts or desired revision changed; a node went divergent or back in sync.
//! Node bits are compared on every poll, since one node leaving and another
//! joining the in-sync set leave the cluster's counts unchanged. It polls only
//! while someone listens. When one poll finds more node
//! transitions in a cluster than [`MAX_NODE_EVENTS`] (a new snapshot was
//! published, say), it sends one `nodes` summary instead of a flood.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fleetgov::{ClusterView, ConfigStatus, Engine};
use serde::Serialize;
use tokio::sync::broadcast;

/// The most single-node events one poll sends per cluster.
pub const MAX_NODE_EVENTS: usize = 256;

/// Events buffered per subscriber before it lags.
const CHANNEL_CAPACITY: usize = 4096;

/// Nodes read per engine call while diffing.
const NODE_CHUNK: usize = 4096;

/// One live event. The SSE event name is its `type`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FleetEvent {
    /// A cluster's status, cohesion, counts or desired snapshot changed.
    #[serde(rename_all = "camelCase")]
    Cluster {
        /// The cluster as it is now.
        cluster: Box<ClusterView>,
    },
    /// A node went divergent or back in sync.
    #[serde(rename_all = "camelCase")]
    Node {
        /// Its workspace.
        workspace: String,
        /// Its cluster.
        cluster: String,
        /// The node id.
        node: String,
        /// IN_SYNC or DIVERGENT, now.
        config_status: ConfigStatus,
        /// Why it is not in sync, when it is not.
        reason: Option<String>,
    },
    /// Too many nodes of one cluster changed in one poll to list them.
    #[serde(rename_all = "camelCase")]
    Nodes {
        /// Its workspace.
        workspace: String,
        /// The cluster.
        cluster: String,
        /// Nodes that became divergent.
        became_divergent: u64,
        /// Nodes that came back in sync.
        became_in_sync: u64,
    },
}

impl FleetEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            FleetEvent::Cluster { .. } => "cluster",
            FleetEvent::Node { .. } => "node",
            FleetEvent::Nodes { .. } => "nodes",
        }
    }

    /// The workspace the event belongs to (for token scopes).
    pub fn workspace(&self) -> &str {
        match self {
            FleetEvent::Cluster { cluster } => &cluster.workspace,
            FleetEvent::Node { workspace, .. } | FleetEvent::Nodes { workspace, .. } => workspace,
        }
    }
}

/// The broadcast channel of fleet events.
#[derive(Clone, Debug)]
pub struct EventHub {
    sender: broadcast::Sender<Arc<FleetEvent>>,
}

impl Default for EventHub {
    fn default() -> Self {
        EventHub::new()
    }
}

impl EventHub {
    /// A hub with no subscribers.
    pub fn new() -> Self {
        EventHub { sender: broadcast::channel(CHANNEL_CAPACITY).0 }
    }

    /// A new subscription.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<FleetEvent>> {
        self.sender.subscribe()
    }

    fn has_subscribers(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    fn publish(&self, event: FleetEvent) {
        // An error means nobody listens any more; the next poll notices.
        let _ = self.sender.send(Arc::new(event));
    }
}

/// The state seen at the previous poll.
#[derive(Default)]
struct Baseline {
    clusters: HashMap<String, ClusterView>,
    in_sync: HashMap<String, Vec<bool>>,
}

/// Whether two views of a cluster differ in what a live page shows.
fn cluster_changed(old: &ClusterView, new: &ClusterView) -> bool {
    (old.status, old.cohesion, old.in_sync, old.total, old.desired_revision)
        != (new.status, new.cohesion, new.in_sync, new.total, new.desired_revision)
        || old.root_causes != new.root_causes
}

impl Baseline {
    /// Compares the engine with the baseline, publishes the differences and
    /// becomes the new baseline. The first poll only records.
    fn poll(&mut self, engine: &Engine, hub: &EventHub, first: bool) {
        let now = engine.clock().now_ms();
        for view in engine.clusters(now) {
            self.diff_nodes(engine, &view, now, hub, first);
            if self.clusters.get(&view.id).is_none_or(|old| cluster_changed(old, &view)) {
                if !first {
                    hub.publish(FleetEvent::Cluster { cluster: Box::new(view.clone()) });
                }
                self.clusters.insert(view.id.clone(), view);
            }
        }
    }

    fn diff_nodes(&mut self, engine: &Engine, view: &ClusterView, now: u64, hub: &EventHub, first: bool) {
        let bits = self.in_sync.entry(view.id.clone()).or_default();
        let mut events = Vec::new();
        let (mut divergent, mut in_sync) = (0u64, 0u64);
        let mut offset = 0;
        loop {
            let Ok(chunk) = engine.cluster_nodes(&view.id, now, offset, NODE_CHUNK) else { return };
            for (i, node) in chunk.iter().enumerate() {
                let now_in_sync = node.config_status == ConfigStatus::InSync;
                let index = offset + i;
                if index >= bits.len() {
                    bits.push(now_in_sync);
                    continue;
                }
                if bits[index] == now_in_sync {
                    continue;
                }
                bits[index] = now_in_sync;
                if now_in_sync {
                    in_sync += 1
                } else {
                    divergent += 1
                }
                if !first && events.len() <= MAX_NODE_EVENTS {
                    events.push(FleetEvent::Node {
                        workspace: view.workspace.clone(),
                        cluster: view.id.clone(),
                        node: node.id.clone(),
                        config_status: node.config_status,
                        reason: node.reconcile_reason.clone(),
                    });
                }
            }
            if chunk.len() < NODE_CHUNK {
                break;
            }
            offset += NODE_CHUNK;
        }
        if first {
            return;
        }
        if events.len() > MAX_NODE_EVENTS {
            hub.publish(FleetEvent::Nodes {
                workspace: view.workspace.clone(),
                cluster: view.id.clone(),
                became_divergent: divergent,
                became_in_sync: in_sync,
            });
        } else {
            events.into_iter().for_each(|e| hub.publish(e));
        }
    }
}

/// Runs the poller until the runtime shuts down: every `every`, while anyone
/// subscribes, diff the engine against the last poll (on a blocking thread).
pub async fn run_poller(engine: Arc<Engine>, hub: EventHub, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut baseline: Option<Baseline> = None;
    loop {
        ticker.tick().await;
        if !hub.has_subscribers() {
            baseline = None;
            continue;
        }
        let (engine, hub2) = (engine.clone(), hub.clone());
        let mut current = baseline.take();
        let polled = tokio::task::spawn_blocking(move || {
            let first = current.is_none();
            let b = current.get_or_insert_with(Baseline::default);
            b.poll(&engine, &hub2, first);
            current
        })
        .await;
        baseline = polled.ok().flatten();
    }
}
