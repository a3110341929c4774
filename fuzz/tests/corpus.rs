//! The checked-in corpus, replayed in the default test run: every input of
//! every target holds the target's properties (see the crate docs), and the
//! corpus still holds the seeds the targets generate.

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
