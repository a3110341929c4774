//! Test harness: a real `nats-server -js` per test on a free loopback port,
//! with a temporary store directory, killed when dropped.
//!
//! Without the binary the tests print a loud `SKIPPED` line and pass, except
//! under `CI`, where a missing server fails them.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::future::Future;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleetgov::EngineConfig;
use fleetgov_nats::{Artifacts, InstanceConfig, Replica, StreamOptions, demo};

/// How long a test waits for a condition before failing.
pub const DEADLINE: Duration = Duration::from_secs(40);
/// When the authority was published in every test engine.
pub const T0: u64 = 1_700_000_000_000;

/// A running nats-server.
pub struct NatsServer {
    child: Child,
    /// `nats://127.0.0.1:<port>`.
    pub url: String,
    _store: tempfile::TempDir,
}

impl NatsServer {
    /// Starts a server and waits until JetStream answers; `None` (after a
    /// loud message) when nats-server is not installed outside CI.
    pub async fn start() -> Option<NatsServer> {
        let store = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let spawned = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if std::env::var_os("CI").is_some() {
                    panic!("nats-server is not installed, and CI is set: install it (apt-get install nats-server)");
                }
                eprintln!("\n*** SKIPPED: nats-server not installed (apt-get install nats-server) ***\n");
                return None;
            }
            Err(e) => panic!("cannot start nats-server: {e}"),
        };
        let server = NatsServer { child, url: format!("nats://127.0.0.1:{port}"), _store: store };
        let ready = wait_until(Duration::from_secs(20), || async {
            let Ok(client) = async_nats::connect(&server.url).await else { return false };
            Artifacts::open(&async_nats::jetstream::new(client)).await.is_ok()
        })
        .await;
        assert!(ready, "nats-server on port {port} did not come up");
        Some(server)
    }

    /// A new connection.
    pub async fn connect(&self) -> async_nats::Client {
        async_nats::connect(&self.url).await.expect("connect to nats-server")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `condition` until it holds or `deadline` passes; whether it held.
pub async fn wait_until<F, Fut>(deadline: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = Instant::now() + deadline;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An instance config with test timings: 2 s leases, ticks every 300 ms.
pub fn config(id: &str) -> InstanceConfig {
    InstanceConfig { lease_ttl: Duration::from_secs(2), tick: Duration::from_millis(300), ..InstanceConfig::new(id) }
}

/// A new instance's engine, built from the fleet's streams; the first one
/// made against a server publishes the authority there: the first
/// `clusters` demo clusters, revisions 1 and 2.
pub async fn engine(nats: &async_nats::Client, clusters: usize) -> Replica {
    let replica = Replica::open(nats, EngineConfig::default(), &StreamOptions::default()).await.expect("replica");
    if replica.engine().cluster_ids().is_empty() {
        let artifacts = Artifacts::open(&async_nats::jetstream::new(nats.clone())).await.expect("artifact store");
        demo::authority(&replica.engine(), &artifacts, clusters, T0).await.expect("demo authority");
    }
    replica
}

/// Unix milliseconds now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Reads the merged fleet view until `settled` holds; fails the test with the
/// last view read when [`DEADLINE`] passes.
pub async fn view_until(
    js: &async_nats::jetstream::Context,
    what: &str,
    mut settled: impl FnMut(&fleetgov_nats::FleetView) -> bool,
) -> fleetgov_nats::FleetView {
    let end = Instant::now() + DEADLINE;
    loop {
        let view = fleetgov_nats::FleetView::load(js, now_ms(), Duration::from_secs(30)).await.expect("fleet view");
        if settled(&view) {
            return view;
        }
        assert!(Instant::now() < end, "{what}: never settled; last view {view:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
