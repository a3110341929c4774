//! Several threads heartbeat the same clusters while snapshots are published;
//! once they stop, the counters equal a recount.

mod common;

use std::sync::Barrier;

use common::{T0, engine, v};
use fleetgov::*;

const NODES: usize = 2_000;
const THREADS: usize = 4;
const ROUNDS: usize = 20_000;

#[test]
fn concurrent_heartbeats_and_publishes_keep_counters_exact() {
    let e = engine();
    for c in ["prod", "stage"] {
        e.publish(c, b"r1", "p", T0).unwrap();
    }
    let handles: Vec<NodeHandle> = (0..NODES)
        .map(|i| e.enroll(&format!("n{i}"), if i % 2 == 0 { "prod" } else { "stage" }, T0).unwrap())
        .collect();
    let barrier = Barrier::new(THREADS + 1);
    let err: SyncError = "RELOAD_FAILURE: flaky".parse().unwrap();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (e, handles, barrier, err) = (&e, &handles, &barrier, &err);
            s.spawn(move || {
                barrier.wait();
                let mut x = 0x9e3779b97f4a7c15u64 ^ t as u64;
                for i in 0..ROUNDS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Threads share nodes on purpose: same-node races must serialise.
                    let node = (x as usize) % NODES;
                    let cluster = if node.is_multiple_of(2) { "prod" } else { "stage" };
                    let revision = 1 + (x >> 32) as u32 % 3;
                    let id = snapshot_id(cluster, revision);
                    let hash = e.snapshot(&id).map(|s| s.hash).unwrap_or_default();
                    let failing = (x >> 40).is_multiple_of(10);
                    let hb = Heartbeat {
                        sync_error: failing.then_some(err),
                        ..Heartbeat::new(T0 + i as u64, v("3.5.0")).applied(&id, hash)
                    };
                    match e.heartbeat(handles[node], &hb) {
                        Ok(_) => {}
                        Err(e) => assert_eq!(e.kind(), ErrorKind::StaleHeartbeat),
                    }
                }
            });
        }
        barrier.wait();
        for r in 0..2 {
            e.publish("prod", format!("r{}", r + 2).as_bytes(), "p", T0).unwrap();
            e.publish("stage", format!("r{}", r + 2).as_bytes(), "p", T0).unwrap();
            std::thread::yield_now();
        }
    });
    assert_eq!(e.recount_mismatches(), Vec::<String>::new());
    for c in ["prod", "stage"] {
        let view = e.cluster(c, T0).unwrap();
        let total: u64 = view.revisions.iter().map(|r| r.nodes).sum();
        assert_eq!(total, view.total);
        assert_eq!(view.total, NODES as u64 / 2);
    }
}
