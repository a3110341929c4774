//! The hot path holds no I/O, a flapping node never grows the audit log,
//! and the change feed reports every transition exactly once, in order.

mod common;

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::{T0, engine, hb, v};
use fleetgov::audit::{AuditStore, Write};
use fleetgov::record::{HeartbeatRecord, OUTCOME_SIZE};
use fleetgov::*;

/// How long a test waits for another thread before it fails (never hit
/// unless something hangs).
const DEADLINE: Duration = Duration::from_secs(120);

fn audit_size(e: &Engine) -> usize {
    e.audit().len()
}

#[test]
fn a_node_flapping_ten_thousand_times_adds_at_most_one_audit_record() {
    let e = engine();
    let r1 = e.publish("stage", b"a", "alice", T0).unwrap();
    let r2 = e.publish("stage", b"b", "alice", T0).unwrap();
    let n = e.enroll("n", "stage", T0).unwrap();
    let before = audit_size(&e);
    for t in 0..10_000u64 {
        let report = if t % 2 == 0 { &r1 } else { &r2 };
        e.heartbeat(n, &hb(T0 + t, report)).unwrap();
    }
    assert_eq!(audit_size(&e), before + 1, "single calls: one wave record");

    // The same through one binary batch, after a new publish (a new wave).
    let r3 = e.publish("stage", b"c", "alice", T0).unwrap();
    let before = audit_size(&e);
    let records: Vec<HeartbeatRecord> = (0..10_000u64)
        .map(|t| {
            let s = if t % 2 == 0 { &r2 } else { &r3 };
            HeartbeatRecord::new(n, T0 + 20_000 + t, v("3.5.0"), ProcessStatus::Ready, Metrics::default())
                .with_applied(s.revision, s.hash)
        })
        .collect();
    let mut outcomes = vec![0u8; records.len() * OUTCOME_SIZE];
    let summary = e.ingest_batch(zerocopy::IntoBytes::as_bytes(&records[..]), &mut outcomes).unwrap();
    assert_eq!((summary.accepted, summary.directives), (10_000, 5_000));
    assert_eq!(audit_size(&e), before + 1, "one wave record");
    assert!(e.recount_mismatches().is_empty());
}

/// An audit store that holds every frame in memory and, while its gate is
/// closed, blocks each write until the gate opens (telling the test it did).
#[derive(Default)]
struct GatedStore {
    frames: Mutex<Vec<Vec<u8>>>,
    closed: Mutex<bool>,
    opened: Condvar,
    entered: Mutex<Option<mpsc::Sender<()>>>,
}

impl GatedStore {
    fn close(&self, entered: mpsc::Sender<()>) {
        *self.closed.lock().unwrap() = true;
        *self.entered.lock().unwrap() = Some(entered);
    }

    fn open(&self) {
        *self.closed.lock().unwrap() = false;
        self.opened.notify_all();
    }
}

/// The engine's handle on a [`GatedStore`] the test keeps too.
struct Gated(Arc<GatedStore>);

impl AuditStore for Gated {
    fn write(&self, _seq: u64, frame: &[u8]) -> fleetgov::Result<Write> {
        let store = &self.0;
        if let Some(entered) = store.entered.lock().unwrap().take() {
            let _ = entered.send(());
        }
        let mut closed = store.closed.lock().unwrap();
        while *closed {
            closed = store.opened.wait(closed).unwrap();
        }
        store.frames.lock().unwrap().push(frame.to_vec());
        Ok(Write::Written)
    }

    fn sync(&self) -> fleetgov::Result<()> {
        Ok(())
    }

    fn read_from(&self, from: u64) -> fleetgov::Result<Vec<Vec<u8>>> {
        Ok(self.0.frames.lock().unwrap().get(from as usize..).unwrap_or_default().to_vec())
    }
}

#[test]
fn a_slow_audit_store_does_not_block_readers_of_the_node_it_is_recording() {
    let store = Arc::new(GatedStore::default());
    let config = EngineConfig { clock: Clock::manual(T0), ..EngineConfig::default() };
    let e = Engine::with_audit_store(config, Box::new(Gated(Arc::clone(&store)))).unwrap();
    e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    e.upsert_cluster(ClusterSpec::new("stage", "ws", Environment::Staging).auto_reconcile(true)).unwrap();
    let r1 = e.publish("stage", b"a", "alice", T0).unwrap();
    e.publish("stage", b"b", "alice", T0).unwrap();
    let n = e.enroll("n", "stage", T0).unwrap();

    let (entered_tx, entered) = mpsc::channel();
    store.close(entered_tx);
    std::thread::scope(|scope| {
        // This heartbeat opens the cluster's reconciliation wave: its audit
        // record waits in the store.
        let opening = scope.spawn(|| e.heartbeat(n, &hb(T0 + 1, &r1)).unwrap().map(|d| d.kind));
        entered.recv_timeout(DEADLINE).expect("the wave's record reaches the store");
        // Meanwhile the node's view reads, and the node's next heartbeat
        // updates its slot; neither waits for the store.
        let (read_tx, read) = mpsc::channel();
        let e = &e;
        scope.spawn(move || {
            let view = e.node("n", T0 + 1).unwrap();
            read_tx.send(view.applied_snapshot_id).unwrap();
        });
        let applied = read.recv_timeout(DEADLINE).expect("the node's view is readable while its wave is recorded");
        assert_eq!(applied.as_deref(), Some("stage@r1"));
        assert!(!opening.is_finished(), "no directive before the record is acknowledged");
        store.open();
        assert_eq!(opening.join().unwrap(), Some(DirectiveKind::Reconcile));
    });
    assert_eq!(e.audit().last().unwrap().action, fleetgov::audit::AuditAction::AutoReconcile);
}

/// What a node's last transition said, replayed from node events.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Replayed {
    at_ms: u64,
    revision: Option<u32>,
    in_sync: bool,
    code: Option<SyncErrorCode>,
}

#[test]
fn every_transition_appears_once_and_in_order_under_multithreaded_ingest() {
    const NODES: usize = 64;
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 400;
    let e = engine();
    let failure = SyncError::new(SyncErrorCode::ReloadFailure, "bad filter");
    let r1 = e.publish("prod", b"a", "alice", T0).unwrap();
    let r2 = e.publish("prod", b"b", "alice", T0).unwrap();
    let handles: Vec<NodeHandle> = (0..NODES).map(|i| e.enroll(&format!("n{i}"), "prod", T0).unwrap()).collect();
    let mut feed = e.subscribe(None).unwrap();
    let start = feed.position();

    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (e, handles, r1, r2, failure) = (&e, &handles, &r1, &r2, &failure);
            scope.spawn(move || {
                let mut x = thread.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                for round in 0..ROUNDS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let node = handles[(x % NODES as u64) as usize];
                    let at = T0 + round * THREADS + thread;
                    let base = Heartbeat::new(at, v("3.5.0"));
                    let report = match x % 4 {
                        0 => base.applied(&r1.id, r1.hash),
                        1 => base.applied(&r2.id, r2.hash),
                        2 => base.applied(&r2.id, r1.hash),
                        _ => Heartbeat { sync_error: Some(failure), ..base },
                    };
                    // Stale reports (another thread was newer) are refused and emit nothing.
                    let _ = e.heartbeat(node, &report);
                }
            });
        }
    });

    let mut last: HashMap<String, Replayed> = HashMap::new();
    let mut clusters = HashMap::new();
    let mut expected_seq = start;
    while let Some(item) = feed.next_timeout(Duration::ZERO) {
        let FeedItem::Change(event) = item else { panic!("the feed holds every event of this test: {item:?}") };
        assert_eq!(event.seq, expected_seq, "consecutive sequence numbers");
        expected_seq += 1;
        match &event.change {
            Change::Node(c) => {
                let now =
                    Replayed { at_ms: c.at_ms, revision: c.applied_revision, in_sync: c.in_sync, code: c.sync_error };
                if let Some(prev) = last.get(&c.node) {
                    assert!(prev.at_ms < now.at_ms, "{}: events in heartbeat order", c.node);
                    assert_ne!((prev.revision, prev.in_sync, prev.code), (now.revision, now.in_sync, now.code));
                }
                last.insert(c.node.clone(), now);
            }
            Change::Cluster(c) => {
                clusters.insert(c.cluster.to_string(), c.clone());
            }
            other => panic!("no other change in this test: {other:?}"),
        }
    }
    // The last event of each node is what the engine holds now.
    for (node, replayed) in &last {
        let view = e.node(node, T0 + ROUNDS * THREADS).unwrap();
        let revision = view.applied_snapshot_id.as_deref().and_then(parse_snapshot_id).map(|(_, r)| r);
        let in_sync = view.config_status == ConfigStatus::InSync;
        let code = view.last_sync_error.map(|s| s.code);
        assert_eq!((replayed.revision, replayed.in_sync, replayed.code), (revision, in_sync, code), "{node}");
    }
    // The last cluster event counts what a recount finds.
    assert!(e.recount_mismatches().is_empty());
    let prod = e.cluster("prod", T0).unwrap();
    assert_eq!((clusters["prod"].in_sync, clusters["prod"].enrolled), (prod.in_sync, prod.total));
}

#[test]
fn a_subscriber_that_stops_reading_lags_and_ingest_goes_on() {
    let config = EngineConfig { clock: Clock::manual(T0), feed_capacity: 16, ..EngineConfig::default() };
    let e = Engine::with_config(config).unwrap();
    e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    e.upsert_cluster(ClusterSpec::new("c", "ws", Environment::Staging)).unwrap();
    let s = e.publish("c", b"a", "alice", T0).unwrap();
    let mut feed = e.subscribe(None).unwrap();
    for i in 0..100 {
        let n = e.enroll(&format!("n{i}"), "c", T0).unwrap();
        assert!(e.heartbeat(n, &hb(T0 + 1, &s)).unwrap().is_none());
    }
    // 300 events (a cluster event per enrolment, a node and a cluster event
    // per first report); 16 are held.
    let Some(FeedItem::Lagged { missed }) = feed.next_timeout(Duration::ZERO) else { panic!("a lag") };
    assert_eq!(missed, 300 - 16);
    let rest: Vec<u64> = std::iter::from_fn(|| match feed.next_timeout(Duration::ZERO) {
        Some(FeedItem::Change(e)) => Some(e.seq),
        _ => None,
    })
    .collect();
    assert_eq!(rest, (284..300).collect::<Vec<_>>());
    assert_eq!(e.cluster("c", T0 + 1).unwrap().in_sync, 100);
}

#[test]
fn authority_changes_and_overrides_are_announced_with_their_audit_sequence() {
    let e = engine();
    let mut feed = e.subscribe(None).unwrap();
    e.enroll("n", "prod", T0).unwrap();
    let published = e.publish("prod", b"a", "alice", T0).unwrap();
    let forced = e
        .force_sync(ForceTarget::Node("n"), &Override::new("bob", Role::Operator, "Node re-provisioning", T0))
        .unwrap();
    let changes: Vec<Change> = std::iter::from_fn(|| match feed.next_timeout(Duration::ZERO) {
        Some(FeedItem::Change(e)) => Some(e.change.clone()),
        _ => None,
    })
    .collect();
    let Change::Cluster(enrolled) = &changes[0] else { panic!("{changes:?}") };
    assert_eq!((&*enrolled.cluster, enrolled.desired_revision, enrolled.enrolled), ("prod", 0, 1));
    let Change::Audit(publish) = &changes[1] else { panic!("{changes:?}") };
    assert_eq!((publish.target.as_str(), publish.actor.as_str()), (published.id.as_str(), "alice"));
    let Change::Cluster(prod) = &changes[2] else { panic!("{changes:?}") };
    assert_eq!((&*prod.cluster, prod.desired_revision, prod.in_sync, prod.enrolled), ("prod", 1, 0, 1));
    let Change::Audit(force) = &changes[3] else { panic!("{changes:?}") };
    assert_eq!((force.audit_seq, force.target.as_str()), (forced.seq, "node:n"));
    assert_eq!(changes.len(), 4);
}

#[test]
fn enrolments_and_new_clusters_move_cluster_counters_in_the_feed() {
    let e = engine();
    let mut feed = e.subscribe(None).unwrap();
    e.enroll("n", "prod", T0).unwrap();
    e.enroll("n", "prod", T0).unwrap(); // the same node again: nothing changes
    e.upsert_cluster(ClusterSpec::new("edge", "ws", Environment::Staging)).unwrap();
    let clusters: Vec<(String, u64)> = std::iter::from_fn(|| feed.next_timeout(Duration::ZERO))
        .filter_map(|item| match item {
            FeedItem::Change(event) => match &event.change {
                Change::Cluster(c) => Some((c.cluster.to_string(), c.enrolled)),
                _ => None,
            },
            FeedItem::Lagged { .. } => panic!("no lag here"),
        })
        .collect();
    assert_eq!(clusters, [("prod".to_owned(), 1), ("edge".to_owned(), 0)]);
}
