//! The audit log over JetStream: two instances appending at once never fork
//! the chain, authority reaches every instance, and `FLEET_AUTHORITY` holds
//! exactly the authority changes, in chain order.

mod harness;

use std::sync::Arc;

use fleetgov::audit::AuditRecord;
use fleetgov::{ClusterSpec, Engine, EngineConfig, Environment, ForceTarget, Override, Role, WorkspaceSpec};
use fleetgov_nats::audit::{AUDIT_STREAM, AUTHORITY_STREAM};
use fleetgov_nats::{Replica, StreamOptions};
use fleetgov_testkit::until;
use harness::NatsServer;

async fn replica(nats: &async_nats::Client) -> Replica {
    Replica::open(nats, EngineConfig::default(), &StreamOptions::default()).await.unwrap()
}

/// Runs `f` with `engine` on a blocking thread (engine calls may wait for the stream).
async fn with<T: Send + 'static>(engine: &Arc<Engine>, f: impl FnOnce(&Engine) -> T + Send + 'static) -> T {
    let engine = Arc::clone(engine);
    tokio::task::spawn_blocking(move || f(&engine)).await.unwrap()
}

fn setup(e: &Engine) {
    e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    e.upsert_cluster(ClusterSpec::new("eks-prod-us", "ws", Environment::Production)).unwrap();
    e.enroll("gw-1", "eks-prod-us", 1).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_appending_at_once_never_fork_the_chain() {
    let Some(server) = NatsServer::start().await else { return };
    let (a, b) = (replica(&server.connect().await).await, replica(&server.connect().await).await);
    with(&a.engine(), setup).await;
    const EACH: u32 = 20;
    let writers = [("alice", a.engine()), ("bob", b.engine())].map(|(name, engine)| {
        tokio::task::spawn_blocking(move || {
            for i in 0..EACH {
                engine.publish("eks-prod-us", format!("{name} {i}").as_bytes(), name, 1).unwrap();
                let by = Override::new(name, Role::Operator, "incident 42", 1);
                engine.force_sync(ForceTarget::Cluster("eks-prod-us"), &by).unwrap();
            }
        })
    });
    for writer in writers {
        writer.await.unwrap();
    }
    let head_a = with(&a.engine(), |e| e.catch_up().and_then(|_| e.verify_audit()).unwrap()).await;
    let head_b = with(&b.engine(), |e| e.catch_up().and_then(|_| e.verify_audit()).unwrap()).await;
    assert_eq!(head_a, head_b);
    assert_eq!(head_a.size, 2 + 4 * EACH as u64, "every append landed once");
    // Forty publishes, forty revisions: none was taken twice.
    let desired = with(&b.engine(), |e| e.desired("eks-prod-us").unwrap().unwrap()).await;
    assert_eq!(desired.revision, 2 * EACH);

    // The stream itself holds the same chain, message k + 1 = record k.
    let js = async_nats::jetstream::new(server.connect().await);
    let stream = js.get_stream(AUDIT_STREAM).await.unwrap();
    let mut records = Vec::new();
    for message in 1..=head_a.size {
        records.push(AuditRecord::from_frame(&stream.get_raw_message(message).await.unwrap().payload).unwrap());
    }
    assert_eq!(fleetgov::audit::verify_records(&records).unwrap(), head_a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authority_reaches_every_instance_and_comes_back_after_a_restart() {
    let Some(server) = NatsServer::start().await else { return };
    let a = replica(&server.connect().await).await;
    let b = replica(&server.connect().await).await;
    let published = with(&a.engine(), |e| {
        setup(e);
        let by = Override::new("alice", Role::Operator, "incident 42", 1);
        e.force_sync(ForceTarget::Node("gw-1"), &by).unwrap();
        e.publish("eks-prod-us", b"v1", "alice", 1).unwrap()
    })
    .await;
    // b learns of it without being asked (its replica follows the stream).
    let engine_b = b.engine();
    until("b applies a's publish", || async {
        engine_b.desired("eks-prod-us").ok().flatten() == Some(published.clone())
    })
    .await;
    assert_eq!(b.follow_error(), None);
    assert_eq!(&*engine_b.artifact(&published.hash).unwrap(), b"v1");

    let head = with(&a.engine(), |e| e.verify_audit().unwrap()).await;
    drop(a);
    let c = replica(&server.connect().await).await;
    let engine_c = c.engine();
    assert_eq!(with(&engine_c, |e| e.verify_audit().unwrap()).await, head);
    assert_eq!(engine_c.desired("eks-prod-us").unwrap().unwrap(), published);
    assert_eq!(engine_c.workspace("ws").unwrap(), WorkspaceSpec::new("ws"));

    // FLEET_AUTHORITY: the workspace, the cluster and the publish, not the override.
    let js = async_nats::jetstream::new(server.connect().await);
    let mut authority = js.get_stream(AUTHORITY_STREAM).await.unwrap();
    until("FLEET_AUTHORITY to hold 3 messages", || {
        let mut authority = authority.clone();
        async move { authority.info().await.is_ok_and(|i| i.state.messages >= 3) }
    })
    .await;
    assert_eq!(authority.info().await.unwrap().state.messages, 3);
    let mut seqs = Vec::new();
    for message in 1..=3 {
        let frame = authority.get_raw_message(message).await.unwrap().payload;
        seqs.push(AuditRecord::from_frame(&frame).unwrap().seq);
    }
    assert_eq!(seqs, [0, 1, 3]);
    // Both streams are append-only.
    let audit = js.get_stream(AUDIT_STREAM).await.unwrap();
    assert!(audit.purge().await.is_err());
    assert!(audit.delete_message(1).await.is_err());
    assert!(authority.purge().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_that_breaks_the_chain_is_reported_and_changes_nothing() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let a = replica(&nats).await;
    let head = with(&a.engine(), |e| {
        setup(e);
        e.verify_audit().unwrap()
    })
    .await;
    // Someone appends a copy of record 0 as record 2: its sequence number and
    // prev hash do not continue the chain.
    let forged = with(&a.engine(), |e| e.audit_record(0).unwrap().to_frame()).await;
    let js = async_nats::jetstream::new(nats.clone());
    let publish =
        async_nats::jetstream::message::PublishMessage::build().payload(forged.into()).expected_last_sequence(2);
    js.send_publish("fleet.audit.upsert_workspace", publish).await.unwrap().await.unwrap();

    until("the follower to report the forged record", || async { a.follow_error().is_some() }).await;
    assert!(a.follow_error().unwrap().contains("AUDIT_TAMPERED"), "{:?}", a.follow_error());
    assert_eq!(with(&a.engine(), |e| e.verify_audit().unwrap()).await, head, "nothing was adopted");
    // A new replica refuses the stream outright.
    let refused = Replica::open(&nats, EngineConfig::default(), &StreamOptions::default()).await.err();
    assert_eq!(refused.and_then(|e| e.kind()), Some(fleetgov::ErrorKind::AuditTampered));
}
