//! CPU time per JSON heartbeat through the fleet server's whole router (auth,
//! body limit, handler, engine, JSON answer), in memory: no socket, no
//! client. Request bodies are built before timing; the figure is process CPU
//! time (all threads), so it holds on a busy machine where wall time does not.
//!
//! ```text
//! cargo run --release -p fleetgov-server --example json_heartbeat_cpu -- --nodes 100000 --batch 1000 --rounds 1000
//! cargo run --release -p fleetgov-server --example json_heartbeat_cpu -- --scoped
//! ```
//!
//! The fleet: two workspaces of four clusters each, one snapshot per
//! cluster, `--nodes` nodes spread over the clusters. Each request carries
//! `--batch` heartbeats of nodes picked by a stride, each reporting its
//! cluster's snapshot by id and hash, stamped later round by round (so none
//! is stale). `--scoped` sends them with a token of both workspaces by name
//! rather than of every workspace, so each heartbeat also passes the scope
//! check. The last line printed is one JSON object with the figures.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, header};
use clap::Parser;
use fleetgov::{Clock, ClusterSpec, Engine, EngineConfig, Environment, Role, WorkspaceSpec};
use fleetgov_server::config::token_table;
use fleetgov_server::{AppState, ServerConfig};
use hyper::service::Service;
use hyper_util::service::TowerToHyperService;

/// The two operator tokens: of every workspace, and of both workspaces by name.
const EVERY_WORKSPACE: &str = "every-workspace-token";
const NAMED_WORKSPACES: &str = "named-workspaces-token";

/// The server's configuration: a body limit that takes the largest batch, and the two tokens.
fn config() -> String {
    let tokens = [
        token_table(EVERY_WORKSPACE, "omar", Role::Operator, &["*"]),
        token_table(NAMED_WORKSPACES, "sam", Role::Operator, &["ws-0", "ws-1"]),
    ];
    format!("body_limit_bytes = 67108864\n[simulation]\nenabled = false\n{}", tokens.concat())
}

const NOW_MS: u64 = 1_700_000_000_000;

#[derive(Debug, Parser)]
struct Options {
    /// Nodes enrolled.
    #[arg(long, default_value_t = 100_000)]
    nodes: usize,
    /// Heartbeats per request.
    #[arg(long, default_value_t = 1_000)]
    batch: usize,
    /// Requests sent.
    #[arg(long, default_value_t = 1_000)]
    rounds: usize,
    /// Send with the token of named workspaces.
    #[arg(long)]
    scoped: bool,
}

/// CPU time of this process so far (user and system, all threads), in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("a Linux /proc");
    // The fields after the command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat[stat.rfind(')').expect("a stat line") + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    ticks as f64 / 100.0
}

fn main() {
    let options = Options::parse();
    let clock = Clock::manual(NOW_MS);
    let engine = Arc::new(Engine::with_config(EngineConfig { clock, ..EngineConfig::default() }).expect("an engine"));
    let mut clusters = Vec::new();
    for w in 0..2 {
        engine.upsert_workspace(WorkspaceSpec::new(format!("ws-{w}"))).expect("a workspace");
        for c in 0..4 {
            let id = format!("c{w}{c}");
            engine.upsert_cluster(ClusterSpec::new(&id, format!("ws-{w}"), Environment::Staging)).expect("a cluster");
            let snapshot = engine.publish(&id, id.as_bytes(), "bench", NOW_MS - 1_000).expect("a snapshot");
            clusters.push((id, snapshot.hash.to_string()));
        }
    }
    let nodes: Vec<(String, usize)> = (0..options.nodes).map(|n| (format!("gw-{n}"), n % clusters.len())).collect();
    for (id, c) in &nodes {
        engine.enroll(id, &clusters[*c].0, NOW_MS - 1_000).expect("enrolled");
    }
    let config = ServerConfig::parse(&config(), false).expect("the configuration");
    let app = TowerToHyperService::new(fleetgov_server::app(AppState::new(engine, &config), &config));
    let token = if options.scoped { NAMED_WORKSPACES } else { EVERY_WORKSPACE };
    let bodies: Vec<String> = (0..options.rounds)
        .map(|r| {
            let heartbeats: Vec<String> = (0..options.batch)
                .map(|k| {
                    let (id, c) = &nodes[(r * options.batch + k) * 7_919 % options.nodes];
                    let (cluster, hash) = &clusters[*c];
                    format!(
                        r#"{{"node":"{id}","atMs":{},"runtimeVersion":"3.6.1","appliedSnapshot":"{cluster}@r1","appliedHash":"{hash}","metrics":{{"cpu":10,"memory":20,"tps":300,"heap":40,"hotSwapErrors":0}}}}"#,
                        NOW_MS - 500 + r as u64
                    )
                })
                .collect();
            format!(r#"{{"heartbeats":[{}]}}"#, heartbeats.join(","))
        })
        .collect();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    let (start, cpu) = (std::time::Instant::now(), cpu_seconds());
    let accepted = runtime.block_on(async {
        let mut accepted = 0;
        for body in bodies {
            let request = Request::post("/api/v1/heartbeats")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::from(body))
                .expect("a request");
            let response = app.call(request).await.expect("an answer");
            let status = response.status();
            let bytes = to_bytes(response.into_body(), usize::MAX).await.expect("a body");
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
            // Counted from the answer's head, without parsing the results.
            let head = std::str::from_utf8(&bytes[..bytes.len().min(64)]).unwrap_or_default();
            accepted += head
                .strip_prefix(r#"{"accepted":"#)
                .and_then(|rest| rest.split(',').next())
                .and_then(|n| n.parse::<u64>().ok())
                .expect("an accepted count");
        }
        accepted
    });
    let (wall, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu);
    let sent = (options.rounds * options.batch) as f64;
    assert_eq!(accepted as f64, sent, "every heartbeat accepted");
    println!(
        r#"{{"scoped":{},"nodes":{},"batch":{},"heartbeats":{sent},"cpu_s":{cpu:.2},"wall_s":{wall:.3},"hb_per_cpu_s":{:.0}}}"#,
        options.scoped,
        options.nodes,
        options.batch,
        sent / cpu
    );
}
