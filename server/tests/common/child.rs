//! The `fleet_server` binary as a child process on a data directory, for
//! the tests that kill it (SIGKILL) and start it again on the same directory.
//!
//! It runs the demo configuration without the simulated fleet
//! (`--no-simulation`), so every audit record and every transition in the
//! directory is the test's own.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;

use fleetgov::audit::{Checkpoint, CheckpointVerifier, InclusionProof, TreeHash};
use reqwest::Method;
use serde_json::Value;

/// The demo configuration's viewer token.
pub const VIEWER: &str = "demo-viewer-token";
/// The demo configuration's operator token.
pub const OPERATOR: &str = "demo-operator-token";
/// The demo configuration's admin token.
pub const ADMIN: &str = "demo-admin-token";

/// A running `fleet_server` process, killed (SIGKILL) when dropped.
pub struct FleetServer {
    process: std::process::Child,
    /// Its API.
    pub api: Api,
    /// What it printed before it served.
    pub banner: Vec<String>,
}

/// The HTTP API of a child server: cheap to clone, usable from other tasks
/// while the process is killed.
#[derive(Clone)]
pub struct Api {
    /// `http://` and the address.
    pub base: String,
    /// A client of its own, so that no connection outlives the process.
    pub client: reqwest::Client,
}

/// The command that starts the server on `data_dir`: loopback, an
/// ephemeral port, no simulation.
pub fn command(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fleet_server"));
    command.args(["--listen", "127.0.0.1:0", "--no-simulation", "--data-dir"]).arg(data_dir);
    command
}

impl FleetServer {
    /// Starts the server on `data_dir` ([`command`]) and waits until it has
    /// printed its whole banner.
    pub async fn start(data_dir: &Path) -> FleetServer {
        FleetServer::start_with(data_dir, &[]).await
    }

    /// [`FleetServer::start`] with more command-line arguments.
    pub async fn start_with(data_dir: &Path, args: &[&str]) -> FleetServer {
        let mut process = command(data_dir).args(args).stdout(Stdio::piped()).spawn().unwrap();
        let stdout = process.stdout.take().unwrap();
        let (lines, printed) = mpsc::channel();
        // Reads every line, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = Vec::new();
        // The banner's last line says it serves; the lines before it (the
        // address, the data directory) are all printed by then.
        let base = fleetgov_testkit::eventually("the server to print its banner", || {
            banner.extend(printed.try_iter());
            let exited = process.try_wait().unwrap();
            let done = banner.iter().any(|l| l.starts_with("Ctrl-C or SIGTERM stops it"));
            let base = banner.iter().find_map(|l| l.strip_prefix("fleetgov fleet server on ")).map(str::to_owned);
            let base = base.filter(|_| done);
            let seen = format!("{banner:?}");
            async move {
                assert!(exited.is_none(), "the server stopped ({exited:?}) after printing {seen}");
                base.ok_or(seen)
            }
        })
        .await;
        FleetServer { process, api: Api { base, client: reqwest::Client::new() }, banner }
    }

    /// Whether the banner says the directory was restored (not new).
    pub fn restored(&self) -> bool {
        self.banner.iter().any(|l| l.ends_with("(restored)"))
    }

    /// Kills the process with SIGKILL (no clean shutdown, no last
    /// checkpoint) and waits until it is gone.
    pub fn kill(mut self) {
        self.process.kill().unwrap();
        self.process.wait().unwrap();
    }
}

impl Drop for FleetServer {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Api {
    /// A request with a token and an optional JSON body: status and JSON
    /// answer, or the transport's error (the process is gone).
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let request = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}"))))
    }

    /// [`Api::try_call`] on a server that runs.
    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        self.try_call(method, path, token, body.as_ref()).await.unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// GET as the viewer; the answer must be 200.
    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, VIEWER, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    /// POST with `token`; the answer must be 200 or 201.
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let (status, body) = self.call(Method::POST, path, token, Some(body)).await;
        assert!(status == 200 || status == 201, "{path}: {status} {body}");
        body
    }

    /// The body of a GET as bytes (an artifact, a tile); the answer must be 200.
    pub async fn bytes(&self, path: &str) -> Vec<u8> {
        let response = self.client.get(format!("{}{path}", self.base)).bearer_auth(VIEWER).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        response.bytes().await.unwrap().to_vec()
    }

    /// The audit record `seq`'s proof, checked against a checkpoint signed
    /// by `verifier`; returns the record's entry (base64).
    pub async fn proven(&self, seq: u64, verifier: &CheckpointVerifier) -> String {
        let proof = self.get(&format!("/api/v1/audit/{seq}/proof")).await;
        let checkpoint = Checkpoint::open(proof["checkpoint"].as_str().unwrap(), verifier).unwrap();
        let inclusion = InclusionProof::from(
            serde_json::from_value::<fleetgov_dto::InclusionProofJson>(proof["proof"].clone()).unwrap(),
        );
        let leaf: TreeHash = serde_json::from_value(proof["record"]["leafHash"].clone()).unwrap();
        inclusion.verify(&leaf, &checkpoint.head()).unwrap();
        proof["entry"].as_str().unwrap().to_owned()
    }
}
