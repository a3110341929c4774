//! Replicas 3 on a three-server JetStream cluster (issue 23): under load
//! (agents heartbeating, audited operations appending), the server that
//! leads `FLEET_AUDIT` is killed, then one of the two ingest instances.
//! Throughout: no partition served by two instances at once (their lease
//! histories), no summary showing fewer nodes than its cluster has, and
//! every audit record acknowledged to its writer in the stream afterwards.
//! The survivor owns every partition within two lease periods of the
//! instance's death, counted in the survivor's own lease renewals (the
//! lease history is the clock, not the wall).

mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_nats::jetstream::{self, kv};
use fleetgov::audit::AuditRecord;
use fleetgov::{ForceTarget, Override, Role};
use fleetgov_nats::audit::AUDIT_STREAM;
use fleetgov_nats::load::SimFleet;
use fleetgov_nats::subject::{PARTITIONS_BUCKET, SUMMARIES_BUCKET, partition_key};
use fleetgov_nats::{ClusterSummary, FleetClient, InstanceConfig, RetryPolicy, demo};
use futures_util::StreamExt;
use harness::cluster::Cluster;
use harness::owners::{assert_no_overlap, record};
use harness::{config, mostly_current, now_ms, replicated_engine, split_by_load, view_until};

const CLUSTERS: usize = 8;
const NODES_PER_CLUSTER: usize = 40;
/// How many audited operations are acknowledged before the kill, and
/// again after it (`FLEETGOV_SLOW=1`: many more, over a longer run).
fn appends() -> usize {
    if std::env::var_os("FLEETGOV_SLOW").is_some() { 500 } else { 15 }
}

fn r3(id: &str) -> InstanceConfig {
    InstanceConfig { replicas: 3, ..config(id) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_audit_leader_and_an_instance_splits_nothing_hides_nothing_loses_nothing() {
    let started = std::time::Instant::now();
    let phase = |what: &str| eprintln!("{:>6.1} s  {what}", started.elapsed().as_secs_f64());
    let Some(mut servers) = Cluster::start().await else { return };
    phase("three servers");
    let (nats_a, nats_b) = (servers.connect().await, servers.connect().await);
    let replica_a = replicated_engine(&nats_a, CLUSTERS, 3).await;
    let replica_b = replicated_engine(&nats_b, CLUSTERS, 3).await;
    let a = replica_a.serve(nats_a, r3("ingest-a")).await.unwrap();
    let b = replica_b.serve(nats_b, r3("ingest-b")).await.unwrap();
    let (history_a, history_b) = (record(a.lease_log()), record(b.lease_log()));
    let js = jetstream::new(servers.connect().await);
    split_by_load(&js, &[&a, &b]).await;
    phase("two instances, split by load (no nodes yet: eight partitions each)");

    let client = FleetClient::new(servers.connect().await, RetryPolicy::default()).await.unwrap();
    let mut fleet = SimFleet::enroll(client, &mostly_current(CLUSTERS, NODES_PER_CLUSTER), 100, 8).await.unwrap();
    fleet.round(now_ms(), 8).await.unwrap();
    let every_node = |v: &fleetgov_nats::FleetView| {
        v.clusters.len() == CLUSTERS && v.clusters.values().all(|s| !s.stale && s.enrolled == NODES_PER_CLUSTER as u64)
    };
    view_until(&js, "every node in the view", every_node).await;
    // The nodes move the split: it settles before the servers are hurt.
    split_by_load(&js, &[&a, &b]).await;
    view_until(&js, "every node in the view, split by load", every_node).await;
    phase("every node in the view, split by load");

    // From now on every summary put shows each cluster with all its nodes.
    let summaries = js.get_key_value(SUMMARIES_BUCKET).await.unwrap();
    let mut puts = summaries.watch_all().await.unwrap();
    let short = Arc::new(Mutex::new(Vec::new()));
    let watcher = tokio::spawn({
        let short = short.clone();
        async move {
            while let Some(Ok(entry)) = puts.next().await {
                if entry.operation != kv::Operation::Put {
                    continue;
                }
                let summary: ClusterSummary = serde_json::from_slice(&entry.value).unwrap();
                if summary.enrolled != NODES_PER_CLUSTER as u64 {
                    short.lock().unwrap().push(summary);
                }
            }
        }
    });

    // Load: agents report in rounds; audited operations append one after another.
    let stop = Arc::new(AtomicBool::new(false));
    // The agents' rounds run beside the scenario, on this task.
    let load = async {
        let mut failed = 0u64;
        // SeqCst: a flag read on its own; any ordering would do.
        while !stop.load(Ordering::SeqCst) {
            failed += u64::from(fleet.round(now_ms(), 8).await.is_err());
        }
        failed
    };
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let appender = tokio::task::spawn_blocking({
        let (engines, stop, acknowledged) =
            ([replica_a.engine(), replica_b.engine()], stop.clone(), acknowledged.clone());
        move || {
            let mut failed = Vec::new();
            for i in 0.. {
                // SeqCst: as above.
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let by = Override::new("alice", Role::Operator, "chaos drill", now_ms());
                let cluster = &demo::clusters(CLUSTERS)[i % CLUSTERS].0;
                match engines[i % 2].force_sync(ForceTarget::Cluster(cluster), &by) {
                    Ok(record) => acknowledged.lock().unwrap().push(record),
                    Err(e) => failed.push(e.to_string()),
                }
                // An operator's pace, not a flood: the appends share the engines with the instances.
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            failed
        }
    });
    let scenario = async {
        // A failing scenario stops the load too.
        let _stop = StopOnDrop(stop.clone());
        let acknowledged_count = || acknowledged.lock().unwrap().len();
        fleetgov_testkit::until("audited operations before the kill", || async { acknowledged_count() >= appends() })
            .await;

        phase("audited operations before the kill");
        let tenures =
            |i: &fleetgov_nats::Instance| i.status().leases.iter().map(|l| (l.partition, l.token)).collect::<Vec<_>>();
        let before_kill = (tenures(&a), tenures(&b));
        let leader = servers.leader(&js, AUDIT_STREAM).await;
        servers.kill(&leader);
        phase(&format!("killed {leader}, the leader of FLEET_AUDIT"));
        let before = acknowledged_count();
        fleetgov_testkit::until("audited operations after the kill", || async {
            acknowledged_count() >= before + appends()
        })
        .await;
        view_until(&js, "every cluster served again", |v| {
            v.clusters.len() == CLUSTERS
                && v.clusters.values().all(|s| !s.stale && s.enrolled == NODES_PER_CLUSTER as u64)
        })
        .await;
        phase("audited operations after the kill, every cluster served again");
        let moved = before_kill != (tenures(&a), tenures(&b));
        eprintln!(
            "partitions that changed tenure while the audit leader was lost: {}",
            if moved { "some" } else { "none" }
        );

        // Then ingest-a dies. The lease history is the clock: count the
        // survivor's renewals of one of its own leases until it holds every
        // lease of the dead instance.
        // A JetStream API call may time out once while the client reconnects.
        let mut leases = fleetgov_testkit::eventually("a watch of the leases", || async {
            let partitions = js.get_key_value(PARTITIONS_BUCKET).await.map_err(|e| e.to_string())?;
            partitions.watch_all().await.map_err(|e| e.to_string())
        })
        .await;
        let (of_a, of_b) = (a.owned_partitions(), b.owned_partitions());
        assert_eq!(of_a.len() + of_b.len(), 16, "a {of_a:?}, b {of_b:?}");
        let clock = partition_key(of_b[0]);
        drop(a);
        let renewals = fleetgov_testkit::within("b to claim every partition of a", async {
            let mut pending: BTreeSet<String> = of_a.iter().map(|&p| partition_key(p)).collect();
            let mut renewals = 0u32;
            while !pending.is_empty() {
                let entry = leases.next().await.unwrap().unwrap();
                let by_b = entry.operation == kv::Operation::Put && entry.value.as_ref() == b"ingest-b";
                if by_b && entry.key == clock {
                    renewals += 1;
                }
                if by_b {
                    pending.remove(&entry.key);
                }
            }
            renewals
        })
        .await;
        phase("b owns every partition");
        let config = r3("ingest-b");
        let per_period = config.lease_ttl.as_millis() / config.tick.as_millis();
        eprintln!("failover: {renewals} renewals of the survivor, {per_period} to a lease period");
        assert!(
            u128::from(renewals) <= 2 * per_period,
            "failover took {renewals} renewals of the survivor: more than two lease periods ({per_period} each)"
        );
        view_until(&js, "ingest-b serves every cluster", |v| {
            v.clusters.values().all(|s| s.owner == "ingest-b" && !s.stale && s.enrolled == NODES_PER_CLUSTER as u64)
        })
        .await;
    };
    let (failed_rounds, ()) = tokio::join!(load, scenario);
    let failed_appends = appender.await.unwrap();
    let records: Vec<Arc<AuditRecord>> = acknowledged.lock().unwrap().clone();
    eprintln!("{} audited operations acknowledged, {} failed: {failed_appends:?}", records.len(), failed_appends.len());
    eprintln!("{failed_rounds} load rounds failed");

    // Nothing acknowledged is lost: every record is in the stream, where it was acknowledged.
    let stream = js.get_stream(AUDIT_STREAM).await.unwrap();
    let mut missing = BTreeMap::new();
    for record in &records {
        let stored = stream.get_raw_message(record.seq + 1).await.unwrap();
        let stored = AuditRecord::from_frame(&stored.payload).unwrap();
        if stored.leaf_hash() != record.leaf_hash() {
            missing.insert(record.seq, stored);
        }
    }
    assert!(missing.is_empty(), "acknowledged records not in FLEET_AUDIT: {missing:?}");

    b.shutdown().await;
    let histories = (history_a.await.unwrap(), history_b.await.unwrap());
    assert_no_overlap(&[("ingest-a", &histories.0), ("ingest-b", &histories.1)]);
    drop(summaries);
    watcher.abort();
    let short = short.lock().unwrap().clone();
    assert!(short.is_empty(), "summaries with fewer nodes than their cluster has: {short:#?}");
}

/// Raises the flag when dropped: at the end of the scenario, or when it fails.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        // SeqCst: a flag read on its own; any ordering would do.
        self.0.store(true, Ordering::SeqCst);
    }
}
