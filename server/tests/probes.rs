//! The adversarial review's probes (issue 18, "CI gains") as a suite, over
//! real HTTP on an ephemeral loopback port: cross-workspace access on every
//! endpoint of the API's table, every role on every write, malformed bodies
//! on every JSON write, and heartbeat floods. Each probe asserts the status
//! and, where nothing may change, that nothing did: the audit log's size and
//! its verification, and every cluster's in-sync count, node count and
//! desired revision.

mod common;

use std::collections::BTreeMap;

use common::{ADMIN, OPERATOR, SCOPED, Server, VIEWER, json, start_configured};
use fleetgov::audit::AuditAction;
use fleetgov::record::{HeartbeatRecord, RECORD_SIZE};
use fleetgov::{AuthorityMode, ContentHash, Metrics, ProcessStatus};
use reqwest::Method;
use serde_json::{Value, json};
use zerocopy::IntoBytes;

/// An admin of `other-ws` only, beside [`SCOPED`] (an operator there): a
/// write that needs an admin refuses the operator for its role before any
/// workspace is looked at, so this token probes what lies behind that check.
const SCOPED_ADMIN: &str = "probe-scoped-admin-token";

/// Names of the demo workspace `acme-edge` and of what it holds; a token of
/// `other-ws` must never be told any of them it did not send itself.
const ACME: [&str; 6] = ["acme-edge", "eks-prod-us", "gke-stage-eu", "azure-dev-west", "gw-prod-us-1", "gw-stage-eu-1"];

const REASON: &str = "Rollback due to failed deployment";

/// Starts the test server, with [`SCOPED_ADMIN`] added to its tokens.
async fn start() -> Server {
    let table = format!(
        "[[tokens]]\ntoken = \"{SCOPED_ADMIN}\"\nactor = \"sasha\"\nrole = \"admin\"\nworkspaces = [\"other-ws\"]\n"
    );
    start_configured("demo = true", &table).await
}

/// What a refused request must leave as it was: the audit log's size, and
/// per cluster (nodes in sync, nodes enrolled, desired revision). Taking it
/// verifies the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fleet {
    audit: u64,
    clusters: BTreeMap<String, (u64, u64, u32)>,
}

fn fleet(s: &Server) -> Fleet {
    s.engine.verify_audit().expect("the audit log verifies");
    let now = s.engine.clock().now_ms();
    let clusters =
        s.engine.clusters(now).into_iter().map(|c| (c.id, (c.in_sync, c.total, c.desired_revision))).collect();
    Fleet { audit: s.engine.audit_len(), clusters }
}

/// A request body.
#[derive(Clone, Debug)]
enum Body {
    None,
    Json(Value),
    /// Bytes with their content type (`""`: none).
    Raw(&'static str, Vec<u8>),
}

/// An answer: status, content type and body text (for an event stream, its
/// first chunk: the stream does not end).
#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        assert!(self.content_type.starts_with("application/json"), "not JSON: {self:?}");
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }

    /// Asserts a JSON error with this status and a code and a message.
    fn assert_error(&self, statuses: &[u16], what: &str) {
        assert!(statuses.contains(&self.status), "{what}: status {} not in {statuses:?}: {}", self.status, self.text);
        let body = self.json();
        assert!(body["error"]["code"].as_str().is_some_and(|c| !c.is_empty()), "{what}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
    }
}

async fn call(s: &Server, method: Method, path: &str, token: Option<&str>, body: &Body) -> Answer {
    try_call(s, method, path, token, body).await.unwrap()
}

/// [`call`], or the error of a request the server did not answer.
async fn try_call(
    s: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: &Body,
) -> Result<Answer, reqwest::Error> {
    let r = s.request(method, path, token);
    let r = match body {
        Body::None => r,
        Body::Json(v) => r.json(v),
        Body::Raw("", bytes) => r.body(bytes.clone()),
        Body::Raw(content_type, bytes) => r.header("content-type", *content_type).body(bytes.clone()),
    };
    let mut r = r.send().await?;
    let status = r.status().as_u16();
    let content_type = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let bytes = if content_type.starts_with("text/event-stream") {
        r.chunk().await?.unwrap_or_default().to_vec()
    } else {
        r.bytes().await?.to_vec()
    };
    Ok(Answer { status, content_type, text: String::from_utf8_lossy(&bytes).into_owned() })
}

/// Asserts that `answer` names nothing of `acme-edge` the request did not name itself.
fn assert_no_acme(answer: &Answer, request: &str) {
    for name in ACME {
        assert!(
            !answer.text.contains(name) || request.contains(name),
            "{request}: the answer names {name}: {}",
            answer.text
        );
    }
}

/// One binary heartbeat record of `node`, stamped `at_ms`, reporting `applied`.
fn record(s: &Server, node: &str, at_ms: u64, applied: Option<(u32, ContentHash)>) -> HeartbeatRecord {
    let handle = s.engine.node_handle(node).unwrap();
    let r = HeartbeatRecord::new(handle, at_ms, "3.6.1".parse().unwrap(), ProcessStatus::Ready, Metrics::default());
    match applied {
        Some((revision, hash)) => r.with_applied(revision, hash),
        None => r,
    }
}

/// What the scoped tokens must get from one request.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// 403 or 404, a JSON error.
    Refused,
    /// As [`Expect::Refused`], or 409 `CONFLICT` "taken" for a token that may
    /// create such an object: ids are global, so a taken one cannot be
    /// created again, and the answer does not say where it is taken.
    RefusedOrTaken,
    /// 200, JSON filtered to the token's workspaces.
    Filtered,
    /// 200, an event stream that starts with the `ready` event.
    Stream,
    /// 200, a JSON heartbeat batch whose every record is refused `NOT_FOUND`.
    EveryRecordNotFound,
    /// 200, the same body as without a token.
    Public,
}

/// The ids of `acme-edge` the probes name.
struct Ids {
    artifact: String,
    seq: u64,
    r1: ContentHash,
}

/// The requests that probe `method path` with ids of `acme-edge`, each with
/// what a scoped token must get. Panics for an endpoint it does not know, so
/// a new endpoint cannot go unprobed.
fn cross_workspace_requests(s: &Server, method: &Method, path: &str, ids: &Ids) -> Vec<(String, Body, Expect)> {
    let fill = |p: &str| {
        let id = if p.starts_with("/api/v1/workspaces/") {
            "acme-edge"
        } else if p.starts_with("/api/v1/clusters/") {
            "eks-prod-us"
        } else if p.starts_with("/api/v1/nodes/") {
            "gw-prod-us-1"
        } else if p.starts_with("/api/v1/policies/") {
            "edge-traffic"
        } else {
            "eks-prod-us@r1"
        };
        p.replace("{id}", id).replace("{hash}", &ids.artifact).replace("{seq}", &ids.seq.to_string())
    };
    let get = |query: &str, expect| vec![(format!("{}{query}", fill(path)), Body::None, expect)];
    let post = |bodies: Vec<Body>, expect| -> Vec<(String, Body, Expect)> {
        bodies.into_iter().map(|b| (fill(path), b, expect)).collect()
    };
    match (method.as_str(), path) {
        // Lists: what the token may see, of its own workspace only.
        ("GET", "/api/v1/workspaces" | "/api/v1/clusters" | "/api/v1/audit") => get("", Expect::Filtered),
        // Who the token is: its own workspaces only.
        ("GET", "/api/v1/whoami") => get("", Expect::Filtered),
        ("GET", "/api/v1/workspaces/{id}/fleet") => {
            let mut both = get("", Expect::Refused);
            both.extend(get("?cluster=eks-prod-us", Expect::Refused));
            both
        }
        ("GET", "/api/v1/clusters/{id}/nodes") => get("?limit=1000", Expect::Refused),
        ("GET", "/api/v1/attestations") => get("?cluster=eks-prod-us", Expect::Refused),
        // Hashes only, for any token (see log.rs): nothing of a workspace.
        ("GET", "/api/v1/audit/consistency") => get("?from=1&to=2", Expect::Filtered),
        // The stream of the token's own workspaces; `scoped_event_streams`
        // shows it carries nothing of another.
        ("GET", "/api/v1/events") => get("", Expect::Stream),
        // No token by design: the OpenAPI document, and in demo mode the
        // tokens the configuration marks demo (public by definition).
        ("GET", "/api/v1/openapi.json" | "/api/v1/demo-tokens") => get("", Expect::Public),
        // Every other read names one object of acme-edge, or the whole log or fleet.
        ("GET", _) => get("", Expect::Refused),
        ("PUT", "/api/v1/policies/{id}") => post(
            vec![
                Body::Json(json!({ "scope": "workspace", "workspaceId": "acme-edge", "rules": {} })),
                Body::Json(json!({ "scope": "org", "rules": {} })),
            ],
            Expect::Refused,
        ),
        ("DELETE", "/api/v1/nodes/{id}") => get("", Expect::Refused),
        ("DELETE", "/api/v1/policies/{id}") => {
            let mut both = get("?workspace=acme-edge", Expect::Refused);
            both.extend(get("", Expect::Refused));
            both
        }
        ("PUT", "/api/v1/workspaces/{id}") => post(
            vec![Body::Json(json!({ "authorityMode": "tighten_only", "minRuntimeVersion": "3.5.0" }))],
            Expect::Refused,
        ),
        ("PUT", "/api/v1/clusters/{id}") => post(
            vec![
                Body::Json(json!({ "workspace": "acme-edge", "environment": "production", "ownerTeam": "probe" })),
                Body::Json(json!({ "workspace": "other-ws", "environment": "staging", "autoReconcile": true })),
            ],
            Expect::RefusedOrTaken,
        ),
        ("POST", "/api/v1/clusters/{id}/nodes") => {
            post(vec![Body::Json(json!({ "nodes": ["probe-node"] }))], Expect::Refused)
        }
        ("POST", "/api/v1/clusters/{id}/snapshots") => post(
            vec![
                Body::Json(json!({ "content": "probe: 1" })),
                Body::Json(json!({ "content": "probe: 4", "rollout": { "waves": [100] } })),
                Body::Raw("application/octet-stream", b"probe: 2".to_vec()),
                Body::Raw("text/plain", b"probe: 3".to_vec()),
            ],
            Expect::Refused,
        ),
        ("POST", "/api/v1/heartbeats") => {
            // JSON heartbeats are applied one by one: another workspace's
            // node is refused as unknown in its own result, the batch is 200.
            let json = Body::Json(json!({ "heartbeats": [
                { "node": "gw-prod-us-1", "runtimeVersion": "3.6.1",
                  "appliedSnapshot": "eks-prod-us@r1", "appliedHash": ids.r1 },
                { "node": "gw-stage-eu-1", "runtimeVersion": "3.6.1", "syncError": "NATS_TIMEOUT: probe" },
            ] }));
            let mut probes = post(vec![json], Expect::EveryRecordNotFound);
            // Binary records name nodes by handle: refused whole to a token
            // that does not see every workspace.
            let now = s.engine.clock().now_ms();
            let binary = record(s, "gw-prod-us-1", now, Some((1, ids.r1))).as_bytes().to_vec();
            probes.extend(post(vec![Body::Raw("application/octet-stream", binary)], Expect::Refused));
            probes
        }
        ("POST", "/api/v1/force-sync") => post(
            vec![
                Body::Json(json!({ "target": { "node": "gw-prod-us-1" }, "reason": REASON })),
                Body::Json(json!({ "target": { "cluster": "eks-prod-us" }, "reason": REASON })),
                Body::Json(json!({ "target": { "workspace": "acme-edge" }, "reason": REASON })),
                Body::Json(json!({ "target": { "fleet": true }, "reason": REASON })),
            ],
            Expect::Refused,
        ),
        ("POST", "/api/v1/admin/sync") => post(vec![Body::None], Expect::Refused),
        // eks-prod-us has a rollout: every action on it is refused all the same.
        ("POST", "/api/v1/clusters/{id}/rollout/{action}") => ["pause", "resume", "abort", "promote"]
            .into_iter()
            .map(|a| (fill(path).replace("{action}", a), Body::Json(json!({ "reason": REASON })), Expect::Refused))
            .collect(),
        _ => panic!("no cross-workspace probe for {method} {path}: add one"),
    }
}

/// Issue 18, CI gains: every endpoint of the table, called with ids of
/// `acme-edge` by a token of `other-ws` only (an operator and an admin),
/// is refused or answers with nothing of `acme-edge`, and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_workspace_access_on_every_endpoint() {
    let s = start().await;
    // An audit record of acme-edge, for the proof endpoint.
    let (status, own) = s
        .send(
            Method::POST,
            "/api/v1/force-sync",
            OPERATOR,
            json!({ "target": { "cluster": "eks-prod-us" }, "reason": REASON }),
        )
        .await;
    assert_eq!(status, 201, "{own}");
    let seq = own["seq"].as_u64().unwrap();
    assert_eq!(s.engine.target_workspace(&s.engine.audit_record(seq).unwrap().target).as_deref(), Some("acme-edge"));
    let r1 = s.engine.snapshot("eks-prod-us@r1").unwrap().hash;
    let ids = Ids { artifact: r1.to_string(), seq, r1 };
    // A rollout of acme-edge, for its reads and actions (a bake of an hour: it stays as it is).
    let plan = json!({ "waves": [10, 100], "bakeMs": 3_600_000 });
    let publish = json!({ "content": "probe: rollout", "rollout": plan });
    assert_eq!(s.send(Method::POST, "/api/v1/clusters/eks-prod-us/snapshots", OPERATOR, publish).await.0, 201);
    let before = fleet(&s);

    let endpoints = fleetgov_server::api::endpoints();
    let mut probed = 0;
    for endpoint in &endpoints {
        for token in [SCOPED, SCOPED_ADMIN] {
            for (path, body, expect) in cross_workspace_requests(&s, &endpoint.method, endpoint.path, &ids) {
                let what = format!("{} {path} {body:?} as {token}", endpoint.method);
                let answer = call(&s, endpoint.method.clone(), &path, Some(token), &body).await;
                assert!(answer.status < 500, "{what}: {answer:?}");
                match expect {
                    Expect::Refused => answer.assert_error(&[403, 404], &what),
                    Expect::RefusedOrTaken => {
                        answer.assert_error(&[403, 404, 409], &what);
                        if answer.status == 409 {
                            assert_eq!(token, SCOPED_ADMIN, "{what}: only an admin may create a cluster");
                            let message = answer.json()["error"]["message"].as_str().unwrap().to_owned();
                            assert!(message.contains("taken"), "{what}: {message}");
                        }
                    }
                    Expect::Filtered => {
                        assert_eq!(answer.status, 200, "{what}: {}", answer.text);
                        let body = answer.json();
                        if path == "/api/v1/audit" {
                            assert!(body.get("size").is_none(), "{what}: the log's size: {body}");
                        }
                        if path != "/api/v1/audit/consistency?from=1&to=2" && path != "/api/v1/audit" {
                            assert!(answer.text.contains("other-ws"), "{what}: its own workspace is missing: {body}");
                        }
                    }
                    Expect::Stream => {
                        assert_eq!(answer.status, 200, "{what}: {}", answer.text);
                        assert!(answer.content_type.starts_with("text/event-stream"), "{what}: {answer:?}");
                        assert!(answer.text.starts_with("event: ready"), "{what}: {}", answer.text);
                    }
                    Expect::EveryRecordNotFound => {
                        assert_eq!(answer.status, 200, "{what}: {}", answer.text);
                        let body = answer.json();
                        assert_eq!(body["accepted"], 0, "{what}: {body}");
                        let results = body["results"].as_array().unwrap();
                        assert!(
                            !results.is_empty() && results.iter().all(|r| r["error"]["code"] == "NOT_FOUND"),
                            "{what}: {body}"
                        );
                    }
                    Expect::Public => {
                        assert_eq!(answer.status, 200, "{what}: {}", answer.text);
                        let anonymous = call(&s, endpoint.method.clone(), &path, None, &body).await;
                        assert_eq!((anonymous.status, &anonymous.text), (200, &answer.text), "{what}");
                    }
                }
                // The OpenAPI document is static and names no one's objects;
                // every other answer names nothing of acme-edge it was not asked about.
                if !path.ends_with("openapi.json") {
                    assert_no_acme(&answer, &what);
                }
                probed += 1;
            }
        }
    }
    // The C2SP log routes, outside the table: every workspace's records.
    for path in ["/log/checkpoint", "/log/tile/0/000", "/log/tile/entries/000.p/1"] {
        for token in [SCOPED, SCOPED_ADMIN] {
            let answer = call(&s, Method::GET, path, Some(token), &Body::None).await;
            answer.assert_error(&[403], &format!("GET {path} as {token}"));
            probed += 1;
        }
    }
    assert_eq!(fleet(&s), before, "a refused request changed state");
    assert!(endpoints.len() >= 28 && probed >= 2 * endpoints.len(), "{probed} probes of {} endpoints", endpoints.len());
}

/// The event stream's exception to "refused": a scoped token's stream is
/// 200, and an event of `acme-edge` never reaches it, while one of its own
/// workspace emitted after it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_event_streams_carry_nothing_of_another_workspace() {
    let s = start().await;
    let mut stream = s.request(Method::GET, "/api/v1/events", Some(SCOPED)).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut seen = String::from_utf8_lossy(&stream.chunk().await.unwrap().unwrap()).into_owned();
    assert!(seen.starts_with("event: ready"), "{seen}");
    let force = |token: &'static str, target: Value| {
        s.send(Method::POST, "/api/v1/force-sync", token, json!({ "target": target, "reason": REASON }))
    };
    let deadline = tokio::time::Instant::now() + fleetgov_testkit::deadline();
    // The server subscribes to the engine's changes once a stream is open,
    // within a forwarding period of it: force the token's own cluster until
    // one of those records reaches the stream, so it is known to be live.
    while !seen.contains("other-cluster") {
        assert!(tokio::time::Instant::now() < deadline, "no event of its own arrives: {seen}");
        assert_eq!(force(SCOPED, json!({ "cluster": "other-cluster" })).await.0, 201);
        let wait = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
        while let Ok(chunk) = tokio::time::timeout_at(wait.min(deadline), stream.chunk()).await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap().expect("the stream stays open")));
            if seen.contains("other-cluster") {
                break;
            }
        }
    }
    // Now acme-edge records (an override, a rollout and an action on it),
    // then one of its own by another actor (which the stream has not named
    // yet): the last arrives, the others never.
    assert!(!seen.contains("sasha"), "{seen}");
    assert_eq!(force(OPERATOR, json!({ "cluster": "eks-prod-us" })).await.0, 201);
    let rollout = json!({ "content": "probe: rollout", "rollout": { "waves": [10, 100], "bakeMs": 3_600_000 } });
    assert_eq!(s.send(Method::POST, "/api/v1/clusters/eks-prod-us/snapshots", OPERATOR, rollout).await.0, 201);
    let pause = json!({ "reason": REASON });
    assert_eq!(s.send(Method::POST, "/api/v1/clusters/eks-prod-us/rollout/pause", OPERATOR, pause).await.0, 200);
    assert_eq!(force(SCOPED_ADMIN, json!({ "cluster": "other-cluster" })).await.0, 201);
    while !seen.contains("\"sasha\"") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk()).await.expect("its own event arrives");
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap().expect("the stream stays open")));
    }
    for name in ACME {
        assert!(!seen.contains(name), "the stream names {name}: {seen}");
    }
}

/// One write of the role probe: its request, and what each role must get.
struct Write {
    method: Method,
    path: String,
    body: Body,
    /// Status for viewer, operator, admin.
    statuses: [u16; 3],
}

/// Issue 18, CI gains: every write endpoint, by each role of every
/// workspace. A viewer is refused everything and changes nothing; an
/// operator and an admin get each endpoint's documented outcome, and state
/// changes only as that outcome says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_on_every_write() {
    let s = start().await;
    let r2 = s.engine.snapshot("gke-stage-eu@r2").unwrap().hash;
    let writes = |role: &str| {
        vec![
            Write {
                method: Method::PUT,
                path: format!("/api/v1/policies/probe-{role}"),
                body: Body::Json(json!({ "scope": "workspace", "workspaceId": "acme-edge",
                    "rules": { "rate_limit_rpm": { "kind": "limit", "value": 1000 } } })),
                statuses: [403, 403, 201],
            },
            Write {
                method: Method::DELETE,
                path: "/api/v1/policies/edge-traffic?workspace=acme-edge".to_owned(),
                body: Body::None,
                statuses: [403, 403, 200],
            },
            Write {
                method: Method::PUT,
                path: format!("/api/v1/workspaces/probe-{role}"),
                body: Body::Json(json!({ "authorityMode": "Tighten-only" })),
                statuses: [403, 403, 201],
            },
            Write {
                method: Method::PUT,
                path: format!("/api/v1/clusters/probe-{role}"),
                body: Body::Json(json!({ "workspace": "acme-edge", "environment": "staging", "ownerTeam": "probe" })),
                statuses: [403, 403, 200],
            },
            Write {
                method: Method::POST,
                path: "/api/v1/clusters/eks-prod-us/nodes".to_owned(),
                body: Body::Json(json!({ "nodes": [format!("probe-{role}")] })),
                statuses: [403, 201, 201],
            },
            Write {
                method: Method::DELETE,
                path: format!("/api/v1/nodes/probe-{role}"),
                body: Body::None,
                statuses: [403, 200, 200],
            },
            Write {
                method: Method::POST,
                path: "/api/v1/clusters/azure-dev-west/snapshots".to_owned(),
                body: Body::Json(json!({ "content": format!("probe: {role}") })),
                statuses: [403, 201, 201],
            },
            Write {
                method: Method::POST,
                path: "/api/v1/clusters/azure-dev-west/snapshots".to_owned(),
                // A bake of an hour: the rollout stays where its operators put it.
                body: Body::Json(json!({ "content": format!("probe: {role} in waves"),
                    "rollout": { "waves": [10, 100], "bakeMs": 3_600_000 } })),
                statuses: [403, 201, 201],
            },
            Write {
                method: Method::POST,
                path: "/api/v1/clusters/azure-dev-west/rollout/pause".to_owned(),
                body: Body::Json(json!({ "reason": REASON })),
                statuses: [403, 200, 200],
            },
            Write {
                method: Method::POST,
                path: "/api/v1/clusters/azure-dev-west/rollout/abort".to_owned(),
                body: Body::Json(json!({ "reason": REASON })),
                statuses: [403, 200, 200],
            },
            Write {
                method: Method::POST,
                path: "/api/v1/heartbeats".to_owned(),
                // An in-sync node reports what it runs: accepted, nothing changes.
                body: Body::Json(json!({ "heartbeats": [{ "node": "gw-stage-eu-1", "runtimeVersion": "3.6.1",
                    "appliedSnapshot": "gke-stage-eu@r2", "appliedHash": r2 }] })),
                statuses: [403, 200, 200],
            },
            Write {
                method: Method::POST,
                path: "/api/v1/force-sync".to_owned(),
                body: Body::Json(json!({ "target": { "cluster": "gke-stage-eu" }, "reason": REASON })),
                statuses: [403, 201, 201],
            },
            Write {
                method: Method::POST,
                path: "/api/v1/force-sync".to_owned(),
                body: Body::Json(json!({ "target": { "workspace": "acme-edge" }, "reason": REASON })),
                statuses: [403, 403, 201],
            },
            Write {
                method: Method::POST,
                path: "/api/v1/admin/sync".to_owned(),
                body: Body::None,
                statuses: [403, 403, 200],
            },
        ]
    };
    // Every write of the table is probed.
    let probed: Vec<(Method, String)> = writes("x").into_iter().map(|w| (w.method, w.path)).collect();
    for e in fleetgov_server::api::endpoints().iter().filter(|e| e.method != Method::GET) {
        let path = e.path.replace("{action}", "pause");
        let prefix = path.split("{id}").next().unwrap();
        let suffix = path.rsplit("{id}").next().unwrap();
        assert!(
            probed.iter().any(|(m, p)| *m == e.method && p.starts_with(prefix) && p.ends_with(suffix)),
            "no role probe for {} {}",
            e.method,
            e.path
        );
    }

    for (i, (token, role)) in [(VIEWER, "viewer"), (OPERATOR, "operator"), (ADMIN, "admin")].into_iter().enumerate() {
        for w in writes(role) {
            let what = format!("{} {} as {role}", w.method, w.path);
            let before = fleet(&s);
            let answer = call(&s, w.method.clone(), &w.path, Some(token), &w.body).await;
            let after = fleet(&s);
            let expected = w.statuses[i];
            if expected >= 400 {
                answer.assert_error(&[expected], &what);
                assert_eq!(answer.json()["error"]["code"], "PERMISSION_DENIED", "{what}");
                assert_eq!(after, before, "{what}: a refused write changed state");
                continue;
            }
            assert_eq!(answer.status, expected, "{what}: {}", answer.text);
            let grown = after.audit - before.audit;
            let cluster = |f: &Fleet, id: &str| f.clusters.get(id).copied();
            match (w.method.as_str(), w.path.as_str()) {
                ("PUT" | "DELETE", p) if p.starts_with("/api/v1/policies/") => {
                    assert_eq!(grown, 1, "{what}: one policy record");
                    assert_eq!(after.clusters, before.clusters, "{what}");
                }
                ("PUT", p) if p.starts_with("/api/v1/workspaces/") => {
                    assert_eq!(grown, 1, "{what}");
                    assert_eq!(after.clusters, before.clusters, "{what}: a new workspace has no clusters");
                    assert_eq!(
                        s.engine.workspace(&format!("probe-{role}")).unwrap().authority_mode,
                        AuthorityMode::TightenOnly
                    );
                }
                ("PUT", _) => {
                    assert_eq!(grown, 1, "{what}");
                    assert_eq!(cluster(&after, &format!("probe-{role}")), Some((0, 0, 0)), "{what}");
                    assert_eq!(after.clusters.len(), before.clusters.len() + 1, "{what}");
                }
                ("DELETE", p) if p.starts_with("/api/v1/nodes/") => {
                    assert_eq!(grown, 1, "{what}: one removal record");
                    let (b, a) = (cluster(&before, "eks-prod-us").unwrap(), cluster(&after, "eks-prod-us").unwrap());
                    assert_eq!((a.1, a.2), (b.1 - 1, b.2), "{what}: one node fewer");
                }
                (_, "/api/v1/clusters/eks-prod-us/nodes") => {
                    let (b, a) = (cluster(&before, "eks-prod-us").unwrap(), cluster(&after, "eks-prod-us").unwrap());
                    assert_eq!((a.1, a.2), (b.1 + 1, b.2), "{what}: one more node");
                }
                (_, "/api/v1/clusters/azure-dev-west/snapshots") => {
                    assert_eq!(grown, 1, "{what}");
                    let (b, a) =
                        (cluster(&before, "azure-dev-west").unwrap(), cluster(&after, "azure-dev-west").unwrap());
                    // The new revision is desired (after an aborted rollout, the
                    // desired one is behind the latest published).
                    let published = answer.json()["revision"].as_u64().unwrap() as u32;
                    assert!(published > b.2, "{what}: a new revision");
                    assert_eq!((a.1, a.2), (b.1, published), "{what}: the new revision is desired");
                }
                (_, "/api/v1/clusters/azure-dev-west/rollout/pause") => {
                    assert_eq!(
                        (grown, answer.json()["state"].as_str()),
                        (1, Some("paused")),
                        "{what}: one rollout record"
                    );
                    assert_eq!(after.clusters, before.clusters, "{what}: a pause changes no count");
                }
                (_, "/api/v1/clusters/azure-dev-west/rollout/abort") => {
                    assert_eq!(
                        (grown, answer.json()["state"].as_str()),
                        (1, Some("aborted")),
                        "{what}: one rollout record"
                    );
                    let (b, a) =
                        (cluster(&before, "azure-dev-west").unwrap(), cluster(&after, "azure-dev-west").unwrap());
                    assert_eq!((a.1, a.2), (b.1, b.2 - 1), "{what}: back to the previous revision");
                }
                (_, "/api/v1/heartbeats") => {
                    assert_eq!(answer.json()["accepted"], 1, "{what}: {}", answer.text);
                    assert_eq!(after, before, "{what}: a heartbeat of an in-sync node changed state");
                }
                (_, "/api/v1/force-sync") => {
                    assert_eq!(grown, 1, "{what}: one override record");
                    assert_eq!(after.clusters, before.clusters, "{what}: forced nodes change on their next heartbeat");
                }
                _ => {
                    assert_eq!(answer.json()["durable"], false, "{what}");
                    assert_eq!(after, before, "{what}");
                }
            }
        }
    }
}

/// The test configuration's `body_limit_bytes`.
const BODY_LIMIT: usize = 65_536;

/// Wrong values for a field: JSON text, and the kind of value it is (a
/// replacement of the field's own kind is skipped: it may well be valid).
const WRONG: [(&str, &str); 8] = [
    ("null", "null"),
    ("-1", "number"),
    ("1.5", "number"),
    ("1e400", "number"),
    ("18446744073709551616", "number"),
    ("true", "bool"),
    ("{}", "object"),
    ("[[[[1]]]]", "array"),
];

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// JSON pointers of every value below the root of `v`.
fn pointers(v: &Value, at: &str, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match v {
        Value::Object(m) => m.iter().map(|(k, v)| (format!("{at}/{k}"), v)).collect(),
        Value::Array(a) => a.iter().enumerate().map(|(i, v)| (format!("{at}/{i}"), v)).collect(),
        _ => Vec::new(),
    };
    for (pointer, child) in children {
        out.push(pointer.clone());
        pointers(child, &pointer, out);
    }
}

/// `valid` as text with the value at `pointer` replaced by the raw text `raw`.
fn replaced(valid: &Value, pointer: &str, raw: &[u8]) -> Vec<u8> {
    const MARK: &str = "\u{1}probe-mark\u{1}";
    let mut v = valid.clone();
    *v.pointer_mut(pointer).unwrap() = Value::String(MARK.to_owned());
    let text = serde_json::to_vec(&v).unwrap();
    let mark = serde_json::to_vec(&Value::String(MARK.to_owned())).unwrap();
    let at = text.windows(mark.len()).position(|w| w == mark.as_slice()).unwrap();
    [&text[..at], raw, &text[at + mark.len()..]].concat()
}

/// Malformed variants of the valid body `valid`: not JSON at all, cut
/// short, of the wrong shape, every field of a wrong kind, missing or
/// invalid UTF-8, an unknown field, too deep, too large. `optional`: the
/// fields that may be null or missing.
fn malformed(valid: &Value, optional: &[&str]) -> Vec<(String, Vec<u8>)> {
    let text = serde_json::to_vec(valid).unwrap();
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes();
    let mut bodies: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        ("not JSON".into(), b"not json".to_vec()),
        ("a form".into(), b"target=eks-prod-us&reason=x".to_vec()),
        ("half".into(), text[..text.len() / 2].to_vec()),
        ("last byte cut".into(), text[..text.len() - 1].to_vec()),
        ("trailing garbage".into(), [&text[..], b"x"].concat()),
        ("two documents".into(), [&text[..], &text[..]].concat()),
        ("null".into(), b"null".to_vec()),
        ("array".into(), b"[]".to_vec()),
        ("empty object".into(), b"{}".to_vec()),
        ("number".into(), b"42".to_vec()),
        ("huge number".into(), b"1e400".to_vec()),
        ("string".into(), b"\"text\"".to_vec()),
        ("deeply nested arrays".into(), deep(20_000)),
        ("deeply nested objects".into(), format!("{}1{}", "{\"a\":".repeat(5_000), "}".repeat(5_000)).into_bytes()),
        ("invalid UTF-8".into(), b"{\"\xff\xfe\": \"\xc3\"}".to_vec()),
        ("NUL bytes".into(), b"\0\0\0\0".to_vec()),
    ];
    let object = valid.as_object().unwrap();
    let mut unknown = valid.clone();
    unknown.as_object_mut().unwrap().insert("probe".into(), json!(1));
    bodies.push(("unknown field".into(), serde_json::to_vec(&unknown).unwrap()));
    let first = object.keys().next().unwrap();
    let duplicate = [&text[..text.len() - 1], format!(",\"{first}\":{}}}", object[first]).as_bytes()].concat();
    bodies.push(("duplicate field".into(), duplicate));
    let mut all = Vec::new();
    pointers(valid, "", &mut all);
    for pointer in &all {
        let here = valid.pointer(pointer).unwrap();
        let field = pointer.rsplit('/').next().unwrap();
        for (raw, wrong) in WRONG {
            if wrong == kind(here) || (wrong == "null" && optional.contains(&field)) {
                continue;
            }
            bodies.push((format!("{pointer} = {raw}"), replaced(valid, pointer, raw.as_bytes())));
        }
        bodies.push((format!("{pointer} deeply nested"), replaced(valid, pointer, &deep(10_000))));
        if here.is_string() {
            bodies.push((format!("{pointer} invalid UTF-8"), replaced(valid, pointer, b"\"probe \xff\xfe\xc3\"")));
            bodies.push((
                format!("{pointer} 1 MB"),
                replaced(valid, pointer, format!("\"{}\"", "x".repeat(1 << 20)).as_bytes()),
            ));
        }
        // Removing an object's field (an array element's removal leaves a valid, shorter list).
        let parent = &pointer[..pointer.rfind('/').unwrap()];
        let parent_value = if parent.is_empty() { valid } else { valid.pointer(parent).unwrap() };
        if parent_value.is_object() && !optional.contains(&field) {
            let mut v = valid.clone();
            let target = if parent.is_empty() { Some(&mut v) } else { v.pointer_mut(parent) };
            target.unwrap().as_object_mut().unwrap().remove(field);
            bodies.push((format!("{pointer} missing"), serde_json::to_vec(&v).unwrap()));
        }
    }
    bodies
}

/// Issue 18, CI gains: every JSON write gets a series of malformed bodies;
/// each is a 4xx JSON error (400, or 413 beyond the body limit, 415 for a
/// content type it does not take), never a success or a 5xx, and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_on_every_json_write() {
    let s = start().await;
    let now = s.engine.clock().now_ms();
    let r2 = s.engine.snapshot("gke-stage-eu@r2").unwrap().hash;
    // (path, method, a valid body, the fields that may be null or missing)
    let writes: Vec<(&str, Method, Value, Vec<&str>)> = vec![
        (
            "/api/v1/policies/gke-stage-eu",
            Method::PUT,
            json!({ "scope": "workspace", "workspaceId": "acme-edge",
                "rules": { "rate_limit_rpm": { "kind": "limit", "value": 1000 } } }),
            // A rule set without the rule is a valid, empty one.
            vec!["rate_limit_rpm"],
        ),
        (
            "/api/v1/workspaces/gke-stage-eu",
            Method::PUT,
            json!({ "authorityMode": "tighten_only", "minRuntimeVersion": "3.5.0" }),
            vec!["authorityMode", "minRuntimeVersion"],
        ),
        (
            "/api/v1/clusters/gke-stage-eu",
            Method::PUT,
            json!({ "workspace": "acme-edge", "environment": "staging", "ownerTeam": "qa", "autoReconcile": false }),
            vec!["ownerTeam", "autoReconcile"],
        ),
        ("/api/v1/clusters/gke-stage-eu/nodes", Method::POST, json!({ "nodes": ["probe-node"] }), vec![]),
        (
            "/api/v1/clusters/gke-stage-eu/snapshots",
            Method::POST,
            json!({ "content": "probe: 1",
                "rollout": { "waves": [10, 100], "bakeMs": 60_000, "maxFailurePct": 5.0, "autoRollback": true } }),
            // A publish without a plan is one, and a plan's other fields have defaults.
            vec!["rollout", "bakeMs", "maxFailurePct", "autoRollback"],
        ),
        ("/api/v1/clusters/gke-stage-eu/rollout/pause", Method::POST, json!({ "reason": REASON }), vec![]),
        (
            "/api/v1/heartbeats",
            Method::POST,
            json!({ "heartbeats": [{ "node": "gw-stage-eu-1", "runtimeVersion": "3.6.1", "atMs": now,
                "appliedSnapshot": "gke-stage-eu@r2", "appliedHash": r2 }] }),
            vec!["atMs", "appliedSnapshot", "appliedHash"],
        ),
        (
            "/api/v1/force-sync",
            Method::POST,
            json!({ "target": { "cluster": "gke-stage-eu" }, "reason": REASON }),
            // An absent target field is one not named; naming none is refused all the same.
            vec![],
        ),
    ];
    // Every JSON write of the table (admin/sync and removals read no body).
    let json_writes = fleetgov_server::api::endpoints()
        .iter()
        .filter(|e| e.method != Method::GET && e.method != Method::DELETE && e.path != "/api/v1/admin/sync")
        .map(|e| (e.method.clone(), e.path.replace("{id}", "gke-stage-eu").replace("{action}", "pause")))
        .collect::<Vec<_>>();
    assert_eq!(json_writes.len(), writes.len());
    assert!(json_writes.iter().all(|(m, p)| writes.iter().any(|(wp, wm, ..)| wm == m && wp == p)), "{json_writes:?}");

    let before = fleet(&s);
    let (mut sent, mut lost) = (0, 0);
    for (path, method, valid, optional) in &writes {
        let mut bodies: Vec<(String, &'static str, Vec<u8>)> =
            malformed(valid, optional).into_iter().map(|(what, b)| (what, "application/json", b)).collect();
        let text = serde_json::to_vec(valid).unwrap();
        bodies.push(("a form content type".into(), "application/x-www-form-urlencoded", text.clone()));
        bodies.push(("a multipart content type".into(), "multipart/form-data; boundary=x", text.clone()));
        for (what, content_type, body) in bodies {
            let what = format!("{method} {path}: {what}");
            let oversized = body.len() > BODY_LIMIT;
            // Over the limit, the server reads and discards the body (up to
            // 16 MiB) before it answers 413, so the client reads the answer
            // instead of a reset connection.
            let answer = try_call(&s, method.clone(), path, Some(ADMIN), &Body::Raw(content_type, body))
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            lost += usize::from(oversized && answer.status != 413);
            answer.assert_error(&[400, 413, 415], &what);
            let expected = if oversized {
                413
            } else if content_type != "application/json" {
                415
            } else {
                400
            };
            assert_eq!(answer.status, expected, "{what}: {}", answer.text);
            sent += 1;
        }
        // Without any content type.
        let answer = call(&s, method.clone(), path, Some(ADMIN), &Body::Raw("", text_of(valid))).await;
        answer.assert_error(&[415], &format!("{method} {path}: no content type"));
        sent += 1;
    }
    assert_eq!(fleet(&s), before, "a malformed body changed state");
    assert!(sent >= 200 && lost == 0, "{sent} bodies answered, {lost} oversized ones not refused with 413");
    // And the server still serves.
    assert_eq!(json(s.request(Method::GET, "/api/v1/clusters", Some(VIEWER)).send().await.unwrap()).await.0, 200);
}

fn text_of(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// Posts binary records in batches that fit the body limit; asserts every
/// answer is 200 and that no record was refused. Returns the directives given.
async fn flood(s: &Server, records: &[HeartbeatRecord]) -> u64 {
    let per_batch = BODY_LIMIT / RECORD_SIZE - 1;
    let mut directives = 0;
    for batch in records.chunks(per_batch) {
        let body: Vec<u8> = batch.iter().flat_map(|r| r.as_bytes().iter().copied()).collect();
        let r = s
            .request(Method::POST, "/api/v1/heartbeats", Some(OPERATOR))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        assert_eq!(status, 200, "{}", r.text().await.unwrap());
        let count = |name: &str| headers[name].to_str().unwrap().parse::<u64>().unwrap();
        assert_eq!((count("x-fleetgov-accepted"), count("x-fleetgov-refused")), (batch.len() as u64, 0));
        directives += count("x-fleetgov-directives");
    }
    directives
}

/// Issue 18, defect 6 and CI gains: heartbeat floods cost bounded audit and
/// history. One node of the auto-reconcile cluster flapping between in sync
/// and divergent 10,000 times opens at most one wave (one `auto_reconcile`
/// record); 10,000 fresh unmatched hashes over 4 nodes keep at most
/// `MAX_NEW_PER_HOUR` of them per node and hour, plus one withheld report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_floods() {
    let s = start().await;
    // One stamp for every record: one clock hour, and none stale.
    let at = s.engine.clock().now_ms();
    let stage = s.engine.cluster("gke-stage-eu", at).unwrap();
    assert!(stage.auto_reconcile);
    let r1 = s.engine.snapshot("gke-stage-eu@r1").unwrap().hash;
    let r2 = s.engine.snapshot("gke-stage-eu@r2").unwrap().hash;

    // Flapping: divergent, in sync, divergent, ..., in sync.
    let before = fleet(&s);
    let flapping: Vec<HeartbeatRecord> = (0..10_000)
        .map(|i| record(&s, "gw-stage-eu-1", at, Some(if i % 2 == 0 { (1, r1) } else { (2, r2) })))
        .collect();
    let directives = flood(&s, &flapping).await;
    assert_eq!(directives, 5_000, "every divergent report is told to reconcile");
    let after = fleet(&s);
    let new = s.engine.audit().split_off(before.audit as usize);
    assert!(new.len() <= 1, "{} audit records for one wave", new.len());
    assert!(new.iter().all(|r| r.action == AuditAction::AutoReconcile), "{new:?}");
    assert_eq!(after.clusters, before.clusters, "it ends in sync, as it began");

    // Unmatched hashes: 2,500 fresh ones for each of 4 nodes.
    let nodes = ["gw-prod-us-1", "gw-prod-us-2", "gw-prod-us-3", "gw-prod-us-4"];
    let history =
        |node: &str| s.engine.history(node, s.engine.history_start_ms(), s.engine.clock().now_ms()).unwrap().len();
    let before_history: Vec<usize> = nodes.iter().map(|n| history(n)).collect();
    let before = fleet(&s);
    let unmatched: Vec<HeartbeatRecord> = (0..10_000u32)
        .map(|i| {
            let hash = ContentHash::of(format!("probe flood {i} {at}").as_bytes());
            record(&s, nodes[i as usize % nodes.len()], at, Some((2, hash)))
        })
        .collect();
    flood(&s, &unmatched).await;
    let bound = usize::from(fleetgov::unmatched::MAX_NEW_PER_HOUR) + 1;
    for (node, was) in nodes.iter().zip(before_history) {
        let grown = history(node) - was;
        assert!(grown <= bound, "{node}: {grown} history entries from one hour's flood");
    }
    let new = s.engine.audit().split_off(before.audit as usize);
    assert!(new.len() <= 1 && new.iter().all(|r| r.action == AuditAction::AutoReconcile), "{new:?}");
    let (in_sync, total, revision) = fleet(&s).clusters["eks-prod-us"];
    assert_eq!((in_sync, total), (0, 4), "every flooding node is divergent");
    assert_eq!(revision, before.clusters["eks-prod-us"].2);
}

/// A body over the limit is answered with the JSON 413, never with a reset
/// connection: the server reads and discards the rest of the body first.
#[tokio::test]
async fn an_oversized_body_is_answered_413_not_reset() {
    let s = start_configured("demo = true", "").await;
    let before = fleet(&s);
    for size in [70_000, 200_000, 1 << 20] {
        for _ in 0..30 {
            let body = Body::Raw("application/json", vec![b' '; size]);
            let answer = try_call(&s, Method::POST, "/api/v1/clusters/eks-prod-us/nodes", Some(ADMIN), &body)
                .await
                .unwrap_or_else(|e| panic!("a {size}-byte body: {e}"));
            answer.assert_error(&[413], &format!("a {size}-byte body"));
        }
    }
    assert_eq!(fleet(&s), before);
}
