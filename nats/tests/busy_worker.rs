//! An instance whose worker waits on engine work (a summary scan of a large
//! cluster, a journal export after a million first reports) for longer
//! than a lease lives keeps its leases: they are renewed while it waits, so
//! it neither stops serving its partitions nor restores them afresh.

mod harness;

use std::sync::mpsc;
use std::time::Instant;

use harness::{NatsServer, PARTITIONS, config, serving};

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
        fleetgov_testkit::eventually("every partition owned, restored and served", || async {
            let status = instance.status();
            let done = status.restored.len() == PARTITIONS && !status.clusters.is_empty();
            if done { Ok(()) } else { Err(format!("{status:?}")) }
        })
        .await;
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

        assert_eq!(during.held.len(), PARTITIONS, "{during:?}");
        let tokens = |log: &fleetgov_nats::lease::LeaseLog| log.held.iter().map(|l| l.token).collect::<Vec<_>>();
        assert_eq!(tokens(&during), tokens(&before), "the same tenures throughout");
        let lapsed: Vec<u32> = during.held.iter().filter(|l| l.serve_until <= now).map(|l| l.partition).collect();
        assert!(lapsed.is_empty(), "leases past their deadline while the worker waited: {lapsed:?}");
        assert_eq!(during.ended, before.ended, "no tenure ended");
        let status = instance.status();
        assert_eq!(status.restored.len(), PARTITIONS, "{status:?}");
        serving.instance.shutdown().await;
    });
}
