//! A three-server JetStream cluster on loopback, for replicas 3: each
//! server with its own store directory and client port (of the OS's
//! choosing), routed to the other two; a test kills a server by name.
//!
//! JetStream in a cluster needs its routes configured at start, so the
//! three route ports are taken from the OS (bound, then freed) just before
//! the servers start.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use async_nats::jetstream;
use fleetgov_nats::Artifacts;

/// A running three-server cluster.
pub struct Cluster {
    servers: Vec<Server>,
    _store: tempfile::TempDir,
}

struct Server {
    name: String,
    url: String,
    child: Option<Child>,
}

impl Cluster {
    /// Starts three servers and waits until a stream of three replicas can
    /// be made; `None` (after a loud message) when nats-server is not
    /// installed outside CI.
    pub async fn start() -> Option<Cluster> {
        if !super::installed() {
            return None;
        }
        let store = tempfile::tempdir().expect("temp dir");
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let mut servers = Vec::new();
        for (i, port) in routes.iter().enumerate() {
            let name = format!("n{}", i + 1);
            let dir = store.path().join(&name);
            std::fs::create_dir_all(&dir).expect("server dir");
            let others: Vec<String> =
                routes.iter().filter(|p| *p != port).map(|p| format!("nats://127.0.0.1:{p}")).collect();
            let child = Command::new("nats-server")
                .args(["-js", "-a", "127.0.0.1", "-p", "-1", "--server_name", &name, "--cluster_name", "fleet"])
                .arg("--cluster")
                .arg(format!("nats://127.0.0.1:{port}"))
                .arg("--routes")
                .arg(others.join(","))
                .arg("-sd")
                .arg(&dir)
                .arg("--ports_file_dir")
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start nats-server");
            let url = super::ports_file_url(&dir, child.id()).await;
            servers.push(Server { name, url, child: Some(child) });
        }
        let cluster = Cluster { servers, _store: store };
        fleetgov_testkit::until("a JetStream cluster that makes R3 streams", || async {
            let Ok(client) = async_nats::connect(cluster.urls().as_slice()).await else { return false };
            Artifacts::open(&jetstream::new(client), 3).await.is_ok()
        })
        .await;
        Some(cluster)
    }

    /// Every server's client URL (killed ones too: a client skips them).
    pub fn urls(&self) -> Vec<String> {
        self.servers.iter().map(|s| s.url.clone()).collect()
    }

    /// A new connection to the cluster: to any server, failing over between them.
    pub async fn connect(&self) -> async_nats::Client {
        async_nats::connect(self.urls().as_slice()).await.expect("connect to the cluster")
    }

    /// The server that leads `stream`.
    pub async fn leader(&self, js: &jetstream::Context, stream: &str) -> String {
        fleetgov_testkit::eventually(&format!("the leader of {stream}"), || async {
            let mut stream = js.get_stream(stream).await.map_err(|e| e.to_string())?;
            let info = stream.info().await.map_err(|e| e.to_string())?;
            info.cluster.as_ref().and_then(|c| c.leader.clone()).ok_or_else(|| format!("{:?}", info.cluster))
        })
        .await
    }

    /// Kills server `name` (SIGKILL: nothing flushed, no goodbye).
    pub fn kill(&mut self, name: &str) {
        let server = self.servers.iter_mut().find(|s| s.name == name).expect("a server of that name");
        if let Some(mut child) = server.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let names: Vec<String> = self.servers.iter().map(|s| s.name.clone()).collect();
        for name in names {
            self.kill(&name);
        }
    }
}

/// A loopback port free right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}
