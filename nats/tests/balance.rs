//! Balance by load (issue 23): eight clusters of different sizes over two
//! instances end split by nodes as the balance plan has it, and a few
//! nodes more move nothing. The unit moved is a partition: with the
//! default sixteen the eight demo clusters hash into five partitions (three
//! share one), and the nodes end within one partition's load; with 64
//! partitions each cluster has its own, and the nodes end within one
//! cluster's size.

mod harness;

use std::collections::BTreeMap;
use std::num::NonZeroU32;

use fleetgov_nats::balance::{instance_loads, spread};
use fleetgov_nats::load::{ClusterPlan, SimFleet};
use fleetgov_nats::partition::{DEFAULT_PARTITIONS, partition_of};
use fleetgov_nats::{FleetClient, FleetView, Instance, RetryPolicy, demo};
use harness::{NatsServer, config, engine, split_by_load_of, view_until};

const CLUSTERS: usize = 8;

/// Cluster `i`'s nodes: 20 to 230, all different.
fn size(i: usize) -> usize {
    20 + 30 * i
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
async fn eight_clusters_of_different_sizes_split_by_nodes_within_one_partition() {
    split_eight_clusters(DEFAULT_PARTITIONS, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_partition_per_cluster_they_split_within_one_clusters_size() {
    split_eight_clusters(NonZeroU32::new(64).unwrap(), true).await;
}

/// Eight clusters of different sizes over two instances sharing
/// `partitions` partitions; `apart` when no two clusters may share one.
async fn split_eight_clusters(partitions: NonZeroU32, apart: bool) {
    let Some(server) = NatsServer::start().await else { return };
    let (nats_a, nats_b) = (server.connect().await, server.connect().await);
    let (replica_a, replica_b) = (engine(&nats_a, CLUSTERS).await, engine(&nats_b, CLUSTERS).await);
    // A partition handed over before its nodes' first reports reached
    // their owner waits for them no longer than this: the agents here
    // report once.
    let handover_wait = std::time::Duration::from_secs(2);
    let config = |id: &str| fleetgov_nats::InstanceConfig { partitions, handover_wait, ..config(id) };
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

    let (loads, split) = split_by_load_of(&js, &[&a, &b], partitions).await;
    // The partitions' loads are the clusters' sizes.
    let mut by_partition = vec![0u64; partitions.get() as usize];
    for (cluster, nodes) in &sizes {
        by_partition[partition_of(cluster, partitions) as usize] += nodes;
    }
    assert_eq!(loads, by_partition);
    let per = instance_loads(&loads, &split);
    let shared = sizes.len() > loads.iter().filter(|&&l| l > 0).count();
    assert_eq!(shared, !apart, "clusters sharing a partition among {partitions}: {loads:?}");
    let bound = *loads.iter().max().unwrap(); // the largest cluster when none shares its partition
    eprintln!("{partitions} partitions: nodes per instance {per:?}, bound {bound}, loads by partition {loads:?}");
    assert_eq!(per.values().sum::<u64>(), sizes.values().sum::<u64>());
    assert!(spread(&loads, &split) <= bound, "{per:?} more than {bound} apart");
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
    let (_, after) = split_by_load_of(&js, &[&a, &b], partitions).await;
    assert_eq!(after, split, "a few nodes more moved partitions");
    a.shutdown().await;
    b.shutdown().await;
}
