//! Shared fixtures for the integration tests.
#![allow(dead_code)]

use fleetgov::*;

/// A fixed "now" for tests: 2023-11-14T22:13:20Z.
pub const T0: u64 = 1_700_000_000_000;

/// An engine on a manual clock at `T0`, with workspace `ws` and clusters
/// `prod` (production), `stage` (staging, auto-reconcile) and `dev` (development).
pub fn engine() -> Engine {
    let e =
        Engine::with_config(EngineConfig { clock: Clock::manual(T0), capacity: 1 << 20, ..EngineConfig::default() })
            .unwrap();
    e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production).owner_team("edge")).unwrap();
    e.upsert_cluster(ClusterSpec::new("stage", "ws", Environment::Staging).auto_reconcile(true)).unwrap();
    e.upsert_cluster(ClusterSpec::new("dev", "ws", Environment::Development)).unwrap();
    e
}

pub fn v(s: &str) -> RuntimeVersion {
    s.parse().unwrap()
}

/// A binary record of a ready node `h` at `at` (metrics 10/20/30/40),
/// reporting snapshot `s` and sync error `err` if given.
pub fn record(
    h: NodeHandle,
    at: u64,
    s: Option<&Snapshot>,
    err: Option<(SyncErrorCode, &str)>,
) -> fleetgov::record::HeartbeatRecord {
    let m = Metrics { cpu: 10.0, memory: 20.0, tps: 30.0, heap: 40.0, hot_swap_errors: 0 };
    let mut r = fleetgov::record::HeartbeatRecord::new(h, at, v("3.5.0"), ProcessStatus::Ready, m);
    if let Some(s) = s {
        r = r.with_applied(s.revision, s.hash);
    }
    if let Some((code, detail)) = err {
        r = r.with_sync_error(code, detail);
    }
    r
}

/// A ready node's heartbeat at `at` reporting `snapshot`.
pub fn hb<'a>(at: u64, snapshot: &'a Snapshot) -> Heartbeat<'a> {
    Heartbeat::new(at, v("3.5.0")).applied(&snapshot.id, snapshot.hash)
}

/// Runs test `child` of this test binary with `env` set to `path`, waits
/// for its `READY` line and `wait_ms` more, SIGKILLs it and returns its lines.
#[cfg(unix)]
pub fn run_and_kill_env(child: &str, env: &str, path: &std::path::Path, wait_ms: u64) -> Vec<String> {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([child, "--exact", "--include-ignored", "--nocapture", "--test-threads=1"])
        .env(env, path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    // A generous bound that only a hung child reaches, not a deadline.
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(120)) {
        let ready = line.starts_with("READY");
        seen.push(line);
        if ready {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(wait_ms));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    seen.extend(lines.iter());
    assert_eq!(status.signal(), Some(9), "the child stopped by itself: {status}\n{seen:?}");
    seen
}
