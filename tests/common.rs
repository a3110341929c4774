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

/// A ready node's heartbeat at `at` reporting `snapshot`.
pub fn hb<'a>(at: u64, snapshot: &'a Snapshot) -> Heartbeat<'a> {
    Heartbeat::new(at, v("3.5.0")).applied(&snapshot.id, snapshot.hash)
}
