//! `peers`: one workload, measured side by side in one run, through the
//! machine's roofline, fleetgov, a naive tracker, the strongest plain-Rust
//! trackers (a `DashMap` by id and a dense array, both with incremental
//! counts), Redis and PostgreSQL.
//!
//! ```text
//! cargo run --release -p fleetgov-bench --bin peers -- --quick \
//!     --redis redis://127.0.0.1:6379/ --postgres "host=127.0.0.1 port=5432 user=postgres"
//! ```
//!
//! `benches/peers.sh` installs, starts and stops the two servers and runs
//! this. The workload and the rule for how often every tracker answers a
//! cohesion query are in [`workload`]; each row's module says how that row
//! stores the fleet. Every row starts from the same state (every node in sync)
//! and, after its timed run, its per-cluster in-sync counts are compared with
//! the workload's ground truth: a row that is fast by being wrong fails.
//! Every row prints heartbeats/s and its ratio to fleetgov batch (to the
//! roofline while batch has not run); the last line is one JSON object.

mod fleetgov_peer;
mod memory;
mod naive;
mod options;
mod plot;
mod postgres_peer;
mod redis_peer;
mod report;
mod roofline;
mod scaling;
mod strong;
mod timing;
mod workload;

use std::process::ExitCode;
use std::time::Instant;

use options::Options;
use report::{Outcome, Report, Row, RowKey};
use timing::Measured;
use workload::Workload;

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            return if message.starts_with("usage:") { ExitCode::SUCCESS } else { ExitCode::from(2) };
        }
    };
    if let Some(sizes) = &options.scaling {
        return run_scaling(&options, sizes);
    }
    let spec = &options.workload;
    println!(
        "workload: {} nodes in {} clusters, {} heartbeats ({} per thread), {:.2}% transitions, {} threads, \
         cohesion read every {} heartbeats per thread",
        spec.nodes,
        spec.clusters,
        spec.heartbeats,
        spec.heartbeats / spec.threads as u64,
        f64::from(spec.transition_bp) / 100.0,
        spec.threads,
        workload::QUERY_EVERY,
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!(
            "machine: {cores} cores, load average {} (other work on the machine slows every row;              the cpu column of an in-process row is the share of its threads' cores it got)",
            load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        );
    }
    let started = Instant::now();
    let workload = match Workload::generate(spec.clone()) {
        Ok(w) => w,
        Err(message) => {
            eprintln!("bad workload: {message}");
            return ExitCode::from(2);
        }
    };
    let all = workload.prefix(u64::MAX);
    println!(
        "generated in {:.2} s (not timed): {} transitions in the stream",
        started.elapsed().as_secs_f64(),
        workload.transitions(&all)
    );

    let mut report = Report::default();
    let mut failed = false;
    // In-process rows run `rounds` times, alternated (the first run of every
    // row, then the second, ...), and each reports its median run: one noisy
    // run can neither make nor break a ratio. The servers run once.
    let (local, remote): (Vec<RowKey>, Vec<RowKey>) = options.rows.iter().partition(|k| k.in_process());
    let mut runs: Vec<Vec<Row>> = vec![Vec::new(); local.len()];
    for round in 1..=options.rounds {
        for (runs, &key) in runs.iter_mut().zip(&local) {
            let row = run_row(key, &options, &workload, &mut report);
            match &row.outcome {
                Outcome::Ran(m) => println!("  run {round}/{} {}: {:.0} hb/s", options.rounds, key.name(), m.rate()),
                Outcome::Missing(why) => println!("  run {round}/{} {}: {why}", options.rounds, key.name()),
            }
            runs.push(row);
        }
    }
    let mut rows: Vec<Row> = runs.into_iter().filter_map(median_run).collect();
    for &key in &remote {
        rows.push(run_row(key, &options, &workload, &mut report));
    }
    for row in rows {
        failed |= matches!(&row.outcome, Outcome::Missing(why) if why.starts_with("wrong answer"));
        println!("{}", report.add(row));
    }
    if let Err(why) = fleetgov_peer::figures(&options.extras, &workload, &mut report.figures) {
        println!("fleetgov figures not measured: {why}");
        failed |= why.starts_with("wrong answer");
    }
    println!("{}", report.table().trim_end());
    println!("{}", report.json());
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// `--scaling`: the table at every size, then the plot.
fn run_scaling(options: &Options, sizes: &[u32]) -> ExitCode {
    let spec = &options.workload;
    println!(
        "scaling: fleetgov batch, {} heartbeats per run, {} clusters (fewer in a smaller fleet), {:.2}% transitions, \
         median of {} runs; cohesion read and publish flip on one cluster of every node",
        spec.heartbeats,
        spec.clusters,
        f64::from(spec.transition_bp) / 100.0,
        options.rounds
    );
    println!("{}", scaling::header());
    let points = match scaling::run(options, sizes) {
        Ok(points) => points,
        Err(why) => {
            eprintln!("scaling failed: {why}");
            return ExitCode::FAILURE;
        }
    };
    println!("\n{}", scaling::table(&points));
    if let Some(path) = &options.svg {
        if let Err(e) = std::fs::write(path, scaling::plot(&points)) {
            eprintln!("cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
        println!("plot written to {path}");
    }
    ExitCode::SUCCESS
}

/// The run of median rate; a failed run if any failed (a wrong answer first).
fn median_run(mut runs: Vec<Row>) -> Option<Row> {
    let wrong = |r: &Row| matches!(&r.outcome, Outcome::Missing(why) if why.starts_with("wrong answer"));
    if let Some(at) = runs.iter().position(wrong).or_else(|| runs.iter().position(|r| r.rate().is_none())) {
        return Some(runs.swap_remove(at));
    }
    runs.sort_by(|a, b| a.rate().partial_cmp(&b.rate()).unwrap_or(std::cmp::Ordering::Equal));
    let middle = runs.len() / 2;
    runs.into_iter().nth(middle)
}

/// Runs one row and checks its final state against the ground truth.
fn run_row(key: RowKey, options: &Options, workload: &Workload, report: &mut Report) -> Row {
    let all = workload.prefix(u64::MAX);
    let missing = |why: String| Row { key, outcome: Outcome::Missing(why), note: String::new() };
    match key {
        RowKey::Roofline | RowKey::RecordRoofline => {
            let roof = roofline::Roofline::new(workload.spec().nodes);
            let (measured, note) = if key == RowKey::Roofline {
                (roof.run(&all), "64-byte slot per node, no queries")
            } else {
                (roof.run_records(workload, &all), "reads the batch's 128-byte records, 64-byte slot per node")
            };
            let landed = if roof.total_updates() == measured.heartbeats {
                Ok(())
            } else {
                Err(format!("wrong answer: {} of {} updates landed", roof.total_updates(), measured.heartbeats))
            };
            match landed.and_then(|()| workload.check(&all, &roof.in_sync(workload))) {
                Ok(()) => Row { key, outcome: Outcome::Ran(measured), note: note.into() },
                Err(why) => missing(why),
            }
        }
        RowKey::Batch | RowKey::Single | RowKey::ById | RowKey::ByIdBatch => {
            fleetgov_peer::row(key, workload, &options.extras, &mut report.figures)
        }
        RowKey::Naive => tracker_row(
            key,
            workload,
            || naive::NaiveTracker::new(workload),
            |t| t.run(workload, &all),
            naive::NaiveTracker::in_sync_all,
        ),
        RowKey::Dashmap | RowKey::Dense => tracker_row(
            key,
            workload,
            || strong::StrongTracker::new(workload, key == RowKey::Dashmap),
            |t| t.run(workload, &all),
            strong::StrongTracker::in_sync_all,
        ),
        RowKey::Redis => {
            let Some(url) = &options.redis else {
                return missing("no Redis given (--redis URL; benches/peers.sh starts one)".into());
            };
            let streams = workload.prefix(options.redis_heartbeats);
            match redis_peer::run(url, workload, &streams) {
                Ok(run) => Row {
                    key,
                    outcome: Outcome::Ran(run.measured),
                    note: format!("Redis {}, {}", run.server_version, memory_note(run.bytes_per_node)),
                },
                Err(why) => missing(why),
            }
        }
        RowKey::Postgres => {
            let Some(params) = &options.postgres else {
                return missing("no PostgreSQL given (--postgres PARAMS; benches/peers.sh starts one)".into());
            };
            let streams = workload.prefix(options.postgres_heartbeats);
            match postgres_peer::run(params, workload, &streams) {
                Ok(run) => Row {
                    key,
                    outcome: Outcome::Ran(run.measured),
                    note: format!(
                        "PostgreSQL {}, {:.0} table+index bytes/node",
                        run.server_version, run.bytes_per_node
                    ),
                },
                Err(why) => missing(why),
            }
        }
    }
}

/// A row of an in-process tracker: built (its memory measured), run over
/// the whole stream, and its per-cluster in-sync counts checked.
fn tracker_row<T>(
    key: RowKey,
    workload: &Workload,
    build: impl FnOnce() -> T,
    run: impl FnOnce(&T) -> Result<Measured, String>,
    in_sync: impl FnOnce(&T) -> Vec<u64>,
) -> Row {
    let (tracker, per_node) = memory::per_unit(u64::from(workload.spec().nodes), build);
    let all = workload.prefix(u64::MAX);
    match run(&tracker).and_then(|m| workload.check(&all, &in_sync(&tracker)).map(|()| m)) {
        Ok(measured) => Row { key, outcome: Outcome::Ran(measured), note: memory_note(per_node) },
        Err(why) => Row { key, outcome: Outcome::Missing(why), note: String::new() },
    }
}

fn memory_note(per_node: Option<f64>) -> String {
    match per_node {
        Some(b) => format!("{b:.0} bytes/node"),
        None => "memory not measured".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadSpec;

    #[test]
    fn in_process_rows_run_and_pass_their_check_on_a_small_fleet() {
        let options =
            Options::parse(["--nodes", "3000", "--clusters", "3", "--heartbeats", "30000"].map(String::from)).unwrap();
        let w = Workload::generate(WorkloadSpec {
            nodes: 3_000,
            clusters: 3,
            heartbeats: 30_000,
            ..WorkloadSpec::default()
        })
        .unwrap();
        for key in RowKey::ALL.into_iter().filter(|k| !matches!(k, RowKey::Redis | RowKey::Postgres)) {
            let row = run_row(key, &options, &w, &mut Report::default());
            assert!(matches!(row.outcome, Outcome::Ran(m) if m.heartbeats == 30_000), "{key:?}: {row:?}");
        }
        let row = run_row(RowKey::Redis, &options, &w, &mut Report::default());
        assert!(matches!(&row.outcome, Outcome::Missing(why) if why.contains("--redis")));
    }

    #[test]
    fn the_median_run_is_reported_unless_one_was_wrong() {
        let ran = |hb: u64| Row {
            key: RowKey::Naive,
            outcome: Outcome::Ran(timing::Measured {
                heartbeats: hb,
                elapsed: std::time::Duration::from_secs(1),
                cpu: None,
                threads: 1,
            }),
            note: String::new(),
        };
        assert_eq!(median_run(vec![ran(3), ran(9), ran(5)]).and_then(|r| r.rate()), Some(5.0));
        let wrong =
            Row { key: RowKey::Naive, outcome: Outcome::Missing("wrong answer: x".into()), note: String::new() };
        assert_eq!(median_run(vec![ran(3), wrong.clone(), ran(5)]), Some(wrong));
        assert_eq!(median_run(vec![]), None);
    }
}
