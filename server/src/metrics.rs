//! `GET /metrics`: Prometheus text exposition through `prometheus-client`.
//!
//! Fleet figures (cohesion in percent and basis points, verified, in-sync
//! and enrolled counts, root causes per cluster; nodes by health and by
//! drift per workspace) are read from the engine at scrape time by a
//! collector; ingest figures are counters the ingest paths increment.
//!
//! A node is *verified* when its last report is in sync and was sent at
//! most 60 minutes ago; *in sync* counts the nodes whose last report is in
//! sync, however old. The difference is the nodes whose report no longer
//! counts (silent for over an hour): the matrix marks them too.

use std::fmt;
use std::sync::Arc;

use fleetgov::{ClusterView, Engine, Health};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// Where heartbeats came from.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// `simulation`, `json` or `binary`.
    pub source: &'static str,
}

/// Why heartbeats were rejected.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    /// The error code, e.g. `STALE_HEARTBEAT`.
    pub code: &'static str,
}

/// The server's metrics registry.
///
/// ```
/// use std::sync::Arc;
/// let engine = Arc::new(fleetgov::demo::engine(1_700_000_000_000).unwrap());
/// let m = fleetgov_server::metrics::Metrics::new(engine);
/// m.accepted("json", 3);
/// let text = m.render();
/// assert!(text.contains("fleetgov_heartbeats_total{source=\"json\"} 3"));
/// assert!(text.contains("fleetgov_cluster_cohesion_percent{workspace=\"acme-edge\",cluster=\"gke-stage-eu\"} 75"));
/// assert!(text.contains("fleetgov_cluster_cohesion_basis_points{workspace=\"acme-edge\",cluster=\"azure-dev-west\"} 3333"));
/// assert!(text.contains("fleetgov_cluster_nodes_verified{workspace=\"acme-edge\",cluster=\"gke-stage-eu\"} 3"));
/// ```
pub struct Metrics {
    registry: Registry,
    heartbeats: Family<SourceLabels, Counter>,
    rejected: Family<RejectLabels, Counter>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A registry over `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        let mut registry = Registry::default();
        let heartbeats = Family::<SourceLabels, Counter>::default();
        let rejected = Family::<RejectLabels, Counter>::default();
        registry.register("fleetgov_heartbeats", "Heartbeats applied, by source", heartbeats.clone());
        registry.register("fleetgov_heartbeats_rejected", "Heartbeats rejected, by error code", rejected.clone());
        registry.register_collector(Box::new(FleetCollector { engine }));
        Metrics { registry, heartbeats, rejected }
    }

    /// Counts `n` applied heartbeats from `source`.
    pub fn accepted(&self, source: &'static str, n: u64) {
        if n > 0 {
            self.heartbeats.get_or_create(&SourceLabels { source }).inc_by(n);
        }
    }

    /// Counts one rejected heartbeat.
    pub fn rejected(&self, code: &'static str) {
        self.rejected.get_or_create(&RejectLabels { code }).inc();
    }

    /// Counts binary records refused by a state rule (stale, future, unknown node).
    pub fn refused_records(&self, n: u64) {
        self.rejected.get_or_create(&RejectLabels { code: "REFUSED_RECORD" }).inc_by(n);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail; an encoder error would be a bug
        // in a label value, and the partial text is still served.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClusterLabels {
    workspace: String,
    cluster: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    workspace: String,
    cluster: String,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HealthLabels {
    workspace: String,
    health: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DriftLabels {
    workspace: String,
    drift: &'static str,
}

/// Reads fleet figures from the engine on each scrape.
struct FleetCollector {
    engine: Arc<Engine>,
}

impl fmt::Debug for FleetCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FleetCollector").finish_non_exhaustive()
    }
}

fn gauge_family<L>(encoder: &mut DescriptorEncoder, name: &str, help: &str, family: &Family<L, Gauge>) -> fmt::Result
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + fmt::Debug,
{
    family.encode(encoder.encode_descriptor(name, help, None, family.metric_type())?)
}

impl Collector for FleetCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let now = self.engine.clock().now_ms();
        let cohesion = Family::<ClusterLabels, Gauge>::default();
        let cohesion_bp = Family::<ClusterLabels, Gauge>::default();
        let verified = Family::<ClusterLabels, Gauge>::default();
        let in_sync = Family::<ClusterLabels, Gauge>::default();
        let enrolled = Family::<ClusterLabels, Gauge>::default();
        let desired = Family::<ClusterLabels, Gauge>::default();
        let causes = Family::<CauseLabels, Gauge>::default();
        for c in self.engine.clusters(now) {
            let labels = ClusterLabels { workspace: c.workspace.clone(), cluster: c.id.clone() };
            cohesion.get_or_create(&labels).set(i64::from(c.cohesion));
            cohesion_bp.get_or_create(&labels).set(i64::from(c.cohesion_bp));
            verified.get_or_create(&labels).set(gauge(c.in_sync));
            in_sync.get_or_create(&labels).set(gauge(reported_in_sync(&c)));
            enrolled.get_or_create(&labels).set(gauge(c.total));
            desired.get_or_create(&labels).set(i64::from(c.desired_revision));
            for r in &c.root_causes {
                let labels =
                    CauseLabels { workspace: c.workspace.clone(), cluster: c.id.clone(), code: r.code.as_str() };
                causes.get_or_create(&labels).set(gauge(r.nodes));
            }
        }
        let health = Family::<HealthLabels, Gauge>::default();
        let drift = Family::<DriftLabels, Gauge>::default();
        for ws in self.engine.workspaces() {
            let Ok(s) = self.engine.fleet_summary(&ws.id, now) else { continue };
            for (h, n) in [
                (Health::Connected, s.active),
                (Health::Stale, s.stale),
                (Health::Dormant, s.dormant),
                (Health::Never, s.never),
            ] {
                health.get_or_create(&HealthLabels { workspace: ws.id.clone(), health: h.as_str() }).set(gauge(n));
            }
            for (d, n) in [
                ("aligned", s.aligned),
                ("needs_reconcile", s.needs_reconcile),
                ("upgrade_required", s.upgrade_required),
                ("awaiting_sync", s.awaiting_sync),
            ] {
                drift.get_or_create(&DriftLabels { workspace: ws.id.clone(), drift: d }).set(gauge(n));
            }
        }
        gauge_family(
            &mut encoder,
            "fleetgov_cluster_cohesion_percent",
            "Percent of enrolled nodes verified, floored: 100 only when every node is",
            &cohesion,
        )?;
        gauge_family(
            &mut encoder,
            "fleetgov_cluster_cohesion_basis_points",
            "Cohesion in basis points, floored (9950 is 99.50 percent)",
            &cohesion_bp,
        )?;
        gauge_family(
            &mut encoder,
            "fleetgov_cluster_nodes_verified",
            "Nodes whose last report runs the desired snapshot and was sent within 60 minutes",
            &verified,
        )?;
        gauge_family(
            &mut encoder,
            "fleetgov_cluster_nodes_in_sync",
            "Nodes whose last report runs the desired snapshot, however old the report",
            &in_sync,
        )?;
        gauge_family(&mut encoder, "fleetgov_cluster_nodes_enrolled", "Nodes enrolled in the cluster", &enrolled)?;
        gauge_family(&mut encoder, "fleetgov_cluster_desired_revision", "Revision of the desired snapshot", &desired)?;
        gauge_family(
            &mut encoder,
            "fleetgov_cluster_root_cause_nodes",
            "Nodes reporting each sync-error code",
            &causes,
        )?;
        gauge_family(&mut encoder, "fleetgov_nodes_by_health", "Runtimes by heartbeat freshness", &health)?;
        gauge_family(&mut encoder, "fleetgov_nodes_by_drift", "Runtimes by drift status", &drift)
    }
}

/// Nodes whose last report runs the desired snapshot, fresh or not: the
/// desired revision's bucket of the cluster's revision histogram.
fn reported_in_sync(c: &ClusterView) -> u64 {
    let desired = c.revisions.iter().find(|r| c.desired_revision != 0 && r.revision == c.desired_revision);
    desired.map_or(0, |r| r.nodes)
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
