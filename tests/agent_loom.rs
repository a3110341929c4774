//! A loom model of the agent's swap path: the agent's own code, with its
//! synchronisation primitives swapped for loom's, under every interleaving.
//!
//! ```text
//! RUSTFLAGS="--cfg fleetgov_loom" CARGO_TARGET_DIR=target/loom cargo test --release --test agent_loom
//! ```
//!
//! The models are small enough to explore exhaustively (no preemption bound).
//! Without `--cfg fleetgov_loom` this file compiles to nothing.
#![cfg(fleetgov_loom)]

use fleetgov::agent::{Agent, AppliedConfig};
use fleetgov::*;
use loom::model;
use loom::sync::{Arc, Mutex};
use loom::thread;

/// The bytes of snapshot `id` (a function of the id, so a reader can check them).
fn bytes_for(id: &str) -> Vec<u8> {
    format!("config of {id}").into_bytes()
}

/// A gateway that remembers what it installed and refuses ids ending in `r9`.
fn agent() -> (std::sync::Arc<Agent>, Arc<Mutex<Vec<String>>>) {
    let installed = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&installed);
    let agent = Agent::new("3.5.0".parse().unwrap(), move |c: &AppliedConfig| {
        if c.snapshot_id().ends_with("r9") {
            return Err(SyncError::new(SyncErrorCode::ReloadFailure, "Incompatible Filter Signature"));
        }
        log.lock().unwrap().push(c.snapshot_id().to_owned());
        Ok(())
    });
    (std::sync::Arc::new(agent), installed)
}

fn apply(agent: &Agent, id: &str) -> Result<std::sync::Arc<AppliedConfig>> {
    let bytes = bytes_for(id);
    let hash = ContentHash::of(&bytes);
    agent.apply(id, bytes, hash, 1)
}

/// What a reader may check of any moment: the live config is whole, verified
/// and was installed by the hook before it went live; a heartbeat reports one
/// state (its error and its hot-swap count agree).
fn check_reader(agent: &Agent, installed: &Mutex<Vec<String>>) -> Option<String> {
    let id = agent.with_current(|c| {
        c.map(|c| {
            assert_eq!(c.bytes(), bytes_for(c.snapshot_id()).as_slice());
            assert_eq!(c.hash(), ContentHash::of(c.bytes()));
            c.snapshot_id().to_owned()
        })
    });
    if let Some(id) = &id {
        assert!(installed.lock().unwrap().contains(id), "{id} went live before the hook installed it");
    }
    let hb = agent.heartbeat(2, Metrics::default(), ProcessStatus::Ready).unwrap();
    if let Some(hid) = &hb.applied_snapshot {
        assert_eq!(hb.applied_hash, Some(ContentHash::of(&bytes_for(hid))));
    }
    let failed = hb.sync_error.as_ref().is_some_and(|e| e.code == SyncErrorCode::ReloadFailure);
    assert_eq!(failed, hb.metrics.hot_swap_errors == 1, "heartbeat mixes two states: {hb:?}");
    id
}

fn ids(agent: &Agent) -> (Option<String>, Option<String>) {
    (agent.current().map(|c| c.snapshot_id().to_owned()), agent.last_known_good().map(|c| c.snapshot_id().to_owned()))
}

#[test]
fn racing_applies_are_serialised_and_readers_see_whole_installed_configs() {
    model(|| {
        let (agent, installed) = agent();
        apply(&agent, "c@r1").unwrap();
        let writers: Vec<_> = ["c@r2", "c@r3"]
            .into_iter()
            .map(|id| {
                let agent = std::sync::Arc::clone(&agent);
                thread::spawn(move || drop(apply(&agent, id).unwrap()))
            })
            .collect();
        check_reader(&agent, &installed);
        for w in writers {
            w.join().unwrap();
        }
        // Whichever went second is live, and the first is its rollback target.
        let (current, last_good) = ids(&agent);
        let expected = match current.as_deref() {
            Some("c@r2") => "c@r3",
            Some("c@r3") => "c@r2",
            other => panic!("live config is {other:?}"),
        };
        assert_eq!(last_good.as_deref(), Some(expected));
        assert_eq!(installed.lock().unwrap().len(), 3);
    });
}

#[test]
fn a_rejected_apply_never_shows_and_is_recorded_whole() {
    model(|| {
        let (agent, installed) = agent();
        apply(&agent, "c@r1").unwrap();
        let writer = {
            let agent = std::sync::Arc::clone(&agent);
            thread::spawn(move || assert_eq!(apply(&agent, "c@r9").unwrap_err().kind(), ErrorKind::ReloadFailure))
        };
        for _ in 0..2 {
            assert_eq!(check_reader(&agent, &installed).as_deref(), Some("c@r1"));
        }
        writer.join().unwrap();
        assert_eq!(ids(&agent), (Some("c@r1".to_owned()), None));
        assert_eq!(
            (agent.hot_swap_errors(), agent.last_sync_error().map(|e| e.code)),
            (1, Some(SyncErrorCode::ReloadFailure))
        );
    });
}

#[test]
fn a_rollback_racing_an_apply_ends_in_one_of_the_two_serial_orders() {
    model(|| {
        let (agent, installed) = agent();
        apply(&agent, "c@r1").unwrap();
        apply(&agent, "c@r2").unwrap();
        let rollback = {
            let agent = std::sync::Arc::clone(&agent);
            thread::spawn(move || drop(agent.rollback(3).unwrap()))
        };
        let applier = {
            let agent = std::sync::Arc::clone(&agent);
            thread::spawn(move || drop(apply(&agent, "c@r3").unwrap()))
        };
        check_reader(&agent, &installed);
        rollback.join().unwrap();
        applier.join().unwrap();
        let end = ids(&agent);
        let rollback_first = (Some("c@r3".to_owned()), Some("c@r1".to_owned()));
        let apply_first = (Some("c@r2".to_owned()), None);
        assert!(end == rollback_first || end == apply_first, "{end:?}");
    });
}
