//! The simulated fleet keeps the seeds' cohesion bands while it moves, obeys
//! force-sync directives, rolls out new snapshots, and leaves the engine's
//! counters exact. Driven tick by tick on a manual clock.

use std::collections::BTreeSet;
use std::sync::Arc;

use fleetgov::{Engine, ForceTarget, Override, Role};
use fleetgov_server::simulation::Fleet;

const CLUSTERS: [&str; 3] = ["eks-prod-us", "gke-stage-eu", "azure-dev-west"];

fn divergent(engine: &Engine, cluster: &str, now: u64) -> BTreeSet<String> {
    engine
        .cluster_nodes(cluster, now, 0, usize::MAX)
        .unwrap()
        .into_iter()
        .filter(|n| n.config_status == fleetgov::ConfigStatus::Divergent)
        .map(|n| n.id)
        .collect()
}

#[test]
fn the_simulated_fleet_keeps_the_seed_bands_and_obeys_directives() {
    let mut now = 1_700_000_000_000;
    let engine = Arc::new(fleetgov::demo::engine(now).unwrap());
    let mut fleet = Fleet::new(engine.clone(), 6_000, 2_000, 250, now).unwrap();
    assert_eq!(fleet.nodes(), 6_000);
    let before = divergent(&engine, "azure-dev-west", now);

    // 30 s of ticks: the bands hold after every one.
    for _ in 0..120 {
        now += 250;
        engine.clock().set(now);
        let report = fleet.step(now);
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        let cohesion: Vec<u8> = CLUSTERS.iter().map(|c| engine.cohesion(c).unwrap()).collect();
        assert_eq!(cohesion, [100, 75, 33]);
    }
    let after = divergent(&engine, "azure-dev-west", now);
    assert_ne!(before, after, "nodes drifted and recovered");
    assert!(engine.fleet_summary(fleetgov::demo::WORKSPACE, now).unwrap().never == 0, "every node heartbeats");

    // A forced seed node applies the desired snapshot on its next heartbeat.
    let by = Override::new("omar", Role::Operator, "Node re-provisioning after hardware failure", now);
    engine.force_sync(ForceTarget::Node("gw-stage-eu-4"), &by).unwrap();
    for _ in 0..8 {
        now += 250;
        engine.clock().set(now);
        fleet.step(now);
    }
    assert_eq!(engine.node("gw-stage-eu-4", now).unwrap().config_status, fleetgov::ConfigStatus::InSync);

    // A new snapshot rolls out to the healthy nodes; the failing ones stay behind.
    let v3 = engine.publish("gke-stage-eu", b"routes: [api, admin]", "alice", now).unwrap();
    assert_eq!(engine.cohesion("gke-stage-eu").unwrap(), 0);
    for _ in 0..200 {
        now += 250;
        engine.clock().set(now);
        fleet.step(now);
    }
    let view = engine.cluster("gke-stage-eu", now).unwrap();
    assert_eq!((view.desired_revision, view.cohesion), (v3.revision, 75));
    assert!(engine.recount_mismatches().is_empty(), "{:?}", engine.recount_mismatches());
}
