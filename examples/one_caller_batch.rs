//! One caller, large batches: what a binding's bulk ingest costs per record.
//!
//! A JNI `HeartbeatBatch`, a Python `ingest` or the Java end-to-end
//! benchmark hands the engine one large batch from one thread, where the
//! peer harness's batch row runs two callers with batches of 1,000. This
//! replays the Java benchmark's stream through `Engine::ingest_records` from
//! one thread: 1,000,000 nodes in one cluster, every node seeded in sync,
//! records drawn uniformly at random, 99 % reporting the desired snapshot
//! and 1 % nothing applied (so nodes keep leaving and rejoining the in-sync
//! count), all at the same time.
//!
//! `cargo run --release --example one_caller_batch -- [--nodes N] [--batch B] [--rounds R] [--callers C]`
//!
//! Each round replays 1,048,576 records in batches of `B` (65,536 by
//! default; 1,048,576 is one batch a round) and is timed in wall time and
//! in the CPU time of the whole process (every thread of the pool), so a
//! figure taken on a loaded machine still says what the work costs. The
//! medians of `R` rounds (9 by default) are printed, with the outcome
//! counts that every round must reproduce. `--callers 2 --batch 1000` is
//! the peer harness's batch row for comparison in the same sitting: two
//! threads, each replaying its half of the stream in calls of 1,000 records.

use std::time::Instant;

use fleetgov::record::{HeartbeatRecord, OutcomeRecord};
use fleetgov::{
    BatchSummary, Clock, ClusterSpec, Engine, EngineConfig, Environment, Metrics, ProcessStatus, RuntimeVersion,
    WorkspaceSpec,
};

const T0: u64 = 1_700_000_000_000;
/// Records a round replays.
const STREAM: usize = 1 << 20;
const METRICS: Metrics = Metrics { cpu: 12.5, memory: 40.0, tps: 1_200.0, heap: 55.0, hot_swap_errors: 0 };

struct Args {
    nodes: usize,
    batch: usize,
    rounds: usize,
    callers: usize,
}

fn args() -> Result<Args, String> {
    let mut a = Args { nodes: 1_000_000, batch: 65_536, rounds: 9, callers: 1 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value: usize =
            it.next().ok_or_else(|| format!("{flag} needs a value"))?.parse().map_err(|e| format!("{flag}: {e}"))?;
        match flag.as_str() {
            "--nodes" => a.nodes = value,
            "--batch" => a.batch = value,
            "--rounds" => a.rounds = value,
            "--callers" => a.callers = value,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.nodes == 0 || a.batch == 0 || a.rounds == 0 || a.callers == 0 {
        return Err("--nodes, --batch, --rounds and --callers must be positive".into());
    }
    Ok(a)
}

/// CPU seconds used so far by every thread of this process.
fn process_cpu_s() -> f64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `t` is a valid, writable timespec for the call's duration.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "the process CPU clock is readable");
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

/// A small, fast generator (xorshift64): the stream is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn sum(a: BatchSummary, b: BatchSummary) -> BatchSummary {
    BatchSummary {
        accepted: a.accepted + b.accepted,
        directives: a.directives + b.directives,
        refused: a.refused + b.refused,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let engine = Engine::with_config(EngineConfig {
        clock: Clock::manual(T0),
        capacity: args.nodes,
        ..EngineConfig::default()
    })?;
    engine.upsert_workspace(WorkspaceSpec::new("ws"))?;
    engine.upsert_cluster(ClusterSpec::new("c", "ws", Environment::Production))?;
    let s = engine.publish("c", b"routes: [api]\nrate_limit: 800\n", "bench", T0)?;
    let ids: Vec<String> = (0..args.nodes).map(|i| format!("gw-{i}")).collect();
    let handles = engine.enroll_many(ids.iter().map(|id| (id.as_str(), "c")), T0)?;
    let version = RuntimeVersion::new(3, 6, 1)?;
    let nothing = |h| HeartbeatRecord::new(h, T0, version, ProcessStatus::Ready, METRICS);
    let in_sync = |h| nothing(h).with_applied(s.revision, s.hash);
    let seed: Vec<HeartbeatRecord> = handles.iter().map(|&h| in_sync(h)).collect();
    let mut outcomes = vec![OutcomeRecord::default(); seed.len().max(STREAM)];
    engine.ingest_records(&seed, &mut outcomes)?;

    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let stream: Vec<HeartbeatRecord> = (0..STREAM)
        .map(|_| {
            let h = handles[(rng.next() % args.nodes as u64) as usize];
            if rng.next().is_multiple_of(100) { nothing(h) } else { in_sync(h) }
        })
        .collect();
    let share = STREAM.div_ceil(args.callers);
    let replay = |records: &[HeartbeatRecord], outcomes: &mut [OutcomeRecord]| {
        let mut total = BatchSummary::default();
        for (records, out) in records.chunks(args.batch).zip(outcomes.chunks_mut(args.batch)) {
            total = sum(total, engine.ingest_records(records, out)?);
        }
        Ok::<_, fleetgov::Error>(total)
    };
    let mut round = || -> Result<BatchSummary, fleetgov::Error> {
        let parts: Vec<Result<BatchSummary, fleetgov::Error>> = std::thread::scope(|s| {
            let callers: Vec<_> = stream
                .chunks(share)
                .zip(outcomes.chunks_mut(share))
                .map(|(records, out)| s.spawn(|| replay(records, out)))
                .collect();
            callers.into_iter().map(|c| c.join().expect("a caller panicked")).collect()
        });
        parts.into_iter().try_fold(BatchSummary::default(), |t, b| Ok(sum(t, b?)))
    };
    let first = round()?;
    let (mut cpu, mut wall) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        let (c0, w0) = (process_cpu_s(), Instant::now());
        let summary = round()?;
        let (c, w) = (process_cpu_s() - c0, w0.elapsed().as_secs_f64());
        if summary != first {
            return Err(format!("a round gave {summary:?}, the first {first:?}").into());
        }
        cpu.push(STREAM as f64 / c / 1e6);
        wall.push(STREAM as f64 / w / 1e6);
    }
    println!(
        "nodes {} batch {} callers {} threads {}: {:.2} M records per CPU-second, {:.2} M/s wall (medians of {}); {:?}",
        args.nodes,
        args.batch,
        args.callers,
        rayon::current_num_threads(),
        median(cpu),
        median(wall),
        args.rounds,
        first
    );
    Ok(())
}
