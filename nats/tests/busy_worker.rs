//! An instance whose worker is busy for longer than a lease lives keeps its
//! leases: they are renewed by a task of their own, whatever the worker
//! waits on, so it neither stops serving its partitions nor restores them
//! afresh. Busy on engine work (a summary scan of a large cluster, a journal
//! export after a million first reports), or on NATS (every summary put
//! waiting out its timeout on a bucket that does not answer).

mod harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use fleetgov_nats::Instance;
use fleetgov_nats::lease::{LeaseLog, safety_margin};
use fleetgov_nats::subject::SUMMARIES_BUCKET;
use futures_util::StreamExt;
use harness::{NatsServer, PARTITIONS, config, engine, serving};

/// The tokens of the leases held.
fn tokens(log: &LeaseLog) -> Vec<u64> {
    log.held.iter().map(|l| l.token).collect()
}

/// Waits until `instance` owns, has restored and serves every partition
/// and `clusters` clusters.
async fn settled(instance: &Instance, clusters: usize) {
    fleetgov_testkit::eventually("every partition owned, restored and served", || async {
        let status = instance.status();
        let done = status.restored.len() == PARTITIONS && status.clusters.len() == clusters;
        if done { Ok(()) } else { Err(format!("{status:?}")) }
    })
    .await;
}

/// Checks that the leases held `during` a busy spell ending `now` are those
/// held `before` it, none past its deadline, and that no tenure ended.
fn held_throughout(before: &LeaseLog, during: &LeaseLog, now: Instant) {
    assert_eq!(during.held.len(), PARTITIONS, "{during:?}");
    assert_eq!(tokens(during), tokens(before), "the same tenures throughout");
    let lapsed: Vec<u32> = during.held.iter().filter(|l| l.serve_until <= now).map(|l| l.partition).collect();
    assert!(lapsed.is_empty(), "leases past their deadline while the worker was busy: {lapsed:?}");
    assert_eq!(during.ended, before.ended, "no tenure ended");
}

#[test]
fn leases_are_renewed_while_the_worker_waits_on_engine_work() {
    // One blocking thread: the test occupies it, and every engine call the
    // instance's worker makes waits behind it, as it would behind a long one.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let Some(server) = NatsServer::start().await else { return };
        let serving = serving(&server).await;
        let instance = &serving.instance;
        settled(instance, 3).await;
        let before = instance.lease_log().borrow().clone();

        let (release, hold) = mpsc::channel::<()>();
        let blocker = tokio::task::spawn_blocking(move || {
            let _ = hold.recv();
        });
        // Three lease lifetimes: a lease not renewed meanwhile is past its deadline.
        tokio::time::sleep(config("ingest-1").lease_ttl * 3).await;
        let (during, now) = (instance.lease_log().borrow().clone(), Instant::now());
        release.send(()).unwrap();
        blocker.await.unwrap();

        held_throughout(&before, &during, now);
        let status = instance.status();
        assert_eq!(status.restored.len(), PARTITIONS, "{status:?}");
        serving.instance.shutdown().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_are_renewed_while_the_worker_waits_on_a_bucket_that_does_not_answer() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let clusters = 8;
    let replica = engine(&nats, clusters).await;
    let config = config("ingest-1");
    let instance = replica.serve(nats.clone(), config.clone()).await.unwrap();
    settled(&instance, clusters).await;
    let before = instance.lease_log().borrow().clone();

    // The summary bucket stops answering: its stream is gone and a
    // subscriber that never replies takes its puts, so every put the worker
    // makes waits out its timeout (the safety margin), one cluster after
    // another, as on a bucket whose stream has lost its leader.
    let admin = server.connect().await;
    let js = async_nats::jetstream::new(admin.clone());
    js.delete_stream(format!("KV_{SUMMARIES_BUCKET}")).await.unwrap();
    let mut silent = admin.subscribe(format!("$KV.{SUMMARIES_BUCKET}.>")).await.unwrap();
    admin.flush().await.unwrap();
    let puts = Arc::new(AtomicU64::new(0));
    let counted = puts.clone();
    let swallow = tokio::spawn(async move {
        while silent.next().await.is_some() {
            // Relaxed: a count read on its own once the spell is over.
            counted.fetch_add(1, Ordering::Relaxed);
        }
    });
    // Three lease lifetimes: a lease not renewed meanwhile is past its deadline.
    tokio::time::sleep(config.lease_ttl * 3).await;
    let (during, now) = (instance.lease_log().borrow().clone(), Instant::now());
    swallow.abort();

    held_throughout(&before, &during, now);
    // And the worker was busy: it spent at least two lease lifetimes
    // waiting on puts. Relaxed: see above.
    let waited = safety_margin(config.lease_ttl) * u32::try_from(puts.load(Ordering::Relaxed)).unwrap();
    assert!(waited >= config.lease_ttl * 2, "the worker waited {waited:?} on summary puts");
    let status = instance.status();
    assert_eq!(status.restored.len(), PARTITIONS, "{status:?}");
    drop(instance);
}
