//! Live fleet events for `GET /api/v1/events` (Server-Sent Events), driven
//! by the engine's change feed.
//!
//! While anyone listens, a forwarder thread reads the engine's change feed
//! ([`Engine::subscribe`]) and, once per flush period, publishes what
//! changed: each node transition (a node went divergent or back in sync, or
//! changed what it runs or its sync error), the view of each cluster whose
//! counters or authority changed (coalesced: one view per cluster per
//! period), each audit record, and a cluster's rollout after each change of
//! it (a publish with a plan, a `rollout` audit record, or, while it is not
//! over, its counters moving; coalesced like the cluster's view). Nothing is
//! polled but the few rollouts under way, for what no feed event announces
//! (a bake beginning; see `SentRollouts`): a cluster that did not
//! change costs nothing. When one period holds more node transitions of a
//! cluster than [`MAX_NODE_EVENTS`], it sends one `nodes` summary instead of
//! a flood; when the forwarder itself fell behind the engine's feed, it sends
//! `lagged` and every cluster's view, and clients reload what they show.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fleetgov::audit::AuditAction;
use fleetgov::{Change, ClusterView, ConfigStatus, Engine, FeedItem, Subscription};
use fleetgov_dto::{ClusterJson, RolloutJson};
use serde::Serialize;
use tokio::sync::broadcast;

/// The most single-node events one period sends per cluster.
pub const MAX_NODE_EVENTS: usize = 256;

/// Events buffered per SSE client before it lags.
const CHANNEL_CAPACITY: usize = 4096;

/// One live event. The SSE event name is its `type`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum FleetEvent {
    /// A cluster's status, cohesion, counts or desired snapshot changed.
    #[serde(rename_all = "camelCase")]
    Cluster {
        /// The cluster as it is now.
        cluster: Box<ClusterJson>,
    },
    /// A node went divergent or back in sync, or changed what it runs.
    #[serde(rename_all = "camelCase")]
    Node {
        /// Its workspace.
        workspace: String,
        /// Its cluster.
        cluster: String,
        /// The node id.
        node: String,
        /// IN_SYNC or DIVERGENT, as of its last report.
        config_status: ConfigStatus,
        /// Why it is not in sync, when it is not.
        reason: Option<String>,
        /// The change-feed sequence number of the transition.
        seq: u64,
    },
    /// Too many nodes of one cluster changed in one period to list them.
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
    /// A record was added to the audit log.
    #[serde(rename_all = "camelCase")]
    Audit {
        /// The workspace its target lies in; `None` for fleet-wide records
        /// (sent only to tokens that see every workspace).
        workspace: Option<String>,
        /// The record's audit sequence number.
        audit_seq: u64,
        /// Who.
        actor: String,
        /// What (`publish`, `force_sync_node`, `auto_reconcile`, ...).
        action: String,
        /// On what.
        target: String,
        /// When (unix ms).
        at_ms: u64,
    },
    /// A cluster's rollout changed: a publish with a plan, a wave started,
    /// it halted, rolled back or completed, an operator acted on it, or its
    /// nodes moved. The event's data is the rollout alone ([`RolloutJson`]).
    #[serde(rename_all = "camelCase")]
    Rollout {
        /// The cluster's workspace.
        workspace: String,
        /// The rollout as it is now.
        rollout: Box<RolloutJson>,
    },
    /// The server fell behind the engine's change feed and missed events:
    /// reload the views.
    #[serde(rename_all = "camelCase")]
    Lagged {
        /// How many feed events were missed.
        missed: u64,
    },
}

impl FleetEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            FleetEvent::Cluster { .. } => "cluster",
            FleetEvent::Node { .. } => "node",
            FleetEvent::Nodes { .. } => "nodes",
            FleetEvent::Audit { .. } => "audit",
            FleetEvent::Rollout { .. } => "rollout",
            FleetEvent::Lagged { .. } => "lagged",
        }
    }

    /// The SSE data: the event as JSON, its `type` included; for `rollout`
    /// the [`RolloutJson`] alone.
    ///
    /// ```
    /// use fleetgov_server::events::FleetEvent;
    /// let lagged = FleetEvent::Lagged { missed: 3 };
    /// assert_eq!(lagged.data(), r#"{"type":"lagged","missed":3}"#);
    /// ```
    pub fn data(&self) -> String {
        let json = match self {
            FleetEvent::Rollout { rollout, .. } => serde_json::to_string(rollout),
            other => serde_json::to_string(other),
        };
        // Serialising these plain documents cannot fail.
        json.unwrap_or_default()
    }

    /// The workspace the event belongs to (for token scopes); `None` for
    /// events about no single workspace.
    pub fn workspace(&self) -> Option<&str> {
        match self {
            FleetEvent::Cluster { cluster } => Some(&cluster.workspace),
            FleetEvent::Rollout { workspace, .. } => Some(workspace),
            FleetEvent::Node { workspace, .. } | FleetEvent::Nodes { workspace, .. } => Some(workspace),
            FleetEvent::Audit { workspace, .. } => workspace.as_deref(),
            FleetEvent::Lagged { .. } => None,
        }
    }

    /// Whether a token of `scope` may receive the event: events of its
    /// workspaces; fleet-wide audit records only for every-workspace tokens;
    /// `lagged` for everyone.
    pub fn visible_to(&self, scope: &crate::auth::Scope) -> bool {
        match (self, self.workspace()) {
            (FleetEvent::Lagged { .. }, _) => true,
            (_, Some(workspace)) => scope.allows(workspace),
            (_, None) => *scope == crate::auth::Scope::All,
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
        // An error means nobody listens any more; the forwarder notices.
        let _ = self.sender.send(Arc::new(event));
    }
}

/// What one flush period gathered from the feed.
#[derive(Default)]
struct Period {
    /// Node transitions by cluster: (node, sequence number), in feed order.
    nodes: BTreeMap<Arc<str>, Vec<(String, u64)>>,
    /// Clusters whose counters or authority changed.
    clusters: BTreeSet<Arc<str>>,
    audits: Vec<fleetgov::AuditChange>,
    lagged: u64,
}

impl Period {
    fn take(&mut self, item: FeedItem) {
        let event = match item {
            FeedItem::Change(event) => event,
            FeedItem::Lagged { missed } => {
                self.lagged += missed;
                return;
            }
        };
        match &event.change {
            Change::Node(node) => {
                self.nodes.entry(Arc::clone(&node.cluster)).or_default().push((node.node.clone(), event.seq));
            }
            Change::Cluster(cluster) => {
                self.clusters.insert(Arc::clone(&cluster.cluster));
            }
            Change::Audit(audit) => self.audits.push(audit.clone()),
            // Kinds added later are not sent until the stream knows them.
            _ => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.clusters.is_empty() && self.audits.is_empty() && self.lagged == 0
    }

    /// Publishes the period's events: audit records, then node transitions,
    /// then the views of the clusters that changed.
    fn publish(self, engine: &Engine, hub: &EventHub, sent: &mut SentRollouts) {
        let now = engine.clock().now_ms();
        let mut rollouts = BTreeSet::new();
        for audit in &self.audits {
            if let Some(cluster) = rollout_changed(engine, audit, now) {
                rollouts.insert(cluster);
            }
        }
        for audit in self.audits {
            hub.publish(FleetEvent::Audit {
                workspace: engine.target_workspace(&audit.target),
                audit_seq: audit.audit_seq,
                actor: audit.actor,
                action: audit.action.as_str().to_owned(),
                target: audit.target,
                at_ms: audit.at_ms,
            });
        }
        let mut clusters = self.clusters;
        if self.lagged > 0 {
            hub.publish(FleetEvent::Lagged { missed: self.lagged });
            clusters.extend(engine.cluster_ids().into_iter().map(Arc::from));
        }
        for cluster in &rollouts {
            sent.publish(engine, hub, cluster, now, When::Always);
        }
        // Counters moved: the nodes of a rollout that is not over moved with them.
        for cluster in clusters.iter().filter(|c| !rollouts.contains(&***c)) {
            sent.publish(engine, hub, cluster, now, When::NotOver);
        }
        for (cluster, nodes) in self.nodes {
            let Ok(view) = engine.cluster(&cluster, now) else { continue };
            publish_nodes(engine, hub, &view, &nodes, now);
        }
        for cluster in clusters {
            if let Ok(view) = engine.cluster(&cluster, now) {
                hub.publish(FleetEvent::Cluster { cluster: Box::new((&view).into()) });
            }
        }
    }
}

/// The cluster whose rollout `audit` changed: a `rollout` record's, or a
/// publish's that started a rollout (its snapshot is the rollout's target).
fn rollout_changed(engine: &Engine, audit: &fleetgov::AuditChange, now: u64) -> Option<String> {
    match audit.action {
        AuditAction::Rollout => audit.target.strip_prefix("cluster:").map(str::to_owned),
        AuditAction::Publish => {
            let (cluster, _) = fleetgov::parse_snapshot_id(&audit.target)?;
            let rollout = engine.rollout(cluster, now).ok()??;
            (rollout.target_snapshot == audit.target).then(|| cluster.to_owned())
        }
        _ => None,
    }
}

/// When a rollout event is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum When {
    /// Always (a recorded change of the rollout).
    Always,
    /// While the rollout is not over (its cluster's counters moved).
    NotOver,
    /// When its state, wave or the start of its state differ from those
    /// last sent (a change no feed event announces).
    Changed,
}

/// The rollouts not over, each with the state, wave and start of state
/// last sent for it. A bake that begins, or a wave that stops being
/// converged, is no audit record and may come with no counter change of its
/// own (a bake begun on the timer, or just after the heartbeat that
/// converged the wave was forwarded): each period looks at these few
/// rollouts again and sends those that moved, and forgets a rollout once an
/// event said it is over.
#[derive(Debug, Default)]
struct SentRollouts {
    sent: BTreeMap<String, (&'static str, usize, u64)>,
}

impl SentRollouts {
    /// Sends the `rollout` event of `cluster` as `when` says.
    fn publish(&mut self, engine: &Engine, hub: &EventHub, cluster: &str, now: u64, when: When) {
        let Ok(Some(view)) = engine.rollout(cluster, now) else {
            self.sent.remove(cluster);
            return;
        };
        let rollout = RolloutJson::from(&view);
        let key = (rollout.state, rollout.wave, rollout.since_ms);
        let over = matches!(rollout.state, "rolled_back" | "aborted" | "complete");
        let send = match when {
            When::Always => true,
            When::NotOver => !over,
            When::Changed => self.sent.get(cluster) != Some(&key),
        };
        if !send {
            return;
        }
        let Ok(workspace) = engine.cluster(cluster, now).map(|c| c.workspace) else { return };
        hub.publish(FleetEvent::Rollout { workspace, rollout: Box::new(rollout) });
        match over {
            true => self.sent.remove(cluster),
            false => self.sent.insert(cluster.to_owned(), key),
        };
    }

    /// Sends the rollouts not over whose state moved since they were last sent.
    fn recheck(&mut self, engine: &Engine, hub: &EventHub) {
        if self.sent.is_empty() {
            return;
        }
        let now = engine.clock().now_ms();
        let clusters: Vec<String> = self.sent.keys().cloned().collect();
        for cluster in clusters {
            self.publish(engine, hub, &cluster, now, When::Changed);
        }
    }
}

/// One `node` event per transition of `cluster`'s nodes, or one `nodes`
/// summary when there are too many.
fn publish_nodes(engine: &Engine, hub: &EventHub, cluster: &ClusterView, nodes: &[(String, u64)], now: u64) {
    let views = nodes.iter().filter_map(|(node, seq)| Some((engine.node(node, now).ok()?, *seq)));
    if nodes.len() <= MAX_NODE_EVENTS {
        for (view, seq) in views {
            hub.publish(FleetEvent::Node {
                workspace: cluster.workspace.clone(),
                cluster: cluster.id.clone(),
                node: view.id,
                config_status: view.config_status,
                reason: view.reconcile_reason,
                seq,
            });
        }
        return;
    }
    // Many transitions: count where each node ended up.
    let ended: BTreeMap<String, bool> =
        views.map(|(view, _)| (view.id, view.config_status == ConfigStatus::InSync)).collect();
    let became_in_sync = ended.values().filter(|&&in_sync| in_sync).count() as u64;
    hub.publish(FleetEvent::Nodes {
        workspace: cluster.workspace.clone(),
        cluster: cluster.id.clone(),
        became_divergent: ended.len() as u64 - became_in_sync,
        became_in_sync,
    });
}

/// Forwards the engine's change feed to `hub` until `stop` is set: while
/// anyone listens, gathers the feed for one `period` at a time and publishes
/// it; while nobody does, holds no subscription (the engine records nothing
/// for it) and checks again every `period`. Runs on a thread of its own.
pub fn forward(engine: &Engine, hub: &EventHub, period: Duration, stop: &AtomicBool) {
    let mut subscription: Option<Subscription> = None;
    let mut rollouts = SentRollouts::default();
    // Relaxed: a stop flag; the thread sees it within a period.
    while !stop.load(Ordering::Relaxed) {
        if !hub.has_subscribers() {
            subscription = None;
            std::thread::sleep(period);
            continue;
        }
        let feed = match &mut subscription {
            Some(feed) => feed,
            None => match engine.subscribe(None) {
                Ok(feed) => subscription.insert(feed),
                Err(_) => continue,
            },
        };
        let mut gathered = Period::default();
        let end = Instant::now() + period;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match feed.next_timeout(left) {
                Some(item) => gathered.take(item),
                None => break,
            }
            if left.is_zero() {
                break;
            }
        }
        if !gathered.is_empty() {
            gathered.publish(engine, hub, &mut rollouts);
        }
        rollouts.recheck(engine, hub);
    }
}
