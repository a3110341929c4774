//! Regression tests of the adversarial review's server defects, over real
//! HTTP on an ephemeral loopback port: what a token scoped to one workspace
//! may read of another, and what the demo configuration publishes.

mod common;

use common::{ADMIN, OPERATOR, SCOPED, Server, VIEWER, assert_error, json, start};
use fleetgov::audit::AuditAction;
use fleetgov::{ContentHash, Role};
use reqwest::Method;
use serde_json::{Value, json};

/// Sends `body` as JSON (or nothing) with the scoped token; status and JSON body.
async fn scoped(s: &Server, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
    let r = s.request(method, path, Some(SCOPED));
    let r = match body {
        Some(b) => r.json(b),
        None => r,
    };
    json(r.send().await.unwrap()).await
}

/// Asserts that two answers are the same once each names its own id as `<id>`.
fn assert_same_answer(outside: &(u16, Value), outside_id: &str, missing: &(u16, Value), missing_id: &str) {
    let text = |a: &(u16, Value), id: &str| (a.0, a.1.to_string().replace(id, "<id>"));
    assert_eq!(
        text(outside, outside_id),
        text(missing, missing_id),
        "an id outside the token's workspaces is told apart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifacts_cross_workspaces() {
    let s = start().await;
    let prod = s.get("/api/v1/clusters/eks-prod-us", VIEWER).await.1;
    let hash = prod["desiredHash"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/artifacts/{hash}");
    let pull = |token: &'static str| s.request(Method::GET, &path, Some(token)).send();

    // A token of every workspace pulls it; one of another workspace gets the
    // answer an artifact nobody published gets.
    let r = pull(VIEWER).await.unwrap();
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let outside = scoped(&s, Method::GET, &path, None).await;
    assert_error(&outside, 404, "NOT_FOUND");
    let never = ContentHash::of(b"never published").to_string();
    let missing = scoped(&s, Method::GET, &format!("/api/v1/artifacts/{never}"), None).await;
    assert_same_answer(&outside, &hash, &missing, &never);

    // Once its own workspace has a snapshot of the same bytes, it may pull them.
    let publish = |content: Vec<u8>| {
        s.request(Method::POST, "/api/v1/clusters/other-cluster/snapshots", Some(OPERATOR))
            .header("content-type", "application/octet-stream")
            .body(content)
            .send()
    };
    assert_eq!(publish(bytes.to_vec()).await.unwrap().status(), 201);
    let r = pull(SCOPED).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap(), bytes);
    // An older revision of its own cluster stays readable after a newer publish.
    assert_eq!(publish(b"newer: 1".to_vec()).await.unwrap().status(), 201);
    assert_eq!(pull(SCOPED).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existence_leaks_to_scoped_tokens() {
    let s = start().await;
    let hash = s.get("/api/v1/clusters/eks-prod-us", VIEWER).await.1["desiredHash"].as_str().unwrap().to_owned();
    let never = ContentHash::of(b"never published").to_string();
    let reason = "Emergency disaster recovery";
    // (method, path template, body template, an id of acme-edge, a missing id); `ID` is replaced by each.
    let cases: Vec<(Method, &str, Option<Value>, &str, &str)> = vec![
        (Method::GET, "/api/v1/workspaces/ID", None, "acme-edge", "nowhere-ws"),
        (Method::GET, "/api/v1/workspaces/ID/fleet", None, "acme-edge", "nowhere-ws"),
        (Method::GET, "/api/v1/workspaces/ID/fleet/config", None, "acme-edge", "nowhere-ws"),
        (Method::GET, "/api/v1/workspaces/ID/fleet/policies", None, "acme-edge", "nowhere-ws"),
        (Method::GET, "/api/v1/clusters/ID", None, "eks-prod-us", "no-such-cluster"),
        (Method::GET, "/api/v1/clusters/ID/nodes", None, "eks-prod-us", "no-such-cluster"),
        (
            Method::POST,
            "/api/v1/clusters/ID/nodes",
            Some(json!({ "nodes": ["fresh-node"] })),
            "eks-prod-us",
            "no-such-cluster",
        ),
        (
            Method::POST,
            "/api/v1/clusters/ID/snapshots",
            Some(json!({ "content": "x: 1" })),
            "eks-prod-us",
            "no-such-cluster",
        ),
        (Method::GET, "/api/v1/nodes/ID", None, "gw-dev-west-2", "no-such-node"),
        (Method::GET, "/api/v1/nodes/ID/history", None, "gw-dev-west-2", "no-such-node"),
        (Method::GET, "/api/v1/nodes/ID/what-ran", None, "gw-dev-west-2", "no-such-node"),
        (Method::GET, "/api/v1/snapshots/ID", None, "eks-prod-us@r1", "no-such-cluster@r1"),
        (Method::GET, "/api/v1/snapshots/ID", None, "eks-prod-us@r1", "eks-prod-us@r99"),
        (Method::GET, "/api/v1/artifacts/ID", None, &hash, &never),
        (Method::GET, "/api/v1/attestations?cluster=ID", None, "gke-stage-eu", "no-such-cluster"),
        (
            Method::POST,
            "/api/v1/force-sync",
            Some(json!({ "target": { "node": "ID" }, "reason": reason })),
            "gw-dev-west-2",
            "no-such-node",
        ),
        (
            Method::POST,
            "/api/v1/force-sync",
            Some(json!({ "target": { "cluster": "ID" }, "reason": reason })),
            "eks-prod-us",
            "no-such-cluster",
        ),
        (
            Method::POST,
            "/api/v1/force-sync",
            Some(json!({ "target": { "workspace": "ID" }, "reason": reason })),
            "acme-edge",
            "nowhere-ws",
        ),
        (
            Method::POST,
            "/api/v1/heartbeats",
            Some(json!({ "heartbeats": [{ "node": "ID", "runtimeVersion": "3.6.1" }] })),
            "gw-dev-west-2",
            "no-such-node",
        ),
        (Method::GET, "/api/v1/audit/ID/proof", None, "0", "999999"),
    ];
    let audit_before = s.get("/api/v1/audit", VIEWER).await.1["size"].clone();
    for (method, path, body, real, absent) in &cases {
        let fill = |id: &str| {
            (
                path.replace("ID", id),
                body.as_ref().map(|b| serde_json::from_str(&b.to_string().replace("ID", id)).unwrap()),
            )
        };
        let ((real_path, real_body), (absent_path, absent_body)) = (fill(real), fill(absent));
        let outside = scoped(&s, method.clone(), &real_path, real_body.as_ref()).await;
        let missing = scoped(&s, method.clone(), &absent_path, absent_body.as_ref()).await;
        assert!(
            outside.0 >= 400 || outside.1["results"][0]["error"]["code"] == "NOT_FOUND",
            "{method} {real_path}: {}",
            outside.1
        );
        assert_same_answer(&outside, real, &missing, absent);
        assert!(
            !outside.1.to_string().contains("acme-edge") || *real == "acme-edge",
            "{real_path} names the workspace: {}",
            outside.1
        );
    }
    assert_eq!(s.get("/api/v1/audit", VIEWER).await.1["size"], audit_before, "a refused request was audited");
    assert_eq!(s.get("/api/v1/clusters/eks-prod-us", VIEWER).await.1["total"], 4, "a refused enrolment enrolled");

    // Ids are global, so enrolling one taken elsewhere must fail; it does
    // without saying where.
    let taken =
        scoped(&s, Method::POST, "/api/v1/clusters/other-cluster/nodes", Some(&json!({ "nodes": ["gw-dev-west-2"] })))
            .await;
    assert_error(&taken, 409, "CONFLICT");
    assert!(!taken.1.to_string().contains("azure-dev-west"), "{}", taken.1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_head_is_only_for_tokens_of_every_workspace() {
    let s = start().await;
    let reason = "Rollback due to failed deployment";
    let (status, own) = scoped(
        &s,
        Method::POST,
        "/api/v1/force-sync",
        Some(&json!({ "target": { "cluster": "other-cluster" }, "reason": reason })),
    )
    .await;
    assert_eq!(status, 201, "{own}");
    let (status, all) = s
        .send(
            Method::POST,
            "/api/v1/force-sync",
            OPERATOR,
            json!({ "target": { "cluster": "eks-prod-us" }, "reason": reason }),
        )
        .await;
    assert_eq!(status, 201, "{all}");

    // A token of every workspace sees the whole log and its signed head.
    let (status, page) = s.get("/api/v1/audit", VIEWER).await;
    assert_eq!(status, 200);
    assert!(page["size"].as_u64().unwrap() > all["seq"].as_u64().unwrap());
    assert_eq!(s.get("/api/v1/checkpoint", VIEWER).await.0, 200);
    assert_eq!(s.get(&format!("/api/v1/audit/{}/proof", own["seq"]), VIEWER).await.0, 200);

    // One of another workspace sees its own records, not the log's size nor its head,
    // except in the proof of one of its own records, which needs them to be checkable.
    let (status, page) = scoped(&s, Method::GET, "/api/v1/audit", None).await;
    assert_eq!(status, 200);
    assert!(page.get("size").is_none(), "{page}");
    let records = page["records"].as_array().unwrap();
    assert_eq!(records[0]["seq"], own["seq"]);
    assert!(records.iter().all(|r| r["target"].as_str().unwrap().contains("other-")), "{page}");
    assert_error(&scoped(&s, Method::GET, "/api/v1/checkpoint", None).await, 403, "PERMISSION_DENIED");
    assert_error(&scoped(&s, Method::GET, "/log/checkpoint", None).await, 403, "PERMISSION_DENIED");
    let (status, proof) = scoped(&s, Method::GET, &format!("/api/v1/audit/{}/proof", own["seq"]), None).await;
    assert_eq!(status, 200, "{proof}");
    assert_eq!(proof["record"]["seq"], own["seq"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_secrets_by_default() {
    // Without `demo = true` no token is published, although one is marked demo.
    let s = common::start_configured("", "").await;
    let r = s.client.get(format!("{}/api/v1/demo-tokens", s.base)).send().await.unwrap();
    assert_error(&json(r).await, 404, "NOT_FOUND");
    let config = fleetgov_server::ServerConfig::parse(&common::config(), false).unwrap();
    assert!(!config.demo && config.tokens.iter().any(|t| t.demo));

    // The shipped demo configuration says demo = true: the token picker keeps working.
    assert!(fleetgov_server::ServerConfig::demo().demo);

    // A listen address other than loopback is refused before anything
    // starts (--ephemeral all the same: no run of the tests makes a data
    // directory in the working directory).
    for args in [
        vec!["fleet_server", "--listen", "0.0.0.0:0", "--no-simulation", "--ephemeral"],
        vec!["fleet_server", "--listen", "[::]:0", "--no-simulation", "--ephemeral"],
    ] {
        let refused = fleetgov_server::run_with_args(&args).unwrap_err();
        assert!(refused.contains("--insecure-listen"), "{args:?}: {refused}");
    }
    let file = std::env::temp_dir().join(format!("fleet-server-listen-{}.toml", std::process::id()));
    std::fs::write(&file, format!("listen = \"0.0.0.0:0\"\n{}", common::config())).unwrap();
    let refused = fleetgov_server::run_with_args(["fleet_server", "--ephemeral", "--config", file.to_str().unwrap()]);
    std::fs::remove_file(&file).unwrap();
    assert!(refused.unwrap_err().contains("--insecure-listen"));
}

/// Issue 18, defect 2: `PUT /api/v1/clusters/{id}` by the admin token was
/// audited as actor `embedder`, and a publish by an admin as role operator.
/// Every change made through the server names the token's actor and role;
/// the engine's own wave records use the reserved system actor, which no
/// token may be configured with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_recorded_under_the_wrong_actor_name_the_token() {
    let s = start().await;
    let last = || s.engine.audit().pop().unwrap();
    let body = json!({ "workspace": "acme-edge", "environment": "staging", "ownerTeam": "qa", "autoReconcile": true });
    let (status, _) = s.send(Method::PUT, "/api/v1/clusters/gke-stage-eu", ADMIN, body).await;
    assert_eq!(status, 200);
    let r = last();
    assert_eq!(
        (r.action, r.actor.as_str(), r.role, r.target.as_str()),
        (AuditAction::UpsertCluster, "ada", Role::Admin, "cluster:gke-stage-eu")
    );

    for (token, actor, role) in [(ADMIN, "ada", Role::Admin), (OPERATOR, "omar", Role::Operator)] {
        let r = s
            .request(Method::POST, "/api/v1/clusters/gke-stage-eu/snapshots", Some(token))
            .header("content-type", "text/plain")
            .body(format!("routes: [{actor}]"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = last();
        assert_eq!((r.action, r.actor.as_str(), r.role), (AuditAction::Publish, actor, role));
    }

    // The engine's own records: the reserved system actor.
    let waves: Vec<_> = s.engine.audit().into_iter().filter(|r| r.action == AuditAction::AutoReconcile).collect();
    assert!(!waves.is_empty(), "the demo fleet opens reconciliation waves");
    assert!(waves.iter().all(|r| r.actor == fleetgov::SYSTEM_ACTOR));

    // No token may hold a reserved identity.
    for actor in ["fleetgov", " FleetGov ", "embedder"] {
        let config = format!(
            "[[tokens]]\ntoken = \"a-long-enough-token\"\nactor = \"{actor}\"\nrole = \"admin\"\nworkspaces = [\"*\"]\n"
        );
        let e = fleetgov_server::ServerConfig::parse(&config, false).unwrap_err();
        assert!(e.contains("reserved"), "{actor}: {e}");
    }
}

/// Issue 18, defect 11: tokens could be configured only as the secret itself.
/// A token given as `token_sha256` (the hash `sha256sum` prints) stands for
/// its actor; any other secret, the hash itself included, is refused; a
/// malformed hash stops the server before it starts, naming the problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_stored_in_clear() {
    // printf %s hashed-admin-token | sha256sum
    let hash = "3a7aba747be809ac3454773d0d505d78deae0985fcf7c0ca6a7b71cfa088fbb8";
    let table = format!(
        "[[tokens]]\ntoken_sha256 = \"{}\"\nactor = \"hana\"\nrole = \"admin\"\nworkspaces = [\"other-ws\"]\n",
        hash.to_uppercase()
    );
    let s = common::start_configured("", &table).await;
    let (status, workspaces) = s.get("/api/v1/workspaces", "hashed-admin-token").await;
    assert_eq!(status, 200, "{workspaces}");
    assert_eq!(workspaces["workspaces"].as_array().map(Vec::len), Some(1), "{workspaces}");
    for wrong in ["hashed-admin-token!", "hashed-admin-toke", hash, VIEWER.trim_end_matches('n')] {
        assert_error(&s.get("/api/v1/workspaces", wrong).await, 401, "UNAUTHENTICATED");
    }
    // Plain tokens keep working beside it.
    assert_eq!(s.get("/api/v1/workspaces", VIEWER).await.0, 200);

    let entry =
        |fields: &str| format!("[[tokens]]\n{fields}\nactor = \"hana\"\nrole = \"admin\"\nworkspaces = [\"*\"]\n");
    for (fields, expected) in [
        ("token_sha256 = \"3a7aba74\"", "64 hexadecimal digits"),
        (&format!("token_sha256 = \"{}\"", hash.replace('d', "g")), "not a hexadecimal digit"),
        (&format!("token_sha256 = \"{hash} \""), "64 hexadecimal digits"),
        (&format!("token = \"hashed-admin-token\"\ntoken_sha256 = \"{hash}\""), "exactly one"),
        ("role_hint = 1", "unknown field"),
        (&format!("token_sha256 = \"{hash}\"\ndemo = true"), "marked demo"),
    ] {
        let e = fleetgov_server::ServerConfig::parse(&entry(fields), false).unwrap_err();
        assert!(e.contains(expected), "{fields}: {e}");
    }
    let no_secret = "[[tokens]]\nactor = \"hana\"\nrole = \"admin\"\nworkspaces = [\"*\"]\n";
    assert!(fleetgov_server::ServerConfig::parse(no_secret, false).unwrap_err().contains("exactly one"));
    // The same token in plain and as its hash is listed twice.
    let twice = format!("{}{}", entry("token = \"hashed-admin-token\""), entry(&format!("token_sha256 = \"{hash}\"")));
    assert!(fleetgov_server::ServerConfig::parse(&twice, false).unwrap_err().contains("listed twice"));

    // From the command line: a clear start-up error.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fleet-server.toml");
    std::fs::write(&file, entry("token_sha256 = \"not-a-hash\"")).unwrap();
    let args = ["fleet_server", "--ephemeral", "--config", file.to_str().unwrap()];
    let refused = fleetgov_server::run_with_args(args).unwrap_err();
    assert!(refused.contains("token_sha256 must be 64 hexadecimal digits"), "{refused}");
}
