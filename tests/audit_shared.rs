//! Engines sharing one audit store (the way instances share a replicated
//! stream): the chain never forks, authority changes made by one engine reach
//! the others, and no two writers publish the same revision.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use fleetgov::audit::{AuditAction, AuditEntry, AuditLog, AuditStore, Write};
use fleetgov::{By, ClusterSpec, Engine, EngineConfig, Environment, ErrorKind, Result, Role, WorkspaceSpec};
use parking_lot::Mutex;

/// A store several logs share, refusing any write that is not the next record.
#[derive(Clone, Default)]
struct Shared {
    frames: Arc<Mutex<Vec<Vec<u8>>>>,
    /// The next write lands but reports `Unknown`, as a timed-out publish would.
    lose_next_ack: Arc<AtomicBool>,
}

impl AuditStore for Shared {
    fn write(&self, seq: u64, frame: &[u8]) -> Result<Write> {
        let mut frames = self.frames.lock();
        if frames.len() as u64 != seq {
            return Ok(Write::Refused);
        }
        frames.push(frame.to_vec());
        if self.lose_next_ack.swap(false, Ordering::SeqCst) {
            return Ok(Write::Unknown);
        }
        Ok(Write::Written)
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }

    fn read_from(&self, from: u64) -> Result<Vec<Vec<u8>>> {
        Ok(self.frames.lock().iter().skip(from as usize).cloned().collect())
    }
}

fn engine(store: &Shared) -> Engine {
    Engine::with_audit_store(EngineConfig::default(), Box::new(store.clone())).unwrap()
}

fn entry(actor: &str) -> AuditEntry {
    AuditEntry::new(1, actor, Role::Admin, AuditAction::Publish, "eks-prod-us")
}

#[test]
fn a_second_writer_adopts_the_first_writers_records_and_chains_after_them() {
    let store = Shared::default();
    let (a, b) = (
        AuditLog::with_store(Box::new(store.clone())).unwrap(),
        AuditLog::with_store(Box::new(store.clone())).unwrap(),
    );
    a.append(entry("alice")).unwrap();
    a.append(entry("alice")).unwrap();
    let bob = b.append(entry("bob")).unwrap();
    assert_eq!(bob.seq, 2);
    assert_eq!(bob.prev_hash, a.record(1).unwrap().leaf_hash());
    assert_eq!(a.catch_up().unwrap(), 1);
    assert_eq!(a.head(), b.head());
    assert_eq!(b.verify().unwrap().size, 3);
}

#[test]
fn a_write_that_landed_without_an_acknowledgement_is_not_appended_twice() {
    let store = Shared::default();
    let log = AuditLog::with_store(Box::new(store.clone())).unwrap();
    log.append(entry("alice")).unwrap();
    store.lose_next_ack.store(true, Ordering::SeqCst);
    let record = log.append(entry("bob")).unwrap();
    assert_eq!((record.seq, log.size(), store.frames.lock().len()), (1, 2, 2));
    log.verify().unwrap();
}

#[test]
fn identical_entries_from_two_writers_are_two_records() {
    let store = Shared::default();
    let (a, b) = (
        AuditLog::with_store(Box::new(store.clone())).unwrap(),
        AuditLog::with_store(Box::new(store.clone())).unwrap(),
    );
    std::thread::scope(|s| {
        for log in [&a, &b] {
            s.spawn(move || (0..50).for_each(|_| drop(log.append(entry("alice")).unwrap())));
        }
    });
    a.catch_up().unwrap();
    b.catch_up().unwrap();
    assert_eq!((a.size(), store.frames.lock().len()), (100, 100));
    assert_eq!(a.verify().unwrap(), b.verify().unwrap());
}

#[test]
fn a_store_holding_a_record_that_breaks_the_chain_is_refused() {
    let store = Shared::default();
    let log = AuditLog::with_store(Box::new(store.clone())).unwrap();
    log.append(entry("alice")).unwrap();
    let mut forged = (*log.record(0).unwrap()).clone();
    forged.seq = 1;
    store.frames.lock().push(forged.to_frame());
    let e = log.catch_up().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuditTampered);
    assert!(e.message().contains("audit record 1"), "{e}");
    assert_eq!(log.size(), 1);
    let e = AuditLog::with_store(Box::new(store)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuditTampered);
}

#[test]
fn authority_changes_of_one_engine_reach_the_others() {
    let store = Shared::default();
    let (a, b) = (engine(&store), engine(&store));
    a.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    a.upsert_cluster(ClusterSpec::new("eks-prod-us", "ws", Environment::Production)).unwrap();
    let first = a.publish("eks-prod-us", b"v1", "alice", 1).unwrap();
    assert_eq!(b.catch_up().unwrap(), 3);
    assert_eq!(b.desired("eks-prod-us").unwrap().unwrap(), first);
    assert_eq!(&*b.artifact(&first.hash).unwrap(), b"v1");
    // b publishes without catching up first: it learns of a's publish and takes the next revision.
    let second = a.publish("eks-prod-us", b"v2", "alice", 2).unwrap();
    let third = b.publish("eks-prod-us", b"v3", "bob", 3).unwrap();
    assert_eq!((second.revision, third.revision), (2, 3));
    a.catch_up().unwrap();
    assert_eq!(a.desired("eks-prod-us").unwrap().unwrap(), third);
    assert_eq!(a.verify_audit().unwrap(), b.verify_audit().unwrap());
    // A third engine started later rebuilds the same authority from the store.
    let c = engine(&store);
    assert_eq!(c.desired("eks-prod-us").unwrap().unwrap(), third);
    assert_eq!(c.snapshot(&second.id).unwrap(), second);
    assert_eq!(c.verify_audit().unwrap(), a.verify_audit().unwrap());
}

#[test]
fn concurrent_publishers_on_two_engines_never_share_a_revision() {
    const EACH: u32 = 50;
    let store = Shared::default();
    let (a, b) = (engine(&store), engine(&store));
    a.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    a.upsert_cluster(ClusterSpec::new("eks-prod-us", "ws", Environment::Production)).unwrap();
    b.catch_up().unwrap();
    std::thread::scope(|s| {
        for (name, e) in [("alice", &a), ("bob", &b)] {
            s.spawn(move || {
                for i in 0..EACH {
                    e.publish("eks-prod-us", format!("{name} {i}").as_bytes(), name, 1).unwrap();
                }
            });
        }
    });
    a.catch_up().unwrap();
    b.catch_up().unwrap();
    let head = a.verify_audit().unwrap();
    assert_eq!(head, b.verify_audit().unwrap());
    assert_eq!(head.size, 2 + 2 * EACH as u64);
    let revisions: Vec<u32> =
        (1..=2 * EACH).map(|r| a.snapshot(&format!("eks-prod-us@r{r}")).unwrap().revision).collect();
    assert_eq!(revisions, (1..=2 * EACH).collect::<Vec<_>>());
    assert_eq!(a.desired("eks-prod-us").unwrap(), b.desired("eks-prod-us").unwrap());
    assert!(b.snapshot(&format!("eks-prod-us@r{}", 2 * EACH + 1)).is_err());
}

#[test]
fn an_engine_takes_an_audit_path_or_a_store_not_both() {
    let config = EngineConfig { audit_path: Some("audit.log".into()), ..EngineConfig::default() };
    let e = Engine::with_audit_store(config, Box::new(Shared::default())).err().map(|e| e.kind());
    assert_eq!(e, Some(ErrorKind::InvalidInput));
}

/// An engine on the shared store with its data directory at `dir`.
fn durable(store: &Shared, dir: &std::path::Path) -> Result<Engine> {
    let config = EngineConfig { data_dir: Some(dir.to_owned()), ..EngineConfig::default() };
    Engine::with_audit_store(config, Box::new(store.clone()))
}

/// [`durable`], with the workspace "ws" and its cluster "eks-prod-us" (new
/// in the store, or already in it).
fn durable_with_cluster(store: &Shared, dir: &std::path::Path) -> Engine {
    let e = durable(store, dir).unwrap();
    e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    e.upsert_cluster(ClusterSpec::new("eks-prod-us", "ws", Environment::Production)).unwrap();
    e
}

fn remover(at_ms: u64) -> By<'static> {
    By::new("bob", Role::Operator, at_ms)
}

#[test]
fn a_removal_another_writer_made_of_a_node_never_enrolled_here_does_not_stop_a_reopen() {
    let (store, dir) = (Shared::default(), tempfile::tempdir().unwrap());
    let here = durable_with_cluster(&store, dir.path());
    here.enroll("gw-kept", "eks-prod-us", 1_000).unwrap();
    here.enroll("gw-gone", "eks-prod-us", 1_000).unwrap();
    here.unenroll("gw-gone", &remover(2_000)).unwrap();
    let other = engine(&store);
    other.enroll("gw-elsewhere", "eks-prod-us", 1_000).unwrap();
    other.unenroll("gw-elsewhere", &remover(2_000)).unwrap();
    // Held here, removed here, then enrolled and removed at the other engine.
    other.enroll("gw-gone", "eks-prod-us", 3_000).unwrap();
    other.unenroll("gw-gone", &remover(4_000)).unwrap();
    here.catch_up().unwrap();
    drop(here);

    for round in 0..2 {
        let here = durable(&store, dir.path()).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_eq!(here.cluster("eks-prod-us", 5_000).unwrap().total, 1, "round {round}");
        assert!(here.node_handle("gw-kept").is_ok());
        for node in ["gw-gone", "gw-elsewhere"] {
            assert_eq!(here.node_handle(node).unwrap_err().kind(), ErrorKind::NotFound, "{node}, round {round}");
        }
        assert!(here.recount_mismatches().is_empty());
    }
}

#[test]
fn a_node_enrolled_here_goes_on_reopen_only_when_another_writer_removed_it_since() {
    let (store, dir) = (Shared::default(), tempfile::tempdir().unwrap());
    let here = durable_with_cluster(&store, dir.path());
    let other = engine(&store);
    // Removed at the other engine, then enrolled here: the enrolment is newer.
    other.enroll("gw-moved", "eks-prod-us", 1_000).unwrap();
    other.unenroll("gw-moved", &remover(2_000)).unwrap();
    here.catch_up().unwrap();
    here.enroll("gw-moved", "eks-prod-us", 3_000).unwrap();
    // Enrolled here, then removed by the other engine (which held it too).
    here.enroll("gw-stale", "eks-prod-us", 3_000).unwrap();
    other.enroll("gw-stale", "eks-prod-us", 3_000).unwrap();
    other.unenroll("gw-stale", &remover(4_000)).unwrap();
    drop(here);

    for round in 0..2 {
        let here = durable(&store, dir.path()).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(here.node_handle("gw-moved").is_ok(), "round {round}: an enrolment after the removal stays");
        assert_eq!(here.node_handle("gw-stale").unwrap_err().kind(), ErrorKind::NotFound, "round {round}");
        assert_eq!(here.cluster("eks-prod-us", 5_000).unwrap().total, 1, "round {round}");
        assert!(here.recount_mismatches().is_empty());
    }
}

#[test]
fn a_removal_frame_without_its_record_is_refused_on_a_shared_log_too() {
    // The removal frame of "gw-x" at slot 0, made by an engine with a log of its own.
    let elsewhere = tempfile::tempdir().unwrap();
    let frames = |dir: &std::path::Path| dir.join("enrolments.log");
    {
        let config = EngineConfig { data_dir: Some(elsewhere.path().to_owned()), ..EngineConfig::default() };
        let e = Engine::with_config(config).unwrap();
        e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        e.upsert_cluster(ClusterSpec::new("eks-prod-us", "ws", Environment::Production)).unwrap();
        e.enroll("gw-x", "eks-prod-us", 1_000).unwrap();
        e.unenroll("gw-x", &remover(2_000)).unwrap();
    }
    let bytes = std::fs::read(frames(elsewhere.path())).unwrap();
    // Length and its checksum, slot, time, an empty cluster, the id, the checksum.
    let removal = bytes[bytes.len() - (8 + 4 + 4 + 1 + 1 + 4 + 4)..].to_vec();

    let (store, dir) = (Shared::default(), tempfile::tempdir().unwrap());
    {
        let here = durable_with_cluster(&store, dir.path());
        here.enroll("gw-x", "eks-prod-us", 1_000).unwrap();
    }
    assert!(durable(&store, dir.path()).is_ok(), "the log as written reopens");
    let mut forged = std::fs::read(frames(dir.path())).unwrap();
    forged.extend_from_slice(&removal);
    std::fs::write(frames(dir.path()), forged).unwrap();
    let refused = durable(&store, dir.path()).err().expect("a removal nobody recorded is refused");
    assert_eq!(refused.kind(), ErrorKind::AuditTampered, "{refused}");
    assert!(refused.to_string().contains("'gw-x'"), "{refused}");
}
