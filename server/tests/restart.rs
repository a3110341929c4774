//! A restart over HTTP: the `fleet_server` binary runs on a temporary data
//! directory, is killed with SIGKILL, and is started again on the same
//! directory. Nothing it acknowledged is lost: the snapshot it published,
//! the audit log (the same size, the same root, proofs that check with the
//! key from before), the signing key, the enrolment, and the node's last
//! report and history.
//!
//! The server runs without the simulated fleet (`--no-simulation`), so
//! every audit record and every transition in the directory is this test's
//! own and the log's size before and after can be compared exactly. The
//! heartbeat's transition is made durable before the kill with
//! `POST /api/v1/admin/sync`, which returns once the journal holds it: the
//! test waits on that answer, never on a timer. (Without it, a kill within
//! the journal's 200 ms group-commit interval may lose the transition, as
//! the README says a crash may.)

mod common;

use common::child::{ADMIN, Api, FleetServer, OPERATOR, VIEWER};
use fleetgov::audit::CheckpointVerifier;
use reqwest::Method;
use serde_json::{Value, json};

const NODE: &str = "gw-restart-1";

fn heartbeat(snapshot: &Value) -> Value {
    let metrics = json!({ "cpu": 31.5, "memory": 40.0, "tps": 900.0, "heap": 55.0, "hotSwapErrors": 0 });
    json!({ "heartbeats": [{ "node": NODE, "runtimeVersion": "3.6.1", "appliedSnapshot": snapshot["id"],
        "appliedHash": snapshot["hash"], "metrics": metrics }] })
}

/// Each cluster's verified and enrolled nodes, cohesion and status.
async fn figures(server: &Api) -> Vec<Value> {
    let clusters = server.get("/api/v1/clusters").await;
    let keys = ["id", "inSync", "total", "cohesionBasisPoints", "status"];
    clusters["clusters"].as_array().unwrap().iter().map(|c| json!(keys.map(|k| &c[k]))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_restarts_with_everything_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fleetgov-data");
    let server = FleetServer::start(&data).await;
    let first = server.api.clone();
    assert!(server.banner.iter().any(|l| l.contains("data directory") && l.ends_with("(new)")), "{:?}", server.banner);

    // Publish, force a sync (justified), enrol a node, and hear from it.
    let snapshot =
        first.post("/api/v1/clusters/eks-prod-us/snapshots", OPERATOR, json!({ "content": "routes: [api, v3]" })).await;
    assert_eq!(snapshot["id"], "eks-prod-us@r3");
    let forced =
        json!({ "target": { "cluster": "azure-dev-west" }, "reason": "Node re-provisioning after hardware failure" });
    let record = first.post("/api/v1/force-sync", OPERATOR, forced).await;
    let seq = record["seq"].as_u64().unwrap();
    first.post("/api/v1/clusters/eks-prod-us/nodes", OPERATOR, json!({ "nodes": [NODE] })).await;
    let answer = first.post("/api/v1/heartbeats", OPERATOR, heartbeat(&snapshot)).await;
    assert_eq!(answer["accepted"], 1, "{answer}");
    let before = first.get(&format!("/api/v1/nodes/{NODE}")).await;
    let reported_at = before["lastHeartbeatMs"].as_u64().unwrap();
    assert_eq!(before["configStatus"], "IN_SYNC", "{before}");

    // Its transition is on disk once the sync answers; the rest was before
    // each write was acknowledged.
    let synced = first.post("/api/v1/admin/sync", ADMIN, json!({})).await;
    assert_eq!(synced["durable"], true, "{synced}");
    assert!(synced["atMs"].as_u64().unwrap() >= reported_at);
    let head = first.get("/api/v1/checkpoint").await;
    let verifier: CheckpointVerifier = head["verifierKey"].as_str().unwrap().parse().unwrap();
    let entry = first.proven(seq, &verifier).await;
    let before_restart = figures(&first).await;
    let artifact = format!("/api/v1/artifacts/{}", snapshot["hash"].as_str().unwrap());
    let bytes = first.bytes(&artifact).await;
    server.kill();

    let server = FleetServer::start(&data).await;
    let second = server.api.clone();
    assert!(server.restored(), "{:?}", server.banner);

    // The snapshot is served, bytes and all.
    let served = second.get("/api/v1/snapshots/eks-prod-us@r3").await;
    assert_eq!(served["hash"], snapshot["hash"]);
    assert_eq!(second.bytes(&artifact).await, bytes);

    // The audit log is complete: the same size and root, signed with the
    // same key (the restart appended nothing, not even the demo fleet
    // again), and the override's proof checks with the key from before.
    let restored = second.get("/api/v1/checkpoint").await;
    assert_eq!(restored["verifierKey"], head["verifierKey"], "the signing key is kept");
    assert_eq!((&restored["size"], &restored["root"]), (&head["size"], &head["root"]));
    assert_eq!(second.get("/api/v1/audit?limit=1").await["size"], head["size"]);
    assert_eq!(second.proven(seq, &verifier).await, entry);
    let overrides = second.get("/api/v1/audit?action=force_sync_cluster").await;
    assert_eq!(overrides["records"][0]["seq"], seq);
    assert_eq!(overrides["records"][0]["justification"], "Node re-provisioning after hardware failure");

    // Every cluster reads as it did: the nodes' reports came back with them.
    assert_eq!(figures(&second).await, before_restart);

    // The node's last report is shown before it heartbeats again, and what
    // it ran before the restart is answered.
    let node = second.get(&format!("/api/v1/nodes/{NODE}")).await;
    assert_eq!(
        (&node["appliedSnapshotId"], &node["appliedHash"], &node["configStatus"], node["lastHeartbeatMs"].as_u64()),
        (&snapshot["id"], &snapshot["hash"], &json!("IN_SYNC"), Some(reported_at)),
        "{node}"
    );
    let ran = second.get(&format!("/api/v1/nodes/{NODE}/what-ran?at={reported_at}")).await;
    assert_eq!(
        (&ran["snapshot"], &ran["hash"], ran["sinceMs"].as_u64()),
        (&snapshot["id"], &snapshot["hash"], Some(reported_at))
    );
    let history = second.get(&format!("/api/v1/nodes/{NODE}/history")).await;
    assert_eq!(history["changes"].as_array().map(Vec::len), Some(1), "{history}");
    assert_eq!(history["changes"][0]["atMs"].as_u64(), Some(reported_at));
    let (status, _) =
        second.call(Method::GET, &format!("/api/v1/nodes/{NODE}/what-ran?at={}", reported_at - 1), VIEWER, None).await;
    assert_eq!(status, 404, "it had reported nothing before");

    // Its next heartbeat is accepted without enrolling again.
    let answer = second.post("/api/v1/heartbeats", OPERATOR, heartbeat(&snapshot)).await;
    assert_eq!((answer["accepted"].as_u64(), answer["rejected"].as_u64()), (Some(1), Some(0)), "{answer}");
    assert_eq!(second.get("/api/v1/clusters/eks-prod-us").await["total"], 5, "four seeds and the enrolled node");
    // Enrolling it again (how a binary client learns its handles after a
    // restart) enrols nothing new and records nothing.
    let again = second.post("/api/v1/clusters/eks-prod-us/nodes", OPERATOR, json!({ "nodes": [NODE] })).await;
    assert_eq!((again["total"].as_u64(), again["handles"].as_array().map(Vec::len)), (Some(5), Some(1)));
    assert_eq!(second.get("/api/v1/checkpoint").await["size"], head["size"]);
    server.kill();

    // While a server runs on the directory, a second one is refused, saying why.
    let third = FleetServer::start(&data).await;
    let refused = common::child::command(&data).output().unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("another fleet server"), "{said}");
    drop(third);
}

/// `--retention`: the banner states it; a time before the horizon answers
/// 410 `HISTORY_UNAVAILABLE` naming the horizon; a retention without a unit
/// keeps the server from starting, with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_time_before_the_retention_horizon_is_gone() {
    let data = tempfile::tempdir().unwrap();
    let server = FleetServer::start_with(data.path(), &["--retention", "1ms"]).await;
    assert!(server.banner.iter().any(|l| l.contains("history kept for 1ms")), "{:?}", server.banner);
    let api = server.api.clone();
    // Half a second ago is before the horizon once the data directory is
    // older than that (before then it is before the directory's history).
    let message = fleetgov_testkit::eventually("a refusal naming the retention horizon", || {
        let api = api.clone();
        async move {
            let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() - 500;
            let path = format!("/api/v1/nodes/gw-stage-eu-4/what-ran?at={at}");
            let (status, body) = api.call(Method::GET, &path, VIEWER, None).await;
            let message = body["error"]["message"].as_str().unwrap_or_default().to_owned();
            match (status, body["error"]["code"].as_str()) {
                (410, Some("HISTORY_UNAVAILABLE")) if message.contains("retention horizon") => Ok(message),
                _ => Err(format!("{status} {body}")),
            }
        }
    })
    .await;
    assert!(message.contains("the last 0 days and 1 ms are kept"), "{message}");
    server.kill();

    let refused = common::child::command(data.path()).args(["--retention", "30"]).output().unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("retention \"30\": a whole number and a unit"), "{stderr}");
}
