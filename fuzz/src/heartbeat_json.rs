//! Target `heartbeat_json`: the JSON body of `POST /api/v1/heartbeats`,
//! sent through the fleet server's whole router (auth, body limit, handler,
//! JSON errors) in memory, as an operator of every workspace, on the demo
//! fleet with its clock fixed.
//!
//! For every body:
//!
//! - the answer is 200 exactly when the body deserializes as a batch of the
//!   public [`HeartbeatJson`] (`{"heartbeats": [...]}`, no other field),
//!   else 400; never anything else (no 5xx);
//! - a 400 is the API's JSON error with code `INVALID_INPUT`, and no
//!   cluster, node or audit record changed;
//! - a 200 has one result per heartbeat, in order and naming its node,
//!   `accepted` and `rejected` count them, every rejection carries a
//!   heartbeat error code, nodes not named in the batch are unchanged, at
//!   most one audit record is appended per directive, and the counters
//!   equal a recount.

use std::collections::HashSet;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use fleetgov::Engine;
use fleetgov_server::api::HeartbeatJson;
use fleetgov_server::{AppState, ServerConfig};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::fleet_state::{FleetState, assert_counters_exact};
use crate::heartbeat_batch::{NOW_MS, fleet};
use crate::{Harness, Seed};

/// The server configuration: one operator token of every workspace.
const CONFIG: &str = r#"
body_limit_bytes = 1048576
[simulation]
enabled = false
[[tokens]]
token = "fuzz-operator-token"
actor = "omar.operator"
role = "operator"
workspaces = ["*"]
"#;

/// Inputs run on one fleet before a fresh one is made (see `heartbeat_batch`).
const RUNS_PER_FLEET: u32 = 256;

/// What a heartbeat of a well-formed batch may be rejected with.
const HEARTBEAT_ERRORS: [&str; 4] = ["INVALID_INPUT", "NOT_FOUND", "STALE_HEARTBEAT", "FUTURE_HEARTBEAT"];

/// JSON fragments worth inserting: keys of the body, values at the limits.
pub const DICTIONARY: &[&[u8]] = &[
    br#"{"heartbeats":[]}"#,
    br#""node":"gw-prod-us-1","#,
    br#""atMs":"#,
    br#""appliedSnapshot":"eks-prod-us@r2","#,
    br#""appliedHash":"#,
    br#""runtimeVersion":"3.6.1","#,
    br#""status":"error","#,
    br#""metrics":{"cpu":100.0,"memory":0,"tps":1e38,"heap":50,"hotSwapErrors":4294967295},"#,
    br#""syncError":"RELOAD_FAILURE: x","#,
    b"null",
    b"true",
    b"-1",
    b"1e309",
    b"18446744073709551616",
    b"1700000300001",
    b"\"\\u0000\"",
    b"\"\\ud800\"",
    b"\"\xc3\xa9\"",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b"\"",
];

/// The body a handler answers with: either a batch result or an error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    heartbeats: Vec<HeartbeatJson>,
}

/// The harness: a runtime, and the router over a demo fleet.
pub struct JsonHarness {
    runtime: tokio::runtime::Runtime,
    engine: std::sync::Arc<Engine>,
    app: Router,
    runs: u32,
}

impl JsonHarness {
    /// A harness over a fresh demo fleet.
    pub fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let (engine, app) = server();
        JsonHarness { runtime, engine, app, runs: 0 }
    }
}

impl Default for JsonHarness {
    fn default() -> Self {
        JsonHarness::new()
    }
}

/// The demo fleet and the server's router over it.
fn server() -> (std::sync::Arc<Engine>, Router) {
    let config = ServerConfig::parse(CONFIG, false).expect("the fuzz configuration is valid");
    let engine = std::sync::Arc::new(fleet());
    let app = fleetgov_server::app(AppState::new(engine.clone(), &config), &config);
    (engine, app)
}

impl Harness for JsonHarness {
    fn run(&mut self, data: &[u8]) {
        self.runs += 1;
        if self.runs.is_multiple_of(RUNS_PER_FLEET) {
            (self.engine, self.app) = server();
        }
        let before = FleetState::of(&self.engine, NOW_MS);
        let request = Request::post("/api/v1/heartbeats")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, "Bearer fuzz-operator-token")
            .body(Body::from(data.to_vec()))
            .expect("a request");
        let (status, body) = self.runtime.block_on(async {
            let response = self.app.clone().oneshot(request).await.expect("the router answers");
            let status = response.status();
            (status, to_bytes(response.into_body(), usize::MAX).await.expect("a whole body"))
        });
        let answer: Value = serde_json::from_slice(&body).expect("every answer is JSON");
        let batch = serde_json::from_slice::<Batch>(data);
        match status {
            StatusCode::OK => {
                let batch = batch.expect("a 200 for a body that is not a heartbeat batch");
                check_results(&self.engine, &before, &batch.heartbeats, &answer);
            }
            StatusCode::BAD_REQUEST => {
                assert!(batch.is_err(), "a heartbeat batch was refused: {answer}");
                assert_eq!(answer["error"]["code"], "INVALID_INPUT", "a refused body: {answer}");
                assert!(answer["error"]["message"].is_string(), "a refusal says why: {answer}");
                before.assert_unchanged(&self.engine, NOW_MS, "a refused body");
            }
            other => panic!("status {other} for a heartbeat body: {answer}"),
        }
    }
}

/// Checks a 200 answer to `heartbeats` (see the module docs).
fn check_results(engine: &Engine, before: &FleetState, heartbeats: &[HeartbeatJson], answer: &Value) {
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results.len(), heartbeats.len(), "one result per heartbeat");
    let mut rejected = 0;
    let mut directives = 0;
    for (i, (hb, result)) in heartbeats.iter().zip(results).enumerate() {
        assert_eq!(result["node"], hb.node.as_str(), "result {i} names its heartbeat's node");
        if let Some(error) = result.get("error") {
            rejected += 1;
            let code = error["code"].as_str().expect("an error code");
            assert!(HEARTBEAT_ERRORS.contains(&code), "result {i}: error code {code}");
            assert!(result.get("directive").is_none(), "result {i}: a rejected heartbeat with a directive");
        }
        directives += u64::from(result.get("directive").is_some());
    }
    let accepted = heartbeats.len() as u64 - rejected;
    assert_eq!((answer["accepted"].as_u64(), answer["rejected"].as_u64()), (Some(accepted), Some(rejected)));
    let after = FleetState::of(engine, NOW_MS);
    assert!(after.audit_len - before.audit_len <= directives, "audit records without a directive");
    let named: HashSet<&str> = heartbeats.iter().map(|hb| hb.node.as_str()).collect();
    for (old, new) in before.nodes.iter().zip(&after.nodes) {
        if !named.contains(old.id.as_str()) {
            assert_eq!(old, new, "node {} changed without a heartbeat", old.id);
        }
    }
    assert_counters_exact(engine, NOW_MS);
}

fn body(value: Value) -> Vec<u8> {
    serde_json::to_vec(&value).expect("JSON")
}

fn batch(heartbeats: Value) -> Vec<u8> {
    body(json!({ "heartbeats": heartbeats }))
}

/// The seeds: batches reaching every per-heartbeat outcome, and bodies
/// broken in one way each.
pub fn seeds() -> Vec<Seed> {
    let engine = fleet();
    let desired = |cluster: &str| engine.desired(cluster).expect("a demo cluster").expect("published");
    let (prod, stage) = (desired("eks-prod-us"), desired("gke-stage-eu"));
    let in_sync = |node: &str, at_ms: u64| {
        json!({
            "node": node, "atMs": at_ms, "appliedSnapshot": prod.id, "appliedHash": prod.hash,
            "runtimeVersion": "3.6.1", "status": "ready",
            "metrics": {"cpu": 12.5, "memory": 40.0, "tps": 1200.0, "heap": 55.0, "hotSwapErrors": 0}
        })
    };
    let minimal = |node: &str| json!({"node": node, "runtimeVersion": "3.6.1"});
    let with = |key: &str, value: Value| {
        let mut hb = in_sync("gw-prod-us-1", NOW_MS);
        hb[key] = value;
        batch(json!([hb]))
    };
    vec![
        Seed::new("one-in-sync", batch(json!([in_sync("gw-prod-us-1", NOW_MS)]))),
        Seed::new(
            "prod-in-sync",
            batch(json!((1..=4).map(|i| in_sync(&format!("gw-prod-us-{i}"), NOW_MS)).collect::<Vec<_>>())),
        ),
        Seed::new("minimal", batch(json!([minimal("gw-dev-west-1")]))),
        Seed::new("no-heartbeats", batch(json!([]))),
        Seed::new(
            "reconcile",
            batch(json!([{"node": "gw-stage-eu-1", "appliedSnapshot": "gke-stage-eu@r1",
                "appliedHash": engine.snapshot("gke-stage-eu@r1").expect("r1").hash, "runtimeVersion": "3.6.1"}])),
        ),
        Seed::new(
            "sync-error",
            batch(json!([{"node": "gw-stage-eu-4", "appliedSnapshot": stage.id, "appliedHash": stage.hash,
                "runtimeVersion": "3.6.1", "status": "error",
                "syncError": "RELOAD_FAILURE: Incompatible Filter Signature"}])),
        ),
        Seed::new("unknown-code-long-detail", with("syncError", json!(format!("NEW_CODE: {}", "é".repeat(60))))),
        Seed::new("sync-error-no-code", with("syncError", json!("no colon here"))),
        Seed::new("stale", batch(json!([in_sync("gw-prod-us-2", NOW_MS - 7_200_000)]))),
        Seed::new("future", batch(json!([in_sync("gw-prod-us-3", NOW_MS + 300_001)]))),
        Seed::new("at-max", with("atMs", json!(u64::MAX))),
        Seed::new("at-negative", with("atMs", json!(-1))),
        Seed::new("at-fraction", with("atMs", json!(1.5))),
        Seed::new("unknown-node", batch(json!([minimal("gw-nowhere"), minimal("gw-prod-us-4")]))),
        Seed::new("invalid-node-id", batch(json!([minimal("gw prod/1")]))),
        Seed::new("other-cluster-snapshot", with("appliedSnapshot", json!("azure-dev-west@r2"))),
        Seed::new("unpublished-revision", with("appliedSnapshot", json!("eks-prod-us@r999"))),
        Seed::new("malformed-snapshot-id", with("appliedSnapshot", json!("eks-prod-us@@r"))),
        Seed::new("hash-not-hex", with("appliedHash", json!("zz"))),
        Seed::new("hash-short", with("appliedHash", json!("abcd"))),
        Seed::new("version-prerelease", with("runtimeVersion", json!("3.6.1-rc.1"))),
        Seed::new("version-old", with("runtimeVersion", json!("3.3.0"))),
        Seed::new("version-garbage", with("runtimeVersion", json!("3.x"))),
        Seed::new("status-unknown", with("status", json!("crashed"))),
        Seed::new("metric-over-100", with("metrics", json!({"cpu": 101.0}))),
        Seed::new("metric-negative", with("metrics", json!({"tps": -5}))),
        Seed::new("metric-huge", with("metrics", json!({"tps": 1e300}))),
        Seed::new("unknown-field", with("colour", json!("blue"))),
        Seed::new("missing-version", batch(json!([{"node": "gw-prod-us-1"}]))),
        Seed::new("body-unknown-field", body(json!({"heartbeats": [], "extra": 1}))),
        Seed::new("duplicate-key", br#"{"heartbeats":[],"heartbeats":[]}"#.to_vec()),
        Seed::new("top-level-array", body(json!([minimal("gw-prod-us-1")]))),
        Seed::new("null", b"null".to_vec()),
        Seed::new("empty", Vec::new()),
        Seed::new("not-utf8", b"{\"heartbeats\":[{\"node\":\"gw-\xff\"}]}".to_vec()),
        Seed::new("lone-surrogate", br#"{"heartbeats":[{"node":"\ud800","runtimeVersion":"3.6.1"}]}"#.to_vec()),
        Seed::new("nul-in-id", br#"{"heartbeats":[{"node":"gw\u0000","runtimeVersion":"3.6.1"}]}"#.to_vec()),
        Seed::new("deep-nesting", format!("{{\"heartbeats\":{}{}}}", "[".repeat(200), "]".repeat(200)).into_bytes()),
        Seed::new("trailing-comma", br#"{"heartbeats":[],}"#.to_vec()),
        Seed::new("byte-order-mark", [&b"\xef\xbb\xbf"[..], &batch(json!([]))].concat()),
    ]
}
