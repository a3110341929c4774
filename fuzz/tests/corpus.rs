//! The checked-in corpus, replayed in the default test run: every input of
//! every target holds the target's properties (see the crate docs), and the
//! corpus still holds the seeds the targets generate.

use std::collections::HashSet;

use fleetgov::ErrorKind;
use fleetgov::audit::verify_file;
use fleetgov::record::Outcome;
use fleetgov_fuzz::{TARGETS, Target, corpus, heartbeat_batch};

fn named(name: &str) -> &'static Target {
    fleetgov_fuzz::target(name).expect("a target")
}

/// Runs every corpus input of `name` through one harness, in name order.
fn replay(name: &str) {
    let target = named(name);
    let inputs = corpus::read(target).expect("the corpus folder reads");
    assert!(inputs.len() >= 20, "{name}: only {} corpus inputs", inputs.len());
    let mut harness = (target.harness)();
    for (file, bytes) in &inputs {
        let held = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| harness.run(bytes)));
        assert!(held.is_ok(), "{name}: corpus input {file} broke a property");
    }
}

#[test]
fn the_corpus_holds_every_generated_seed() {
    for target in &TARGETS {
        let inputs = corpus::read(target).expect("the corpus folder reads");
        let seeds = (target.seeds)();
        let mut names: Vec<&str> = seeds.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), seeds.len(), "{}: two seeds share a name", target.name);
        for seed in seeds {
            let file = inputs.iter().find(|(file, _)| *file == seed.name);
            assert!(
                file.is_some_and(|(_, bytes)| *bytes == seed.bytes),
                "{}: corpus file {} is missing or stale; run `cargo run -p fleetgov-fuzz -- seed`",
                target.name,
                seed.name
            );
        }
    }
}

#[test]
fn heartbeat_batch_corpus() {
    replay("heartbeat_batch");
}

#[test]
fn heartbeat_batch_corpus_applied_in_parallel() {
    for (file, bytes) in corpus::read(named("heartbeat_batch")).expect("the corpus folder reads") {
        let held = std::panic::catch_unwind(|| heartbeat_batch::check_parallel(&bytes));
        assert!(held.is_ok(), "corpus input {file}, tiled to a parallel batch, broke a property");
    }
}

#[test]
fn audit_frame_corpus() {
    replay("audit_frame");
}

#[test]
fn audit_file_corpus() {
    replay("audit_file");
}

#[test]
fn heartbeat_json_corpus() {
    replay("heartbeat_json");
}

#[test]
fn nats_wire_corpus() {
    replay("nats_wire");
}

#[test]
fn the_batch_corpus_reaches_every_outcome_but_a_force_sync() {
    let inputs = corpus::read(named("heartbeat_batch")).expect("the corpus folder reads");
    let mut seen = HashSet::new();
    let mut refused = 0;
    for (_, bytes) in &inputs {
        match heartbeat_batch::outcomes(None, bytes) {
            Some(outcomes) => seen.extend(outcomes),
            None => refused += 1,
        }
    }
    let all_in_sync = &inputs.iter().find(|(file, _)| file == "all-in-sync").expect("a seed").1;
    seen.extend(heartbeat_batch::outcomes(Some("gke-stage-eu"), all_in_sync).expect("a well-formed batch"));
    // A force sync needs an operator's override first, which no batch makes.
    for outcome in [
        Outcome::Accepted,
        Outcome::Reconcile,
        Outcome::Stale,
        Outcome::Future,
        Outcome::UnknownNode,
        Outcome::WrongCluster,
    ] {
        assert!(seen.contains(&outcome), "no corpus batch gets {outcome:?}");
    }
    assert!(refused >= 15, "only {refused} malformed batches");
}

#[test]
fn the_audit_file_corpus_reaches_every_verdict() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("audit.log");
    let (mut clean, mut torn, mut not_a_log, mut tampered) = (0, 0, 0, 0);
    for (_, bytes) in corpus::read(named("audit_file")).expect("the corpus folder reads") {
        std::fs::write(&path, &bytes).expect("writes");
        match verify_file(&path) {
            Ok(v) if v.torn_tail_bytes == 0 => clean += 1,
            Ok(_) => torn += 1,
            Err(e) if e.kind() == ErrorKind::InvalidInput => not_a_log += 1,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::AuditTampered);
                tampered += 1;
            }
        }
    }
    assert!(clean >= 3 && torn >= 5 && not_a_log >= 2 && tampered >= 5, "{clean} {torn} {not_a_log} {tampered}");
}
