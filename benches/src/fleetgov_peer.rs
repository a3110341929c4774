//! fleetgov's rows and figures.
//!
//! The engine holds the workload's fleet: one workspace, its clusters (auto
//! reconcile off, so no heartbeat writes an audit record), each with
//! `@r1` and then `@r2` published (so `@r2` is desired), every node enrolled
//! in slot order and seeded with a heartbeat of the desired snapshot. Each
//! heartbeat row runs on an engine of its own, built and seeded before timing.
//!
//! - **batch**: each thread's stream is encoded into binary heartbeat
//!   records (by handle) before timing, the way records arrive from the
//!   network; the thread calls `ingest_records` per [`QUERY_EVERY`] of them;
//! - **single**: one `heartbeat(handle, &Heartbeat)` call per heartbeat,
//!   each thread's handles laid out in event order before timing;
//! - **by-id**: one `heartbeat_by_id(&id, &Heartbeat)` call per heartbeat,
//!   each thread's ids laid end to end in event order before timing (an
//!   [`IdStream`]), the way ids arrive in a received buffer;
//! - **by-id-batch**: like batch, but the records carry no handle and each
//!   call names its nodes by an id column (`ingest_by_id`), built with the
//!   records before timing, the way a data frame or a decoded JSON array
//!   arrives.
//!
//! After each chunk every row reads the cohesion of the chunk's last
//! heartbeat's cluster (`Engine::cohesion`), per the workload's query rule;
//! after the run the engine's per-cluster in-sync counts must equal the
//! ground truth and a recount from scratch must equal its counters.
//!
//! Figures: resident bytes per node of the engine holding the workload's
//! fleet (RSS growth over building and seeding it, id strings included, the
//! harness's own vector of handles not);
//! the latency of one `cohesion` read on a cluster of 1,000 and of 1,000,000
//! nodes; and the latency of `publish` flipping the desired snapshot of a
//! 1,000,000-node cluster.

use std::hint::black_box;
use std::time::Instant;

use fleetgov::record::{HeartbeatRecord, OutcomeRecord};
use fleetgov::{
    BatchSummary, Clock, ClusterSpec, Engine, EngineConfig, Environment, Heartbeat, IdBuffer, Metrics, NodeHandle,
    ProcessStatus, RuntimeVersion, WorkspaceSpec,
};

use crate::memory;
use crate::options::Extra;
use crate::report::{Figures, Outcome, Row, RowKey};
use crate::timing::{Measured, run_threads};
use crate::workload::{Event, IdStream, QUERY_EVERY, SnapshotRef, Workload, config_bytes};

/// The metrics every heartbeat of the workload carries.
const METRICS: Metrics = Metrics { cpu: 12.5, memory: 40.0, tps: 1_200.0, heap: 55.0, hot_swap_errors: 0 };

/// Seeding heartbeats per `ingest_records` call.
const SEED_BATCH: usize = 65_536;

/// Cohesion reads per timed round, and rounds (the median is reported).
const READS_PER_ROUND: u32 = 200_000;
const READ_ROUNDS: usize = 7;

/// Publishes timed (the median is reported).
const FLIPS: usize = 9;

const WORKSPACE: &str = "ws-bench";

fn version() -> RuntimeVersion {
    RuntimeVersion::new(3, 5, 0).expect("3.5.0 is in range")
}

fn err(e: fleetgov::Error) -> String {
    e.to_string()
}

/// An engine holding a fleet, with the handles of its nodes by slot.
struct Fleet {
    engine: Engine,
    handles: Vec<NodeHandle>,
}

impl Fleet {
    /// `clusters` clusters (id, member count) of the nodes `node_ids` in
    /// order, every node seeded in sync. `expect(c)` names the two snapshots
    /// cluster `c` must get from publishing its `@r1` and `@r2` bytes.
    fn build(
        clusters: &[(&str, u32)],
        node_ids: &[String],
        now_ms: u64,
        expect: impl Fn(usize) -> [SnapshotRef; 2],
    ) -> Result<Fleet, String> {
        let nodes: u32 = clusters.iter().map(|c| c.1).sum();
        if nodes as usize != node_ids.len() {
            return Err(format!("{} node ids for {nodes} nodes", node_ids.len()));
        }
        let engine = Engine::with_config(EngineConfig {
            clock: Clock::manual(now_ms),
            capacity: node_ids.len().max(1),
            ..EngineConfig::default()
        })
        .map_err(err)?;
        engine.upsert_workspace(WorkspaceSpec::new(WORKSPACE)).map_err(err)?;
        let mut handles = Vec::with_capacity(nodes as usize);
        let mut seed = Vec::with_capacity(SEED_BATCH);
        let mut outcomes = vec![OutcomeRecord::default(); SEED_BATCH];
        let mut ids = node_ids.iter();
        for (c, &(id, members)) in clusters.iter().enumerate() {
            engine.upsert_cluster(ClusterSpec::new(id, WORKSPACE, Environment::Production)).map_err(err)?;
            let want = expect(c);
            for (revision, want) in (1..).zip(&want) {
                let s =
                    engine.publish(id, &config_bytes(id, revision), "bench", Workload::seed_at_ms()).map_err(err)?;
                if s.id != want.id || s.hash != want.hash {
                    return Err(format!(
                        "published {} ({}), the workload expects {} ({})",
                        s.id, s.hash, want.id, want.hash
                    ));
                }
            }
            for node in ids.by_ref().take(members as usize) {
                let h = engine.enroll(node, id, Workload::seed_at_ms()).map_err(err)?;
                handles.push(h);
                seed.push(record(h, Workload::seed_at_ms(), 2, &want[1]));
                if seed.len() == SEED_BATCH {
                    ingest(&engine, &seed, &mut outcomes)?;
                    seed.clear();
                }
            }
        }
        ingest(&engine, &seed, &mut outcomes)?;
        Ok(Fleet { engine, handles })
    }

    /// The workload's fleet.
    fn of(workload: &Workload) -> Result<Fleet, String> {
        let clusters: Vec<(&str, u32)> = workload
            .clusters()
            .iter()
            .enumerate()
            .map(|(c, r)| (r.id.as_str(), workload.members(c).len() as u32))
            .collect();
        let fleet = Fleet::build(&clusters, workload.node_ids(), workload.last_at_ms(), |c| {
            let r = &workload.clusters()[c];
            [r.previous.clone(), r.desired.clone()]
        })?;
        // Handles must follow the workload's slots, so that a slot's handle and id name one node.
        match fleet.handles.iter().enumerate().find(|(slot, h)| h.slot() != *slot as u32) {
            Some((slot, h)) => Err(format!("node {slot} got slot {}", h.slot())),
            None => Ok(fleet),
        }
    }

    fn in_sync(&self, workload: &Workload) -> Result<Vec<u64>, String> {
        let now = workload.last_at_ms();
        workload.clusters().iter().map(|c| self.engine.cluster(&c.id, now).map(|v| v.in_sync).map_err(err)).collect()
    }
}

/// A heartbeat record of `handle` reporting `revision` with `snapshot`'s hash.
fn record(handle: NodeHandle, at_ms: u64, revision: u32, snapshot: &SnapshotRef) -> HeartbeatRecord {
    HeartbeatRecord::new(handle, at_ms, version(), ProcessStatus::Ready, METRICS).with_applied(revision, snapshot.hash)
}

/// One thread's `stream` as binary heartbeat records, the way records
/// arrive from the network: encoded before any timing. `handle(slot)` names
/// each event's node.
pub fn encode(workload: &Workload, stream: &[Event], handle: impl Fn(u32) -> NodeHandle) -> Vec<HeartbeatRecord> {
    stream
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let cluster = &workload.clusters()[workload.cluster_of(event.slot)];
            record(handle(event.slot), Workload::at_ms(i), event.applied.revision(), cluster.snapshot(event.applied))
        })
        .collect()
}

/// Ingests `records`; every one must be accepted.
fn ingest(engine: &Engine, records: &[HeartbeatRecord], outcomes: &mut [OutcomeRecord]) -> Result<(), String> {
    all_accepted(engine.ingest_records(records, outcomes).map_err(err)?, records)
}

fn all_accepted(summary: BatchSummary, records: &[HeartbeatRecord]) -> Result<(), String> {
    if summary.accepted != records.len() as u64 {
        return Err(format!(
            "{} of {} heartbeats were not accepted",
            records.len() as u64 - summary.accepted,
            records.len()
        ));
    }
    Ok(())
}

/// Runs one fleetgov heartbeat row. The first engine built in a run is the
/// one whose memory is measured, if `figures` still wants it.
pub fn row(key: RowKey, workload: &Workload, extras: &[Extra], figures: &mut Figures) -> Row {
    let fleet = match build_measured(workload, extras, figures) {
        Ok(f) => f,
        Err(why) => {
            return Row { key, outcome: Outcome::Missing(why), note: String::new() };
        }
    };
    let streams = workload.prefix(u64::MAX);
    let result = match key {
        RowKey::Batch => run_batch(&fleet, workload, &streams),
        RowKey::ByIdBatch => run_by_id_batch(&fleet, workload, &streams),
        RowKey::Single => run_calls(
            &fleet,
            workload,
            &streams,
            |t| streams[t].iter().map(|e| fleet.handles[e.slot as usize]).collect::<Vec<_>>(),
            |e, handles, i, hb| e.heartbeat(handles[i], hb),
        ),
        RowKey::ById => run_calls(
            &fleet,
            workload,
            &streams,
            |t| IdStream::of(workload, streams[t]),
            |e, ids, i, hb| e.heartbeat_by_id(ids.get(i), hb),
        ),
        _ => Err(format!("{} is not a fleetgov row", key.name())),
    };
    let checked = result.and_then(|m| {
        workload.check(&streams, &fleet.in_sync(workload)?)?;
        let mismatches = fleet.engine.recount_mismatches();
        match mismatches.first() {
            None => Ok(m),
            Some(first) => {
                Err(format!("wrong answer: recount differs from the counters ({} clusters): {first}", mismatches.len()))
            }
        }
    });
    match checked {
        Ok(m) => Row { key, outcome: Outcome::Ran(m), note: note(key) },
        Err(why) => Row { key, outcome: Outcome::Missing(why), note: String::new() },
    }
}

fn note(key: RowKey) -> String {
    match key {
        RowKey::Batch => format!("ingest_records, {QUERY_EVERY} records per call, encoded before timing"),
        RowKey::Single => "heartbeat(handle), handles in event order built before timing".into(),
        RowKey::ByIdBatch => {
            format!("ingest_by_id, {QUERY_EVERY} records per call, records and id column built before timing")
        }
        _ => "heartbeat_by_id(&str), ids laid end to end in event order before timing".into(),
    }
}

fn build_measured(workload: &Workload, extras: &[Extra], figures: &mut Figures) -> Result<Fleet, String> {
    if !extras.contains(&Extra::Memory) || figures.bytes_per_node.is_some() {
        return Fleet::of(workload);
    }
    let nodes = u64::from(workload.spec().nodes);
    let (fleet, per_node) = memory::per_unit(nodes, || Fleet::of(workload));
    let fleet = fleet?;
    // The handle vector is the harness's, filled while it was measured: not the engine's.
    let handles = (fleet.handles.capacity() * size_of::<NodeHandle>()) as f64 / nodes.max(1) as f64;
    figures.bytes_per_node = per_node.map(|b| (b - handles).max(0.0));
    Ok(fleet)
}

fn run_batch(fleet: &Fleet, workload: &Workload, streams: &[&[Event]]) -> Result<Measured, String> {
    run_threads(
        streams,
        |t| {
            let records = encode(workload, streams[t], |slot| fleet.handles[slot as usize]);
            Ok((records, vec![OutcomeRecord::default(); QUERY_EVERY]))
        },
        |(records, outcomes): &mut (Vec<HeartbeatRecord>, Vec<OutcomeRecord>), stream| {
            for (chunk, events) in records.chunks(QUERY_EVERY).zip(stream.chunks(QUERY_EVERY)) {
                ingest(&fleet.engine, chunk, &mut outcomes[..chunk.len()])?;
                read_cohesion(fleet, workload, events)?;
            }
            Ok(())
        },
    )
}

fn run_by_id_batch(fleet: &Fleet, workload: &Workload, streams: &[&[Event]]) -> Result<Measured, String> {
    run_threads(
        streams,
        |t| {
            let records = encode(workload, streams[t], |_| NodeHandle::from_raw(0));
            let ids: IdBuffer = streams[t].iter().map(|e| workload.node_ids()[e.slot as usize].as_str()).collect();
            Ok((records, ids, vec![OutcomeRecord::default(); QUERY_EVERY]))
        },
        |(records, ids, outcomes): &mut (Vec<HeartbeatRecord>, IdBuffer, Vec<OutcomeRecord>), stream| {
            for (n, (chunk, events)) in records.chunks(QUERY_EVERY).zip(stream.chunks(QUERY_EVERY)).enumerate() {
                let start = n * QUERY_EVERY;
                let column = ids.slice(start..start + chunk.len());
                let summary = fleet.engine.ingest_by_id(column, chunk, &mut outcomes[..chunk.len()]).map_err(err)?;
                all_accepted(summary, chunk)?;
                read_cohesion(fleet, workload, events)?;
            }
            Ok(())
        },
    )
}

/// Runs one call per heartbeat. `names(t)` builds, before timing, what
/// thread `t`'s calls name their nodes by, in event order (handles, or ids
/// laid end to end, the way they arrive from the network); `call(engine,
/// names, i, heartbeat)` sends the stream's `i`-th heartbeat.
fn run_calls<'e, N: Send>(
    fleet: &'e Fleet,
    workload: &Workload,
    streams: &[&[Event]],
    names: impl Fn(usize) -> N + Sync,
    call: impl Fn(&'e Engine, &N, usize, &Heartbeat<'_>) -> fleetgov::Result<Option<fleetgov::Directive<'e>>> + Sync,
) -> Result<Measured, String> {
    let version = version();
    run_threads(
        streams,
        |t| Ok(names(t)),
        |names, stream| {
            for (n, chunk) in stream.chunks(QUERY_EVERY).enumerate() {
                for (i, event) in chunk.iter().enumerate() {
                    let index = n * QUERY_EVERY + i;
                    let snapshot = workload.clusters()[workload.cluster_of(event.slot)].snapshot(event.applied);
                    let hb = Heartbeat {
                        metrics: METRICS,
                        ..Heartbeat::new(Workload::at_ms(index), version).applied(&snapshot.id, snapshot.hash)
                    };
                    black_box(call(&fleet.engine, names, index, &hb).map_err(err)?);
                }
                read_cohesion(fleet, workload, chunk)?;
            }
            Ok(())
        },
    )
}

fn read_cohesion(fleet: &Fleet, workload: &Workload, chunk: &[Event]) -> Result<(), String> {
    if let Some(last) = chunk.last() {
        let cluster = &workload.clusters()[workload.cluster_of(last.slot)];
        black_box(fleet.engine.cohesion(&cluster.id).map_err(err)?);
    }
    Ok(())
}

/// The figures selected that the rows have not already measured.
pub fn figures(extras: &[Extra], workload: &Workload, figures: &mut Figures) -> Result<(), String> {
    if extras.contains(&Extra::Memory) && figures.bytes_per_node.is_none() {
        build_measured(workload, extras, figures)?;
    }
    let wants_big = extras.contains(&Extra::Publish) || extras.contains(&Extra::Reads);
    if extras.contains(&Extra::Reads) {
        figures.cohesion_read_ns_1k = Some(read_ns(&one_cluster(1_000)?));
    }
    if wants_big {
        let big = one_cluster(1_000_000)?;
        if extras.contains(&Extra::Reads) {
            figures.cohesion_read_ns_1m = Some(read_ns(&big));
        }
        if extras.contains(&Extra::Publish) {
            figures.publish_flip_us_1m = Some(flip_us(&big)?);
        }
    }
    Ok(())
}

/// The cohesion read (ns, median) and the publish flip (µs, median) of one
/// cluster of `nodes` nodes, every node in sync before the first flip.
pub fn cluster_figures(nodes: u32) -> Result<(f64, f64), String> {
    let fleet = one_cluster(nodes)?;
    Ok((read_ns(&fleet), flip_us(&fleet)?))
}

const ONE: &str = "solo";

/// One cluster of `nodes` nodes, all in sync with `solo@r2`.
fn one_cluster(nodes: u32) -> Result<Fleet, String> {
    let snapshots = [1, 2].map(|revision| {
        let hash = fleetgov::ContentHash::of(&config_bytes(ONE, revision));
        SnapshotRef { id: format!("{ONE}@r{revision}"), hash, hash_hex: hash.to_string() }
    });
    let ids: Vec<String> = (0..nodes).map(|n| format!("{ONE}-{n:07}")).collect();
    let fleet = Fleet::build(&[(ONE, nodes)], &ids, Workload::seed_at_ms(), |_| snapshots.clone())?;
    match fleet.engine.cluster(ONE, Workload::seed_at_ms()).map_err(err)? {
        v if v.in_sync == u64::from(nodes) && v.cohesion == 100 => Ok(fleet),
        v => Err(format!("{ONE}: {} of {nodes} nodes in sync after seeding", v.in_sync)),
    }
}

/// Median ns of one `cohesion` read of the fleet's only cluster.
fn read_ns(fleet: &Fleet) -> f64 {
    let mut rounds: Vec<f64> = (0..READ_ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..READS_PER_ROUND {
                black_box(fleet.engine.cohesion(black_box(ONE)).ok());
            }
            started.elapsed().as_nanos() as f64 / f64::from(READS_PER_ROUND)
        })
        .collect();
    median(&mut rounds)
}

/// Median µs of publishing a new desired snapshot (fresh bytes each time)
/// to the fleet's only cluster; every node drops out of sync and the
/// cluster's in-sync count must follow at once.
fn flip_us(fleet: &Fleet) -> Result<f64, String> {
    let mut flips = Vec::with_capacity(FLIPS);
    for n in 0..FLIPS {
        let bytes = config_bytes(ONE, 1_000 + n as u32);
        let started = Instant::now();
        let s = fleet.engine.publish(ONE, &bytes, "bench", Workload::seed_at_ms()).map_err(err)?;
        flips.push(started.elapsed().as_nanos() as f64 / 1_000.0);
        let v = fleet.engine.cluster(ONE, Workload::seed_at_ms()).map_err(err)?;
        if v.desired_revision != s.revision || v.in_sync != 0 {
            return Err(format!("after publishing {}: desired r{}, {} in sync", s.id, v.desired_revision, v.in_sync));
        }
    }
    Ok(median(&mut flips))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadSpec;

    fn workload() -> Workload {
        Workload::generate(WorkloadSpec { nodes: 4_000, clusters: 4, heartbeats: 60_000, ..WorkloadSpec::default() })
            .unwrap()
    }

    #[test]
    fn every_heartbeat_row_runs_and_matches_the_ground_truth() {
        let w = workload();
        let mut figures = Figures::default();
        for key in [RowKey::Batch, RowKey::Single, RowKey::ById, RowKey::ByIdBatch] {
            let row = row(key, &w, &[Extra::Memory], &mut figures);
            assert!(matches!(row.outcome, Outcome::Ran(m) if m.heartbeats == 60_000), "{key:?}: {row:?}");
        }
        assert!(figures.bytes_per_node.is_some_and(|b| b > 0.0));
    }

    #[test]
    fn the_fleet_mirrors_the_workload() {
        let w = workload();
        let fleet = Fleet::of(&w).unwrap();
        assert_eq!(fleet.handles.len(), 4_000);
        assert_eq!(fleet.in_sync(&w).unwrap(), vec![1_000; 4]);
        let v = fleet.engine.cluster("cluster-002", w.last_at_ms()).unwrap();
        assert_eq!(v.desired_snapshot.as_deref(), Some("cluster-002@r2"));
        assert_eq!(v.desired_hash, Some(w.clusters()[2].desired.hash));
    }

    #[test]
    fn figures_are_measured_and_publish_flips_the_cluster() {
        let fleet = one_cluster(2_000).unwrap();
        assert!(read_ns(&fleet) > 0.0);
        assert!(flip_us(&fleet).unwrap() > 0.0);
        assert_eq!(fleet.engine.cohesion(ONE).unwrap(), 0);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
    }
}
