//! The slow tier (`FLEETGOV_SLOW=1`, in release): a long mutation run of
//! every target from its corpus, bounded by a count of inputs, never by
//! time. `FLEETGOV_FUZZ_COUNT` sets the count per target (default: the
//! target's `slow_count`) and `FLEETGOV_FUZZ_SEED` the seed (default 1); a failure
//! prints the input, which `fleetgov-fuzz mutate` repeats from the same
//! count and seed.

use fleetgov_fuzz::{corpus, mutate};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.replace('_', "").parse().ok()).unwrap_or(default)
}

fn long_run(name: &str) {
    if std::env::var("FLEETGOV_SLOW").as_deref() != Ok("1") {
        return;
    }
    let target = fleetgov_fuzz::target(name).expect("a target");
    let inputs: Vec<Vec<u8>> = corpus::read(target).expect("the corpus reads").into_iter().map(|(_, b)| b).collect();
    mutate::run(target, &inputs, setting("FLEETGOV_FUZZ_COUNT", target.slow_count), setting("FLEETGOV_FUZZ_SEED", 1));
}

#[test]
fn heartbeat_batch_long_run() {
    long_run("heartbeat_batch");
}

#[test]
fn audit_frame_long_run() {
    long_run("audit_frame");
}

#[test]
fn audit_file_long_run() {
    long_run("audit_file");
}

#[test]
fn heartbeat_json_long_run() {
    long_run("heartbeat_json");
}

#[test]
fn nats_wire_long_run() {
    long_run("nats_wire");
}
