//! The seeds' three demo clusters, as a built-in dataset.
//!
//! | cluster | environment | nodes | cohesion | status |
//! |---|---|---|---|---|
//! | `eks-prod-us` | production | 4, all synced | 100 | HEALTHY |
//! | `gke-stage-eu` | staging | 4, one degraded (reload failure) | 75 | SYNCING |
//! | `azure-dev-west` | development | 3, two with network errors | 33 | DIVERGENT |

use crate::authority::cluster_spec::{ClusterSpec, Environment};
use crate::authority::workspace::WorkspaceSpec;
use crate::clock::Clock;
use crate::engine::{Engine, EngineConfig};
use crate::error::Result;
use crate::execution::heartbeat::{Heartbeat, Metrics};
use crate::execution::sync_error::SyncError;
use crate::health::ProcessStatus;

/// The demo workspace id.
pub const WORKSPACE: &str = "acme-edge";

/// The demo clusters: id, environment, owner team, auto-reconcile.
pub const CLUSTERS: [(&str, Environment, &str, bool); 3] = [
    ("eks-prod-us", Environment::Production, "edge-platform", false),
    ("gke-stage-eu", Environment::Staging, "gateway-qa", true),
    ("azure-dev-west", Environment::Development, "dev-experience", true),
];

/// An engine (clock fixed at `now_ms`) holding the demo fleet as of `now_ms`.
///
/// ```
/// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
/// let c: Vec<u8> = ["eks-prod-us", "gke-stage-eu", "azure-dev-west"]
///     .iter().map(|c| e.cohesion(c).unwrap()).collect();
/// assert_eq!(c, [100, 75, 33]);
/// ```
pub fn engine(now_ms: u64) -> Result<Engine> {
    let e = Engine::with_config(EngineConfig { clock: Clock::manual(now_ms), ..EngineConfig::default() })?;
    populate(&e, now_ms)?;
    Ok(e)
}

/// Adds the demo workspace, clusters, snapshots and nodes to `engine`.
pub fn populate(engine: &Engine, now_ms: u64) -> Result<()> {
    engine.upsert_workspace(WorkspaceSpec::new(WORKSPACE))?;
    let t0 = now_ms.saturating_sub(3_600_000);
    for (id, env, team, auto) in CLUSTERS {
        engine.upsert_cluster(ClusterSpec::new(id, WORKSPACE, env).owner_team(team).auto_reconcile(auto))?;
        engine.publish(id, format!("# {id}\nroutes: []\nrate_limit: 1000\n").as_bytes(), "platform-bot", t0)?;
        engine.publish(id, format!("# {id}\nroutes: [api]\nrate_limit: 800\n").as_bytes(), "alice", t0 + 60_000)?;
    }
    let version = "3.6.1".parse()?;
    let nodes: [(&str, &str, u32, ProcessStatus, Option<&str>); 11] = [
        ("gw-prod-us-1", "eks-prod-us", 2, ProcessStatus::Ready, None),
        ("gw-prod-us-2", "eks-prod-us", 2, ProcessStatus::Ready, None),
        ("gw-prod-us-3", "eks-prod-us", 2, ProcessStatus::Ready, None),
        ("gw-prod-us-4", "eks-prod-us", 2, ProcessStatus::Ready, None),
        ("gw-stage-eu-1", "gke-stage-eu", 2, ProcessStatus::Ready, None),
        ("gw-stage-eu-2", "gke-stage-eu", 2, ProcessStatus::Ready, None),
        ("gw-stage-eu-3", "gke-stage-eu", 2, ProcessStatus::Ready, None),
        (
            "gw-stage-eu-4",
            "gke-stage-eu",
            1,
            ProcessStatus::Starting,
            Some("RELOAD_FAILURE: Incompatible Filter Signature"),
        ),
        ("gw-dev-west-1", "azure-dev-west", 2, ProcessStatus::Ready, None),
        ("gw-dev-west-2", "azure-dev-west", 1, ProcessStatus::Ready, Some("NATS_TIMEOUT: Failed to receive snapshot")),
        (
            "gw-dev-west-3",
            "azure-dev-west",
            1,
            ProcessStatus::Error,
            Some("FETCH_TIMEOUT: Snapshot download timed out after 30s"),
        ),
    ];
    for (i, (node, cluster, revision, status, error)) in nodes.into_iter().enumerate() {
        let handle = engine.enroll(node, cluster, t0)?;
        let snapshot = engine.snapshot(&crate::authority::snapshot::snapshot_id(cluster, revision))?;
        let error: Option<SyncError> = error.map(str::parse).transpose()?;
        let load = i as f32;
        let hb = Heartbeat {
            status,
            metrics: Metrics {
                cpu: 20.0 + 3.0 * load,
                memory: 40.0 + load,
                tps: 1200.0 - 40.0 * load,
                heap: 50.0 + load,
                hot_swap_errors: u32::from(error.is_some()),
            },
            sync_error: error.as_ref(),
            ..Heartbeat::new(now_ms.saturating_sub(10_000), version).applied(&snapshot.id, snapshot.hash)
        };
        engine.heartbeat(handle, &hb)?;
    }
    Ok(())
}
