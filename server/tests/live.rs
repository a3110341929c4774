//! The event stream over real HTTP, and the OpenAPI document against the router.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{ADMIN, OPERATOR, SCOPED, VIEWER, start};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

/// Reads SSE events (name, JSON data) until `done` says so; fails after the
/// test deadline so a broken stream cannot hang the suite.
async fn read_events(response: reqwest::Response, mut done: impl FnMut(&str, &Value) -> bool) -> Vec<(String, Value)> {
    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + fleetgov_testkit::deadline();
    loop {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("gave up waiting for events; read so far: {events:?}"))
            .expect("stream open")
            .unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            if data.is_empty() {
                continue; // keep-alive comment
            }
            let value: Value = serde_json::from_str(&data).unwrap_or(Value::String(data));
            let stop = done(&name, &value);
            events.push((name, value));
            if stop {
                return events;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_node_and_cluster_transitions() {
    let s = start().await;
    assert_eq!(s.request(Method::GET, "/api/v1/events", None).send().await.unwrap().status(), 401);
    let r = s.client.get(format!("{}/api/v1/events?access_token={VIEWER}", s.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let watcher = tokio::spawn(read_events(r, |name, v| {
        name == "cluster" && v["cluster"]["id"] == "eks-prod-us" && v["cluster"]["cohesion"] == 75
    }));
    let scoped = s.request(Method::GET, "/api/v1/events", Some(SCOPED)).send().await.unwrap();
    let scoped_watcher = tokio::spawn(read_events(scoped, |name, _| name != "ready"));

    // Flip gw-prod-us-1 between divergent and in sync until the watcher has
    // seen it (the poller needs one baseline poll first; bounded by the
    // watcher's own deadline).
    let desired = s.get("/api/v1/clusters/eks-prod-us", VIEWER).await.1["desiredHash"].as_str().unwrap().to_owned();
    let mut divergent = true;
    while !watcher.is_finished() {
        let hb = if divergent {
            json!({ "node": "gw-prod-us-1", "runtimeVersion": "3.6.1", "syncError": "RELOAD_FAILURE: Incompatible Filter Signature" })
        } else {
            json!({ "node": "gw-prod-us-1", "runtimeVersion": "3.6.1", "appliedSnapshot": "eks-prod-us@r2", "appliedHash": desired })
        };
        let (status, _) = s.send(Method::POST, "/api/v1/heartbeats", OPERATOR, json!({ "heartbeats": [hb] })).await;
        assert_eq!(status, 200);
        divergent = !divergent;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let events = watcher.await.unwrap();
    assert_eq!(events[0].0, "ready");
    let node = events.iter().find(|(n, v)| n == "node" && v["configStatus"] == "DIVERGENT").expect("a node event");
    assert_eq!((node.1["node"].as_str(), node.1["cluster"].as_str()), (Some("gw-prod-us-1"), Some("eks-prod-us")));
    let cluster = &events.last().unwrap().1["cluster"];
    assert_eq!((cluster["status"].as_str(), cluster["cohesionBasisPoints"].as_u64()), (Some("SYNCING"), Some(7_500)));

    // The other workspace's token sees its own cluster's transitions and none of acme-edge's.
    let (status, snap) =
        s.send(Method::POST, "/api/v1/clusters/other-cluster/snapshots", OPERATOR, json!({ "content": "x: 1" })).await;
    assert_eq!(status, 201);
    let hb = json!({ "node": "other-1", "runtimeVersion": "3.6.1", "appliedSnapshot": snap["id"], "appliedHash": snap["hash"] });
    s.send(Method::POST, "/api/v1/heartbeats", OPERATOR, json!({ "heartbeats": [hb] })).await;
    let seen = scoped_watcher.await.unwrap();
    let (name, first) = seen.last().unwrap();
    assert!(first.to_string().contains("other-cluster"), "{name}: {first}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_audit_records_to_the_tokens_that_may_see_them() {
    let s = start().await;
    let open = |token: &str| s.client.get(format!("{}/api/v1/events?access_token={token}", s.base)).send();
    let viewer = tokio::spawn(read_events(open(VIEWER).await.unwrap(), |name, v| {
        name == "audit" && v["action"] == "force_sync_node"
    }));
    let scoped = tokio::spawn(read_events(open(SCOPED).await.unwrap(), |name, _| name == "audit"));
    // Both streams are open once they said `ready`; the forwarder listens
    // from its next period on, so repeat until the viewer has seen one.
    let force =
        json!({ "target": { "node": "gw-dev-west-2" }, "reason": "Node re-provisioning after hardware failure" });
    while !viewer.is_finished() {
        let (status, _) = s.send(Method::POST, "/api/v1/force-sync", OPERATOR, force.clone()).await;
        assert_eq!(status, 201);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, audit) = viewer.await.unwrap().pop().unwrap();
    assert_eq!(
        (audit["target"].as_str(), audit["workspace"].as_str()),
        (Some("node:gw-dev-west-2"), Some("acme-edge"))
    );
    assert_eq!((audit["actor"].as_str(), audit["auditSeq"].is_u64()), (Some("omar"), true));
    // The scoped token's first audit event is its own workspace's publish, not acme-edge's overrides.
    s.send(Method::POST, "/api/v1/clusters/other-cluster/snapshots", OPERATOR, json!({ "content": "x: 2" })).await;
    let seen = scoped.await.unwrap();
    assert!(seen.iter().all(|(_, v)| !v.to_string().contains("acme-edge")), "{seen:?}");
    assert_eq!(seen.last().unwrap().1["workspace"], "other-ws");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_each_rollout_change_as_the_rollout_document() {
    let s = start().await;
    let open = |token: &str| s.client.get(format!("{}/api/v1/events?access_token={token}", s.base)).send();
    let scoped = tokio::spawn(read_events(open(SCOPED).await.unwrap(), |name, _| name == "rollout"));
    // Publishing with a plan starts a rollout: repeat until the viewer has
    // seen one (the forwarder listens from its next period on).
    let viewer = tokio::spawn(read_events(open(VIEWER).await.unwrap(), |name, v| {
        name == "rollout" && v["cluster"] == "eks-prod-us"
    }));
    let plan = json!({ "waves": [10, 100], "bakeMs": 3_600_000, "maxFailurePct": 20.0, "autoRollback": true });
    let mut published = Vec::new();
    while !viewer.is_finished() {
        let body = json!({ "content": format!("routes: [api]\nrevision: {}", published.len()), "rollout": plan });
        let (status, snapshot) = s.send(Method::POST, "/api/v1/clusters/eks-prod-us/snapshots", OPERATOR, body).await;
        assert_eq!(status, 201, "{snapshot}");
        published.push(snapshot["id"].as_str().unwrap().to_owned());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, rollout) = viewer.await.unwrap().pop().unwrap();
    // The data is the rollout document itself, exactly as GET answers it.
    let keys: BTreeSet<&str> = rollout.as_object().unwrap().keys().map(String::as_str).collect();
    let (_, current) = s.get("/api/v1/clusters/eks-prod-us/rollout", VIEWER).await;
    assert_eq!(keys, current.as_object().unwrap().keys().map(String::as_str).collect(), "{rollout}");
    // Its target is one of the publishes, rolled out from the one before it.
    let target = published.iter().position(|id| rollout["targetSnapshot"] == id.as_str()).expect("a published target");
    let previous = if target == 0 { "eks-prod-us@r2" } else { &published[target - 1] };
    assert_eq!(rollout["previousSnapshot"], previous, "{rollout}");

    // Every operator action is a rollout record and a rollout event.
    let viewer =
        tokio::spawn(read_events(open(VIEWER).await.unwrap(), |name, v| name == "rollout" && v["state"] == "paused"));
    let server = &s;
    let action = |what: &'static str| {
        let body = json!({ "reason": format!("{what}: checking the canary's latency") });
        let path = format!("/api/v1/clusters/eks-prod-us/rollout/{what}");
        async move { server.send(Method::POST, &path, OPERATOR, body).await }
    };
    while !viewer.is_finished() {
        assert_eq!(action("pause").await.0, 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
        if !viewer.is_finished() {
            assert_eq!(action("resume").await.0, 200);
        }
    }
    let seen = viewer.await.unwrap();
    let (_, paused) = seen.last().unwrap();
    assert_eq!(paused["cluster"], "eks-prod-us");
    assert!(seen.iter().any(|(name, v)| name == "audit" && v["action"] == "rollout"), "{seen:?}");

    // The other workspace's token sees its own cluster's rollout only.
    let first = json!({ "content": "x: 1" });
    assert_eq!(s.send(Method::POST, "/api/v1/clusters/other-cluster/snapshots", OPERATOR, first).await.0, 201);
    let mut revision = 2;
    while !scoped.is_finished() {
        let body = json!({ "content": format!("x: {revision}"), "rollout": { "waves": [100] } });
        assert_eq!(s.send(Method::POST, "/api/v1/clusters/other-cluster/snapshots", OPERATOR, body).await.0, 201);
        revision += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = scoped.await.unwrap();
    assert!(seen.iter().all(|(_, v)| !v.to_string().contains("acme-edge") && !v.to_string().contains("eks-prod-us")));
    assert_eq!(seen.last().unwrap().1["cluster"], "other-cluster");
}

/// Resolves `$ref`s and collects the required keys of an object schema
/// (through `allOf`).
fn required_keys(doc: &Value, schema: &Value) -> BTreeSet<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return required_keys(doc, &doc["components"]["schemas"][name]);
    }
    let mut keys: BTreeSet<String> =
        schema["required"].as_array().into_iter().flatten().filter_map(|k| k.as_str().map(str::to_owned)).collect();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        keys.extend(required_keys(doc, part));
    }
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_exactly_the_served_endpoints_and_matches_responses() {
    let s = start().await;
    let r = s.client.get(format!("{}/api/v1/openapi.json", s.base)).send().await.unwrap();
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .collect();
    let served: BTreeSet<(String, String)> =
        fleetgov_server::api::endpoints().iter().map(|e| (e.method.to_string(), e.path.to_owned())).collect();
    assert_eq!(documented, served);
    // Every $ref resolves.
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &piece[..piece.find('"').unwrap()];
        assert!(doc["components"]["schemas"][name].is_object(), "dangling $ref {name}");
    }
    // Real responses carry every key the document says is required.
    let ok = |path: &str, method: &str, code: &str| -> Value {
        doc["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"].clone()
    };
    let checks = [
        ("/api/v1/clusters/{id}", "/api/v1/clusters/gke-stage-eu"),
        ("/api/v1/clusters/{id}/nodes", "/api/v1/clusters/gke-stage-eu/nodes"),
        ("/api/v1/nodes/{id}", "/api/v1/nodes/gw-stage-eu-4"),
        ("/api/v1/nodes/{id}/history", "/api/v1/nodes/gw-stage-eu-4/history"),
        ("/api/v1/nodes/{id}/what-ran", "/api/v1/nodes/gw-stage-eu-4/what-ran"),
        ("/api/v1/workspaces", "/api/v1/workspaces"),
        ("/api/v1/workspaces/{id}/fleet", "/api/v1/workspaces/acme-edge/fleet"),
        ("/api/v1/workspaces/{id}/fleet/config", "/api/v1/workspaces/acme-edge/fleet/config"),
        ("/api/v1/audit", "/api/v1/audit"),
        ("/api/v1/checkpoint", "/api/v1/checkpoint"),
        ("/api/v1/snapshots/{id}", "/api/v1/snapshots/eks-prod-us@r1"),
        ("/api/v1/clusters/{id}/rollout", "/api/v1/clusters/eks-prod-us/rollout"),
    ];
    let plan = json!({ "waves": [50, 100], "bakeMs": 60_000, "maxFailurePct": 25.0, "autoRollback": true });
    let publish = json!({ "content": "routes: [api]", "rollout": plan });
    assert_eq!(s.send(Method::POST, "/api/v1/clusters/eks-prod-us/snapshots", OPERATOR, publish).await.0, 201);
    for (template, path) in checks {
        let (status, body) = s.get(path, VIEWER).await;
        assert_eq!(status, 200, "{path}");
        let missing: Vec<String> =
            required_keys(&doc, &ok(template, "get", "200")).into_iter().filter(|k| body.get(k).is_none()).collect();
        assert!(missing.is_empty(), "{path} lacks {missing:?}");
    }
    // The attestation is a DSSE envelope, under its own media type.
    let attestation = &doc["paths"]["/api/v1/attestations"]["get"]["responses"]["200"]["content"];
    let schema = &attestation["application/vnd.dsse+json"]["schema"];
    let r = s.request(Method::GET, "/api/v1/attestations?cluster=gke-stage-eu", Some(VIEWER)).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "application/vnd.dsse+json");
    let envelope: Value = r.json().await.unwrap();
    let missing: Vec<String> = required_keys(&doc, schema).into_iter().filter(|k| envelope.get(k).is_none()).collect();
    assert!(missing.is_empty(), "the attestation lacks {missing:?}");
    let (_, node) = s.get("/api/v1/nodes/gw-stage-eu-4", VIEWER).await;
    let node_keys = required_keys(&doc, &doc["components"]["schemas"]["NodeView"]);
    let actual: BTreeSet<String> = node.as_object().unwrap().keys().cloned().collect();
    assert_eq!(node_keys, actual, "NodeView schema and response differ");
    // A change of a node's history and the answer to a sync: exactly their documented keys.
    let r2 = s.engine.snapshot("gke-stage-eu@r2").unwrap();
    let hb =
        json!({ "node": "gw-stage-eu-4", "runtimeVersion": "3.6.1", "appliedSnapshot": r2.id, "appliedHash": r2.hash });
    s.send(Method::POST, "/api/v1/heartbeats", OPERATOR, json!({ "heartbeats": [hb] })).await;
    let (_, history) = s.get("/api/v1/nodes/gw-stage-eu-4/history", VIEWER).await;
    let (_, synced) = s.send(Method::POST, "/api/v1/admin/sync", ADMIN, json!({})).await;
    let reason = json!({ "reason": "hold the canary over the weekend" });
    let (_, paused) = s.send(Method::POST, "/api/v1/clusters/eks-prod-us/rollout/pause", OPERATOR, reason).await;
    let rollout_bodies = [("Rollout", &paused), ("RolloutWave", &paused["perWave"][0])];
    for (schema, body) in
        [("AppliedChange", &history["changes"][0]), ("Synced", &synced)].into_iter().chain(rollout_bodies)
    {
        let keys: BTreeSet<String> = body.as_object().unwrap().keys().cloned().collect();
        assert_eq!(required_keys(&doc, &doc["components"]["schemas"][schema]), keys, "{schema}: {body}");
    }
    let (_, error) = s.get("/api/v1/clusters/nope", VIEWER).await;
    assert!(required_keys(&doc, &doc["components"]["schemas"]["Error"]).iter().all(|k| error.get(k).is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bake_that_no_record_announces_is_streamed_too() {
    let s = start().await;
    // A first wave of 1 % holds none of the cluster's four nodes: it is
    // converged from the start, and the server's timer begins its bake with
    // no audit record and no node moving.
    let plan = json!({ "waves": [1, 100], "bakeMs": 3_600_000 });
    let open = s.client.get(format!("{}/api/v1/events?access_token={VIEWER}", s.base)).send().await.unwrap();
    let viewer = tokio::spawn(read_events(open, |name, v| name == "rollout" && v["state"] == "baking"));
    while !viewer.is_finished() {
        let body = json!({ "content": format!("bake: {}", s.engine.audit_len()), "rollout": plan });
        let (status, r) = s.send(Method::POST, "/api/v1/clusters/eks-prod-us/snapshots", OPERATOR, body).await;
        assert_eq!(status, 201, "{r}");
        let (_, rollout) = s.get("/api/v1/clusters/eks-prod-us/rollout", VIEWER).await;
        assert_eq!(rollout["perWave"][0]["nodes"], 0, "the first wave is empty: {rollout}");
        // Longer than the timer's tick, so the bake begins before the next publish.
        tokio::time::sleep(fleetgov_server::rollouts::TICK * 3).await;
    }
    let (_, baking) = viewer.await.unwrap().pop().unwrap();
    assert!(baking["bakeEndsMs"].is_u64() && baking["wave"] == 0, "{baking}");
}
