//! `fleetgov-nats`: an ingest instance, a load generator, the merged fleet
//! view and a throughput bench, over the demo fleet (see `fleetgov_nats::demo`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use fleetgov::rollout::RolloutPlan;
use fleetgov::{By, ContentHash, Engine, EngineConfig, Override, Role};
use fleetgov_nats::load::{ClusterPlan, SimFleet};
use fleetgov_nats::partition::DEFAULT_PARTITIONS;
use fleetgov_nats::{
    Artifacts, FleetClient, FleetView, Instance, InstanceConfig, InstanceStatus, Replica, RetryPolicy, StreamOptions,
    demo, rollout,
};

#[derive(Parser)]
#[command(about = "fleetgov over NATS JetStream: ingest, load, view, bench")]
struct Cli {
    /// The NATS servers, separated by commas (any of a cluster's servers will
    /// do; the client fails over between them).
    #[arg(long, global = true, default_value = "nats://127.0.0.1:4222")]
    url: String,
    /// The NATS user to log in as, with the password in the environment
    /// variable FLEETGOV_NATS_PASSWORD (see gateways.conf); none by default.
    #[arg(long, global = true)]
    user: Option<String>,
    /// Copies of every stream and bucket created: 1 on one server, 3 on a production cluster.
    #[arg(long, global = true, default_value_t = 1)]
    replicas: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Publishes the demo fleet's authority (workspace, clusters, two revisions each) to the
    /// fleet's streams, unless they hold one already.
    Authority {
        /// Demo clusters to create.
        #[arg(long, default_value_t = 8)]
        clusters: usize,
    },
    /// Publishes FILE as the next snapshot of CLUSTER (the artifact stored first); with
    /// --waves, rolled out in waves: each converged wave bakes, then the next starts; failures
    /// beyond the budget halt it. The cluster's owner advances it.
    Publish {
        /// The cluster.
        cluster: String,
        /// The configuration to publish.
        file: std::path::PathBuf,
        /// Who publishes (recorded in the audit log).
        #[arg(long)]
        actor: String,
        /// Their role: operator or admin.
        #[arg(long, default_value = "operator")]
        role: String,
        /// The waves: increasing percentages of the cluster's nodes ending at 100, e.g. 1,10,100.
        #[arg(long, value_delimiter = ',')]
        waves: Option<Vec<u8>>,
        /// How long a converged wave holds before the next starts (ms).
        #[arg(long, default_value_t = 0, requires = "waves")]
        bake_ms: u64,
        /// Failures allowed among the nodes of started waves, in percent.
        #[arg(long, default_value_t = 0.0, requires = "waves")]
        max_failure_pct: f64,
        /// A halt returns the cluster to the previous snapshot.
        #[arg(long, requires = "waves")]
        auto_rollback: bool,
    },
    /// Prints the rollout of CLUSTER as JSON, after an operator action if one is given
    /// (pause, resume, abort, promote: each needs --actor and --reason, and is audited).
    Rollout {
        /// The cluster.
        cluster: String,
        /// pause, resume, abort or promote.
        action: Option<fleetgov_nats::rollout::Action>,
        /// Who acts (recorded in the audit log).
        #[arg(long, required_if_eq_any = [("action", "pause"), ("action", "resume"), ("action", "abort"), ("action", "promote")])]
        actor: Option<String>,
        /// Their role: operator or admin.
        #[arg(long, default_value = "operator")]
        role: String,
        /// The justification (not blank).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Runs one ingest instance until Ctrl-C or SIGTERM (then releases its leases); its
    /// engine's authority comes from the fleet's streams.
    Ingest {
        /// The instance id, unique among live instances.
        #[arg(long)]
        id: String,
        /// Partitions the clusters are placed in (every instance must agree; the fleet's journal streams record the count and refuse another).
        #[arg(long, default_value_t = DEFAULT_PARTITIONS.get())]
        partitions: u32,
        /// Lease TTL in milliseconds.
        #[arg(long, default_value_t = 10_000)]
        lease_ttl_ms: u64,
        /// Every served cluster's summary is put again this often (ms), changed or not;
        /// changes are put as they happen. Keep readers' staleness bound above this plus the TTL.
        #[arg(long, default_value_t = 10_000)]
        summary_refresh_ms: u64,
        /// Each served partition's new transitions are appended to FLEET_JOURNAL this often (ms):
        /// what a killed instance can lose of a partition's history.
        #[arg(long, default_value_t = 1_000)]
        journal_interval_ms: u64,
        /// Each served partition's node checkpoint is written to FLEET_NODES this often (ms).
        #[arg(long, default_value_t = 30_000)]
        checkpoint_interval_ms: u64,
        /// Prints every change of the instance's leases (claim, renewal, end) on standard
        /// output, one line per lease: `lease <held|ended> p<k> token <t> since_us <unix µs>
        /// until_us <unix µs>`, until being the deadline (or the end): the lease history a
        /// checker reads.
        #[arg(long)]
        lease_log: bool,
    },
    /// Simulates a fleet: enrolls the nodes, then every node heartbeats once per round.
    Load {
        /// Nodes in all.
        #[arg(long, default_value_t = 10_000)]
        nodes: usize,
        /// Demo clusters to spread them over.
        #[arg(long, default_value_t = 8)]
        clusters: usize,
        /// Heartbeats per second (rounds are paced to it).
        #[arg(long, default_value_t = 5_000)]
        rate: u64,
        /// Records per batch.
        #[arg(long, default_value_t = 500)]
        batch: usize,
        /// Batches in flight.
        #[arg(long, default_value_t = 16)]
        in_flight: usize,
        /// Stop after this many rounds (default: until Ctrl-C).
        #[arg(long)]
        rounds: Option<u64>,
    },
    /// Prints the merged fleet view.
    View {
        /// Summaries older than this many milliseconds are flagged stale.
        #[arg(long, default_value_t = 30_000)]
        stale_after_ms: u64,
    },
    /// Measures the audit records per second appended to FLEET_AUDIT (made with `--replicas`
    /// copies) by `writers` in-process replicas (one writer thread each), into a cluster `bench`
    /// of its own (created beside any fleet already there): the bound on audited actions.
    AuditBench {
        /// Records in all.
        #[arg(long, default_value_t = 2_000)]
        records: usize,
        /// Replicas writing at once (each its own connection and engine).
        #[arg(long, default_value_t = 1)]
        writers: usize,
    },
    /// Measures the heartbeats per second one in-process instance ingests when fed through NATS
    /// (its engine holds the demo authority in memory: the heartbeat path alone is measured).
    Bench {
        /// Nodes in all.
        #[arg(long, default_value_t = 1_000_000)]
        nodes: usize,
        /// Demo clusters to spread them over.
        #[arg(long, default_value_t = 16)]
        clusters: usize,
        /// Records per batch.
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        /// Batches in flight.
        #[arg(long, default_value_t = 64)]
        in_flight: usize,
        /// Timed rounds (every node once per round).
        #[arg(long, default_value_t = 3)]
        rounds: u64,
    },
}

type Outcome = Result<(), Box<dyn std::error::Error>>;

/// The environment variable holding the password of `--user`.
const PASSWORD_VAR: &str = "FLEETGOV_NATS_PASSWORD";

/// How to reach the server: its URLs, and the user and password, if any.
struct Server {
    urls: Vec<String>,
    login: Option<(String, String)>,
}

impl Server {
    fn new(cli: &Cli) -> Result<Server, String> {
        let login = match &cli.user {
            Some(user) => {
                let password = std::env::var(PASSWORD_VAR).map_err(|_| format!("--user needs {PASSWORD_VAR}"))?;
                Some((user.clone(), password))
            }
            None => None,
        };
        Ok(Server { urls: server_urls(&cli.url)?, login })
    }

    /// A new connection, logged in if a user was given.
    async fn connect(&self) -> Result<async_nats::Client, async_nats::ConnectError> {
        let options = match &self.login {
            Some((user, password)) => {
                async_nats::ConnectOptions::with_user_and_password(user.clone(), password.clone())
            }
            None => async_nats::ConnectOptions::new(),
        };
        options.connect(self.urls.as_slice()).await
    }
}

/// The servers of `--url`: comma-separated, blanks around each ignored.
fn server_urls(list: &str) -> Result<Vec<String>, String> {
    let urls: Vec<String> = list.split(',').map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned).collect();
    if urls.is_empty() { Err("--url names no server".to_owned()) } else { Ok(urls) }
}

#[tokio::main]
async fn main() -> Outcome {
    let cli = Cli::parse();
    let server = Server::new(&cli)?;
    let nats = server.connect().await?;
    match cli.command {
        Command::Authority { clusters } => authority(nats, clusters, cli.replicas).await,
        Command::Publish { cluster, file, actor, role, waves, bake_ms, max_failure_pct, auto_rollback } => {
            let plan = waves.map(|w| RolloutPlan::new(w, bake_ms, max_failure_pct, auto_rollback)).transpose()?;
            let by = By::new(&actor, Role::parse(&role)?, now_ms());
            publish(nats, &cluster, &std::fs::read(&file)?, &by, plan, cli.replicas).await
        }
        Command::Rollout { cluster, action, actor, role, reason } => {
            let action = match (action, &actor) {
                (Some(action), Some(actor)) => {
                    Some((action, Override::new(actor, Role::parse(&role)?, &reason, now_ms())))
                }
                _ => None,
            };
            rollout(nats, &cluster, action, cli.replicas).await
        }
        Command::Ingest {
            id,
            partitions,
            lease_ttl_ms,
            summary_refresh_ms,
            journal_interval_ms,
            checkpoint_interval_ms,
            lease_log,
        } => {
            let timings = Timings {
                lease_ttl: Duration::from_millis(lease_ttl_ms),
                summary_refresh: Duration::from_millis(summary_refresh_ms),
                journal_interval: Duration::from_millis(journal_interval_ms),
                checkpoint_interval: Duration::from_millis(checkpoint_interval_ms),
            };
            ingest(nats, id, partitions, timings, cli.replicas, lease_log).await
        }
        Command::Load { nodes, clusters, rate, batch, in_flight, rounds } => {
            load(nats, nodes, clusters, rate, batch, in_flight, rounds).await
        }
        Command::AuditBench { records, writers } => audit_bench(&server, records, writers, cli.replicas).await,
        Command::View { stale_after_ms } => view(nats, Duration::from_millis(stale_after_ms)).await,
        Command::Bench { nodes, clusters, batch, in_flight, rounds } => {
            bench(nats, nodes, clusters, batch, in_flight, rounds, cli.replicas).await
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A fresh in-memory engine holding the demo authority.
async fn demo_engine(
    nats: &async_nats::Client,
    clusters: usize,
    replicas: usize,
) -> Result<Arc<Engine>, fleetgov_nats::Error> {
    let engine = Arc::new(Engine::new());
    let artifacts = Artifacts::open(&async_nats::jetstream::new(nats.clone()), replicas).await?;
    demo::authority(&engine, &artifacts, clusters, now_ms()).await?;
    Ok(engine)
}

/// The fleet's streams with `replicas` copies.
fn streams(replicas: usize) -> StreamOptions {
    StreamOptions { replicas, ..StreamOptions::default() }
}

async fn authority(nats: async_nats::Client, clusters: usize, replicas: usize) -> Outcome {
    let replica = Replica::open(&nats, EngineConfig::default(), &streams(replicas)).await?;
    let engine = replica.engine();
    if engine.cluster_ids().is_empty() {
        let artifacts = Artifacts::open(&async_nats::jetstream::new(nats), replicas).await?;
        demo::authority(&engine, &artifacts, clusters, now_ms()).await?;
    }
    println!(
        "[authority] {} clusters, {} audit records in FLEET_AUDIT",
        engine.cluster_ids().len(),
        engine.audit_len()
    );
    Ok(())
}

/// Publishes `bytes` as the next snapshot of `cluster`, with `plan` if given.
async fn publish(
    nats: async_nats::Client,
    cluster: &str,
    bytes: &[u8],
    by: &By<'_>,
    plan: Option<RolloutPlan>,
    replicas: usize,
) -> Outcome {
    let replica = Replica::open(&nats, EngineConfig::default(), &streams(replicas)).await?;
    let artifacts = Artifacts::open(&async_nats::jetstream::new(nats), replicas).await?;
    let engine = replica.engine();
    let snapshot = match plan {
        Some(plan) => rollout::publish_with_rollout(&artifacts, &engine, cluster, bytes, by, plan).await?,
        None => artifacts.publish(&engine, cluster, bytes, by.actor, by.at_ms).await?,
    };
    println!("published {} (blake3 {})", snapshot.id, snapshot.hash);
    if let Some(view) = engine.rollout(cluster, by.at_ms)?.filter(|r| r.target_snapshot == snapshot.id) {
        println!("{}", serde_json::to_string_pretty(&view)?);
    }
    Ok(())
}

/// Prints the rollout of `cluster`, after `action` if given.
async fn rollout(
    nats: async_nats::Client,
    cluster: &str,
    action: Option<(rollout::Action, Override<'_>)>,
    replicas: usize,
) -> Outcome {
    let replica = Replica::open(&nats, EngineConfig::default(), &streams(replicas)).await?;
    let engine = replica.engine();
    let view = match action {
        Some((action, by)) => Some(rollout::act(&engine, cluster, action, &by).await?),
        None => engine.rollout(cluster, now_ms())?,
    };
    match view {
        Some(view) => println!("{}", serde_json::to_string_pretty(&view)?),
        None => return Err(format!("cluster '{cluster}' never had a rollout").into()),
    }
    Ok(())
}

/// The periods of an ingest instance.
struct Timings {
    lease_ttl: Duration,
    summary_refresh: Duration,
    journal_interval: Duration,
    checkpoint_interval: Duration,
}

/// Runs an ingest instance.
async fn ingest(
    nats: async_nats::Client,
    id: String,
    partitions: u32,
    timings: Timings,
    replicas: usize,
    lease_log: bool,
) -> Outcome {
    let replica = Replica::open(&nats, EngineConfig::default(), &streams(replicas)).await?;
    let Timings { lease_ttl, summary_refresh, journal_interval, checkpoint_interval } = timings;
    let config = InstanceConfig {
        partitions: partitions.try_into().map_err(|_| "--partitions must be at least 1")?,
        lease_ttl,
        tick: lease_ttl / 3,
        summary_refresh,
        journal_interval,
        checkpoint_interval,
        replicas,
        ..InstanceConfig::new(id.clone())
    };
    let instance = replica.serve(nats, config).await?;
    println!("[{id}] placement: {}", instance.placement().describe());
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut shown = None;
    let mut leases = instance.lease_log();
    let anchor = (std::time::Instant::now(), std::time::SystemTime::now());
    if lease_log {
        print_leases(&leases.borrow_and_update(), anchor);
    }
    loop {
        // Deadlines move with every renewal: show what the instance serves.
        let status = InstanceStatus { leases: Vec::new(), ..instance.status() };
        if shown.as_ref() != Some(&status) {
            println!(
                "[{id}] partitions {:?} (restored {:?}) clusters {:?}",
                status.partitions, status.restored, status.clusters
            );
            if let Some(e) = &status.last_error {
                println!("[{id}] last tick failed: {e}");
            }
            shown = Some(status);
        }
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
            Ok(()) = leases.changed(), if lease_log => print_leases(&leases.borrow_and_update(), anchor),
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
    println!("[{id}] shutting down: releasing leases");
    instance.shutdown().await;
    if lease_log {
        print_leases(&leases.borrow_and_update(), anchor);
    }
    Ok(())
}

/// Prints a lease log, one line per lease, its times in unix microseconds
/// (`anchor`: one moment on the monotonic clock and the wall clock).
fn print_leases(log: &fleetgov_nats::lease::LeaseLog, anchor: (std::time::Instant, std::time::SystemTime)) {
    let unix_us = |at: std::time::Instant| {
        let wall = if at >= anchor.0 { anchor.1 + (at - anchor.0) } else { anchor.1 - (anchor.0 - at) };
        wall.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros())
    };
    for (state, leases) in [("held", &log.held), ("ended", &log.ended)] {
        for l in leases {
            let (since, until) = (unix_us(l.since), unix_us(l.serve_until));
            println!("lease {state} p{} token {} since_us {since} until_us {until}", l.partition, l.token);
        }
    }
}

/// `nodes` spread evenly over the first `clusters` demo clusters, node `i` starting on `start(cluster, i)`.
fn plans(nodes: usize, clusters: usize, start: fn(&str, usize) -> Option<(u32, ContentHash)>) -> Vec<ClusterPlan> {
    let clusters = demo::clusters(clusters.max(1));
    let count = clusters.len();
    clusters
        .into_iter()
        .enumerate()
        .map(|(k, (cluster, ..))| ClusterPlan {
            workspace: demo::WORKSPACE.to_owned(),
            prefix: format!("gw-{cluster}"),
            cluster,
            nodes: nodes / count + usize::from(k < nodes % count),
            applied: start,
        })
        .collect()
}

fn all_current(cluster: &str, _: usize) -> Option<(u32, ContentHash)> {
    Some((demo::DESIRED_REVISION, demo::hash(cluster, demo::DESIRED_REVISION)))
}

async fn load(
    nats: async_nats::Client,
    nodes: usize,
    clusters: usize,
    rate: u64,
    batch: usize,
    in_flight: usize,
    rounds: Option<u64>,
) -> Outcome {
    let client = FleetClient::new(nats, RetryPolicy::default()).await?;
    let started = Instant::now();
    let mut fleet = SimFleet::enroll(client, &plans(nodes, clusters, demo::mostly_current), batch, in_flight).await?;
    println!("[load] enrolled {} nodes in {:.1?}", fleet.nodes(), started.elapsed());
    let period = Duration::from_secs_f64(fleet.nodes() as f64 / rate.max(1) as f64);
    let mut round = 0;
    while rounds.is_none_or(|r| round < r) {
        let began = Instant::now();
        let stats = tokio::select! {
            stats = fleet.round(now_ms(), in_flight) => stats?,
            _ = tokio::signal::ctrl_c() => break,
        };
        round += 1;
        println!(
            "[load] round {round}: {} heartbeats in {:.2?}, {} directives, {} artifacts fetched and verified, {} re-enrolled so far",
            stats.heartbeats,
            began.elapsed(),
            stats.directives,
            stats.artifacts,
            fleet.reenrolled()
        );
        tokio::select! {
            _ = tokio::time::sleep(period.saturating_sub(began.elapsed())) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    Ok(())
}

async fn view(nats: async_nats::Client, stale_after: Duration) -> Outcome {
    let js = async_nats::jetstream::new(nats);
    let view = FleetView::load(&js, now_ms(), stale_after).await?;
    println!(
        "{:<16} {:>4} {:<12} {:>9} {:>9} {:>8} {:<10} {:>7} {:>8}",
        "CLUSTER", "PART", "OWNER", "ENROLLED", "VERIFIED", "COHESION", "STATUS", "DESIRED", "AGE"
    );
    for s in view.clusters.values() {
        // A stale cluster's figures are its last word, never a status.
        let status = if s.restoring {
            "RESTORING"
        } else if s.stale {
            "STALE"
        } else {
            s.status.as_str()
        };
        println!(
            "{:<16} {:>4} {:<12} {:>9} {:>9} {:>8} {:<10} {:>7} {:>7.1}s",
            s.cluster,
            format!("p{}", s.partition),
            s.owner,
            s.enrolled,
            s.in_sync,
            percent(s.cohesion_bp),
            status,
            format!("r{}", s.desired_revision),
            view.now_ms.saturating_sub(s.at_ms) as f64 / 1000.0,
        );
    }
    // The assignment and the load it puts on each instance: the nodes
    // enrolled in each partition's clusters, by their summaries.
    let size =
        view.owners.keys().chain(view.clusters.values().map(|s| &s.partition)).max().map_or(0, |p| *p as usize + 1);
    let mut loads = vec![0u64; size];
    for s in view.clusters.values() {
        loads[s.partition as usize] = loads[s.partition as usize].saturating_add(s.enrolled);
    }
    let per = fleetgov_nats::balance::instance_loads(&loads, &view.owners);
    let mut assignment: std::collections::BTreeMap<&str, Vec<String>> = std::collections::BTreeMap::new();
    for (partition, owner) in &view.owners {
        let load = loads[*partition as usize];
        assignment.entry(owner).or_default().push(if load > 0 {
            format!("p{partition}={load}")
        } else {
            format!("p{partition}")
        });
    }
    for (owner, partitions) in assignment {
        let clusters = view.clusters.values().filter(|s| s.owner == owner && !s.stale).count();
        let nodes = per.get(owner).copied().unwrap_or(0);
        println!(
            "{owner}: {} partitions [{}], load {nodes} nodes, serving {clusters} clusters",
            partitions.len(),
            partitions.join(" ")
        );
    }
    println!(
        "balance: {} nodes between the most and the least loaded instance (largest partition {} nodes)",
        fleetgov_nats::balance::spread(&loads, &view.owners),
        loads.iter().max().copied().unwrap_or(0)
    );
    let t = &view.totals;
    println!(
        "fleet: {} clusters, {} / {} nodes verified, cohesion {} ({} healthy, {} syncing, {} divergent, {} stale)",
        t.clusters,
        t.in_sync,
        t.enrolled,
        percent(t.cohesion_bp),
        t.healthy,
        t.syncing,
        t.divergent,
        t.stale
    );
    Ok(())
}

/// Basis points as a percentage: `100%` when whole, else two decimals (`99.50%`).
fn percent(bp: u16) -> String {
    if bp >= 10_000 { "100%".to_owned() } else { format!("{}.{:02}%", bp / 100, bp % 100) }
}

async fn bench(
    nats: async_nats::Client,
    nodes: usize,
    clusters: usize,
    batch: usize,
    in_flight: usize,
    rounds: u64,
    replicas: usize,
) -> Outcome {
    let engine = demo_engine(&nats, clusters, replicas).await?;
    // The heartbeat path is measured: a checkpoint of every node (every 30 s
    // by default) falls into no timed round; the journal is written as usual.
    let config = InstanceConfig {
        max_in_flight: in_flight.max(1),
        replicas,
        checkpoint_interval: Duration::from_secs(3_600),
        ..InstanceConfig::new("bench")
    };
    let journal_interval = config.journal_interval;
    let instance = Instance::start(nats.clone(), config, engine).await?;
    if instance.owned_partitions().len() != DEFAULT_PARTITIONS.get() as usize {
        return Err("the bench needs a NATS server without other ingest instances".into());
    }
    let client = FleetClient::new(nats, RetryPolicy::default()).await?;
    let started = Instant::now();
    let mut fleet = SimFleet::enroll(client, &plans(nodes, clusters, all_current), batch, in_flight).await?;
    let enrolled = started.elapsed();
    println!(
        "enrolled {} nodes in {enrolled:.2?} ({:.0} nodes/s)",
        fleet.nodes(),
        fleet.nodes() as f64 / enrolled.as_secs_f64()
    );
    fleet.round(now_ms(), in_flight).await?; // warm-up: first heartbeat of every node
    // The warm-up's transitions (every node's first report) are journaled
    // before the timed rounds start, not during them.
    tokio::time::sleep(journal_interval * 3).await;
    println!("warmed up; timing {rounds} rounds");
    let started = Instant::now();
    let mut heartbeats = 0;
    for _ in 0..rounds {
        heartbeats += fleet.round(now_ms(), in_flight).await?.heartbeats;
    }
    let took = started.elapsed();
    println!(
        "{heartbeats} heartbeats in {took:.2?}: {:.0} heartbeats/s through NATS ({} nodes, batches of {batch}, {in_flight} in flight, one instance)",
        heartbeats as f64 / took.as_secs_f64(),
        fleet.nodes()
    );
    instance.shutdown().await;
    Ok(())
}

async fn audit_bench(server: &Server, records: usize, writers: usize, replicas: usize) -> Outcome {
    let writers = writers.max(1);
    let mut engines = Vec::new();
    for _ in 0..writers {
        let replica = Replica::open(&server.connect().await?, EngineConfig::default(), &streams(replicas)).await?;
        engines.push(replica);
    }
    // Its own cluster, created through the audited path, beside any fleet already there.
    let setup = engines[0].engine();
    tokio::task::spawn_blocking(move || -> fleetgov::Result<()> {
        if setup.workspace(demo::WORKSPACE).is_err() {
            setup.upsert_workspace(fleetgov::WorkspaceSpec::new(demo::WORKSPACE))?;
        }
        if !setup.cluster_ids().iter().any(|c| c == "bench") {
            let spec = fleetgov::ClusterSpec::new("bench", demo::WORKSPACE, fleetgov::Environment::Production);
            setup.upsert_cluster(spec)?;
        }
        Ok(())
    })
    .await??;
    let before = engines[0].engine().audit_len();
    let started = Instant::now();
    let tasks: Vec<_> = engines
        .iter()
        .map(|replica| {
            let engine = replica.engine();
            tokio::task::spawn_blocking(move || -> fleetgov::Result<()> {
                engine.catch_up()?;
                let by = fleetgov::Override::new("bench", fleetgov::Role::Operator, "audit append bench", now_ms());
                for _ in 0..records / writers {
                    engine.force_sync(fleetgov::ForceTarget::Cluster("bench"), &by)?;
                }
                Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let took = started.elapsed();
    let last = engines[0].engine();
    let head = tokio::task::spawn_blocking(move || last.catch_up().and_then(|_| last.verify_audit())).await??;
    let appended = head.size - before;
    println!(
        "{appended} audit records in {took:.2?}: {:.0} records/s into FLEET_AUDIT from {writers} replica(s); the chain verifies ({} records)",
        appended as f64 / took.as_secs_f64(),
        head.size
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_takes_a_comma_separated_server_list() {
        let urls = server_urls("nats://a:4222, nats://b:4222,nats://c:4222").unwrap();
        assert_eq!(urls, ["nats://a:4222", "nats://b:4222", "nats://c:4222"]);
        assert_eq!(server_urls("nats://127.0.0.1:4222").unwrap(), ["nats://127.0.0.1:4222"]);
        assert!(server_urls(" , ").is_err());
        use async_nats::ToServerAddrs;
        assert_eq!(urls.as_slice().to_server_addrs().unwrap().count(), 3, "each parses as a server address");
    }
}
