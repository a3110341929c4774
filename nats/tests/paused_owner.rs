//! A paused owner (issue 23): an ingest process stopped with `SIGSTOP`
//! while it serves every partition, long enough for another instance to
//! take them all over, then resumed with `SIGCONT`. The resumed process
//! writes nothing under its old tenures — no summary the bucket accepts
//! from them, no lease over the new owner's, no journal segment or node
//! checkpoint the streams store — and rejoins with new ones, its share by
//! load.

mod harness;

use std::collections::{BTreeMap, BTreeSet};

use async_nats::jetstream::{self, kv};
use fleetgov_nats::balance::{partition_loads, plan};
use fleetgov_nats::journal::{JOURNAL_STREAM, NODES_STREAM};
use fleetgov_nats::partition::DEFAULT_PARTITIONS;
use fleetgov_nats::subject::{PARTITIONS_BUCKET, SUMMARIES_BUCKET};
use fleetgov_nats::{ClusterSummary, FleetView};
use futures_util::StreamExt;
use harness::owners::{assert_no_overlap, record};
use harness::process::IngestProcess;
use harness::{NatsServer, config, engine};

const PAUSED: &str = "ingest-p";

/// The last sequence of stream `name`.
async fn last_sequence(js: &jetstream::Context, name: &str) -> u64 {
    js.get_stream(name).await.unwrap().info().await.unwrap().state.last_sequence
}

/// The lease tokens (`Fleet-Lease`) of the messages of stream `name` after sequence `after`.
async fn tokens_after(js: &jetstream::Context, name: &str, after: u64) -> Vec<u64> {
    let stream = js.get_stream(name).await.unwrap();
    let last = last_sequence(js, name).await;
    let mut tokens = Vec::new();
    for seq in after + 1..=last {
        // A trimmed segment is gone: it was sealed, under its writer's lease.
        let Ok(message) = stream.get_raw_message(seq).await else { continue };
        let token = message.headers.get("Fleet-Lease").and_then(|v| v.as_str().parse().ok());
        tokens.push(token.expect("every journal and checkpoint message names its lease"));
    }
    tokens
}

/// Every lease's owner, by key.
async fn owners(partitions: &kv::Store) -> BTreeMap<String, String> {
    let mut keys = partitions.keys().await.unwrap().boxed();
    let mut out = BTreeMap::new();
    while let Some(Ok(key)) = keys.next().await {
        if let Ok(Some(value)) = partitions.get(&key).await {
            out.insert(key, String::from_utf8_lossy(&value).into_owned());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_resumes_fenced_and_rejoins_under_new_leases() {
    let Some(server) = NatsServer::start().await else { return };
    let nats = server.connect().await;
    let replica = engine(&nats, 8).await;
    let mut process = IngestProcess::spawn(&server.url, PAUSED, &[]);
    let js = jetstream::new(nats.clone());
    // The process makes the buckets when it starts.
    let bucket = |name: &'static str| {
        let js = js.clone();
        async move {
            fleetgov_testkit::eventually(name, || async { js.get_key_value(name).await.map_err(|e| e.to_string()) })
                .await
        }
    };
    let (partitions, summaries) = (bucket(PARTITIONS_BUCKET).await, bucket(SUMMARIES_BUCKET).await);
    fleetgov_testkit::until("the process to own every partition", || async {
        let owners = owners(&partitions).await;
        owners.len() == harness::PARTITIONS && owners.values().all(|o| o == PAUSED)
    })
    .await;
    // Its tenures, as its summaries name them.
    let old: BTreeMap<String, u64> = fleetgov_testkit::eventually("the process's own summaries", || async {
        let mut tenures = BTreeMap::new();
        let mut keys = summaries.keys().await.map_err(|e| e.to_string())?.boxed();
        while let Some(Ok(key)) = keys.next().await {
            let Ok(Some(value)) = summaries.get(&key).await else { continue };
            let summary: ClusterSummary = serde_json::from_slice(&value).map_err(|e| e.to_string())?;
            if summary.owner == PAUSED && !summary.restoring {
                tenures.insert(summary.cluster, summary.lease);
            }
        }
        if tenures.len() == 8 { Ok(tenures) } else { Err(format!("{tenures:?}")) }
    })
    .await;

    process.pause();
    let b = replica.serve(nats.clone(), config("ingest-b")).await.unwrap();
    let history_b = record(b.lease_log());
    fleetgov_testkit::until("b to own every partition", || async { b.owned_partitions().len() == harness::PARTITIONS })
        .await;

    // From the resumption on, every write is watched.
    let mut summary_puts = summaries.watch_all().await.unwrap();
    let mut lease_puts = partitions.watch_all().await.unwrap();
    let journal_mark = (last_sequence(&js, JOURNAL_STREAM).await, last_sequence(&js, NODES_STREAM).await);
    let loads = partition_loads(
        FleetView::load(&js, harness::now_ms(), std::time::Duration::from_secs(30)).await.unwrap().clusters.values(),
        DEFAULT_PARTITIONS,
    );
    let live: BTreeSet<String> = [PAUSED.to_owned(), "ingest-b".to_owned()].into();
    process.resume();
    let mut lease_owner: BTreeMap<String, String> = owners(&partitions).await;
    let rejoined = fleetgov_testkit::within("the resumed process to rejoin with its fair share", async {
        loop {
            tokio::select! {
                Some(Ok(entry)) = summary_puts.next() => {
                    if entry.operation == kv::Operation::Put {
                        let summary: ClusterSummary = serde_json::from_slice(&entry.value).unwrap();
                        let stale = summary.owner == PAUSED && old.get(&summary.cluster) == Some(&summary.lease);
                        assert!(!stale, "a summary under an old tenure was accepted after the pause: {summary:?}");
                    }
                }
                Some(Ok(entry)) = lease_puts.next() => {
                    let value = String::from_utf8_lossy(&entry.value).into_owned();
                    if entry.operation == kv::Operation::Put && value == PAUSED {
                        let before = lease_owner.get(&entry.key).cloned();
                        assert!(before.is_none(), "{} went from {before:?} to the resumed process without being let go", entry.key);
                    }
                    match entry.operation {
                        kv::Operation::Put => lease_owner.insert(entry.key.clone(), value),
                        _ => lease_owner.remove(&entry.key),
                    };
                    // Rejoined once the leases are split as the balance plan has it.
                    let split: BTreeMap<u32, String> = lease_owner
                        .iter()
                        .filter_map(|(key, owner)| Some((key.strip_prefix('p')?.parse().ok()?, owner.clone())))
                        .collect();
                    let theirs = split.values().filter(|o| *o == PAUSED).count();
                    let held_by_b = b.owned_partitions();
                    let agreed = held_by_b.iter().all(|p| split.get(p).is_some_and(|o| o == "ingest-b"));
                    if split.len() == harness::PARTITIONS && theirs > 0 && agreed && plan(&loads, &live, &split) == split {
                        return theirs;
                    }
                }
            }
        }
    })
    .await;
    // No cluster has nodes: the partitions are spread by count.
    assert_eq!(rejoined, 8);
    // Nothing the streams stored since the resumption is of an old tenure.
    let old_tokens: BTreeSet<u64> = old.values().copied().collect();
    for (name, mark) in [(JOURNAL_STREAM, journal_mark.0), (NODES_STREAM, journal_mark.1)] {
        let stale: Vec<u64> =
            tokens_after(&js, name, mark).await.into_iter().filter(|t| old_tokens.contains(t)).collect();
        assert!(stale.is_empty(), "{name} stored writes of old tenures {stale:?} after the resumption");
    }
    // And by the lease histories, no partition was ever served by both.
    b.shutdown().await;
    let history_p = process.stop();
    assert_no_overlap(&[(PAUSED, &history_p), ("ingest-b", &history_b.await.unwrap())]);
}
