//! Controlled rollouts over real HTTP: a publish with a plan, the rollout
//! it starts, the operator's justified actions on it, and the server's
//! timer ending a bake with no heartbeat to notice it.

mod common;

use common::{OPERATOR, SCOPED, VIEWER, assert_error, start};
use reqwest::Method;
use serde_json::{Value, json};

const PUBLISH: &str = "/api/v1/clusters/eks-prod-us/snapshots";
const ROLLOUT: &str = "/api/v1/clusters/eks-prod-us/rollout";

/// A publish body with the configuration `content` and the plan `rollout`.
fn publish(content: &str, rollout: Value) -> Value {
    json!({ "content": content, "rollout": rollout })
}

/// A plan whose bake outlasts any test: the rollout stays where its
/// operators put it.
fn slow_plan() -> Value {
    json!({ "waves": [10, 100], "bakeMs": 3_600_000, "maxFailurePct": 20.0, "autoRollback": true })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_with_a_plan_starts_a_rollout_and_bad_plans_change_nothing() {
    let s = start().await;
    assert_error(&s.get(ROLLOUT, VIEWER).await, 404, "NOT_FOUND");
    assert_error(&s.get("/api/v1/clusters/nope/rollout", VIEWER).await, 404, "NOT_FOUND");
    assert_error(&s.get(ROLLOUT, SCOPED).await, 404, "NOT_FOUND");

    let before = s.get("/api/v1/clusters/eks-prod-us", VIEWER).await.1;
    let bad_plans = [
        json!({ "waves": [10, 50] }),
        json!({ "waves": [0, 100] }),
        json!({ "waves": [50, 10, 100] }),
        json!({ "waves": [] }),
        json!({ "waves": [300] }),
        json!({ "waves": [100], "maxFailurePct": 100.5 }),
        json!({ "waves": [100], "bakeMs": -1 }),
        json!({ "waves": [100], "canary": true }),
        json!({ "bakeMs": 1000 }),
    ];
    for plan in bad_plans {
        assert_error(&s.send(Method::POST, PUBLISH, OPERATOR, publish("v3", plan.clone())).await, 400, "INVALID_INPUT");
    }
    // A rollout needs a snapshot to roll out from.
    let first = publish("x: 1", json!({ "waves": [100] }));
    assert_error(
        &s.send(Method::POST, "/api/v1/clusters/other-cluster/snapshots", OPERATOR, first).await,
        400,
        "INVALID_INPUT",
    );
    assert_error(&s.send(Method::POST, PUBLISH, VIEWER, publish("v3", slow_plan())).await, 403, "PERMISSION_DENIED");
    assert_eq!(s.get("/api/v1/clusters/eks-prod-us", VIEWER).await.1, before, "refused publishes changed the cluster");
    assert_error(&s.get(ROLLOUT, VIEWER).await, 404, "NOT_FOUND");

    let (status, snapshot) = s.send(Method::POST, PUBLISH, OPERATOR, publish("v3", slow_plan())).await;
    assert_eq!(status, 201, "{snapshot}");
    assert_eq!(snapshot["id"], "eks-prod-us@r3");
    let (status, r) = s.get(ROLLOUT, VIEWER).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!((r["cluster"].as_str(), r["wave"].as_u64()), (Some("eks-prod-us"), Some(0)));
    // The first wave may hold none of the four nodes: then it converged at once and bakes.
    assert!(matches!(r["state"].as_str(), Some("progressing" | "baking")), "{r}");
    assert_eq!(
        (r["targetSnapshot"].as_str(), r["previousSnapshot"].as_str()),
        (Some("eks-prod-us@r3"), Some("eks-prod-us@r2"))
    );
    assert_eq!((r["waves"].clone(), r["bakeMs"].as_u64()), (json!([10, 100]), Some(3_600_000)));
    assert_eq!((r["maxFailurePct"].as_f64(), r["autoRollback"].as_bool()), (Some(20.0), Some(true)));
    assert_eq!((r["failures"].as_u64(), r["reason"].clone()), (Some(0), Value::Null));
    assert_eq!(r["perWave"].as_array().map(Vec::len), Some(2));
    let nodes: u64 = r["perWave"].as_array().unwrap().iter().map(|w| w["nodes"].as_u64().unwrap()).sum();
    assert_eq!(nodes, 4, "every node of the cluster is in one wave: {r}");
    assert!(r["perWave"][0]["startedMs"].is_u64() && r["perWave"][1]["startedMs"].is_null(), "{r}");
    // The cluster's desired snapshot is the target; the nodes of the wave not started keep r2.
    let (_, cluster) = s.get("/api/v1/clusters/eks-prod-us", VIEWER).await;
    assert_eq!(cluster["desiredSnapshot"], "eks-prod-us@r3");
    let (_, matrix) = s.get("/api/v1/clusters/eks-prod-us/nodes", VIEWER).await;
    let keeping = matrix["nodes"].as_array().unwrap().iter().filter(|n| n["desiredSnapshotId"] == "eks-prod-us@r2");
    assert_eq!(keeping.count() as u64, r["perWave"][1]["nodes"].as_u64().unwrap(), "{matrix}");

    // The publish record carries the plan.
    let (_, audit) = s.get("/api/v1/audit?action=publish&cluster=eks-prod-us&limit=1", VIEWER).await;
    assert_eq!(audit["records"][0]["target"], "eks-prod-us@r3", "{audit}");

    // A raw artifact publishes without a plan, as before.
    let raw = s
        .request(Method::POST, PUBLISH, Some(OPERATOR))
        .header("content-type", "text/plain")
        .body("v4")
        .send()
        .await
        .unwrap();
    assert_eq!(common::json(raw).await.1["id"], "eks-prod-us@r4");
    assert_eq!(s.get("/api/v1/clusters/eks-prod-us", VIEWER).await.1["desiredSnapshot"], "eks-prod-us@r4");
}

/// POSTs `action` on the rollout of `cluster` with `reason` as `token`.
async fn act(s: &common::Server, token: &str, cluster: &str, action: &str, reason: &str) -> (u16, Value) {
    let path = format!("/api/v1/clusters/{cluster}/rollout/{action}");
    s.send(Method::POST, &path, token, json!({ "reason": reason })).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_pause_resume_promote_and_abort_with_a_justification() {
    let s = start().await;
    assert_error(&act(&s, OPERATOR, "eks-prod-us", "pause", "no rollout yet").await, 404, "NOT_FOUND");
    assert_eq!(s.send(Method::POST, PUBLISH, OPERATOR, publish("v3", slow_plan())).await.0, 201);
    let audit_len = s.engine.audit_len();

    assert_error(&act(&s, OPERATOR, "eks-prod-us", "pause", " \u{200B} ").await, 400, "JUSTIFICATION_REQUIRED");
    assert_error(&act(&s, VIEWER, "eks-prod-us", "pause", "canary latency is up").await, 403, "PERMISSION_DENIED");
    assert_error(&act(&s, SCOPED, "eks-prod-us", "pause", "canary latency is up").await, 404, "NOT_FOUND");
    assert_error(&act(&s, OPERATOR, "gke-stage-eu", "pause", "canary latency is up").await, 404, "NOT_FOUND");
    assert_error(&act(&s, OPERATOR, "eks-prod-us", "rewind", "canary latency is up").await, 404, "NOT_FOUND");
    let no_reason = s.send(Method::POST, &format!("{ROLLOUT}/pause"), OPERATOR, json!({})).await;
    assert_error(&no_reason, 400, "INVALID_INPUT");
    assert_error(&act(&s, OPERATOR, "eks-prod-us", "resume", "nothing is paused").await, 409, "CONFLICT");
    assert_eq!(s.engine.audit_len(), audit_len, "refused actions wrote to the audit log");

    let (status, paused) = act(&s, OPERATOR, "eks-prod-us", "pause", "canary latency is up").await;
    assert_eq!((status, paused["state"].as_str()), (200, Some("paused")), "{paused}");
    assert_eq!(paused, s.get(ROLLOUT, VIEWER).await.1, "the answer is the rollout after the action");
    let (_, audit) = s.get("/api/v1/audit?action=rollout&limit=1", VIEWER).await;
    let record = &audit["records"][0];
    assert_eq!(
        (record["actor"].as_str(), record["role"].as_str(), record["target"].as_str()),
        (Some("omar"), Some("operator"), Some("cluster:eks-prod-us")),
        "{record}"
    );
    assert_eq!(record["justification"], "canary latency is up");
    assert_error(&act(&s, OPERATOR, "eks-prod-us", "pause", "again").await, 409, "CONFLICT");

    let (status, resumed) = act(&s, OPERATOR, "eks-prod-us", "resume", "latency is back to normal").await;
    assert_eq!(status, 200, "{resumed}");
    assert!(matches!(resumed["state"].as_str(), Some("progressing" | "baking")), "{resumed}");

    let (status, promoted) = act(&s, OPERATOR, "eks-prod-us", "promote", "the canary is fine, ship it").await;
    assert_eq!((status, promoted["wave"].as_u64()), (200, Some(1)), "{promoted}");
    assert!(promoted["perWave"][1]["startedMs"].is_u64(), "{promoted}");
    assert_eq!(promoted["nodesStarted"], 4);

    let (status, aborted) = act(&s, OPERATOR, "eks-prod-us", "abort", "incident 4711: back to r2").await;
    assert_eq!((status, aborted["state"].as_str()), (200, Some("aborted")), "{aborted}");
    assert_eq!(s.get("/api/v1/clusters/eks-prod-us", VIEWER).await.1["desiredSnapshot"], "eks-prod-us@r2");
    assert_error(&act(&s, OPERATOR, "eks-prod-us", "resume", "too late").await, 409, "CONFLICT");
    let (_, audit) = s.get("/api/v1/audit?action=rollout&actor=omar", VIEWER).await;
    let justifications: Vec<&str> =
        audit["records"].as_array().unwrap().iter().filter_map(|r| r["justification"].as_str()).collect();
    assert_eq!(
        justifications,
        [
            "incident 4711: back to r2",
            "the canary is fine, ship it",
            "latency is back to normal",
            "canary latency is up"
        ]
    );
}

/// Heartbeats of the nodes of eks-prod-us that `keep` accepts, each
/// reporting `target` applied; returns how many were accepted.
async fn apply(s: &common::Server, target: &Value, keep: impl Fn(&Value) -> bool) -> u64 {
    let (_, matrix) = s.get("/api/v1/clusters/eks-prod-us/nodes", VIEWER).await;
    let heartbeats: Vec<Value> = matrix["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| keep(n))
        .map(|n| {
            json!({ "node": n["id"], "runtimeVersion": "3.6.1", "appliedSnapshot": target["id"], "appliedHash": target["hash"] })
        })
        .collect();
    if heartbeats.is_empty() {
        return 0;
    }
    let (status, r) = s.send(Method::POST, "/api/v1/heartbeats", OPERATOR, json!({ "heartbeats": heartbeats })).await;
    assert_eq!(status, 200, "{r}");
    r["accepted"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_ends_a_bake_with_no_heartbeat_to_notice_it() {
    let s = start().await;
    let plan = json!({ "waves": [50, 100], "bakeMs": 1, "maxFailurePct": 0.0, "autoRollback": false });
    let (status, target) = s.send(Method::POST, PUBLISH, OPERATOR, publish("v3", plan)).await;
    assert_eq!(status, 201, "{target}");
    // The first wave's nodes apply the target: the last of them finds the
    // wave converged and starts its bake. Nothing is heard after that, so
    // only the server's timer can end the bake and start the second wave.
    let first = apply(&s, &target, |n| n["desiredSnapshotId"] == target["id"]).await;
    let (_, r) = s.get(ROLLOUT, VIEWER).await;
    assert_eq!(first, r["perWave"][0]["nodes"].as_u64().unwrap(), "{r}");
    let started = fleetgov_testkit::eventually("the second wave to start with no heartbeat", || async {
        let (_, r) = s.get(ROLLOUT, VIEWER).await;
        if r["wave"] == 1 { Ok(r) } else { Err(r.to_string()) }
    })
    .await;
    assert!(started["perWave"][1]["startedMs"].is_u64(), "{started}");
    let (_, audit) = s.get("/api/v1/audit?action=rollout&cluster=eks-prod-us", VIEWER).await;
    assert!(
        audit["records"].as_array().unwrap().iter().any(|r| r["actor"] == "fleetgov"),
        "the wave start is the engine's own record: {audit}"
    );

    // The rest apply it too: the last wave converged, the rollout is complete.
    apply(&s, &target, |n| n["desiredSnapshotId"] != target["id"] || n["appliedSnapshotId"] != target["id"]).await;
    let done = fleetgov_testkit::eventually("the rollout to complete", || async {
        let (_, r) = s.get(ROLLOUT, VIEWER).await;
        if r["state"] == "complete" { Ok(r) } else { Err(r.to_string()) }
    })
    .await;
    assert_eq!((done["onTarget"].as_u64(), done["failures"].as_u64()), (Some(4), Some(0)), "{done}");
    let (_, cluster) = s.get("/api/v1/clusters/eks-prod-us", VIEWER).await;
    assert_eq!((cluster["status"].as_str(), cluster["cohesion"].as_u64()), (Some("HEALTHY"), Some(100)), "{cluster}");
}
