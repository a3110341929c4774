//! An owner that lets a partition go (a handover, a shutdown) first stops
//! serving its clusters, then writes the partition's last state for the
//! next owner. A heartbeat batch it admitted before the stop is applied,
//! and answered, before that last state is written: the next owner
//! restores what every node of the batch ran, as its agents were told.

mod harness;

use std::time::Duration;

use fleetgov_nats::load::{ClusterPlan, SimFleet};
use fleetgov_nats::{FleetClient, Instance, RetryPolicy, demo};
use fleetgov_testkit::{until, within};
use harness::{NatsServer, Serving, config, engine, now_ms, serving};

/// One batch of this many nodes: long enough to apply that the stop comes
/// while it is under way.
const NODES: usize = 5_000;

/// How many nodes of `cluster` `engine` holds a verified report of.
fn reported(engine: &fleetgov::Engine, cluster: &str) -> u64 {
    let view = engine.cluster(cluster, now_ms()).unwrap();
    view.revisions.iter().filter(|r| r.revision != 0).map(|r| r.nodes).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_admitted_before_the_owner_lets_go_is_in_the_state_the_next_owner_restores() {
    let Some(server) = NatsServer::start().await else { return };
    let Serving { replica: _first_replica, engine: first_engine, instance: first, .. } = serving(&server).await;
    // Answered however long the batch takes.
    let retry = RetryPolicy { request_timeout: Duration::from_secs(60), ..RetryPolicy::default() };
    let client = FleetClient::new(server.connect().await, retry).await.unwrap();
    let (cluster, ..) = demo::clusters(1).remove(0);
    let plan = ClusterPlan {
        workspace: demo::WORKSPACE.to_owned(),
        prefix: format!("gw-{cluster}"),
        cluster: cluster.clone(),
        nodes: NODES,
        applied: |cluster, _| Some((1, demo::hash(cluster, 1))),
    };
    let mut fleet = SimFleet::enroll(client, &[plan], NODES, 1).await.unwrap();
    let partition = first.partition_of(&cluster).unwrap();

    // One batch of every node; the owner lets go while it is being applied.
    let let_go = async {
        within("the batch to be under way", async {
            while reported(&first_engine, &cluster) == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        let applied_at_stop = reported(&first_engine, &cluster);
        first.shutdown().await;
        applied_at_stop
    };
    let (round, applied_at_stop) = tokio::join!(fleet.round(now_ms(), 1), let_go);
    round.unwrap();
    // Otherwise this run tested nothing: the batch was applied before the stop.
    assert!(applied_at_stop < NODES as u64, "the owner let go with {applied_at_stop} of {NODES} nodes applied");
    let answered = reported(&first_engine, &cluster);
    assert_eq!(answered, NODES as u64, "every node of the batch was answered");
    let after = now_ms();

    // The next owner restores the partition from the streams.
    let nats = server.connect().await;
    let replica = engine(&nats, 3).await;
    let next = Instance::start(nats, config("ingest-2"), replica.engine()).await.unwrap();
    until("the next owner to restore the partition", || async { next.status().restored.contains(&partition) }).await;
    let theirs = replica.engine().fleet_at(&cluster, after).unwrap();
    let ours = first_engine.fleet_at(&cluster, after).unwrap();
    assert_eq!(ours.len(), NODES);
    assert_eq!(theirs.len(), NODES, "the next owner knows what every node of the batch ran");
    assert!(theirs == ours, "the next owner answers for {cluster} as the first did");
    next.shutdown().await;
}
