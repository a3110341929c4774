//! The `fleet_server` command line: options, start-up banner, shutdown on Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use fleetgov::Engine;

use crate::config::{ServerConfig, TlsConfig};
use crate::simulation::Simulation;
use crate::state::AppState;

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
    let engine = Arc::new(Engine::new());
    let now = engine.clock().now_ms();
    fleetgov::demo::populate(&engine, now).map_err(|e| format!("demo fleet: {e}"))?;
    crate::demo::seed_policies(&engine).map_err(|e| format!("demo policies: {e}"))?;
    let state = AppState::new(engine.clone(), &config);
    let simulation = if config.simulation.enabled {
        let sim = Simulation::start(engine.clone(), &config.simulation, state.metrics.clone())
            .map_err(|e| format!("simulation: {e}"))?;
        Some(sim)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        banner(addr, &config, engine.cluster_ids().len(), simulation.as_ref().map(Simulation::nodes));
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        crate::serve_with(listener, state, &config, tls, shutdown).await.map_err(|e| e.to_string())
    })?;
    if let Some(sim) = simulation {
        sim.stop();
    }
    Ok(())
}

fn banner(addr: SocketAddr, config: &ServerConfig, clusters: usize, simulated: Option<usize>) {
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    println!("fleetgov fleet server on {scheme}://{addr}");
    println!("  Cluster Manager  {scheme}://{addr}/cluster");
    println!("  Observe          {scheme}://{addr}/dashboard/observe");
    println!("  API              {scheme}://{addr}/api/v1/openapi.json, metrics at /metrics");
    match simulated {
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
    println!("Ctrl-C stops it.");
}
