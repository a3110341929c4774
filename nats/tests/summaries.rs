//! Summaries follow the engine's change feed: with a refresh far longer
//! than any test, a transition still reaches the merged view, steady-state
//! heartbeats put nothing, and an instance never puts a cluster it does
//! not serve, even when its own engine saw the change.

mod harness;

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use fleetgov::record::HeartbeatRecord;
use fleetgov::{ClusterStatus, Metrics, ProcessStatus, SyncErrorCode};
use fleetgov_nats::subject::{SUMMARIES_BUCKET, summary_key};
use fleetgov_nats::{Artifacts, ClusterSummary, FleetClient, Instance, InstanceConfig, RetryPolicy, demo};
use harness::{NatsServer, config, engine, now_ms, split_by_load, view_until};

/// Test timings whose summary refresh never comes during a test: every
/// summary put a test sees was put because something changed.
fn without_refresh(id: &str) -> InstanceConfig {
    InstanceConfig { summary_refresh: Duration::from_secs(3_600), ..config(id) }
}

/// The KV revision of a cluster's summary: it moves with every put of it.
async fn revision(store: &kv::Store, cluster: &str) -> u64 {
    let entry = store.entry(summary_key(cluster).unwrap()).await.unwrap();
    entry.unwrap_or_else(|| panic!("no summary of {cluster}")).revision
}

fn summary_of<'v>(view: &'v fleetgov_nats::FleetView, cluster: &str) -> Option<&'v ClusterSummary> {
    view.clusters.get(cluster)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transitions_are_put_promptly_and_steady_heartbeats_put_nothing() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let replica = engine(&nats, 3).await;
    let instance = replica.serve(nats.clone(), without_refresh("ingest-1")).await.unwrap();
    let js = jetstream::new(server.connect().await);
    let store = js.get_key_value(SUMMARIES_BUCKET).await.unwrap();
    view_until(&js, "the first round's summaries", |v| v.clusters.len() == 3).await;

    // Enrollment moves the count.
    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    let ids: Vec<String> = (0..4).map(|i| format!("gw-prod-{i}")).collect();
    let mut prod = client.enroll_cluster(demo::WORKSPACE, "eks-prod-us", ids).await.unwrap();
    view_until(&js, "the enrollment in the summary", |v| summary_of(v, "eks-prod-us").is_some_and(|s| s.enrolled == 4))
        .await;

    // Every node runs the desired revision; then one falls back to revision 1, failing to reload.
    let version = "3.6.1".parse().unwrap();
    let report = |at: u64, failing: Option<usize>| {
        move |i: usize, handle| {
            let record = HeartbeatRecord::new(handle, at, version, ProcessStatus::Ready, Metrics::default());
            if failing == Some(i) {
                record
                    .with_applied(1, demo::hash("eks-prod-us", 1))
                    .with_sync_error(SyncErrorCode::ReloadFailure, "bad filter")
            } else {
                record.with_applied(2, demo::hash("eks-prod-us", 2))
            }
        }
    };
    let all: Vec<usize> = (0..4).collect();
    let at = now_ms();
    client.report(&mut prod, &all, report(at, None)).await.unwrap();
    view_until(&js, "all four in sync", |v| {
        summary_of(v, "eks-prod-us").is_some_and(|s| s.in_sync == 4 && s.status == ClusterStatus::Healthy)
    })
    .await;
    client.report(&mut prod, &all, report(at + 1, Some(3))).await.unwrap();
    let view = view_until(&js, "the reload failure in the summary", |v| {
        summary_of(v, "eks-prod-us").is_some_and(|s| s.in_sync == 3)
    })
    .await;
    let prod_summary = &view.clusters["eks-prod-us"];
    assert_eq!((prod_summary.cohesion, prod_summary.status), (75, ClusterStatus::Syncing));
    // What the merged view needs to age it: the three verified nodes by the
    // minute their reports stop counting (an hour after they were sent), and
    // the node reporting an error.
    let until: Vec<(u64, u64)> = prod_summary.verified_until.iter().map(|v| (v.until_ms, v.nodes)).collect();
    assert_eq!(until.iter().map(|&(_, n)| n).sum::<u64>(), 3, "{until:?}");
    assert!(until.iter().all(|&(t, _)| t <= at + 1 + 3_600_000 && t + 60_000 > at + 1 + 3_600_000), "{until:?}");
    assert_eq!((prod_summary.cohesion_bp, prod_summary.errors), (7_500, 1));
    assert_eq!(prod_summary.revisions.iter().map(|r| (r.revision, r.nodes)).collect::<Vec<_>>(), [(1, 1), (2, 3)]);
    assert_eq!(
        prod_summary.root_causes.iter().map(|c| (c.code, c.nodes)).collect::<Vec<_>>(),
        [(SyncErrorCode::ReloadFailure, 1)]
    );

    // The same reports again, many times: no transition, so no put. Once a
    // later transition of another cluster is in the view, every change the
    // feed held before it has been put (the feed is ordered): if the steady
    // reports had marked eks-prod-us, its revision would have moved by then.
    let before = revision(&store, "eks-prod-us").await;
    for round in 0..20 {
        client.report(&mut prod, &all, report(at + 2 + round, Some(3))).await.unwrap();
    }
    let mut stage = client.enroll_cluster(demo::WORKSPACE, "gke-stage-eu", vec!["gw-stage-0".into()]).await.unwrap();
    client
        .report(&mut stage, &[0], |_, handle| {
            HeartbeatRecord::new(handle, now_ms(), version, ProcessStatus::Ready, Metrics::default())
                .with_applied(2, demo::hash("gke-stage-eu", 2))
        })
        .await
        .unwrap();
    view_until(&js, "the later transition of gke-stage-eu", |v| {
        summary_of(v, "gke-stage-eu").is_some_and(|s| s.in_sync == 1)
    })
    .await;
    assert_eq!(revision(&store, "eks-prod-us").await, before, "steady-state heartbeats put a summary");
    instance.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_serving_instance_puts_a_cluster_even_when_another_engine_saw_the_change() {
    const CLUSTERS: usize = 8;
    let Some(server) = NatsServer::start().await else { return };
    let (nats_a, nats_b) = (server.connect().await, server.connect().await);
    let (replica_a, replica_b) = (engine(&nats_a, CLUSTERS).await, engine(&nats_b, CLUSTERS).await);
    let engine_a = replica_a.engine();
    let a = Instance::start(nats_a.clone(), without_refresh("ingest-a"), engine_a.clone()).await.unwrap();
    let b = replica_b.serve(nats_b.clone(), without_refresh("ingest-b")).await.unwrap();
    let js = jetstream::new(server.connect().await);
    split_by_load(&js, &[&a, &b]).await;
    let (served_a, served_b) = (a.status().clusters, b.status().clusters);
    let (ours, theirs) = (served_a[0].clone(), served_b[0].clone());
    let store = js.get_key_value(SUMMARIES_BUCKET).await.unwrap();
    view_until(&js, "every cluster's summary by the instance that serves it", |v| {
        v.clusters.len() == CLUSTERS
            && v.clusters.values().all(|s| served_a.contains(&s.cluster) == (s.owner == "ingest-a"))
    })
    .await;

    // Published through a's engine: a's feed sees the change of b's cluster,
    // b's replica applies it and b puts the summary.
    let artifacts = Artifacts::open(&js, 1).await.unwrap();
    artifacts.publish(&engine_a, &theirs, b"routes: [v3]", "alice", now_ms()).await.unwrap();
    let view = view_until(&js, "b's summary of the new revision", |v| {
        summary_of(v, &theirs).is_some_and(|s| s.desired_revision == 3)
    })
    .await;
    assert_eq!(view.clusters[&theirs].owner, "ingest-b");
    let put_by_b = revision(&store, &theirs).await;

    // A later change a serves: once it is in the view, a has handled its
    // mark of b's cluster too (its feed is ordered) and did not put it.
    artifacts.publish(&engine_a, &ours, b"routes: [v3]", "alice", now_ms()).await.unwrap();
    view_until(&js, "a's summary of the new revision", |v| {
        summary_of(v, &ours).is_some_and(|s| s.desired_revision == 3 && s.owner == "ingest-a")
    })
    .await;
    assert_eq!(revision(&store, &theirs).await, put_by_b, "a put the summary of a cluster b serves");
    let value = store.get(summary_key(&theirs).unwrap()).await.unwrap().expect("b's summary");
    assert_eq!(serde_json::from_slice::<ClusterSummary>(&value).unwrap().owner, "ingest-b");
    a.shutdown().await;
    b.shutdown().await;
}
