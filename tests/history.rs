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
    assert!(e.what_ran("n", T0 + 5).unwrap().is_none());
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
    assert_ne!(then.envelope, later.envelope);
    assert_eq!(e.attest("prod", T0 + 50).unwrap().envelope, then.envelope, "attestations are deterministic");
    assert_eq!(then.desired, Some(DesiredSnapshot { snapshot: r2.id.clone(), hash: r2.hash }));
    assert_eq!(e.attest("prod", T0 - 1).unwrap_err().kind(), ErrorKind::HistoryUnavailable, "the engine began at T0");
    assert_eq!(
        e.attest("prod", T0 + 1_001).unwrap_err().kind(),
        ErrorKind::Future,
        "nothing is signed about the future"
    );

    // The audit log as it stood: every record stamped up to the moment, and its root.
    let stamped = e.audit().iter().take_while(|r| r.time_ms <= T0 + 50).count() as u64;
    assert_eq!(then.checkpoint.size, stamped);
    let proof = e.consistency_proof(stamped, e.audit_len()).unwrap();
    proof.verify(&then.checkpoint, &e.verify_audit().unwrap()).unwrap();

    let stated = verify_attestation(&later.envelope, &verifier).unwrap();
    assert_eq!((stated.cluster.as_str(), stated.at_ms, stated.origin.as_str()), ("prod", T0 + 100, verifier.name()));
    let stated_nodes: Vec<_> = stated.nodes.iter().map(|(n, h)| (n.clone(), Some(*h))).collect();
    let nodes: Vec<_> = later.nodes.iter().map(|n| (n.node.clone(), n.hash)).collect();
    assert_eq!(stated_nodes, nodes);

    let mut lie = later.clone();
    lie.nodes[3].hash = Some(r2.hash);
    assert_eq!(lie.verify(&verifier).unwrap_err().kind(), ErrorKind::AuditTampered);
    let mut dropped = later.clone();
    dropped.nodes.pop();
    assert_eq!(dropped.verify(&verifier).unwrap_err().kind(), ErrorKind::AuditTampered);
    let mut moved = later.clone();
    moved.at_ms += 1;
    assert_eq!(moved.verify(&verifier).unwrap_err().kind(), ErrorKind::AuditTampered);
    let mut grown = later.clone();
    grown.checkpoint.size += 1;
    assert_eq!(grown.verify(&verifier).unwrap_err().kind(), ErrorKind::AuditTampered);
    let mut swapped = later.clone();
    swapped.envelope = then.envelope.clone();
    assert_eq!(swapped.verify(&verifier).unwrap_err().kind(), ErrorKind::AuditTampered);
    let other = Engine::new().checkpoint_verifier().unwrap();
    assert!(later.verify(&other).is_err());
}

/// Once a moment has been answered for, nothing recorded later changes the
/// answer: a late heartbeat stamped before it, a publish or an audit record
/// naming an earlier time are all recorded after it.
#[test]
fn an_answered_moment_never_changes() {
    let e = engine();
    let r1 = e.publish("prod", b"a", "alice", T0).unwrap();
    let (a, b) = (e.enroll("a", "prod", T0).unwrap(), e.enroll("b", "prod", T0).unwrap());
    e.heartbeat(a, &hb(T0 + 10, &r1)).unwrap();
    let before = e.attest("prod", T0 + 100).unwrap();
    assert_eq!(before.nodes.len(), 1);

    e.heartbeat(b, &hb(T0 + 50, &r1)).unwrap(); // arrives late, stamped before the answered moment
    let r2 = e.publish("prod", b"b", "alice", T0 + 60).unwrap();
    e.force_sync(ForceTarget::Cluster("prod"), &Override::new("alice", Role::Operator, "late override", T0 + 70))
        .unwrap();
    assert_eq!(e.attest("prod", T0 + 100).unwrap().envelope, before.envelope, "byte for byte");
    let since = e.what_ran("b", T0 + 1_000).unwrap().unwrap().since_ms;
    assert_eq!((since, r2.published_at_ms), (T0 + 101, T0 + 101), "recorded after the answered moment");
    assert!(e.audit().iter().all(|r| r.time_ms <= T0 || r.time_ms > T0 + 100 || r.seq < before.checkpoint.size));
    assert_eq!(e.attest("prod", T0 + 1_000).unwrap().nodes.len(), 2, "later moments see it");
}

#[test]
fn history_refuses_the_future_and_the_time_before_it_began() {
    let e = engine();
    e.enroll("n", "prod", T0).unwrap();
    for t in [T0 + 1_001, u64::MAX] {
        assert_eq!(e.what_ran("n", t).unwrap_err().kind(), ErrorKind::Future);
        assert_eq!(e.fleet_at("prod", t).unwrap_err().kind(), ErrorKind::Future);
        assert_eq!(e.attest("prod", t).unwrap_err().kind(), ErrorKind::Future);
    }
    for t in [0, T0 - 1] {
        assert_eq!(e.what_ran("n", t).unwrap_err().kind(), ErrorKind::HistoryUnavailable);
        assert_eq!(e.fleet_at("prod", t).unwrap_err().kind(), ErrorKind::HistoryUnavailable);
        assert_eq!(e.attest("prod", t).unwrap_err().kind(), ErrorKind::HistoryUnavailable);
    }
    assert!(e.what_ran("n", T0).unwrap().is_none() && e.attest("prod", T0 + 1_000).is_ok(), "both ends included");
}

#[test]
fn history_lists_the_changes_in_a_range_oldest_first() {
    let e = engine();
    let r1 = e.publish("prod", b"a", "alice", T0).unwrap();
    let r2 = e.publish("prod", b"b", "alice", T0).unwrap();
    let n = e.enroll("n", "prod", T0).unwrap();
    for (t, s) in [(10, &r1), (20, &r1), (30, &r2), (40, &r1)] {
        e.heartbeat(n, &hb(T0 + t, s)).unwrap();
    }
    let forged = Heartbeat::new(T0 + 50, "3.5.0".parse().unwrap()).applied(&r2.id, ContentHash::of(b"evil"));
    e.heartbeat(n, &forged).unwrap();
    let got: Vec<_> = e
        .history("n", T0 + 30, T0 + 1_000)
        .unwrap()
        .into_iter()
        .map(|c| (c.at_ms - T0, c.snapshot.unwrap(), c.verified))
        .collect();
    assert_eq!(got, [(30, "prod@r2".into(), true), (40, "prod@r1".into(), true), (50, "prod@r2".into(), false)]);
    assert_eq!(e.history("n", T0, T0 + 10).unwrap().len(), 1, "both ends included; steady state is no change");
    assert_eq!(e.history("n", T0 + 11, T0 + 29).unwrap(), []);
    assert_eq!(e.history("n", T0 + 2, T0 + 1).unwrap_err().kind(), ErrorKind::InvalidInput);
    assert_eq!(e.history("n", T0, T0 + 1_001).unwrap_err().kind(), ErrorKind::Future);
    assert_eq!(e.history("n", T0 - 1, T0).unwrap_err().kind(), ErrorKind::HistoryUnavailable);
    assert_eq!(e.history("ghost", T0, T0).unwrap_err().kind(), ErrorKind::NotFound);
}

/// The statement is in-toto Statement v1 in a DSSE envelope, byte for byte
/// as docs/attestation.md describes it.
#[test]
fn attestations_are_in_toto_statements_in_dsse_envelopes() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let e = engine();
    let r1 = e.publish("prod", b"a", "alice", T0).unwrap();
    let h = e.enroll("n1", "prod", T0).unwrap();
    e.heartbeat(h, &hb(T0, &r1)).unwrap();
    let a = e.attest("prod", T0 + 10).unwrap();
    let verifier = e.checkpoint_verifier().unwrap();

    let envelope: serde_json::Value = serde_json::from_str(&a.envelope).unwrap();
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    assert_eq!(envelope["signatures"][0]["keyid"], verifier.to_string());
    let body = b64.decode(envelope["payload"].as_str().unwrap()).unwrap();
    let root = b64.encode(a.checkpoint.root.as_bytes());
    let expected = format!(
        concat!(
            r#"{{"_type":"https://in-toto.io/Statement/v1","subject":[{{"name":"prod/n1","digest":{{"blake3":"{hash}"}}}}],"#,
            r#""predicateType":"https://fleetgov.dev/attestation/v1","predicate":{{"cluster":"prod","t":{t},"#,
            r#""desired":{{"snapshot":"prod@r1","hash":"{hash}"}},"#,
            r#""checkpoint":{{"origin":"{origin}","size":{size},"root":"{root}"}}}}}}"#
        ),
        hash = r1.hash,
        t = T0 + 10,
        origin = verifier.name(),
        size = a.checkpoint.size,
        root = root,
    );
    assert_eq!(String::from_utf8(body.clone()).unwrap(), expected);

    // The signature is ed25519 over the DSSE pre-authentication encoding.
    let sig = b64.decode(envelope["signatures"][0]["sig"].as_str().unwrap()).unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&verifier.public_key()).unwrap();
    let signature = ed25519_dalek::Signature::from_slice(&sig).unwrap();
    key.verify_strict(&audit::pae("application/vnd.in-toto+json", &body), &signature).unwrap();

    // A statement of another predicate, signed by the same key, is not an attestation.
    let signer = audit::CheckpointSigner::from_seed(verifier.name(), [9; 32]).unwrap();
    let foreign = body_with(&body, |s| s["predicateType"] = "https://example.com/other".into());
    let envelope = audit::sign_envelope(&signer, "application/vnd.in-toto+json", &foreign).unwrap();
    assert_eq!(verify_attestation(&envelope, &signer.verifier()).unwrap_err().kind(), ErrorKind::InvalidInput);
    let outside = body_with(&body, |s| s["subject"][0]["name"] = "dev/n1".into());
    let envelope = audit::sign_envelope(&signer, "application/vnd.in-toto+json", &outside).unwrap();
    assert_eq!(verify_attestation(&envelope, &signer.verifier()).unwrap_err().kind(), ErrorKind::InvalidInput);
    let other_log = body_with(&body, |s| s["predicate"]["checkpoint"]["origin"] = "other.example/log".into());
    let envelope = audit::sign_envelope(&signer, "application/vnd.in-toto+json", &other_log).unwrap();
    assert_eq!(verify_attestation(&envelope, &signer.verifier()).unwrap_err().kind(), ErrorKind::InvalidInput);
    let good = audit::sign_envelope(&signer, "application/vnd.in-toto+json", &body).unwrap();
    assert_eq!(verify_attestation(&good, &signer.verifier()).unwrap().nodes, [("n1".to_owned(), r1.hash)]);
}

fn body_with(body: &[u8], f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(body).unwrap();
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}
