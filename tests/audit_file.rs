//! The durable audit log as a user sees it: create, reopen, lock, concurrent
//! appends, checkpoints across restarts, files that are not logs.

use std::fs;
use std::sync::Arc;

use fleetgov::audit::{AuditAction, AuditEntry, AuditLog, Checkpoint, CheckpointSigner, verify_file};
use fleetgov::{ErrorKind, Role};

fn entry(i: u64) -> AuditEntry {
    AuditEntry::new(1_700_000_000_000 + i, "alice", Role::Operator, AuditAction::Publish, "eks-prod-us")
        .payload(format!("{{\"revision\":{i}}}").into_bytes())
}

#[test]
fn reopening_restores_records_head_and_proofs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let signer = CheckpointSigner::generate("fleetgov.test/audit").unwrap();

    let log = AuditLog::open(&path).unwrap();
    assert!(log.is_durable());
    for i in 0..5 {
        log.append(entry(i)).unwrap();
    }
    let note = log.checkpoint(&signer).unwrap();
    let before: Vec<_> = log.records().iter().map(|r| (**r).clone()).collect();
    drop(log);

    let log = AuditLog::open(&path).unwrap();
    let after: Vec<_> = log.records().iter().map(|r| (**r).clone()).collect();
    assert_eq!(after, before);
    let old = Checkpoint::open(&note, &signer.verifier()).unwrap();
    log.check_checkpoint(&old).unwrap();
    assert_eq!(log.head(), old.head());

    for i in 5..9 {
        assert_eq!(log.append(entry(i)).unwrap().seq, i);
    }
    let new = Checkpoint::open(&log.checkpoint(&signer).unwrap(), &signer.verifier()).unwrap();
    log.consistency_proof(old.size, new.size).unwrap().verify(&old.head(), &new.head()).unwrap();
    let r2 = log.record(2).unwrap();
    log.inclusion_proof(2, new.size).unwrap().verify(&r2.leaf_hash(), &new.head()).unwrap();
    assert_eq!(log.verify().unwrap(), new.head());
    drop(log);
    assert_eq!(verify_file(&path).unwrap().head, new.head());
}

#[test]
fn a_log_is_opened_once_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(&path).unwrap();
    let e = AuditLog::open(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    drop(log);
    AuditLog::open(&path).unwrap();
}

#[test]
fn concurrent_appenders_all_survive_a_reopen() {
    const THREADS: u64 = 6;
    const EACH: u64 = 20;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = Arc::new(AuditLog::open(&path).unwrap());
    let acked: Vec<Vec<u64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let log = Arc::clone(&log);
                s.spawn(move || (0..EACH).map(|i| log.append(entry(t * 1000 + i)).unwrap().seq).collect())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seqs: Vec<u64> = acked.concat();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..THREADS * EACH).collect::<Vec<_>>(), "dense, each seq once");
    let head = log.head();
    drop(log);
    let log = AuditLog::open(&path).unwrap();
    assert_eq!(log.head(), head);
    assert_eq!(log.verify().unwrap(), head);
}

#[test]
fn a_file_that_is_not_a_log_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    fs::write(&path, b"these are someone's notes, not an audit log\n").unwrap();
    let e = AuditLog::open(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert_eq!(verify_file(&path).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(fs::read(&path).unwrap(), b"these are someone's notes, not an audit log\n");
}

#[test]
fn an_interrupted_creation_is_started_over() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.log");
    drop(AuditLog::open(&reference).unwrap());
    let header = fs::read(&reference).unwrap();
    assert_eq!(header.len(), 24);
    // A longer file of zeros is no interrupted creation: see audit_tamper.rs.
    for blank in [Vec::new(), header[..5].to_vec(), vec![0u8; 10], vec![0u8; 24]] {
        let path = dir.path().join("audit.log");
        let _ = fs::remove_file(&path);
        fs::write(&path, &blank).unwrap();
        let log = AuditLog::open(&path).unwrap();
        assert_eq!(log.size(), 0);
        log.append(entry(0)).unwrap();
        drop(log);
        assert_eq!(verify_file(&path).unwrap().head.size, 1, "from {} blank bytes", blank.len());
        assert_eq!(&fs::read(&path).unwrap()[..24], &header[..]);
    }
}

#[test]
fn missing_files_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let e = verify_file(dir.path().join("absent.log")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = AuditLog::open(dir.path().join("no-such-dir").join("audit.log")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[test]
fn an_invalid_entry_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(&path).unwrap();
    log.append(entry(0)).unwrap();
    let len = fs::metadata(&path).unwrap().len();
    let forced = AuditEntry::new(1, "bob", Role::Operator, AuditAction::ForceSyncCluster, "gke-stage-eu");
    assert_eq!(log.append(forced.clone()).unwrap_err().kind(), ErrorKind::JustificationRequired);
    assert_eq!(log.append(forced.justification("   ")).unwrap_err().kind(), ErrorKind::JustificationRequired);
    assert_eq!(
        log.append(AuditEntry { actor: String::new(), ..entry(1) }).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(fs::metadata(&path).unwrap().len(), len);
    assert_eq!(log.size(), 1);
    assert!(log.failure().is_none(), "bad input does not fail the log");
}
