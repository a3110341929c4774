//! Bad input over NATS: a typed error reply, and nothing changed; a record
//! sent on another cluster's subject refused and never applied.

mod harness;

use std::time::Duration;

use fleetgov::record::{HeartbeatRecord, Outcome, RECORD_SIZE};
use fleetgov::{ErrorKind, Metrics, ProcessStatus};
use fleetgov_nats::{FleetClient, Instance, RetryPolicy, demo};
use harness::{NatsServer, config, engine, now_ms};
use zerocopy::IntoBytes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_error_replies_and_change_nothing() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let replica = engine(&nats, 3).await;
    let engine = replica.engine();
    let instance = Instance::start(nats.clone(), config("ingest-1"), engine.clone()).await.unwrap();
    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    let ws = demo::WORKSPACE;
    let handles = client.enroll(ws, "gke-stage-eu", &["gw-1", "gw-2"]).await.unwrap();
    let version = "3.6.1".parse().unwrap();
    let good = |i: usize| {
        HeartbeatRecord::new(handles[i], now_ms(), version, ProcessStatus::Ready, Metrics::default())
            .with_applied(2, demo::hash("gke-stage-eu", 2))
    };
    let before = engine.cluster("gke-stage-eu", now_ms()).unwrap();
    assert_eq!((before.total, before.in_sync), (2, 0));

    // A batch that is not a whole number of records.
    let e = client.send_batch(ws, "gke-stage-eu", &[0u8; RECORD_SIZE + 5]).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::InvalidInput), "{e}");
    // A good record followed by a bad one (unknown format version): the good one is not applied either.
    let mut batch = [good(0), good(1)].as_bytes().to_vec();
    batch[RECORD_SIZE] = 99;
    let e = client.send_batch(ws, "gke-stage-eu", &batch).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::InvalidInput));
    assert!(e.to_string().contains("record 1"), "{e}");
    // A NaN metric.
    let nan = HeartbeatRecord::new(
        handles[0],
        now_ms(),
        version,
        ProcessStatus::Ready,
        Metrics { cpu: f32::NAN, ..Metrics::default() },
    );
    let e = client.send_batch(ws, "gke-stage-eu", nan.as_bytes()).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::InvalidInput));
    assert_eq!(engine.cluster("gke-stage-eu", now_ms()).unwrap(), before, "nothing was applied");

    // Enrollment: a bad id, and a node enrolled in another cluster, refuse the whole request.
    let e = client.enroll(ws, "gke-stage-eu", &["gw-3", "gw 4"]).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::InvalidInput));
    let e = client.enroll(ws, "eks-prod-us", &["gw-5", "gw-1"]).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::Conflict), "{e}");
    assert!(engine.node_handle("gw-3").is_err() && engine.node_handle("gw-5").is_err(), "nobody enrolled");
    let raw = nats.request("fleet.enroll.acme-edge.gke-stage-eu", bytes::Bytes::new()).await.unwrap();
    let e = fleetgov_nats::wire::reply_error(raw.headers.as_ref()).expect("an error reply");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(raw.payload.is_empty());

    // The good batch still goes through afterwards.
    let outcomes = client.send_batch(ws, "gke-stage-eu", [good(0), good(1)].as_bytes()).await.unwrap();
    assert_eq!(outcomes.len(), 2);
    assert_eq!(engine.cluster("gke-stage-eu", now_ms()).unwrap().in_sync, 2);
    instance.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_in_an_unknown_cluster_errors() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let replica = engine(&nats, 3).await;
    let instance = replica.serve(nats.clone(), config("ingest-1")).await.unwrap();
    let retry = RetryPolicy { attempts: 3, first_backoff: Duration::from_millis(10), ..RetryPolicy::default() };
    let client = FleetClient::new(server.connect().await, retry).await.unwrap();
    // No instance serves a cluster its engine does not know: nobody answers,
    // the client retries (the cluster might be between owners), then gives up.
    let e = client.enroll(demo::WORKSPACE, "no-such-cluster", &["gw-1"]).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    assert!(e.to_string().contains("no responders"), "{e}");
    // A known cluster under the wrong workspace is just as unknown.
    let e = client.enroll("other-ws", "gke-stage-eu", &["gw-1"]).await.unwrap_err();
    assert!(e.is_retryable(), "{e}");
    // Ids that cannot even form a subject never leave the client.
    let e = client.enroll(demo::WORKSPACE, "a*b", &["gw-1"]).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::InvalidInput));
    instance.shutdown().await;
}

/// Issue 18, defect 7: a record on `fleet.hb.<ws>.<cluster>` was applied to
/// whatever node its handle named, across every cluster the instance owns.
/// A record whose node is enrolled in another cluster is refused with its
/// own outcome (6, `WrongCluster`), counted, and never applied; the records
/// of the subject's own nodes in the same batch still apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_not_bound_to_their_subject_are_refused() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let replica = engine(&nats, 3).await;
    let engine = replica.engine();
    let instance = Instance::start(nats.clone(), config("ingest-1"), engine.clone()).await.unwrap();
    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    let ws = demo::WORKSPACE;
    // One instance serves both clusters, so its engine knows both handles.
    let stage = client.enroll(ws, "gke-stage-eu", &["gw-stage"]).await.unwrap()[0];
    let prod = client.enroll(ws, "eks-prod-us", &["gw-prod"]).await.unwrap()[0];
    let version = "3.6.1".parse().unwrap();
    let record = |handle, cluster| {
        HeartbeatRecord::new(handle, now_ms(), version, ProcessStatus::Ready, Metrics::default())
            .with_applied(2, demo::hash(cluster, 2))
    };
    // Views at one moment, before and after: only what was applied can differ.
    let t = now_ms();
    let prod_before = engine.cluster("eks-prod-us", t).unwrap();
    let node_before = engine.node("gw-prod", t).unwrap();
    assert_eq!(node_before.last_heartbeat_ms, None);

    // The production node's record, sent on the staging subject beside a staging node's.
    let batch = [record(stage, "gke-stage-eu"), record(prod, "eks-prod-us")];
    let outcomes = client.send_batch(ws, "gke-stage-eu", batch.as_bytes()).await.unwrap();
    let got: Vec<_> = outcomes.iter().map(|o| o.outcome()).collect();
    assert_eq!(got, [Some(Outcome::Accepted), Some(Outcome::WrongCluster)]);
    assert_eq!(outcomes[1].directive(), None);
    assert_eq!(instance.wrong_cluster_records(), 1);
    // Never applied: the production node and its cluster are as they were.
    assert_eq!(engine.node("gw-prod", t).unwrap(), node_before);
    assert_eq!(engine.cluster("eks-prod-us", t).unwrap(), prod_before);
    assert_eq!(engine.cluster("gke-stage-eu", now_ms()).unwrap().in_sync, 1);

    // The other way round too, and on its own subject the record applies.
    let outcomes = client.send_batch(ws, "eks-prod-us", record(stage, "gke-stage-eu").as_bytes()).await.unwrap();
    assert_eq!(outcomes[0].outcome(), Some(Outcome::WrongCluster));
    assert_eq!(instance.wrong_cluster_records(), 2);
    let outcomes = client.send_batch(ws, "eks-prod-us", record(prod, "eks-prod-us").as_bytes()).await.unwrap();
    assert_eq!(outcomes[0].outcome(), Some(Outcome::Accepted));
    assert_eq!(engine.cluster("eks-prod-us", now_ms()).unwrap().in_sync, prod_before.in_sync + 1);
    assert_eq!(instance.wrong_cluster_records(), 2);
    instance.shutdown().await;
}
