//! A restart over HTTP: the `fleet_server` binary runs on a temporary data
//! directory, is killed with SIGKILL, and is started again on the same
//! directory. Nothing it acknowledged is lost: the snapshot it published,
//! the audit log (the same size, the same root, proofs that check with the
//! key from before), the signing key, the enrolment, and the node's last
//! report and history.
//!
//! The server runs without the simulated fleet (`--no-simulation`), so
//! every audit record and every transition in the directory is this test's
//! own and the log's size before and after can be compared exactly. The
//! heartbeat's transition is made durable before the kill with
//! `POST /api/v1/admin/sync`, which returns once the journal holds it: the
//! test waits on that answer, never on a timer. (Without it, a kill within
//! the journal's 200 ms group-commit interval may lose the transition, as
//! the README says a crash may.)

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use fleetgov::audit::{Checkpoint, CheckpointVerifier, InclusionProof, TreeHash};
use reqwest::Method;
use serde_json::{Value, json};

const VIEWER: &str = "demo-viewer-token";
const OPERATOR: &str = "demo-operator-token";
const ADMIN: &str = "demo-admin-token";
const NODE: &str = "gw-restart-1";

/// A running `fleet_server` process, killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    base: String,
    /// What it printed before it served.
    banner: Vec<String>,
    client: reqwest::Client,
}

impl Server {
    /// Starts the server on `data_dir` (loopback, an ephemeral port, no
    /// simulation) and waits until it has printed its address.
    async fn start(data_dir: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fleet_server"))
            .args(["--listen", "127.0.0.1:0", "--no-simulation", "--data-dir"])
            .arg(data_dir)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
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
        let base = fleetgov_testkit::eventually("the server to print its address", || {
            banner.extend(printed.try_iter());
            let exited = child.try_wait().unwrap();
            let base = banner.iter().find_map(|l| l.strip_prefix("fleetgov fleet server on ")).map(str::to_owned);
            let seen = format!("{banner:?}");
            async move {
                assert!(exited.is_none(), "the server stopped ({exited:?}) after printing {seen}");
                base.ok_or(seen)
            }
        })
        .await;
        Server { child, base, banner, client: reqwest::Client::new() }
    }

    /// Kills the process with SIGKILL (no clean shutdown, no last
    /// checkpoint) and waits until it is gone.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let request = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path}: not JSON: {text}")))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, VIEWER, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> Value {
        let (status, body) = self.call(Method::POST, path, token, Some(body)).await;
        assert!(status == 200 || status == 201, "{path}: {status} {body}");
        body
    }

    /// The audit record `seq`'s proof, checked against a checkpoint signed
    /// by `verifier`; returns the record's entry (base64).
    async fn proven(&self, seq: u64, verifier: &CheckpointVerifier) -> String {
        let proof = self.get(&format!("/api/v1/audit/{seq}/proof")).await;
        let checkpoint = Checkpoint::open(proof["checkpoint"].as_str().unwrap(), verifier).unwrap();
        let inclusion: InclusionProof = serde_json::from_value(proof["proof"].clone()).unwrap();
        let leaf: TreeHash = serde_json::from_value(proof["record"]["leafHash"].clone()).unwrap();
        inclusion.verify(&leaf, &checkpoint.head()).unwrap();
        proof["entry"].as_str().unwrap().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn heartbeat(snapshot: &Value) -> Value {
    let metrics = json!({ "cpu": 31.5, "memory": 40.0, "tps": 900.0, "heap": 55.0, "hotSwapErrors": 0 });
    json!({ "heartbeats": [{ "node": NODE, "runtimeVersion": "3.6.1", "appliedSnapshot": snapshot["id"],
        "appliedHash": snapshot["hash"], "metrics": metrics }] })
}

/// Each cluster's verified and enrolled nodes, cohesion and status.
async fn figures(server: &Server) -> Vec<Value> {
    let clusters = server.get("/api/v1/clusters").await;
    let keys = ["id", "inSync", "total", "cohesionBasisPoints", "status"];
    clusters["clusters"].as_array().unwrap().iter().map(|c| json!(keys.map(|k| &c[k]))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_restarts_with_everything_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fleetgov-data");
    let first = Server::start(&data).await;
    assert!(first.banner.iter().any(|l| l.contains("data directory") && l.ends_with("(new)")), "{:?}", first.banner);

    // Publish, force a sync (justified), enrol a node, and hear from it.
    let snapshot =
        first.post("/api/v1/clusters/eks-prod-us/snapshots", OPERATOR, json!({ "content": "routes: [api, v3]" })).await;
    assert_eq!(snapshot["id"], "eks-prod-us@r3");
    let forced =
        json!({ "target": { "cluster": "azure-dev-west" }, "reason": "Node re-provisioning after hardware failure" });
    let record = first.post("/api/v1/force-sync", OPERATOR, forced).await;
    let seq = record["seq"].as_u64().unwrap();
    first.post("/api/v1/clusters/eks-prod-us/nodes", OPERATOR, json!({ "nodes": [NODE] })).await;
    let answer = first.post("/api/v1/heartbeats", OPERATOR, heartbeat(&snapshot)).await;
    assert_eq!(answer["accepted"], 1, "{answer}");
    let before = first.get(&format!("/api/v1/nodes/{NODE}")).await;
    let reported_at = before["lastHeartbeatMs"].as_u64().unwrap();
    assert_eq!(before["configStatus"], "IN_SYNC", "{before}");

    // Its transition is on disk once the sync answers; the rest was before
    // each write was acknowledged.
    let synced = first.post("/api/v1/admin/sync", ADMIN, json!({})).await;
    assert_eq!(synced["durable"], true, "{synced}");
    assert!(synced["atMs"].as_u64().unwrap() >= reported_at);
    let head = first.get("/api/v1/checkpoint").await;
    let verifier: CheckpointVerifier = head["verifierKey"].as_str().unwrap().parse().unwrap();
    let entry = first.proven(seq, &verifier).await;
    let before_restart = figures(&first).await;
    let artifact = first.client.get(format!("{}/api/v1/artifacts/{}", first.base, snapshot["hash"].as_str().unwrap()));
    let bytes = artifact.bearer_auth(VIEWER).send().await.unwrap().bytes().await.unwrap();
    first.kill();

    let second = Server::start(&data).await;
    assert!(second.banner.iter().any(|l| l.ends_with("(restored)")), "{:?}", second.banner);

    // The snapshot is served, bytes and all.
    let served = second.get("/api/v1/snapshots/eks-prod-us@r3").await;
    assert_eq!(served["hash"], snapshot["hash"]);
    let artifact =
        second.client.get(format!("{}/api/v1/artifacts/{}", second.base, snapshot["hash"].as_str().unwrap()));
    assert_eq!(artifact.bearer_auth(VIEWER).send().await.unwrap().bytes().await.unwrap(), bytes);

    // The audit log is complete: the same size and root, signed with the
    // same key (the restart appended nothing, not even the demo fleet
    // again), and the override's proof checks with the key from before.
    let restored = second.get("/api/v1/checkpoint").await;
    assert_eq!(restored["verifierKey"], head["verifierKey"], "the signing key is kept");
    assert_eq!((&restored["size"], &restored["root"]), (&head["size"], &head["root"]));
    assert_eq!(second.get("/api/v1/audit?limit=1").await["size"], head["size"]);
    assert_eq!(second.proven(seq, &verifier).await, entry);
    let overrides = second.get("/api/v1/audit?action=force_sync_cluster").await;
    assert_eq!(overrides["records"][0]["seq"], seq);
    assert_eq!(overrides["records"][0]["justification"], "Node re-provisioning after hardware failure");

    // Every cluster reads as it did: the nodes' reports came back with them.
    assert_eq!(figures(&second).await, before_restart);

    // The node's last report is shown before it heartbeats again, and what
    // it ran before the restart is answered.
    let node = second.get(&format!("/api/v1/nodes/{NODE}")).await;
    assert_eq!(
        (&node["appliedSnapshotId"], &node["appliedHash"], &node["configStatus"], node["lastHeartbeatMs"].as_u64()),
        (&snapshot["id"], &snapshot["hash"], &json!("IN_SYNC"), Some(reported_at)),
        "{node}"
    );
    let ran = second.get(&format!("/api/v1/nodes/{NODE}/what-ran?at={reported_at}")).await;
    assert_eq!(
        (&ran["snapshot"], &ran["hash"], ran["sinceMs"].as_u64()),
        (&snapshot["id"], &snapshot["hash"], Some(reported_at))
    );
    let history = second.get(&format!("/api/v1/nodes/{NODE}/history")).await;
    assert_eq!(history["changes"].as_array().map(Vec::len), Some(1), "{history}");
    assert_eq!(history["changes"][0]["atMs"].as_u64(), Some(reported_at));
    let (status, _) =
        second.call(Method::GET, &format!("/api/v1/nodes/{NODE}/what-ran?at={}", reported_at - 1), VIEWER, None).await;
    assert_eq!(status, 404, "it had reported nothing before");

    // Its next heartbeat is accepted without enrolling again.
    let answer = second.post("/api/v1/heartbeats", OPERATOR, heartbeat(&snapshot)).await;
    assert_eq!((answer["accepted"].as_u64(), answer["rejected"].as_u64()), (Some(1), Some(0)), "{answer}");
    assert_eq!(second.get("/api/v1/clusters/eks-prod-us").await["total"], 5, "four seeds and the enrolled node");
    // Enrolling it again (how a binary client learns its handles after a
    // restart) enrols nothing new and records nothing.
    let again = second.post("/api/v1/clusters/eks-prod-us/nodes", OPERATOR, json!({ "nodes": [NODE] })).await;
    assert_eq!((again["total"].as_u64(), again["handles"].as_array().map(Vec::len)), (Some(5), Some(1)));
    assert_eq!(second.get("/api/v1/checkpoint").await["size"], head["size"]);
    second.kill();

    // While a server runs on the directory, a second one is refused, saying why.
    let third = Server::start(&data).await;
    let refused = Command::new(env!("CARGO_BIN_EXE_fleet_server"))
        .args(["--listen", "127.0.0.1:0", "--no-simulation", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("another fleet server"), "{said}");
    drop(third);
}
