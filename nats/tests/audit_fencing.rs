//! Audit records written on behalf of a partition (issue 23): a
//! reconciliation wave is recorded once whoever opens it, and a stale
//! owner cannot record one; a recorded wave names the lease it was
//! written under.

mod harness;

use std::sync::Arc;

use async_nats::jetstream;
use fleetgov::audit::{AuditAction, AuditRecord};
use fleetgov::{DirectiveKind, Engine, EngineConfig, Heartbeat, snapshot_id};
use fleetgov_nats::audit::{AUDIT_STREAM, StreamStore};
use fleetgov_nats::audit_fence::AuditFence;
use fleetgov_nats::wave::{LEASE_HEADER, PARTITION_HEADER, subject};
use fleetgov_nats::{StreamOptions, demo};
use harness::{NatsServer, config, engine, now_ms};

/// A demo cluster with auto-reconcile on.
const CLUSTER: &str = "gke-stage-eu";

/// Enrols `node` in [`CLUSTER`] and reports revision 1 (the cluster
/// desires 2); the directive's kind, if any.
async fn report_old_revision(engine: &Arc<Engine>, node: &'static str) -> Option<DirectiveKind> {
    let engine = Arc::clone(engine);
    tokio::task::spawn_blocking(move || {
        let at_ms = now_ms();
        let handle = engine.enroll(node, CLUSTER, at_ms).unwrap();
        let snapshot = snapshot_id(CLUSTER, 1);
        let hb = Heartbeat::new(at_ms, "3.6.1".parse().unwrap()).applied(&snapshot, demo::hash(CLUSTER, 1));
        engine.heartbeat(handle, &hb).unwrap().map(|d| d.kind)
    })
    .await
    .unwrap()
}

/// The wave records of [`CLUSTER`] in `FLEET_AUDIT`, with their
/// `Fleet-Partition` and `Fleet-Lease` headers.
async fn waves(js: &jetstream::Context) -> Vec<(AuditRecord, Option<String>, Option<String>)> {
    let stream = js.get_stream(AUDIT_STREAM).await.unwrap();
    let last = stream.cached_info().state.last_sequence;
    let mut found = Vec::new();
    for seq in 1..=last {
        let message = stream.get_raw_message(seq).await.unwrap();
        let record = AuditRecord::from_frame(&message.payload).unwrap();
        if record.action == AuditAction::AutoReconcile && record.target == format!("cluster:{CLUSTER}") {
            assert_eq!(message.subject.as_str(), subject(AuditAction::AutoReconcile, Some(CLUSTER)));
            let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_owned());
            found.push((record, header(PARTITION_HEADER), header(LEASE_HEADER)));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_is_recorded_once_whoever_opens_it() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let js = jetstream::new(nats.clone());
    let first = engine(&nats, 3).await.engine();
    // A second engine over the same stream that follows nobody: it learns
    // of the first one's records only when its own append is refused.
    let store = StreamStore::new(
        js.clone(),
        tokio::runtime::Handle::current(),
        &StreamOptions::default(),
        AuditFence::default(),
    );
    let second =
        tokio::task::spawn_blocking(move || Engine::with_audit_store(EngineConfig::default(), Box::new(store)))
            .await
            .unwrap()
            .map(Arc::new)
            .unwrap();

    assert_eq!(report_old_revision(&first, "gw-a").await, Some(DirectiveKind::Reconcile));
    assert_eq!(waves(&js).await.len(), 1);
    // The second engine opens the same wave: the stream holds it already,
    // so nothing is written, and no directive goes out before the engine
    // has applied the record (audit before effect).
    assert_eq!(report_old_revision(&second, "gw-b").await, None);
    assert_eq!(waves(&js).await.len(), 1, "a second record of one wave");
    let caught_up = Arc::clone(&second);
    tokio::task::spawn_blocking(move || caught_up.catch_up()).await.unwrap().unwrap();
    assert_eq!(report_old_revision(&second, "gw-c").await, Some(DirectiveKind::Reconcile));
    assert_eq!(waves(&js).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owner_cannot_record_a_wave_and_the_owner_names_its_lease() {
    let Some(server) = NatsServer::start().await else { return };
    let (nats_a, nats_b) = (server.connect().await, server.connect().await);
    let js = jetstream::new(nats_b.clone());
    let (replica_a, replica_b) = (engine(&nats_a, 3).await, engine(&nats_b, 3).await);
    let a = replica_a.serve(nats_a, config("ingest-a")).await.unwrap();
    assert_eq!(a.owned_partitions().len(), harness::PARTITIONS);
    // Instance a stops (killed, paused: it renews nothing more) while its
    // engine is still answering a heartbeat it admitted. Its leases
    // expire and b takes every partition over.
    drop(a);
    let b = replica_b.serve(nats_b, config("ingest-b")).await.unwrap();
    fleetgov_testkit::eventually("b to own every partition", || async {
        let owned = b.owned_partitions();
        if owned.len() == harness::PARTITIONS { Ok(()) } else { Err(format!("{owned:?}")) }
    })
    .await;

    let engine_a = replica_a.engine();
    assert_eq!(report_old_revision(&engine_a, "gw-a").await, None, "a stale owner gave a reconcile directive");
    assert!(replica_a.audit_fence().refused() > 0);
    assert!(waves(&js).await.is_empty(), "a stale owner recorded a wave");

    // The owner records it, naming its partition and lease.
    assert_eq!(report_old_revision(&replica_b.engine(), "gw-b").await, Some(DirectiveKind::Reconcile));
    let partition = b.partition_of(CLUSTER).unwrap();
    let token = b.status().leases.iter().find(|l| l.partition == partition).map(|l| l.token).unwrap();
    let recorded = waves(&js).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!((recorded[0].1.clone(), recorded[0].2.clone()), (Some(partition.to_string()), Some(token.to_string())));
    assert_eq!(replica_b.audit_fence().refused(), 0);
    b.shutdown().await;
}
