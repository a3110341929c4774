//! Test harness: a real `nats-server -js` per test on a loopback port the
//! server picks itself (no race for a "free" port), with a temporary store
//! directory, killed when dropped; optionally with a configuration file
//! (users and their permissions), and a TCP proxy in front of it whose
//! connections a test can cut. Waits go through `fleetgov_testkit`.
//!
//! Without the binary the tests print a loud `SKIPPED` line and pass, except
//! under `CI`, where a missing server fails them.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod cluster;
pub mod owners;
pub mod process;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use async_nats::ConnectOptions;
use fleetgov::EngineConfig;
use fleetgov_nats::{Artifacts, Instance, InstanceConfig, Replica, StreamOptions, demo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The default number of partitions: what an instance alone owns.
pub const PARTITIONS: usize = fleetgov_nats::partition::DEFAULT_PARTITIONS.get() as usize;

/// When the authority was published in every test engine.
pub const T0: u64 = 1_700_000_000_000;

/// A running nats-server.
pub struct NatsServer {
    child: Child,
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
    /// The user and password [`connect`](Self::connect) logs in with, if the server has users.
    login: Option<(String, String)>,
    _store: tempfile::TempDir,
}

impl NatsServer {
    /// Starts a server and waits until JetStream answers; `None` (after a
    /// loud message) when nats-server is not installed outside CI.
    pub async fn start() -> Option<NatsServer> {
        NatsServer::launch(None, None).await
    }

    /// [`start`](Self::start) with the configuration file `config` (its
    /// users, permissions ...; the command line's `-js`, address, port and
    /// store directory still apply); [`connect`](Self::connect) logs in as
    /// `user` with `password`.
    pub async fn start_with_config(config: &Path, user: &str, password: &str) -> Option<NatsServer> {
        NatsServer::launch(Some(config), Some((user.to_owned(), password.to_owned()))).await
    }

    async fn launch(config: Option<&Path>, login: Option<(String, String)>) -> Option<NatsServer> {
        let store = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new("nats-server");
        if let Some(config) = config {
            command.arg("-c").arg(config);
        }
        // `-p -1`: the server binds a port of the OS's choosing and writes it
        // to `nats-server_<pid>.ports` in `--ports_file_dir`.
        let spawned = command
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-sd"])
            .arg(store.path())
            .arg("--ports_file_dir")
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return missing(),
            Err(e) => panic!("cannot start nats-server: {e}"),
        };
        let url = ports_file_url(store.path(), child.id()).await;
        let server = NatsServer { child, url, login, _store: store };
        fleetgov_testkit::until(&format!("JetStream at {}", server.url), || async {
            let Ok(client) = server.options().connect(&server.url).await else { return false };
            Artifacts::open(&async_nats::jetstream::new(client), 1).await.is_ok()
        })
        .await;
        Some(server)
    }

    /// A new connection (as the configured user, if any).
    pub async fn connect(&self) -> async_nats::Client {
        self.options().connect(&self.url).await.expect("connect to nats-server")
    }

    /// A new connection with `options`.
    pub async fn connect_with(&self, options: ConnectOptions) -> async_nats::Client {
        options.connect(&self.url).await.expect("connect to nats-server")
    }

    fn options(&self) -> ConnectOptions {
        match &self.login {
            Some((user, password)) => ConnectOptions::with_user_and_password(user.clone(), password.clone()),
            None => ConnectOptions::new(),
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy in front of a server: a client connected through it loses
/// its connection when the proxy is [cut](Self::cut), as in a network
/// partition, and reconnects once it is [healed](Self::heal).
pub struct Proxy {
    /// `nats://127.0.0.1:<port>` of the proxy.
    pub url: String,
    cut: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `server` on a loopback port of the OS's choosing.
    pub async fn start(server: &NatsServer) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let url = format!("nats://{}", listener.local_addr().expect("the proxy's address"));
        let upstream = server.url.trim_start_matches("nats://").to_owned();
        let (cut, is_cut) = watch::channel(false);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut is_cut = is_cut.clone();
                if *is_cut.borrow() {
                    continue; // refused: dropped at once
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&upstream).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = is_cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Proxy { url, cut, task }
    }

    /// A new connection through the proxy.
    pub async fn connect(&self) -> async_nats::Client {
        async_nats::connect(&self.url).await.expect("connect through the proxy")
    }

    /// Closes every connection through the proxy and refuses new ones.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Lets connections through again.
    pub fn heal(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether nats-server is installed; if not, says so loudly (and fails under `CI`).
pub fn installed() -> bool {
    match Command::new("nats-server").arg("--version").stdout(Stdio::null()).status() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing::<()>().is_some(),
        _ => true,
    }
}

/// `None` after a loud `SKIPPED`, or a failure under `CI`: nats-server is missing.
fn missing<T>() -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("nats-server is not installed, and CI is set: install it (apt-get install nats-server)");
    }
    eprintln!("\n*** SKIPPED: nats-server not installed (apt-get install nats-server) ***\n");
    None
}

/// The client URL of the server with process id `pid`, from the ports
/// file it writes into `dir` once it listens.
pub async fn ports_file_url(dir: &Path, pid: u32) -> String {
    let ports = dir.join(format!("nats-server_{pid}.ports"));
    fleetgov_testkit::eventually("nats-server's ports file", || {
        let ports = ports.clone();
        async move {
            let text = std::fs::read_to_string(&ports).map_err(|e| format!("{}: {e}", ports.display()))?;
            client_url(&text).ok_or(text)
        }
    })
    .await
}

/// The client URL in a ports file: `{"nats":["nats://127.0.0.1:PORT"],...}`.
fn client_url(ports_file: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(ports_file).ok()?;
    value["nats"].get(0)?.as_str().map(str::to_owned)
}

/// An instance config with test timings: 2 s leases, ticks every 300 ms,
/// every summary put again each second, the journal appended every 200 ms
/// and node checkpoints every second.
pub fn config(id: &str) -> InstanceConfig {
    InstanceConfig {
        lease_ttl: Duration::from_secs(2),
        tick: Duration::from_millis(300),
        summary_refresh: Duration::from_secs(1),
        journal_interval: Duration::from_millis(200),
        checkpoint_interval: Duration::from_secs(1),
        ..InstanceConfig::new(id)
    }
}

/// Waits until every partition of `partitions` has had a node checkpoint
/// written wholly after this call began (two after the last one seen;
/// each is written after the partition's journal segments): what its owner
/// held by then is in JetStream.
pub async fn checkpointed(js: &async_nats::jetstream::Context, partitions: &[u32]) {
    let stream = js.get_stream(fleetgov_nats::journal::NODES_STREAM).await.expect("the checkpoint stream");
    let last = |partition: u32| {
        let stream = stream.clone();
        async move {
            let subject = fleetgov_nats::journal::checkpoints_subject(partition);
            stream.get_last_raw_message_by_subject(&subject).await.map_or(0, |m| m.sequence)
        }
    };
    for partition in partitions.iter().copied() {
        let mut seen = last(partition).await;
        for _ in 0..2 {
            seen = fleetgov_testkit::eventually(&format!("a newer checkpoint of p{partition}"), || async {
                let now = last(partition).await;
                if now > seen { Ok(now) } else { Err(format!("still {now}")) }
            })
            .await;
        }
    }
}

/// A new instance's engine, built from the fleet's streams; the first one
/// made against a server publishes the authority there: the first
/// `clusters` demo clusters, revisions 1 and 2.
pub async fn engine(nats: &async_nats::Client, clusters: usize) -> Replica {
    replicated_engine(nats, clusters, 1).await
}

/// One instance (`ingest-1`) serving the demo fleet of three clusters on
/// `server`, and a client on a connection of its own.
pub struct Serving {
    /// The instance's connection.
    pub nats: async_nats::Client,
    /// The replica the engine follows the fleet's audit stream with.
    pub replica: Replica,
    /// The instance's engine.
    pub engine: std::sync::Arc<fleetgov::Engine>,
    /// The instance.
    pub instance: Instance,
    /// A client of the fleet.
    pub client: fleetgov_nats::FleetClient,
}

/// Starts [`Serving`] on `server`.
pub async fn serving(server: &NatsServer) -> Serving {
    let nats = server.connect().await;
    let replica = engine(&nats, 3).await;
    let engine = replica.engine();
    let instance = Instance::start(nats.clone(), config("ingest-1"), engine.clone()).await.expect("instance");
    let retry = fleetgov_nats::RetryPolicy::default();
    let client = fleetgov_nats::FleetClient::new(server.connect().await, retry).await.expect("client");
    Serving { nats, replica, engine, instance, client }
}

/// [`engine`] with streams and buckets of `replicas` copies.
pub async fn replicated_engine(nats: &async_nats::Client, clusters: usize, replicas: usize) -> Replica {
    let options = StreamOptions { replicas, ..StreamOptions::default() };
    let replica = Replica::open(nats, EngineConfig::default(), &options).await.expect("replica");
    if replica.engine().cluster_ids().is_empty() {
        let js = async_nats::jetstream::new(nats.clone());
        let artifacts = Artifacts::open(&js, replicas).await.expect("artifact store");
        demo::authority(&replica.engine(), &artifacts, clusters, T0).await.expect("demo authority");
    }
    replica
}

/// Agents for the first `clusters` demo clusters, `nodes` each, most of
/// them on the desired revision ([`demo::mostly_current`]).
pub fn mostly_current(clusters: usize, nodes: usize) -> Vec<fleetgov_nats::load::ClusterPlan> {
    demo::clusters(clusters)
        .into_iter()
        .map(|(cluster, ..)| fleetgov_nats::load::ClusterPlan {
            workspace: demo::WORKSPACE.to_owned(),
            prefix: format!("gw-{cluster}"),
            cluster,
            nodes,
            applied: demo::mostly_current,
        })
        .collect()
}

/// A lease of `partition` under tenure `token` whose deadline is an hour
/// away: what a test writes a partition's journal under.
pub fn lease(partition: u32, token: u64) -> fleetgov_nats::lease::Lease {
    let now = std::time::Instant::now();
    fleetgov_nats::lease::Lease { partition, token, since: now, serve_until: now + Duration::from_secs(3_600) }
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Reads the merged fleet view until `settled` holds and returns it; fails
/// the test with the last view read when the test deadline passes.
pub async fn view_until(
    js: &async_nats::jetstream::Context,
    what: &str,
    settled: impl Fn(&fleetgov_nats::FleetView) -> bool,
) -> fleetgov_nats::FleetView {
    let settled = &settled;
    fleetgov_testkit::eventually(what, || {
        let view = fleetgov_nats::FleetView::load(js, now_ms(), Duration::from_secs(30));
        async move {
            let view = view.await.map_err(|e| format!("fleet view: {e}"))?;
            if settled(&view) { Ok(view) } else { Err(format!("{view:#?}")) }
        }
    })
    .await
}

/// Waits until `instances` share the partitions as the balance plan has
/// it ([`fleetgov_nats::balance`]): every one of the partitions
/// held by exactly one of them, each holding some, and the assignment the
/// plan's own fixed point by the loads the summaries show, so their nodes
/// are at most the largest partition's load apart. Returns the loads by
/// partition and the assignment.
pub async fn split_by_load(
    js: &async_nats::jetstream::Context,
    instances: &[&Instance],
) -> (Vec<u64>, BTreeMap<u32, String>) {
    split_by_load_of(js, instances, fleetgov_nats::partition::DEFAULT_PARTITIONS).await
}

/// [`split_by_load`] of instances that share `partitions` partitions.
pub async fn split_by_load_of(
    js: &async_nats::jetstream::Context,
    instances: &[&Instance],
    partitions: std::num::NonZeroU32,
) -> (Vec<u64>, BTreeMap<u32, String>) {
    use fleetgov_nats::balance::{partition_loads, plan, spread};
    fleetgov_testkit::eventually("a split by load", || async {
        let view = fleetgov_nats::FleetView::load(js, now_ms(), Duration::from_secs(30)).await;
        let view = view.map_err(|e| format!("fleet view: {e}"))?;
        let loads = partition_loads(view.clusters.values(), partitions);
        let mut assignment = BTreeMap::new();
        for instance in instances {
            for partition in instance.owned_partitions() {
                if let Some(other) = assignment.insert(partition, instance.id().to_owned()) {
                    return Err(format!("p{partition} held by {other} and {}", instance.id()));
                }
            }
        }
        let live: BTreeSet<String> = instances.iter().map(|i| i.id().to_owned()).collect();
        let every_one_holds = live.iter().all(|id| assignment.values().any(|o| o == id));
        let largest = loads.iter().copied().max().unwrap_or(0);
        let settled = assignment.len() == partitions.get() as usize
            && every_one_holds
            && plan(&loads, &live, &assignment) == assignment
            && spread(&loads, &assignment) <= largest;
        if settled { Ok((loads, assignment)) } else { Err(format!("{assignment:?} by loads {loads:?}")) }
    })
    .await
}
