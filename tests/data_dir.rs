//! The data directory: an engine restarted on the same directory keeps its
//! authority state, audit log, signing key, enrolments, history and every
//! node's last report; a killed one loses nothing acknowledged.

mod common;

use std::path::Path;

use common::{T0, hb, v};
use fleetgov::*;

fn config(dir: &Path, clock: Clock) -> EngineConfig {
    EngineConfig {
        clock,
        capacity: 1 << 16,
        data_dir: Some(dir.to_owned()),
        journal_interval: std::time::Duration::from_millis(20),
        ..EngineConfig::default()
    }
}

fn open(dir: &Path, now: u64) -> Engine {
    Engine::with_config(config(dir, Clock::manual(now))).unwrap()
}

#[test]
fn a_restart_keeps_authority_enrolments_history_and_node_state() {
    let dir = tempfile::tempdir().unwrap();
    let (verifier, attestation, audit_len, cohesion, node_before) = {
        let e = open(dir.path(), T0);
        e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
        let r1 = e.publish("prod", b"one", "alice", T0).unwrap();
        let r2 = e.publish("prod", b"two", "alice", T0 + 10).unwrap();
        let handles: Vec<_> = (0..4).map(|i| e.enroll(&format!("n{i}"), "prod", T0).unwrap()).collect();
        e.clock().set(T0 + 1_000);
        for &h in &handles {
            e.heartbeat(h, &hb(T0 + 100, &r1)).unwrap();
        }
        for &h in &handles[..3] {
            e.heartbeat(h, &hb(T0 + 200, &r2)).unwrap();
        }
        let odd = Heartbeat::new(T0 + 300, v("3.5.0")).applied(&r2.id, ContentHash::of(b"tampered"));
        e.heartbeat(handles[3], &odd).unwrap();
        let error: SyncError = "RELOAD_FAILURE: Incompatible Filter Signature".parse().unwrap();
        e.heartbeat(handles[2], &Heartbeat { sync_error: Some(&error), ..hb(T0 + 310, &r2) }).unwrap();
        e.force_sync(ForceTarget::Node("n3"), &Override::new("bob", Role::Operator, "re-provisioned", T0 + 400))
            .unwrap();
        let attestation = e.attest("prod", T0 + 150).unwrap();
        (
            e.checkpoint_verifier().unwrap(),
            attestation,
            e.audit_len(),
            e.cluster("prod", T0 + 1_000).unwrap(),
            e.node("n3", T0 + 1_000).unwrap(),
        )
    };

    let e = open(dir.path(), T0 + 2_000);
    assert_eq!(e.checkpoint_verifier().unwrap(), verifier, "the signing key is kept");
    assert_eq!(e.audit_len(), audit_len);
    e.verify_audit().unwrap();
    assert_eq!(e.snapshot("prod@r2").unwrap().hash, ContentHash::of(b"two"));
    assert_eq!(e.cluster("prod", T0 + 1_000).unwrap(), cohesion, "cohesion and counts as before");
    assert!(e.recount_mismatches().is_empty());
    let n3 = e.node("n3", T0 + 1_000).unwrap();
    assert_eq!(n3.applied_hash, Some(ContentHash::of(b"tampered")));
    assert_eq!((n3.last_heartbeat_ms, n3.config_status), (node_before.last_heartbeat_ms, node_before.config_status));
    assert_eq!(n3.last_sync_error.map(|e| e.code), Some(SyncErrorCode::HashMismatch));
    let n2 = e.node("n2", T0 + 1_000).unwrap().last_sync_error.unwrap();
    assert_eq!(n2.to_string(), "RELOAD_FAILURE: Incompatible Filter Signature", "the detail is kept");
    // History before the restart answers, and the same moment attests the same bytes.
    assert_eq!(e.what_ran("n0", T0 + 150).unwrap().unwrap().snapshot.as_deref(), Some("prod@r1"));
    assert_eq!(e.what_ran("n0", T0 + 250).unwrap().unwrap().snapshot.as_deref(), Some("prod@r2"));
    assert_eq!(e.attest("prod", T0 + 150).unwrap().envelope, attestation.envelope);
    assert_eq!(e.what_ran("n0", T0 - 1).unwrap_err().kind(), ErrorKind::HistoryUnavailable);
    // An enrolled node heartbeats on without enrolling again.
    let n0 = e.node_handle("n0").unwrap();
    let r2 = e.snapshot("prod@r2").unwrap();
    e.heartbeat(n0, &hb(T0 + 1_500, &r2)).unwrap();
    assert_eq!(e.enroll("n0", "prod", T0).unwrap(), n0, "the same node, the same slot");
    assert_eq!(e.enroll("n9", "prod", T0).unwrap().slot(), 4, "new nodes take new slots");
}

/// The checkpoint, tiles and proofs are the same after a restart: the log,
/// the key and therefore every signature are.
#[test]
fn checkpoints_tiles_and_proofs_survive_a_restart_unchanged() {
    use fleetgov::audit::{Tile, TileKind};
    let dir = tempfile::tempdir().unwrap();
    let answers = |e: &Engine| {
        let size = e.audit_len();
        let width = u16::try_from(size).unwrap();
        (
            e.checkpoint().unwrap(),
            e.audit_tile(&Tile::new(TileKind::Hashes(0), 0, width).unwrap()).unwrap(),
            e.audit_tile(&Tile::new(TileKind::Entries, 0, width).unwrap()).unwrap(),
            e.tlog_proof(1).unwrap(),
            e.consistency_proof(2, size).unwrap(),
        )
    };
    let before = {
        let e = open(dir.path(), T0);
        e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
        e.publish("prod", b"one", "alice", T0).unwrap();
        e.enroll("n", "prod", T0).unwrap();
        e.force_sync(ForceTarget::Node("n"), &Override::new("bob", Role::Operator, "re-provisioned", T0)).unwrap();
        answers(&e)
    };
    assert_eq!(answers(&open(dir.path(), T0 + 1)), before);
}

#[test]
fn a_directory_is_refused_when_in_use_or_combined_with_an_audit_path() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path(), T0);
    let second = Engine::with_config(config(dir.path(), Clock::manual(T0)));
    assert_eq!(second.err().map(|e| e.kind()), Some(ErrorKind::Conflict));
    drop(first);
    let both = EngineConfig { audit_path: Some(dir.path().join("x.log")), ..config(dir.path(), Clock::manual(T0)) };
    assert_eq!(Engine::with_config(both).err().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
    let spinning =
        EngineConfig { journal_interval: std::time::Duration::ZERO, ..config(dir.path(), Clock::manual(T0)) };
    assert_eq!(Engine::with_config(spinning).err().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
    let seeded = EngineConfig { signing_seed: Some([7; 32]), ..config(dir.path(), Clock::manual(T0)) };
    let explicit = Engine::with_config(seeded).unwrap().checkpoint_verifier().unwrap();
    let generated = open(dir.path(), T0).checkpoint_verifier().unwrap();
    assert_ne!(explicit, generated, "an explicit seed overrides the directory's key");
}

#[test]
fn a_bulk_enrolment_is_durable_and_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = open(dir.path(), T0);
        e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
        e.upsert_cluster(ClusterSpec::new("dev", "ws", Environment::Development)).unwrap();
        let names: Vec<String> = (0..1_000).map(|i| format!("n{i}")).collect();
        let handles = e.enroll_many(names.iter().map(|n| (n.as_str(), "prod")), T0).unwrap();
        assert_eq!(handles.len(), 1_000);
        assert_eq!(
            e.enroll_many([("n5", "prod"), ("x", "prod")], T0).unwrap()[0],
            handles[5],
            "again: the same handle"
        );
        for refused in [vec![("y", "prod"), ("n1", "dev")], vec![("y", "prod"), ("y", "dev")], vec![("y", "nope")]] {
            assert!(e.enroll_many(refused, T0).is_err());
            assert!(e.node_handle("y").is_err(), "nothing enrolled on a refusal");
        }
    }
    let e = open(dir.path(), T0);
    assert_eq!(e.cluster("prod", T0).unwrap().total, 1_001);
    assert!(e.node_handle("n999").is_ok() && e.node_handle("x").is_ok());
}

#[test]
fn an_open_reconciliation_wave_stays_open_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let waves = |e: &Engine| e.audit().iter().filter(|r| r.action == audit::AuditAction::AutoReconcile).count();
    {
        let e = open(dir.path(), T0);
        e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        e.upsert_cluster(ClusterSpec::new("stage", "ws", Environment::Staging).auto_reconcile(true)).unwrap();
        let r1 = e.publish("stage", b"1", "alice", T0).unwrap();
        e.publish("stage", b"2", "alice", T0).unwrap();
        let n = e.enroll("n", "stage", T0).unwrap();
        assert!(e.heartbeat(n, &hb(T0, &r1)).unwrap().is_some(), "a reconcile directive");
        assert_eq!(waves(&e), 1);
    }
    let e = open(dir.path(), T0 + 10);
    let r1 = e.snapshot("stage@r1").unwrap();
    let n = e.node_handle("n").unwrap();
    assert!(e.heartbeat(n, &hb(T0 + 20, &r1)).unwrap().is_some(), "still told to reconcile");
    assert_eq!(waves(&e), 1, "the wave was audited once, before the restart");
    e.publish("stage", b"3", "alice", T0 + 30).unwrap();
    e.heartbeat(n, &hb(T0 + 40, &r1)).unwrap();
    assert_eq!(waves(&e), 2, "a new publish opens a new wave");
}

#[test]
fn history_begins_when_the_directory_was_made() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), T0));
    let e = open(dir.path(), T0 + 10_000);
    e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
    assert!(e.fleet_at("prod", T0 + 5).unwrap().is_empty());
    assert_eq!(e.fleet_at("prod", T0 - 5).unwrap_err().kind(), ErrorKind::HistoryUnavailable);
}

#[test]
fn sealed_segments_are_committed_to_the_audit_log_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let small = |now| EngineConfig { journal_segment_len: 4, ..config(dir.path(), Clock::manual(now)) };
    drop(open(dir.path(), T0)); // the history begins at T0
    {
        let e = Engine::with_config(small(T0 + 1_000)).unwrap();
        e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
        let (r1, r2) = (e.publish("prod", b"1", "alice", T0).unwrap(), e.publish("prod", b"2", "alice", T0).unwrap());
        let n = e.enroll("n", "prod", T0).unwrap();
        e.clock().set(T0 + 2_000); // opening sealed T0 + 1,000
        for i in 0..10 {
            e.heartbeat(n, &hb(T0 + 1_001 + i, if i % 2 == 0 { &r1 } else { &r2 })).unwrap();
        }
        e.sync_journal().unwrap();
        let seals: Vec<String> = e
            .audit()
            .iter()
            .filter(|r| r.action == audit::AuditAction::SealJournal)
            .map(|r| r.target.clone())
            .collect();
        assert_eq!(seals, ["journal:0", "journal:4"]);
        assert_eq!(e.verify_journal().unwrap(), JournalVerification { sealed_segments: 2, sealed_transitions: 8 });
    }
    let e = Engine::with_config(small(T0 + 2_000)).unwrap();
    assert_eq!(e.verify_journal().unwrap().sealed_segments, 2, "a restart seals nothing twice");
    assert_eq!(e.what_ran("n", T0 + 1_006).unwrap().unwrap().snapshot.as_deref(), Some("prod@r2"));
    drop(e);
    let segment = dir.path().join("journal").join("0000000004.seg");
    let mut bytes = std::fs::read(&segment).unwrap();
    let last = bytes.len() - 5;
    bytes[last] ^= 1;
    std::fs::write(&segment, &bytes).unwrap();
    let e = Engine::with_config(small(T0 + 2_000));
    let err = e.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::AuditTampered, "{err}");
    assert!(err.to_string().contains("0000000004.seg"), "the bad segment is named: {err}");
}

/// Crash test: a child engine enrols, publishes and heartbeats on a data
/// directory and is SIGKILLed at a random moment, round after round on the
/// same directory. Every acknowledged enrolment and publish survives, and
/// every transition acknowledged by `sync_journal` does.
#[cfg(unix)]
mod crash {
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::Duration;

    use super::*;
    use common::run_and_kill_env;

    const CHILD_ENV: &str = "FLEETGOV_DATA_DIR_CRASH_CHILD";
    const CHECKPOINT_CHILD_ENV: &str = "FLEETGOV_DATA_DIR_CHECKPOINT_CHILD";

    /// Room for every node 200 rounds can enrol (up to 2,000 a round).
    fn roomy(dir: &Path) -> EngineConfig {
        EngineConfig { capacity: 1 << 20, ..config(dir, Clock::System) }
    }

    #[test]
    #[ignore = "the child process of a_killed_engine_loses_nothing_acknowledged, which starts it"]
    fn data_dir_crash_child() {
        let Some(path) = std::env::var_os(CHILD_ENV) else { return };
        let e = Engine::with_config(roomy(Path::new(&path))).expect("child: open");
        // A kill may have landed anywhere in the set-up of an earlier round.
        if e.workspace("ws").is_err() {
            e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        }
        if e.cluster("prod", e.clock().now_ms()).is_err() {
            e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
        }
        if e.desired("prod").unwrap().is_none() {
            e.publish("prod", b"config", "alice", e.clock().now_ms()).unwrap();
        }
        let start = e.cluster("prod", e.clock().now_ms()).unwrap().total;
        println!("\nREADY {start}");
        for i in start..start + 2_000 {
            let node = format!("n{i}");
            let handle = e.enroll(&node, "prod", e.clock().now_ms()).unwrap();
            println!("ENROLLED {node}");
            if i % 50 == 0 {
                let s = e.publish("prod", format!("config {i}").as_bytes(), "alice", e.clock().now_ms()).unwrap();
                println!("PUBLISHED {}", s.id);
            }
            let desired = e.desired("prod").unwrap().unwrap();
            let at = e.clock().now_ms();
            e.heartbeat(handle, &hb(at, &desired)).unwrap();
            if i % 10 == 0 {
                e.sync_journal().unwrap();
                println!("SYNCED {node} {at} {}", desired.id);
            }
            if i % 25 == 0 {
                let by = Override::new("oncall", Role::Operator, "crash test: forced resync", e.clock().now_ms());
                let record = e.force_sync(ForceTarget::Node(&node), &by).unwrap();
                // The last word tells a whole line from one the kill cut.
                println!("FORCED {} {node} .", record.seq);
            }
        }
    }

    fn run_and_kill(child: &str, path: &Path, wait_ms: u64) -> Vec<String> {
        run_and_kill_env(child, CHILD_ENV, path, wait_ms)
    }

    #[test]
    #[ignore = "the child process of checkpoint_nodes_keeps_metrics_across_a_kill, which starts it"]
    fn checkpoint_child() {
        let Some(path) = std::env::var_os(CHECKPOINT_CHILD_ENV) else { return };
        let e = Engine::with_config(roomy(Path::new(&path))).expect("child: open");
        e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
        let s = e.publish("prod", b"config", "alice", e.clock().now_ms()).unwrap();
        let handle = e.enroll("gw", "prod", e.clock().now_ms()).unwrap();
        let report =
            |cpu: f32| Heartbeat { metrics: Metrics { cpu, ..Metrics::default() }, ..hb(e.clock().now_ms(), &s) };
        e.heartbeat(handle, &report(42.0)).unwrap();
        e.checkpoint_nodes().unwrap();
        // Not a transition: only a checkpoint would keep this reading.
        e.heartbeat(handle, &report(43.0)).unwrap();
        println!("\nREADY");
        std::thread::sleep(Duration::from_secs(3600));
    }

    /// A kill right after `checkpoint_nodes` keeps every metric reported
    /// before it (the periodic checkpoint is a minute away), and nothing
    /// reported after it that was not a transition.
    #[test]
    fn checkpoint_nodes_keeps_metrics_across_a_kill() {
        let dir = tempfile::tempdir().unwrap();
        run_and_kill_env("crash::checkpoint_child", CHECKPOINT_CHILD_ENV, dir.path(), 0);
        let e = Engine::with_config(roomy(dir.path())).unwrap();
        let node = e.node("gw", e.clock().now_ms()).unwrap();
        assert_eq!(node.metrics.cpu, 42.0, "the checkpointed reading, not the later one nor none");
        assert!(node.verified);
    }

    #[test]
    fn a_killed_engine_loses_nothing_acknowledged() {
        let kills = if std::env::var("FLEETGOV_SLOW").is_ok_and(|v| v == "1") { 200 } else { 4 };
        let dir = tempfile::tempdir().unwrap();
        let mut enrolled = BTreeSet::new();
        let mut published = BTreeSet::new();
        let mut synced: BTreeMap<String, (u64, String)> = BTreeMap::new();
        let mut forced: BTreeMap<u64, String> = BTreeMap::new();
        let mut key = None;
        for round in 0..kills {
            for line in run_and_kill("crash::data_dir_crash_child", dir.path(), 20 + (round * 37) % 200) {
                let words: Vec<&str> = line.split(' ').collect();
                match words[..] {
                    ["ENROLLED", node] => drop(enrolled.insert(node.to_owned())),
                    ["PUBLISHED", id] => drop(published.insert(id.to_owned())),
                    ["FORCED", seq, node, "."] => {
                        let Ok(seq) = seq.parse() else { continue };
                        forced.insert(seq, node.to_owned());
                    }
                    ["SYNCED", node, at, id] => {
                        let Ok(at) = at.parse() else { continue }; // a line cut by the kill
                        synced.insert(node.to_owned(), (at, id.to_owned()));
                    }
                    _ => {}
                }
            }
            let e = Engine::with_config(roomy(dir.path()))
                .unwrap_or_else(|err| panic!("round {round}: reopen after a kill: {err}"));
            e.verify_audit().unwrap_or_else(|err| panic!("round {round}: {err}"));
            e.verify_journal().unwrap_or_else(|err| panic!("round {round}: {err}"));
            let verifier = e.checkpoint_verifier().unwrap();
            assert!(key.get_or_insert_with(|| verifier.clone()) == &verifier, "round {round}: the key changed");
            for node in &enrolled {
                e.node_handle(node).unwrap_or_else(|err| panic!("round {round}: acknowledged enrolment lost: {err}"));
            }
            for id in &published {
                e.snapshot(id).unwrap_or_else(|err| panic!("round {round}: acknowledged publish lost: {err}"));
            }
            for (node, (at, id)) in &synced {
                // A heartbeat in the millisecond the child reopened the
                // directory counts just after it (reopening seals the time
                // before it); every node heartbeats once.
                let ran = e.what_ran(node, *at + 1).unwrap();
                assert_eq!(ran.and_then(|r| r.snapshot).as_deref(), Some(id.as_str()), "round {round}: {node} at {at}");
            }
            let audit = e.audit();
            for (seq, node) in &forced {
                let record = audit.iter().find(|r| r.seq == *seq);
                assert!(
                    record.is_some_and(
                        |r| r.target == format!("node:{node}") && r.justification == "crash test: forced resync"
                    ),
                    "round {round}: acknowledged override {seq} of {node} lost: {record:?}"
                );
            }
            assert!(e.recount_mismatches().is_empty(), "round {round}");
        }
        eprintln!(
            "crash test: {} enrolments, {} publishes, {} overrides, {} synced transitions over {kills} kills",
            enrolled.len(),
            published.len(),
            forced.len(),
            synced.len()
        );
        assert!(!enrolled.is_empty() && !synced.is_empty(), "no child acknowledged anything: the test tested nothing");
    }
}
