//! The `fleet_server` command line: options, start-up banner, shutdown on
//! Ctrl-C or SIGTERM (node state is checkpointed to the data directory on
//! the way out).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::config::{ServerConfig, TlsConfig};
use crate::demo::Seeded;
use crate::simulation::Simulation;
use crate::state::AppState;
use crate::storage::Storage;

/// fleetgov's fleet server: the HTTP API and the Cluster Manager over the
/// embedded engine, with the seeds' three demo clusters and a simulated fleet.
#[derive(Debug, Parser)]
#[command(name = "fleet_server", version)]
struct Options {
    /// Address to listen on (overrides the configuration file; loopback by default).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Allow a listen address other than loopback without TLS (tokens cross
    /// the network in clear text).
    #[arg(long)]
    insecure_listen: bool,
    /// Serve HTTPS with this certificate chain, a PEM file (with --tls-key;
    /// overrides the configuration file's [tls]).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert, a PEM file.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Configuration file (TOML, or JSON if it ends in .json); the demo configuration when absent.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Serve only the seeds' eleven demo nodes: no simulated fleet.
    #[arg(long)]
    no_simulation: bool,
    /// Simulated fleet size across the three demo clusters (overrides the configuration file).
    #[arg(long)]
    nodes: Option<usize>,
    /// Keep the audit log, the signing key, enrolments, history and node
    /// state in this directory (created when absent; overrides the
    /// configuration file's data_dir). Default: ./fleetgov-data.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Keep everything in memory: nothing survives a restart.
    #[arg(long, conflicts_with = "data_dir")]
    ephemeral: bool,
    /// How long the execution history is kept, such as 30d, 12h or 90m
    /// (overrides the configuration file's retention; default 30d): older
    /// times answer 410 HISTORY_UNAVAILABLE and the data directory's journal
    /// is compacted behind it.
    #[arg(long, value_name = "DURATION")]
    retention: Option<String>,
}

/// Runs the server from the command line until Ctrl-C.
pub fn main_entry() -> ExitCode {
    match run_with_args(std::env::args_os()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fleet_server: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the server with these command-line arguments (the program name
/// first) until Ctrl-C; `Err` with a message for people when it cannot start.
pub fn run_with_args<I, T>(args: I) -> Result<(), String>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    run(Options::try_parse_from(args).unwrap_or_else(|e| e.exit()))
}

fn run(options: Options) -> Result<(), String> {
    let mut config = match &options.config {
        Some(path) => ServerConfig::load(path)?,
        None => ServerConfig::demo(),
    };
    if let Some(listen) = options.listen {
        config.listen = listen;
    }
    if options.no_simulation {
        config.simulation.enabled = false;
    }
    if let Some(nodes) = options.nodes {
        config.simulation.nodes = nodes;
    }
    if let (Some(cert), Some(key)) = (options.tls_cert, options.tls_key) {
        config.tls = Some(TlsConfig { cert, key });
    }
    crate::config::check_listen(config.listen, options.insecure_listen, config.tls.is_some())?;
    let tls = config.tls.as_ref().map(crate::tls::acceptor).transpose()?;
    // Everything that can be refused is checked: only now is a data directory made.
    let retention_text = options.retention.clone().or(config.retention.clone()).unwrap_or_else(|| "30d".to_owned());
    let retention = crate::config::parse_retention(&retention_text)?;
    let storage = Storage::choose(options.ephemeral, options.data_dir, config.data_dir.clone());
    let engine = Arc::new(storage.open(retention)?);
    let seeded = crate::demo::seed(&engine, engine.clock().now_ms()).map_err(|e| format!("demo fleet: {e}"))?;
    crate::authority::apply(&engine, &config.workspaces, &config.policies)?;
    let state = AppState::new(engine.clone(), &config);
    let simulation = if config.simulation.enabled {
        let sim = Simulation::start(engine.clone(), &config.simulation, state.metrics.clone())
            .map_err(|e| format!("simulation: {e}"))?;
        Some(sim)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let served = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let started = Started {
            addr,
            storage: &storage,
            seeded,
            clusters: engine.cluster_ids().len(),
            simulated: simulation.as_ref().map(Simulation::nodes),
            retention: &retention_text,
        };
        banner(&started, &config);
        crate::serve_with(listener, state, &config, tls, stop_signal()).await.map_err(|e| e.to_string())
    });
    // Stop everything that holds the engine, so that dropping it writes
    // the journal's last transitions and a node-state checkpoint.
    drop(runtime);
    if let Some(sim) = simulation {
        sim.stop();
    }
    drop(engine);
    served
}

/// Completes on Ctrl-C (SIGINT) or, on Unix, SIGTERM: the ordinary ways to
/// stop a server, both ending in a clean shutdown.
async fn stop_signal() {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        return;
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// What the banner reports about a start.
struct Started<'a> {
    addr: SocketAddr,
    storage: &'a Storage,
    seeded: Seeded,
    clusters: usize,
    simulated: Option<usize>,
    /// The retention, as given.
    retention: &'a str,
}

fn banner(started: &Started<'_>, config: &ServerConfig) {
    let (addr, clusters) = (started.addr, started.clusters);
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    println!("fleetgov fleet server on {scheme}://{addr}");
    println!("  Cluster Manager  {scheme}://{addr}/cluster");
    println!("  Observe          {scheme}://{addr}/dashboard/observe");
    println!("  API              {scheme}://{addr}/api/v1/openapi.json, metrics at /metrics");
    match (started.storage, started.seeded) {
        (Storage::Ephemeral, _) => println!("  {}", started.storage.describe()),
        (Storage::Directory(_), Seeded::Created) => println!("  {} (new)", started.storage.describe()),
        (Storage::Directory(_), Seeded::Kept) => println!("  {} (restored)", started.storage.describe()),
    }
    println!("  history kept for {} (older times answer 410 HISTORY_UNAVAILABLE)", started.retention);
    match started.simulated {
        Some(n) => println!(
            "  {clusters} clusters, {n} nodes heartbeating every {} ms",
            config.simulation.heartbeat_interval_ms
        ),
        None => println!("  {clusters} clusters, the seeds' demo nodes only (no simulation)"),
    }
    for t in config.tokens.iter().filter(|t| t.demo && config.demo) {
        if let Some(token) = &t.token {
            println!("  demo token ({:<8}) {token}", t.role.as_str());
        }
    }
    println!("Ctrl-C or SIGTERM stops it.");
}
