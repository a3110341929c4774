//! Free-text fields (actor, snapshot author, justification, owner team) have
//! a length limit in bytes and character rules, checked in the core and
//! reported as `INVALID_INPUT` (`JUSTIFICATION_REQUIRED` for an override's
//! justification with no visible text); accepted text is stored unaltered,
//! refused text changes nothing.

mod common;

use common::{T0, engine};
use fleetgov::*;

const WHY: &str = "Rollback due to failed deployment";

fn force(e: &Engine, actor: &str, justification: &str) -> Result<std::sync::Arc<audit::AuditRecord>> {
    e.force_sync(ForceTarget::Cluster("prod"), &Override::new(actor, Role::Operator, justification, T0))
}

#[test]
fn unbounded_owner_team_is_refused() {
    let e = engine();
    let before = e.audit_len();
    let huge = "t".repeat(100_000);
    let err = e.upsert_cluster(ClusterSpec::new("c1", "ws", Environment::Staging).owner_team(&huge)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("owner team is 100000 bytes, longer than 256"), "{err}");
    let at_limit = "é".repeat(MAX_OWNER_TEAM_LEN / 2);
    let by = By::new("ada.admin", Role::Admin, T0);
    for bad in [format!("{at_limit}x"), "edge\nplatform".into(), "edge\0".into(), "\u{200b}".into(), " ".into()] {
        let err = e.upsert_cluster_by(ClusterSpec::new("c1", "ws", Environment::Staging).owner_team(&bad), &by);
        assert_eq!(err.unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
    assert_eq!(e.audit_len(), before, "a refused cluster is not audited");
    assert!(e.cluster("c1", T0).is_err(), "a refused cluster does not exist");

    e.upsert_cluster_by(ClusterSpec::new("c1", "ws", Environment::Staging).owner_team(&at_limit), &by).unwrap();
    assert_eq!(e.cluster("c1", T0).unwrap().owner_team, at_limit);
    e.upsert_cluster(ClusterSpec::new("c2", "ws", Environment::Staging)).unwrap();
    assert_eq!(e.cluster("c2", T0).unwrap().owner_team, "", "no owner team stays allowed");
}

#[test]
fn justification_with_control_characters_is_refused_not_stored() {
    let e = engine();
    let before = e.audit_len();
    for bad in ["line1\nline2\u{0}", "fix \u{0} ok", "tab\there", "esc\u{1b}[31m", "c1\u{85}next", "del\u{7f}"] {
        let err = force(&e, "bob", bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}: {err}");
        assert!(err.message().contains("control character"), "{err}");
    }
    assert_eq!(e.audit_len(), before, "nothing was recorded");
}

#[test]
fn invisible_only_justification_is_refused() {
    let e = engine();
    let before = e.audit_len();
    for blank in ["", " ", "\u{200b}", "\u{a0}", "\u{3000}", "\u{feff}", "\u{200b}\u{2060}\u{a0}\u{3000}\u{feff}"] {
        let err = force(&e, "bob", blank).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::JustificationRequired, "{blank:?}: {err}");
    }
    assert_eq!(force(&e, "bob", "\u{0}").unwrap_err().kind(), ErrorKind::InvalidInput, "NUL alone is a control");
    assert_eq!(e.audit_len(), before, "nothing was recorded");
}

#[test]
fn overlong_justification_is_refused() {
    let e = engine();
    let err = force(&e, "bob", &"j".repeat(MAX_JUSTIFICATION_LEN + 1)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("justification is 4097 bytes, longer than 4096"), "{err}");
    force(&e, "bob", &"j".repeat(MAX_JUSTIFICATION_LEN)).unwrap();
}

#[test]
fn accepted_free_text_is_stored_exactly_as_submitted() {
    let e = engine();
    let why = "  Rückrollen \u{200b}nach 失败 \u{1f680}\u{a0}";
    let actor = "Zoë\u{200d}Ops";
    let record = force(&e, actor, why).unwrap();
    assert_eq!((record.actor.as_str(), record.justification.as_str()), (actor, why));
    let stored = e.audit_record(record.seq).unwrap();
    assert_eq!(stored.justification.as_bytes(), why.as_bytes(), "not trimmed, not normalised");
    e.verify_audit().unwrap();
}

#[test]
fn actor_and_author_follow_one_rule_on_every_path() {
    let e = engine();
    let before = e.audit_len();
    let too_long = "a".repeat(MAX_ACTOR_LEN + 1);
    for bad in ["", "\u{200b}", "\u{3000}", "bob\n", "bob\u{0}", "bob\u{9b}", too_long.as_str()] {
        assert_eq!(force(&e, bad, WHY).unwrap_err().kind(), ErrorKind::InvalidInput, "force by {bad:?}");
        assert_eq!(e.publish("prod", b"x", bad, T0).unwrap_err().kind(), ErrorKind::InvalidInput, "author {bad:?}");
        let by = By::new(bad, Role::Admin, T0);
        assert_eq!(e.publish_by("prod", b"x", &by).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
        let spec = WorkspaceSpec::new("ws-2");
        assert_eq!(e.upsert_workspace_by(spec, &by).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
    }
    assert_eq!(e.audit_len(), before, "nothing was recorded");
    let longest = "a".repeat(MAX_ACTOR_LEN);
    assert_eq!(e.publish("prod", b"x", &longest, T0).unwrap().author, longest);
}

#[test]
fn free_text_rules_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let config =
        || EngineConfig { clock: Clock::manual(T0), audit_path: Some(path.clone()), ..EngineConfig::default() };
    let team = "Équipe \u{1f6e0} edge";
    let why = "Ré-provisionnement \u{200b}après panne";
    {
        let e = Engine::with_config(config()).unwrap();
        e.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        e.upsert_cluster(ClusterSpec::new("prod", "ws", Environment::Production).owner_team(team)).unwrap();
        force(&e, "bob", why).unwrap();
    }
    let e = Engine::with_config(config()).unwrap();
    assert_eq!(e.cluster("prod", T0).unwrap().owner_team, team);
    assert_eq!(e.audit().last().unwrap().justification, why);
}

#[test]
fn reserved_actors_cannot_be_spoofed_with_invisible_characters() {
    let e = engine();
    let before = e.audit_len();
    for spoof in ["\u{200b}fleetgov", "fleet\u{2060}gov", "\u{feff}Embedder", "embed\u{200d}der\u{3000}"] {
        assert!(is_reserved_actor(spoof), "{spoof:?}");
        let err = force(&e, spoof, WHY).unwrap_err();
        assert!(err.message().contains("reserved"), "{spoof:?}: {err}");
    }
    assert_eq!(e.audit_len(), before);
    assert!(!is_reserved_actor("fleetgov-ops"));
}
