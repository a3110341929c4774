//! The authority over HTTP and the configuration file: workspaces created
//! and changed (the seeds' spellings of the modes too), every change
//! audited with the token's actor; and the audit log narrowed by target,
//! cluster, node, actor, action and time, page by page.

mod common;

use common::{ADMIN, OPERATOR, SCOPED, VIEWER, assert_error, json, start_configured};
use fleetgov_server::ServerConfig;
use reqwest::Method;
use serde_json::{Value, json};

/// An admin of the `other-ws` workspace only.
const SCOPED_ADMIN: &str = "test-scoped-admin-token";

async fn start() -> common::Server {
    let tables = r#"
[[tokens]]
token = "test-scoped-admin-token"
actor = "sid"
role = "admin"
workspaces = ["other-ws"]
"#;
    start_configured("demo = true", tables).await
}

fn put(mode: Option<&str>, version: Option<&str>) -> Value {
    let mut body = json!({});
    if let Some(m) = mode {
        body["authorityMode"] = m.into();
    }
    if let Some(v) = version {
        body["minRuntimeVersion"] = v.into();
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_and_change_workspaces_audited() {
    let s = start().await;
    let lab = "/api/v1/workspaces/acme-lab";
    let r = json(s.request(Method::PUT, lab, None).json(&put(Some("dev_override"), None)).send().await.unwrap()).await;
    assert_error(&r, 401, "UNAUTHENTICATED");
    assert_error(&s.send(Method::PUT, lab, OPERATOR, put(Some("dev_override"), None)).await, 403, "PERMISSION_DENIED");
    assert_error(&s.send(Method::PUT, lab, SCOPED_ADMIN, put(None, Some("3.5.0"))).await, 403, "PERMISSION_DENIED");
    assert_error(&s.send(Method::PUT, lab, ADMIN, put(None, None)).await, 400, "INVALID_INPUT");

    // The seeds' spelling; a new workspace keeps the default minimum.
    let (status, created) = s.send(Method::PUT, lab, ADMIN, put(Some("Dev Override"), None)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((&created["authorityMode"], &created["minRuntimeVersion"]), (&json!("dev_override"), &json!("3.4.0")));
    let (status, changed) = s.send(Method::PUT, lab, ADMIN, put(None, Some("3.5.0"))).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!((&changed["authorityMode"], &changed["minRuntimeVersion"]), (&json!("dev_override"), &json!("3.5.0")));
    let (_, audit) = s.get("/api/v1/audit?target=workspace:acme-lab", VIEWER).await;
    let records = audit["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{audit}");
    assert!(records.iter().all(|r| r["actor"] == "ada" && r["role"] == "admin" && r["action"] == "upsert_workspace"));

    // Refusals change nothing.
    let edge = "/api/v1/workspaces/acme-edge";
    let refused = s.send(Method::PUT, edge, ADMIN, put(Some("dev_override"), None)).await;
    assert_error(&refused, 400, "INVALID_INPUT");
    assert!(refused.1["error"]["message"].as_str().unwrap().contains("development clusters only"), "{}", refused.1);
    assert_error(&s.send(Method::PUT, edge, ADMIN, put(Some("anarchy"), None)).await, 400, "INVALID_INPUT");
    assert_error(&s.send(Method::PUT, edge, ADMIN, put(None, Some("three"))).await, 400, "INVALID_INPUT");
    assert_error(&s.send(Method::PUT, edge, ADMIN, json!({ "mode": "authoritative" })).await, 400, "INVALID_INPUT");
    assert_error(
        &s.send(Method::PUT, "/api/v1/workspaces/bad%20id", ADMIN, put(None, Some("3.5.0"))).await,
        400,
        "INVALID_INPUT",
    );
    let (_, ws) = s.get("/api/v1/workspaces/acme-edge", VIEWER).await;
    assert_eq!(ws["authorityMode"], "authoritative");

    // A scoped admin changes its own workspace; another is not there for it.
    let (status, other) =
        s.send(Method::PUT, "/api/v1/workspaces/other-ws", SCOPED_ADMIN, put(Some("Tighten-only"), None)).await;
    assert_eq!((status, &other["authorityMode"]), (200, &json!("tighten_only")), "{other}");
    assert_error(&s.send(Method::PUT, edge, SCOPED_ADMIN, put(Some("tighten_only"), None)).await, 404, "NOT_FOUND");

    // The Observe page's list: three workspaces, three modes.
    let (_, all) = s.get("/api/v1/workspaces", VIEWER).await;
    let modes: Vec<(&str, &str)> = all["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| (w["id"].as_str().unwrap(), w["authorityMode"].as_str().unwrap()))
        .collect();
    assert_eq!(modes, [("acme-edge", "authoritative"), ("acme-lab", "dev_override"), ("other-ws", "tighten_only")]);
    let (_, scoped) = s.get("/api/v1/workspaces", SCOPED).await;
    assert_eq!(scoped["workspaces"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minimum_above_a_nodes_version_makes_it_upgrade_required() {
    let s = start().await;
    let (_, before) = s.get("/api/v1/nodes/gw-prod-us-1", VIEWER).await;
    assert_eq!(before["drift"], "aligned", "{before}");
    let (status, _) = s.send(Method::PUT, "/api/v1/workspaces/acme-edge", ADMIN, put(None, Some("9.0.0"))).await;
    assert_eq!(status, 200);
    let (_, after) = s.get("/api/v1/nodes/gw-prod-us-1", VIEWER).await;
    assert_eq!(after["drift"], "upgrade_required", "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_narrows_by_target_cluster_node_actor_and_time() {
    let s = start().await;
    let force = |target: Value| json!({ "target": target, "reason": "Emergency disaster recovery" });
    let (_, node) =
        s.send(Method::POST, "/api/v1/force-sync", OPERATOR, force(json!({ "node": "gw-dev-west-2" }))).await;
    let (_, cluster) =
        s.send(Method::POST, "/api/v1/force-sync", OPERATOR, force(json!({ "cluster": "gke-stage-eu" }))).await;
    let seqs = |page: &Value| -> Vec<u64> {
        page["records"].as_array().unwrap().iter().map(|r| r["seq"].as_u64().unwrap()).collect()
    };

    let (_, by_node) = s.get("/api/v1/audit?node=gw-dev-west-2", VIEWER).await;
    assert_eq!(seqs(&by_node), [node["seq"].as_u64().unwrap()]);
    // A cluster's records: its own, its snapshots' and its nodes'.
    let (_, west) = s.get("/api/v1/audit?cluster=azure-dev-west", VIEWER).await;
    let targets: Vec<&str> =
        west["records"].as_array().unwrap().iter().map(|r| r["target"].as_str().unwrap()).collect();
    assert_eq!(targets[0], "node:gw-dev-west-2", "{west}");
    assert!(targets.contains(&"cluster:azure-dev-west") && targets.contains(&"azure-dev-west@r1"), "{targets:?}");
    assert!(targets.iter().all(|t| t.contains("west")), "{targets:?}");
    let (_, omar) = s.get("/api/v1/audit?actor=omar", VIEWER).await;
    assert_eq!(seqs(&omar), [cluster["seq"].as_u64().unwrap(), node["seq"].as_u64().unwrap()]);
    let (_, both) = s.get("/api/v1/audit?actor=omar&action=force_sync_cluster", VIEWER).await;
    assert_eq!(seqs(&both), [cluster["seq"].as_u64().unwrap()]);

    // Time: records stamped within [from, to].
    let at = node["timeMs"].as_u64().unwrap();
    let (_, upto) = s.get(&format!("/api/v1/audit?actor=omar&to={}", at), VIEWER).await;
    assert!(seqs(&upto).contains(&node["seq"].as_u64().unwrap()), "{upto}");
    let (_, after) =
        s.get(&format!("/api/v1/audit?actor=omar&from={}", cluster["timeMs"].as_u64().unwrap() + 1), VIEWER).await;
    assert!(seqs(&after).is_empty(), "{after}");
    assert_error(&s.get("/api/v1/audit?from=2&to=1", VIEWER).await, 400, "INVALID_INPUT");
    assert_error(&s.get("/api/v1/audit?node=a&target=node:b", VIEWER).await, 400, "INVALID_INPUT");
    assert_error(&s.get("/api/v1/audit?action=nonsense", VIEWER).await, 400, "INVALID_INPUT");

    // Paging: one record a page, each older than the last.
    let (_, first) = s.get("/api/v1/audit?actor=omar&limit=1", VIEWER).await;
    assert_eq!(seqs(&first), [cluster["seq"].as_u64().unwrap()]);
    let next = first["nextBefore"].as_u64().unwrap();
    let (_, second) = s.get(&format!("/api/v1/audit?actor=omar&limit=1&before={next}"), VIEWER).await;
    assert_eq!(seqs(&second), [node["seq"].as_u64().unwrap()]);
}

#[test]
fn the_configuration_declares_workspaces_and_policies_once() {
    let config = |mode: &str| {
        let text = format!(
            "tokens = []\n[[workspaces]]\nid = \"acme-lab\"\nauthority_mode = \"{mode}\"\nmin_runtime_version = \"3.5.0\"\n\
             [[policies]]\nid = \"lab-limits\"\nworkspace = \"acme-lab\"\n[policies.rules]\n\
             rate_limit_rpm = {{ kind = \"limit\", value = 600 }}\nrequire_mtls = {{ kind = \"flag\", value = true }}\n\
             [[policies]]\nid = \"org-floor\"\n"
        );
        ServerConfig::parse(&text, false)
    };
    assert!(config("anarchy").unwrap_err().contains("acme-lab"));
    let declared = config("Tighten-only").unwrap();
    let engine = fleetgov::Engine::new();
    fleetgov_server::authority::apply(&engine, &declared.workspaces, &declared.policies).unwrap();
    let ws = engine.workspace("acme-lab").unwrap();
    assert_eq!(
        (ws.authority_mode, ws.min_runtime_version.to_string()),
        (fleetgov::AuthorityMode::TightenOnly, "3.5.0".into())
    );
    let ids: Vec<String> = engine.active_policies("acme-lab").unwrap().iter().map(|p| p.id().to_owned()).collect();
    assert_eq!(ids, ["org-floor", "lab-limits"]);
    let bad =
        "tokens = []\n[[policies]]\nid = \"p\"\n[policies.rules]\nrate_limit_rpm = { kind = \"limit\", value = -1 }\n";
    assert!(ServerConfig::parse(bad, false).is_err());
    let records = engine.audit_len();
    fleetgov_server::authority::apply(&engine, &declared.workspaces, &declared.policies).unwrap();
    assert_eq!(engine.audit_len(), records, "the same file again records nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_replace_and_remove_policies_audited() {
    let s = start().await;
    let path = "/api/v1/policies/rate-cap";
    let policy = |value: u64| {
        json!({ "scope": "workspace", "workspaceId": "acme-edge",
            "rules": { "rate_limit_rpm": { "kind": "limit", "value": value } } })
    };
    let r = json(s.request(Method::PUT, path, None).json(&policy(1_000)).send().await.unwrap()).await;
    assert_error(&r, 401, "UNAUTHENTICATED");
    assert_error(&s.send(Method::PUT, path, OPERATOR, policy(1_000)).await, 403, "PERMISSION_DENIED");
    assert_error(&s.send(Method::PUT, path, SCOPED_ADMIN, policy(1_000)).await, 404, "NOT_FOUND");
    let org = json!({ "scope": "org", "rules": {} });
    assert_error(&s.send(Method::PUT, path, SCOPED_ADMIN, org).await, 403, "PERMISSION_DENIED");
    for bad in [
        json!({ "scope": "galaxy", "rules": {} }),
        json!({ "scope": "workspace", "rules": {} }),
        json!({ "scope": "org", "workspaceId": "acme-edge", "rules": {} }),
        json!({ "id": "other", "scope": "org", "rules": {} }),
        json!({ "scope": "org", "rules": { "rate_limit_rpm": { "kind": "limit", "value": -1 } } }),
    ] {
        assert_error(&s.send(Method::PUT, path, ADMIN, bad).await, 400, "INVALID_INPUT");
    }
    let ghost = json!({ "scope": "workspace", "workspaceId": "ghost-ws", "rules": {} });
    assert_error(&s.send(Method::PUT, path, ADMIN, ghost).await, 404, "NOT_FOUND");

    let (status, created) = s.send(Method::PUT, path, ADMIN, policy(1_000)).await;
    assert_eq!((status, &created["id"]), (201, &json!("rate-cap")), "{created}");
    let (status, _) = s.send(Method::PUT, path, ADMIN, policy(500)).await;
    assert_eq!(status, 200);
    let (_, active) = s.get("/api/v1/workspaces/acme-edge/fleet/policies", VIEWER).await;
    let cap = active["activePolicies"].as_array().unwrap().iter().find(|p| p["id"] == "rate-cap").cloned();
    assert_eq!(cap.map(|p| p["rules"]["rate_limit_rpm"]["value"].clone()), Some(json!(500)), "{active}");

    let remove = "/api/v1/policies/rate-cap?workspace=acme-edge";
    assert_error(&s.send(Method::DELETE, remove, OPERATOR, Value::Null).await, 403, "PERMISSION_DENIED");
    let (status, removed) = s.send(Method::DELETE, remove, ADMIN, Value::Null).await;
    assert_eq!((status, &removed["id"]), (200, &json!("rate-cap")), "{removed}");
    assert_error(&s.send(Method::DELETE, remove, ADMIN, Value::Null).await, 404, "NOT_FOUND");
    let (status, _) = s.send(Method::DELETE, "/api/v1/policies/org-baseline", ADMIN, Value::Null).await;
    assert_eq!(status, 200, "the seeded org-wide policy");

    let (_, audit) = s.get("/api/v1/audit?target=policy:rate-cap", VIEWER).await;
    let actions: Vec<(&str, &str)> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, [("remove_policy", "ada"), ("upsert_policy", "ada"), ("upsert_policy", "ada")]);
}
