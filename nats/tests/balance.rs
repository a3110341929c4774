//! Balance by load (issue 23) at the defaults: eight clusters of
//! different sizes over two instances get a partition each (placed by
//! creation order, see `fleetgov_nats::placement`) and end split four and
//! four, their nodes at most one cluster's size apart; a few nodes more
//! move nothing.

mod harness;

use std::collections::{BTreeMap, BTreeSet};

use fleetgov_nats::balance::{instance_loads, spread};
use fleetgov_nats::load::{ClusterPlan, SimFleet};
use fleetgov_nats::partition::DEFAULT_PARTITIONS;
use fleetgov_nats::{FleetClient, FleetView, Instance, RetryPolicy, demo};
use harness::{NatsServer, config, engine, split_by_load, view_until};

const CLUSTERS: usize = 8;

/// Cluster `i`'s nodes: 100 to 128, all different, and close enough that
/// a split within one cluster's size is a split of four and four (five of
/// the smallest outweigh three of the largest by 168 nodes).
fn size(i: usize) -> usize {
    100 + 4 * i
}

fn plans(extra: usize) -> Vec<ClusterPlan> {
    demo::clusters(CLUSTERS)
        .into_iter()
        .enumerate()
        .map(|(i, (cluster, ..))| ClusterPlan {
            workspace: demo::WORKSPACE.to_owned(),
            prefix: format!("gw-{cluster}{}", if extra > 0 { "-more" } else { "" }),
            nodes: if extra > 0 { usize::from(i == 0) * extra } else { size(i) },
            cluster,
            applied: demo::mostly_current,
        })
        .filter(|plan| plan.nodes > 0)
        .collect()
}

/// Waits until each instance has published `n` more changes of its lease
/// log (each round renews): `n` rounds of each, counted, not timed.
async fn rounds(instances: &[&Instance], n: usize) {
    for instance in instances {
        let mut log = instance.lease_log();
        log.borrow_and_update();
        for _ in 0..n {
            fleetgov_testkit::within("a round of the instance", log.changed()).await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_clusters_of_different_sizes_split_four_and_four_within_one_clusters_size() {
    let Some(server) = NatsServer::start().await else { return };
    let (nats_a, nats_b) = (server.connect().await, server.connect().await);
    let (replica_a, replica_b) = (engine(&nats_a, CLUSTERS).await, engine(&nats_b, CLUSTERS).await);
    // A partition handed over before its nodes' first reports reached
    // their owner waits for them no longer than this: the agents here
    // report once.
    let handover_wait = std::time::Duration::from_secs(2);
    let config = |id: &str| fleetgov_nats::InstanceConfig { handover_wait, ..config(id) };
    let a = replica_a.serve(nats_a, config("ingest-a")).await.unwrap();
    let b = replica_b.serve(nats_b, config("ingest-b")).await.unwrap();
    let js = async_nats::jetstream::new(server.connect().await);

    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    let mut fleet = SimFleet::enroll(client.clone(), &plans(0), 100, 8).await.unwrap();
    assert_eq!(fleet.nodes(), (0..CLUSTERS).map(size).sum::<usize>());
    // Reports: a new owner vouches for a cluster once its nodes' reports are restored.
    fleet.round(harness::now_ms(), 8).await.unwrap();
    let sizes: BTreeMap<String, u64> =
        demo::clusters(CLUSTERS).into_iter().enumerate().map(|(i, (c, ..))| (c, size(i) as u64)).collect();
    let every_cluster = |v: &FleetView| {
        v.clusters.len() == CLUSTERS && v.clusters.values().all(|s| !s.stale && s.enrolled == sizes[&s.cluster])
    };
    view_until(&js, "every cluster with its nodes", every_cluster).await;

    // Each cluster has a partition of its own, the same on both instances
    // (each places a cluster once it has read the cluster's creation).
    let placed: BTreeMap<&String, u32> = fleetgov_testkit::eventually("both instances place every cluster", || {
        let placed = sizes.keys().map(|c| Some((c, a.partition_of(c)?))).collect::<Option<BTreeMap<_, _>>>();
        let alike = placed.as_ref().is_some_and(|p| p.iter().all(|(c, at)| b.partition_of(c) == Some(*at)));
        async move { placed.filter(|_| alike).ok_or_else(|| "not placed alike yet".to_owned()) }
    })
    .await;
    assert_eq!(placed.values().collect::<BTreeSet<_>>().len(), CLUSTERS, "{placed:?}");
    let mut by_partition = vec![0u64; DEFAULT_PARTITIONS.get() as usize];
    for (cluster, nodes) in &sizes {
        by_partition[placed[cluster] as usize] += nodes;
    }
    // The partitions' loads are the clusters' sizes once every summary
    // names its cluster's placed partition.
    let (loads, split) = fleetgov_testkit::eventually("a split by load of the placed partitions", || async {
        let (loads, split) = split_by_load(&js, &[&a, &b]).await;
        if loads == by_partition { Ok((loads, split)) } else { Err(format!("loads {loads:?}")) }
    })
    .await;
    let per = instance_loads(&loads, &split);
    let largest = *sizes.values().max().unwrap();
    let clusters_of = |id: &str| placed.values().filter(|p| split.get(p).is_some_and(|o| o == id)).count();
    let counts = (clusters_of("ingest-a"), clusters_of("ingest-b"));
    eprintln!("nodes per instance {per:?}, clusters {counts:?}, largest cluster {largest}");
    assert_eq!(per.values().sum::<u64>(), sizes.values().sum::<u64>());
    assert!(spread(&loads, &split) <= largest, "{per:?} more than {largest} apart");
    assert_eq!(counts, (4, 4));
    // Both serve clusters, and they serve what the split says.
    view_until(&js, "every cluster served where the split puts it", |v| {
        every_cluster(v) && v.clusters.values().all(|s| split.get(&s.partition) == Some(&s.owner))
    })
    .await;

    // A few nodes more in one cluster move nothing, round after round.
    let more = 3;
    let mut few = SimFleet::enroll(client, &plans(more), 100, 8).await.unwrap();
    few.round(harness::now_ms(), 8).await.unwrap();
    let first = demo::clusters(1).remove(0).0;
    view_until(&js, "the few nodes more in the view", |v| {
        v.clusters.get(&first).is_some_and(|s| !s.stale && s.enrolled == sizes[&first] + more as u64)
    })
    .await;
    rounds(&[&a, &b], 10).await;
    let (_, after) = split_by_load(&js, &[&a, &b]).await;
    assert_eq!(after, split, "a few nodes more moved partitions");
    a.shutdown().await;
    b.shutdown().await;
}
