//! Target `heartbeat_batch`: binary heartbeat records (docs/heartbeat-record.md)
//! through [`Engine::ingest_batch`], on the demo fleet with its clock fixed.
//!
//! Every input is checked against the decoder and against a model of the
//! rules that decide each record's outcome:
//!
//! - the batch is refused exactly when `HeartbeatRecord::decode_all` refuses
//!   it, with the same `INVALID_INPUT` message; then no outcome is written
//!   and no cluster, node or audit record changed;
//! - otherwise every record re-encodes, field by field through the public
//!   builder, to its own bytes (the detail's zero padding aside: the decoder
//!   does not read it), and gets one outcome: unknown node, another cluster
//!   (for a batch bound to one), from the future (more than
//!   `MAX_FUTURE_SKEW_MS` ahead), stale (counting, at `min(stamp, now)`,
//!   before the node's last heartbeat, the batch's earlier records
//!   included), or accepted; a directive comes with exactly the accepted
//!   outcomes that ask for one and names the cluster's desired snapshot;
//! - the summary counts the outcomes, nodes without an accepted record are
//!   unchanged, each reported node's last heartbeat is the model's, at most
//!   one audit record is appended per directive, and the counters equal a
//!   recount.
//!
//! Handles are per engine: the upper half of a handle is a tag the engine
//! draws when it is made. Corpus records therefore name the demo nodes with
//! a zero tag, and the harness gives those records its engine's tag before
//! anything else ([`with_engine_tag`]); a record with any other tag names
//! no node.

use std::collections::HashMap;

use fleetgov::record::{HeartbeatRecord, OUTCOME_SIZE, Outcome, OutcomeRecord, RECORD_SIZE};
use fleetgov::{
    BatchSummary, ContentHash, Engine, ErrorKind, MAX_FUTURE_SKEW_MS, Metrics, NodeHandle, ProcessStatus,
    RuntimeVersion, SyncErrorCode, demo,
};
use zerocopy::IntoBytes;

use crate::fleet_state::{FleetState, assert_counters_exact};
use crate::{Harness, Seed};

/// The engine's fixed clock: the demo fleet is made as of this time.
pub const NOW_MS: u64 = 1_700_000_000_000;

/// Inputs run on one engine before a fresh one is made, so the accepted
/// paths stay reachable as heartbeats move the nodes' clocks on.
const RUNS_PER_ENGINE: u32 = 256;

/// Records at which a batch is split across threads (twice the engine's
/// parallel chunk): [`check_parallel`] tiles a batch to at least this many.
pub const PARALLEL_RECORDS: usize = 2 * 4096;

/// Byte strings worth inserting into records: boundary values of the fields.
pub const DICTIONARY: &[&[u8]] = &[
    &[1, 0, 0, 0],
    &[1, 0, 0, 1],
    &[1, 2, 255, 1],
    &[0, 0, 0x80, 0x7f],
    &[0, 0, 0xc0, 0x7f],
    &[0, 0, 0x80, 0xff],
    &[0, 0, 0xc8, 0x42],
    &[0x01, 0x00, 0xc8, 0x42],
    &[0xff, 0xff, 0x7f, 0x7f],
    &[0, 0, 0, 0x80],
    &[47],
    &[48],
    &[0xc3, 0xa9],
    &[0xe2, 0x82],
    &[0xff],
];

/// The harness: a demo engine, refreshed every [`RUNS_PER_ENGINE`] inputs.
pub struct BatchHarness {
    engine: Engine,
    runs: u32,
}

impl BatchHarness {
    /// A harness over a fresh demo fleet.
    pub fn new() -> Self {
        BatchHarness { engine: fleet(), runs: 0 }
    }
}

impl Default for BatchHarness {
    fn default() -> Self {
        BatchHarness::new()
    }
}

impl Harness for BatchHarness {
    fn run(&mut self, data: &[u8]) {
        self.runs += 1;
        if self.runs.is_multiple_of(RUNS_PER_ENGINE) {
            self.engine = fleet();
        }
        check_batch(&self.engine, None, &with_engine_tag(&self.engine, data));
    }
}

/// The tag in the upper half of `engine`'s handles.
fn tag(engine: &Engine) -> u64 {
    engine.node_handle("gw-prod-us-1").expect("a demo node").to_raw() >> 32
}

/// Rewrites the handle tags of the records in `data`: from `from` to `to`.
fn retag(data: &[u8], from: u64, to: u64) -> Vec<u8> {
    let mut data = data.to_vec();
    for record in data.chunks_exact_mut(RECORD_SIZE) {
        let handle = &mut record[8..16];
        let raw = u64::from_le_bytes(handle.try_into().expect("8 bytes"));
        if raw >> 32 == from {
            handle.copy_from_slice(&(raw & u64::from(u32::MAX) | to << 32).to_le_bytes());
        }
    }
    data
}

/// `data` with the zero-tagged handles of its whole records given `engine`'s tag.
pub(crate) fn with_engine_tag(engine: &Engine, data: &[u8]) -> Vec<u8> {
    retag(data, 0, tag(engine))
}

/// The demo fleet at [`NOW_MS`], its clock fixed there.
pub(crate) fn fleet() -> Engine {
    demo::engine(NOW_MS).expect("the demo fleet builds")
}

/// Ingests `data` into `engine` (bound to cluster `bound`, if given, as a
/// NATS subject binds it) and checks every property of the module docs.
/// Returns the outcomes, or `None` for a refused batch.
pub(crate) fn check_batch(engine: &Engine, bound: Option<&str>, data: &[u8]) -> Option<Vec<Outcome>> {
    let now = engine.clock().now_ms();
    let before = FleetState::of(engine, now);
    let decoded = HeartbeatRecord::decode_all(data).map(<[HeartbeatRecord]>::to_vec);
    let mut outcomes = vec![0u8; data.len() / RECORD_SIZE * OUTCOME_SIZE];
    let applied = match bound {
        Some(cluster) => engine.ingest_cluster_batch(cluster, data, &mut outcomes),
        None => engine.ingest_batch(data, &mut outcomes),
    };
    match (decoded, applied) {
        (Err(refused), Err(e)) => {
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "a malformed batch is refused as INVALID_INPUT: {e}");
            assert_eq!(e.message(), refused.message(), "ingest and the decoder name the same fault");
            assert!(outcomes.iter().all(|&b| b == 0), "a refused batch wrote outcomes");
            before.assert_unchanged(engine, now, "a refused batch");
            None
        }
        (Ok(records), Ok(summary)) => {
            for (i, (record, bytes)) in records.iter().zip(data.chunks_exact(RECORD_SIZE)).enumerate() {
                assert_reencodes(record, bytes, i);
            }
            let outcomes = OutcomeRecord::from_bytes_mut(&mut outcomes).expect("whole outcome records");
            check_outcomes(engine, &before, bound, &records, outcomes, summary);
            assert_counters_exact(engine, now);
            Some(outcomes.iter().filter_map(OutcomeRecord::outcome).collect())
        }
        (Err(refused), Ok(summary)) => {
            panic!("a batch was applied ({summary:?}) although its records do not decode: {refused}")
        }
        (Ok(_), Err(e)) => panic!("a well-formed batch was refused: {e}"),
    }
}

/// Checks that `record`, rebuilt from its decoded fields, is `bytes`.
fn assert_reencodes(record: &HeartbeatRecord, bytes: &[u8], i: usize) {
    let version = RuntimeVersion::from_bits(record.runtime_version_bits()).expect("a valid record has a version");
    let mut again = HeartbeatRecord::new(record.handle(), record.at_ms(), version, record.status(), record.metrics());
    if let Some((revision, hash)) = record.applied() {
        again = again.with_applied(revision, hash);
    }
    if let Some((code, detail)) = record.sync_error() {
        again = again.with_sync_error(code, detail);
    }
    // The detail's length byte is at 80, the detail from 81; its padding is not read.
    let end = 81 + usize::from(bytes[80]);
    assert_eq!(&again.as_bytes()[..end], &bytes[..end], "record {i} does not re-encode to its bytes");
}

/// Checks each outcome against the rules (see the module docs) and what the batch changed.
fn check_outcomes(
    engine: &Engine,
    before: &FleetState,
    bound: Option<&str>,
    records: &[HeartbeatRecord],
    outcomes: &[OutcomeRecord],
    summary: BatchSummary,
) {
    let now = engine.clock().now_ms();
    // Handle -> the node's index in `before.nodes`.
    let nodes: HashMap<NodeHandle, usize> = before
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (engine.node_handle(&n.id).expect("a listed node has a handle"), i))
        .collect();
    let mut last: HashMap<usize, Option<u64>> = HashMap::new();
    let mut counted = BatchSummary::default();
    for (i, (record, out)) in records.iter().zip(outcomes).enumerate() {
        let outcome = out.outcome().unwrap_or_else(|| panic!("record {i}: its outcome byte names no outcome"));
        let expected = match nodes.get(&record.handle()) {
            None => Some(Outcome::UnknownNode),
            Some(&n) if bound.is_some_and(|c| c != before.nodes[n].cluster_id) => Some(Outcome::WrongCluster),
            Some(_) if record.at_ms() > now.saturating_add(MAX_FUTURE_SKEW_MS) => Some(Outcome::Future),
            Some(&n) => {
                let last = last.entry(n).or_insert(before.nodes[n].last_heartbeat_ms);
                let at = record.at_ms().min(now);
                if last.is_some_and(|l| at < l) {
                    Some(Outcome::Stale)
                } else {
                    *last = Some(at);
                    None
                }
            }
        };
        match expected {
            Some(expected) => assert_eq!(outcome, expected, "record {i}: outcome"),
            None => assert!(
                matches!(outcome, Outcome::Accepted | Outcome::Reconcile | Outcome::ForceSync),
                "record {i}: an acceptable record got {outcome:?}"
            ),
        }
        let asks = matches!(outcome, Outcome::Reconcile | Outcome::ForceSync);
        assert_eq!(out.directive().is_some(), asks, "record {i}: a directive comes exactly with {outcome:?}");
        if let Some((revision, hash)) = out.directive() {
            let node = &before.nodes[nodes[&record.handle()]];
            let cluster = before.clusters.iter().find(|c| c.id == node.cluster_id).expect("the node's cluster");
            assert_eq!(
                (revision, Some(hash)),
                (cluster.desired_revision, cluster.desired_hash),
                "record {i}: a directive names the desired snapshot"
            );
        }
        counted.accepted += u64::from(expected.is_none());
        counted.refused += u64::from(expected.is_some());
        counted.directives += u64::from(asks);
    }
    assert_eq!(summary, counted, "the summary counts the outcomes");
    let after = FleetState::of(engine, now);
    assert!(after.audit_len - before.audit_len <= summary.directives, "audit records without a directive");
    for (n, (old, new)) in before.nodes.iter().zip(&after.nodes).enumerate() {
        match last.get(&n) {
            None => assert_eq!(old, new, "node {} changed without an accepted record", old.id),
            Some(&at) => assert_eq!(new.last_heartbeat_ms, at, "node {}: last heartbeat", old.id),
        }
    }
}

/// Checks `data` on a fresh demo fleet, bound to cluster `bound` if given,
/// and returns its outcomes (`None`: the batch was refused).
pub fn outcomes(bound: Option<&str>, data: &[u8]) -> Option<Vec<Outcome>> {
    let engine = fleet();
    check_batch(&engine, bound, &with_engine_tag(&engine, data))
}

/// Tiles a well-formed, non-empty batch to at least [`PARALLEL_RECORDS`]
/// records, so the engine applies it on several threads, and checks it on a
/// fresh fleet against the sequential model: a batch is applied as if record
/// by record, whatever its size. Other inputs are left alone.
pub fn check_parallel(data: &[u8]) {
    if data.is_empty() || HeartbeatRecord::decode_all(data).is_err() {
        return;
    }
    let records = data.len() / RECORD_SIZE;
    outcomes(None, &data.repeat(PARALLEL_RECORDS.div_ceil(records)));
}

/// One record per demo node, each reporting what `pick` says of its cluster.
struct Fleet {
    engine: Engine,
    version: RuntimeVersion,
}

impl Fleet {
    fn new() -> Self {
        Fleet { engine: fleet(), version: "3.6.1".parse().expect("a version") }
    }

    fn handle(&self, node: &str) -> NodeHandle {
        self.engine.node_handle(node).expect("a demo node")
    }

    /// A ready node at `at_ms` that applied nothing.
    fn record(&self, node: &str, at_ms: u64) -> HeartbeatRecord {
        let metrics = Metrics { cpu: 12.5, memory: 40.0, tps: 1200.0, heap: 55.0, hot_swap_errors: 0 };
        HeartbeatRecord::new(self.handle(node), at_ms, self.version, ProcessStatus::Ready, metrics)
    }

    /// `node` at `at_ms` running revision `revision` of `cluster` with its true hash.
    fn applied(&self, node: &str, cluster: &str, revision: u32, at_ms: u64) -> HeartbeatRecord {
        let snapshot = self.engine.snapshot(&fleetgov::snapshot_id(cluster, revision)).expect("a demo snapshot");
        self.record(node, at_ms).with_applied(revision, snapshot.hash)
    }

    /// Every demo node in sync at `at_ms`.
    fn all_in_sync(&self, at_ms: u64) -> Vec<HeartbeatRecord> {
        self.engine
            .clusters(NOW_MS)
            .iter()
            .flat_map(|c| {
                let nodes = self.engine.cluster_nodes(&c.id, NOW_MS, 0, usize::MAX).expect("demo nodes");
                nodes.into_iter().map(|n| self.applied(&n.id, &c.id, c.desired_revision, at_ms)).collect::<Vec<_>>()
            })
            .collect()
    }
}

/// `records` as a corpus input: handles of the seed engine lose their tag.
fn bytes(fleet: &Fleet, records: &[HeartbeatRecord]) -> Vec<u8> {
    retag(records.as_bytes(), tag(&fleet.engine), 0)
}

/// Three good records with the middle one's bytes changed by `corrupt`.
fn corrupted(fleet: &Fleet, corrupt: impl Fn(&mut [u8])) -> Vec<u8> {
    let mut data = bytes(fleet, &fleet.all_in_sync(NOW_MS)[..3]);
    corrupt(&mut data[RECORD_SIZE..2 * RECORD_SIZE]);
    data
}

fn set_f32(record: &mut [u8], at: usize, value: f32) {
    record[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// The seeds: well-formed batches that reach every outcome, and batches
/// with one malformed field or length each.
pub fn seeds() -> Vec<Seed> {
    let f = Fleet::new();
    let now = NOW_MS;
    let mut seeds = vec![
        Seed::new("empty", Vec::new()),
        Seed::new("all-in-sync", bytes(&f, &f.all_in_sync(now))),
        Seed::new("one-in-sync", bytes(&f, &[f.applied("gw-prod-us-1", "eks-prod-us", 2, now)])),
        Seed::new("old-revision-auto-reconcile", bytes(&f, &[f.applied("gw-stage-eu-1", "gke-stage-eu", 1, now)])),
        Seed::new("old-revision-no-auto-reconcile", bytes(&f, &[f.applied("gw-prod-us-2", "eks-prod-us", 1, now)])),
        Seed::new(
            "hash-mismatch",
            bytes(&f, &[f.record("gw-prod-us-3", now).with_applied(2, ContentHash([0x5a; 32]))]),
        ),
        Seed::new(
            "unpublished-revision",
            bytes(&f, &[f.record("gw-dev-west-1", now).with_applied(999, ContentHash([1; 32]))]),
        ),
        Seed::new(
            "sync-error",
            bytes(
                &f,
                &[f.applied("gw-stage-eu-4", "gke-stage-eu", 1, now)
                    .with_sync_error(SyncErrorCode::ReloadFailure, "Incompatible Filter Signature")],
            ),
        ),
        Seed::new(
            "sync-error-multibyte-detail",
            bytes(&f, &[f.record("gw-dev-west-2", now).with_sync_error(SyncErrorCode::Other, &"é".repeat(30))]),
        ),
        Seed::new(
            "starting-nothing-applied",
            bytes(
                &f,
                &[HeartbeatRecord::new(
                    f.handle("gw-dev-west-3"),
                    now,
                    f.version,
                    ProcessStatus::Starting,
                    Metrics::default(),
                )],
            ),
        ),
        Seed::new(
            "process-error",
            bytes(
                &f,
                &[HeartbeatRecord::new(
                    f.handle("gw-dev-west-3"),
                    now,
                    f.version,
                    ProcessStatus::Error,
                    Metrics::default(),
                )
                .with_sync_error(SyncErrorCode::FetchTimeout, "")],
            ),
        ),
        Seed::new(
            "old-runtime",
            bytes(
                &f,
                &[HeartbeatRecord::new(
                    f.handle("gw-prod-us-4"),
                    now,
                    "3.3.9".parse().expect("a version"),
                    ProcessStatus::Ready,
                    Metrics::default(),
                )],
            ),
        ),
        Seed::new(
            "extreme-metrics",
            bytes(
                &f,
                &[HeartbeatRecord::new(
                    f.handle("gw-prod-us-4"),
                    now,
                    f.version,
                    ProcessStatus::Ready,
                    Metrics { cpu: 100.0, memory: 0.0, tps: f32::MAX, heap: 100.0, hot_swap_errors: u32::MAX },
                )],
            ),
        ),
        Seed::new("stale", bytes(&f, &[f.applied("gw-prod-us-1", "eks-prod-us", 2, now - 7_200_000)])),
        Seed::new(
            "future-edge",
            bytes(
                &f,
                &[
                    f.applied("gw-prod-us-1", "eks-prod-us", 2, now + MAX_FUTURE_SKEW_MS),
                    f.applied("gw-prod-us-2", "eks-prod-us", 2, now + MAX_FUTURE_SKEW_MS + 1),
                    f.applied("gw-prod-us-3", "eks-prod-us", 2, u64::MAX),
                ],
            ),
        ),
        Seed::new(
            "unknown-handles",
            bytes(
                &f,
                &[
                    f.record("gw-prod-us-1", now),
                    HeartbeatRecord::new(
                        NodeHandle::from_raw(u64::MAX),
                        now,
                        f.version,
                        ProcessStatus::Ready,
                        Metrics::default(),
                    ),
                    HeartbeatRecord::new(
                        NodeHandle::from_raw(11),
                        now,
                        f.version,
                        ProcessStatus::Ready,
                        Metrics::default(),
                    ),
                    // A live slot under another engine's tag.
                    HeartbeatRecord::new(
                        NodeHandle::from_raw(0x0bad_0bad_0000_0001),
                        now,
                        f.version,
                        ProcessStatus::Ready,
                        Metrics::default(),
                    ),
                ],
            ),
        ),
        Seed::new(
            "one-node-in-order",
            bytes(
                &f,
                &[
                    f.applied("gw-stage-eu-2", "gke-stage-eu", 1, now - 2),
                    f.applied("gw-stage-eu-2", "gke-stage-eu", 2, now - 1),
                    f.applied("gw-stage-eu-2", "gke-stage-eu", 2, now),
                ],
            ),
        ),
        Seed::new(
            "one-node-out-of-order",
            bytes(
                &f,
                &[
                    f.applied("gw-stage-eu-3", "gke-stage-eu", 2, now),
                    f.applied("gw-stage-eu-3", "gke-stage-eu", 1, now - 1),
                    f.applied("gw-stage-eu-3", "gke-stage-eu", 1, now),
                ],
            ),
        ),
    ];
    type Corrupt = fn(&mut [u8]);
    let faults: [(&str, Corrupt); 16] = [
        ("bad-format-version", |r| r[0] = 2),
        ("bad-status", |r| r[1] = 3),
        ("bad-error-code", |r| r[2] = 200),
        ("bad-flags", |r| r[3] = 0x81),
        ("revision-without-flag", |r| {
            r[3] = 0;
            r[24..56].fill(0);
        }),
        ("hash-without-flag", |r| {
            r[3] = 0;
            r[4..8].fill(0);
        }),
        ("zero-runtime-version", |r| r[56..60].fill(0)),
        ("nan-cpu", |r| set_f32(r, 60, f32::NAN)),
        ("memory-over-100", |r| set_f32(r, 64, 100.5)),
        ("negative-tps", |r| set_f32(r, 68, -1.0)),
        ("infinite-heap", |r| set_f32(r, 72, f32::INFINITY)),
        ("detail-too-long", |r| {
            r[2] = 1;
            r[80] = 48;
        }),
        ("detail-without-code", |r| {
            r[80] = 1;
            r[81] = b'x';
        }),
        ("detail-not-utf8", |r| {
            r[2] = 1;
            r[80] = 2;
            r[81..83].copy_from_slice(&[0xc3, 0x28]);
        }),
        ("detail-cut-inside-a-character", |r| {
            r[2] = 1;
            r[80] = 1;
            r[81..83].copy_from_slice(&[0xc3, 0xa9]);
        }),
        ("detail-padding-not-zero", |r| {
            r[2] = 1;
            r[80] = 1;
            r[81] = b'x';
            r[127] = 0xff;
        }),
    ];
    seeds.extend(faults.into_iter().map(|(name, corrupt)| Seed::new(name, corrupted(&f, corrupt))));
    let three = bytes(&f, &f.all_in_sync(now)[..3]);
    seeds.extend([
        Seed::new("one-byte", vec![1]),
        Seed::new("one-byte-short", three[..RECORD_SIZE - 1].to_vec()),
        Seed::new("one-byte-over", three[..RECORD_SIZE + 1].to_vec()),
        Seed::new("all-zero-record", vec![0; RECORD_SIZE]),
    ]);
    seeds
}
