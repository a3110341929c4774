//! The data directory at fleet scale: how long a 1,000,000-node engine with
//! a day of history takes to restart, whether the journal writer keeps up
//! with ingest, and what a transition and a node cost on disk.
//!
//! `cargo run --release -p fleetgov-bench --bin restart -- [--nodes N] [--hours H] [--dir DIR] [--reopen-only] [--retention-hours R]`
//! (`--reopen-only` times the reopening of a directory an earlier run left
//! with `--dir`, for profiling it alone; `--retention-hours R` keeps R hours
//! of history and, after the restart, compacts and states what the journal
//! costs on disk and in memory after compaction).
//!
//! A day of history: every node reports another snapshot once an hour
//! (a transition), for `H` hours (24 by default), through the batch path.
//! After each hour the time until the writer has the hour on disk is taken
//! (`Engine::sync_journal`): the writer keeps up when that lag stays small
//! and does not grow. Then the engine is dropped (last checkpoint) and
//! reopened on the same directory, and the time to serving is taken.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fleetgov::record::{HeartbeatRecord, OUTCOME_SIZE};
use fleetgov::*;
use zerocopy::IntoBytes;

const T0: u64 = 1_700_000_000_000;
const HOUR: u64 = 3_600_000;
const CLUSTERS: usize = 100;

struct Args {
    nodes: usize,
    hours: u64,
    dir: Option<PathBuf>,
    reopen_only: bool,
    retention_hours: Option<u64>,
}

fn args() -> Result<Args, String> {
    let mut a = Args { nodes: 1_000_000, hours: 24, dir: None, reopen_only: false, retention_hours: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--nodes" => a.nodes = value()?.parse().map_err(|e| format!("--nodes: {e}"))?,
            "--hours" => a.hours = value()?.parse().map_err(|e| format!("--hours: {e}"))?,
            "--dir" => a.dir = Some(value()?.into()),
            "--reopen-only" => a.reopen_only = true,
            "--retention-hours" => {
                a.retention_hours = Some(value()?.parse().map_err(|e| format!("--retention-hours: {e}"))?)
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

/// The engine's configuration: the history is built and restarted with the
/// default retention (30 days, nothing compacted), then reopened with
/// `--retention-hours` to compact it.
fn config(dir: &Path, args: &Args, now: u64, retention: Duration) -> EngineConfig {
    EngineConfig {
        clock: Clock::manual(now),
        capacity: args.nodes,
        data_dir: Some(dir.to_owned()),
        retention,
        ..EngineConfig::default()
    }
}

fn bytes_under(path: &Path) -> u64 {
    std::fs::read_dir(path).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => bytes_under(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let scratch = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| scratch.path().join("data"));
    let end = T0 + args.hours * HOUR;
    if args.reopen_only {
        let reopen = Instant::now();
        let e = Engine::with_config(config(&dir, &args, end, DEFAULT_RETENTION))?;
        println!(
            "reopened {} nodes in {:.2} s",
            e.clusters(end).iter().map(|c| c.total).sum::<u64>(),
            reopen.elapsed().as_secs_f64()
        );
        return Ok(());
    }

    let build = Instant::now();
    let (figures, transitions, lags) = {
        let e = Engine::with_config(config(&dir, &args, T0, DEFAULT_RETENTION))?;
        e.upsert_workspace(WorkspaceSpec::new("ws"))?;
        let mut snapshots = Vec::new();
        for c in 0..CLUSTERS {
            let id = format!("c{c}");
            e.upsert_cluster(ClusterSpec::new(&id, "ws", Environment::Production))?;
            snapshots.push([e.publish(&id, b"config a", "bench", T0)?, e.publish(&id, b"config b", "bench", T0)?]);
        }
        let ids: Vec<(String, String)> =
            (0..args.nodes).map(|i| (format!("gw-{i:07}"), format!("c{}", i % CLUSTERS))).collect();
        let enrol = Instant::now();
        let handles = e.enroll_many(ids.iter().map(|(n, c)| (n.as_str(), c.as_str())), T0)?;
        println!("enrolled {} nodes in {:.2} s (one fsync)", handles.len(), enrol.elapsed().as_secs_f64());
        let mut out = vec![0u8; args.nodes * OUTCOME_SIZE];
        let mut lags = Vec::new();
        let mut ingest = Duration::ZERO;
        for hour in 0..args.hours {
            let at = T0 + hour * HOUR + 1;
            e.clock().set(at);
            let records: Vec<HeartbeatRecord> = handles
                .iter()
                .enumerate()
                .map(|(i, &h)| {
                    let s = &snapshots[i % CLUSTERS][(hour % 2) as usize];
                    HeartbeatRecord::new(
                        h,
                        at,
                        "3.5.0".parse().expect("version"),
                        ProcessStatus::Ready,
                        Metrics::default(),
                    )
                    .with_applied(s.revision, s.hash)
                })
                .collect();
            let started = Instant::now();
            e.ingest_batch(records.as_bytes(), &mut out)?;
            ingest += started.elapsed();
            let synced = Instant::now();
            e.sync_journal()?;
            lags.push(synced.elapsed());
        }
        e.clock().set(end);
        let transitions = args.nodes as u64 * args.hours;
        println!(
            "ingested {transitions} transitions in {:.2} s ({:.2} M/s through the batch path)",
            ingest.as_secs_f64(),
            transitions as f64 / ingest.as_secs_f64() / 1e6
        );
        let figures: Vec<ClusterView> = e.clusters(end);
        (figures, transitions, lags)
    };
    println!("built and closed in {:.1} s", build.elapsed().as_secs_f64());
    let lag_ms: Vec<u128> = lags.iter().map(Duration::as_millis).collect();
    println!(
        "writer lag after each hour of {} transitions (ms): first {}, max {}, last {}",
        args.nodes,
        lag_ms.first().copied().unwrap_or(0),
        lag_ms.iter().max().copied().unwrap_or(0),
        lag_ms.last().copied().unwrap_or(0)
    );

    let journal = bytes_under(&dir.join("journal"));
    let checkpoint = std::fs::metadata(dir.join("nodes.ckpt")).map_or(0, |m| m.len());
    let enrolments = std::fs::metadata(dir.join("enrolments.log")).map_or(0, |m| m.len());
    println!(
        "on disk: journal {:.1} MB = {:.1} bytes per transition; checkpoint {:.1} MB = {:.1} bytes per node; enrolments {:.1} bytes per node",
        journal as f64 / 1e6,
        journal as f64 / transitions as f64,
        checkpoint as f64 / 1e6,
        checkpoint as f64 / args.nodes as f64,
        enrolments as f64 / args.nodes as f64
    );

    let reopen = Instant::now();
    let e = Engine::with_config(config(&dir, &args, end, DEFAULT_RETENTION))?;
    let restart = reopen.elapsed();
    println!(
        "restart of {} nodes with {transitions} transitions: {:.2} s to serving",
        args.nodes,
        restart.as_secs_f64()
    );
    let again: Vec<ClusterView> = e.clusters(end);
    if again != figures {
        return Err("the restarted engine's clusters differ from the ones before".into());
    }
    if let Some(hours) = args.retention_hours {
        drop(e);
        let e = Engine::with_config(config(&dir, &args, end, Duration::from_millis(hours * HOUR)))?;
        let at_horizon =
            |e: &Engine| figures.iter().map(|c| e.fleet_at(&c.id, end - hours * HOUR)).collect::<Result<Vec<_>>>();
        let answers = at_horizon(&e)?;
        let before = e.retention();
        let compaction = Instant::now();
        let kept = e.compact()?;
        let took = compaction.elapsed();
        let after = bytes_under(&dir.join("journal"));
        let retained = transitions - kept.first_position + args.nodes as u64;
        println!(
            "compacted to {hours} hours in {:.2} s: journal {:.1} MB -> {:.1} MB on disk ({:.1} -> {:.1} bytes per node, {:.1} bytes per transition kept, bases included), \
             files {} -> {}, transitions in memory {} -> {}, journal chunks in memory {} -> {}",
            took.as_secs_f64(),
            journal as f64 / 1e6,
            after as f64 / 1e6,
            journal as f64 / args.nodes as f64,
            after as f64 / args.nodes as f64,
            after as f64 / retained as f64,
            before.journal_files,
            kept.journal_files,
            before.transitions_in_memory,
            kept.transitions_in_memory,
            before.journal_chunks,
            kept.journal_chunks
        );
        if at_horizon(&e)? != answers {
            return Err("what the fleet ran at the horizon differs after compaction".into());
        }
        drop(e);
        let e = Engine::with_config(config(&dir, &args, end, Duration::from_millis(hours * HOUR)))?;
        if at_horizon(&e)? != answers {
            return Err("what the fleet ran at the horizon differs after a restart on the compacted directory".into());
        }
    }
    println!(
        "{{\"nodes\":{},\"transitions\":{transitions},\"restart_s\":{:.3},\"journal_bytes_per_transition\":{:.2},\"checkpoint_bytes_per_node\":{:.2},\"max_writer_lag_ms\":{}}}",
        args.nodes,
        restart.as_secs_f64(),
        journal as f64 / transitions as f64,
        checkpoint as f64 / args.nodes as f64,
        lag_ms.iter().max().copied().unwrap_or(0)
    );
    Ok(())
}
