//! What ran at time t: journalled transitions, fleet views in the past and
//! signed attestations.

mod common;

use common::{T0, hb};
use fleetgov::*;

/// The common engine with its clock a second past `T0`, so heartbeats
/// stamped up to then count at their stamps (a heartbeat counts at
/// `min(stamp, engine clock)`).
fn engine() -> Engine {
    let e = common::engine();
    e.clock().set(T0 + 1_000);
    e
}

#[test]
fn what_ran_answers_from_transitions() {
    let e = engine();
    let r1 = e.publish("prod", b"a", "alice", T0).unwrap();
    let r2 = e.publish("prod", b"b", "alice", T0).unwrap();
    let n = e.enroll("n", "prod", T0).unwrap();
    assert!(e.what_ran("n", T0 + 100).unwrap().is_none());
    e.heartbeat(n, &hb(T0 + 10, &r1)).unwrap();
    for t in 11..20 {
        e.heartbeat(n, &hb(T0 + t, &r1)).unwrap(); // steady state: not journalled
    }
    e.heartbeat(n, &hb(T0 + 20, &r2)).unwrap();
    let forged = Heartbeat::new(T0 + 30, "3.5.0".parse().unwrap()).applied(&r2.id, ContentHash::of(b"evil"));
    e.heartbeat(n, &forged).unwrap();
    let ran = |t| e.what_ran("n", T0 + t).unwrap().map(|a| (a.snapshot, a.hash, a.since_ms - T0));
    assert_eq!(ran(9), None);
    assert_eq!(ran(10), Some((Some("prod@r1".into()), Some(r1.hash), 10)));
    assert_eq!(ran(19), Some((Some("prod@r1".into()), Some(r1.hash), 10)));
    assert_eq!(ran(25), Some((Some("prod@r2".into()), Some(r2.hash), 20)));
    assert_eq!(ran(1000), Some((Some("prod@r2".into()), Some(ContentHash::of(b"evil")), 30)));
    assert_eq!(e.what_ran("ghost", T0).unwrap_err().kind(), ErrorKind::NotFound);
}

#[test]
fn fleet_at_and_attestations_prove_a_past_moment() {
    let e = engine();
    let r1 = e.publish("prod", b"a", "alice", T0).unwrap();
    let r2 = e.publish("prod", b"b", "alice", T0).unwrap();
    let handles: Vec<_> = (0..4).map(|i| e.enroll(&format!("n{i}"), "prod", T0).unwrap()).collect();
    for &h in &handles {
        e.heartbeat(h, &hb(T0, &r1)).unwrap();
    }
    for &h in &handles[..2] {
        e.heartbeat(h, &hb(T0 + 100, &r2)).unwrap();
    }
    let past = e.fleet_at("prod", T0 + 50).unwrap();
    assert!(past.iter().all(|a| a.hash == Some(r1.hash)));
    let now = e.fleet_at("prod", T0 + 100).unwrap();
    let hashes: Vec<_> = now.iter().map(|a| a.hash.unwrap()).collect();
    assert_eq!(hashes, [r2.hash, r2.hash, r1.hash, r1.hash]);

    let verifier = e.checkpoint_verifier().unwrap();
    let then = e.attest("prod", T0 + 50).unwrap();
    let later = e.attest("prod", T0 + 100).unwrap();
    then.verify(&verifier).unwrap();
    later.verify(&verifier).unwrap();
    assert_ne!(then.root, later.root);
    assert_eq!(e.attest("prod", T0 + 50).unwrap().root, then.root, "attestations are deterministic");

    let mut lie = later.clone();
    lie.nodes[3].hash = Some(r2.hash);
    assert_eq!(lie.verify(&verifier).unwrap_err().kind(), ErrorKind::AuditTampered);
    let mut moved = later.clone();
    moved.at_ms += 1;
    assert_eq!(moved.verify(&verifier).unwrap_err().kind(), ErrorKind::AuditTampered);
    let other = Engine::new().checkpoint_verifier().unwrap();
    assert!(later.verify(&other).is_err());
}
