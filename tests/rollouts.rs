//! Controlled rollouts: a publish with a plan reaches its cluster in waves;
//! nodes of waves not started keep the previous snapshot and are never told
//! to pull the target; a failing canary halts (and rolls back); operators
//! pause, resume, abort and promote with a justification; every step is an
//! audit record, and a reopened engine continues the same rollout.

mod common;

use common::{T0, engine, hb, v};
use fleetgov::audit::AuditAction;
use fleetgov::rollout::{Phase, Rank, RolloutPlan};
use fleetgov::*;
use proptest::prelude::*;

fn plan(waves: &[u8], bake_ms: u64, max_failure_pct: f64, auto_rollback: bool) -> RolloutPlan {
    RolloutPlan::new(waves.to_vec(), bake_ms, max_failure_pct, auto_rollback).unwrap()
}

/// Enrols `n` nodes `n0..` in `cluster`, each verified on `s` at `at`.
fn fleet(e: &Engine, cluster: &str, n: usize, s: &Snapshot, at: u64) -> Vec<(String, NodeHandle)> {
    (0..n)
        .map(|i| {
            let id = format!("n{i}");
            let h = e.enroll(&id, cluster, T0).unwrap();
            e.heartbeat(h, &hb(at, s)).unwrap();
            (id, h)
        })
        .collect()
}

/// The wave of `node` in the rollout of `cluster` to `target`.
fn wave_of(cluster: &str, target: &Snapshot, node: &str, waves: &[u8]) -> usize {
    Rank::of(cluster, target.revision, node).wave(waves)
}

fn by(at: u64) -> By<'static> {
    By::new("alice", Role::Operator, at)
}

fn rollout(e: &Engine, cluster: &str, at: u64) -> RolloutView {
    e.rollout(cluster, at).unwrap().expect("a rollout")
}

fn rollout_records(e: &Engine) -> Vec<(String, String)> {
    e.audit()
        .iter()
        .filter(|r| r.action == AuditAction::Rollout)
        .map(|r| {
            let json: serde_json::Value =
                serde_json::from_slice(r.payload.split(|&b| b == b'\n').next().unwrap()).unwrap();
            (r.actor.clone(), json["change"]["change"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn a_smooth_rollout_never_looks_like_an_outage_and_completes_wave_by_wave() {
    let e = engine();
    let s1 = e.publish("prod", b"one", "alice", T0).unwrap();
    let nodes = fleet(&e, "prod", 200, &s1, T0);
    let waves = [10, 50, 100];
    e.clock().set(T0 + 1);
    let s2 = e.publish_with_rollout("prod", b"two", &by(T0 + 1), plan(&waves, 60_000, 5.0, true)).unwrap();
    assert_eq!(e.desired("prod").unwrap().unwrap().id, s2.id, "the cluster's desired snapshot is the target");
    let in_wave = |k: usize| nodes.iter().filter(|(id, _)| wave_of("prod", &s2, id, &waves) == k).count() as u64;

    let r = rollout(&e, "prod", T0 + 1);
    assert_eq!((r.state, r.wave, r.nodes_started, r.on_target, r.failures), (Phase::Progressing, 0, in_wave(0), 0, 0));
    assert_eq!((r.target_snapshot.as_str(), r.previous_snapshot.as_str()), ("prod@r2", "prod@r1"));
    let c = e.cluster("prod", T0 + 1).unwrap();
    assert_eq!((c.in_sync, c.status), (200 - in_wave(0), ClusterStatus::Syncing), "only the canary lags");

    let mut t = T0 + 2;
    for k in 0..waves.len() {
        e.clock().set(t);
        // Every node heartbeats what it runs; started waves are told to pull
        // the target, the others are told nothing.
        for (id, h) in &nodes {
            let started = wave_of("prod", &s2, id, &waves) <= k;
            let runs = if wave_of("prod", &s2, id, &waves) < k { &s2 } else { &s1 };
            let directive = e.heartbeat(*h, &hb(t, runs)).unwrap();
            let node = e.node(id, t).unwrap();
            if started {
                assert_eq!(node.desired_snapshot_id.as_deref(), Some("prod@r2"));
                if runs.id == s1.id {
                    let d = directive.expect("a started wave's node is told to pull the target");
                    assert_eq!((d.kind, d.snapshot.id.as_str()), (DirectiveKind::Reconcile, "prod@r2"));
                }
            } else {
                assert!(
                    directive.is_none(),
                    "{id} of wave {} got a directive in wave {k}",
                    wave_of("prod", &s2, id, &waves)
                );
                assert_eq!(
                    (node.desired_snapshot_id.as_deref(), node.config_status),
                    (Some("prod@r1"), ConfigStatus::InSync)
                );
            }
        }
        // The started wave applies the target.
        t += 1;
        e.clock().set(t);
        for (id, h) in nodes.iter().filter(|(id, _)| wave_of("prod", &s2, id, &waves) == k) {
            assert!(e.heartbeat(*h, &hb(t, &s2)).unwrap().is_none(), "{id} runs the target");
        }
        let c = e.cluster("prod", t).unwrap();
        assert_eq!(c.in_sync, 200, "wave {k}: every node runs its own desired snapshot");
        assert!(e.recount_mismatches_at(t).is_empty(), "{:?}", e.recount_mismatches_at(t));
        let r = rollout(&e, "prod", t);
        if k + 1 < waves.len() {
            assert_eq!((r.state, r.wave, r.bake_ends_ms), (Phase::Baking, k, Some(t + 60_000)), "converged: it bakes");
            assert_eq!(c.status, ClusterStatus::Syncing, "a rollout in progress is never HEALTHY");
            assert_eq!(e.advance_rollouts(t + 59_999).unwrap(), 0, "the bake holds");
            t += 60_000;
            e.clock().set(t);
            assert_eq!(e.advance_rollouts(t).unwrap(), 1);
            assert_eq!((rollout(&e, "prod", t).state, rollout(&e, "prod", t).wave), (Phase::Progressing, k + 1));
        } else {
            assert_eq!(r.state, Phase::Complete);
            assert_eq!((c.status, c.cohesion), (ClusterStatus::Healthy, 100));
        }
    }
    let records = rollout_records(&e);
    let expected = [("fleetgov", "wave_started"), ("fleetgov", "wave_started"), ("fleetgov", "complete")];
    assert_eq!(records.iter().map(|(a, c)| (a.as_str(), c.as_str())).collect::<Vec<_>>(), expected);
    let publish = e.audit().into_iter().rev().find(|r| r.action == AuditAction::Publish).unwrap();
    let payload = std::str::from_utf8(publish.payload.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert!(payload.contains(r#""rollout":{"waves":[10,50,100],"bake_ms":60000"#), "{payload}");
}

#[test]
fn a_failing_canary_halts_and_rolls_back_with_its_audit_records() {
    let e = engine();
    let s1 = e.publish("prod", b"one", "alice", T0).unwrap();
    let nodes = fleet(&e, "prod", 300, &s1, T0);
    e.clock().set(T0 + 3);
    let waves = [10, 100];
    let s2 = e.publish_with_rollout("prod", b"two", &by(T0 + 1), plan(&waves, 0, 10.0, true)).unwrap();
    let (canary, rest): (Vec<_>, Vec<_>) = nodes.iter().partition(|(id, _)| wave_of("prod", &s2, id, &waves) == 0);
    assert!(canary.len() > 10, "{} canaries", canary.len());
    // One canary applies the target; the others fail to reload it.
    let error: SyncError = "RELOAD_FAILURE: listener port in use".parse().unwrap();
    let (applied, failing) = canary.split_first().unwrap();
    e.heartbeat(applied.1, &hb(T0 + 2, &s2)).unwrap();
    let budget = canary.len() as u64 / 10;
    for (i, (_, h)) in failing.iter().enumerate() {
        let before = rollout(&e, "prod", T0 + 3).state;
        let _ = e.heartbeat(*h, &Heartbeat { sync_error: Some(&error), ..hb(T0 + 3, &s1) });
        if (i as u64) < budget {
            assert_eq!(before, Phase::Progressing, "{i} failures are within the budget of {budget}");
        }
    }
    let r = rollout(&e, "prod", T0 + 3);
    assert_eq!(r.state, Phase::RolledBack);
    let reason = r.reason.unwrap();
    assert!(
        reason.starts_with(&format!("{} of {} nodes failed: RELOAD_FAILURE", budget + 1, canary.len())),
        "{reason}"
    );
    assert_eq!(e.desired("prod").unwrap().unwrap().id, s1.id, "the cluster returned to the previous snapshot");
    let records = rollout_records(&e);
    assert_eq!(records, [("fleetgov".into(), "halted".into()), ("fleetgov".into(), "rolled_back".into())]);
    let halted = e.audit().into_iter().find(|r| r.action == AuditAction::Rollout).unwrap();
    assert_eq!(halted.target, "cluster:prod");
    assert!(halted.justification.contains(&reason), "{}", halted.justification);

    // The canary that applied the target is told to return; nobody else is
    // told anything, and no node outside the canary ever was.
    e.clock().set(T0 + 4);
    let d = e.heartbeat(applied.1, &hb(T0 + 4, &s2)).unwrap().expect("told to return");
    assert_eq!(d.snapshot.id, s1.id);
    for (_, h) in &rest {
        assert!(e.heartbeat(*h, &hb(T0 + 4, &s1)).unwrap().is_none());
    }
    assert!(e.recount_mismatches_at(T0 + 4).is_empty(), "{:?}", e.recount_mismatches_at(T0 + 4));
    let by = Override::new("bob", Role::Operator, "retry", T0 + 5);
    assert_eq!(e.resume_rollout("prod", &by).unwrap_err().kind(), ErrorKind::Conflict, "a rollback is final");
}

#[test]
fn a_halt_without_auto_rollback_holds_until_an_operator_acts() {
    let e = engine();
    let s1 = e.publish("stage", b"one", "alice", T0).unwrap();
    let nodes = fleet(&e, "stage", 100, &s1, T0);
    e.clock().set(T0 + 5);
    let waves = [20, 100];
    let s2 = e.publish_with_rollout("stage", b"two", &by(T0 + 1), plan(&waves, 0, 0.0, false)).unwrap();
    let canary: Vec<_> = nodes.iter().filter(|(id, _)| wave_of("stage", &s2, id, &waves) == 0).collect();
    let mismatch = Heartbeat::new(T0 + 2, v("3.5.0")).applied(&s2.id, ContentHash::of(b"not two"));
    e.heartbeat(canary[0].1, &mismatch).unwrap();
    let r = rollout(&e, "stage", T0 + 2);
    assert_eq!((r.state, r.failures), (Phase::Halted, 1));
    assert!(r.reason.as_deref().unwrap().contains("HASH_MISMATCH"), "{:?}", r.reason);
    let c = e.cluster("stage", T0 + 2).unwrap();
    assert_eq!(c.status, ClusterStatus::Divergent, "a halted rollout is DIVERGENT");
    // Halted: even this auto-reconciling cluster tells the canary nothing.
    for (_, h) in &canary {
        assert!(e.heartbeat(*h, &hb(T0 + 3, &s1)).unwrap().is_none());
    }
    let by = Override::new("bob", Role::Operator, "bad build, reverting", T0 + 4);
    e.abort_rollout("stage", &by).unwrap();
    assert_eq!(rollout(&e, "stage", T0 + 4).state, Phase::Aborted);
    assert_eq!(e.desired("stage").unwrap().unwrap().id, s1.id);
    let d = e.heartbeat(canary[0].1, &hb(T0 + 5, &s2)).unwrap().expect("told to return to the previous snapshot");
    assert_eq!(d.snapshot.id, s1.id);
}

#[test]
fn operator_actions_need_a_justification_and_the_right_role() {
    let e = engine();
    let s1 = e.publish("prod", b"one", "alice", T0).unwrap();
    let nodes = fleet(&e, "prod", 50, &s1, T0);
    e.clock().set(T0 + 7);
    let p = plan(&[1, 10, 100], 3_600_000, 0.0, false);
    assert_eq!(
        e.publish_with_rollout("dev", b"x", &by(T0), p.clone()).unwrap_err().kind(),
        ErrorKind::InvalidInput,
        "nothing to roll out from"
    );
    let nothing = Override::new("bob", Role::Operator, "why not", T0);
    assert_eq!(e.pause_rollout("prod", &nothing).unwrap_err().kind(), ErrorKind::NotFound);
    let s2 = e.publish_with_rollout("prod", b"two", &by(T0 + 1), p).unwrap();
    let audit_len = e.audit_len();
    for (actor, role, why, kind) in [
        ("bob", Role::Operator, "  ", ErrorKind::JustificationRequired),
        ("bob", Role::Operator, "\u{200b}", ErrorKind::JustificationRequired),
        ("vic", Role::Viewer, "looks wrong", ErrorKind::PermissionDenied),
        ("fleetgov", Role::Admin, "impersonation", ErrorKind::InvalidInput),
    ] {
        let o = Override::new(actor, role, why, T0 + 2);
        for action in [Engine::pause_rollout, Engine::resume_rollout, Engine::abort_rollout, Engine::promote_rollout] {
            assert_eq!(action(&e, "prod", &o).unwrap_err().kind(), kind, "{actor} {why:?}");
        }
    }
    assert_eq!(e.audit_len(), audit_len, "nothing recorded");
    let o = |why: &'static str, at| Override::new("bob", Role::Operator, why, at);
    let record = e.pause_rollout("prod", &o("latency alarm on the canary", T0 + 3)).unwrap();
    assert_eq!(
        (record.actor.as_str(), record.role, record.justification.as_str()),
        ("bob", Role::Operator, "latency alarm on the canary")
    );
    assert_eq!(e.pause_rollout("prod", &o("again", T0 + 4)).unwrap_err().kind(), ErrorKind::Conflict);
    e.resume_rollout("prod", &o("alarm was a false positive", T0 + 5)).unwrap();
    let admin = Override::new("ada", Role::Admin, "hotfix must go out now", T0 + 6);
    e.promote_rollout("prod", &admin).unwrap();
    let r = rollout(&e, "prod", T0 + 6);
    assert_eq!((r.state, r.wave, r.nodes_started), (Phase::Progressing, 2, 50));
    for (id, h) in &nodes {
        assert_eq!(
            e.heartbeat(*h, &hb(T0 + 7, &s1)).unwrap().map(|d| d.snapshot.id.clone()),
            Some(s2.id.clone()),
            "{id}"
        );
    }
    let changes: Vec<String> = rollout_records(&e).into_iter().map(|(_, c)| c).collect();
    assert_eq!(changes, ["paused", "resumed", "promoted"]);
}

#[test]
fn a_reopened_engine_continues_the_same_rollout() {
    let dir = tempfile::tempdir().unwrap();
    let config = |now| EngineConfig {
        clock: Clock::manual(now),
        capacity: 1 << 16,
        data_dir: Some(dir.path().to_owned()),
        ..EngineConfig::default()
    };
    let waves = [10, 50, 100];
    let (before, s1, s2) = {
        let e = Engine::with_config(config(T0)).unwrap();
        e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
        let s1 = e.publish("prod", b"one", "alice", T0).unwrap();
        let nodes = fleet(&e, "prod", 100, &s1, T0);
        e.clock().set(T0 + 2);
        let s2 = e.publish_with_rollout("prod", b"two", &by(T0 + 1), plan(&waves, 0, 50.0, false)).unwrap();
        let error: SyncError = "RELOAD_FAILURE: bad filter".parse().unwrap();
        for (i, (id, h)) in nodes.iter().filter(|(id, _)| wave_of("prod", &s2, id, &waves) == 0).enumerate() {
            let report =
                if i == 0 { Heartbeat { sync_error: Some(&error), ..hb(T0 + 2, &s1) } } else { hb(T0 + 2, &s2) };
            e.heartbeat(*h, &report).unwrap_or_else(|err| panic!("{id}: {err}"));
        }
        let r = rollout(&e, "prod", T0 + 2);
        assert_eq!((r.state, r.wave, r.failures), (Phase::Progressing, 1, 1), "the canary converged within its budget");
        (r, s1, s2)
    };
    let e = Engine::with_config(config(T0 + 2)).unwrap();
    assert_eq!(rollout(&e, "prod", T0 + 2), before, "the same rollout, the same counts");
    assert!(e.recount_mismatches_at(T0 + 2).is_empty(), "{:?}", e.recount_mismatches_at(T0 + 2));
    // It goes on from where it was.
    e.clock().set(T0 + 4);
    for i in 0..100 {
        let id = format!("n{i}");
        let h = e.node_handle(&id).unwrap();
        let runs = if wave_of("prod", &s2, &id, &waves) <= 1 { &s2 } else { &s1 };
        e.heartbeat(h, &hb(T0 + 3, runs)).unwrap();
    }
    assert_eq!(rollout(&e, "prod", T0 + 3).wave, 2);
    for i in 0..100 {
        e.heartbeat(e.node_handle(&format!("n{i}")).unwrap(), &hb(T0 + 4, &s2)).unwrap();
    }
    assert_eq!(rollout(&e, "prod", T0 + 4).state, Phase::Complete);
    assert_eq!(e.cluster("prod", T0 + 4).unwrap().status, ClusterStatus::Healthy);
}

/// One step of the property test.
#[derive(Clone, Debug)]
enum Op {
    /// Node `i` reports: 0 the previous snapshot, 1 the target, 2 a reload failure.
    Beat(usize, u8),
    /// Time passes, then the gates are evaluated.
    Advance(u64),
    Pause,
    Resume,
    Abort,
    Promote,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0usize..40, 0u8..3).prop_map(|(i, r)| Op::Beat(i, r)),
        2 => (0u64..2_000).prop_map(Op::Advance),
        1 => Just(Op::Pause),
        1 => Just(Op::Resume),
        1 => Just(Op::Abort),
        1 => Just(Op::Promote),
    ]
}

fn waves() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::btree_set(1u8..100, 0..4).prop_map(|set| set.into_iter().chain([100]).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// No node outside the started waves ever receives a directive toward
    /// the target, whatever the fleet, the plan, the failures and the times;
    /// the counters stay exact throughout.
    #[test]
    fn no_directive_toward_the_target_reaches_a_wave_not_started(
        n in 1usize..40,
        waves in waves(),
        bake_ms in prop_oneof![Just(0u64), Just(1_000u64)],
        pct in 0.0f64..40.0,
        rollback in any::<bool>(),
        auto in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let e = engine();
        let cluster = if auto { "stage" } else { "prod" };
        let s1 = e.publish(cluster, b"one", "alice", T0).unwrap();
        let nodes = fleet(&e, cluster, n, &s1, T0);
        e.clock().set(T0 + 1);
        let s2 = e.publish_with_rollout(cluster, b"two", &by(T0 + 1), plan(&waves, bake_ms, pct, rollback)).unwrap();
        let error: SyncError = "RELOAD_FAILURE: boom".parse().unwrap();
        let mut t = T0 + 2;
        for op in ops {
            let why = Override::new("bob", Role::Operator, "property test", t);
            match op {
                Op::Beat(i, report) => {
                    let (id, h) = &nodes[i % n];
                    let before = rollout(&e, cluster, t);
                    let hb = match report {
                        0 => hb(t, &s1),
                        1 => hb(t, &s2),
                        _ => Heartbeat { sync_error: Some(&error), ..hb(t, &s1) },
                    };
                    if let Some(d) = e.heartbeat(*h, &hb).unwrap() && d.snapshot.id == s2.id {
                        let wave = wave_of(cluster, &s2, id, &waves);
                        let directing = matches!(before.state, Phase::Progressing | Phase::Baking | Phase::Complete);
                        prop_assert!(
                            directing && wave <= before.wave,
                            "{id} of wave {wave} told to pull the target in {:?} at wave {}", before.state, before.wave
                        );
                    }
                }
                Op::Advance(dt) => {
                    t += dt;
                    e.clock().set(t);
                    e.advance_rollouts(t).unwrap();
                }
                Op::Pause => { let _ = e.pause_rollout(cluster, &why); }
                Op::Resume => { let _ = e.resume_rollout(cluster, &why); }
                Op::Abort => { let _ = e.abort_rollout(cluster, &why); }
                Op::Promote => { let _ = e.promote_rollout(cluster, &why); }
            }
            t += 1;
            e.clock().set(t);
            prop_assert!(e.recount_mismatches_at(t).is_empty(), "{:?}", e.recount_mismatches_at(t));
        }
    }
}

#[test]
fn a_rollout_read_at_an_earlier_time_agrees_with_the_cluster_at_that_time() {
    let e = engine();
    let s1 = e.publish("prod", b"one", "alice", T0).unwrap();
    let nodes = fleet(&e, "prod", 60, &s1, T0);
    let waves = [50, 100];
    let s2 = e.publish_with_rollout("prod", b"two", &by(T0), plan(&waves, 1_000, 0.0, false)).unwrap();
    for (id, h) in nodes.iter().filter(|(id, _)| wave_of("prod", &s2, id, &waves) == 0) {
        e.heartbeat(*h, &hb(T0, &s2)).unwrap_or_else(|err| panic!("{id}: {err}"));
    }
    assert_eq!(rollout(&e, "prod", T0).state, Phase::Baking);
    // Then the engine's clock runs hours ahead of the times the caller passes.
    e.clock().set(T0 + 10 * 3_600_000);
    let later = rollout(&e, "prod", T0 + 10 * 3_600_000);
    assert_eq!(later.on_target, 0, "ten hours later no report counts");
    let canary = nodes.iter().filter(|(id, _)| wave_of("prod", &s2, id, &waves) == 0).count() as u64;
    let then = rollout(&e, "prod", T0 + 3);
    assert_eq!((then.on_target, then.nodes_started), (canary, canary), "at the time, the canary was verified");
    assert_eq!(e.cluster("prod", T0 + 3).unwrap().in_sync, 60);
    assert_eq!(e.advance_rollouts(T0 + 1_000).unwrap(), 1, "the gates read the counts at that time: the bake ended");
    assert_eq!(rollout(&e, "prod", T0 + 1_000).wave, 1);
}
