//! The batch path by node id: the same outcomes and state as the batch by
//! handle on the same records, unknown ids refused at their record, bad
//! input refused whole with nothing changed, a node's records in order.

mod common;

use common::{T0, engine, record};
use fleetgov::record::{HeartbeatRecord, Outcome, OutcomeRecord};
use fleetgov::*;
use zerocopy::IntoBytes;

/// What a record of a batch by id carries in its handle field.
fn no_handle() -> NodeHandle {
    NodeHandle::from_raw(0)
}

fn outcomes(records: &[HeartbeatRecord]) -> Vec<OutcomeRecord> {
    vec![OutcomeRecord::default(); records.len()]
}

/// Two engines with the same clusters, snapshots and `nodes` nodes, enrolled
/// in the same order (so at the same slots).
fn twins(nodes: usize) -> [Engine; 2] {
    [engine(), engine()].map(|e| {
        for (cluster, bytes) in [("stage", b"a"), ("stage", b"b"), ("prod", b"a"), ("prod", b"b")] {
            e.publish(cluster, bytes, "p", T0).unwrap();
        }
        for i in 0..nodes {
            e.enroll(&format!("n{i}"), if i.is_multiple_of(3) { "prod" } else { "stage" }, T0).unwrap();
        }
        e
    })
}

/// A stream over `nodes` nodes that repeats nodes, moves them between
/// snapshots (stage auto-reconciles: directives), reports errors, and
/// includes stale, future and unknown-node records.
fn stream(e: &Engine, nodes: usize, len: usize, ghost: NodeHandle) -> Vec<(String, HeartbeatRecord)> {
    let snaps = ["stage@r1", "stage@r2", "prod@r1", "prod@r2"].map(|id| e.snapshot(id).unwrap());
    (0..len)
        .map(|k| {
            let n = (k * 7_919) % nodes;
            let id = format!("n{n}");
            let h = e.node_handle(&id).unwrap();
            let base = if n.is_multiple_of(3) { 2 } else { 0 };
            let snap = match k % 5 {
                0 => None,
                1 | 2 => Some(&snaps[base]),
                _ => Some(&snaps[base + 1]),
            };
            let err = (k % 11 == 0).then_some((SyncErrorCode::ReloadFailure, "Incompatible Filter Signature"));
            let at = match k % 97 {
                13 => T0 - 60_000 - k as u64, // stale once the node has reported
                29 => T0 + MAX_FUTURE_SKEW_MS + 1,
                _ => T0 - 50_000 + k as u64,
            };
            match k % 89 {
                44 => ("ghost-node".to_string(), record(ghost, at, snap, err)),
                _ => (id, record(h, at, snap, err)),
            }
        })
        .collect()
}

fn without_handle(r: &HeartbeatRecord) -> HeartbeatRecord {
    let mut bytes = [0u8; 128];
    bytes.copy_from_slice(r.as_bytes());
    bytes[8..16].fill(0); // the handle field
    let zeroed = HeartbeatRecord::decode_all(&bytes).unwrap()[0];
    assert_eq!(zeroed.handle(), no_handle());
    zeroed
}

/// The same records by handle and by id: the same outcome records, byte for
/// byte, and the same clusters and nodes afterwards. Large enough for the
/// handle batch to go parallel and the id batch to take several windows.
#[test]
fn by_id_matches_the_handle_batch_on_the_same_records() {
    let nodes = 3_000;
    let [by_handle, by_id] = twins(nodes);
    let ghost = NodeHandle::from_raw(by_handle.node_handle("n0").unwrap().to_raw() + 1_000_000);
    let stream = stream(&by_handle, nodes, 20_000, ghost);
    let records: Vec<HeartbeatRecord> = stream.iter().map(|(_, r)| *r).collect();
    let bare: Vec<HeartbeatRecord> = records.iter().map(without_handle).collect();
    let ids: IdBuffer = stream.iter().map(|(id, _)| id.as_str()).collect();

    let (mut want, mut got) = (outcomes(&records), outcomes(&records));
    let a = by_handle.ingest_records(&records, &mut want).unwrap();
    let b = by_id.ingest_by_id(ids.column(), &bare, &mut got).unwrap();
    assert_eq!(a, b);
    assert!(a.refused > 0 && a.directives > 0 && a.accepted > 0, "the stream exercises every outcome: {a:?}");
    let outcome_kinds: std::collections::BTreeSet<_> = got.iter().map(|o| o.outcome().unwrap() as u8).collect();
    assert!(outcome_kinds.len() >= 5, "{outcome_kinds:?}");
    for (k, (w, g)) in want.iter().zip(&got).enumerate() {
        assert_eq!(w.as_bytes(), g.as_bytes(), "record {k}: {:?} by handle, {:?} by id", w.outcome(), g.outcome());
    }
    assert_same_clusters(&by_handle, &by_id);
    for n in 0..nodes {
        let id = format!("n{n}");
        assert_eq!(by_handle.node(&id, T0).unwrap(), by_id.node(&id, T0).unwrap(), "{id}");
    }
    assert!(by_id.recount_mismatches().is_empty());
}

/// The same cluster views, but for each root cause's example node: the last
/// node to move into the cause, which depends on the order in which the
/// parts of a split batch ran, so only its presence is compared.
fn assert_same_clusters(want: &Engine, got: &Engine) {
    for c in ["prod", "stage"] {
        let (mut w, mut g) = (want.cluster(c, T0).unwrap(), got.cluster(c, T0).unwrap());
        for cause in w.root_causes.iter_mut().chain(g.root_causes.iter_mut()) {
            cause.example_node = cause.example_node.as_ref().map(|_| "any".to_string());
        }
        assert_eq!(w, g);
    }
}

#[test]
fn an_unknown_id_is_refused_at_its_record_and_the_rest_applied() {
    let e = engine();
    let s = e.publish("prod", b"a", "p", T0).unwrap();
    e.enroll("gw-1", "prod", T0).unwrap();
    e.enroll("gw-2", "prod", T0).unwrap();
    let r = record(no_handle(), T0, Some(&s), None);
    let ids: IdBuffer = ["gw-1", "gw-unknown", "gw-2"].into_iter().collect();
    let mut out = [OutcomeRecord::default(); 3];
    let summary = e.ingest_by_id(ids.column(), &[r; 3], &mut out).unwrap();
    assert_eq!(summary, BatchSummary { accepted: 2, directives: 0, refused: 1 });
    let got: Vec<_> = out.iter().map(|o| o.outcome().unwrap()).collect();
    assert_eq!(got, [Outcome::Accepted, Outcome::UnknownNode, Outcome::Accepted]);
    assert_eq!(e.cluster("prod", T0).unwrap().in_sync, 2);

    // A removed node is unknown too.
    e.unenroll("gw-2", &By::new("ops", Role::Operator, T0)).unwrap();
    let summary = e.ingest_by_id(ids.column(), &[r; 3], &mut out).unwrap();
    assert_eq!((summary.accepted, summary.refused), (1, 2));
    assert_eq!(out[2].outcome(), Some(Outcome::UnknownNode));
}

#[test]
fn bad_input_is_refused_whole_naming_the_record_and_changes_nothing() {
    let e = engine();
    let s = e.publish("prod", b"a", "p", T0).unwrap();
    let h = e.enroll("gw-1", "prod", T0).unwrap();
    e.enroll("gw-2", "prod", T0).unwrap();
    let good = record(no_handle(), T0, Some(&s), None);
    let ids: IdBuffer = ["gw-1", "gw-2", "gw-1"].into_iter().collect();
    let mut out = [OutcomeRecord::default(); 3];
    let refused = |ids: IdColumn<'_>, records: &[HeartbeatRecord], out: &mut [OutcomeRecord]| {
        let err = e.ingest_by_id(ids, records, out).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(e.node("gw-1", T0).unwrap().health, Health::Never, "nothing applied: {err}");
        assert_eq!(e.node("gw-2", T0).unwrap().health, Health::Never, "nothing applied: {err}");
        err.message().to_string()
    };
    // A record carrying a handle: the id and the handle could disagree.
    let msg = refused(ids.column(), &[good, good, record(h, T0, Some(&s), None)], &mut out);
    assert!(msg.starts_with("record 2:") && msg.contains("handle"), "{msg}");
    // A malformed record.
    let mut bytes = good.as_bytes().to_vec();
    bytes[0] = 9; // an unknown format version
    let bad = *zerocopy::FromBytes::ref_from_bytes(&bytes[..]).map(|r: &HeartbeatRecord| r).unwrap();
    assert!(refused(ids.column(), &[good, bad, good], &mut out).starts_with("record 1:"));
    // A malformed id: not a node id, or not UTF-8.
    let spaced: IdBuffer = ["gw-1", "gw-2", "gw 1"].into_iter().collect();
    assert!(refused(spaced.column(), &[good; 3], &mut out).starts_with("record 2:"));
    let offsets = [0, 4, 8, 10];
    let raw = [b"gw-1".as_slice(), b"gw-2", &[0xff, 0xfe]].concat();
    assert!(refused(IdColumn::new(&offsets, &raw).unwrap(), &[good; 3], &mut out).starts_with("record 2:"));
    // Counts that do not match.
    assert!(refused(ids.column(), &[good; 2], &mut out).contains("3 node ids for 2 records"));
    assert!(refused(ids.column(), &[good; 3], &mut out[..2]).contains("outcome buffer"));
}

/// A node reported several times in one batch: applied in batch order, so a
/// move and its move back both count, and a record older than one before it
/// is stale.
#[test]
fn a_nodes_records_keep_their_batch_order() {
    let clock = Clock::manual(T0);
    let e = Engine::with_config(EngineConfig { clock: clock.clone(), ..EngineConfig::default() }).unwrap();
    e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
    let r1 = e.publish("prod", b"a", "p", T0).unwrap();
    let r2 = e.publish("prod", b"b", "p", T0).unwrap();
    e.enroll("gw-1", "prod", T0).unwrap();
    e.enroll("gw-2", "prod", T0).unwrap();
    clock.set(T0 + 1_000);
    let batch = [
        ("gw-1", record(no_handle(), T0 + 40, Some(&r2), None)),
        ("gw-2", record(no_handle(), T0 + 40, Some(&r2), None)),
        ("gw-1", record(no_handle(), T0 + 50, Some(&r1), None)),
        ("gw-1", record(no_handle(), T0 + 45, Some(&r2), None)), // older than the one before: stale
        ("gw-1", record(no_handle(), T0 + 60, Some(&r2), None)),
        ("gw-2", record(no_handle(), T0 + 70, Some(&r1), None)),
    ];
    let ids: IdBuffer = batch.iter().map(|(id, _)| *id).collect();
    let records: Vec<HeartbeatRecord> = batch.iter().map(|(_, r)| *r).collect();
    let mut out = outcomes(&records);
    e.ingest_by_id(ids.column(), &records, &mut out).unwrap();
    let got: Vec<_> = out.iter().map(|o| o.outcome().unwrap()).collect();
    use Outcome::{Accepted, Stale};
    assert_eq!(got, [Accepted, Accepted, Accepted, Stale, Accepted, Accepted]);
    let now = T0 + 1_000;
    let (n1, n2) = (e.node("gw-1", now).unwrap(), e.node("gw-2", now).unwrap());
    assert_eq!((n1.applied_snapshot_id.as_deref(), n1.last_heartbeat_ms), (Some("prod@r2"), Some(T0 + 60)));
    assert_eq!((n2.applied_snapshot_id.as_deref(), n2.last_heartbeat_ms), (Some("prod@r1"), Some(T0 + 70)));
    assert_eq!(e.cluster("prod", now).unwrap().in_sync, 1);
    let history = e.history("gw-1", T0, now).unwrap();
    let ran: Vec<_> = history.iter().map(|c| (c.at_ms, c.snapshot.as_deref())).collect();
    assert_eq!(ran, [(T0 + 40, Some("prod@r2")), (T0 + 50, Some("prod@r1")), (T0 + 60, Some("prod@r2"))]);
}

/// A slice of a longer column (a first offset above zero) names the same nodes.
#[test]
fn a_sliced_column_names_its_own_records() {
    let e = engine();
    let s = e.publish("prod", b"a", "p", T0).unwrap();
    for id in ["gw-1", "gw-2", "gw-3"] {
        e.enroll(id, "prod", T0).unwrap();
    }
    let ids: IdBuffer = ["gw-1", "gw-2", "gw-3"].into_iter().collect();
    let mut out = [OutcomeRecord::default(); 2];
    e.ingest_by_id(ids.slice(1..3), &[record(no_handle(), T0, Some(&s), None); 2], &mut out).unwrap();
    assert_eq!(e.node("gw-1", T0).unwrap().health, Health::Never);
    assert_ne!(e.node("gw-3", T0).unwrap().health, Health::Never);
    assert_eq!(e.cluster("prod", T0).unwrap().in_sync, 2);
}

/// Runs `ingest` on a pool of four threads, so a large batch splits over
/// the pool whatever the machine's core count.
fn on_four_threads<T: Send>(ingest: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap().install(ingest)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// Random batches by id and by handle, with nodes repeated many times
    /// over, unknown ids, stale, future and moving records, at sizes on both
    /// sides of the parallel split: the same outcome records, byte for
    /// byte, and the same nodes afterwards.
    #[test]
    fn by_id_equals_by_handle_on_random_batches(
        nodes in 1usize..300,
        // Per record: its node (past the enrolled ones, an unknown id), its
        // stamp's distance from T0, which of its cluster's snapshots it
        // reports (0: none), whether it reports a sync error.
        picks in proptest::collection::vec((0usize..330, -400_000i64..400_000, 0usize..3, proptest::bool::weighted(0.1)), 0..20_000),
    ) {
        let [by_handle, by_id] = twins(nodes);
        let ghost = NodeHandle::from_raw(by_handle.node_handle("n0").unwrap().to_raw() + 1_000_000);
        let snaps = ["stage@r1", "stage@r2", "prod@r1", "prod@r2"].map(|id| by_handle.snapshot(id).unwrap());
        let (mut records, mut bare, mut ids) = (Vec::new(), Vec::new(), IdBuffer::default());
        for &(n, offset, snap, err) in &picks {
            let (id, handle) = match n < nodes {
                true => (format!("n{n}"), by_handle.node_handle(&format!("n{n}")).unwrap()),
                false => (format!("ghost-{n}"), ghost),
            };
            let base = if n.is_multiple_of(3) { 2 } else { 0 };
            let snap = (snap > 0).then(|| &snaps[base + snap - 1]);
            let err = err.then_some((SyncErrorCode::ReloadFailure, "Incompatible Filter Signature"));
            let at = T0.saturating_add_signed(offset);
            records.push(record(handle, at, snap, err));
            bare.push(record(no_handle(), at, snap, err));
            ids.push(&id).unwrap();
        }
        let (mut want, mut got) = (outcomes(&records), outcomes(&records));
        let a = on_four_threads(|| by_handle.ingest_records(&records, &mut want)).unwrap();
        let b = on_four_threads(|| by_id.ingest_by_id(ids.column(), &bare, &mut got)).unwrap();
        proptest::prop_assert_eq!(a, b);
        for (k, (w, g)) in want.iter().zip(&got).enumerate() {
            proptest::prop_assert_eq!(w.as_bytes(), g.as_bytes(), "record {}: {:?} by handle, {:?} by id", k, w.outcome(), g.outcome());
        }
        for n in 0..nodes {
            let id = format!("n{n}");
            proptest::prop_assert_eq!(by_handle.node(&id, T0).unwrap(), by_id.node(&id, T0).unwrap(), "{}", id);
        }
        assert_same_clusters(&by_handle, &by_id);
        proptest::prop_assert!(by_id.recount_mismatches().is_empty());
    }
}
