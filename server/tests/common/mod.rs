//! A real server on an ephemeral loopback port, for the integration tests.

#![allow(dead_code)] // each test file uses its own part of the helpers

pub mod child;

use std::net::SocketAddr;
use std::sync::Arc;

use fleetgov::{ClusterSpec, Engine, Environment, Role, WorkspaceSpec};
use fleetgov_server::config::token_table;
use fleetgov_server::{AppState, ServerConfig};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

pub const VIEWER: &str = "test-viewer-token";
pub const OPERATOR: &str = "test-operator-token";
pub const ADMIN: &str = "test-admin-token";
/// A viewer of the `other-ws` workspace only.
pub const SCOPED: &str = "test-scoped-token";

/// The test configuration, with a token for each of [`VIEWER`] (a demo
/// token), [`OPERATOR`], [`ADMIN`] and [`SCOPED`]; [`start`] adds
/// `demo = true`, [`start_with`] what it is given.
pub fn config() -> String {
    let tokens = [
        token_table(VIEWER, "vera", Role::Viewer, &["*"]) + "demo = true\n",
        token_table(OPERATOR, "omar", Role::Operator, &["*"]),
        token_table(ADMIN, "ada", Role::Admin, &["*"]),
        token_table(SCOPED, "sam", Role::Operator, &["other-ws"]),
    ];
    format!("body_limit_bytes = 65536\nevent_poll_ms = 50\n[simulation]\nenabled = false\n{}", tokens.concat())
}

pub struct Server {
    /// `http://` or, with `[tls]`, `https://` and the address.
    pub base: String,
    pub addr: SocketAddr,
    pub engine: Arc<Engine>,
    pub client: reqwest::Client,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

/// Starts a server over the seeds' demo fleet plus a second workspace
/// `other-ws` (cluster `other-cluster`, node `other-1`), in demo mode.
pub async fn start() -> Server {
    start_configured("demo = true", "").await
}

/// Like [`start`], with `top` (top-level keys, e.g. `demo = true`) before
/// [`config`] and `tables` (e.g. a `[limits]` table) after it.
pub async fn start_configured(top: &str, tables: &str) -> Server {
    let config = ServerConfig::parse(&format!("{top}\n{}\n{tables}", config()), false).unwrap();
    let engine = Arc::new(Engine::new());
    let now = engine.clock().now_ms();
    fleetgov::demo::populate(&engine, now).unwrap();
    engine.upsert_workspace(WorkspaceSpec::new("other-ws")).unwrap();
    engine.upsert_cluster(ClusterSpec::new("other-cluster", "other-ws", Environment::Staging)).unwrap();
    engine.enroll("other-1", "other-cluster", now).unwrap();
    fleetgov_server::demo::seed_policies(&engine).unwrap();
    let state = AppState::new(engine.clone(), &config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("{}://{addr}", if config.tls.is_some() { "https" } else { "http" });
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        fleetgov_server::serve(listener, state, &config, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Server { base, addr, engine, client: reqwest::Client::new(), _shutdown: tx }
}

impl Server {
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let r = self.client.request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// GET with a token; returns status and JSON body.
    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        json(self.request(Method::GET, path, Some(token)).send().await.unwrap()).await
    }

    /// A JSON request with a token; returns status and JSON body.
    pub async fn send(&self, method: Method, path: &str, token: &str, body: Value) -> (u16, Value) {
        json(self.request(method, path, Some(token)).json(&body).send().await.unwrap()).await
    }
}

pub async fn json(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let text = r.text().await.unwrap();
    assert!(ct.starts_with("application/json"), "status {status}: content type {ct:?}, body {text}");
    (status, serde_json::from_str(&text).unwrap())
}

/// Asserts an error response: status and code.
pub fn assert_error(got: &(u16, Value), status: u16, code: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    assert!(got.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", got.1);
}
