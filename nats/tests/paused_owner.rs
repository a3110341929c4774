//! A paused owner (issue 23): an ingest process stopped with `SIGSTOP`
//! while it serves every partition, long enough for another instance to
//! take them all over, then resumed with `SIGCONT`. The resumed process
//! writes nothing under its old tenures — no summary the bucket accepts
//! from them, no lease over the new owner's — and rejoins with new ones.

mod harness;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

use async_nats::jetstream::{self, kv};
use fleetgov_nats::ClusterSummary;
use fleetgov_nats::subject::{PARTITIONS_BUCKET, SUMMARIES_BUCKET};
use futures_util::StreamExt;
use harness::{NatsServer, config, engine};

const PAUSED: &str = "ingest-p";

/// The ingest process, killed when dropped.
struct Process(Child);

impl Process {
    fn signal(&self, signal: &str) {
        let sent = Command::new("kill").args([signal, &self.0.id().to_string()]).status().expect("run kill");
        assert!(sent.success(), "kill {signal} failed");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
    let child = Command::new(env!("CARGO_BIN_EXE_fleetgov-nats"))
        .args([
            "--url",
            &server.url,
            "ingest",
            "--id",
            PAUSED,
            "--lease-ttl-ms",
            "2000",
            "--summary-refresh-ms",
            "1000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the ingest process");
    let process = Process(child);
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
        owners.len() == 16 && owners.values().all(|o| o == PAUSED)
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

    process.signal("-STOP");
    let b = replica.serve(nats.clone(), config("ingest-b")).await.unwrap();
    fleetgov_testkit::until("b to own every partition", || async { b.owned_partitions().len() == 16 }).await;

    // From the resumption on, every write is watched.
    let mut summary_puts = summaries.watch_all().await.unwrap();
    let mut lease_puts = partitions.watch_all().await.unwrap();
    process.signal("-CONT");
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
                    let theirs = lease_owner.values().filter(|o| *o == PAUSED).count();
                    if theirs == 8 && b.owned_partitions().len() == 8 {
                        return theirs;
                    }
                }
            }
        }
    })
    .await;
    assert_eq!(rejoined, 8);
    b.shutdown().await;
    drop(process);
}
