//! The batch path: same results as single calls, malformed batches change
//! nothing, and concurrent batches keep the counters exact.

mod common;

use common::{T0, engine, record, v};
use fleetgov::record::{HeartbeatRecord, OUTCOME_SIZE, Outcome, OutcomeRecord, RECORD_SIZE};
use fleetgov::*;
use zerocopy::IntoBytes;

fn outcomes(n: usize) -> Vec<u8> {
    vec![0u8; n * OUTCOME_SIZE]
}

#[test]
fn batch_matches_single_calls() {
    let (batch, single) = (engine(), engine());
    let mut records = Vec::new();
    for e in [&batch, &single] {
        e.publish("stage", b"a", "p", T0).unwrap();
        e.publish("stage", b"b", "p", T0).unwrap();
        e.publish("prod", b"a", "p", T0).unwrap();
    }
    let r1 = single.snapshot("stage@r1").unwrap();
    let r2 = single.snapshot("stage@r2").unwrap();
    let p1 = single.snapshot("prod@r1").unwrap();
    for i in 0..300 {
        let cluster = if i % 3 == 0 { "prod" } else { "stage" };
        let h = batch.enroll(&format!("n{i}"), cluster, T0).unwrap();
        assert_eq!(single.enroll(&format!("n{i}"), cluster, T0).unwrap().slot(), h.slot());
        let snap = match (cluster, i % 4) {
            ("prod", _) => Some(&p1),
            (_, 0) => None,
            (_, 1) => Some(&r1),
            _ => Some(&r2),
        };
        let err = (i % 7 == 0).then_some((SyncErrorCode::ReloadFailure, "Incompatible Filter Signature"));
        records.push((i, record(h, T0 + i as u64, snap, err), snap, err));
    }
    let bytes: Vec<u8> = records.iter().flat_map(|(_, r, _, _)| r.as_bytes().to_vec()).collect();
    let mut out = outcomes(records.len());
    let summary = batch.ingest_batch(&bytes, &mut out).unwrap();
    assert_eq!((summary.accepted, summary.refused), (300, 0));
    let outs = OutcomeRecord::from_bytes_mut(&mut out).unwrap();
    for ((i, _, snap, err), out) in records.iter().zip(outs.iter()) {
        let e: Option<SyncError> = err.map(|(c, d)| SyncError::new(c, d));
        let mut hb = Heartbeat { sync_error: e.as_ref(), ..Heartbeat::new(T0 + *i as u64, v("3.5.0")) };
        hb.metrics = Metrics { cpu: 10.0, memory: 20.0, tps: 30.0, heap: 40.0, hot_swap_errors: 0 };
        if let Some(s) = snap {
            hb = hb.applied(&s.id, s.hash);
        }
        let d = single.heartbeat_by_id(&format!("n{i}"), &hb).unwrap();
        let expected = match d.map(|d| d.kind) {
            None => Outcome::Accepted,
            Some(DirectiveKind::Reconcile) => Outcome::Reconcile,
            Some(DirectiveKind::ForceSync) => Outcome::ForceSync,
        };
        assert_eq!(out.outcome(), Some(expected), "node n{i}");
        assert_eq!(out.directive(), d.map(|d| (d.snapshot.revision, d.snapshot.hash)));
    }
    for c in ["prod", "stage"] {
        assert_eq!(batch.cluster(c, T0).unwrap(), single.cluster(c, T0).unwrap());
    }
    for i in (0..300).step_by(37) {
        assert_eq!(batch.node(&format!("n{i}"), T0).unwrap(), single.node(&format!("n{i}"), T0).unwrap());
    }
    assert!(batch.recount_mismatches().is_empty());
}

#[test]
fn per_record_outcomes_for_state_rules() {
    let e = engine();
    let s = e.publish("prod", b"a", "p", T0).unwrap();
    let h = e.enroll("n", "prod", T0).unwrap();
    let ghost = NodeHandle::from_raw(h.to_raw() + 1000);
    let batch = [
        // Stamped before the engine's clock (T0), so their stamps order them.
        record(h, T0 - 5, Some(&s), None),
        record(h, T0 - 10, Some(&s), None),
        record(h, T0 + MAX_FUTURE_SKEW_MS + 1, Some(&s), None),
        record(ghost, T0, None, None),
    ];
    let bytes = batch.as_bytes();
    let mut out = outcomes(batch.len());
    let summary = e.ingest_batch(bytes, &mut out).unwrap();
    assert_eq!(summary, BatchSummary { accepted: 1, directives: 0, refused: 3 });
    let got: Vec<_> = OutcomeRecord::from_bytes_mut(&mut out).unwrap().iter().map(|o| o.outcome().unwrap()).collect();
    assert_eq!(got, [Outcome::Accepted, Outcome::Stale, Outcome::Future, Outcome::UnknownNode]);
}

/// A large batch is validated in parallel chunks, and its error still names
/// the first malformed record in batch order, with nothing applied.
#[test]
fn a_large_batch_names_its_first_malformed_record() {
    let e = engine();
    let s = e.publish("prod", b"a", "p", T0).unwrap();
    let h = e.enroll("n", "prod", T0).unwrap();
    let mut bytes = vec![record(h, T0, Some(&s), None); 30_000].as_bytes().to_vec();
    for bad in [29_000, 12_345, 12_346] {
        bytes[bad * RECORD_SIZE] = 9; // an unknown format version
    }
    let mut out = outcomes(30_000);
    let err = e.ingest_batch(&bytes, &mut out).unwrap_err();
    assert!(err.message().starts_with("record 12345:"), "{err}");
    assert_eq!(e.node("n", T0).unwrap().health, Health::Never);
}

#[test]
fn a_malformed_record_rejects_the_whole_batch_and_changes_nothing() {
    let e = engine();
    let s = e.publish("prod", b"a", "p", T0).unwrap();
    let h = e.enroll("n", "prod", T0).unwrap();
    let other = e.enroll("m", "prod", T0).unwrap();
    let mut bytes = [record(h, T0, Some(&s), None), record(other, T0, Some(&s), None)].as_bytes().to_vec();
    bytes[RECORD_SIZE + 60..RECORD_SIZE + 64].copy_from_slice(&f32::NAN.to_le_bytes());
    let mut out = outcomes(2);
    let err = e.ingest_batch(&bytes, &mut out).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().starts_with("record 1:"), "{err}");
    assert_eq!(e.node("n", T0).unwrap().health, Health::Never);
    assert_eq!(e.cohesion("prod").unwrap(), 0);
    assert_eq!(e.ingest_batch(&bytes[..200], &mut out).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(e.ingest_batch(&bytes[..RECORD_SIZE], &mut out[..39]).unwrap_err().kind(), ErrorKind::InvalidInput);
    let mut short = outcomes(1);
    bytes[RECORD_SIZE + 60..RECORD_SIZE + 64].copy_from_slice(&1f32.to_le_bytes());
    assert_eq!(e.ingest_batch(&bytes, &mut short).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(e.node("n", T0).unwrap().health, Health::Never);
}

#[test]
fn concurrent_batches_keep_counters_exact() {
    const NODES: usize = 20_000;
    let e = engine();
    for c in ["prod", "stage"] {
        e.publish(c, b"one", "p", T0).unwrap();
        e.publish(c, b"two", "p", T0).unwrap();
    }
    let snaps: Vec<Snapshot> =
        ["prod@r1", "prod@r2", "stage@r1", "stage@r2"].iter().map(|id| e.snapshot(id).unwrap()).collect();
    let handles: Vec<_> = (0..NODES)
        .map(|i| e.enroll(&format!("n{i}"), if i % 2 == 0 { "prod" } else { "stage" }, T0).unwrap())
        .collect();
    std::thread::scope(|scope| {
        for t in 0..3u64 {
            let (e, handles, snaps) = (&e, &handles, &snaps);
            scope.spawn(move || {
                let mut x = 0x2545f4914f6cdd1du64 ^ t;
                for round in 0..4u64 {
                    let batch: Vec<HeartbeatRecord> = (0..10_000)
                        .map(|_| {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            let node = x as usize % NODES;
                            let base = if node.is_multiple_of(2) { 0 } else { 2 };
                            let s = &snaps[base + (x >> 33) as usize % 2];
                            let err = ((x >> 50).is_multiple_of(8)).then_some((SyncErrorCode::NatsTimeout, "late"));
                            record(handles[node], T0 + round, Some(s), err)
                        })
                        .collect();
                    let mut out = outcomes(batch.len());
                    e.ingest_batch(batch.as_bytes(), &mut out).unwrap();
                }
            });
        }
    });
    assert_eq!(e.recount_mismatches(), Vec::<String>::new());
}

/// A time-ordered batch that reports nodes several times is applied as if
/// record by record, whatever its size and however it is split across threads.
#[test]
fn repeated_nodes_keep_their_order_at_every_batch_size() {
    for (nodes, copies) in [(1usize, 70_000u64), (7, 10_000), (5_000, 2), (40_000, 1), (3, 5)] {
        let e = engine();
        let (r1, r2) = (e.publish("prod", b"a", "p", T0).unwrap(), e.publish("prod", b"b", "p", T0).unwrap());
        let handles: Vec<NodeHandle> = (0..nodes).map(|i| e.enroll(&format!("n{i}"), "prod", T0).unwrap()).collect();
        // Copy k of every node, then copy k + 1 of every node: strictly later
        // in time per node; the last copy reports r2 exactly for odd nodes.
        let records: Vec<HeartbeatRecord> = (0..copies)
            .flat_map(|k| {
                let (r1, r2, handles) = (&r1, &r2, &handles);
                handles.iter().enumerate().map(move |(i, &h)| {
                    let s = if (k + i as u64).is_multiple_of(2) { r1 } else { r2 };
                    record(h, T0 + 1 + k, Some(s), None)
                })
            })
            .collect();
        let mut out = outcomes(records.len());
        let summary = e.ingest_batch(records.as_bytes(), &mut out).unwrap();
        assert_eq!((summary.accepted, summary.refused), (records.len() as u64, 0), "{nodes} nodes × {copies}");
        let last = copies - 1;
        let expected_in_sync = (0..nodes as u64).filter(|i| (last + i) % 2 == 1).count() as u64;
        assert_eq!(e.cluster("prod", T0 + copies).unwrap().in_sync, expected_in_sync, "{nodes} nodes × {copies}");
        assert!(e.recount_mismatches().is_empty());
    }
}

/// Every outcome of a batch large enough to be split into windows and
/// parts lands at its own record's index: each record's verdict follows from
/// its index alone (a first copy from the future is refused, a second copy
/// older than an accepted first is stale, one after a refused first is
/// accepted), so any misplaced outcome shows.
#[test]
fn a_large_batch_writes_each_outcome_at_its_own_records_index() {
    // 90,000 records: more than one window, the last one and its last chunk short.
    const NODES: usize = 45_000;
    let e = engine();
    let s = e.publish("prod", b"a", "p", T0).unwrap();
    let handles: Vec<NodeHandle> = (0..NODES).map(|i| e.enroll(&format!("n{i}"), "prod", T0).unwrap()).collect();
    let future = |i: usize| i % 7 == 3;
    let first = handles.iter().enumerate().map(|(i, &h)| {
        let at = if future(i) { T0 + MAX_FUTURE_SKEW_MS + 1 } else { T0 };
        record(h, at, Some(&s), None)
    });
    let second = handles.iter().rev().map(|&h| record(h, T0 - 1, Some(&s), None));
    let records: Vec<HeartbeatRecord> = first.chain(second).collect();
    let mut out = outcomes(records.len());
    let summary = e.ingest_batch(records.as_bytes(), &mut out).unwrap();
    let outcomes = OutcomeRecord::from_bytes_mut(&mut out).unwrap();
    for (k, o) in outcomes.iter().enumerate() {
        let (node, is_first) = if k < NODES { (k, true) } else { (2 * NODES - 1 - k, false) };
        let expected = match (is_first, future(node)) {
            (true, true) => Outcome::Future,
            (true, false) => Outcome::Accepted,
            (false, true) => Outcome::Accepted,
            (false, false) => Outcome::Stale,
        };
        assert_eq!(o.outcome(), Some(expected), "record {k} (node {node})");
    }
    assert_eq!((summary.accepted, summary.refused), (NODES as u64, NODES as u64));
    assert!(e.recount_mismatches().is_empty());
}

/// Issue 22, defect 10, batch path: a record from a clock 4 minutes fast
/// counts at the engine's clock, so the node's correct records afterwards
/// are applied, and records behind the clock still keep their order.
#[test]
fn a_fast_clock_cannot_lock_its_node_out_of_batches() {
    let e = engine();
    let r1 = e.publish("prod", b"a", "p", T0).unwrap();
    let r2 = e.publish("prod", b"b", "p", T0).unwrap();
    let h = e.enroll("n", "prod", T0).unwrap();
    let fast = T0 + 4 * 60_000;
    let ingest = |batch: &[HeartbeatRecord]| {
        let mut out = outcomes(batch.len());
        e.ingest_batch(batch.as_bytes(), &mut out).unwrap();
        OutcomeRecord::from_bytes_mut(&mut out).unwrap().iter().map(|o| o.outcome().unwrap()).collect::<Vec<_>>()
    };
    // Within one batch, records of a fast clock count at the same moment: batch order.
    let got = ingest(&[record(h, fast + 2, Some(&r2), None), record(h, fast + 1, Some(&r1), None)]);
    assert_eq!(got, [Outcome::Accepted, Outcome::Accepted]);
    let view = e.node("n", T0).unwrap();
    assert_eq!((view.applied_snapshot_id.as_deref(), view.last_heartbeat_ms), (Some("prod@r1"), Some(T0)));
    // The node's clock is corrected.
    e.clock().set(T0 + 1_000);
    let got = ingest(&[record(h, T0 + 1_000, Some(&r2), None), record(h, T0 + 999, Some(&r1), None)]);
    assert_eq!(got, [Outcome::Accepted, Outcome::Stale]);
    let view = e.node("n", T0 + 1_000).unwrap();
    assert_eq!((view.applied_snapshot_id.as_deref(), view.last_heartbeat_ms), (Some("prod@r2"), Some(T0 + 1_000)));
    assert!(e.recount_mismatches().is_empty());
}

/// Issue 22, defect 7: a sync-error detail used to be cut at 512 bytes on
/// the single path and 47 on the batch path; the engine now keeps the same
/// text on both, [`cut_detail`] of what the node sent.
#[test]
fn a_sync_error_detail_is_kept_alike_on_every_path() {
    let e = engine();
    let s = e.publish("prod", b"a", "p", T0).unwrap();
    let long = format!("{} and {}", "é".repeat(30), "x".repeat(600));
    for (i, detail) in ["Incompatible Filter Signature", "x".repeat(47).as_str(), "€".repeat(16).as_str(), &long]
        .into_iter()
        .enumerate()
    {
        let single = e.enroll(&format!("single-{i}"), "prod", T0).unwrap();
        let batch = e.enroll(&format!("batch-{i}"), "prod", T0).unwrap();
        let error = SyncError::new(SyncErrorCode::ReloadFailure, detail);
        e.heartbeat(single, &Heartbeat { sync_error: Some(&error), ..common::hb(T0, &s) }).unwrap();
        let r = record(batch, T0, Some(&s), Some((SyncErrorCode::ReloadFailure, detail)));
        e.ingest_batch(r.as_bytes(), &mut outcomes(1)).unwrap();
        let kept = |node: String| e.node(&node, T0).unwrap().last_sync_error.unwrap();
        let (single, batch) = (kept(format!("single-{i}")), kept(format!("batch-{i}")));
        assert_eq!(single, batch, "detail {i}");
        assert_eq!(single.detail, cut_detail(detail), "detail {i}");
        assert!(single.detail.len() <= MAX_DETAIL_LEN && detail.starts_with(&single.detail));
    }
}
