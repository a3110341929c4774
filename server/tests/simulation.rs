//! The simulated fleet keeps the seeds' cohesion bands while it moves, obeys
//! force-sync directives and keeps what an operator forced until the next
//! publish, rolls out new snapshots, leaves the engine's counters exact, and
//! resumes after a restart over a data directory without creating anything
//! twice.
//! Driven tick by tick on a manual clock: every assertion is about the state
//! after a given number of ticks, none about how long anything took.

use std::collections::BTreeSet;
use std::sync::Arc;

use fleetgov::audit::AuditAction;
use fleetgov::{Clock, ConfigStatus, Engine, EngineConfig, ForceTarget, NodeView, Override, Role, SyncErrorCode};
use fleetgov_server::demo::{Seeded, seed};
use fleetgov_server::simulation::Fleet;

const CLUSTERS: [&str; 3] = ["eks-prod-us", "gke-stage-eu", "azure-dev-west"];
const T0: u64 = 1_700_000_000_000;
/// 2,000 nodes per cluster, a heartbeat every 2 s, a tick every 250 ms.
const NODES: usize = 6_000;
const INTERVAL_MS: u64 = 2_000;
const TICK_MS: u64 = 250;
const REASON: &str = "Node re-provisioning after hardware failure";

/// A demo engine and its simulated fleet on a manual clock.
struct Demo {
    engine: Arc<Engine>,
    fleet: Fleet,
    now: u64,
}

impl Demo {
    fn new() -> Demo {
        let engine = Arc::new(fleetgov::demo::engine(T0).unwrap());
        let fleet = Fleet::new(engine.clone(), NODES, INTERVAL_MS, TICK_MS, T0).unwrap();
        Demo { engine, fleet, now: T0 }
    }

    /// Advances one tick; every heartbeat must be accepted.
    fn tick(&mut self) {
        self.now += TICK_MS;
        self.engine.clock().set(self.now);
        let report = self.fleet.step(self.now);
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    }

    /// Each cluster's (cohesion, status, verified nodes).
    fn figures(&self) -> Vec<(u8, &'static str, u64)> {
        CLUSTERS
            .iter()
            .map(|c| self.engine.cluster(c, self.now).unwrap())
            .map(|v| (v.cohesion, v.status.as_str(), v.in_sync))
            .collect()
    }

    fn force(&self, target: ForceTarget<'_>) {
        self.engine.force_sync(target, &Override::new("omar", Role::Operator, REASON, self.now)).unwrap();
    }

    fn divergent(&self, cluster: &str) -> BTreeSet<String> {
        self.engine
            .cluster_nodes(cluster, self.now, 0, usize::MAX)
            .unwrap()
            .into_iter()
            .filter(|n| n.config_status == ConfigStatus::Divergent)
            .map(|n| n.id)
            .collect()
    }
}

/// The seeds' bands with 2,000 nodes a cluster: all verified; 3 of 4; the
/// fewest that floor to 33 % (667, i.e. 33.35 %).
const BANDS: [(u8, &str, u64); 3] = [(100, "HEALTHY", 2_000), (75, "SYNCING", 1_500), (33, "DIVERGENT", 667)];

#[test]
fn the_simulated_fleet_keeps_the_seed_bands_and_obeys_directives() {
    let mut demo = Demo::new();
    assert_eq!(demo.fleet.nodes(), NODES);
    assert_eq!(demo.figures(), BANDS);
    let before = demo.divergent("azure-dev-west");

    // 30 s of ticks: the bands hold after every one, and the healthy
    // cluster has no failing node to show.
    for _ in 0..120 {
        demo.tick();
        assert_eq!(demo.figures(), BANDS);
        assert!(demo.engine.cluster("eks-prod-us", demo.now).unwrap().root_causes.is_empty());
    }
    assert_ne!(before, demo.divergent("azure-dev-west"), "nodes drifted and recovered");
    assert!(
        demo.engine.fleet_summary(fleetgov::demo::WORKSPACE, demo.now).unwrap().never == 0,
        "every node heartbeats"
    );

    // A forced seed node applies the desired snapshot on its next heartbeat and keeps it.
    demo.force(ForceTarget::Node("gw-stage-eu-4"));
    for _ in 0..80 {
        demo.tick();
    }
    assert_eq!(demo.engine.node("gw-stage-eu-4", demo.now).unwrap().config_status, ConfigStatus::InSync);

    // A new snapshot rolls out to the healthy nodes; the failing ones stay behind.
    let v3 = demo.engine.publish("gke-stage-eu", b"routes: [api, admin]", "alice", demo.now).unwrap();
    assert_eq!(demo.engine.cluster("gke-stage-eu", demo.now).unwrap().cohesion, 0);
    for _ in 0..200 {
        demo.tick();
    }
    let view = demo.engine.cluster("gke-stage-eu", demo.now).unwrap();
    assert_eq!((view.desired_revision, view.cohesion, view.status.as_str()), (v3.revision, 75, "SYNCING"));
    assert!(demo.engine.recount_mismatches().is_empty(), "{:?}", demo.engine.recount_mismatches());
}

#[test]
fn a_cluster_force_sync_holds_until_the_next_publish() {
    let mut demo = Demo::new();
    for _ in 0..8 {
        demo.tick();
    }
    demo.force(ForceTarget::Cluster("azure-dev-west"));

    // Every node answers the force on its next heartbeat: one interval.
    for _ in 0..INTERVAL_MS / TICK_MS {
        demo.tick();
    }
    let healed = [BANDS[0], BANDS[1], (100, "HEALTHY", 2_000)];
    assert_eq!(demo.figures(), healed);
    assert!(demo.engine.cluster("azure-dev-west", demo.now).unwrap().root_causes.is_empty());

    // Two minutes of churn elsewhere later (60 heartbeats of every node), it
    // still reads 100 % after every tick; the other clusters keep moving.
    let gke_before = demo.divergent("gke-stage-eu");
    for _ in 0..480 {
        demo.tick();
        assert_eq!(demo.figures(), healed);
    }
    assert_ne!(gke_before, demo.divergent("gke-stage-eu"), "the other clusters still churn");

    // A publish releases the held nodes: the rollout completes and the
    // cluster returns to its band.
    let v3 = demo.engine.publish("azure-dev-west", b"routes: [api, canary]", "alice", demo.now).unwrap();
    for _ in 0..200 {
        demo.tick();
    }
    let view = demo.engine.cluster("azure-dev-west", demo.now).unwrap();
    assert_eq!((view.desired_revision, view.cohesion, view.status.as_str()), (v3.revision, 33, "DIVERGENT"));
    assert!(demo.engine.recount_mismatches().is_empty(), "{:?}", demo.engine.recount_mismatches());
}

#[test]
fn a_repaired_node_stays_repaired_and_its_failure_is_not_replaced() {
    let mut demo = Demo::new();
    for _ in 0..8 {
        demo.tick();
    }
    let seeds = ["gw-dev-west-1", "gw-dev-west-2", "gw-dev-west-3"];
    let failing = demo.divergent("azure-dev-west");
    let node = failing.into_iter().find(|n| !seeds.contains(&n.as_str())).expect("a failing simulated node");
    demo.force(ForceTarget::Node(&node));
    // It answers on its next heartbeat, within one interval.
    for _ in 0..INTERVAL_MS / TICK_MS {
        demo.tick();
    }
    for _ in 0..480 {
        demo.tick();
        assert_eq!(demo.engine.node(&node, demo.now).unwrap().config_status, ConfigStatus::InSync, "{node}");
        // One failure fewer: 668 of 2,000 verified, still 33 % DIVERGENT.
        assert_eq!(demo.figures(), [BANDS[0], BANDS[1], (33, "DIVERGENT", 668)]);
    }
}

/// A node's last report as a restart brings it back: all of it but the
/// text of a sync error (its code is kept, the text is not).
fn report(mut node: NodeView) -> (NodeView, Option<SyncErrorCode>) {
    let code = node.last_sync_error.take().map(|e| e.code);
    node.reconcile_reason = None;
    (node, code)
}

/// Every node of the demo clusters as seen at `now`.
fn every_node(engine: &Engine, now: u64) -> Vec<NodeView> {
    CLUSTERS.iter().flat_map(|c| engine.cluster_nodes(c, now, 0, usize::MAX).unwrap()).collect()
}

#[test]
fn a_restart_over_a_data_directory_resumes_the_fleet_without_recreating_it() {
    let dir = tempfile::tempdir().unwrap();
    let open = |now: u64| {
        let config = EngineConfig {
            clock: Clock::manual(now),
            data_dir: Some(dir.path().to_owned()),
            ..EngineConfig::default()
        };
        Arc::new(Engine::with_config(config).unwrap())
    };
    let engine = open(T0);
    assert_eq!(seed(&engine, T0).unwrap(), Seeded::Created);
    let mut demo =
        Demo { fleet: Fleet::new(engine.clone(), NODES, INTERVAL_MS, TICK_MS, T0).unwrap(), engine, now: T0 };
    for _ in 0..40 {
        demo.tick();
    }
    let Demo { engine, fleet, now } = demo;
    let (records, verifier, nodes) =
        (engine.audit_len(), engine.checkpoint_verifier().unwrap(), every_node(&engine, now));
    // A clean stop: dropping the engine writes the journal and a checkpoint.
    drop(fleet);
    drop(engine);

    // The demo is not created again: no audit record, no enrolment; every
    // node's last report is back.
    let engine = open(now);
    assert_eq!(seed(&engine, now).unwrap(), Seeded::Kept);
    assert_eq!(engine.audit_len(), records, "a restart appends nothing");
    assert_eq!(engine.checkpoint_verifier().unwrap(), verifier, "the same signing key");
    let restored = every_node(&engine, now);
    assert_eq!(restored.len(), nodes.len());
    if let Some((a, b)) = restored.into_iter().map(report).zip(nodes.into_iter().map(report)).find(|(a, b)| a != b) {
        panic!("every node's last report:\nrestored {a:?}\nbefore   {b:?}");
    }

    // The simulation resumes the nodes it finds, enrols none twice, and
    // keeps the bands.
    let mut demo = Demo { fleet: Fleet::new(engine.clone(), NODES, INTERVAL_MS, TICK_MS, now).unwrap(), engine, now };
    assert_eq!(demo.fleet.nodes(), NODES);
    assert_eq!(demo.figures(), BANDS);
    for _ in 0..40 {
        demo.tick();
        assert_eq!(demo.figures(), BANDS);
    }
    // The only records written since are the simulation's own: the
    // engine opens a reconciliation wave anew after a restart.
    let since: Vec<AuditAction> = demo.engine.audit_page(records, usize::MAX).iter().map(|r| r.action).collect();
    assert!(since.iter().all(|a| *a == AuditAction::AutoReconcile), "{since:?}");
    assert!(demo.engine.recount_mismatches().is_empty(), "{:?}", demo.engine.recount_mismatches());
}

#[test]
fn the_release_cluster_rolls_out_after_quiet_periods_and_a_marked_canary_rolls_back() {
    use fleetgov::rollout::Phase;
    use fleetgov_server::simulation::{RELEASE_ACTOR, RELEASE_FAILING_EVERY, RELEASE_QUIET_MS, RELOAD_FAILURE_MARKER};

    let mut demo = Demo::new();
    for _ in 0..8 {
        demo.tick();
    }
    assert!(demo.engine.rollout("eks-prod-us", demo.now).unwrap().is_none(), "quiet first: the seeds' figures");
    assert_eq!(demo.figures(), BANDS);

    for release in 1..=RELEASE_FAILING_EVERY {
        let before = demo.engine.desired("eks-prod-us").unwrap().unwrap();
        // The cluster has been quiet for the whole period: the next tick rolls out.
        demo.now += RELEASE_QUIET_MS;
        demo.tick();
        let started = demo.engine.rollout("eks-prod-us", demo.now).unwrap().expect("a rollout");
        assert_eq!(started.previous_snapshot, before.id);
        let target = demo.engine.snapshot(&started.target_snapshot).unwrap();
        assert_eq!(target.author, RELEASE_ACTOR);
        let marked = {
            let bytes = demo.engine.artifact(&target.hash).unwrap();
            String::from_utf8_lossy(&bytes).contains(RELOAD_FAILURE_MARKER)
        };
        assert_eq!(marked, release == RELEASE_FAILING_EVERY, "release {release}");

        // The rollout runs to its end on the simulation's ticks alone; the
        // other clusters keep their bands, and the release cluster reads
        // SYNCING while it is active.
        let mut ticks = 0;
        let end = loop {
            demo.tick();
            ticks += 1;
            let r = demo.engine.rollout("eks-prod-us", demo.now).unwrap().unwrap();
            assert_eq!(demo.figures()[1..], BANDS[1..]);
            if !r.state.is_active() {
                break r;
            }
            assert_ne!(r.state, Phase::Halted, "auto_rollback leaves no halt behind");
            assert_eq!(demo.engine.cluster("eks-prod-us", demo.now).unwrap().status.as_str(), "SYNCING");
            assert!(ticks < 4_000, "release {release} still {:?} after {ticks} ticks", r.state);
        };
        if marked {
            assert_eq!(end.state, Phase::RolledBack, "{end:?}");
            let reason = end.reason.clone().unwrap();
            assert!(reason.contains("RELOAD_FAILURE"), "{reason}");
            assert_eq!(end.wave, 0, "the canary alone met the marked artifact");
            assert_eq!(demo.engine.desired("eks-prod-us").unwrap().unwrap().id, before.id, "rolled back");
        } else {
            // Complete once every wave runs the target but at most the
            // budget; the last nodes pick it up as after a plain publish.
            assert_eq!((end.state, end.nodes_started, end.failures), (Phase::Complete, 2_000, 0), "{end:?}");
            assert!(end.on_target + end.failure_budget >= 2_000, "{end:?}");
            assert_eq!(demo.engine.desired("eks-prod-us").unwrap().unwrap().id, target.id);
        }
        // Within a few intervals every node reports cleanly: the seeds' figures.
        let mut intervals = 0;
        while demo.figures() != BANDS {
            for _ in 0..INTERVAL_MS / TICK_MS {
                demo.tick();
            }
            intervals += 1;
            assert!(intervals <= 30, "after release {release}: {:?}", demo.figures());
        }
        assert!(demo.engine.cluster("eks-prod-us", demo.now).unwrap().root_causes.is_empty());
    }
    // Every step the engine took is in the audit log: the waves of the two
    // that completed, and the halt and rollback of the third.
    let steps: Vec<String> = demo
        .engine
        .audit()
        .iter()
        .filter(|r| r.action == AuditAction::Rollout)
        .map(|r| {
            let json: serde_json::Value =
                serde_json::from_slice(r.payload.split(|&b| b == b'\n').next().unwrap()).unwrap();
            json["change"]["change"].as_str().unwrap().to_owned()
        })
        .collect();
    let complete = ["wave_started", "wave_started", "wave_started", "complete"];
    let expected: Vec<&str> = complete.iter().chain(&complete).chain(&["halted", "rolled_back"]).copied().collect();
    assert_eq!(steps, expected);
    assert!(demo.engine.recount_mismatches().is_empty(), "{:?}", demo.engine.recount_mismatches());
}
