//! Crash test of the fleet server: the `fleet_server` binary runs on a data
//! directory while this test enrols nodes, publishes, hears heartbeats and
//! forces syncs over HTTP, and it is SIGKILLed at a random moment, round
//! after round, then started again on the same directory.
//!
//! After each restart, everything the server acknowledged (an HTTP 2xx) is
//! there: every enrolment, every published snapshot, every override (its
//! audit record, justification and all), and every transition that
//! `POST /api/v1/admin/sync` acknowledged; the audit log checks tile by tile
//! against a checkpoint signed with the key of the first start, which never
//! changes; and every cluster's verified count and cohesion equal a recount
//! of its node matrix. After the last kill the directory is opened in the
//! test itself: the audit chain and the sealed journal segments verify and
//! the restored counters equal a recount.
//!
//! A few kills in the default run; 200 with `FLEETGOV_SLOW=1` (the slow tier
//! of `scripts/test.sh`). The kill moments are random: the seed is printed,
//! and `FLEETGOV_CRASH_SEED` replays one. Before one restart in four, a
//! server is also killed while it starts (restoring the directory, writing
//! its first checkpoint), before it could acknowledge anything.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::child::{ADMIN, Api, FleetServer, OPERATOR};
use fleetgov::audit::{Checkpoint, CheckpointVerifier, Tile, verify_tiles};
use fleetgov_server::storage::Storage;
use reqwest::Method;
use serde_json::{Value, json};

/// The cluster the test enrols its nodes in and publishes to.
const CLUSTER: &str = "eks-prod-us";

/// What the server acknowledged, across every round.
#[derive(Debug, Default)]
struct Acknowledged {
    /// Enrolled node ids.
    enrolled: BTreeSet<String>,
    /// Published snapshot id → hash.
    published: BTreeMap<String, String>,
    /// Override audit sequence → (target, justification).
    overrides: BTreeMap<u64, (String, String)>,
    /// Node → the snapshot it reported, once an admin sync acknowledged it.
    synced: BTreeMap<String, String>,
}

/// What one round's driver had acknowledged when the server went away.
#[derive(Debug, Default)]
struct Round {
    acked: Acknowledged,
    /// Node → snapshot of heartbeats acknowledged since the last admin sync.
    pending: Vec<(String, String)>,
    /// The next node number (attempted, acknowledged or not).
    next: u64,
}

/// A request's answer, or `None` once the server is gone (the request was
/// not acknowledged). A refusal while it runs fails the test.
async fn ack(api: &Api, method: Method, path: &str, token: &str, body: Value) -> Option<Value> {
    let (status, answer) = api.try_call(method, path, token, Some(&body)).await.ok()?;
    assert!(status == 200 || status == 201, "{path}: {status} {answer}");
    Some(answer)
}

/// Enrols, publishes, heartbeats, forces and syncs, node after node, from
/// node `next` on, until a request fails because the server was killed.
async fn drive(api: Api, next: u64) -> Round {
    let mut round = Round { next, ..Round::default() };
    let mut desired: Option<(String, String)> = None;
    loop {
        let k = round.next;
        round.next += 1;
        let node = format!("crash-{k}");
        let enrol = json!({ "nodes": [node] });
        let path = format!("/api/v1/clusters/{CLUSTER}/nodes");
        let Some(_) = ack(&api, Method::POST, &path, OPERATOR, enrol).await else { return round };
        round.acked.enrolled.insert(node.clone());
        if desired.is_none() || k.is_multiple_of(5) {
            let path = format!("/api/v1/clusters/{CLUSTER}/snapshots");
            let content = json!({ "content": format!("routes: [crash-{k}]") });
            let Some(s) = ack(&api, Method::POST, &path, OPERATOR, content).await else { return round };
            let published = (s["id"].as_str().unwrap().to_owned(), s["hash"].as_str().unwrap().to_owned());
            round.acked.published.insert(published.0.clone(), published.1.clone());
            desired = Some(published);
        }
        let (id, hash) = desired.clone().unwrap_or_default();
        let beat = json!({ "heartbeats": [{ "node": node, "runtimeVersion": "3.6.1",
            "appliedSnapshot": id, "appliedHash": hash }] });
        let Some(answer) = ack(&api, Method::POST, "/api/v1/heartbeats", OPERATOR, beat).await else { return round };
        assert_eq!(answer["accepted"], 1, "{answer}");
        round.pending.push((node.clone(), id));
        if k.is_multiple_of(7) {
            let reason = format!("crash test: re-provisioned {node}");
            let force = json!({ "target": { "node": node }, "reason": reason });
            let Some(record) = ack(&api, Method::POST, "/api/v1/force-sync", OPERATOR, force).await else {
                return round;
            };
            let target = record["target"].as_str().unwrap().to_owned();
            round.acked.overrides.insert(record["seq"].as_u64().unwrap(), (target, reason));
        }
        if k.is_multiple_of(10) {
            let Some(_) = ack(&api, Method::POST, "/api/v1/admin/sync", ADMIN, json!({})).await else { return round };
            round.acked.synced.extend(round.pending.drain(..));
        }
    }
}

/// Checks the whole audit log served under `/log/`: the checkpoint is
/// signed by `verifier`, every tile and entry leads to its root; returns
/// the log's size.
async fn verify_log(api: &Api, verifier: &CheckpointVerifier) -> u64 {
    let note = String::from_utf8(api.bytes("/log/checkpoint").await).unwrap();
    let head = Checkpoint::open(&note, verifier).unwrap_or_else(|e| panic!("the checkpoint: {e}")).head();
    let mut tiles = BTreeMap::new();
    for tile in Tile::all_for(head.size) {
        tiles.insert(tile.to_string(), api.bytes(&format!("/log/{tile}")).await);
    }
    let entries = verify_tiles(&head, |tile| {
        tiles.remove(&tile.to_string()).ok_or_else(|| fleetgov::Error::invalid(format!("{tile} asked twice")))
    })
    .unwrap_or_else(|e| panic!("the audit log's tiles: {e}"));
    assert_eq!(entries.len() as u64, head.size);
    head.size
}

/// Every node of `cluster`, page by page.
async fn nodes(api: &Api, cluster: &str) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let page = api.get(&format!("/api/v1/clusters/{cluster}/nodes?offset={}&limit=1000", all.len())).await;
        let got = page["nodes"].as_array().unwrap();
        if got.is_empty() {
            return all;
        }
        all.extend(got.iter().cloned());
    }
}

/// The override records in the log: sequence → (target, justification).
async fn overrides(api: &Api) -> BTreeMap<u64, (String, String)> {
    let mut found = BTreeMap::new();
    let mut before = String::new();
    loop {
        let page = api.get(&format!("/api/v1/audit?action=force_sync_node&limit=1000{before}")).await;
        for r in page["records"].as_array().unwrap() {
            let text = |k: &str| r[k].as_str().unwrap().to_owned();
            found.insert(r["seq"].as_u64().unwrap(), (text("target"), text("justification")));
        }
        match page["nextBefore"].as_u64() {
            Some(next) => before = format!("&before={next}"),
            None => return found,
        }
    }
}

/// Checks a restarted server against everything acknowledged so far.
async fn check(api: &Api, acked: &Acknowledged, verifier: &CheckpointVerifier, round: u32) {
    let head = api.get("/api/v1/checkpoint").await;
    assert_eq!(head["verifierKey"].as_str(), Some(verifier.to_string().as_str()), "round {round}: the key changed");
    let size = verify_log(api, verifier).await;
    assert!(size >= acked.overrides.keys().last().map_or(0, |s| s + 1), "round {round}: the log lost its tail");
    let logged = overrides(api).await;
    for (seq, record) in &acked.overrides {
        assert_eq!(logged.get(seq), Some(record), "round {round}: acknowledged override {seq} lost");
    }
    for (id, hash) in &acked.published {
        let served = api.get(&format!("/api/v1/snapshots/{id}")).await;
        assert_eq!(served["hash"].as_str(), Some(hash.as_str()), "round {round}: snapshot {id}");
    }
    // Every cluster's counters equal a recount of its node matrix.
    let clusters = api.get("/api/v1/clusters").await;
    for cluster in clusters["clusters"].as_array().unwrap() {
        let id = cluster["id"].as_str().unwrap();
        let matrix = nodes(api, id).await;
        let verified = matrix.iter().filter(|n| n["verified"] == true).count() as u64;
        let total = matrix.len() as u64;
        let bp = (10_000 * verified).checked_div(total).unwrap_or(10_000);
        assert_eq!(
            (cluster["inSync"].as_u64(), cluster["total"].as_u64(), cluster["cohesionBasisPoints"].as_u64()),
            (Some(verified), Some(total), Some(bp)),
            "round {round}: {id} against a recount of its nodes"
        );
        if id != CLUSTER {
            continue;
        }
        let applied: BTreeMap<&str, &Value> =
            matrix.iter().map(|n| (n["id"].as_str().unwrap(), &n["appliedSnapshotId"])).collect();
        for node in &acked.enrolled {
            assert!(applied.contains_key(node.as_str()), "round {round}: acknowledged enrolment of {node} lost");
        }
        for (node, snapshot) in &acked.synced {
            let ran = applied.get(node.as_str()).and_then(|s| s.as_str());
            assert_eq!(ran, Some(snapshot.as_str()), "round {round}: {node}'s synced report lost");
        }
    }
}

/// A random number generator of its own seed: `FLEETGOV_CRASH_SEED`, or a new one.
fn rng() -> fastrand::Rng {
    let seed =
        std::env::var("FLEETGOV_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| fastrand::u64(..));
    eprintln!("crash test seed: FLEETGOV_CRASH_SEED={seed}");
    fastrand::Rng::with_seed(seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_nothing_it_acknowledged() {
    let kills = if std::env::var("FLEETGOV_SLOW").is_ok_and(|v| v == "1") { 200 } else { 3 };
    let mut rng = rng();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fleetgov-data");
    let mut acked = Acknowledged::default();
    let mut verifier: Option<CheckpointVerifier> = None;
    let mut next = 0;
    let started = Instant::now();
    let mut early_kills = 0;
    for round in 0..kills {
        if round > 0 && rng.u8(0..4) == 0 {
            let mut starting = common::child::command(&data).stdout(Stdio::null()).spawn().unwrap();
            tokio::time::sleep(Duration::from_millis(rng.u64(0..50))).await;
            starting.kill().unwrap();
            starting.wait().unwrap();
            early_kills += 1;
        }
        let server = FleetServer::start(&data).await;
        assert_eq!(server.restored(), round > 0, "round {round}: {:?}", server.banner);
        let verifier = match &verifier {
            Some(v) => v,
            None => {
                let key = server.api.get("/api/v1/checkpoint").await["verifierKey"].as_str().unwrap().parse().unwrap();
                verifier.insert(key)
            }
        };
        check(&server.api, &acked, verifier, round).await;
        let driver = tokio::spawn(drive(server.api.clone(), next));
        // The kill moment: anywhere in the first 300 ms of work (not a
        // deadline; nothing waits on it).
        tokio::time::sleep(Duration::from_millis(rng.u64(0..300))).await;
        server.kill();
        let done = driver.await.unwrap();
        next = done.next;
        acked.enrolled.extend(done.acked.enrolled);
        acked.published.extend(done.acked.published);
        acked.overrides.extend(done.acked.overrides);
        acked.synced.extend(done.acked.synced);
    }
    let last = FleetServer::start(&data).await;
    check(&last.api, &acked, verifier.as_ref().unwrap(), kills).await;
    // The directory itself, once the last server is killed too: the audit
    // chain and every sealed journal segment verify (the server seals one
    // per 1,048,576 transitions, more than a run makes: the engine's own
    // crash test seals small ones), and the restored counters equal a recount.
    last.kill();
    let engine = Storage::Directory(data).open(fleetgov::DEFAULT_RETENTION).unwrap();
    engine.verify_audit().unwrap();
    let journal = engine.verify_journal().unwrap();
    assert!(engine.recount_mismatches().is_empty());
    eprintln!(
        "server crash test: {kills} kills at work and {early_kills} while starting in {:.1} s; {} enrolments, {} publishes, {} overrides, {} synced reports acknowledged; {} sealed journal segments verify",
        started.elapsed().as_secs_f64(),
        acked.enrolled.len(),
        acked.published.len(),
        acked.overrides.len(),
        acked.synced.len(),
        journal.sealed_segments
    );
    assert!(!acked.enrolled.is_empty(), "nothing was acknowledged: the test tested nothing");
}
