//! Writers race applies (good, corrupted, rejected) and rollbacks while
//! readers check every configuration they see. Each configuration's bytes are
//! a function of its snapshot id, so a reader can check that every field of
//! what it sees belongs to one whole, verified configuration.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use common::v;
use fleetgov::agent::{Agent, AppliedConfig};
use fleetgov::*;

const WRITERS: usize = 3;
const READERS: usize = 2;
const ROUNDS: u32 = 2_000;

/// The bytes of snapshot `id`: they name the id and have an id-dependent length.
fn bytes_for(id: &str, marker: &str) -> Vec<u8> {
    let pad = id.bytes().map(usize::from).sum::<usize>() % 97;
    format!("id={id};{marker};{}", "x".repeat(pad)).into_bytes()
}

/// Checks one configuration a reader saw; returns its id.
fn check_whole(c: &AppliedConfig) -> String {
    let id = c.snapshot_id();
    assert_eq!(c.bytes(), bytes_for(id, "ok").as_slice(), "bytes of {id} belong to another config");
    assert_eq!(c.hash(), ContentHash::of(c.bytes()), "hash of {id} does not match its bytes");
    assert_eq!(c.revision(), parse_snapshot_id(id).map(|(_, r)| r));
    id.to_owned()
}

#[test]
fn readers_only_ever_see_whole_verified_configs_while_applies_race() {
    let in_reload = Arc::new(AtomicBool::new(false));
    let rejected = AtomicU32::new(0);
    // The hook checks that reloads never overlap and refuses "reject" configs.
    let overlap = Arc::clone(&in_reload);
    let agent = Agent::new(v("3.5.0"), move |c: &AppliedConfig| {
        assert!(!overlap.swap(true, Ordering::SeqCst), "two reloads ran at once");
        let refuse = c.bytes().windows(6).any(|w| w == b"reject");
        overlap.store(false, Ordering::SeqCst);
        if refuse { Err(SyncError::new(SyncErrorCode::ReloadFailure, "Incompatible Filter Signature")) } else { Ok(()) }
    });
    let writers_done = AtomicUsize::new(0);
    let barrier = Barrier::new(WRITERS + READERS);
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (agent, barrier, writers_done, rejected) = (&agent, &barrier, &writers_done, &rejected);
            s.spawn(move || {
                barrier.wait();
                for seq in 1..=ROUNDS {
                    let id = format!("w{w}@r{seq}");
                    let good = bytes_for(&id, "ok");
                    match seq % 11 {
                        3 | 8 => {
                            let mut corrupted = good.clone();
                            corrupted[0] ^= 1;
                            let err = agent.apply(&id, corrupted, ContentHash::of(&good), u64::from(seq)).unwrap_err();
                            assert_eq!(err.kind(), ErrorKind::InvalidInput);
                        }
                        5 => {
                            let bad = bytes_for(&id, "reject");
                            let err = agent.apply(&id, bad.clone(), ContentHash::of(&bad), u64::from(seq)).unwrap_err();
                            assert_eq!(err.kind(), ErrorKind::ReloadFailure);
                            rejected.fetch_add(1, Ordering::SeqCst);
                        }
                        7 => match agent.rollback(u64::from(seq)) {
                            Ok(c) => drop(check_whole(&c)),
                            Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound),
                        },
                        _ => {
                            let c = agent.apply(&id, good.clone(), ContentHash::of(&good), u64::from(seq)).unwrap();
                            assert_eq!(check_whole(&c), id);
                        }
                    }
                }
                writers_done.fetch_add(1, Ordering::SeqCst);
            });
        }
        for _ in 0..READERS {
            let (agent, barrier, writers_done) = (&agent, &barrier, &writers_done);
            s.spawn(move || {
                barrier.wait();
                let mut seen = 0_u64;
                loop {
                    // Read the flag first so the last pass runs after every write.
                    let last_pass = writers_done.load(Ordering::SeqCst) == WRITERS;
                    agent.with_current(|c| c.map(check_whole));
                    if let Some(c) = agent.current() {
                        check_whole(&c);
                        seen += 1;
                    }
                    let hb = agent.heartbeat(1, Metrics::default(), ProcessStatus::Ready).unwrap();
                    if let Some(id) = &hb.applied_snapshot {
                        assert_eq!(
                            hb.applied_hash,
                            Some(ContentHash::of(&bytes_for(id, "ok"))),
                            "heartbeat mixes {id} with another hash"
                        );
                    }
                    if last_pass {
                        break;
                    }
                }
                assert!(seen > 0);
            });
        }
    });
    assert_eq!(agent.hot_swap_errors(), rejected.load(Ordering::SeqCst));
    assert_eq!(rejected.load(Ordering::SeqCst), WRITERS as u32 * (ROUNDS / 11 + u32::from(ROUNDS % 11 >= 5)));
    check_whole(&agent.current().unwrap());
}
