//! What a rollout adds to a heartbeat: one engine of one cluster of
//! 1,000,000 nodes and the same heartbeats by handle in every round (every
//! node reporting the snapshot it runs, in the same random order, on one
//! thread). Before each round the cluster gets a new snapshot, alternately
//! without a plan and with a rollout `[1, 100]` that never leaves its
//! canary wave (so 1 % of the heartbeats get a directive). The same engine
//! and the same memory serve both kinds of round, and they alternate, so
//! neither where the slots landed nor a load that moves favours one; the
//! medians and minimums of the rounds, and their ratios, are printed.
//!
//! `cargo run --release -p fleetgov-bench --bin rollout_cost -- [--nodes N] [--rounds R]`

use std::time::Instant;

use fleetgov::rollout::RolloutPlan;
use fleetgov::*;

const T0: u64 = 1_700_000_000_000;

struct Fleet {
    engine: Engine,
    handles: Vec<NodeHandle>,
    snapshot: Snapshot,
}

fn fleet(nodes: usize) -> Result<Fleet> {
    let engine =
        Engine::with_config(EngineConfig { clock: Clock::manual(T0), capacity: nodes, ..EngineConfig::default() })?;
    engine.upsert_workspace(WorkspaceSpec::new("ws"))?;
    engine.upsert_cluster(ClusterSpec::new("c", "ws", Environment::Production))?;
    let snapshot = engine.publish("c", b"v1", "bench", T0)?;
    let mut handles = Vec::with_capacity(nodes);
    for i in 0..nodes {
        let h = engine.enroll(&format!("n{i}"), "c", T0)?;
        engine.heartbeat(h, &Heartbeat::new(T0, "3.5.0".parse()?).applied(&snapshot.id, snapshot.hash))?;
        handles.push(h);
    }
    Ok(Fleet { engine, handles, snapshot })
}

/// Nanoseconds per heartbeat over `count` heartbeats.
fn round(f: &Fleet, count: usize) -> Result<f64> {
    let version: RuntimeVersion = "3.5.0".parse()?;
    let (mut i, mut directives) = (0usize, 0u64);
    let started = Instant::now();
    for _ in 0..count {
        i = (i + 7919) % f.handles.len();
        let hb = Heartbeat::new(T0, version).applied(&f.snapshot.id, f.snapshot.hash);
        directives += u64::from(f.engine.heartbeat(f.handles[i], &hb)?.is_some());
    }
    std::hint::black_box(directives);
    Ok(started.elapsed().as_nanos() as f64 / count as f64)
}

fn arg(name: &str, default: usize) -> std::result::Result<usize, String> {
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == name {
            return args.next().and_then(|v| v.parse().ok()).ok_or(format!("{name} needs a number"));
        }
    }
    Ok(default)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let (nodes, rounds) = (arg("--nodes", 1_000_000)?, arg("--rounds", 15)?);
    let f = fleet(nodes)?;
    let by = By::new("bench", Role::Operator, T0);
    let (mut plain, mut rolling) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for r in 0..rounds {
        f.engine.publish_by("c", format!("plain {r}").as_bytes(), &by)?;
        plain.push(round(&f, nodes)?);
        let hold = RolloutPlan::new([1, 100], u64::MAX, 0.0, false)?;
        f.engine.publish_with_rollout("c", format!("rollout {r}").as_bytes(), &by, hold)?;
        rolling.push(round(&f, nodes)?);
    }
    for v in [&mut plain, &mut rolling] {
        v.sort_by(f64::total_cmp);
    }
    let (ma, mb) = (plain[rounds / 2], rolling[rounds / 2]);
    println!("{nodes} nodes, {rounds} alternated pairs of rounds of {nodes} heartbeats by handle, one thread");
    println!("without a rollout: median {ma:.1} ns, minimum {:.1} ns", plain[0]);
    println!("during a rollout:  median {mb:.1} ns, minimum {:.1} ns", rolling[0]);
    println!("ratio of medians {:.3}, of minimums {:.3}", mb / ma, rolling[0] / plain[0]);
    Ok(())
}
