//! An engine and four gateway agents in one process: the authority publishes,
//! every gateway pulls, verifies and hot-swaps; one download arrives corrupted
//! (`HASH_MISMATCH`) and one gateway's reload fails (`RELOAD_FAILURE`); the
//! cluster view shows the cohesion and both root causes; then an operator
//! forces the cluster to resync, with a justification that is audited, and
//! the cluster comes back to 100 %.
//!
//! `cargo run --example agent_e2e` (exits non-zero if any outcome differs).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use fleetgov::agent::{Agent, AppliedConfig, PullRequest};
use fleetgov::*;

const CLUSTER: &str = "eks-prod-us";
const CONFIG: &[u8] = b"routes:\n  - /api -> upstream-a\nfilters: [rate-limit, jwt-v2]\n";

/// One gateway node: its agent, its filter plugins and its download link.
struct Gateway {
    id: String,
    handle: NodeHandle,
    agent: Agent,
    /// Whether the `jwt-v2` filter plugin is installed.
    jwt_v2: Arc<AtomicBool>,
    /// A flaky link flips one bit of the next download.
    corrupt_next: AtomicBool,
}

impl Gateway {
    fn new(engine: &Engine, id: &str, at: u64) -> Result<Gateway> {
        let jwt_v2 = Arc::new(AtomicBool::new(true));
        let plugin = Arc::clone(&jwt_v2);
        // The gateway's reload hook: "compile" the filter chain, then install it.
        let reloader = move |c: &AppliedConfig| {
            let needs_jwt_v2 = c.bytes().windows(6).any(|w| w == b"jwt-v2");
            if needs_jwt_v2 && !plugin.load(Ordering::SeqCst) {
                return Err(SyncError::new(SyncErrorCode::ReloadFailure, "Incompatible Filter Signature"));
            }
            Ok(())
        };
        Ok(Gateway {
            id: id.to_owned(),
            handle: engine.enroll(id, CLUSTER, at)?,
            agent: Agent::new("3.6.1".parse()?, reloader),
            jwt_v2,
            corrupt_next: AtomicBool::new(false),
        })
    }

    /// Pulls the artifact the request names and applies it; prints what happened.
    fn pull(&self, engine: &Engine, pull: &PullRequest, at: u64) -> Result<()> {
        let mut bytes = engine.artifact(&pull.hash)?.to_vec();
        if self.corrupt_next.swap(false, Ordering::SeqCst) {
            bytes[7] ^= 0x20;
        }
        match self.agent.apply(&pull.snapshot_id, bytes, pull.hash, at) {
            Ok(c) => println!(
                "  {:<6} {:<11} applied {} ({})",
                self.id,
                pull.kind.as_str(),
                c.snapshot_id(),
                short(c.hash())
            ),
            Err(e) => {
                let live = self.agent.current().map_or("nothing".to_owned(), |c| c.snapshot_id().to_owned());
                println!("  {:<6} {:<11} refused ({e}); still runs {live}", self.id, pull.kind.as_str());
            }
        }
        Ok(())
    }

    /// Sends the agent's heartbeat; returns what the engine's answer asks to pull.
    fn heartbeat(&self, engine: &Engine, at: u64) -> Result<Option<PullRequest>> {
        let metrics = Metrics { cpu: 23.0, memory: 61.0, tps: 1450.0, heap: 58.5, hot_swap_errors: 0 };
        let hb = self.agent.heartbeat(at, metrics, ProcessStatus::Ready)?;
        let directive = engine.heartbeat(self.handle, &hb.as_heartbeat())?;
        Ok(directive.and_then(|d| self.agent.on_directive(&d)))
    }
}

fn short(hash: ContentHash) -> String {
    hash.to_string()[..12].to_owned()
}

fn print_cluster(engine: &Engine, gateways: &[Gateway], now: u64) -> Result<ClusterView> {
    let c = engine.cluster(CLUSTER, now)?;
    let desired = c.desired_snapshot.as_deref().unwrap_or("-");
    println!(
        "  cluster {} [{}] desired {desired} ({}): cohesion {}% ({}/{} in sync), {}",
        c.id,
        c.environment.as_str(),
        c.desired_hash.map_or("-".to_owned(), short),
        c.cohesion,
        c.in_sync,
        c.total,
        c.status.as_str()
    );
    for r in &c.root_causes {
        println!("    root cause {} x{} (e.g. {})", r.code, r.nodes, r.example_node.as_deref().unwrap_or("?"));
    }
    for gw in gateways {
        let n = engine.node(&gw.id, now)?;
        println!(
            "    {:<6} {:<9} applied {:<15} {:<10} {}",
            n.id,
            n.status.as_str(),
            n.applied_snapshot_id.as_deref().unwrap_or("-"),
            n.config_status.as_str(),
            n.last_sync_error.map_or("-".to_owned(), |e| e.to_string())
        );
    }
    Ok(c)
}

fn main() -> Result<()> {
    let mut now = 1_700_000_000_000;
    let engine =
        Engine::with_config(EngineConfig { clock: Clock::manual(now), capacity: 1024, ..EngineConfig::default() })?;
    engine.upsert_workspace(WorkspaceSpec::new("ws-edge"))?;
    engine.upsert_cluster(ClusterSpec::new(CLUSTER, "ws-edge", Environment::Production).owner_team("edge"))?;
    let gateways = (1..=4).map(|i| Gateway::new(&engine, &format!("gw-{i}"), now)).collect::<Result<Vec<_>>>()?;
    gateways[2].corrupt_next.store(true, Ordering::SeqCst);
    gateways[3].jwt_v2.store(false, Ordering::SeqCst);

    println!("1. alice publishes; every gateway pulls its desired snapshot, verifies and hot-swaps it");
    let v1 = engine.publish(CLUSTER, CONFIG, "alice", now)?;
    for gw in &gateways {
        let desired = Directive { kind: DirectiveKind::Reconcile, snapshot: &v1 };
        let pull = gw.agent.on_directive(&desired).expect("nothing is applied yet");
        gw.pull(&engine, &pull, now)?;
    }

    now += 10_000;
    println!("2. heartbeats: what each gateway really runs, with the hash it computed");
    for gw in &gateways {
        assert!(gw.heartbeat(&engine, now)?.is_none(), "auto-reconcile is off");
    }
    let view = print_cluster(&engine, &gateways, now)?;
    assert_eq!((view.cohesion, view.in_sync, view.total, view.status), (50, 2, 4, ClusterStatus::Syncing));
    let mut causes: Vec<_> = view.root_causes.iter().map(|r| (r.code, r.nodes, r.example_node.clone())).collect();
    causes.sort();
    assert_eq!(
        causes,
        [
            (SyncErrorCode::ReloadFailure, 1, Some("gw-4".to_owned())),
            (SyncErrorCode::HashMismatch, 1, Some("gw-3".to_owned())),
        ]
    );
    assert!(gateways[2].agent.current().is_none() && gateways[3].agent.current().is_none());

    now += 10_000;
    println!("3. gw-4 gets the jwt-v2 plugin, gw-3's link is healthy again; bob forces the cluster to resync");
    gateways[3].jwt_v2.store(true, Ordering::SeqCst);
    let why = "Re-sync after a corrupted download and the jwt-v2 plugin rollout";
    let blank = engine.force_sync(ForceTarget::Cluster(CLUSTER), &Override::new("bob", Role::Operator, " ", now));
    assert_eq!(blank.unwrap_err().kind(), ErrorKind::JustificationRequired);
    let viewer = engine.force_sync(ForceTarget::Cluster(CLUSTER), &Override::new("eve", Role::Viewer, why, now));
    assert_eq!(viewer.unwrap_err().kind(), ErrorKind::PermissionDenied);
    let record = engine.force_sync(ForceTarget::Cluster(CLUSTER), &Override::new("bob", Role::Operator, why, now))?;
    println!(
        "  audit #{}: {} ({}) {} {}: \"{}\"",
        record.seq,
        record.actor,
        record.role.as_str(),
        record.action.as_str(),
        record.target,
        record.justification
    );
    for gw in &gateways {
        let pull = gw.heartbeat(&engine, now)?.expect("a force sync reaches every node");
        assert_eq!(pull.kind, DirectiveKind::ForceSync);
        gw.pull(&engine, &pull, now)?;
    }

    now += 10_000;
    println!("4. heartbeats after the resync");
    for gw in &gateways {
        assert!(gw.heartbeat(&engine, now)?.is_none(), "{} should be in sync", gw.id);
    }
    let view = print_cluster(&engine, &gateways, now)?;
    assert_eq!((view.cohesion, view.status, view.root_causes.len()), (100, ClusterStatus::Healthy, 0));
    for gw in &gateways {
        let live = gw.agent.current().expect("every gateway runs v1");
        assert_eq!((live.snapshot_id(), live.hash()), (v1.id.as_str(), v1.hash));
    }
    assert_eq!(gateways[3].agent.hot_swap_errors(), 1);
    engine.verify_audit()?; // the override's record is in the hash-chained log
    println!("ok: every gateway runs {} and proved it with its own hash", v1.id);
    Ok(())
}
