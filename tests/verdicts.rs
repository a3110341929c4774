//! Truthful verdicts: a node counts as verified only while its last report
//! is in sync and at most 60 minutes old; cohesion floors, so 100 means every
//! node; HEALTHY needs every node verified and no sync error.

mod common;

use std::collections::HashMap;

use common::{T0, engine, hb, v};
use fleetgov::freshness::VERIFIED_WITHIN_MS;
use fleetgov::*;
use proptest::prelude::*;

const HOUR: u64 = VERIFIED_WITHIN_MS;

/// `(in_sync, total, cohesion, basis points, status)` of `cluster` at `now`.
fn figures(e: &Engine, cluster: &str, now: u64) -> (u64, u64, u8, u16, ClusterStatus) {
    let c = e.cluster(cluster, now).unwrap();
    (c.in_sync, c.total, c.cohesion, c.cohesion_bp, c.status)
}

/// Enrols `n` nodes named `<prefix><i>` in `prod`, each heartbeating `s` at `at`.
fn verified_nodes(e: &Engine, prefix: &str, n: usize, s: &Snapshot, at: u64) {
    for i in 0..n {
        let h = e.enroll(&format!("{prefix}{i}"), "prod", T0).unwrap();
        e.heartbeat(h, &hb(at, s)).unwrap();
    }
}

#[test]
fn a_report_counts_for_exactly_sixty_minutes_with_no_heartbeat_to_expire_it() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    verified_nodes(&e, "n", 3, &s, T0);
    assert_eq!(figures(&e, "prod", T0 + HOUR), (3, 3, 100, 10_000, ClusterStatus::Healthy), "exactly 60 minutes");
    let node = e.node("n0", T0 + HOUR).unwrap();
    assert_eq!((node.verified, node.heartbeat_age_ms, node.health), (true, Some(HOUR), Health::Stale));

    e.clock().set(T0 + HOUR + 1);
    assert_eq!(figures(&e, "prod", T0 + HOUR + 1), (0, 3, 0, 0, ClusterStatus::Divergent), "one millisecond more");
    assert_eq!((e.cohesion("prod").unwrap(), e.cluster_status("prod").unwrap()), (0, ClusterStatus::Divergent));
    let node = e.node("n0", T0 + HOUR + 1).unwrap();
    assert_eq!((node.verified, node.config_status, node.health), (false, ConfigStatus::InSync, Health::Dormant));
    assert!(e.recount_mismatches().is_empty());

    // Asked about an earlier moment again, the answer is the rule at that moment.
    assert_eq!(figures(&e, "prod", T0 + HOUR).0, 3);
    assert_eq!(figures(&e, "prod", T0 - 5).0, 3, "a heartbeat after the query time counts as age zero");
}

#[test]
fn a_node_that_comes_back_counts_again() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    verified_nodes(&e, "n", 2, &s, T0);
    e.clock().set(T0 + 2 * HOUR);
    assert_eq!(figures(&e, "prod", T0 + 2 * HOUR).0, 0);
    let n0 = e.node_handle("n0").unwrap();
    e.heartbeat(n0, &hb(T0 + 2 * HOUR, &s)).unwrap();
    assert_eq!(figures(&e, "prod", T0 + 2 * HOUR), (1, 2, 50, 5_000, ClusterStatus::Syncing));
    assert!(e.recount_mismatches().is_empty());
    // A late heartbeat that is already over an hour old counts only until the next read.
    let n1 = e.node_handle("n1").unwrap();
    e.heartbeat(n1, &hb(T0 + HOUR - 1, &s)).unwrap();
    assert_eq!(figures(&e, "prod", T0 + 2 * HOUR).0, 1);
    assert!(!e.node("n1", T0 + 2 * HOUR).unwrap().verified);
}

#[test]
fn a_never_heard_node_is_not_verified() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    verified_nodes(&e, "n", 2, &s, T0);
    e.enroll("silent", "prod", T0).unwrap();
    assert_eq!(figures(&e, "prod", T0), (2, 3, 66, 6_666, ClusterStatus::Syncing));
    let silent = e.node("silent", T0).unwrap();
    assert_eq!((silent.verified, silent.heartbeat_age_ms, silent.health), (false, None, Health::Never));
}

#[test]
fn cohesion_floors_at_the_boundaries() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    verified_nodes(&e, "v", 199, &s, T0);
    e.enroll("late", "prod", T0).unwrap();
    assert_eq!(figures(&e, "prod", T0), (199, 200, 99, 9_950, ClusterStatus::Syncing), "199 / 200");

    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    verified_nodes(&e, "v", 499, &s, T0);
    for i in 0..501 {
        e.enroll(&format!("u{i}"), "prod", T0).unwrap();
    }
    assert_eq!(figures(&e, "prod", T0), (499, 1_000, 49, 4_990, ClusterStatus::Divergent), "499 / 1,000");
    let u0 = e.node_handle("u0").unwrap();
    e.heartbeat(u0, &hb(T0, &s)).unwrap();
    assert_eq!(figures(&e, "prod", T0), (500, 1_000, 50, 5_000, ClusterStatus::Syncing), "500 / 1,000");
}

#[test]
fn an_in_sync_node_reporting_a_sync_error_keeps_the_cluster_from_healthy() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    verified_nodes(&e, "n", 3, &s, T0);
    let error: SyncError = "RELOAD_FAILURE: filter chain rejected".parse().unwrap();
    let n0 = e.node_handle("n0").unwrap();
    e.heartbeat(n0, &Heartbeat { sync_error: Some(&error), ..hb(T0 + 1, &s) }).unwrap();
    let node = e.node("n0", T0 + 1).unwrap();
    assert_eq!((node.verified, node.config_status), (true, ConfigStatus::InSync));
    assert_eq!(figures(&e, "prod", T0 + 1), (3, 3, 100, 10_000, ClusterStatus::Syncing));
    e.heartbeat(n0, &hb(T0 + 2, &s)).unwrap();
    assert_eq!(figures(&e, "prod", T0 + 2).4, ClusterStatus::Healthy);
}

#[test]
fn publishing_a_new_revision_reads_the_fresh_count_of_that_revision() {
    let e = engine();
    let r1 = e.publish("prod", b"a", "alice", T0).unwrap();
    verified_nodes(&e, "n", 4, &r1, T0);
    e.clock().set(T0 + HOUR + 1);
    e.publish("prod", b"b", "alice", T0 + HOUR + 1).unwrap();
    let r1_again = e.publish("prod", b"a", "alice", T0 + HOUR + 1).unwrap();
    assert_eq!(r1_again.hash, r1.hash);
    // The nodes run r1's bytes but report r1's id, not r3's: divergent, and dormant anyway.
    assert_eq!(figures(&e, "prod", T0 + HOUR + 1).0, 0);
    assert!(e.recount_mismatches().is_empty());
}

#[derive(Clone, Debug)]
enum Op {
    Publish { content: u8 },
    Enroll { node: usize },
    Heartbeat { node: usize, back_min: u64, good: bool, error: bool },
    Advance { minutes: u64 },
    Query { back_min: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..3u8).prop_map(|content| Op::Publish { content }),
        2 => (0..6usize).prop_map(|node| Op::Enroll { node }),
        6 => (0..6usize, prop_oneof![Just(0u64), 0..90u64], any::<bool>(), proptest::bool::weighted(0.2))
            .prop_map(|(node, back_min, good, error)| Op::Heartbeat { node, back_min, good, error }),
        2 => prop_oneof![0..5u64, 55..65u64].prop_map(|minutes| Op::Advance { minutes }),
        2 => (0..130u64).prop_map(|back_min| Op::Query { back_min }),
    ]
}

/// A node as the rules see it: verified revision (0: none), last heartbeat, error.
#[derive(Clone, Copy)]
struct Node {
    revision: u32,
    last: Option<u64>,
    error: bool,
}

fn expected(nodes: &HashMap<usize, Node>, desired: u32, at: u64) -> (u64, u64, u8, u16, ClusterStatus) {
    let total = nodes.len() as u64;
    let verified = nodes
        .values()
        .filter(|n| desired != 0 && n.revision == desired && n.last.is_some_and(|l| at.saturating_sub(l) <= HOUR))
        .count() as u64;
    let errors = nodes.values().filter(|n| n.error).count() as u64;
    let status = ClusterStatus::of(verified, total, errors);
    (verified, total, cohesion::cohesion(verified, total), cohesion::cohesion_bp(verified, total), status)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// For random operations and random query times (earlier ones too),
    /// the cluster's figures equal a from-scratch recount at that time.
    #[test]
    fn figures_equal_a_recount_at_any_query_time(ops in proptest::collection::vec(op(), 1..80)) {
        let e = engine();
        let mut now = T0;
        let mut desired = 0u32;
        let mut nodes: HashMap<usize, Node> = HashMap::new();
        let check = |e: &Engine, nodes: &HashMap<usize, Node>, desired: u32, at: u64| -> Result<(), TestCaseError> {
            prop_assert_eq!(figures(e, "prod", at), expected(nodes, desired, at), "at T0 + {} ms", at - T0);
            let rows = e.cluster_nodes("prod", at, 0, usize::MAX).unwrap();
            prop_assert_eq!(rows.iter().filter(|n| n.verified).count() as u64, expected(nodes, desired, at).0);
            prop_assert_eq!(e.recount_mismatches_at(at), Vec::<String>::new());
            Ok(())
        };
        for op in ops {
            match op {
                Op::Publish { content } => desired = e.publish("prod", &[content], "p", now).unwrap().revision,
                Op::Enroll { node } => {
                    e.enroll(&format!("n{node}"), "prod", T0).unwrap();
                    nodes.entry(node).or_insert(Node { revision: 0, last: None, error: false });
                }
                Op::Heartbeat { node, back_min, good, error } => {
                    let Some(model) = nodes.get_mut(&node) else { continue };
                    let at = now.saturating_sub(back_min * 60_000).max(T0);
                    let snapshot = (desired != 0).then(|| e.snapshot(&snapshot_id("prod", desired)).unwrap());
                    let hash = if good { snapshot.as_ref().map(|s| s.hash) } else { Some(ContentHash::of(b"x")) };
                    let err: SyncError = "RELOAD_FAILURE: x".parse().unwrap();
                    let mut beat = Heartbeat::new(at, v("3.5.0"));
                    if let (Some(s), Some(h)) = (&snapshot, hash) {
                        beat = beat.applied(&s.id, h);
                    }
                    beat.sync_error = error.then_some(&err);
                    let r = e.heartbeat_by_id(&format!("n{node}"), &beat);
                    if model.last.is_some_and(|l| at < l) {
                        prop_assert_eq!(r.unwrap_err().kind(), ErrorKind::StaleHeartbeat);
                        continue;
                    }
                    r.unwrap();
                    let matched = snapshot.is_some() && good;
                    *model = Node {
                        revision: if matched { desired } else { 0 },
                        last: Some(at),
                        error: error || (snapshot.is_some() && !good),
                    };
                }
                Op::Advance { minutes } => {
                    now += minutes * 60_000 + 1;
                    e.clock().set(now);
                }
                Op::Query { back_min } => {
                    let at = now.saturating_sub(back_min * 60_000).max(T0);
                    check(&e, &nodes, desired, at)?;
                }
            }
        }
        check(&e, &nodes, desired, now)?;
        check(&e, &nodes, desired, now + HOUR)?;
    }
}
