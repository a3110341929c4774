//! Every rule of the design's §2, boundaries included.

mod common;

use common::{T0, engine, hb, v};
use fleetgov::health::{DORMANT_AFTER_MS, STALE_AFTER_MS};
use fleetgov::*;

#[test]
fn in_sync_needs_the_same_id_and_the_same_hash() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let n = e.enroll("n1", "prod", T0).unwrap();
    e.heartbeat(n, &hb(T0, &s)).unwrap();
    assert_eq!(e.node("n1", T0).unwrap().config_status, ConfigStatus::InSync);

    let forged = Heartbeat::new(T0 + 1, v("3.5.0")).applied(&s.id, ContentHash::of(b"tampered"));
    e.heartbeat(n, &forged).unwrap();
    let view = e.node("n1", T0).unwrap();
    assert_eq!(view.config_status, ConfigStatus::Divergent);
    assert_eq!(view.status, NodeStatus::Divergent);
    assert_eq!(view.last_sync_error.as_ref().unwrap().code, SyncErrorCode::HashMismatch);
    assert_eq!(view.applied_hash, Some(ContentHash::of(b"tampered")));
    assert_eq!(e.cohesion("prod").unwrap(), 0);
    let c = e.cluster("prod", T0).unwrap();
    assert_eq!(c.root_causes[0].code, SyncErrorCode::HashMismatch);
    assert_eq!(c.root_causes[0].example_node.as_deref(), Some("n1"));
}

#[test]
fn same_hash_under_an_older_id_is_not_in_sync() {
    let e = engine();
    let r1 = e.publish("prod", b"same", "alice", T0).unwrap();
    let _r2 = e.publish("prod", b"same", "alice", T0).unwrap();
    let n = e.enroll("n1", "prod", T0).unwrap();
    e.heartbeat(n, &hb(T0, &r1)).unwrap();
    assert_eq!(e.node("n1", T0).unwrap().config_status, ConfigStatus::Divergent);
    assert_eq!(e.node("n1", T0).unwrap().drift, DriftStatus::NeedsReconcile);
}

#[test]
fn cohesion_counts_every_enrolled_node_and_floors() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let handles: Vec<_> = (0..3).map(|i| e.enroll(&format!("n{i}"), "prod", T0).unwrap()).collect();
    assert_eq!((e.cohesion("prod").unwrap(), e.cluster_status("prod").unwrap()), (0, ClusterStatus::Divergent));
    e.heartbeat(handles[0], &hb(T0, &s)).unwrap();
    assert_eq!((e.cohesion("prod").unwrap(), e.cluster_status("prod").unwrap()), (33, ClusterStatus::Divergent));
    e.heartbeat(handles[1], &hb(T0, &s)).unwrap();
    assert_eq!((e.cohesion("prod").unwrap(), e.cluster_status("prod").unwrap()), (66, ClusterStatus::Syncing));
    e.heartbeat(handles[2], &hb(T0, &s)).unwrap();
    assert_eq!((e.cohesion("prod").unwrap(), e.cluster_status("prod").unwrap()), (100, ClusterStatus::Healthy));
    e.enroll("n3", "prod", T0).unwrap();
    assert_eq!((e.cohesion("prod").unwrap(), e.cluster_status("prod").unwrap()), (75, ClusterStatus::Syncing));

    let c = e.cluster("prod", T0).unwrap();
    assert_eq!((c.in_sync, c.total, c.desired_hash), (3, 4, Some(s.hash)));
    assert_eq!(c.revisions, vec![RevisionCount { revision: 0, nodes: 1 }, RevisionCount { revision: 1, nodes: 3 }]);
}

#[test]
fn fifty_percent_is_syncing() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let a = e.enroll("a", "prod", T0).unwrap();
    e.enroll("b", "prod", T0).unwrap();
    e.heartbeat(a, &hb(T0, &s)).unwrap();
    assert_eq!((e.cohesion("prod").unwrap(), e.cluster_status("prod").unwrap()), (50, ClusterStatus::Syncing));
}

#[test]
fn publishing_flips_cohesion_without_touching_nodes() {
    let e = engine();
    let r1 = e.publish("prod", b"a", "alice", T0).unwrap();
    for i in 0..10 {
        let n = e.enroll(&format!("n{i}"), "prod", T0).unwrap();
        e.heartbeat(n, &hb(T0, &r1)).unwrap();
    }
    assert_eq!(e.cohesion("prod").unwrap(), 100);
    let r2 = e.publish("prod", b"b", "alice", T0).unwrap();
    assert_eq!((r2.revision, r2.id.as_str()), (2, "prod@r2"));
    assert_eq!(e.cohesion("prod").unwrap(), 0);
    let c = e.cluster("prod", T0).unwrap();
    assert_eq!(c.revisions, vec![RevisionCount { revision: 1, nodes: 10 }]);
    assert_eq!(c.desired_snapshot.as_deref(), Some("prod@r2"));
    assert!(e.recount_mismatches().is_empty());
}

#[test]
fn health_boundaries_at_five_and_sixty_minutes() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let n = e.enroll("n", "prod", T0).unwrap();
    assert_eq!(e.node("n", T0).unwrap().health, Health::Never);
    e.heartbeat(n, &hb(T0, &s)).unwrap();
    let health = |dt| e.node("n", T0 + dt).unwrap().health;
    assert_eq!(health(STALE_AFTER_MS - 1), Health::Connected);
    assert_eq!(health(STALE_AFTER_MS), Health::Stale);
    assert_eq!(health(DORMANT_AFTER_MS), Health::Stale);
    assert_eq!(health(DORMANT_AFTER_MS + 1), Health::Dormant);
    assert_eq!(e.node("n", T0 + DORMANT_AFTER_MS + 1).unwrap().process_health, ProcessHealth::Offline);
    assert_eq!(e.node("n", T0 + STALE_AFTER_MS).unwrap().process_health, ProcessHealth::Degraded);
    assert_eq!(e.node("n", T0).unwrap().process_health, ProcessHealth::Healthy);
}

#[test]
fn drift_rules_apply_in_order_with_the_version_boundary() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let n = e.enroll("n", "prod", T0).unwrap();
    assert_eq!(e.node("n", T0).unwrap().drift, DriftStatus::AwaitingSync);
    let old = Heartbeat { runtime_version: v("3.3.9"), ..hb(T0, &s) };
    e.heartbeat(n, &old).unwrap();
    assert_eq!(e.node("n", T0).unwrap().drift, DriftStatus::UpgradeRequired);
    let exact = Heartbeat { at_ms: T0 + 1, runtime_version: v("3.4.0"), ..hb(T0, &s) };
    e.heartbeat(n, &exact).unwrap();
    assert_eq!(e.node("n", T0).unwrap().drift, DriftStatus::Aligned);
    e.publish("prod", b"b", "alice", T0).unwrap();
    assert_eq!(e.node("n", T0).unwrap().drift, DriftStatus::NeedsReconcile);
    e.upsert_workspace(WorkspaceSpec::new("ws").min_runtime_version(v("3.5.0"))).unwrap();
    assert_eq!(e.node("n", T0).unwrap().drift, DriftStatus::UpgradeRequired);
}

#[test]
fn node_status_and_last_sync_error_are_kept() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let n = e.enroll("n", "prod", T0).unwrap();
    assert_eq!(e.node("n", T0).unwrap().status, NodeStatus::Starting);
    let err: SyncError = "JVM_MEMORY_PRESSURE: OOM during policy load".parse().unwrap();
    let failing = Heartbeat { status: ProcessStatus::Error, sync_error: Some(&err), ..Heartbeat::new(T0, v("3.5.0")) };
    e.heartbeat(n, &failing).unwrap();
    let view = e.node("n", T0).unwrap();
    assert_eq!(view.status, NodeStatus::Error);
    assert_eq!(view.last_sync_error.as_ref(), Some(&err));
    assert_eq!(view.reconcile_reason.as_deref(), Some("JVM_MEMORY_PRESSURE: OOM during policy load"));
    let c = e.cluster("prod", T0).unwrap();
    assert_eq!((c.root_causes.len(), c.root_causes[0].nodes), (1, 1));

    e.heartbeat(n, &hb(T0 + 1, &s)).unwrap();
    let view = e.node("n", T0).unwrap();
    assert_eq!((view.status, view.last_sync_error), (NodeStatus::Ready, None));
    assert!(e.cluster("prod", T0).unwrap().root_causes.is_empty());
}

#[test]
fn node_view_carries_metrics_and_heap_trend() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let n = e.enroll("n", "prod", T0).unwrap();
    let m = |heap| Metrics { cpu: 12.5, memory: 40.0, tps: 1200.0, heap, hot_swap_errors: 2 };
    e.heartbeat(n, &Heartbeat { metrics: m(50.0), ..hb(T0, &s) }).unwrap();
    e.heartbeat(n, &Heartbeat { metrics: m(62.5), ..hb(T0 + 1, &s) }).unwrap();
    let view = e.node("n", T0).unwrap();
    assert_eq!(view.metrics, m(62.5));
    assert_eq!(view.heap_trend, 12.5);
    assert_eq!(view.runtime_version, Some(v("3.5.0")));
}

#[test]
fn auto_reconcile_answers_divergent_nodes_only() {
    let e = engine();
    let r1 = e.publish("stage", b"a", "alice", T0).unwrap();
    let r2 = e.publish("stage", b"b", "alice", T0).unwrap();
    let n = e.enroll("n", "stage", T0).unwrap();
    let d = e.heartbeat(n, &hb(T0, &r1)).unwrap().unwrap();
    assert_eq!((d.kind, d.snapshot.id.as_str(), d.snapshot.hash), (DirectiveKind::Reconcile, "stage@r2", r2.hash));
    assert!(e.heartbeat(n, &hb(T0 + 1, &r2)).unwrap().is_none());
    // Without auto-reconcile a divergent node gets nothing.
    let p1 = e.publish("prod", b"a", "alice", T0).unwrap();
    e.publish("prod", b"b", "alice", T0).unwrap();
    let m = e.enroll("m", "prod", T0).unwrap();
    assert!(e.heartbeat(m, &hb(T0, &p1)).unwrap().is_none());
}

#[test]
fn past_heartbeats_never_roll_state_back() {
    let e = engine();
    let r1 = e.publish("prod", b"a", "alice", T0).unwrap();
    let r2 = e.publish("prod", b"b", "alice", T0).unwrap();
    let n = e.enroll("n", "prod", T0).unwrap();
    // Both stamps are behind the engine's clock, so the stamps order them.
    e.clock().set(T0 + 1_000);
    e.heartbeat(n, &hb(T0 + 10, &r2)).unwrap();
    let err = e.heartbeat(n, &hb(T0 + 5, &r1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StaleHeartbeat);
    let view = e.node("n", T0).unwrap();
    assert_eq!((view.applied_snapshot_id.as_deref(), view.last_heartbeat_ms), (Some("prod@r2"), Some(T0 + 10)));
    // The same time again is a re-send, not the past.
    e.heartbeat(n, &hb(T0 + 10, &r2)).unwrap();
}

#[test]
fn future_heartbeats_are_refused_beyond_five_minutes() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let n = e.enroll("n", "prod", T0).unwrap();
    e.heartbeat(n, &hb(T0 + MAX_FUTURE_SKEW_MS, &s)).unwrap();
    let err = e.heartbeat(n, &hb(T0 + MAX_FUTURE_SKEW_MS + 1, &s)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FutureHeartbeat);
    // Accepted, it counts at the engine's clock: nothing is recorded after it.
    assert_eq!(e.node("n", T0).unwrap().last_heartbeat_ms, Some(T0));
}

/// Issue 22, defect 10: a heartbeat from a clock 4 minutes fast used to
/// lock the node out until the engine's clock caught up.
#[test]
fn a_fast_clock_cannot_lock_its_node_out() {
    let e = engine();
    let r1 = e.publish("prod", b"a", "alice", T0).unwrap();
    let r2 = e.publish("prod", b"b", "alice", T0).unwrap();
    let n = e.enroll("n", "prod", T0).unwrap();
    let fast = T0 + 4 * 60_000;
    e.heartbeat(n, &hb(fast, &r1)).unwrap();
    let view = e.node("n", T0).unwrap();
    assert_eq!((view.last_heartbeat_ms, view.health), (Some(T0), Health::Connected));
    assert_eq!(e.what_ran("n", T0).unwrap().unwrap().since_ms, T0);
    // The node's clock is corrected: its next heartbeats count, in order.
    e.clock().set(T0 + 1_000);
    e.heartbeat(n, &hb(T0 + 1_000, &r2)).unwrap();
    let view = e.node("n", T0 + 1_000).unwrap();
    assert_eq!((view.applied_snapshot_id.as_deref(), view.last_heartbeat_ms), (Some("prod@r2"), Some(T0 + 1_000)));
    assert_eq!(e.what_ran("n", T0 + 999).unwrap().unwrap().snapshot.as_deref(), Some("prod@r1"));
    assert_eq!(e.what_ran("n", T0 + 1_000).unwrap().unwrap().snapshot.as_deref(), Some("prod@r2"));
    // Ordering still holds for heartbeats behind the engine's clock.
    let err = e.heartbeat(n, &hb(T0 + 999, &r1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StaleHeartbeat);
    assert_eq!(e.node("n", T0 + 1_000).unwrap().applied_snapshot_id.as_deref(), Some("prod@r2"));
    assert!(e.recount_mismatches().is_empty());
}

#[test]
fn bad_input_gets_a_typed_error_and_changes_nothing() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let n = e.enroll("n", "prod", T0).unwrap();
    e.heartbeat(n, &hb(T0, &s)).unwrap();
    let before = e.node("n", T0).unwrap();
    let nan = Heartbeat { metrics: Metrics { cpu: f32::NAN, ..Metrics::default() }, ..hb(T0 + 1, &s) };
    let negative = Heartbeat { metrics: Metrics { tps: -1.0, ..Metrics::default() }, ..hb(T0 + 1, &s) };
    let half = Heartbeat { applied_hash: None, ..hb(T0 + 1, &s) };
    for bad in [nan, negative, half] {
        assert_eq!(e.heartbeat(n, &bad).unwrap_err().kind(), ErrorKind::InvalidInput);
    }
    assert_eq!(e.node("n", T0).unwrap(), before);

    let kind = |r: Result<()>| r.unwrap_err().kind();
    assert_eq!(kind(e.upsert_workspace(WorkspaceSpec::new("  "))), ErrorKind::InvalidInput);
    assert_eq!(kind(e.upsert_cluster(ClusterSpec::new("c", "nope", Environment::Staging))), ErrorKind::NotFound);
    assert_eq!(kind(e.upsert_cluster(ClusterSpec::new("", "ws", Environment::Staging))), ErrorKind::InvalidInput);
    e.upsert_workspace(WorkspaceSpec::new("ws-2")).unwrap();
    assert_eq!(kind(e.upsert_cluster(ClusterSpec::new("prod", "ws-2", Environment::Production))), ErrorKind::Conflict);
    assert_eq!(e.enroll("n", "stage", T0).unwrap_err().kind(), ErrorKind::Conflict);
    assert_eq!(e.enroll("n", "prod", T0).unwrap(), n);
    assert_eq!(e.enroll("x", "nope", T0).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(e.enroll("bad id", "prod", T0).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(e.publish("nope", b"a", "alice", T0).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(e.publish("prod", b"", "alice", T0).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(e.publish("prod", b"a", " ", T0).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(e.node("ghost", T0).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(e.cluster("ghost", T0).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(e.fleet("ghost", T0).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(e.heartbeat_by_id("ghost", &hb(T0, &s)).unwrap_err().kind(), ErrorKind::NotFound);
    let other = engine();
    other.enroll("n", "prod", T0).unwrap();
    let foreign = other.node_handle("n").unwrap();
    let foreign = NodeHandle::from_raw(foreign.to_raw() + (1 << 40));
    assert_eq!(e.heartbeat(foreign, &hb(T0, &s)).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(e.cohesion("prod").unwrap(), 100);
    assert!(e.recount_mismatches().is_empty());
}

#[test]
fn snapshots_of_another_cluster_are_not_in_sync() {
    let e = engine();
    let p = e.publish("prod", b"a", "alice", T0).unwrap();
    e.publish("dev", b"a", "alice", T0).unwrap();
    let n = e.enroll("n", "dev", T0).unwrap();
    e.heartbeat(n, &hb(T0, &p)).unwrap();
    let view = e.node("n", T0).unwrap();
    assert_eq!((view.config_status, view.applied_snapshot_id), (ConfigStatus::Divergent, None));
    assert_eq!(view.applied_hash, Some(p.hash));
}

/// Issue 22, defect 4: an unpublished revision of the node's own cluster is
/// shown like a snapshot of another cluster — no applied snapshot id, only
/// the hash — on the single and the batch path, in the view and in history.
#[test]
fn an_unpublished_revision_of_the_own_cluster_shows_only_its_hash() {
    use fleetgov::record::{HeartbeatRecord, OUTCOME_SIZE};
    let e = engine();
    let r1 = e.publish("prod", b"a", "alice", T0).unwrap();
    let unknown = ContentHash::of(b"from nowhere");
    let single = e.enroll("single", "prod", T0).unwrap();
    let batch = e.enroll("batch", "prod", T0).unwrap();
    e.heartbeat(single, &Heartbeat::new(T0 - 10, v("3.5.0")).applied("prod@r999", unknown)).unwrap();
    let record = HeartbeatRecord::new(batch, T0 - 10, v("3.5.0"), ProcessStatus::Ready, Metrics::default())
        .with_applied(999, unknown);
    e.ingest_batch(zerocopy::IntoBytes::as_bytes(&record), &mut [0; OUTCOME_SIZE]).unwrap();
    for node in ["single", "batch"] {
        let view = e.node(node, T0).unwrap();
        assert_eq!(view.applied_snapshot_id, None, "{node}");
        assert_eq!((view.applied_hash, view.config_status), (Some(unknown), ConfigStatus::Divergent), "{node}");
        assert_eq!(view.last_sync_error, None, "{node}: not a hash mismatch of a known snapshot");
        assert_eq!(view.reconcile_reason.as_deref(), Some("runs no snapshot of this cluster; authority is prod@r1"));
        let ran = e.what_ran(node, T0).unwrap().unwrap();
        assert_eq!((ran.snapshot, ran.hash), (None, Some(unknown)), "{node}");
    }
    assert_eq!(e.fleet_at("prod", T0).unwrap().iter().filter(|a| a.snapshot.is_none()).count(), 2);
    // Once the node reports a published revision, it shows it.
    e.heartbeat(single, &hb(T0, &r1)).unwrap();
    assert_eq!(e.node("single", T0).unwrap().applied_snapshot_id.as_deref(), Some("prod@r1"));
    assert!(e.recount_mismatches().is_empty());
}

#[test]
fn dev_override_is_for_development_clusters_only() {
    let e = engine();
    let err = e.upsert_workspace(WorkspaceSpec::new("ws").authority_mode(AuthorityMode::DevOverride)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.workspace("ws").unwrap().authority_mode, AuthorityMode::Authoritative);
    e.upsert_workspace(WorkspaceSpec::new("lab").authority_mode(AuthorityMode::DevOverride)).unwrap();
    e.upsert_cluster(ClusterSpec::new("lab-1", "lab", Environment::Development)).unwrap();
    let err = e.upsert_cluster(ClusterSpec::new("lab-2", "lab", Environment::Production)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

/// One core walk serves every paging caller (HTTP, Python): the pages of a
/// filtered query, followed by their cursors, hold exactly the matching
/// runtimes of the whole inventory, in its order, each once.
#[test]
fn fleet_pages_walk_the_inventory_in_order_with_filters() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    for i in 0..7 {
        let h = e.enroll(&format!("p{i}"), "prod", T0).unwrap();
        if i % 2 == 0 {
            e.heartbeat(h, &hb(T0, &s)).unwrap();
        }
    }
    for i in 0..4 {
        e.enroll(&format!("s{i}"), "stage", T0).unwrap();
    }
    let all = e.fleet("ws", T0).unwrap();
    for query in [
        FleetQuery::default(),
        FleetQuery { health: Some(Health::Never), ..FleetQuery::default() },
        FleetQuery { drift: Some(DriftStatus::Aligned), ..FleetQuery::default() },
        FleetQuery { cluster: Some("stage"), ..FleetQuery::default() },
    ] {
        let expected: Vec<&Runtime> = all
            .runtimes
            .iter()
            .filter(|r| query.health.is_none_or(|h| h == r.health) && query.drift.is_none_or(|d| d == r.drift))
            .filter(|r| query.cluster.is_none_or(|c| c == r.cluster))
            .collect();
        let whole = e.fleet_page("ws", T0, &query).unwrap();
        assert_eq!(whole.runtimes.iter().collect::<Vec<_>>(), expected, "{query:?}");
        assert_eq!((whole.summary, whole.next_cursor.as_deref()), (all.summary, None), "{query:?}");
        for limit in 1..=3 {
            let (mut walked, mut cursor) = (Vec::new(), None::<String>);
            loop {
                let q = FleetQuery { limit: Some(limit), cursor: cursor.as_deref(), ..query };
                let page = e.fleet_page("ws", T0, &q).unwrap();
                assert!(page.runtimes.len() <= limit);
                walked.extend(page.runtimes);
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(walked.iter().collect::<Vec<_>>(), expected, "{query:?} in pages of {limit}");
        }
    }
    let bad = |q: FleetQuery<'_>| e.fleet_page("ws", T0, &q).unwrap_err().kind();
    assert_eq!(bad(FleetQuery { limit: Some(0), ..FleetQuery::default() }), ErrorKind::InvalidInput);
    assert_eq!(bad(FleetQuery { cursor: Some("page-2"), ..FleetQuery::default() }), ErrorKind::InvalidInput);
    assert_eq!(bad(FleetQuery { cluster: Some("nope"), ..FleetQuery::default() }), ErrorKind::NotFound);
    assert_eq!(e.fleet_page("ghost", T0, &FleetQuery::default()).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn fleet_inventory_counts_and_lists_every_runtime() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let a = e.enroll("a", "prod", T0).unwrap();
    let b = e.enroll("b", "prod", T0).unwrap();
    e.enroll("c", "stage", T0).unwrap();
    e.heartbeat(a, &hb(T0, &s)).unwrap();
    e.heartbeat(b, &Heartbeat { runtime_version: v("3.3.9"), ..hb(T0 - STALE_AFTER_MS, &s) }).unwrap();
    let f = e.fleet("ws", T0).unwrap();
    assert_eq!(
        f.summary,
        FleetSummary {
            total: 3,
            active: 1,
            stale: 1,
            never: 1,
            aligned: 1,
            upgrade_required: 1,
            awaiting_sync: 1,
            ..FleetSummary::default()
        }
    );
    let rt = &f.runtimes[0];
    assert_eq!((rt.id.as_str(), rt.cluster.as_str(), rt.version.as_deref()), ("a", "prod", Some("3.5.0")));
    assert_eq!(
        (rt.drift, rt.applied_snapshot.as_deref(), rt.applied_hash),
        (DriftStatus::Aligned, Some("prod@r1"), Some(s.hash))
    );
    assert_eq!((rt.last_heartbeat, rt.last_sync_error.as_deref()), (Some(T0), None));
    assert_eq!(f.desired_state.min_runtime_version, "3.4.0");
    assert_eq!(f.desired_state.clusters[0].hash, Some(s.hash));
    assert_eq!(e.fleet_summary("ws", T0).unwrap(), f.summary);
}

#[test]
fn demo_dataset_matches_the_seeds() {
    let e = demo::engine(T0).unwrap();
    let views: Vec<_> = demo::CLUSTERS.iter().map(|c| e.cluster(c.0, T0).unwrap()).collect();
    let got: Vec<_> = views.iter().map(|c| (c.cohesion, c.status)).collect();
    assert_eq!(got, [(100, ClusterStatus::Healthy), (75, ClusterStatus::Syncing), (33, ClusterStatus::Divergent)]);
    let stage = e.node("gw-stage-eu-4", T0).unwrap();
    assert_eq!(stage.process_health, ProcessHealth::Degraded);
    let codes: Vec<_> = views[2].root_causes.iter().map(|r| r.code).collect();
    assert_eq!(codes, [SyncErrorCode::FetchTimeout, SyncErrorCode::NatsTimeout]);
    assert!(e.recount_mismatches().is_empty());
}

#[test]
fn a_node_shows_when_it_was_enrolled_and_re_enrolling_keeps_it() {
    let e = engine();
    let first = e.enroll("late", "prod", T0 + 5_432).unwrap(); // kept to the second
    assert_eq!(e.node("late", T0 + 6_000).unwrap().enrolled_at_ms, T0 + 5_000);
    assert_eq!(e.enroll("late", "prod", T0 + 9_000).unwrap(), first);
    assert_eq!(e.node("late", T0 + 9_000).unwrap().enrolled_at_ms, T0 + 5_000);
}

/// Issue 18, defect 5: with capacity `u32::MAX` the registry's rounded-up
/// slot capacity (2^32) was cast to `u32` (0), and `node_table` had no rows.
/// Capacities past the supported maximum are refused with a typed error;
/// every count is exact; a full engine refuses the next node and stays whole.
#[test]
fn node_table_empty_for_large_capacities_counts_every_node() {
    let config = |capacity| EngineConfig { clock: Clock::manual(T0), capacity, ..EngineConfig::default() };
    let e = Engine::with_config(config(MAX_CAPACITY)).unwrap();
    e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    e.upsert_cluster(ClusterSpec::new("c", "ws", Environment::Staging)).unwrap();
    for n in ["a", "b", "c"] {
        e.enroll(n, "c", T0).unwrap();
    }
    let t = e.node_table(T0);
    assert_eq!((t.len(), t.id(2)), (3, "c"));
    assert_eq!(t.id_offsets, [0, 1, 2, 3]);

    for bad in [0, MAX_CAPACITY + 1, usize::MAX] {
        let err = Engine::with_config(config(bad)).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad}: {err}");
    }

    let small = Engine::with_config(config(2)).unwrap();
    small.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
    small.upsert_cluster(ClusterSpec::new("c", "ws", Environment::Staging)).unwrap();
    small.enroll("a", "c", T0).unwrap();
    small.enroll("b", "c", T0).unwrap();
    for _ in 0..3 {
        assert_eq!(small.enroll("x", "c", T0).unwrap_err().kind(), ErrorKind::InvalidInput);
    }
    assert_eq!(small.node_table(T0).len(), 2);
    assert_eq!(small.enroll("a", "c", T0).unwrap(), small.node_handle("a").unwrap());
}
