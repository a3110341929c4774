//! Heartbeats end to end through a real nats-server: enrollment, batches,
//! outcomes with a reconcile directive, the artifact fetched and verified,
//! the cluster's summary in KV.

mod harness;

use fleetgov::record::{HeartbeatRecord, Outcome};
use fleetgov::{ClusterStatus, ContentHash, Metrics, ProcessStatus};
use fleetgov_nats::{Artifacts, Error, FleetClient, Instance, RetryPolicy, demo};
use harness::{NatsServer, config, engine, now_ms, view_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_flow_end_to_end() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let replica = engine(&nats, 3).await;
    let engine = replica.engine();
    let instance = Instance::start(nats.clone(), config("ingest-1"), engine.clone()).await.unwrap();
    assert_eq!(
        instance.owned_partitions(),
        (0..harness::PARTITIONS as u32).collect::<Vec<_>>(),
        "alone, it owns every partition"
    );

    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    let ids: Vec<String> = (0..10).map(|i| format!("gw-stage-{i}")).collect();
    let mut stage = client.enroll_cluster(demo::WORKSPACE, "gke-stage-eu", ids.clone()).await.unwrap();
    assert_eq!(engine.cluster("gke-stage-eu", now_ms()).unwrap().total, 10);
    // Enrolling again returns the same handles.
    let again = client.enroll(demo::WORKSPACE, "gke-stage-eu", &ids).await.unwrap();
    assert_eq!(again, (0..10).map(|i| stage.handle(i).unwrap()).collect::<Vec<_>>());

    // Every node runs revision 1; the cluster auto-reconciles to revision 2.
    let version = "3.6.1".parse().unwrap();
    let at = now_ms();
    let members: Vec<usize> = (0..10).collect();
    let record = |revision: u32, at: u64| {
        move |_: usize, handle| {
            HeartbeatRecord::new(handle, at, version, ProcessStatus::Ready, Metrics::default())
                .with_applied(revision, demo::hash("gke-stage-eu", revision))
        }
    };
    let outcomes = client.report(&mut stage, &members, record(1, at)).await.unwrap();
    let r2 = demo::hash("gke-stage-eu", 2);
    for o in &outcomes {
        assert_eq!(o.outcome(), Some(Outcome::Reconcile));
        assert_eq!(o.directive(), Some((2, r2)));
    }
    let bytes = client.fetch_artifact(&r2).await.unwrap();
    assert_eq!(bytes, demo::config("gke-stage-eu", 2));
    assert_eq!(ContentHash::of(&bytes), r2);

    // Seven nodes apply it; three stay behind.
    let outcomes = client.report(&mut stage, &members[..7], record(2, at + 1)).await.unwrap();
    assert!(outcomes.iter().all(|o| o.outcome() == Some(Outcome::Accepted) && o.directive().is_none()));
    let view = engine.cluster("gke-stage-eu", now_ms()).unwrap();
    assert_eq!((view.in_sync, view.total, view.cohesion, view.status), (7, 10, 70, ClusterStatus::Syncing));

    // A production cluster without auto-reconcile, all in sync.
    let mut prod = client.enroll_cluster(demo::WORKSPACE, "eks-prod-us", vec!["gw-prod-1".into()]).await.unwrap();
    let outcomes = client
        .report(&mut prod, &[0], |_, handle| {
            HeartbeatRecord::new(handle, at, version, ProcessStatus::Ready, Metrics::default())
                .with_applied(2, demo::hash("eks-prod-us", 2))
        })
        .await
        .unwrap();
    assert_eq!(outcomes[0].outcome(), Some(Outcome::Accepted));

    // The owner writes the summaries; the merged view adds them up.
    let js = async_nats::jetstream::new(server.connect().await);
    let view = view_until(&js, "summaries of the heartbeats", |view| {
        view.clusters.get("gke-stage-eu").is_some_and(|s| s.in_sync == 7)
            && view.clusters.get("eks-prod-us").is_some_and(|s| s.in_sync == 1)
    })
    .await;
    let stage_summary = &view.clusters["gke-stage-eu"];
    assert_eq!(stage_summary.owner, "ingest-1");
    assert_eq!((stage_summary.enrolled, stage_summary.cohesion, stage_summary.desired_revision), (10, 70, 2));
    assert_eq!(stage_summary.revisions.iter().map(|r| (r.revision, r.nodes)).collect::<Vec<_>>(), [(1, 3), (2, 7)]);
    let t = &view.totals;
    assert_eq!((t.clusters, t.enrolled, t.in_sync, t.cohesion, t.cohesion_bp, t.stale), (3, 11, 8, 72, 7_272, 0));
    assert_eq!((t.healthy, t.syncing, t.divergent), (2, 1, 0), "azure-dev-west is empty, hence healthy");
    instance.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifacts_are_verified_by_hash() {
    let Some(server) = NatsServer::start().await else { return };
    let js = async_nats::jetstream::new(server.connect().await);
    let artifacts = Artifacts::open(&js, 1).await.unwrap();
    let store = js.get_stream("OBJ_FLEET_ARTIFACTS").await.unwrap().info().await.unwrap().config.clone();
    assert_eq!(store.num_replicas, 1, "the artifact store has the replicas asked for");
    let hash = artifacts.put(b"routes: [api]").await.unwrap();
    assert_eq!(artifacts.fetch(&hash).await.unwrap(), b"routes: [api]");

    // Bytes stored under another artifact's hash are refused, not returned.
    let claimed = ContentHash::of(b"the real config");
    let store = js.get_object_store("FLEET_ARTIFACTS").await.unwrap();
    store.put(claimed.to_string().as_str(), &mut &b"a forged config"[..]).await.unwrap();
    match artifacts.fetch(&claimed).await {
        Err(Error::HashMismatch { expected, computed }) => {
            assert_eq!((expected, computed), (claimed, ContentHash::of(b"a forged config")))
        }
        other => panic!("expected a hash mismatch, got {other:?}"),
    }
    let missing = artifacts.fetch(&ContentHash::of(b"never stored")).await.unwrap_err();
    assert_eq!(missing.kind(), Some(fleetgov::ErrorKind::NotFound));
}
