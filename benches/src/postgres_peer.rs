//! PostgreSQL as the fleet's state store, the way Kong's hybrid mode keeps
//! its data planes.
//!
//! Table `clustering_data_planes (id, cluster, last_seen, config_hash,
//! version, sync_status)`, primary key `id`, plus an index on
//! `(cluster, config_hash)` so that the cohesion count is an index scan of
//! one cluster rather than a scan of the table. A node is in sync when its
//! `config_hash` is its cluster's desired hash (in this workload a hash names
//! exactly one snapshot).
//!
//! Each worker thread has its own connection (with `synchronous_commit`
//! off, so no commit waits for a WAL flush) and sends, per [`QUERY_EVERY`]
//! heartbeats, one multi-row `INSERT ... SELECT FROM unnest(...) ON CONFLICT
//! (id) DO UPDATE` (one prepared statement whatever the row count), then
//! `SELECT count(*) ... WHERE cluster = $1 AND config_hash = $2` for the
//! cohesion read of the workload's query rule. PostgreSQL refuses to update a
//! row twice in one statement, so a batch keeps only the last heartbeat of a
//! node that appears twice in it; that is the state the whole batch leaves.
//!
//! The harness drops and recreates the table in the database it is given.

use std::collections::HashSet;
use std::hint::black_box;
use std::io::Write;

use fleetgov::cohesion::cohesion;
use postgres::{Client, NoTls, Statement};

use crate::timing::{Measured, run_threads};
use crate::workload::{Event, QUERY_EVERY, Workload};

/// Runtime version every node of the workload reports.
const VERSION: &str = "3.5.0";

/// `sync_status` of a data plane whose runtime is compatible (Kong's word).
const SYNC_STATUS: &str = "normal";

const CREATE: &str = "
    DROP TABLE IF EXISTS clustering_data_planes;
    CREATE TABLE clustering_data_planes (
        id          text PRIMARY KEY,
        cluster     text NOT NULL,
        last_seen   timestamptz NOT NULL,
        config_hash text NOT NULL,
        version     text NOT NULL,
        sync_status text NOT NULL
    );";

const INDEX: &str = "CREATE INDEX clustering_data_planes_cluster_hash ON clustering_data_planes (cluster, config_hash)";

/// Sets the visibility map (index-only count scans) and the planner's statistics.
const VACUUM: &str = "VACUUM ANALYZE clustering_data_planes";

const UPSERT: &str = "
    INSERT INTO clustering_data_planes AS d (id, cluster, last_seen, config_hash, version, sync_status)
    SELECT u.id, u.cluster, to_timestamp(u.ms / 1000.0), u.hash, u.version, u.status
    FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::text[])
         AS u(id, cluster, ms, hash, version, status)
    ON CONFLICT (id) DO UPDATE SET
        last_seen = excluded.last_seen,
        config_hash = excluded.config_hash,
        version = excluded.version,
        sync_status = excluded.sync_status";

const COUNT: &str = "SELECT count(*) FROM clustering_data_planes WHERE cluster = $1 AND config_hash = $2";

/// What a PostgreSQL run measured.
pub struct PostgresRun {
    /// The timed run.
    pub measured: Measured,
    /// The server's `server_version`.
    pub server_version: String,
    /// Table plus indexes after seeding, per node.
    pub bytes_per_node: f64,
}

fn connect(params: &str) -> Result<Client, String> {
    let mut client =
        Client::connect(params, NoTls).map_err(|e| format!("cannot connect to PostgreSQL ({params}): {}", db(e)))?;
    client.batch_execute("SET synchronous_commit TO off").map_err(db)?;
    Ok(client)
}

/// The server's own message where there is one (the client's `Display`
/// says only "db error").
fn db(e: postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => d.to_string(),
        None => e.to_string(),
    }
}

/// Creates and seeds the table, runs `streams`, checks the result against
/// the workload's ground truth, and drops the table.
pub fn run(params: &str, workload: &Workload, streams: &[&[Event]]) -> Result<PostgresRun, String> {
    let mut admin = connect(params)?;
    let server_version: String = admin.query_one("SHOW server_version", &[]).map_err(db)?.get(0);
    admin.batch_execute(CREATE).map_err(|e| format!("creating the table failed: {}", db(e)))?;
    seed(&mut admin, workload).map_err(|e| format!("seeding PostgreSQL failed: {e}"))?;
    admin.batch_execute(INDEX).map_err(|e| format!("indexing failed: {}", db(e)))?;
    admin.batch_execute(VACUUM).map_err(|e| format!("vacuum failed: {}", db(e)))?;
    let size: i64 = admin.query_one("SELECT pg_total_relation_size('clustering_data_planes')", &[]).map_err(db)?.get(0);

    let measured = run_threads(
        streams,
        |_| {
            let mut client = connect(params)?;
            let upsert = client.prepare(UPSERT).map_err(db)?;
            let count = client.prepare(COUNT).map_err(db)?;
            Ok(Worker { client, upsert, count, seen: HashSet::with_capacity(QUERY_EVERY) })
        },
        |worker, stream| worker.heartbeats(workload, stream).map_err(|e| format!("PostgreSQL batch failed: {}", db(e))),
    )?;

    let mut got = Vec::with_capacity(workload.clusters().len());
    for cluster in workload.clusters() {
        let row = admin.query_one(COUNT, &[&cluster.id, &cluster.desired.hash_hex]).map_err(db)?;
        got.push(row.get::<_, i64>(0) as u64);
    }
    let checked = workload.check(streams, &got);
    admin.batch_execute("DROP TABLE clustering_data_planes").map_err(db)?;
    checked?;
    Ok(PostgresRun { measured, server_version, bytes_per_node: size as f64 / f64::from(workload.spec().nodes) })
}

/// Every node has reported its cluster's desired snapshot (`COPY`).
fn seed(client: &mut Client, workload: &Workload) -> Result<(), String> {
    // The server spells the seed stamp, so COPY reads back exactly that instant.
    let last_seen: String = client
        .query_one("SELECT to_timestamp($1::int8 / 1000.0)::text", &[&(Workload::seed_at_ms() as i64)])
        .map_err(db)?
        .get(0);
    let mut writer = client
        .copy_in("COPY clustering_data_planes (id, cluster, last_seen, config_hash, version, sync_status) FROM STDIN")
        .map_err(db)?;
    for (slot, id) in workload.node_ids().iter().enumerate() {
        let cluster = &workload.clusters()[workload.cluster_of(slot as u32)];
        writeln!(writer, "{id}\t{}\t{}\t{}\t{VERSION}\t{SYNC_STATUS}", cluster.id, last_seen, cluster.desired.hash_hex)
            .map_err(|e| e.to_string())?;
    }
    writer.finish().map_err(db)?;
    Ok(())
}

/// One thread's connection and prepared statements.
struct Worker {
    client: Client,
    upsert: Statement,
    count: Statement,
    seen: HashSet<u32>,
}

impl Worker {
    fn heartbeats(&mut self, workload: &Workload, stream: &[Event]) -> Result<(), postgres::Error> {
        let mut ids: Vec<&str> = Vec::with_capacity(QUERY_EVERY);
        let mut clusters: Vec<&str> = Vec::with_capacity(QUERY_EVERY);
        let mut stamps: Vec<i64> = Vec::with_capacity(QUERY_EVERY);
        let mut hashes: Vec<&str> = Vec::with_capacity(QUERY_EVERY);
        let versions: Vec<&str> = vec![VERSION; QUERY_EVERY];
        let statuses: Vec<&str> = vec![SYNC_STATUS; QUERY_EVERY];
        for (n, chunk) in stream.chunks(QUERY_EVERY).enumerate() {
            ids.clear();
            clusters.clear();
            stamps.clear();
            hashes.clear();
            self.seen.clear();
            // Newest first, so the first time a node is seen is its last heartbeat.
            for (i, event) in chunk.iter().enumerate().rev() {
                if !self.seen.insert(event.slot) {
                    continue;
                }
                let cluster = &workload.clusters()[workload.cluster_of(event.slot)];
                ids.push(&workload.node_ids()[event.slot as usize]);
                clusters.push(&cluster.id);
                stamps.push(Workload::at_ms(n * QUERY_EVERY + i) as i64);
                hashes.push(&cluster.snapshot(event.applied).hash_hex);
            }
            let rows = ids.len();
            self.client
                .execute(&self.upsert, &[&ids, &clusters, &stamps, &hashes, &&versions[..rows], &&statuses[..rows]])?;
            let Some(last) = chunk.last() else { continue };
            let cluster = &workload.clusters()[workload.cluster_of(last.slot)];
            let in_sync: i64 = self.client.query_one(&self.count, &[&cluster.id, &cluster.desired.hash_hex])?.get(0);
            black_box(cohesion(in_sync as u64, workload.members(workload.cluster_of(last.slot)).len() as u64));
        }
        Ok(())
    }
}
