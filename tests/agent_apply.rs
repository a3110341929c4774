//! The agent's rules: only verified configuration goes live, every failure is
//! recorded with its cause while the last known good stays live, rollback,
//! directives and heartbeats.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{T0, engine, v};
use fleetgov::agent::{Agent, AppliedConfig, PullRequest};
use fleetgov::*;

/// A hook that counts its calls and rejects bytes with a marker:
/// `panic` panics (a bug in the hook), `oom` is JVM memory pressure, `bad`
/// fails validation.
#[derive(Clone, Default)]
struct Gateway {
    calls: Arc<AtomicUsize>,
}

impl agent::Reloader for Gateway {
    fn reload(&self, candidate: &AppliedConfig) -> Result<(), SyncError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let text = std::str::from_utf8(candidate.bytes()).unwrap_or("");
        if text.contains("panic") {
            panic!("filter chain exploded on {}", candidate.snapshot_id());
        }
        if text.contains("oom") {
            return Err(SyncError::new(SyncErrorCode::JvmMemoryPressure, "OOM during policy load"));
        }
        if text.contains("bad") {
            return Err(SyncError::new(SyncErrorCode::ValidationFailed, "unknown filter 'bad'"));
        }
        Ok(())
    }
}

fn agent() -> (Agent, Arc<AtomicUsize>) {
    let gw = Gateway::default();
    let calls = Arc::clone(&gw.calls);
    (Agent::new(v("3.5.0"), gw), calls)
}

fn apply(agent: &Agent, id: &str, text: &str, at: u64) -> Result<Arc<AppliedConfig>> {
    agent.apply(id, text.as_bytes(), ContentHash::of(text.as_bytes()), at)
}

fn live(agent: &Agent) -> Option<String> {
    agent.with_current(|c| c.map(|c| c.snapshot_id().to_owned()))
}

#[test]
fn agent_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Agent>();
}

#[test]
fn a_verified_config_goes_live_with_the_agent_computed_hash() {
    let (a, calls) = agent();
    let c = apply(&a, "prod@r1", "routes: [a]", T0).unwrap();
    assert_eq!((c.snapshot_id(), c.revision(), c.applied_at_ms()), ("prod@r1", Some(1), T0));
    assert_eq!(c.hash(), ContentHash::of(b"routes: [a]"));
    assert!(Arc::ptr_eq(&a.current().unwrap(), &c));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(a.last_known_good().is_none() && a.last_sync_error().is_none());
}

#[test]
fn a_mismatched_hash_never_swaps_and_never_reaches_the_hook() {
    let (a, calls) = agent();
    let good = apply(&a, "prod@r1", "v1", T0).unwrap();
    let expected = ContentHash::of(b"v2");
    let corrupted = b"v2 but flipped".to_vec();
    let err = a.apply("prod@r2", corrupted.clone(), expected, T0 + 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(Arc::ptr_eq(&a.current().unwrap(), &good));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the hook never saw the corrupted bytes");
    let e = a.last_sync_error().unwrap();
    assert_eq!(e.code, SyncErrorCode::HashMismatch);
    assert!(e.detail.contains(&expected.to_string()), "{}", e.detail);
    assert!(e.detail.contains(&ContentHash::of(&corrupted).to_string()), "{}", e.detail);
    assert!(err.message().starts_with("snapshot prod@r2 not applied: HASH_MISMATCH: expected"), "{err}");
    assert_eq!(a.hot_swap_errors(), 0, "nothing was reloaded");
    assert!(a.last_known_good().is_none());
}

#[test]
fn an_empty_config_is_refused_as_validation_failed() {
    let (a, calls) = agent();
    let err = a.apply("prod@r1", Vec::new(), ContentHash::of(b""), T0).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(a.last_sync_error().unwrap().code, SyncErrorCode::ValidationFailed);
    assert_eq!((a.current().is_none(), calls.load(Ordering::SeqCst)), (true, 0));
    // Empty bytes announced under another hash fail the hash check first.
    a.apply("prod@r1", Vec::new(), ContentHash::of(b"v1"), T0).unwrap_err();
    assert_eq!(a.last_sync_error().unwrap().code, SyncErrorCode::HashMismatch);
}

#[test]
fn a_malformed_snapshot_id_is_invalid_and_records_nothing() {
    let (a, calls) = agent();
    apply(&a, "prod@r1", "v1", T0).unwrap();
    for bad in ["", "prod @r2", "prod@r2\n"] {
        assert_eq!(apply(&a, bad, "v2", T0).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
    assert_eq!((live(&a).as_deref(), a.last_sync_error(), calls.load(Ordering::SeqCst)), (Some("prod@r1"), None, 1));
}

#[test]
fn a_hook_failure_keeps_the_last_known_good_and_counts_as_a_hot_swap_error() {
    let (a, _) = agent();
    apply(&a, "prod@r1", "v1", T0).unwrap();
    let err = apply(&a, "prod@r2", "bad filter", T0 + 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReloadFailure);
    assert_eq!(err.message(), "snapshot prod@r2 not applied: VALIDATION_FAILED: unknown filter 'bad'");
    assert_eq!(live(&a).as_deref(), Some("prod@r1"));
    assert_eq!(a.last_sync_error().unwrap().to_string(), "VALIDATION_FAILED: unknown filter 'bad'");
    assert_eq!(a.hot_swap_errors(), 1);

    apply(&a, "prod@r3", "oom", T0 + 2).unwrap_err();
    let hb = a.heartbeat(T0 + 3, Metrics::default(), ProcessStatus::Ready).unwrap();
    assert_eq!((hb.metrics.hot_swap_errors, hb.memory_pressure_reloads), (2, 1));
    assert_eq!(hb.sync_error.unwrap().code, SyncErrorCode::JvmMemoryPressure);
}

#[test]
fn a_panicking_hook_is_a_bug_for_the_caller_not_a_report_to_the_fleet() {
    let (a, _) = agent();
    let good = apply(&a, "prod@r1", "v1", T0).unwrap();
    apply(&a, "prod@r2", "bad", T0 + 1).unwrap_err();
    let refusal = a.last_sync_error().unwrap();
    let panicked =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| apply(&a, "prod@r3", "panic please", T0 + 2)));
    let payload = panicked.expect_err("the hook's panic reaches the caller");
    assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("filter chain exploded on prod@r3"));
    // Nothing was recorded: no RELOAD_FAILURE, no hot-swap error, the old config live.
    assert_eq!(a.last_sync_error(), Some(refusal), "the last report is the refusal before");
    assert_eq!(a.hot_swap_errors(), 1);
    assert!(Arc::ptr_eq(&a.current().unwrap(), &good));
    // The agent is still usable: the lock was not left held or poisoned.
    apply(&a, "prod@r4", "v4", T0 + 3).unwrap();
    assert_eq!(live(&a).as_deref(), Some("prod@r4"));
    // A rollback whose hook panics leaves everything as it was too.
    let flaky = Agent::new(v("3.5.0"), |c: &AppliedConfig| -> Result<(), SyncError> {
        if c.applied_at_ms() == T0 + 2 { std::panic::panic_any(42_u8) } else { Ok(()) }
    });
    flaky.apply("prod@r1", b"one".to_vec(), ContentHash::of(b"one"), T0).unwrap();
    flaky.apply("prod@r2", b"two".to_vec(), ContentHash::of(b"two"), T0 + 1).unwrap();
    let rolled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| flaky.rollback(T0 + 2)));
    assert_eq!(rolled.expect_err("the panic reaches the caller").downcast_ref::<u8>(), Some(&42));
    assert_eq!(live(&flaky).as_deref(), Some("prod@r2"));
    assert_eq!(flaky.last_known_good().unwrap().snapshot_id(), "prod@r1", "still there to retry");
    assert_eq!((flaky.last_sync_error(), flaky.hot_swap_errors()), (None, 0));
}

#[test]
fn a_successful_apply_clears_the_last_sync_error() {
    let (a, _) = agent();
    apply(&a, "prod@r1", "bad", T0).unwrap_err();
    a.record_sync_error("NATS_TIMEOUT: Failed to receive snapshot".parse().unwrap());
    assert_eq!(a.last_sync_error().unwrap().code, SyncErrorCode::NatsTimeout);
    apply(&a, "prod@r2", "v2", T0 + 1).unwrap();
    assert_eq!(a.last_sync_error(), None);
    assert_eq!(a.hot_swap_errors(), 1, "the count is since start, not cleared");
}

#[test]
fn rollback_reinstalls_the_config_before_the_current_through_the_hook() {
    let (a, calls) = agent();
    assert_eq!(a.rollback(T0).unwrap_err().kind(), ErrorKind::NotFound);
    let one = apply(&a, "prod@r1", "v1", T0).unwrap();
    apply(&a, "prod@r2", "v2", T0 + 1).unwrap();
    assert!(Arc::ptr_eq(&a.last_known_good().unwrap(), &one));
    let back = a.rollback(T0 + 2).unwrap();
    assert_eq!((back.snapshot_id(), back.hash(), back.applied_at_ms()), ("prod@r1", one.hash(), T0 + 2));
    assert_eq!(back.bytes(), b"v1");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "the rollback went through the hook");
    assert_eq!(live(&a).as_deref(), Some("prod@r1"));
    assert!(a.last_known_good().is_none(), "the config rolled back from is not good");
    assert_eq!(a.rollback(T0 + 3).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn a_rollback_the_hook_refuses_keeps_the_current_config() {
    let flaky = Arc::new(AtomicUsize::new(0));
    let refuse_after = Arc::clone(&flaky);
    let a = Agent::new(v("3.5.0"), move |_: &AppliedConfig| {
        if refuse_after.fetch_add(1, Ordering::SeqCst) >= 2 {
            Err(SyncError::new(SyncErrorCode::ReloadFailure, "Incompatible Filter Signature"))
        } else {
            Ok(())
        }
    });
    apply(&a, "prod@r1", "v1", T0).unwrap();
    apply(&a, "prod@r2", "v2", T0 + 1).unwrap();
    let err = a.rollback(T0 + 2).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ReloadFailure);
    assert!(err.message().starts_with("rollback to snapshot prod@r1 failed: RELOAD_FAILURE"), "{err}");
    assert_eq!(live(&a).as_deref(), Some("prod@r2"));
    assert_eq!(a.last_known_good().unwrap().snapshot_id(), "prod@r1", "still there to retry");
    assert_eq!(a.last_sync_error().unwrap().code, SyncErrorCode::ReloadFailure);
}

#[test]
fn a_rollback_keeps_the_sync_error_that_explains_the_drift() {
    let (a, _) = agent();
    apply(&a, "prod@r1", "v1", T0).unwrap();
    apply(&a, "prod@r2", "v2", T0 + 1).unwrap();
    apply(&a, "prod@r3", "bad", T0 + 2).unwrap_err();
    a.rollback(T0 + 3).unwrap();
    assert_eq!(a.last_sync_error().unwrap().code, SyncErrorCode::ValidationFailed);
}

#[test]
fn reapplying_the_live_config_reloads_but_keeps_the_rollback_target() {
    let (a, calls) = agent();
    apply(&a, "prod@r1", "v1", T0).unwrap();
    apply(&a, "prod@r2", "v2", T0 + 1).unwrap();
    apply(&a, "prod@r2", "v2", T0 + 2).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(a.last_known_good().unwrap().snapshot_id(), "prod@r1");
    assert_eq!(a.current().unwrap().applied_at_ms(), T0 + 2);
}

#[test]
fn directives_say_what_to_pull() {
    let e = engine();
    let s1 = e.publish("stage", b"v1", "alice", T0).unwrap();
    let (a, _) = agent();
    let reconcile = Directive { kind: DirectiveKind::Reconcile, snapshot: &s1 };
    let pull = a.on_directive(&reconcile).unwrap();
    assert_eq!(pull, PullRequest { kind: DirectiveKind::Reconcile, snapshot_id: s1.id.clone(), hash: s1.hash });
    a.apply(&pull.snapshot_id, e.artifact(&pull.hash).unwrap(), pull.hash, T0).unwrap();
    assert_eq!(a.on_directive(&reconcile), None);
    let force = Directive { kind: DirectiveKind::ForceSync, snapshot: &s1 };
    assert_eq!(a.on_directive(&force).unwrap().kind, DirectiveKind::ForceSync);

    // A newer snapshot is pulled even though something is live.
    let s2 = e.publish("stage", b"v2", "alice", T0 + 1).unwrap();
    let other = Directive { kind: DirectiveKind::Reconcile, snapshot: &s2 };
    assert_eq!(a.on_directive(&other).unwrap().snapshot_id, s2.id);
}

#[test]
fn heartbeats_carry_what_was_applied_and_the_engine_verifies_them() {
    let e = engine();
    let s1 = e.publish("prod", b"rate_limit: 1000", "alice", T0).unwrap();
    let node = e.enroll("gw-1", "prod", T0).unwrap();
    let (a, _) = agent();

    let hb = a.heartbeat(T0, Metrics::default(), ProcessStatus::Starting).unwrap();
    assert_eq!((hb.applied_snapshot.as_deref(), hb.applied_hash, hb.runtime_version), (None, None, v("3.5.0")));
    e.heartbeat(node, &hb.as_heartbeat()).unwrap();
    assert_eq!(e.cluster("prod", T0).unwrap().cohesion, 0);

    a.apply(&s1.id, e.artifact(&s1.hash).unwrap(), s1.hash, T0 + 1).unwrap();
    let m = Metrics { cpu: 12.0, memory: 40.0, tps: 1500.0, heap: 61.5, hot_swap_errors: 0 };
    let hb = a.heartbeat(T0 + 2, m, ProcessStatus::Ready).unwrap();
    assert_eq!((hb.applied_snapshot.as_deref(), hb.applied_hash), (Some(s1.id.as_str()), Some(s1.hash)));
    assert!(e.heartbeat(node, &hb.as_heartbeat()).unwrap().is_none());
    let c = e.cluster("prod", T0 + 2).unwrap();
    assert_eq!((c.cohesion, c.status), (100, ClusterStatus::Healthy));
    let n = e.node("gw-1", T0 + 2).unwrap();
    assert_eq!((n.applied_hash, n.metrics), (Some(s1.hash), m));

    // A failed apply is reported as the node's sync error: a root cause.
    let s2 = e.publish("prod", b"bad filter", "alice", T0 + 3).unwrap();
    a.apply(&s2.id, e.artifact(&s2.hash).unwrap(), s2.hash, T0 + 4).unwrap_err();
    let hb = a.heartbeat(T0 + 5, m, ProcessStatus::Ready).unwrap();
    assert_eq!(hb.applied_snapshot.as_deref(), Some(s1.id.as_str()), "still running the last known good");
    e.heartbeat(node, &hb.as_heartbeat()).unwrap();
    let c = e.cluster("prod", T0 + 5).unwrap();
    assert_eq!((c.cohesion, c.root_causes[0].code), (0, SyncErrorCode::ValidationFailed));
}

#[test]
fn heap_trend_follows_successive_heartbeats_and_bad_metrics_change_nothing() {
    let (a, _) = agent();
    let m = |heap| Metrics { heap, ..Metrics::default() };
    assert_eq!(a.heartbeat(T0, m(50.0), ProcessStatus::Ready).unwrap().heap_trend, 0.0);
    assert_eq!(a.heartbeat(T0, m(f32::NAN), ProcessStatus::Ready).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(a.heartbeat(T0, m(101.0), ProcessStatus::Ready).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(a.heartbeat(T0, m(42.5), ProcessStatus::Ready).unwrap().heap_trend, -7.5);
    assert_eq!(a.heartbeat(T0, m(45.0), ProcessStatus::Ready).unwrap().heap_trend, 2.5);
}

#[test]
fn the_binary_record_tells_the_engine_what_the_struct_tells_it() {
    let (by_struct, by_record) = (engine(), engine());
    let (a, _) = agent();
    let m = Metrics { cpu: 5.0, memory: 6.0, tps: 7.0, heap: 8.0, hot_swap_errors: 0 };
    let h1 = by_struct.enroll("gw-1", "prod", T0).unwrap();
    let h2 = by_record.enroll("gw-1", "prod", T0).unwrap();
    for (step, (cluster, text)) in [("prod", "v1"), ("prod", "bad v2"), ("dev", "local")].into_iter().enumerate() {
        let at = T0 + step as u64;
        let s = by_struct.publish(cluster, text.as_bytes(), "alice", at).unwrap();
        by_record.publish(cluster, text.as_bytes(), "alice", at).unwrap();
        let _ = a.apply(&s.id, by_struct.artifact(&s.hash).unwrap(), s.hash, at);
        let hb = a.heartbeat(at, m, ProcessStatus::Ready).unwrap();
        let d1 = by_struct.heartbeat(h1, &hb.as_heartbeat()).unwrap().map(|d| (d.kind, d.snapshot.hash));
        let mut out = [record::OutcomeRecord::default()];
        by_record.ingest_records(&[hb.to_record(h2, "prod")], &mut out).unwrap();
        assert_eq!(d1.map(|d| d.1), out[0].directive().map(|d| d.1), "step {step}");
        assert_eq!(by_struct.node("gw-1", at).unwrap(), by_record.node("gw-1", at).unwrap(), "step {step}");
    }
    // The last step applied a dev snapshot: the prod node runs something foreign.
    let n = by_record.node("gw-1", T0 + 2).unwrap();
    assert_eq!((n.applied_snapshot_id, n.applied_hash), (None, Some(ContentHash::of(b"local"))));
}
