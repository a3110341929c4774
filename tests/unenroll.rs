//! Removing a node: it leaves its cluster's counts and members, its
//! heartbeats are refused, the removal is audited with its actor and, with a
//! data directory, survives a restart; the node may enrol again.

mod common;

use std::path::Path;

use common::{T0, engine, hb};
use fleetgov::*;

fn by(at: u64) -> By<'static> {
    By::new("olga.ops", Role::Operator, at)
}

#[test]
fn a_removed_node_leaves_the_counts_and_its_heartbeats_are_refused() {
    let e = engine();
    let s = e.publish("prod", b"one", "alice", T0).unwrap();
    let handles: Vec<_> = (0..3).map(|i| e.enroll(&format!("n{i}"), "prod", T0).unwrap()).collect();
    e.heartbeat(handles[0], &hb(T0, &s)).unwrap();
    e.heartbeat(handles[1], &hb(T0, &s)).unwrap();
    let error: SyncError = "RELOAD_FAILURE: Incompatible Filter Signature".parse().unwrap();
    e.heartbeat(handles[2], &Heartbeat { sync_error: Some(&error), ..hb(T0, &s) }).unwrap();
    assert_eq!(e.cluster("prod", T0).unwrap().status, ClusterStatus::Syncing);

    let record = e.unenroll("n2", &by(T0 + 5)).unwrap();
    assert_eq!(
        (record.actor.as_str(), record.role, record.action, record.target.as_str(), record.time_ms),
        ("olga.ops", Role::Operator, audit::AuditAction::RemoveNode, "node:n2", T0 + 5)
    );
    let view = e.cluster("prod", T0).unwrap();
    assert_eq!((view.total, view.in_sync, view.cohesion, view.status), (2, 2, 100, ClusterStatus::Healthy));
    assert!(e.recount_mismatches().is_empty());
    assert_eq!(e.node("n2", T0).unwrap_err().kind(), ErrorKind::NotFound);
    assert!(e.fleet_at("prod", T0).unwrap().iter().all(|a| a.node != "n2"));

    assert_eq!(e.heartbeat(handles[2], &hb(T0 + 10, &s)).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(e.heartbeat_by_id("n2", &hb(T0 + 10, &s)).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(e.unenroll("n2", &by(T0 + 6)).unwrap_err().kind(), ErrorKind::NotFound);
    assert!(e.recount_mismatches().is_empty(), "refused heartbeats moved nothing");

    // It may enrol again, elsewhere, with a new handle and a fresh start.
    let again = e.enroll("n2", "stage", T0 + 20).unwrap();
    assert_ne!(again, handles[2]);
    assert_eq!(e.heartbeat(handles[2], &hb(T0 + 30, &s)).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(e.cluster("stage", T0 + 20).unwrap().total, 1);
    assert_eq!(e.node("n2", T0 + 20).unwrap().cluster_id, "stage");
    assert!(e.recount_mismatches().is_empty());
}

#[test]
fn a_refused_removal_changes_nothing() {
    let e = engine();
    e.enroll("n0", "prod", T0).unwrap();
    let audit = e.audit_len();
    let viewer = By::new("vic", Role::Viewer, T0);
    assert_eq!(e.unenroll("n0", &viewer).unwrap_err().kind(), ErrorKind::PermissionDenied);
    assert_eq!(e.unenroll("n0", &By::new(" ", Role::Admin, T0)).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(e.unenroll("n0", &By::new(SYSTEM_ACTOR, Role::Admin, T0)).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(e.unenroll("ghost", &by(T0)).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(e.audit_len(), audit);
    assert_eq!(e.cluster("prod", T0).unwrap().total, 1);
}

#[test]
fn the_feed_tells_the_removal_and_the_new_figures() {
    let e = engine();
    e.enroll("n0", "prod", T0).unwrap();
    e.enroll("n1", "prod", T0).unwrap();
    let mut feed = e.subscribe(None).unwrap();
    e.unenroll("n0", &by(T0)).unwrap();
    let changes: Vec<Change> = std::iter::from_fn(|| match feed.next_timeout(std::time::Duration::ZERO) {
        Some(FeedItem::Change(e)) => Some(e.change.clone()),
        _ => None,
    })
    .collect();
    assert!(
        changes.iter().any(
            |c| matches!(c, Change::Audit(a) if a.action == audit::AuditAction::RemoveNode && a.target == "node:n0")
        ),
        "{changes:?}"
    );
    assert!(
        changes.iter().any(|c| matches!(c, Change::Cluster(c) if &*c.cluster == "prod" && c.enrolled == 1)),
        "{changes:?}"
    );
}

fn open(dir: &Path, now: u64) -> Engine {
    Engine::with_config(EngineConfig {
        clock: Clock::manual(now),
        capacity: 1 << 16,
        data_dir: Some(dir.to_owned()),
        journal_interval: std::time::Duration::from_millis(20),
        ..EngineConfig::default()
    })
    .unwrap()
}

/// [`open`] at `T0`, with the workspace "ws" and its cluster "prod".
fn open_with_prod(dir: &Path) -> Engine {
    let e = open(dir, T0);
    e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
    e
}

/// Why opening `dir` is refused; `why` says why it must be.
fn refused_open(dir: &Path, why: &str) -> Error {
    let config = EngineConfig { clock: Clock::manual(T0), data_dir: Some(dir.to_owned()), ..EngineConfig::default() };
    Engine::with_config(config).err().expect(why)
}

#[test]
fn a_removal_survives_a_restart_and_the_node_may_enrol_again() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = open(dir.path(), T0);
        e.clock().set(T0 + 1_000);
        e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
        e.upsert_cluster(ClusterSpec::new("stage", "ws", Environment::Staging)).unwrap();
        let s = e.publish("prod", b"one", "alice", T0).unwrap();
        let handles: Vec<_> = (0..3).map(|i| e.enroll(&format!("n{i}"), "prod", T0).unwrap()).collect();
        for &h in &handles {
            e.heartbeat(h, &hb(T0 + 100, &s)).unwrap();
        }
        e.unenroll("n1", &by(T0 + 200)).unwrap();
        e.unenroll("n2", &by(T0 + 210)).unwrap();
        let again = e.enroll("n2", "stage", T0 + 300).unwrap();
        e.heartbeat(again, &Heartbeat::new(T0 + 400, common::v("3.5.0"))).unwrap();
        e.sync_journal().unwrap();
    }
    let e = open(dir.path(), T0 + 2_000);
    assert_eq!(e.node_handle("n1").unwrap_err().kind(), ErrorKind::NotFound, "a removed node stays removed");
    assert_eq!(e.node("n2", T0 + 2_000).unwrap().cluster_id, "stage", "enrolled again after its removal");
    let prod = e.cluster("prod", T0 + 2_000).unwrap();
    assert_eq!((prod.total, prod.in_sync), (1, 1));
    assert_eq!(e.cluster("stage", T0 + 2_000).unwrap().total, 1);
    assert!(e.recount_mismatches().is_empty());
    let removals: Vec<_> = e
        .audit()
        .into_iter()
        .filter(|r| r.action == audit::AuditAction::RemoveNode)
        .map(|r| r.target.clone())
        .collect();
    assert_eq!(removals, ["node:n1", "node:n2"]);
    e.verify_journal().unwrap();
    // The journal written before the removals still serves the remaining node.
    assert!(e.what_ran("n0", T0 + 150).unwrap().is_some());
    assert!(e.what_ran("n2", T0 + 450).unwrap().is_some_and(|a| a.snapshot.is_none()));
}

#[test]
fn an_enrolment_log_that_removes_a_node_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = open_with_prod(dir.path());
        e.enroll("n1", "prod", T0).unwrap();
        e.unenroll("n1", &by(T0)).unwrap();
    }
    // The last frame is the removal: 8 bytes of length and its checksum, a
    // body of slot, time, an empty cluster and the id "n1", 4 of checksum.
    let log = dir.path().join("enrolments.log");
    let mut bytes = std::fs::read(&log).unwrap();
    let removal = bytes[bytes.len() - (8 + 4 + 4 + 1 + 1 + 2 + 4)..].to_vec();
    bytes.extend_from_slice(&removal);
    std::fs::write(&log, bytes).unwrap();
    let refused = refused_open(dir.path(), "a log that removes a node twice is refused");
    assert_eq!(refused.kind(), ErrorKind::AuditTampered, "{refused}");
    assert!(refused.to_string().contains("removes node 'n1'"), "{refused}");
}

#[test]
fn a_removal_cut_short_between_its_record_and_its_frame_is_finished_on_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("enrolments.log");
    let before_removal = {
        let e = open_with_prod(dir.path());
        let s = e.publish("prod", b"one", "alice", T0).unwrap();
        for i in 0..2 {
            let h = e.enroll(&format!("n{i}"), "prod", T0).unwrap();
            e.heartbeat(h, &hb(T0 + 100, &s)).unwrap();
        }
        let enrolled_only = std::fs::read(&log).unwrap();
        e.unenroll("n1", &by(T0 + 200)).unwrap();
        e.sync_journal().unwrap();
        enrolled_only
    };
    // As if the process died after the audit record and before the frame.
    std::fs::write(&log, &before_removal).unwrap();
    for round in 0..2 {
        let e = open(dir.path(), T0 + 1_000);
        assert_eq!(e.node_handle("n1").unwrap_err().kind(), ErrorKind::NotFound, "round {round}");
        assert_eq!(e.cluster("prod", T0 + 1_000).unwrap().total, 1);
        assert!(e.recount_mismatches().is_empty());
        let removals = e.audit().into_iter().filter(|r| r.action == audit::AuditAction::RemoveNode).count();
        assert_eq!(removals, 1, "finishing the removal records nothing new");
    }
    assert!(std::fs::read(&log).unwrap().len() > before_removal.len(), "the frame is written on reopen");
}

#[test]
fn a_recorded_removal_of_a_node_the_enrolment_log_never_held_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = open_with_prod(dir.path());
    e.enroll("n0", "prod", T0).unwrap();
    let log = dir.path().join("enrolments.log");
    let n0_only = std::fs::read(&log).unwrap();
    e.enroll("n1", "prod", T0).unwrap();
    e.unenroll("n1", &by(T0 + 200)).unwrap();
    drop(e);
    // Nobody else writes this log: its removal of n1 must be this engine's.
    std::fs::write(&log, &n0_only).unwrap();
    let refused = refused_open(dir.path(), "a removal of a node never enrolled here is refused");
    assert_eq!(refused.kind(), ErrorKind::AuditTampered, "{refused}");
    assert!(refused.to_string().contains("'n1'"), "{refused}");
}
