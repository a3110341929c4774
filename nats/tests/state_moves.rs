//! A partition's node state and history move with it: an instance that
//! takes a killed instance's partitions over restores, from JetStream, what
//! the dead one held (every node's last report, what each node ran and
//! when) before it serves them or puts their summaries; no heartbeat is
//! sent in between.

mod harness;

use std::collections::BTreeMap;
use std::sync::Arc;

use fleetgov::{AppliedChange, Engine, NodeView};
use fleetgov_nats::load::SimFleet;
use fleetgov_nats::{FleetClient, Instance, Replica, RetryPolicy, demo};
use harness::{NatsServer, checkpointed, config, engine, mostly_current, now_ms, view_until};

const CLUSTERS: usize = 4;
const NODES_PER_CLUSTER: usize = 60;

/// What an engine shows of the fleet at `at_ms`: per cluster its figures,
/// what every node ran then, and per node its view and its history.
type Answers = BTreeMap<String, (u64, u64, u16, Vec<fleetgov::AppliedAt>, Vec<(NodeView, Vec<AppliedChange>)>)>;

fn answers(engine: &Engine, clusters: &[String], from_ms: u64, at_ms: u64) -> Answers {
    clusters
        .iter()
        .map(|c| {
            let view = engine.cluster(c, at_ms).unwrap();
            let mut nodes: Vec<(NodeView, Vec<AppliedChange>)> = engine
                .cluster_nodes(c, at_ms, 0, usize::MAX)
                .unwrap()
                .into_iter()
                .map(|n| {
                    let history = engine.history(&n.id, from_ms, at_ms).unwrap();
                    (n, history)
                })
                .collect();
            nodes.sort_by(|a, b| a.0.id.cmp(&b.0.id));
            let ran = engine.fleet_at(c, at_ms).unwrap();
            (c.clone(), (view.total, view.in_sync, view.cohesion_bp, ran, nodes))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_owner_restores_node_state_and_history_before_the_fleet_reports_again() {
    let Some(server) = NatsServer::start().await else { return };
    let js = async_nats::jetstream::new(server.connect().await);
    let nats_a = server.connect().await;
    let replica_a = engine(&nats_a, CLUSTERS).await;
    let a = replica_a.serve(nats_a, config("ingest-a")).await.unwrap();
    assert_eq!(a.status().restored.len(), harness::PARTITIONS, "a new instance restores its share before it serves it");

    // Two rounds: the nodes report, the divergent ones of auto-reconciling
    // clusters follow their directive in the second.
    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    let mut fleet = SimFleet::enroll(client, &mostly_current(CLUSTERS, NODES_PER_CLUSTER), 100, 8).await.unwrap();
    let started = now_ms();
    fleet.round(now_ms(), 8).await.unwrap();
    fleet.round(now_ms(), 8).await.unwrap();
    let reported = now_ms();
    let clusters: Vec<String> = demo::clusters(CLUSTERS).into_iter().map(|(c, ..)| c).collect();
    let partitions: Vec<u32> = clusters.iter().map(|c| a.partition_of(c).unwrap()).collect();
    checkpointed(&js, &partitions).await;
    let engine_a = replica_a.engine();
    let shown = answers(&engine_a, &clusters, started, reported);
    let total: u64 = shown.values().map(|(enrolled, ..)| enrolled).sum();
    assert_eq!(total, (CLUSTERS * NODES_PER_CLUSTER) as u64);
    assert!(shown.values().all(|(.., nodes)| nodes.iter().all(|(_, history)| !history.is_empty())));

    // a is killed; b, a new process with an engine of its own, takes over.
    drop(a);
    let nats_b = server.connect().await;
    let replica_b = engine(&nats_b, CLUSTERS).await;
    let engine_b = replica_b.engine();
    assert_eq!(engine_b.cluster(&clusters[0], reported).unwrap().total, 0, "b starts knowing no node");
    let b = Instance::start(nats_b, config("ingest-b"), engine_b.clone()).await.unwrap();
    fleetgov_testkit::eventually("b to own and restore every partition", || async {
        let status = b.status();
        if status.restored.len() == harness::PARTITIONS { Ok(()) } else { Err(format!("{status:?}")) }
    })
    .await;

    // Without a heartbeat since, b shows what a showed: every node's last
    // report, the clusters' figures, what ran and each node's history.
    assert_eq!(answers(&engine_b, &clusters, started, reported), shown);
    assert!(engine_b.history_start_ms() <= started, "b's history reaches back to a's");

    // The merged view: b's own figures, every node counted, none stale,
    // before any agent has reported to b.
    let view = view_until(&js, "b's summaries of every node", |v| {
        v.clusters.len() == CLUSTERS
            && v.clusters.values().all(|s| s.owner == "ingest-b" && !s.stale && s.enrolled == NODES_PER_CLUSTER as u64)
    })
    .await;
    assert_eq!(view.totals.enrolled, total);
    assert_eq!(view.totals.in_sync, shown.values().map(|(_, in_sync, ..)| in_sync).sum::<u64>());
    assert_eq!(fleet.reenrolled(), 0, "no agent has come back yet");

    // The agents follow (re-enrolling at b): nothing doubled.
    fleet.round(now_ms(), 8).await.unwrap();
    assert_eq!(fleet.reenrolled(), total, "handles are per engine: every agent enrolled again");
    let after: u64 = clusters.iter().map(|c| engine_b.cluster(c, now_ms()).unwrap().total).sum();
    assert_eq!(after, total);
    b.shutdown().await;
}

/// Two instances sharing the demo clusters, and what moved to the second.
struct Shared {
    a: Instance,
    b: Instance,
    engine_a: Arc<Engine>,
    engine_b: Arc<Engine>,
    /// The clusters b serves.
    moved: Vec<String>,
    _replicas: (Replica, Replica),
}

/// a serves every cluster and its nodes report once; then b joins, gets
/// half the partitions and serves their clusters, and the nodes report
/// again (those of b's clusters at b).
async fn shared(server: &NatsServer) -> Shared {
    let (nats_a, nats_b) = (server.connect().await, server.connect().await);
    let (replica_a, replica_b) = (engine(&nats_a, CLUSTERS).await, engine(&nats_b, CLUSTERS).await);
    let (engine_a, engine_b) = (replica_a.engine(), replica_b.engine());
    let a = Instance::start(nats_a, config("ingest-a"), engine_a.clone()).await.unwrap();
    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    let mut fleet = SimFleet::enroll(client, &mostly_current(CLUSTERS, NODES_PER_CLUSTER), 100, 8).await.unwrap();
    fleet.round(now_ms(), 8).await.unwrap();
    let b = Instance::start(nats_b, config("ingest-b"), engine_b.clone()).await.unwrap();
    let js = async_nats::jetstream::new(server.connect().await);
    harness::split_by_load(&js, &[&a, &b]).await;
    // b serves the clusters of its partitions once it has restored them.
    fleetgov_testkit::eventually("b to serve the clusters of its partitions", || async {
        if b.status().clusters.is_empty() { Err("none yet".to_owned()) } else { Ok(()) }
    })
    .await;
    let moved = b.status().clusters;
    fleet.round(now_ms(), 8).await.unwrap();
    Shared { a, b, engine_a, engine_b, moved, _replicas: (replica_a, replica_b) }
}

/// b leaves (writing what it holds); a takes its partitions back.
async fn regained(a: &Instance, b: Instance) {
    b.shutdown().await;
    fleetgov_testkit::eventually("a to own and restore every partition again", || async {
        let status = a.status();
        if status.restored.len() == harness::PARTITIONS { Ok(()) } else { Err(format!("{status:?}")) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_regains_a_partition_shows_what_happened_meanwhile_not_what_it_held() {
    let Some(server) = NatsServer::start().await else { return };
    let Shared { a, b, engine_a, engine_b, moved, .. } = shared(&server).await;
    let t = now_ms();
    let differs =
        moved.iter().any(|c| engine_a.cluster(c, t).unwrap().in_sync != engine_b.cluster(c, t).unwrap().in_sync);
    assert!(differs, "a still holds its older state of the clusters that moved");

    regained(&a, b).await;
    let t = now_ms();
    assert_eq!(answers(&engine_a, &moved, t, t), answers(&engine_b, &moved, t, t), "a shows what b saw");
    a.shutdown().await;
}

/// A node removed by another owner while this instance did not hold the
/// partition is gone from the stored state; the regaining engine removes
/// it too (`Engine::replace_execution`), though its own earlier journal
/// segments still name it, and audits nothing: the owner that removed it
/// recorded the removal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_removed_by_another_owner_is_not_enrolled_when_the_partition_comes_back() {
    let Some(server) = NatsServer::start().await else { return };
    let Shared { a, b, engine_a, engine_b, moved, .. } = shared(&server).await;

    // b's operator removes a node a enrolled (audited once, by b).
    let t = now_ms();
    let removed = engine_b.cluster_nodes(&moved[0], t, 0, 1).unwrap().remove(0).id;
    assert!(engine_a.node_handle(&removed).is_ok(), "a enrolled it in its earlier tenure");
    engine_b.unenroll(&removed, &fleetgov::By::new("bob", fleetgov::Role::Operator, t)).unwrap();

    // b leaves (its last checkpoint names the node no more); a regains.
    regained(&a, b).await;
    let t = now_ms();
    assert_eq!(
        engine_a.node_handle(&removed).map_err(|e| e.kind()),
        Err(fleetgov::ErrorKind::NotFound),
        "the removed node is still enrolled at a"
    );
    assert_eq!(answers(&engine_a, &moved, t, t), answers(&engine_b, &moved, t, t), "a shows what b saw");
    let removals = engine_a.audit().iter().filter(|r| r.target == format!("node:{removed}")).count();
    assert_eq!(removals, 1, "the removal is audited once");
    a.shutdown().await;
}
