//! Load test of the binary heartbeat endpoint, run as a second process
//! against a fleet server on loopback. Bounded in time and in count; it stops
//! by itself.
//!
//! ```text
//! cargo run --release --example fleet_server -- --no-simulation --ephemeral --listen 127.0.0.1:18181 &
//! cargo run --release -p fleetgov-server --bin fleet_load -- --url http://127.0.0.1:18181
//! ```
//!
//! It creates a cluster `load-test` in the first workspace the token sees,
//! enrols `--nodes` nodes (keeping their handles), publishes a snapshot, then
//! posts batches of binary heartbeat records, all stamped with the same time
//! (every node reports the desired snapshot; 1 % of each batch flips between
//! in sync and a reload failure, so transitions are exercised too) from
//! `--connections` concurrent
//! connections until `--seconds` pass or `--max-heartbeats` are sent. The
//! last line printed is one JSON object with the figures.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use clap::Parser;
use fleetgov::record::{HeartbeatRecord, OUTCOME_SIZE, Outcome, OutcomeRecord, RECORD_SIZE};
use fleetgov::{ContentHash, Metrics, NodeHandle, ProcessStatus, SyncErrorCode};
use serde_json::{Value, json};
use zerocopy::IntoBytes;

#[derive(Debug, Parser)]
#[command(name = "fleet_load")]
struct Options {
    /// The server's base URL; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An admin token of every workspace.
    #[arg(long, default_value = "demo-admin-token")]
    token: String,
    /// Nodes to enrol in the load-test cluster.
    #[arg(long, default_value_t = 200_000)]
    nodes: usize,
    /// Heartbeat records per request.
    #[arg(long, default_value_t = 32_768)]
    batch: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Stop after this many heartbeats.
    #[arg(long, default_value_t = 50_000_000)]
    max_heartbeats: u64,
}

fn main() -> std::process::ExitCode {
    let options = Options::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fleet_load: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet_load: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

struct Api {
    client: reqwest::Client,
    url: String,
    token: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self.client.request(method, format!("{}{path}", self.url)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = response.status();
        let value: Value = response.json().await.map_err(|e| format!("{path}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{path}: {status} {value}"));
        }
        Ok(value)
    }
}

fn loopback(url: &str) -> bool {
    let host = url.trim_start_matches("http://").split(['/', ':']).next().unwrap_or("");
    host == "localhost" || host.starts_with("127.") || url.trim_start_matches("http://").starts_with("[::1]")
}

async fn run(o: Options) -> Result<(), String> {
    if !loopback(&o.url) {
        return Err(format!("{} is not a loopback address; this load test only targets this machine", o.url));
    }
    if o.batch == 0 || o.connections == 0 || o.nodes == 0 {
        return Err("--nodes, --batch and --connections must be positive".into());
    }
    let api =
        Api { client: reqwest::Client::new(), url: o.url.trim_end_matches('/').to_owned(), token: o.token.clone() };
    let workspaces = api.call(reqwest::Method::GET, "/api/v1/workspaces", None).await?;
    let workspace = workspaces["workspaces"][0]["id"].as_str().ok_or("the token sees no workspace")?.to_owned();
    let cluster = "load-test";
    api.call(
        reqwest::Method::PUT,
        &format!("/api/v1/clusters/{cluster}"),
        Some(json!({ "workspace": workspace, "environment": "development", "ownerTeam": "load" })),
    )
    .await?;
    let mut handles = Vec::with_capacity(o.nodes);
    for start in (0..o.nodes).step_by(50_000) {
        let ids: Vec<String> = (start..(start + 50_000).min(o.nodes)).map(|i| format!("load-{i}")).collect();
        let enrolled = api
            .call(reqwest::Method::POST, &format!("/api/v1/clusters/{cluster}/nodes"), Some(json!({ "nodes": ids })))
            .await?;
        let raw = enrolled["handles"].as_array().ok_or("enrolment returned no handles")?;
        handles.extend(raw.iter().filter_map(Value::as_u64).map(NodeHandle::from_raw));
    }
    let snapshot = api
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/clusters/{cluster}/snapshots"),
            Some(json!({ "content": format!("# load test\nrate_limit: {}\n", o.nodes) })),
        )
        .await?;
    let revision = snapshot["revision"].as_u64().ok_or("publish returned no revision")? as u32;
    let hash: ContentHash =
        snapshot["hash"].as_str().ok_or("publish returned no hash")?.parse().map_err(|e| format!("{e}"))?;

    // Pre-built request bodies: every node once per round, 1 % flipping state each round.
    let version = "3.6.1".parse().map_err(|e| format!("{e}"))?;
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|e| e.to_string())?.as_millis()
        as u64;
    let metrics = Metrics { cpu: 35.0, memory: 50.0, tps: 900.0, heap: 60.0, hot_swap_errors: 0 };
    let bodies: Vec<Vec<Bytes>> = (0..2)
        .map(|round| {
            handles
                .chunks(o.batch)
                .map(|chunk| {
                    let mut buf = Vec::with_capacity(chunk.len() * RECORD_SIZE);
                    for (i, h) in chunk.iter().enumerate() {
                        let base = HeartbeatRecord::new(*h, at, version, ProcessStatus::Ready, metrics);
                        let record = if i % 100 == 0 && round == 1 {
                            base.with_applied(revision.saturating_sub(1).max(1), hash)
                                .with_sync_error(SyncErrorCode::ReloadFailure, "Incompatible Filter Signature")
                        } else {
                            base.with_applied(revision, hash)
                        };
                        buf.extend_from_slice(record.as_bytes());
                    }
                    Bytes::from(buf)
                })
                .collect()
        })
        .collect();
    let bodies = Arc::new(bodies);

    let sent = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..o.connections {
        let (bodies, sent, accepted, refused, stop) =
            (bodies.clone(), sent.clone(), accepted.clone(), refused.clone(), stop.clone());
        let client = api.client.clone();
        let url = format!("{}/api/v1/heartbeats", api.url);
        let token = o.token.clone();
        let max = o.max_heartbeats;
        let step = o.connections;
        tasks.push(tokio::spawn(async move {
            let batches = bodies[0].len();
            let mut i = worker;
            // Relaxed: counters and the stop flag are plain tallies read after the tasks end.
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let round = (i / batches) % 2;
                let body = bodies[round][i % batches].clone();
                let n = (body.len() / RECORD_SIZE) as u64;
                if sent.fetch_add(n, Ordering::Relaxed) + n > max {
                    stop.store(true, Ordering::Relaxed);
                    break;
                }
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/octet-stream")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !response.status().is_success() {
                    let status = response.status();
                    return Err(format!("{status}: {}", response.text().await.unwrap_or_default()));
                }
                let mut outcomes = response.bytes().await.map_err(|e| e.to_string())?.to_vec();
                if outcomes.len() != n as usize * OUTCOME_SIZE {
                    return Err(format!("{} outcome bytes for {n} records", outcomes.len()));
                }
                let records = OutcomeRecord::from_bytes_mut(&mut outcomes).map_err(|e| e.to_string())?;
                let ok = records
                    .iter()
                    .filter(|r| {
                        matches!(r.outcome(), Some(Outcome::Accepted | Outcome::Reconcile | Outcome::ForceSync))
                    })
                    .count() as u64;
                accepted.fetch_add(ok, Ordering::Relaxed);
                refused.fetch_add(n - ok, Ordering::Relaxed);
                i += step;
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    // Relaxed: every task has ended.
    let (accepted, refused) = (accepted.load(Ordering::Relaxed), refused.load(Ordering::Relaxed));
    let rate = accepted as f64 / elapsed;
    println!(
        "{accepted} heartbeats accepted ({refused} refused) in {elapsed:.2} s over {} connections, batches of {}: {rate:.0} heartbeats/s",
        o.connections, o.batch
    );
    println!(
        "{}",
        json!({ "nodes": o.nodes, "batch": o.batch, "connections": o.connections, "accepted": accepted,
                "refused": refused, "seconds": elapsed, "heartbeats_per_second": rate.round() })
    );
    Ok(())
}
