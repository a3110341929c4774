//! An instance restarted from the streams (a new engine, whose authority
//! comes back from `FLEET_AUDIT`) reaches the same cluster views once
//! heartbeats flow again.

mod harness;

use fleetgov_nats::load::{ClusterPlan, SimFleet};
use fleetgov_nats::{FleetClient, Instance, RetryPolicy, demo};
use harness::{NatsServer, config, engine, now_ms, view_until};

const CLUSTERS: usize = 4;

fn plans() -> Vec<ClusterPlan> {
    demo::clusters(CLUSTERS)
        .into_iter()
        .enumerate()
        .map(|(k, (cluster, ..))| ClusterPlan {
            workspace: demo::WORKSPACE.to_owned(),
            prefix: format!("gw-{cluster}"),
            cluster,
            nodes: 40 + 10 * k,
            // A third never reports a snapshot, a third runs r1, a third r2.
            applied: |cluster, i| match i % 3 {
                0 => None,
                r => Some((r as u32, demo::hash(cluster, r as u32))),
            },
        })
        .collect()
}

/// A cluster's execution: id, enrolled, in sync, cohesion, nodes per revision.
type Execution = (String, u64, u64, u8, Vec<(u32, u64)>);

/// What the cluster views say about execution, without the time-dependent parts.
fn execution(engine: &fleetgov::Engine) -> Vec<Execution> {
    let now = now_ms();
    engine
        .clusters(now)
        .into_iter()
        .map(|v| (v.id, v.total, v.in_sync, v.cohesion, v.revisions.iter().map(|r| (r.revision, r.nodes)).collect()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_instance_reaches_the_same_cluster_views() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let first_replica = engine(&nats, CLUSTERS).await;
    let first_engine = first_replica.engine();
    let first = Instance::start(nats.clone(), config("ingest-1"), first_engine.clone()).await.unwrap();
    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    let mut fleet = SimFleet::enroll(client, &plans(), 25, 4).await.unwrap();
    // Two rounds: the first hands out directives, the second reports what was applied.
    fleet.round(now_ms(), 4).await.unwrap();
    fleet.round(now_ms(), 4).await.unwrap();
    let before = execution(&first_engine);
    assert!(before.iter().any(|c| c.2 > 0 && c.2 < c.1), "a mixed fleet: {before:?}");
    first.shutdown().await;

    let authority: Vec<_> = first_engine.clusters(now_ms()).into_iter().map(|c| (c.id, c.desired_hash)).collect();
    drop((first_engine, first_replica));

    // A new process: a new engine rebuilt from the streams, which has seen no heartbeat.
    let second_replica = engine(&nats, CLUSTERS).await;
    let second_engine = second_replica.engine();
    let rebuilt: Vec<_> = second_engine.clusters(now_ms()).into_iter().map(|c| (c.id, c.desired_hash)).collect();
    assert_eq!(rebuilt, authority, "the authority comes back from the streams");
    assert!(execution(&second_engine).iter().all(|c| c.1 == 0));
    let second = Instance::start(nats.clone(), config("ingest-1"), second_engine.clone()).await.unwrap();
    let reenrolled = fleet.reenrolled();
    fleet.round(now_ms(), 4).await.unwrap();
    assert_eq!(fleet.reenrolled() - reenrolled, fleet.nodes() as u64, "every node enrolled again");
    assert_eq!(execution(&second_engine), before);

    // And the merged view shows the second engine's figures.
    let js = async_nats::jetstream::new(nats);
    let enrolled: u64 = before.iter().map(|c| c.1).sum();
    let in_sync: u64 = before.iter().map(|c| c.2).sum();
    view_until(&js, "the restarted owner's summaries", |v| {
        v.totals.enrolled == enrolled && v.totals.in_sync == in_sync && v.clusters.len() == CLUSTERS
    })
    .await;
    second.shutdown().await;
}
