//! Fenced ownership (issue 23): an instance whose connection is cut stops
//! serving its partitions before anyone else can take them over, a stale
//! owner's summary write is refused by the bucket, and under random cuts,
//! pauses and kills of three instances no partition is ever served by two.

mod harness;

use std::time::Instant;

use async_nats::jetstream::{self, kv};
use fleetgov_nats::subject::{SUMMARIES_BUCKET, summary_key};
use fleetgov_nats::{ClusterSummary, FleetClient, RetryPolicy, demo};
use futures_util::StreamExt;
use harness::owners::{Tenures, assert_no_overlap, record};
use harness::process::IngestProcess;
use harness::{NatsServer, Proxy, config, engine, split_by_load};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_cut_off_stops_serving_before_its_partitions_move() {
    let Some(server) = NatsServer::start().await else { return };
    let proxy = Proxy::start(&server).await;
    let (nats_a, nats_b) = (proxy.connect().await, server.connect().await);
    let (replica_a, replica_b) = (engine(&nats_a, 8).await, engine(&nats_b, 8).await);
    let a = replica_a.serve(nats_a, config("ingest-a")).await.unwrap();
    let b = replica_b.serve(nats_b, config("ingest-b")).await.unwrap();
    let (history_a, history_b) = (record(a.lease_log()), record(b.lease_log()));
    let js = jetstream::new(server.connect().await);
    split_by_load(&js, &[&a, &b]).await;
    let held_by_a = a.owned_partitions();

    proxy.cut();
    let cut = Instant::now();
    fleetgov_testkit::eventually("a to stop serving and b to own every partition", || async {
        let (status_a, owned_b) = (a.status(), b.owned_partitions());
        let done =
            status_a.partitions.is_empty() && status_a.clusters.is_empty() && owned_b.len() == harness::PARTITIONS;
        if done { Ok(()) } else { Err(format!("a {status_a:?}, b {owned_b:?}")) }
    })
    .await;
    assert!(a.status().last_error.is_some(), "the failed rounds are reported: {:?}", a.status());

    // Back on the network, a rejoins and gets its share by load again.
    proxy.heal();
    split_by_load(&js, &[&a, &b]).await;
    a.shutdown().await;
    b.shutdown().await;
    let (history_a, history_b) = (history_a.await.unwrap(), history_b.await.unwrap());

    // Every partition a held was taken over by b, and only after a's
    // deadline for it: no moment with two instances serving it.
    for partition in held_by_a {
        let b_took_it = history_b.values().any(|t| t.partition == partition && t.since > cut);
        assert!(b_took_it, "b never took p{partition} over: {history_b:?}");
    }
    assert_no_overlap(&[("ingest-a", &history_a), ("ingest-b", &history_b)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_owners_summary_write_is_refused() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let replica = engine(&nats, 3).await;
    let instance = replica.serve(nats.clone(), config("ingest-1")).await.unwrap();
    let js = jetstream::new(server.connect().await);
    let key = summary_key("eks-prod-us").unwrap();
    let store = js.get_key_value(SUMMARIES_BUCKET).await.unwrap();
    let current = || async {
        let entry = store.entry(key.clone()).await.unwrap().expect("a summary");
        (entry.revision, serde_json::from_slice::<ClusterSummary>(&entry.value).unwrap())
    };
    let first = fleetgov_testkit::eventually("the instance's own summary of eks-prod-us", || async {
        let (_, summary) = current().await;
        if summary.restoring { Err(format!("{summary:?}")) } else { Ok(summary) }
    })
    .await;

    // Someone else writes the key (as a new owner taking it over would):
    // from now on the instance's tenure is stale for this cluster.
    let (_, mut theirs) = current().await;
    theirs.owner = "usurper".to_owned();
    let usurped = store.put(&key, serde_json::to_vec(&theirs).unwrap().into()).await.unwrap();
    let mut later = store.watch_from_revision(&key, usurped + 1).await.unwrap();

    // A change of the cluster makes the instance put its summary.
    let client = FleetClient::new(server.connect().await, RetryPolicy::default()).await.unwrap();
    client.enroll(demo::WORKSPACE, "eks-prod-us", &["gw-new"]).await.unwrap();

    // The bucket refused that put: the next value of the key is not the
    // old tenure's. The instance let the partition go and took it over
    // again, as a new tenure, restoring first.
    let next = fleetgov_testkit::within("the next write of the key", later.next()).await.unwrap().unwrap();
    assert_eq!(next.operation, kv::Operation::Put);
    let next: ClusterSummary = serde_json::from_slice(&next.value).unwrap();
    assert!(next.restoring && next.lease != first.lease, "the stale tenure's write landed: {next:?}");
    assert_eq!(next.owner, "ingest-1");
    // And the instance serves the cluster again, under the new tenure.
    fleetgov_testkit::until("the new tenure's own summary", || async {
        let (_, summary) = current().await;
        !summary.restoring && summary.lease == next.lease && summary.enrolled == 1
    })
    .await;
    instance.shutdown().await;
}

/// A small deterministic generator for the chaos schedule (xorshift64*).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// One instance of the chaos test: its proxy, and its running incarnation,
/// a process of its own.
struct Member {
    id: String,
    proxy: Proxy,
    running: Option<IngestProcess>,
    histories: Vec<Tenures>,
}

impl Member {
    fn start(&mut self) {
        self.running = Some(IngestProcess::spawn(&self.proxy.url, &self.id, &[]));
    }

    fn kill(&mut self) {
        if let Some(process) = self.running.take() {
            self.histories.push(process.kill());
        }
    }
}

/// Three ingest processes, each behind a proxy; at random, one is cut off
/// the network, healed, paused (`SIGSTOP`) or resumed (`SIGCONT`), killed
/// or restarted, a few rounds (`FLEETGOV_SLOW=1`: many). From every
/// incarnation's lease history: no two ever served a partition at the same
/// time, and in the end every partition is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_random_cuts_pauses_and_kills_no_partition_is_ever_served_twice() {
    let Some(server) = NatsServer::start().await else { return };
    let _authority = engine(&server.connect().await, 8).await;
    let rounds = if std::env::var_os("FLEETGOV_SLOW").is_some() { 40 } else { 6 };
    let seed = std::env::var("FLEETGOV_CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1
    });
    eprintln!("chaos seed {seed} (FLEETGOV_CHAOS_SEED), {rounds} rounds");
    let mut dice = Dice(seed);
    let mut members = Vec::new();
    for id in ["ingest-a", "ingest-b", "ingest-c"] {
        let mut member =
            Member { id: id.to_owned(), proxy: Proxy::start(&server).await, running: None, histories: vec![] };
        member.start();
        members.push(member);
    }
    for _ in 0..rounds {
        let member = &mut members[dice.below(3) as usize];
        match (dice.below(4), member.running.as_mut()) {
            (0, _) => member.proxy.cut(),
            (1, _) => member.proxy.heal(),
            (2, Some(process)) if process.is_paused() => process.resume(),
            (2, Some(process)) => process.pause(),
            (_, Some(_)) => member.kill(), // nothing released
            (_, None) => {
                member.proxy.heal(); // a restarted instance starts on a working network
                member.start();
            }
        }
        eprintln!("{}: {:?}", member.id, member.running.as_ref().map(|p| (p.is_paused(), p.held())));
        // Let leases run out and move: up to two lease TTLs.
        tokio::time::sleep(std::time::Duration::from_millis(200 + dice.below(4_000))).await;
    }
    for member in &mut members {
        member.proxy.heal();
        match member.running.as_mut() {
            Some(process) if process.is_paused() => process.resume(),
            Some(_) => {}
            None => member.start(),
        }
    }
    fleetgov_testkit::eventually("every partition served once, once the network is whole", || async {
        let mut owned: Vec<u32> = members.iter().filter_map(|m| m.running.as_ref()).flat_map(|p| p.held()).collect();
        owned.sort_unstable();
        if owned == (0..harness::PARTITIONS as u32).collect::<Vec<_>>() { Ok(()) } else { Err(format!("{owned:?}")) }
    })
    .await;
    let mut histories = Vec::new();
    for member in &mut members {
        if let Some(process) = member.running.take() {
            member.histories.push(process.stop());
        }
        histories.extend(member.histories.drain(..).map(|history| (member.id.clone(), history)));
    }
    let named: Vec<(&str, &Tenures)> = histories.iter().map(|(id, t)| (id.as_str(), t)).collect();
    assert!(named.iter().map(|(_, t)| t.len()).sum::<usize>() >= harness::PARTITIONS, "the lease histories were read");
    assert_no_overlap(&named);
}
