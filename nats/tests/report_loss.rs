//! What a killed owner loses of what it acknowledged: a node's report that
//! changes no revision (a sync error while it keeps running the desired
//! one) is in no journal segment, only in the next node checkpoint. When
//! the owner is killed before that checkpoint, the new owner restores the
//! node's previous report and knows the error only once the node reports
//! again, which it does every heartbeat interval (the crate's README,
//! "What each failure loses").

mod harness;

use std::time::Duration;

use fleetgov::record::{HeartbeatRecord, Outcome};
use fleetgov::{Metrics, ProcessStatus, SyncErrorCode};
use fleetgov_nats::journal::{NODES_STREAM, checkpoints_subject};
use fleetgov_nats::{FleetClient, Instance, InstanceConfig, RetryPolicy, demo};
use harness::{NatsServer, checkpointed, config, engine, now_ms};

const NODES: usize = 4;
const FAILING: usize = 3;

/// The last sequence of partition `partition`'s checkpoint subject.
async fn last_checkpoint(js: &async_nats::jetstream::Context, partition: u32) -> u64 {
    let stream = js.get_stream(NODES_STREAM).await.unwrap();
    stream.get_last_raw_message_by_subject(&checkpoints_subject(partition)).await.map_or(0, |m| m.sequence)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_acknowledged_after_the_last_checkpoint_is_known_again_at_the_nodes_next_heartbeat() {
    let Some(server) = NatsServer::start().await else { return };
    let js = async_nats::jetstream::new(server.connect().await);
    let cluster = demo::clusters(1).remove(0).0;
    let nats_a = server.connect().await;
    let replica_a = engine(&nats_a, 1).await;
    // Checkpoints far enough apart that the kill below falls between two.
    let slow = |id: &str| InstanceConfig { checkpoint_interval: Duration::from_secs(5), ..config(id) };
    let a = replica_a.serve(nats_a, slow("ingest-a")).await.unwrap();
    let partition = a.partition_of(&cluster).unwrap();

    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    let ids: Vec<String> = (0..NODES).map(|i| format!("gw-loss-{i}")).collect();
    let mut nodes = client.enroll_cluster(demo::WORKSPACE, &cluster, ids.clone()).await.unwrap();
    let version = "3.6.1".parse().unwrap();
    let report = |at: u64, failing: bool| {
        let desired = demo::hash(&cluster, 2);
        move |i: usize, handle| {
            let record = HeartbeatRecord::new(handle, at, version, ProcessStatus::Ready, Metrics::default())
                .with_applied(2, desired);
            if failing && i == FAILING {
                record.with_sync_error(SyncErrorCode::ReloadFailure, "bad filter")
            } else {
                record
            }
        }
    };
    let all: Vec<usize> = (0..NODES).collect();
    client.report(&mut nodes, &all, report(now_ms(), false)).await.unwrap();
    checkpointed(&js, &[partition]).await;

    // The error is acknowledged by a; a is killed before its next checkpoint.
    let engine_a = replica_a.engine();
    let before = last_checkpoint(&js, partition).await;
    let outcomes = client.report(&mut nodes, &[FAILING], report(now_ms(), true)).await.unwrap();
    assert_eq!(outcomes[0].outcome(), Some(Outcome::Accepted), "acknowledged");
    assert!(engine_a.node(&ids[FAILING], now_ms()).unwrap().last_sync_error.is_some());
    drop(a);
    assert_eq!(last_checkpoint(&js, partition).await, before, "a checkpoint fell between the report and the kill");

    // b takes over: the node's previous report, without the error.
    let nats_b = server.connect().await;
    let replica_b = engine(&nats_b, 1).await;
    let engine_b = replica_b.engine();
    let b = Instance::start(nats_b, config("ingest-b"), engine_b.clone()).await.unwrap();
    fleetgov_testkit::eventually("b to restore the partition", || async {
        let status = b.status();
        if status.restored.contains(&partition) { Ok(()) } else { Err(format!("{status:?}")) }
    })
    .await;
    let restored = engine_b.node(&ids[FAILING], now_ms()).unwrap();
    assert!(restored.last_heartbeat_ms.is_some(), "the checkpoint's report is restored");
    assert_eq!(restored.last_sync_error, None, "the error acknowledged after the last checkpoint is lost");

    // The node's next heartbeat repeats it: known again.
    client.report(&mut nodes, &[FAILING], report(now_ms(), true)).await.unwrap();
    let error = engine_b.node(&ids[FAILING], now_ms()).unwrap().last_sync_error;
    assert_eq!(error.map(|e| e.code), Some(SyncErrorCode::ReloadFailure));
    b.shutdown().await;
}
