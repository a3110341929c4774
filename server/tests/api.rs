//! Every endpoint over real HTTP on an ephemeral loopback port: the reads,
//! the writes, node history, and the 400/401/403/404/410/413/415 answers to
//! bad input.

mod common;

use common::{ADMIN, OPERATOR, SCOPED, VIEWER, assert_error, json, start};
use fleetgov::audit::{Checkpoint, CheckpointVerifier, InclusionProof, TreeHash};
use fleetgov_dto::{ConsistencyProofJson, InclusionProofJson};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_known_token_are_401() {
    let s = start().await;
    let r = json(s.request(Method::GET, "/api/v1/clusters", None).send().await.unwrap()).await;
    assert_error(&r, 401, "UNAUTHENTICATED");
    assert_error(&s.get("/api/v1/clusters", "not-a-configured-token").await, 401, "UNAUTHENTICATED");
    let basic =
        s.request(Method::GET, "/api/v1/clusters", None).header("authorization", "Basic abc").send().await.unwrap();
    assert_error(&json(basic).await, 401, "UNAUTHENTICATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_show_the_seed_cohesion_and_status() {
    let s = start().await;
    let (status, body) = s.get("/api/v1/clusters", VIEWER).await;
    assert_eq!(status, 200);
    let seen: Vec<(String, u64, String)> = body["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["cohesion"].as_u64().unwrap(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        &seen[..3],
        [
            ("eks-prod-us".to_owned(), 100, "HEALTHY".to_owned()),
            ("gke-stage-eu".to_owned(), 75, "SYNCING".to_owned()),
            ("azure-dev-west".to_owned(), 33, "DIVERGENT".to_owned()),
        ]
    );
    let basis_points: Vec<u64> =
        body["clusters"].as_array().unwrap()[..3].iter().map(|c| c["cohesionBasisPoints"].as_u64().unwrap()).collect();
    assert_eq!(basis_points, [10_000, 7_500, 3_333], "1 of 3 is 33.33 %, floored");
    let (status, c) = s.get("/api/v1/clusters/gke-stage-eu", VIEWER).await;
    assert_eq!(status, 200);
    assert_eq!((c["inSync"].as_u64(), c["total"].as_u64()), (Some(3), Some(4)));
    assert_eq!(c["desired"]["id"], "gke-stage-eu@r2");
    assert_eq!(c["desired"]["hash"], c["desiredHash"]);
    assert_eq!(c["rootCauses"][0]["code"], "RELOAD_FAILURE");
    assert_error(&s.get("/api/v1/clusters/no-such-cluster", VIEWER).await, 404, "NOT_FOUND");
    // A token of another workspace sees only that workspace's cluster.
    let (_, scoped) = s.get("/api/v1/clusters", SCOPED).await;
    assert_eq!(scoped["clusters"].as_array().unwrap().len(), 1);
    assert_error(&s.get("/api/v1/clusters/eks-prod-us", SCOPED).await, 404, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_upsert_needs_admin() {
    let s = start().await;
    let body = json!({ "workspace": "acme-edge", "environment": "staging", "ownerTeam": "qa", "autoReconcile": true });
    assert_error(
        &s.send(Method::PUT, "/api/v1/clusters/new-one", OPERATOR, body.clone()).await,
        403,
        "PERMISSION_DENIED",
    );
    let (status, c) = s.send(Method::PUT, "/api/v1/clusters/new-one", ADMIN, body).await;
    assert_eq!((status, c["environment"].as_str(), c["cohesion"].as_u64()), (200, Some("STAGING"), Some(100)));
    let bad = json!({ "workspace": "acme-edge", "environment": "moon" });
    assert_error(&s.send(Method::PUT, "/api/v1/clusters/new-one", ADMIN, bad).await, 400, "INVALID_INPUT");
    let moved = json!({ "workspace": "other-ws", "environment": "staging" });
    assert_error(&s.send(Method::PUT, "/api/v1/clusters/new-one", ADMIN, moved).await, 409, "CONFLICT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_matrix_pages_and_filters() {
    let s = start().await;
    let (status, page) = s.get("/api/v1/clusters/gke-stage-eu/nodes?limit=2", VIEWER).await;
    assert_eq!(status, 200);
    assert_eq!((page["total"].as_u64(), page["matched"].as_u64()), (Some(4), Some(4)));
    let ids: Vec<&str> = page["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["gw-stage-eu-1", "gw-stage-eu-2"]);
    let (_, next) = s.get("/api/v1/clusters/gke-stage-eu/nodes?limit=2&offset=2", VIEWER).await;
    assert_eq!(next["nodes"][1]["id"], "gw-stage-eu-4");

    let (_, divergent) = s.get("/api/v1/clusters/gke-stage-eu/nodes?config=DIVERGENT", VIEWER).await;
    assert_eq!(divergent["matched"], 1);
    let n = &divergent["nodes"][0];
    assert_eq!((n["id"].as_str(), n["configStatus"].as_str()), (Some("gw-stage-eu-4"), Some("DIVERGENT")));
    assert_eq!(n["lastSyncError"]["code"], "RELOAD_FAILURE");
    assert_eq!(n["processHealth"], "Degraded");
    let (_, q) = s.get("/api/v1/clusters/azure-dev-west/nodes?q=west-3", VIEWER).await;
    assert_eq!(q["nodes"][0]["status"], "Error");
    // A root cause narrows the matrix to the nodes that report it.
    let (_, cause) = s.get("/api/v1/clusters/azure-dev-west/nodes?error=NATS_TIMEOUT", VIEWER).await;
    let ids: Vec<&str> = cause["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap()).collect();
    assert_eq!((ids, cause["matched"].as_u64()), (vec!["gw-dev-west-2"], Some(1)));
    assert_error(&s.get("/api/v1/clusters/azure-dev-west/nodes?error=SIDEWAYS", VIEWER).await, 400, "INVALID_INPUT");

    assert_error(&s.get("/api/v1/clusters/gke-stage-eu/nodes?config=SIDEWAYS", VIEWER).await, 400, "INVALID_INPUT");
    assert_error(&s.get("/api/v1/clusters/gke-stage-eu/nodes?limit=0", VIEWER).await, 400, "INVALID_INPUT");
    assert_error(&s.get("/api/v1/clusters/gke-stage-eu/nodes?colour=red", VIEWER).await, 400, "INVALID_INPUT");

    let (status, node) = s.get("/api/v1/nodes/gw-dev-west-2", VIEWER).await;
    assert_eq!((status, node["lastSyncError"]["code"].as_str()), (200, Some("NATS_TIMEOUT")));
    assert_error(&s.get("/api/v1/nodes/nobody", VIEWER).await, 404, "NOT_FOUND");
    assert_error(&s.get("/api/v1/nodes/gw-dev-west-2", SCOPED).await, 404, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspaces_fleet_inventory_and_distribution() {
    let s = start().await;
    let (_, list) = s.get("/api/v1/workspaces", VIEWER).await;
    let ids: Vec<&str> = list["workspaces"].as_array().unwrap().iter().map(|w| w["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["acme-edge", "other-ws"]);
    assert_eq!(list["workspaces"][0]["summary"]["total"], 11);
    let (_, scoped) = s.get("/api/v1/workspaces", SCOPED).await;
    assert_eq!(scoped["workspaces"].as_array().unwrap().len(), 1);

    // Pages of 4 runtimes cover all 11 exactly once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/workspaces/acme-edge/fleet?limit=4&cursor={c}"),
            None => "/api/v1/workspaces/acme-edge/fleet?limit=4".to_owned(),
        };
        let (status, page) = s.get(&path, VIEWER).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["summary"]["total"], 11);
        assert_eq!(page["desiredState"]["policyMode"], "authoritative");
        seen.extend(page["runtimes"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 11);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 11);

    let (_, dev) =
        s.get("/api/v1/workspaces/acme-edge/fleet?cluster=azure-dev-west&drift=needs_reconcile", VIEWER).await;
    assert_eq!(dev["runtimes"].as_array().unwrap().len(), 2);
    assert_error(&s.get("/api/v1/workspaces/acme-edge/fleet?cluster=other-cluster", VIEWER).await, 404, "NOT_FOUND");
    assert_error(&s.get("/api/v1/workspaces/acme-edge/fleet?health=bright", VIEWER).await, 400, "INVALID_INPUT");
    assert_error(&s.get("/api/v1/workspaces/acme-edge/fleet?cursor=xyz", VIEWER).await, 400, "INVALID_INPUT");
    assert_error(&s.get("/api/v1/workspaces/nowhere/fleet", VIEWER).await, 404, "NOT_FOUND");
    assert_error(&s.get("/api/v1/workspaces/acme-edge/fleet", SCOPED).await, 404, "NOT_FOUND");
    assert_error(&s.get("/api/v1/workspaces/acme-edge", SCOPED).await, 404, "NOT_FOUND");

    let (status, cfg) = s.get("/api/v1/workspaces/acme-edge/fleet/config", VIEWER).await;
    assert_eq!(status, 200);
    assert_eq!(cfg["distribution_mode"], "always_pull");
    assert_eq!(cfg["config_path"], "/api/v1/workspaces/acme-edge/fleet/config");
    assert_eq!(cfg["policies_path"], "/api/v1/workspaces/acme-edge/fleet/policies");
    assert_eq!(cfg["activePolicies"][0]["scope"], "org");
    assert_eq!(cfg["activePolicies"][1]["scope"], "workspace");
    let prod = cfg["clusters"].as_array().unwrap().iter().find(|c| c["clusterId"] == "eks-prod-us").unwrap();
    assert_eq!(prod["desiredSnapshot"]["id"], "eks-prod-us@r2");
    let (status, policies) = s.get("/api/v1/workspaces/acme-edge/fleet/policies", VIEWER).await;
    assert_eq!((status, policies["activePolicies"].as_array().unwrap().len()), (200, 2));
    assert_error(&s.get("/api/v1/workspaces/acme-edge/fleet/config", SCOPED).await, 404, "NOT_FOUND");
}

fn heartbeat(node: &str, snapshot: &str, hash: &str) -> Value {
    json!({ "node": node, "appliedSnapshot": snapshot, "appliedHash": hash, "runtimeVersion": "3.6.1",
            "metrics": { "cpu": 10.0, "memory": 20.0, "tps": 300.0, "heap": 40.0, "hotSwapErrors": 0 } })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_heartbeats_answer_with_directives_per_record() {
    let s = start().await;
    let (_, stage) = s.get("/api/v1/clusters/gke-stage-eu", VIEWER).await;
    let hash = stage["desiredHash"].as_str().unwrap();
    let old = s.get("/api/v1/snapshots/gke-stage-eu@r1", VIEWER).await.1["hash"].as_str().unwrap().to_owned();
    let batch = json!({ "heartbeats": [
        heartbeat("gw-stage-eu-4", "gke-stage-eu@r2", hash),           // recovers: in sync, nothing to do
        heartbeat("gw-stage-eu-1", "gke-stage-eu@r1", &old),           // falls behind: auto-reconcile
        heartbeat("ghost-node", "gke-stage-eu@r2", hash),              // unknown
        { "node": "gw-stage-eu-2", "runtimeVersion": "3.6.1", "syncError": "lower case" }, // malformed sync error
        { "node": "gw-stage-eu-3", "runtimeVersion": "3.6.1", "atMs": 99_999_999_999_999u64 }, // from the future
    ]});
    let (status, r) = s.send(Method::POST, "/api/v1/heartbeats", OPERATOR, batch).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!((r["accepted"].as_u64(), r["rejected"].as_u64()), (Some(2), Some(3)));
    assert!(r["results"][0].get("directive").is_none() && r["results"][0].get("error").is_none());
    assert_eq!(r["results"][1]["directive"]["kind"], "reconcile");
    assert_eq!(r["results"][1]["directive"]["snapshot"], "gke-stage-eu@r2");
    assert_eq!(r["results"][1]["directive"]["artifact"], format!("/api/v1/artifacts/{hash}"));
    assert_eq!(r["results"][2]["error"]["code"], "NOT_FOUND");
    assert_eq!(r["results"][3]["error"]["code"], "INVALID_INPUT");
    assert_eq!(r["results"][4]["error"]["code"], "FUTURE_HEARTBEAT");
    let (_, c) = s.get("/api/v1/clusters/gke-stage-eu", VIEWER).await;
    assert_eq!((c["inSync"].as_u64(), c["cohesion"].as_u64()), (Some(3), Some(75)));

    // Whole-body refusals change nothing.
    let before = s.get("/api/v1/clusters/gke-stage-eu", VIEWER).await.1;
    let raw = |body: &'static str, ct: &'static str| {
        s.request(Method::POST, "/api/v1/heartbeats", Some(OPERATOR)).header("content-type", ct).body(body).send()
    };
    assert_error(&json(raw("{\"heartbeats\": [", "application/json").await.unwrap()).await, 400, "INVALID_INPUT");
    assert_error(&json(raw("{\"beats\": []}", "application/json").await.unwrap()).await, 400, "INVALID_INPUT");
    assert_error(
        &json(raw("node=gw-1", "application/x-www-form-urlencoded").await.unwrap()).await,
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    );
    let huge = format!(
        "{{\"heartbeats\": [{}]}}",
        vec![heartbeat("gw-stage-eu-1", "gke-stage-eu@r2", hash).to_string(); 1_000].join(",")
    );
    let r = s
        .request(Method::POST, "/api/v1/heartbeats", Some(OPERATOR))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_error(&json(r).await, 413, "PAYLOAD_TOO_LARGE");
    assert_error(
        &s.send(Method::POST, "/api/v1/heartbeats", VIEWER, json!({ "heartbeats": [] })).await,
        403,
        "PERMISSION_DENIED",
    );
    assert_eq!(s.get("/api/v1/clusters/gke-stage-eu", VIEWER).await.1, before, "refused bodies changed state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_heartbeat_records_in_and_outcomes_out() {
    use fleetgov::record::{HeartbeatRecord, OUTCOME_SIZE, Outcome, OutcomeRecord};
    use fleetgov::{ContentHash, Metrics, NodeHandle, ProcessStatus};
    use zerocopy::IntoBytes;

    let s = start().await;
    let (status, enrolled) = s
        .send(Method::POST, "/api/v1/clusters/azure-dev-west/nodes", OPERATOR, json!({ "nodes": ["bin-1", "bin-2"] }))
        .await;
    assert_eq!((status, enrolled["total"].as_u64()), (201, Some(5)), "{enrolled}");
    let handles: Vec<NodeHandle> =
        enrolled["handles"].as_array().unwrap().iter().map(|h| NodeHandle::from_raw(h.as_u64().unwrap())).collect();
    let (_, dev) = s.get("/api/v1/clusters/azure-dev-west", VIEWER).await;
    let hash: ContentHash = dev["desiredHash"].as_str().unwrap().parse().unwrap();
    let now = s.engine.clock().now_ms();
    let version = "3.6.1".parse().unwrap();
    let good =
        HeartbeatRecord::new(handles[0], now, version, ProcessStatus::Ready, Metrics::default()).with_applied(2, hash);
    let stale_rev = HeartbeatRecord::new(handles[1], now, version, ProcessStatus::Ready, Metrics::default());
    let unknown =
        HeartbeatRecord::new(NodeHandle::from_raw(u64::MAX), now, version, ProcessStatus::Ready, Metrics::default());
    let mut body = Vec::new();
    for r in [good, stale_rev, unknown] {
        body.extend_from_slice(r.as_bytes());
    }
    let r = s
        .request(Method::POST, "/api/v1/heartbeats", Some(OPERATOR))
        .header("content-type", "application/octet-stream")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-fleetgov-accepted"], "2");
    assert_eq!(r.headers()["x-fleetgov-refused"], "1");
    let mut out = r.bytes().await.unwrap().to_vec();
    assert_eq!(out.len(), 3 * OUTCOME_SIZE);
    let outcomes = OutcomeRecord::from_bytes_mut(&mut out).unwrap();
    assert_eq!(outcomes[0].outcome(), Some(Outcome::Accepted));
    assert_eq!(outcomes[1].outcome(), Some(Outcome::Reconcile), "azure-dev-west auto-reconciles");
    assert_eq!(outcomes[1].directive(), Some((2, hash)));
    assert_eq!(outcomes[2].outcome(), Some(Outcome::UnknownNode));
    let (_, node) = s.get("/api/v1/nodes/bin-1", VIEWER).await;
    assert_eq!(node["configStatus"], "IN_SYNC");

    // A bad record refuses the whole batch, naming it; nothing is applied.
    let before = s.get("/api/v1/clusters/azure-dev-west", VIEWER).await.1;
    let mut bad = body.clone();
    bad[128] = 9; // record 1: unknown format version
    let r = s
        .request(Method::POST, "/api/v1/heartbeats", Some(OPERATOR))
        .header("content-type", "application/octet-stream")
        .body(bad)
        .send()
        .await
        .unwrap();
    let e = json(r).await;
    assert_error(&e, 400, "INVALID_INPUT");
    assert!(e.1["error"]["message"].as_str().unwrap().contains("record 1"), "{}", e.1);
    let r = s
        .request(Method::POST, "/api/v1/heartbeats", Some(OPERATOR))
        .header("content-type", "application/octet-stream")
        .body(body[..200].to_vec())
        .send()
        .await
        .unwrap();
    assert_error(&json(r).await, 400, "INVALID_INPUT");
    assert_eq!(s.get("/api/v1/clusters/azure-dev-west", VIEWER).await.1, before);
    let r = s
        .request(Method::POST, "/api/v1/heartbeats", Some(SCOPED))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_error(&json(r).await, 403, "PERMISSION_DENIED");
    let conflict = s
        .send(Method::POST, "/api/v1/clusters/eks-prod-us/nodes", OPERATOR, json!({ "nodes": ["fresh", "bin-1"] }))
        .await;
    assert_error(&conflict, 409, "CONFLICT");
    assert_error(&s.get("/api/v1/nodes/fresh", VIEWER).await, 404, "NOT_FOUND");
    assert_error(
        &s.send(Method::POST, "/api/v1/clusters/eks-prod-us/nodes", OPERATOR, json!({ "nodes": ["bad id!"] })).await,
        400,
        "INVALID_INPUT",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_then_pull_the_artifact() {
    let s = start().await;
    let (status, snap) = s
        .send(
            Method::POST,
            "/api/v1/clusters/eks-prod-us/snapshots",
            OPERATOR,
            json!({ "content": "rate_limit: 700\n" }),
        )
        .await;
    assert_eq!(status, 201, "{snap}");
    assert_eq!((snap["id"].as_str(), snap["author"].as_str()), (Some("eks-prod-us@r3"), Some("omar")));
    assert_eq!(snap["hash"], fleetgov::ContentHash::of(b"rate_limit: 700\n").to_string());
    let (_, c) = s.get("/api/v1/clusters/eks-prod-us", VIEWER).await;
    assert_eq!((c["cohesion"].as_u64(), c["status"].as_str()), (Some(0), Some("DIVERGENT")));

    let r = s
        .request(Method::POST, "/api/v1/clusters/eks-prod-us/snapshots", Some(ADMIN))
        .header("content-type", "application/octet-stream")
        .body(vec![1u8, 2, 3])
        .send()
        .await
        .unwrap();
    let (status, bin) = json(r).await;
    assert_eq!((status, bin["revision"].as_u64()), (201, Some(4)));
    let r = s
        .request(Method::GET, &format!("/api/v1/artifacts/{}", bin["hash"].as_str().unwrap()), Some(VIEWER))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["etag"], format!("\"{}\"", bin["hash"].as_str().unwrap()));
    assert_eq!(&r.bytes().await.unwrap()[..], &[1, 2, 3]);
    assert_error(&s.get(&format!("/api/v1/artifacts/{}", "0".repeat(64)), VIEWER).await, 404, "NOT_FOUND");
    assert_error(&s.get("/api/v1/artifacts/not-a-hash", VIEWER).await, 400, "INVALID_INPUT");
    let (status, got) = s.get("/api/v1/snapshots/eks-prod-us@r4", VIEWER).await;
    assert_eq!((status, got["sizeBytes"].as_u64()), (200, Some(3)));
    assert_error(&s.get("/api/v1/snapshots/eks-prod-us@r99", VIEWER).await, 404, "NOT_FOUND");

    assert_error(
        &s.send(Method::POST, "/api/v1/clusters/eks-prod-us/snapshots", VIEWER, json!({ "content": "x" })).await,
        403,
        "PERMISSION_DENIED",
    );
    assert_error(
        &s.send(Method::POST, "/api/v1/clusters/eks-prod-us/snapshots", OPERATOR, json!({ "content": "" })).await,
        400,
        "INVALID_INPUT",
    );
    assert_error(
        &s.send(Method::POST, "/api/v1/clusters/nope/snapshots", OPERATOR, json!({ "content": "x" })).await,
        404,
        "NOT_FOUND",
    );
    let r = s
        .request(Method::POST, "/api/v1/clusters/eks-prod-us/snapshots", Some(OPERATOR))
        .header("content-type", "image/png")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_error(&json(r).await, 415, "UNSUPPORTED_MEDIA_TYPE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_sync_is_justified_role_checked_audited_and_provable() {
    let s = start().await;
    let node = |reason: &str| json!({ "target": { "node": "gw-dev-west-2" }, "reason": reason });
    assert_error(
        &s.send(Method::POST, "/api/v1/force-sync", OPERATOR, node("   ")).await,
        400,
        "JUSTIFICATION_REQUIRED",
    );
    assert_error(
        &s.send(Method::POST, "/api/v1/force-sync", OPERATOR, json!({ "target": { "node": "x" } })).await,
        400,
        "INVALID_INPUT",
    );
    assert_error(
        &s.send(Method::POST, "/api/v1/force-sync", VIEWER, node("Emergency disaster recovery")).await,
        403,
        "PERMISSION_DENIED",
    );
    assert_error(
        &s.send(Method::POST, "/api/v1/force-sync", SCOPED, node("Emergency disaster recovery")).await,
        404,
        "NOT_FOUND",
    );
    let ws = json!({ "target": { "workspace": "acme-edge" }, "reason": "Rollback due to failed deployment" });
    assert_error(&s.send(Method::POST, "/api/v1/force-sync", OPERATOR, ws.clone()).await, 403, "PERMISSION_DENIED");
    let two = json!({ "target": { "node": "gw-dev-west-2", "cluster": "azure-dev-west" }, "reason": "x" });
    assert_error(&s.send(Method::POST, "/api/v1/force-sync", OPERATOR, two).await, 400, "INVALID_INPUT");
    let ghost = json!({ "target": { "node": "ghost" }, "reason": "Emergency disaster recovery" });
    assert_error(&s.send(Method::POST, "/api/v1/force-sync", OPERATOR, ghost).await, 404, "NOT_FOUND");
    let (_, before) = s.get("/api/v1/audit?action=force_sync_node,force_sync_cluster,global_overwrite", VIEWER).await;
    assert_eq!(before["records"].as_array().unwrap().len(), 0, "refused overrides are not recorded");

    let (status, record) =
        s.send(Method::POST, "/api/v1/force-sync", OPERATOR, node("Node re-provisioning after hardware failure")).await;
    assert_eq!(status, 201, "{record}");
    assert_eq!(record["action"], "force_sync_node");
    assert_eq!((record["actor"].as_str(), record["role"].as_str()), (Some("omar"), Some("operator")));
    assert_eq!(record["target"], "node:gw-dev-west-2");
    assert_eq!(record["justification"], "Node re-provisioning after hardware failure");
    let (status, global) = s.send(Method::POST, "/api/v1/force-sync", ADMIN, ws).await;
    assert_eq!((status, global["action"].as_str()), (201, Some("global_overwrite")));

    // The forced node's next heartbeat is answered with force_sync.
    let hb = json!({ "heartbeats": [{ "node": "gw-dev-west-2", "runtimeVersion": "3.6.1" }] });
    let (_, r) = s.send(Method::POST, "/api/v1/heartbeats", OPERATOR, hb).await;
    assert_eq!(r["results"][0]["directive"]["kind"], "force_sync", "{r}");

    // The audit log lists both overrides, newest first, and proves them.
    let (_, audit) = s.get("/api/v1/audit?action=force_sync_node,global_overwrite&limit=10", VIEWER).await;
    let seqs: Vec<u64> = audit["records"].as_array().unwrap().iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [global["seq"].as_u64().unwrap(), record["seq"].as_u64().unwrap()]);
    let (_, page) = s.get("/api/v1/audit?limit=2", VIEWER).await;
    assert_eq!(page["records"].as_array().unwrap().len(), 2);
    let older = page["nextBefore"].as_u64().unwrap();
    let (_, next) = s.get(&format!("/api/v1/audit?limit=2&before={older}"), VIEWER).await;
    assert!(next["records"][0]["seq"].as_u64().unwrap() < older);
    assert_error(&s.get("/api/v1/audit?action=launch_missiles", VIEWER).await, 400, "INVALID_INPUT");
    // A token of another workspace sees none of acme-edge's records.
    let (_, scoped) = s.get("/api/v1/audit?action=force_sync_node", SCOPED).await;
    assert_eq!(scoped["records"].as_array().unwrap().len(), 0);
    assert_error(&s.get(&format!("/api/v1/audit/{}/proof", record["seq"]), SCOPED).await, 404, "NOT_FOUND");

    let (status, proof) = s.get(&format!("/api/v1/audit/{}/proof", record["seq"]), VIEWER).await;
    assert_eq!(status, 200, "{proof}");
    let verifier: CheckpointVerifier = proof["verifierKey"].as_str().unwrap().parse().unwrap();
    let checkpoint = Checkpoint::open(proof["checkpoint"].as_str().unwrap(), &verifier).unwrap();
    let inclusion = InclusionProof::from(serde_json::from_value::<InclusionProofJson>(proof["proof"].clone()).unwrap());
    let leaf: TreeHash = serde_json::from_value(proof["record"]["leafHash"].clone()).unwrap();
    inclusion.verify(&leaf, &checkpoint.head()).unwrap();
    let mut forged = inclusion.clone();
    forged.leaf_index ^= 1;
    assert!(forged.verify(&leaf, &checkpoint.head()).is_err());
    assert_error(&s.get("/api/v1/audit/999999/proof", VIEWER).await, 404, "NOT_FOUND");

    let (status, cp) = s.get("/api/v1/checkpoint", VIEWER).await;
    assert_eq!(status, 200);
    let opened = Checkpoint::open(cp["checkpoint"].as_str().unwrap(), &verifier).unwrap();
    assert_eq!(Some(opened.size), cp["size"].as_u64());
    assert!(opened.size >= checkpoint.size);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attestations_are_dsse_envelopes_checkable_with_the_verifier_key() {
    let s = start().await;
    let at = s.engine.clock().now_ms();
    let path = format!("/api/v1/attestations?cluster=gke-stage-eu&at={at}");
    let r = s.request(Method::GET, &path, Some(VIEWER)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/vnd.dsse+json");
    let envelope = r.text().await.unwrap();
    let (_, cp) = s.get("/api/v1/checkpoint", VIEWER).await;
    let verifier: CheckpointVerifier = cp["verifierKey"].as_str().unwrap().parse().unwrap();
    let stated = fleetgov::verify_attestation(&envelope, &verifier).unwrap();
    assert_eq!((stated.cluster.as_str(), stated.at_ms), ("gke-stage-eu", at));
    let nodes: Vec<&str> = stated.nodes.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(nodes, ["gw-stage-eu-1", "gw-stage-eu-2", "gw-stage-eu-3", "gw-stage-eu-4"]);
    let r1 = s.engine.snapshot("gke-stage-eu@r1").unwrap().hash;
    assert_eq!(stated.nodes[3].1, r1, "gw-stage-eu-4 ran the old revision");
    assert_eq!(stated.desired.unwrap().snapshot, "gke-stage-eu@r2");
    // The checkpoint it states is the log as it stood: a prefix of the served log.
    let served = Checkpoint::open(cp["checkpoint"].as_str().unwrap(), &verifier).unwrap();
    let (status, proof) =
        s.get(&format!("/api/v1/audit/consistency?from={}&to={}", stated.checkpoint.size, served.size), VIEWER).await;
    assert_eq!(status, 200, "{proof}");
    let proof = fleetgov::audit::ConsistencyProof::from(serde_json::from_value::<ConsistencyProofJson>(proof).unwrap());
    proof.verify(&stated.checkpoint, &served.head()).unwrap();
    // The same moment, the same bytes, even after a late report stamped at
    // that moment: what was answered about it is sealed.
    let fixed = json!({ "heartbeats": [{ "node": "gw-stage-eu-4", "runtimeVersion": "3.6.1", "atMs": at,
        "appliedSnapshot": "gke-stage-eu@r2", "appliedHash": s.engine.snapshot("gke-stage-eu@r2").unwrap().hash }] });
    let (status, r) = s.send(Method::POST, "/api/v1/heartbeats", OPERATOR, fixed).await;
    assert_eq!((status, r["accepted"].as_u64()), (200, Some(1)), "{r}");
    assert_eq!(s.request(Method::GET, &path, Some(VIEWER)).send().await.unwrap().text().await.unwrap(), envelope);
    // Nothing is signed about the future, near or far; nor about a time
    // before the history the server keeps (it begins when the server started).
    for ahead in [60_000, 1_000 * 86_400_000] {
        let future = format!("/api/v1/attestations?cluster=gke-stage-eu&at={}", s.engine.clock().now_ms() + ahead);
        assert_error(&s.get(&future, VIEWER).await, 400, "FUTURE");
    }
    let early = s.get("/api/v1/attestations?cluster=gke-stage-eu&at=1", VIEWER).await;
    assert_error(&early, 410, "HISTORY_UNAVAILABLE");
    assert_error(&s.get("/api/v1/attestations?cluster=nope", VIEWER).await, 404, "NOT_FOUND");
    assert_error(&s.get("/api/v1/attestations", VIEWER).await, 400, "INVALID_INPUT");
    assert_error(&s.get("/api/v1/attestations?cluster=gke-stage-eu&at=soon", VIEWER).await, 400, "INVALID_INPUT");
    assert_error(&s.get("/api/v1/attestations?cluster=gke-stage-eu", SCOPED).await, 404, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_history_and_what_it_ran_at_a_moment() {
    let s = start().await;
    let start_ms = s.engine.history_start_ms();
    let r1 = s.engine.snapshot("gke-stage-eu@r1").unwrap().hash.to_string();
    let r2 = s.engine.snapshot("gke-stage-eu@r2").unwrap().hash.to_string();

    // The seeds reported before the server's history began: no change in
    // range, yet what a node ran now is known, and since when.
    let (status, history) = s.get("/api/v1/nodes/gw-stage-eu-4/history", VIEWER).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!((history["node"].as_str(), history["fromMs"].as_u64()), (Some("gw-stage-eu-4"), Some(start_ms)));
    assert!(history["toMs"].as_u64().unwrap() >= start_ms);
    assert_eq!(history["changes"], json!([]));
    let (status, ran) = s.get("/api/v1/nodes/gw-stage-eu-4/what-ran", VIEWER).await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!((ran["snapshot"].as_str(), ran["hash"].as_str()), (Some("gke-stage-eu@r1"), Some(r1.as_str())));
    assert!(ran["sinceMs"].as_u64().unwrap() < start_ms, "{ran}");

    // It recovers: one change, verified, and the moment before it still ran r1.
    let (status, r) = s
        .send(
            Method::POST,
            "/api/v1/heartbeats",
            OPERATOR,
            json!({ "heartbeats": [heartbeat("gw-stage-eu-4", "gke-stage-eu@r2", &r2)] }),
        )
        .await;
    assert_eq!((status, r["accepted"].as_u64()), (200, Some(1)), "{r}");
    let (_, history) = s.get("/api/v1/nodes/gw-stage-eu-4/history", VIEWER).await;
    let changes = history["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{history}");
    let at = changes[0]["atMs"].as_u64().unwrap();
    assert_eq!(changes[0], json!({ "atMs": at, "snapshot": "gke-stage-eu@r2", "hash": r2, "verified": true }));
    let at_path = |t: u64| format!("/api/v1/nodes/gw-stage-eu-4/what-ran?at={t}");
    assert_eq!(s.get(&at_path(at - 1), VIEWER).await.1["snapshot"], "gke-stage-eu@r1");
    let (status, now) = s.get(&at_path(at), VIEWER).await;
    assert_eq!(
        (status, now["snapshot"].as_str(), now["sinceMs"].as_u64(), now["atMs"].as_u64()),
        (200, Some("gke-stage-eu@r2"), Some(at), Some(at))
    );
    let (_, earlier) =
        s.get(&format!("/api/v1/nodes/gw-stage-eu-4/history?from={start_ms}&to={}", at - 1), VIEWER).await;
    assert_eq!(earlier["changes"], json!([]), "the range is inclusive and ends before the change");

    // A node that has reported nothing: no history, and nothing ran.
    assert_eq!(s.get("/api/v1/nodes/other-1/history", VIEWER).await.1["changes"], json!([]));
    let silent = s.get("/api/v1/nodes/other-1/what-ran", VIEWER).await;
    assert_error(&silent, 404, "NOT_FOUND");
    assert!(silent.1["error"]["message"].as_str().unwrap().contains("reported nothing"), "{}", silent.1);

    // The future is 400, before the history 410, a backwards range 400,
    // an unknown node 404.
    let future = s.engine.clock().now_ms() + 60_000;
    assert_error(&s.get(&at_path(future), VIEWER).await, 400, "FUTURE");
    assert_error(&s.get(&format!("/api/v1/nodes/gw-stage-eu-4/history?to={future}"), VIEWER).await, 400, "FUTURE");
    assert_error(&s.get(&at_path(1), VIEWER).await, 410, "HISTORY_UNAVAILABLE");
    assert_error(&s.get("/api/v1/nodes/gw-stage-eu-4/history?from=1", VIEWER).await, 410, "HISTORY_UNAVAILABLE");
    let backwards = format!("/api/v1/nodes/gw-stage-eu-4/history?from={at}&to={}", at - 1);
    assert_error(&s.get(&backwards, VIEWER).await, 400, "INVALID_INPUT");
    assert_error(&s.get("/api/v1/nodes/gw-stage-eu-4/what-ran?at=soon", VIEWER).await, 400, "INVALID_INPUT");
    assert_error(&s.get("/api/v1/nodes/no-such-node/what-ran", VIEWER).await, 404, "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncing_the_data_directory_is_for_admins_of_every_workspace() {
    let s = start().await;
    for token in [VIEWER, OPERATOR, SCOPED] {
        assert_error(&s.send(Method::POST, "/api/v1/admin/sync", token, json!({})).await, 403, "PERMISSION_DENIED");
    }
    let (status, synced) = s.send(Method::POST, "/api/v1/admin/sync", ADMIN, json!({})).await;
    assert_eq!(status, 200, "{synced}");
    assert_eq!(synced["durable"], false, "the test server keeps no data directory");
    assert!(synced["atMs"].as_u64().unwrap() >= s.engine.history_start_ms());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_are_json_errors_and_the_server_keeps_serving() {
    let s = start().await;
    assert_error(&s.get("/api/v1/nothing-here", VIEWER).await, 404, "NOT_FOUND");
    let r = s.request(Method::DELETE, "/api/v1/clusters", Some(ADMIN)).send().await.unwrap();
    assert_error(&json(r).await, 405, "METHOD_NOT_ALLOWED");
    for garbage in ["", "null", "[]", "{\"heartbeats\": null}", "\u{0}\u{1}", "{\"heartbeats\": [{\"node\": 5}]}"] {
        let r = s
            .request(Method::POST, "/api/v1/heartbeats", Some(OPERATOR))
            .header("content-type", "application/json")
            .body(garbage)
            .send()
            .await
            .unwrap();
        assert_error(&json(r).await, 400, "INVALID_INPUT");
    }
    assert_eq!(s.get("/api/v1/clusters", VIEWER).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_expose_cohesion_counts_and_ingest() {
    let s = start().await;
    let hb = json!({ "heartbeats": [{ "node": "gw-prod-us-1", "runtimeVersion": "3.6.1" }] });
    s.send(Method::POST, "/api/v1/heartbeats", OPERATOR, hb).await;
    let r = s.request(Method::GET, "/metrics", Some(VIEWER)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text().await.unwrap();
    for line in [
        "fleetgov_cluster_cohesion_percent{workspace=\"acme-edge\",cluster=\"gke-stage-eu\"} 75",
        "fleetgov_cluster_cohesion_percent{workspace=\"acme-edge\",cluster=\"eks-prod-us\"} 75", // gw-prod-us-1 reported nothing applied
        "fleetgov_cluster_cohesion_basis_points{workspace=\"acme-edge\",cluster=\"eks-prod-us\"} 7500",
        "fleetgov_cluster_cohesion_basis_points{workspace=\"acme-edge\",cluster=\"azure-dev-west\"} 3333",
        "fleetgov_cluster_nodes_verified{workspace=\"acme-edge\",cluster=\"eks-prod-us\"} 3",
        "fleetgov_cluster_nodes_in_sync{workspace=\"acme-edge\",cluster=\"eks-prod-us\"} 3",
        "fleetgov_cluster_nodes_enrolled{workspace=\"acme-edge\",cluster=\"azure-dev-west\"} 3",
        "fleetgov_nodes_by_health{workspace=\"acme-edge\",health=\"connected\"} 11",
        "fleetgov_nodes_by_drift{workspace=\"acme-edge\",drift=\"needs_reconcile\"} 4",
        "fleetgov_heartbeats_total{source=\"json\"} 1",
        "fleetgov_cluster_root_cause_nodes{workspace=\"acme-edge\",cluster=\"azure-dev-west\",code=\"NATS_TIMEOUT\"} 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert_error(
        &json(s.request(Method::GET, "/metrics", Some(SCOPED)).send().await.unwrap()).await,
        403,
        "PERMISSION_DENIED",
    );
    assert_error(&json(s.request(Method::GET, "/metrics", None).send().await.unwrap()).await, 401, "UNAUTHENTICATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_older_than_an_hour_is_in_sync_yet_no_longer_verified() {
    let s = start().await;
    let (status, snap) =
        s.send(Method::POST, "/api/v1/clusters/other-cluster/snapshots", OPERATOR, json!({ "content": "x: 1" })).await;
    assert_eq!(status, 201, "{snap}");
    // other-1 reports the desired snapshot, but 61 minutes ago.
    let at = s.engine.clock().now_ms() - 61 * 60_000;
    let hb = json!({ "heartbeats": [{ "node": "other-1", "runtimeVersion": "3.6.1", "atMs": at,
        "appliedSnapshot": snap["id"], "appliedHash": snap["hash"] }] });
    let (status, r) = s.send(Method::POST, "/api/v1/heartbeats", OPERATOR, hb).await;
    assert_eq!((status, r["accepted"].as_u64()), (200, Some(1)), "{r}");
    let (_, node) = s.get("/api/v1/nodes/other-1", VIEWER).await;
    assert_eq!((node["configStatus"].as_str(), node["verified"].as_bool()), (Some("IN_SYNC"), Some(false)));
    assert_eq!(node["health"], "dormant");
    assert!(node["heartbeatAgeMs"].as_u64().unwrap() >= 61 * 60_000, "{node}");
    let (_, c) = s.get("/api/v1/clusters/other-cluster", VIEWER).await;
    assert_eq!(
        (c["inSync"].as_u64(), c["total"].as_u64(), c["cohesionBasisPoints"].as_u64(), c["status"].as_str()),
        (Some(0), Some(1), Some(0), Some("DIVERGENT"))
    );
    let (_, page) = s.get("/api/v1/clusters/other-cluster/nodes?config=IN_SYNC&verified=false", VIEWER).await;
    assert_eq!((page["matched"].as_u64(), page["nodes"][0]["id"].as_str()), (Some(1), Some("other-1")));
    let (_, page) = s.get("/api/v1/clusters/other-cluster/nodes?verified=true", VIEWER).await;
    assert_eq!(page["matched"].as_u64(), Some(0));
    // A fresh node reads verified, with its age.
    let (_, fresh) = s.get("/api/v1/nodes/gw-prod-us-2", VIEWER).await;
    assert_eq!((fresh["verified"].as_bool(), fresh["health"].as_str()), (Some(true), Some("connected")));
    assert!(fresh["heartbeatAgeMs"].as_u64().unwrap() >= 10_000, "the seeds reported 10 s before the start");
    let text = s.request(Method::GET, "/metrics", Some(ADMIN)).send().await.unwrap().text().await.unwrap();
    for line in [
        "fleetgov_cluster_nodes_in_sync{workspace=\"other-ws\",cluster=\"other-cluster\"} 1",
        "fleetgov_cluster_nodes_verified{workspace=\"other-ws\",cluster=\"other-cluster\"} 0",
        "fleetgov_cluster_cohesion_basis_points{workspace=\"other-ws\",cluster=\"other-cluster\"} 0",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_pages_and_demo_tokens_are_served() {
    let s = start().await;
    for (path, needle) in [
        ("/cluster", "Cluster Manager"),
        ("/dashboard/observe", "Fleet rollout posture"),
        ("/nodes/gw-stage-eu-4", "What it ran"),
        ("/assets/node.js", "/api/v1/attestations"),
        ("/assets/cluster.js", "Force Global Snapshot"),
        ("/assets/observe.js", "histogram"),
        ("/assets/common.js", "EventSource"),
        ("/assets/style.css", "--green"),
    ] {
        let r = s.request(Method::GET, path, None).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.text().await.unwrap().contains(needle), "{path}");
    }
    let r = s.client.get(format!("{}/api/v1/demo-tokens", s.base)).send().await.unwrap();
    let (status, tokens) = json(r).await;
    assert_eq!(status, 200);
    assert_eq!(tokens, json!([{ "token": VIEWER, "actor": "vera", "role": "viewer" }]), "only tokens marked demo");
    let icon = s.request(Method::GET, "/favicon.ico", None).send().await.unwrap();
    assert_eq!(icon.status().as_u16(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    // The page asks who the token is, to offer the controls of its role.
    let (_, who) = s.get("/api/v1/whoami", OPERATOR).await;
    assert_eq!(who, json!({ "actor": "omar", "role": "operator", "workspaces": ["*"] }));
    let (_, scoped) = s.get("/api/v1/whoami", SCOPED).await;
    assert_eq!(scoped["workspaces"], json!(["other-ws"]));
    let r = s.request(Method::GET, "/api/v1/whoami", None).send().await.unwrap();
    assert_error(&json(r).await, 401, "UNAUTHENTICATED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_remove_nodes_audited_and_their_heartbeats_are_refused() {
    let s = start().await;
    let node = "/api/v1/nodes/gw-stage-eu-4";
    let r = json(s.request(Method::DELETE, node, None).send().await.unwrap()).await;
    assert_error(&r, 401, "UNAUTHENTICATED");
    assert_error(&s.send(Method::DELETE, node, VIEWER, Value::Null).await, 403, "PERMISSION_DENIED");
    assert_error(&s.send(Method::DELETE, node, SCOPED, Value::Null).await, 404, "NOT_FOUND");
    assert_error(&s.send(Method::DELETE, "/api/v1/nodes/ghost-node", OPERATOR, Value::Null).await, 404, "NOT_FOUND");
    let before = s.get("/api/v1/clusters/gke-stage-eu", VIEWER).await.1["total"].as_u64().unwrap();

    let (status, record) = s.send(Method::DELETE, node, OPERATOR, Value::Null).await;
    assert_eq!(status, 200, "{record}");
    assert_eq!(
        (&record["action"], &record["actor"], &record["target"]),
        (&json!("remove_node"), &json!("omar"), &json!("node:gw-stage-eu-4"))
    );
    assert_eq!(s.get("/api/v1/clusters/gke-stage-eu", VIEWER).await.1["total"].as_u64(), Some(before - 1));
    assert_error(&s.get(node, VIEWER).await, 404, "NOT_FOUND");
    assert_error(&s.send(Method::DELETE, node, OPERATOR, Value::Null).await, 404, "NOT_FOUND");
    let hash = s.get("/api/v1/clusters/gke-stage-eu", VIEWER).await.1["desiredHash"].as_str().unwrap().to_owned();
    let batch = json!({ "heartbeats": [heartbeat("gw-stage-eu-4", "gke-stage-eu@r2", &hash)] });
    let (_, r) = s.send(Method::POST, "/api/v1/heartbeats", OPERATOR, batch).await;
    assert_eq!(r["results"][0]["error"]["code"], "NOT_FOUND", "{r}");
    // The removal stays in its cluster's audit trail though the node is gone.
    let (_, audit) = s.get("/api/v1/audit?cluster=gke-stage-eu&action=remove_node", VIEWER).await;
    assert_eq!(audit["records"][0]["target"], "node:gw-stage-eu-4", "{audit}");
    assert!(s.engine.recount_mismatches().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_matrix_sorts_by_any_column_page_by_page() {
    let s = start().await;
    let ids = |page: &Value| -> Vec<String> {
        page["nodes"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect()
    };
    let (status, desc) = s.get("/api/v1/clusters/gke-stage-eu/nodes?sort=id&order=desc", VIEWER).await;
    assert_eq!(status, 200, "{desc}");
    let mut want = ids(&desc);
    want.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids(&desc), want);
    assert!(want.len() > 2);
    // Page by page, the same order as all at once.
    let (_, first) = s.get("/api/v1/clusters/gke-stage-eu/nodes?sort=id&order=desc&limit=2", VIEWER).await;
    let (_, rest) = s.get("/api/v1/clusters/gke-stage-eu/nodes?sort=id&order=desc&offset=2", VIEWER).await;
    assert_eq!([ids(&first), ids(&rest)].concat(), want);
    assert_eq!(first["matched"], desc["matched"]);

    let (_, by_cpu) = s.get("/api/v1/clusters/gke-stage-eu/nodes?sort=cpu&order=desc", VIEWER).await;
    let cpu: Vec<f64> =
        by_cpu["nodes"].as_array().unwrap().iter().map(|n| n["metrics"]["cpu"].as_f64().unwrap()).collect();
    assert!(cpu.windows(2).all(|w| w[0] >= w[1]), "{cpu:?}");
    let (_, divergent) = s.get("/api/v1/clusters/gke-stage-eu/nodes?config=DIVERGENT&sort=cause", VIEWER).await;
    assert!(divergent["nodes"].as_array().unwrap().iter().all(|n| n["configStatus"] == "DIVERGENT"), "{divergent}");
    assert_error(&s.get("/api/v1/clusters/gke-stage-eu/nodes?sort=colour", VIEWER).await, 400, "INVALID_INPUT");
    assert_error(&s.get("/api/v1/clusters/gke-stage-eu/nodes?sort=id&order=up", VIEWER).await, 400, "INVALID_INPUT");
}

/// Every kind of heartbeat in one JSON batch, a node reported several times:
/// each record gets the answer, word for word, that a call per heartbeat
/// gives (directives, stale, future, unknown, malformed, out of scope), and
/// a node's records count in batch order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_batch_answers_record_by_record_as_single_calls_would() {
    let s = start().await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    let stage = s.get("/api/v1/clusters/gke-stage-eu", VIEWER).await.1["desiredHash"].clone();
    let prod = s.get("/api/v1/clusters/eks-prod-us", VIEWER).await.1["desiredHash"].clone();
    let stage = stage.as_str().unwrap();
    let old = s.get("/api/v1/snapshots/gke-stage-eu@r1", VIEWER).await.1["hash"].as_str().unwrap().to_owned();
    let at = |mut hb: Value, at_ms: u64| {
        hb["atMs"] = json!(at_ms);
        hb
    };
    let mut bad_metrics = heartbeat("gw-stage-eu-2", "gke-stage-eu@r2", stage);
    bad_metrics["metrics"]["cpu"] = json!(101.0);
    let mut unknown_bad_metrics = bad_metrics.clone();
    unknown_bad_metrics["node"] = json!("ghost-2");
    let batch = json!({ "heartbeats": [
        at(heartbeat("gw-stage-eu-1", "gke-stage-eu@r1", &old), now - 3_000),   // behind: reconcile
        at(heartbeat("gw-stage-eu-1", "gke-stage-eu@r2", stage), now - 2_000),  // caught up
        at(heartbeat("gw-stage-eu-1", "gke-stage-eu@r1", &old), now - 2_500),   // older than the one before
        heartbeat("gw-stage-eu-4", "eks-prod-us@r2", prod.as_str().unwrap()),   // another cluster's: none
        heartbeat("gw-stage-eu-3", "not a snapshot!", stage),                   // malformed snapshot id
        { "node": "gw-stage-eu-3", "runtimeVersion": "3.6.1", "appliedSnapshot": "gke-stage-eu@r2" },
        bad_metrics,
        unknown_bad_metrics,                                                     // unknown comes first
        heartbeat("ghost-node", "gke-stage-eu@r2", stage),
        heartbeat("bad node!", "gke-stage-eu@r2", stage),
        { "node": "gw-stage-eu-2", "runtimeVersion": "3.6.1", "syncError": "lower case" },
        { "node": "gw-stage-eu-2", "runtimeVersion": "3.6.1", "atMs": 99_999_999_999_999u64 },
    ]});
    let (status, r) = s.send(Method::POST, "/api/v1/heartbeats", OPERATOR, batch).await;
    assert_eq!(status, 200, "{r}");
    let error = |code: &str, message: String| json!({ "code": code, "message": message });
    let invalid = |e: fleetgov::Error| error("INVALID_INPUT", e.message().to_owned());
    let unknown = |node: &str| error("NOT_FOUND", format!("node '{node}' not found"));
    let future = &r["results"][11]["error"]["message"];
    assert!(future.as_str().unwrap().starts_with("heartbeat at 99999999999999 ms is more than 5 minutes ahead"));
    let expected = json!({ "accepted": 3, "rejected": 9, "results": [
        { "node": "gw-stage-eu-1", "directive": { "kind": "reconcile", "snapshot": "gke-stage-eu@r2", "hash": stage,
            "artifact": format!("/api/v1/artifacts/{stage}") } },
        { "node": "gw-stage-eu-1" },
        { "node": "gw-stage-eu-1", "error": error("STALE_HEARTBEAT", format!(
            "heartbeat of node 'gw-stage-eu-1' at {} ms is older than its last one; ignored", now - 2_500)) },
        { "node": "gw-stage-eu-4", "directive": { "kind": "reconcile", "snapshot": "gke-stage-eu@r2", "hash": stage,
            "artifact": format!("/api/v1/artifacts/{stage}") } },
        { "node": "gw-stage-eu-3", "error": invalid(
            fleetgov::validate_snapshot_id("applied snapshot id", "not a snapshot!").unwrap_err()) },
        { "node": "gw-stage-eu-3", "error": invalid(fleetgov::Error::invalid("applied_snapshot and applied_hash go together")) },
        { "node": "gw-stage-eu-2", "error": invalid(
            fleetgov::Metrics { cpu: 101.0, memory: 20.0, tps: 300.0, heap: 40.0, hot_swap_errors: 0 }.validate().unwrap_err()) },
        { "node": "ghost-2", "error": unknown("ghost-2") },
        { "node": "ghost-node", "error": unknown("ghost-node") },
        { "node": "bad node!", "error": unknown("bad node!") },
        { "node": "gw-stage-eu-2", "error": invalid("lower case".parse::<fleetgov::SyncError>().unwrap_err()) },
        { "node": "gw-stage-eu-2", "error": error("FUTURE_HEARTBEAT", future.as_str().unwrap().to_owned()) },
    ]});
    assert_eq!(r, expected);
    let (_, node) = s.get("/api/v1/nodes/gw-stage-eu-1", VIEWER).await;
    assert_eq!(
        (node["appliedSnapshotId"].as_str(), node["lastHeartbeatMs"].as_u64()),
        (Some("gke-stage-eu@r2"), Some(now - 2_000))
    );

    // A token of one workspace: a node of another is unknown to it.
    let batch = json!({ "heartbeats": [heartbeat("gw-prod-us-1", "eks-prod-us@r2", prod.as_str().unwrap()),
        { "node": "other-1", "runtimeVersion": "3.6.1" }] });
    let (status, r) = s.send(Method::POST, "/api/v1/heartbeats", SCOPED, batch).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        r,
        json!({ "accepted": 1, "rejected": 1, "results": [
        { "node": "gw-prod-us-1", "error": unknown("gw-prod-us-1") }, { "node": "other-1" }] })
    );
}
