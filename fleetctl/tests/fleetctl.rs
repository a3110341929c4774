//! fleetctl end to end: a real fleet server on a loopback port, every
//! command run as a user would, and `audit verify` failing on a tampered tile.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use fleetgov::Engine;
use fleetgov_server::{AppState, ServerConfig};

const ADMIN: &str = "ctl-admin-token";
const VIEWER: &str = "ctl-viewer-token";
const CONFIG: &str = r#"
[simulation]
enabled = false
[[tokens]]
token = "ctl-admin-token"
actor = "ada"
role = "admin"
workspaces = ["*"]
[[tokens]]
token = "ctl-viewer-token"
actor = "vera"
role = "viewer"
workspaces = ["*"]
"#;

/// A server over the demo fleet, served from a runtime of its own for the
/// test's lifetime; returns its base URL and engine.
fn server() -> (String, Arc<Engine>) {
    let config = ServerConfig::parse(CONFIG, false).unwrap();
    let engine = Arc::new(Engine::new());
    fleetgov::demo::populate(&engine, engine.clock().now_ms()).unwrap();
    let state = AppState::new(engine.clone(), &config);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            fleetgov_server::serve(listener, state, &config, std::future::pending()).await.unwrap();
        });
    });
    (format!("http://{}", rx.recv().unwrap()), engine)
}

/// Runs fleetctl against `base` with `token`; its output or its error.
fn ctl(base: &str, token: &str, args: &[&str]) -> Result<String, fleetgov_ctl::CtlError> {
    let mut out = Vec::new();
    let mut all = vec!["fleetctl", "--server", base, "--token", token];
    all.extend_from_slice(args);
    fleetgov_ctl::run(all, &mut out).map(|()| String::from_utf8(out).unwrap())
}

#[test]
fn status_nodes_and_audit_read_the_fleet() {
    let (base, _) = server();
    let status = ctl(&base, VIEWER, &["status"]).unwrap();
    let lines: Vec<&str> = status.lines().collect();
    assert!(lines[0].starts_with("CLUSTER") && lines[0].ends_with("ROLLOUT") && lines.len() == 4, "{status}");
    let line = |c: &str| lines.iter().find(|l| l.starts_with(c)).copied().unwrap();
    assert!(line("eks-prod-us").contains("HEALTHY") && line("eks-prod-us").contains("100%"), "{status}");
    assert!(line("gke-stage-eu").contains("SYNCING") && line("gke-stage-eu").contains("75.00%"));
    assert!(
        line("azure-dev-west").contains("DIVERGENT")
            && line("azure-dev-west").contains("33.33%")
            && line("azure-dev-west").contains("1/3")
    );

    let json: serde_json::Value =
        serde_json::from_str(&ctl(&base, VIEWER, &["status", "-o", "json"]).unwrap()).unwrap();
    assert_eq!(json["clusters"].as_array().map(Vec::len), Some(3));

    let nodes = ctl(&base, VIEWER, &["nodes", "--cluster", "azure-dev-west", "--drift", "needs_reconcile"]).unwrap();
    assert_eq!(nodes.lines().count(), 3, "header and the two divergent nodes: {nodes}");
    assert!(nodes.contains("NATS_TIMEOUT") && nodes.contains("FETCH_TIMEOUT"), "{nodes}");

    let audit = ctl(&base, VIEWER, &["audit", "--limit", "2"]).unwrap();
    assert_eq!(audit.lines().count(), 3, "{audit}");
}

#[test]
fn publish_force_sync_and_history_act_on_the_fleet() {
    let (base, engine) = server();
    let file = std::env::temp_dir().join(format!("fleetctl-config-{}.yaml", std::process::id()));
    std::fs::write(&file, "routes: [api, web]\n").unwrap();
    let published = ctl(&base, ADMIN, &["publish", "eks-prod-us", file.to_str().unwrap()]).unwrap();
    assert!(published.starts_with("published eks-prod-us@r3"), "{published}");
    assert_eq!(engine.desired("eks-prod-us").unwrap().unwrap().id, "eks-prod-us@r3");

    let refused = ctl(&base, VIEWER, &["force-sync", "--cluster", "eks-prod-us", "--reason", "try"]).unwrap_err();
    assert_eq!((refused.exit_code(), refused.to_string().starts_with("PERMISSION_DENIED")), (1, true), "{refused}");
    let forced = ctl(&base, ADMIN, &["force-sync", "--cluster", "eks-prod-us", "--reason", "incident 4711"]).unwrap();
    assert!(forced.contains("force_sync_cluster"), "{forced}");
    let usage = ctl(&base, ADMIN, &["force-sync", "--reason", "no target"]).unwrap_err();
    assert_eq!(usage.exit_code(), 2);

    let ran = ctl(&base, VIEWER, &["what-ran", "gw-stage-eu-4"]).unwrap();
    assert!(ran.starts_with("gw-stage-eu-4 ran gke-stage-eu@r1 (hash ") && ran.contains(" since 20"), "{ran}");
    let history = ctl(&base, VIEWER, &["history", "gw-stage-eu-4", "-o", "json"]).unwrap();
    assert!(serde_json::from_str::<serde_json::Value>(&history).is_ok(), "{history}");
    let bad = ctl(&base, VIEWER, &["what-ran", "gw-stage-eu-4", "--at", "yesterday-ish"]).unwrap_err();
    assert_eq!(bad.exit_code(), 2);
    std::fs::remove_file(file).unwrap();
}

#[test]
fn publish_in_waves_then_show_pause_resume_promote_and_abort_the_rollout() {
    let (base, engine) = server();
    let file = std::env::temp_dir().join(format!("fleetctl-rollout-{}.yaml", std::process::id()));
    std::fs::write(&file, "routes: [api, web, admin]\n").unwrap();
    let path = file.to_str().unwrap();
    let publish = |extra: &[&str]| {
        let mut args = vec!["publish", "eks-prod-us", path];
        args.extend_from_slice(extra);
        ctl(&base, ADMIN, &args)
    };
    let usage = publish(&["--bake", "60s"]).unwrap_err();
    assert_eq!(usage.exit_code(), 2, "a plan's flags need --waves: {usage}");
    assert_eq!(publish(&["--waves", "10,100", "--bake", "a minute"]).unwrap_err().exit_code(), 2);
    let refused = publish(&["--waves", "10,50"]).unwrap_err();
    assert_eq!((refused.exit_code(), refused.to_string().starts_with("INVALID_INPUT")), (1, true), "{refused}");
    assert_eq!(engine.desired("eks-prod-us").unwrap().unwrap().id, "eks-prod-us@r2", "a refused plan changed nothing");
    assert!(ctl(&base, VIEWER, &["rollout", "show", "eks-prod-us"]).unwrap_err().to_string().starts_with("NOT_FOUND"));

    let published =
        publish(&["--waves", "10,50,100", "--bake", "1h", "--max-failure", "5", "--auto-rollback"]).unwrap();
    assert!(published.starts_with("published eks-prod-us@r3 ("), "{published}");
    assert!(published.ends_with("rolling out in waves 10%, 50%, 100%\n"), "{published}");
    let now = engine.clock().now_ms();
    let view = engine.rollout("eks-prod-us", now).unwrap().unwrap();
    assert_eq!(
        (view.waves, view.bake_ms, view.max_failure_pct, view.auto_rollback),
        (vec![10, 50, 100], 3_600_000, 5.0, true)
    );

    let show = ctl(&base, VIEWER, &["rollout", "show", "eks-prod-us"]).unwrap();
    assert_eq!(ctl(&base, VIEWER, &["rollout", "status", "eks-prod-us"]).unwrap(), show, "status is show");
    let status = ctl(&base, VIEWER, &["status"]).unwrap();
    let line = |c: &str| status.lines().find(|l| l.starts_with(c)).unwrap_or_default().to_owned();
    assert!(status.lines().next().is_some_and(|h| h.ends_with("ROLLOUT")), "{status}");
    assert!(line("eks-prod-us").contains(" 1/3"), "the rollout's state and wave: {status}");
    assert!(line("gke-stage-eu").trim_end().ends_with('-'), "no rollout: {status}");
    assert!(show.starts_with("rollout of eks-prod-us: eks-prod-us@r2 -> eks-prod-us@r3\nstate: "), "{show}");
    assert!(show.contains("(wave 1 of 3)") && show.contains("bake: 1h"), "{show}");
    let table: Vec<&str> = show.lines().skip_while(|l| !l.starts_with("WAVE")).collect();
    assert_eq!(table.len(), 4, "the header and one line per wave: {show}");
    assert!(table[3].starts_with("3     100%") && table[3].ends_with('—'), "the last wave has not started: {show}");
    let json: serde_json::Value =
        serde_json::from_str(&ctl(&base, VIEWER, &["rollout", "show", "eks-prod-us", "-o", "json"]).unwrap()).unwrap();
    assert_eq!((json["targetSnapshot"].as_str(), json["bakeMs"].as_u64()), (Some("eks-prod-us@r3"), Some(3_600_000)));

    let refused = ctl(&base, VIEWER, &["rollout", "pause", "eks-prod-us", "--reason", "try"]).unwrap_err();
    assert_eq!((refused.exit_code(), refused.to_string().starts_with("PERMISSION_DENIED")), (1, true), "{refused}");
    assert_eq!(ctl(&base, ADMIN, &["rollout", "pause", "eks-prod-us"]).unwrap_err().exit_code(), 2, "no --reason");
    let show_with_reason = ctl(&base, VIEWER, &["rollout", "show", "eks-prod-us", "--reason", "why"]).unwrap_err();
    assert_eq!(show_with_reason.exit_code(), 2);
    let blank = ctl(&base, ADMIN, &["rollout", "pause", "eks-prod-us", "--reason", "  "]).unwrap_err();
    assert!(blank.to_string().starts_with("JUSTIFICATION_REQUIRED"), "{blank}");

    let paused = ctl(&base, ADMIN, &["rollout", "pause", "eks-prod-us", "--reason", "canary latency is up"]).unwrap();
    assert!(paused.starts_with("paused the rollout of eks-prod-us\n") && paused.contains("state: paused"), "{paused}");
    let again = ctl(&base, ADMIN, &["rollout", "pause", "eks-prod-us", "--reason", "again"]).unwrap_err();
    assert!(again.to_string().starts_with("CONFLICT"), "{again}");
    let resumed = ctl(&base, ADMIN, &["rollout", "resume", "eks-prod-us", "--reason", "latency is normal"]).unwrap();
    assert!(resumed.starts_with("resumed the rollout of eks-prod-us\n"), "{resumed}");
    let promoted = ctl(&base, ADMIN, &["rollout", "promote", "eks-prod-us", "--reason", "ship it"]).unwrap();
    assert!(promoted.contains("(wave 3 of 3)"), "{promoted}");
    let aborted = ctl(&base, ADMIN, &["rollout", "abort", "eks-prod-us", "--reason", "incident 4713"]).unwrap();
    assert!(aborted.contains("state: aborted"), "{aborted}");
    assert_eq!(engine.desired("eks-prod-us").unwrap().unwrap().id, "eks-prod-us@r2");

    let audit = ctl(&base, VIEWER, &["audit", "--action", "rollout", "--actor", "ada"]).unwrap();
    assert_eq!(audit.lines().count(), 5, "the header and the four actions: {audit}");
    assert!(audit.lines().nth(1).is_some_and(|l| l.contains("cluster:eks-prod-us") && l.contains("incident 4713")));
    std::fs::remove_file(file).unwrap();
}

#[test]
fn workspace_set_changes_the_authority_and_audit_narrows_to_it() {
    let (base, engine) = server();
    let refused = ctl(&base, VIEWER, &["workspace", "set", "acme-edge", "--mode", "tighten_only"]).unwrap_err();
    assert_eq!(refused.exit_code(), 1, "{refused}");
    let set = ctl(&base, ADMIN, &["workspace", "set", "acme-edge", "--mode", "Tighten-only", "--min-version", "3.5.0"])
        .unwrap();
    assert_eq!(set, "workspace acme-edge: tighten_only, minimum runtime version 3.5.0\n");
    assert_eq!(engine.workspace("acme-edge").unwrap().authority_mode, fleetgov::AuthorityMode::TightenOnly);
    let created = ctl(&base, ADMIN, &["workspace", "set", "acme-lab", "--mode", "Dev Override"]).unwrap();
    assert!(created.contains("dev_override, minimum runtime version 3.4.0"), "{created}");
    let bad = ctl(&base, ADMIN, &["workspace", "set", "acme-edge", "--mode", "dev_override"]).unwrap_err();
    assert!(bad.to_string().contains("development clusters only"), "{bad}");

    ctl(&base, ADMIN, &["force-sync", "--node", "gw-dev-west-2", "--reason", "incident 4712"]).unwrap();
    let mine = ctl(&base, VIEWER, &["audit", "--actor", "ada", "--target", "workspace:acme-edge"]).unwrap();
    assert_eq!(mine.lines().count(), 2, "the header and the one change: {mine}");
    assert!(mine.contains("upsert_workspace"), "{mine}");
    let node = ctl(&base, VIEWER, &["audit", "--cluster", "azure-dev-west", "--node", "gw-dev-west-2"]).unwrap();
    assert!(node.lines().nth(1).is_some_and(|l| l.contains("incident 4712")), "{node}");
    let page: serde_json::Value =
        serde_json::from_str(&ctl(&base, VIEWER, &["audit", "--actor", "ada", "--limit", "1", "-o", "json"]).unwrap())
            .unwrap();
    let before = page["nextBefore"].as_u64().unwrap().to_string();
    let older = ctl(&base, VIEWER, &["audit", "--actor", "ada", "--limit", "1", "--before", &before]).unwrap();
    assert!(older.contains("upsert_workspace"), "{older}");
    let future = ctl(&base, VIEWER, &["audit", "--from", "2999-01-01T00:00:00Z"]).unwrap();
    assert_eq!(future.lines().count(), 1, "only the header: {future}");
    assert_eq!(ctl(&base, VIEWER, &["audit", "--from", "soon"]).unwrap_err().exit_code(), 2);
}

/// Serves `base` through a proxy that flips one bit of every level-0 hash
/// tile; returns the proxy's base URL.
#[test]
fn node_remove_takes_a_node_out_of_its_cluster() {
    let (base, engine) = server();
    let refused = ctl(&base, VIEWER, &["node", "remove", "gw-dev-west-3"]).unwrap_err();
    assert_eq!((refused.exit_code(), refused.to_string().starts_with("PERMISSION_DENIED")), (1, true), "{refused}");
    let removed = ctl(&base, ADMIN, &["node", "remove", "gw-dev-west-3"]).unwrap();
    assert!(
        removed.starts_with("removed gw-dev-west-3: audit record ") && removed.contains("(remove_node)"),
        "{removed}"
    );
    assert!(engine.node_handle("gw-dev-west-3").is_err());
    let status = ctl(&base, VIEWER, &["status"]).unwrap();
    assert!(status.lines().any(|l| l.starts_with("azure-dev-west") && l.contains("1/2")), "{status}");
    let again = ctl(&base, ADMIN, &["node", "remove", "gw-dev-west-3"]).unwrap_err();
    assert!(again.to_string().starts_with("NOT_FOUND"), "{again}");
    let audit = ctl(&base, VIEWER, &["audit", "--cluster", "azure-dev-west", "--action", "remove_node"]).unwrap();
    assert!(audit.lines().nth(1).is_some_and(|l| l.contains("ada") && l.contains("node:gw-dev-west-3")), "{audit}");
}

fn tampering_proxy(base: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = format!("http://{}", listener.local_addr().unwrap());
    let upstream = base.to_owned();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let _ = relay(stream, &upstream);
        }
    });
    proxy
}

fn relay(mut stream: TcpStream, upstream: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_owned();
    let mut auth = None;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        if header.trim().is_empty() {
            break;
        }
        if let Some(v) = header.strip_prefix("authorization: ").or_else(|| header.strip_prefix("Authorization: ")) {
            auth = Some(v.trim().to_owned());
        }
    }
    let mut request = ureq::get(format!("{upstream}{path}"));
    if let Some(a) = auth {
        request = request.header("authorization", a);
    }
    let mut response = request.call().map_err(std::io::Error::other)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    response.body_mut().as_reader().read_to_end(&mut body)?;
    if path.starts_with("/log/tile/0/") && !body.is_empty() {
        body[0] ^= 1;
    }
    write!(stream, "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len())?;
    stream.write_all(&body)
}

#[test]
fn audit_verify_checks_the_log_offline_and_fails_on_a_tampered_tile() {
    let (base, engine) = server();
    let key = engine.checkpoint_verifier().unwrap().to_string();
    let ok = ctl(&base, ADMIN, &["audit", "verify", "--key", &key]).unwrap();
    assert!(ok.starts_with(&format!("verified: {} records", engine.audit_len())), "{ok}");

    let other = fleetgov::audit::CheckpointSigner::from_seed(engine.checkpoint_verifier().unwrap().name(), [3; 32])
        .unwrap()
        .verifier()
        .to_string();
    let wrong_key = ctl(&base, ADMIN, &["audit", "verify", "--key", &other]).unwrap_err();
    assert_eq!(wrong_key.exit_code(), 3, "{wrong_key}");

    let proxy = tampering_proxy(&base);
    let tampered = ctl(&proxy, ADMIN, &["audit", "verify", "--key", &key]).unwrap_err();
    assert_eq!(tampered.exit_code(), 3, "{tampered}");
    assert!(tampered.to_string().contains("VERIFICATION FAILED"), "{tampered}");
    let scoped = ctl(&base, VIEWER, &["audit", "verify", "--key", &key]);
    assert!(scoped.is_ok(), "a viewer of every workspace may read the tiles: {scoped:?}");
}

#[test]
fn completions_and_help_need_no_server() {
    let mut out = Vec::new();
    fleetgov_ctl::run(["fleetctl", "completions", "bash"], &mut out).unwrap();
    assert!(String::from_utf8(out).unwrap().contains("fleetctl"));
    let mut out = Vec::new();
    fleetgov_ctl::run(["fleetctl", "--help"], &mut out).unwrap();
    assert!(String::from_utf8(out).unwrap().contains("force-sync"));
}
