//! Overrides need an actor, a permitted role and a justification; every one
//! is audited before it takes effect; a durable log brings the authority
//! state back on reopen.

mod common;

use common::{T0, engine, hb, v};
use fleetgov::audit::AuditAction;
use fleetgov::*;

fn by<'a>(role: Role, why: &'a str) -> Override<'a> {
    Override::new("bob", role, why, T0)
}

#[test]
fn overrides_without_justification_or_role_change_nothing() {
    let e = engine();
    e.enroll("n", "prod", T0).unwrap();
    let before = e.audit().len();
    let cases = [
        (ForceTarget::Node("n"), by(Role::Operator, ""), ErrorKind::JustificationRequired),
        (ForceTarget::Node("n"), by(Role::Operator, " \u{3000}\u{a0}\u{200b} "), ErrorKind::JustificationRequired),
        (ForceTarget::Node("n"), by(Role::Viewer, "Rollback due to failed deployment"), ErrorKind::PermissionDenied),
        (ForceTarget::Cluster("prod"), by(Role::Viewer, "Rollback"), ErrorKind::PermissionDenied),
        (ForceTarget::Workspace("ws"), by(Role::Operator, "Emergency disaster recovery"), ErrorKind::PermissionDenied),
        (ForceTarget::Fleet, by(Role::Operator, "Emergency disaster recovery"), ErrorKind::PermissionDenied),
        (ForceTarget::Node("ghost"), by(Role::Operator, "Rollback"), ErrorKind::NotFound),
        (ForceTarget::Cluster("ghost"), by(Role::Operator, "Rollback"), ErrorKind::NotFound),
        (ForceTarget::Workspace("ghost"), by(Role::Admin, "Rollback"), ErrorKind::NotFound),
        (ForceTarget::Node("n"), Override::new(" ", Role::Admin, "Rollback", T0), ErrorKind::InvalidInput),
    ];
    for (target, who, kind) in cases {
        assert_eq!(e.force_sync(target, &who).unwrap_err().kind(), kind, "{target:?} {who:?}");
    }
    assert_eq!(e.audit().len(), before);
}

#[test]
fn a_forced_node_gets_force_sync_on_its_next_heartbeat_only() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let n = e.enroll("n", "prod", T0).unwrap();
    assert!(e.heartbeat(n, &hb(T0, &s)).unwrap().is_none());
    let record = e
        .force_sync(ForceTarget::Node("n"), &by(Role::Operator, "Node re-provisioning after hardware failure"))
        .unwrap();
    assert_eq!(
        (record.action, record.target.as_str(), record.role, record.justification.as_str()),
        (AuditAction::ForceSyncNode, "node:n", Role::Operator, "Node re-provisioning after hardware failure")
    );
    let d = e.heartbeat(n, &hb(T0 + 1, &s)).unwrap().unwrap();
    assert_eq!((d.kind, d.snapshot.id.as_str()), (DirectiveKind::ForceSync, "prod@r1"));
    assert!(e.heartbeat(n, &hb(T0 + 2, &s)).unwrap().is_none());
}

#[test]
fn cluster_and_global_force_reach_every_node_once() {
    let e = engine();
    let p = e.publish("prod", b"a", "alice", T0).unwrap();
    let s = e.publish("stage", b"a", "alice", T0).unwrap();
    let prod: Vec<_> = (0..3).map(|i| e.enroll(&format!("p{i}"), "prod", T0).unwrap()).collect();
    let stage: Vec<_> = (0..3).map(|i| e.enroll(&format!("s{i}"), "stage", T0).unwrap()).collect();
    let kinds = |handles: &[NodeHandle], snap: &Snapshot, at: u64| -> Vec<Option<DirectiveKind>> {
        handles.iter().map(|&h| e.heartbeat(h, &hb(at, snap)).unwrap().map(|d| d.kind)).collect()
    };
    assert_eq!(kinds(&prod, &p, T0), [None, None, None]);
    e.force_sync(ForceTarget::Cluster("prod"), &by(Role::Operator, "Rollback due to failed deployment")).unwrap();
    assert_eq!(kinds(&prod, &p, T0 + 1), [Some(DirectiveKind::ForceSync); 3]);
    assert_eq!(kinds(&stage, &s, T0 + 1), [None, None, None]);
    assert_eq!(kinds(&prod, &p, T0 + 2), [None, None, None]);

    let record = e.force_sync(ForceTarget::Workspace("ws"), &by(Role::Admin, "Emergency disaster recovery")).unwrap();
    assert_eq!((record.action, record.target.as_str()), (AuditAction::GlobalOverwrite, "workspace:ws"));
    assert_eq!(kinds(&prod, &p, T0 + 3), [Some(DirectiveKind::ForceSync); 3]);
    assert_eq!(kinds(&stage, &s, T0 + 3), [Some(DirectiveKind::ForceSync); 3]);
    e.force_sync(ForceTarget::Fleet, &by(Role::Admin, "Emergency disaster recovery")).unwrap();
    assert_eq!(kinds(&stage, &s, T0 + 4), [Some(DirectiveKind::ForceSync); 3]);
    // A node enrolled after a force is not forced by it.
    let late = e.enroll("late", "stage", T0).unwrap();
    assert!(e.heartbeat(late, &hb(T0 + 5, &s)).unwrap().is_none());
}

#[test]
fn auto_reconcile_writes_one_record_per_wave() {
    let e = engine();
    let r1 = e.publish("stage", b"a", "alice", T0).unwrap();
    let r2 = e.publish("stage", b"b", "alice", T0).unwrap();
    let (n, m) = (e.enroll("n", "stage", T0).unwrap(), e.enroll("m", "stage", T0).unwrap());
    let waves = || e.audit().iter().filter(|r| r.action == AuditAction::AutoReconcile).count();
    for t in 0..5 {
        assert_eq!(e.heartbeat(n, &hb(T0 + t, &r1)).unwrap().unwrap().kind, DirectiveKind::Reconcile);
        assert_eq!(e.heartbeat(m, &hb(T0 + t, &r1)).unwrap().unwrap().kind, DirectiveKind::Reconcile);
    }
    assert_eq!(waves(), 1, "one record for the cluster's wave toward r2, whatever the nodes");
    let record = e.audit().into_iter().find(|r| r.action == AuditAction::AutoReconcile).unwrap();
    assert_eq!((record.target.as_str(), record.actor.as_str()), ("cluster:stage", "fleetgov"));
    assert!(record.justification.contains("stage@r2"), "{}", record.justification);
    // A node that flaps between in sync and divergent stays in the same wave.
    assert!(e.heartbeat(n, &hb(T0 + 10, &r2)).unwrap().is_none());
    assert!(e.heartbeat(n, &hb(T0 + 11, &r1)).unwrap().is_some());
    assert_eq!(waves(), 1);
    // A new publish starts a new wave; so does switching auto-reconcile back on.
    e.publish("stage", b"c", "alice", T0).unwrap();
    e.heartbeat(n, &hb(T0 + 12, &r2)).unwrap().unwrap();
    e.heartbeat(m, &hb(T0 + 12, &r2)).unwrap().unwrap();
    assert_eq!(waves(), 2);
    e.upsert_cluster(ClusterSpec::new("stage", "ws", Environment::Staging).auto_reconcile(false)).unwrap();
    assert!(e.heartbeat(n, &hb(T0 + 13, &r2)).unwrap().is_none());
    e.upsert_cluster(ClusterSpec::new("stage", "ws", Environment::Staging).auto_reconcile(true)).unwrap();
    e.heartbeat(n, &hb(T0 + 14, &r2)).unwrap().unwrap();
    assert_eq!(waves(), 3);
}

#[test]
fn every_authority_change_is_audited_in_order_and_verifies() {
    let e = engine();
    e.publish("prod", b"a", "alice", T0).unwrap();
    let actions: Vec<_> = e.audit().iter().map(|r| (r.action, r.target.clone(), r.actor.clone())).collect();
    assert_eq!(
        actions,
        [
            (AuditAction::UpsertWorkspace, "workspace:ws".to_owned(), EMBEDDER.to_owned()),
            (AuditAction::UpsertCluster, "cluster:prod".to_owned(), EMBEDDER.to_owned()),
            (AuditAction::UpsertCluster, "cluster:stage".to_owned(), EMBEDDER.to_owned()),
            (AuditAction::UpsertCluster, "cluster:dev".to_owned(), EMBEDDER.to_owned()),
            (AuditAction::Publish, "prod@r1".to_owned(), "alice".to_owned()),
        ]
    );
    let head = e.verify_audit().unwrap();
    assert_eq!(head.size, 5);
    // Failed changes are not recorded.
    assert!(e.publish("prod", b"", "alice", T0).is_err());
    assert!(e.upsert_cluster(ClusterSpec::new("prod", "nope", Environment::Production)).is_err());
    assert_eq!(e.audit().len(), 5);
}

#[test]
fn a_durable_log_restores_the_authority_state() {
    let dir = tempfile::tempdir().unwrap();
    let config = || EngineConfig {
        clock: Clock::manual(T0),
        audit_path: Some(dir.path().join("audit.log")),
        ..EngineConfig::default()
    };
    let (desired, head) = {
        let e = Engine::with_config(config()).unwrap();
        e.upsert_workspace(WorkspaceSpec::new("ws").min_runtime_version(v("3.5.0"))).unwrap();
        e.upsert_cluster(
            ClusterSpec::new("prod", "ws", Environment::Production).owner_team("edge").auto_reconcile(true),
        )
        .unwrap();
        e.publish("prod", b"one", "alice", T0).unwrap();
        let two = e.publish("prod", b"two", "alice", T0 + 1).unwrap();
        e.enroll("n", "prod", T0).unwrap();
        e.force_sync(ForceTarget::Cluster("prod"), &by(Role::Operator, "Rollback due to failed deployment")).unwrap();
        (two, e.verify_audit().unwrap())
    };
    let e = Engine::with_config(config()).unwrap();
    assert_eq!(e.verify_audit().unwrap(), head);
    assert_eq!(e.workspace("ws").unwrap().min_runtime_version, v("3.5.0"));
    let c = e.cluster("prod", T0).unwrap();
    assert_eq!(
        (c.owner_team.as_str(), c.auto_reconcile, c.desired_snapshot.as_deref()),
        ("edge", true, Some("prod@r2"))
    );
    assert_eq!(e.desired("prod").unwrap().unwrap(), desired);
    assert_eq!(&*e.artifact(&desired.hash).unwrap(), b"two");
    assert_eq!(e.snapshot("prod@r1").unwrap().hash, ContentHash::of(b"one"));
    // The log goes on from where it was.
    let three = e.publish("prod", b"three", "alice", T0 + 2).unwrap();
    assert_eq!(three.revision, 3);
    assert_eq!(e.verify_audit().unwrap().size, head.size + 1);
}

#[test]
fn a_third_party_checks_proofs_with_only_the_public_key() {
    use fleetgov::audit::Checkpoint;
    let e = engine();
    let record =
        e.force_sync(ForceTarget::Cluster("prod"), &by(Role::Operator, "Rollback due to failed deployment")).unwrap();
    let note = e.checkpoint().unwrap();
    let verifier = e.checkpoint_verifier().unwrap();
    let checkpoint = Checkpoint::open(&note, &verifier).unwrap();
    let head = checkpoint.head();
    assert_eq!(head, e.verify_audit().unwrap());
    e.inclusion_proof(record.seq, head.size).unwrap().verify(&record.leaf_hash(), &head).unwrap();
    // A later head is consistent with this one.
    e.publish("prod", b"next", "alice", T0).unwrap();
    let later = e.verify_audit().unwrap();
    e.consistency_proof(head.size, later.size).unwrap().verify(&head, &later).unwrap();
    // A tampered checkpoint does not open.
    let forged = note.replacen(&head.size.to_string(), &(head.size + 1).to_string(), 1);
    assert_eq!(Checkpoint::open(&forged, &verifier).unwrap_err().kind(), ErrorKind::AuditTampered);
}

#[test]
fn policies_are_audited_distributed_and_restored() {
    use fleetgov::policy::{Policy, PolicyScope, RuleSet, RuleValue};
    let dir = tempfile::tempdir().unwrap();
    let config = || EngineConfig {
        clock: Clock::manual(T0),
        audit_path: Some(dir.path().join("audit.log")),
        ..EngineConfig::default()
    };
    let cloud = RuleSet::new()
        .with("rate_limit_per_minute", RuleValue::Limit(600))
        .unwrap()
        .with("require_mtls", RuleValue::Flag(true))
        .unwrap();
    {
        let e = Engine::with_config(config()).unwrap();
        e.upsert_workspace(WorkspaceSpec::new("ws").authority_mode(AuthorityMode::TightenOnly)).unwrap();
        e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production)).unwrap();
        let missing = Policy::new(PolicyScope::workspace("ghost"), "p", RuleSet::new()).unwrap();
        assert_eq!(e.upsert_policy(missing).unwrap_err().kind(), ErrorKind::NotFound);
        e.upsert_policy(Policy::new(PolicyScope::workspace("ws"), "edge", cloud.clone()).unwrap()).unwrap();
        let clash = RuleSet::new().with("require_mtls", RuleValue::Limit(1)).unwrap();
        assert_eq!(
            e.upsert_policy(Policy::new(PolicyScope::Org, "odd", clash).unwrap()).unwrap_err().kind(),
            ErrorKind::Conflict
        );
        let last = e.audit().last().unwrap().clone();
        assert_eq!((last.action, last.target.as_str()), (AuditAction::UpsertPolicy, "policy:edge"));
    }
    let e = Engine::with_config(config()).unwrap();
    let fleet_config = e.fleet_config("ws").unwrap();
    assert_eq!(fleet_config.distribution_mode, fleetgov::distribution::DistributionMode::AlwaysPull);
    assert_eq!(fleet_config.active_policies[0].id(), "edge");
    let local = RuleSet::new().with("rate_limit_per_minute", RuleValue::Limit(5000)).unwrap();
    let effective = e.effective_policy("prod", &local).unwrap();
    assert_eq!(effective.get("rate_limit_per_minute"), Some(&RuleValue::Limit(600)));
    assert_eq!(e.policy_loosenings("prod", &local).unwrap().len(), 1);
    e.remove_policy(&PolicyScope::workspace("ws"), "edge").unwrap();
    assert_eq!(e.active_policies("ws").unwrap().len(), 0);
}

/// Issue 18, defect 4: the force epoch a node remembers is 16 bits wide, so
/// exactly 65,536 cluster forces between two heartbeats used to bring it back
/// to the node's value and the node got no directive although every force
/// was audited. Also 65,536 + 1 and twice 65,536, and a node that answered
/// half-way is forced again once, not twice.
#[test]
fn a_lost_force_sync_65536_cluster_forces_between_two_heartbeats_still_force() {
    let e = engine();
    let s = e.publish("prod", b"a", "alice", T0).unwrap();
    let quiet = e.enroll("quiet", "prod", T0).unwrap();
    let busy = e.enroll("busy", "prod", T0).unwrap();
    let mut t = T0;
    for n in [quiet, busy] {
        assert!(e.heartbeat(n, &hb(t, &s)).unwrap().is_none());
    }
    let force = || {
        e.force_sync(ForceTarget::Cluster("prod"), &by(Role::Operator, "Rollback due to failed deployment")).unwrap();
    };
    for round in [1usize << 16, (1 << 16) + 1, 1 << 17] {
        let before = e.audit_len();
        for i in 0..round {
            force();
            if i == round / 2 {
                t += 1;
                let d = e.heartbeat(busy, &hb(t, &s)).unwrap().unwrap();
                assert_eq!(d.kind, DirectiveKind::ForceSync, "busy, half-way through {round}");
            }
        }
        assert_eq!(e.audit_len() - before, round as u64, "every force is audited");
        t += 1;
        for (name, n) in [("quiet", quiet), ("busy", busy)] {
            let d = e.heartbeat(n, &hb(t, &s)).unwrap();
            assert_eq!(d.map(|d| d.kind), Some(DirectiveKind::ForceSync), "{name} after {round} forces");
            assert!(e.heartbeat(n, &hb(t + 1, &s)).unwrap().is_none(), "{name}: answered once");
        }
        t += 1;
    }
}

/// Issue 18, defect 2, in the core: authority changes name who made them;
/// a viewer or a reserved actor changes nothing; the embedding API's own
/// upserts stay audited as the embedder.
#[test]
fn actions_recorded_under_the_wrong_actor_by_names_actor_role_and_time() {
    let e = engine();
    let ws = WorkspaceSpec::new("ws2");
    e.upsert_workspace_by(ws.clone(), &By::new("ada", Role::Admin, T0 + 5)).unwrap();
    let r = e.audit().pop().unwrap();
    assert_eq!((r.actor.as_str(), r.role, r.time_ms), ("ada", Role::Admin, T0 + 5));
    let spec = ClusterSpec::new("c2", "ws2", Environment::Staging);
    e.upsert_cluster_by(spec.clone(), &By::new("ada", Role::Admin, T0 + 6)).unwrap();
    assert_eq!(e.audit().pop().unwrap().actor, "ada");
    let s = e.publish_by("c2", b"x", &By::new("omar", Role::Operator, T0 + 7)).unwrap();
    assert_eq!(s.author, "omar");
    e.upsert_cluster(spec.clone()).unwrap();
    assert_eq!((e.audit().pop().unwrap().actor.as_str()), EMBEDDER);

    let before = e.audit_len();
    let viewer = By::new("vic", Role::Viewer, T0);
    assert_eq!(e.upsert_workspace_by(ws.clone(), &viewer).unwrap_err().kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        e.upsert_cluster_by(spec.clone(), &By::new("omar", Role::Operator, T0)).unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(e.publish_by("c2", b"y", &viewer).unwrap_err().kind(), ErrorKind::PermissionDenied);
    for actor in [SYSTEM_ACTOR, "FLEETGOV", EMBEDDER, " "] {
        let by = By::new(actor, Role::Admin, T0);
        assert_eq!(e.upsert_cluster_by(spec.clone(), &by).unwrap_err().kind(), ErrorKind::InvalidInput, "{actor:?}");
        assert_eq!(e.publish("c2", b"y", actor, T0).unwrap_err().kind(), ErrorKind::InvalidInput, "{actor:?}");
        let o = Override::new(actor, Role::Admin, "Rollback due to failed deployment", T0);
        assert_eq!(e.force_sync(ForceTarget::Cluster("c2"), &o).unwrap_err().kind(), ErrorKind::InvalidInput);
    }
    assert_eq!(e.audit_len(), before, "refused changes record nothing");
}
