//! Redis as the fleet's state store.
//!
//! Layout: one hash per node, `node:<id>` with fields `cluster`, `applied`
//! (snapshot id), `hash` (hex), `last_seen` (ms), `version`, `status`; and
//! one set per cluster, `insync:<cluster>`, holding the ids of its nodes
//! whose applied snapshot id and hash are the desired ones.
//!
//! A heartbeat is `HSET node:<id>` of the five changing fields plus
//! `SADD insync:<cluster> <id>` when the report matches the desired snapshot
//! or `SREM` when it does not: both are idempotent, so the writer needs no
//! read of the node's previous state. Each worker thread has its own
//! connection and sends one pipeline per [`QUERY_EVERY`] heartbeats, ending
//! in `SCARD insync:<cluster>` for the cohesion read of the workload's query
//! rule. Key strings are built before timing, so the timed loop spends its
//! time in the client library, the socket and the server.
//!
//! The harness flushes the database it is given (`FLUSHDB`) before and after
//! the run: point it only at a scratch server.

use std::hint::black_box;

use fleetgov::cohesion::cohesion;
use redis::{Client, Connection, RedisResult};

use crate::timing::{Measured, run_threads};
use crate::workload::{Applied, Event, QUERY_EVERY, Workload};

/// Runtime version every node of the workload reports.
const VERSION: &str = "3.5.0";

/// Nodes per seeding pipeline.
const SEED_PIPELINE: usize = 10_000;

/// What a Redis run measured.
pub struct RedisRun {
    /// The timed run.
    pub measured: Measured,
    /// The server's `redis_version`.
    pub server_version: String,
    /// Growth of the server's `used_memory` per node while seeding.
    pub bytes_per_node: Option<f64>,
}

/// Key strings, built once before timing.
struct Keys {
    node: Vec<String>,
    in_sync: Vec<String>,
}

impl Keys {
    fn new(workload: &Workload) -> Self {
        Keys {
            node: workload.node_ids().iter().map(|id| format!("node:{id}")).collect(),
            in_sync: workload.clusters().iter().map(|c| format!("insync:{}", c.id)).collect(),
        }
    }
}

/// Seeds the server with the workload's fleet, runs `streams`, checks the
/// result against the workload's ground truth, and flushes the database.
pub fn run(url: &str, workload: &Workload, streams: &[&[Event]]) -> Result<RedisRun, String> {
    let client = Client::open(url).map_err(|e| format!("bad Redis URL {url}: {e}"))?;
    let mut admin = client.get_connection().map_err(|e| format!("cannot connect to Redis at {url}: {e}"))?;
    let server_version = info_field(&mut admin, "server", "redis_version").unwrap_or_else(|| "?".into());
    redis::cmd("FLUSHDB").query::<()>(&mut admin).map_err(|e| format!("FLUSHDB failed: {e}"))?;
    let keys = Keys::new(workload);

    let before = info_field(&mut admin, "memory", "used_memory").and_then(|v| v.parse::<u64>().ok());
    seed(&client, workload, &keys).map_err(|e| format!("seeding Redis failed: {e}"))?;
    let after = info_field(&mut admin, "memory", "used_memory").and_then(|v| v.parse::<u64>().ok());
    let bytes_per_node = before.zip(after).map(|(b, a)| a.saturating_sub(b) as f64 / f64::from(workload.spec().nodes));

    let measured = run_threads(
        streams,
        |_| client.get_connection().map_err(|e| format!("cannot connect to Redis: {e}")),
        |con, stream| heartbeats(con, workload, &keys, stream).map_err(|e| format!("Redis pipeline failed: {e}")),
    )?;

    let mut got = Vec::with_capacity(keys.in_sync.len());
    for key in &keys.in_sync {
        got.push(redis::cmd("SCARD").arg(key).query::<u64>(&mut admin).map_err(|e| format!("SCARD failed: {e}"))?);
    }
    let checked = workload.check(streams, &got);
    redis::cmd("FLUSHDB").query::<()>(&mut admin).map_err(|e| format!("FLUSHDB failed: {e}"))?;
    checked?;
    Ok(RedisRun { measured, server_version, bytes_per_node })
}

/// Every node has reported its cluster's desired snapshot (two connections).
fn seed(client: &Client, workload: &Workload, keys: &Keys) -> RedisResult<()> {
    let slots: Vec<u32> = (0..workload.spec().nodes).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = slots
            .chunks(slots.len().div_ceil(2))
            .map(|part| {
                scope.spawn(move || -> RedisResult<()> {
                    let mut con = client.get_connection()?;
                    let mut pipe = redis::pipe();
                    for chunk in part.chunks(SEED_PIPELINE) {
                        pipe.clear();
                        for &slot in chunk {
                            let cluster = &workload.clusters()[workload.cluster_of(slot)];
                            pipe.cmd("HSET")
                                .arg(&keys.node[slot as usize])
                                .arg("cluster")
                                .arg(&cluster.id)
                                .arg("applied")
                                .arg(&cluster.desired.id)
                                .arg("hash")
                                .arg(&cluster.desired.hash_hex)
                                .arg("last_seen")
                                .arg(Workload::seed_at_ms())
                                .arg("version")
                                .arg(VERSION)
                                .arg("status")
                                .arg("Ready")
                                .ignore();
                            pipe.cmd("SADD")
                                .arg(&keys.in_sync[workload.cluster_of(slot)])
                                .arg(&workload.node_ids()[slot as usize])
                                .ignore();
                        }
                        pipe.query::<()>(&mut con)?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().expect("seeding thread panicked"))
    })
}

/// The timed loop of one thread.
fn heartbeats(con: &mut Connection, workload: &Workload, keys: &Keys, stream: &[Event]) -> RedisResult<()> {
    let mut pipe = redis::pipe();
    let mut index = 0;
    for chunk in stream.chunks(QUERY_EVERY) {
        pipe.clear();
        for event in chunk {
            let c = workload.cluster_of(event.slot);
            let snapshot = workload.clusters()[c].snapshot(event.applied);
            pipe.cmd("HSET")
                .arg(&keys.node[event.slot as usize])
                .arg("applied")
                .arg(&snapshot.id)
                .arg("hash")
                .arg(&snapshot.hash_hex)
                .arg("last_seen")
                .arg(Workload::at_ms(index))
                .arg("version")
                .arg(VERSION)
                .arg("status")
                .arg("Ready")
                .ignore();
            let membership = if event.applied == Applied::Desired { "SADD" } else { "SREM" };
            pipe.cmd(membership).arg(&keys.in_sync[c]).arg(&workload.node_ids()[event.slot as usize]).ignore();
            index += 1;
        }
        let Some(last) = chunk.last() else { continue };
        let c = workload.cluster_of(last.slot);
        pipe.cmd("SCARD").arg(&keys.in_sync[c]);
        let (in_sync,): (u64,) = pipe.query(con)?;
        black_box(cohesion(in_sync, workload.members(c).len() as u64));
    }
    Ok(())
}

/// One `field:value` line of `INFO <section>`.
fn info_field(con: &mut Connection, section: &str, field: &str) -> Option<String> {
    let info: String = redis::cmd("INFO").arg(section).query(con).ok()?;
    info.lines().find_map(|line| line.strip_prefix(field)?.strip_prefix(':')).map(|v| v.trim().to_string())
}
