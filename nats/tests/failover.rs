//! Two instances share the partitions; one is killed (no graceful release):
//! its partitions move to the survivor, the agents follow (re-enrolling on
//! outcome 5), and the merged view ends with every node counted exactly once.
//! Throughout the takeover the view never shows a cluster with fewer nodes
//! than it has (an empty cluster, HEALTHY) unless it marks it STALE. The
//! history of b's clusters moves with their partitions: afterwards the
//! survivor answers what ran on them before the kill as b did.

mod harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fleetgov_nats::load::SimFleet;
use fleetgov_nats::{FleetClient, RetryPolicy, demo};
use fleetgov_testkit::within;
use harness::{NatsServer, checkpointed, config, engine, mostly_current, now_ms, split_by_load, view_until};

const CLUSTERS: usize = 8;
const NODES_PER_CLUSTER: usize = 150;

/// In sync once settled: every node of an auto-reconciling cluster (they
/// follow the directive to revision 2), and the revision-2 nodes of the one
/// that does not reconcile by itself.
fn expected_in_sync() -> u64 {
    demo::clusters(CLUSTERS)
        .iter()
        .map(|(_, _, _, auto)| if *auto { NODES_PER_CLUSTER } else { NODES_PER_CLUSTER * 3 / 4 } as u64)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_hands_its_partitions_over_and_nothing_is_lost_or_doubled() {
    let Some(server) = NatsServer::start().await else { return };
    let (nats_a, nats_b) = (server.connect().await, server.connect().await);
    let (replica_a, replica_b) = (engine(&nats_a, CLUSTERS).await, engine(&nats_b, CLUSTERS).await);
    let a = replica_a.serve(nats_a.clone(), config("ingest-a")).await.unwrap();
    let b = replica_b.serve(nats_b.clone(), config("ingest-b")).await.unwrap();

    // The newcomer gets a share: with no nodes yet, eight partitions each, none shared.
    let js = async_nats::jetstream::new(server.connect().await);
    let (_, split) = split_by_load(&js, &[&a, &b]).await;
    assert_eq!(split.values().filter(|o| *o == "ingest-b").count(), 8, "{split:?}");

    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    let mut fleet = SimFleet::enroll(client, &mostly_current(CLUSTERS, NODES_PER_CLUSTER), 100, 8).await.unwrap();
    let total = (CLUSTERS * NODES_PER_CLUSTER) as u64;
    assert_eq!(fleet.nodes() as u64, total);
    fleet.round(now_ms(), 8).await.unwrap();
    view_until(&js, "every node in the view", |v| {
        v.clusters.len() == CLUSTERS && v.clusters.values().all(|s| !s.stale && s.enrolled == NODES_PER_CLUSTER as u64)
    })
    .await;
    // With nodes, the partitions are shared by them: both serve clusters,
    // and the agents follow the clusters that moved.
    split_by_load(&js, &[&a, &b]).await;
    let served_by_b = b.status().clusters;
    assert!(!served_by_b.is_empty() && !a.status().clusters.is_empty(), "both instances must serve clusters");
    fleet.round(now_ms(), 8).await.unwrap();
    view_until(&js, "every node in the view after the split", |v| {
        v.clusters.len() == CLUSTERS && v.clusters.values().all(|s| !s.stale && s.enrolled == NODES_PER_CLUSTER as u64)
    })
    .await;

    // From now on every view read shows each cluster with all its nodes, or STALE.
    let done = Arc::new(AtomicBool::new(false));
    let checker = tokio::spawn({
        let (js, done) = (js.clone(), done.clone());
        async move {
            let mut reads = 0u64;
            // SeqCst: a flag read on its own; any ordering would do.
            while !done.load(Ordering::SeqCst) {
                let view = fleetgov_nats::FleetView::load(&js, now_ms(), Duration::from_secs(30)).await.unwrap();
                for s in view.clusters.values() {
                    assert!(
                        s.stale || s.enrolled == NODES_PER_CLUSTER as u64,
                        "during the takeover the view read {} {} {} / {} {} (not stale)",
                        s.cluster,
                        s.owner,
                        s.in_sync,
                        s.enrolled,
                        s.status.as_str()
                    );
                }
                reads += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            reads
        }
    });

    // What b held is in JetStream; then b is killed: no unsubscribe
    // handshake, no lease release.
    let b_partitions: Vec<u32> = served_by_b.iter().map(|c| a.partition_of(c).unwrap()).collect();
    checkpointed(&js, &b_partitions).await;
    // A moment before the kill that no later heartbeat can be stamped with.
    let before_kill = now_ms() - 1;
    let reenrolled_before_kill = fleet.reenrolled();
    drop(b);
    let rounds = within("a to take b's partitions over", async {
        let mut rounds = 0;
        while a.owned_partitions().len() < harness::PARTITIONS {
            fleet.round(now_ms(), 8).await.unwrap(); // agents keep sending; b's clusters wait for a new owner
            rounds += 1;
        }
        rounds
    })
    .await;
    assert!(rounds > 0);
    let status = a.status();
    for cluster in &served_by_b {
        assert!(status.clusters.contains(cluster), "{cluster} did not move to a: {status:?}");
    }

    // Traffic continues until the view settles; then it counts each node once.
    let expected = expected_in_sync();
    within("the view to settle: ingest-a owns every cluster, every node counted once", async {
        loop {
            fleet.round(now_ms(), 8).await.unwrap();
            let view = view_until(&js, "summaries", |v| v.clusters.len() == CLUSTERS).await;
            let settled =
                view.clusters.values().all(|s| s.owner == "ingest-a" && !s.stale && s.at_ms > fleet_round_floor())
                    && view.totals.enrolled == total
                    && view.totals.in_sync == expected;
            if settled {
                break;
            }
            eprintln!("not settled yet: {:?}", view.totals);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    done.store(true, Ordering::SeqCst);
    assert!(checker.await.unwrap() > 0, "the view was read during the takeover");
    let (engine_a, engine_b) = (replica_a.engine(), replica_b.engine());
    for cluster in &served_by_b {
        let ran = engine_b.fleet_at(cluster, before_kill).unwrap();
        assert_eq!(ran.len(), NODES_PER_CLUSTER, "b knew what every node of {cluster} ran");
        let theirs = engine_a.fleet_at(cluster, before_kill).unwrap();
        let differ: Vec<_> = theirs.iter().zip(&ran).filter(|(x, y)| x != y).take(2).collect();
        assert!(theirs.len() == ran.len() && differ.is_empty(), "a answers for {cluster} unlike b: {differ:?}");
    }
    let reenrolled = fleet.reenrolled() - reenrolled_before_kill;
    assert!(reenrolled >= (served_by_b.len() * NODES_PER_CLUSTER) as u64, "b's nodes re-enrolled at a: {reenrolled}");
    assert_eq!(
        fleet.count_applied(|cluster, applied| applied == Some((2, demo::hash(cluster, 2)))) as u64,
        expected,
        "the generator's own count of nodes on the desired revision"
    );
    // The view stays exact while traffic goes on.
    fleet.round(now_ms(), 8).await.unwrap();
    let view = view_until(&js, "steady", |v| v.totals.enrolled == total).await;
    assert_eq!((view.totals.enrolled, view.totals.in_sync), (total, expected));
    a.shutdown().await;
}

/// Summaries older than this were written before the test could have settled.
fn fleet_round_floor() -> u64 {
    now_ms().saturating_sub(5_000)
}
