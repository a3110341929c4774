//! The whole fleet's node state as columns, for bulk export (Arrow, data
//! frames). Columns use Arrow's layouts: ids as UTF-8 values with `i64`
//! offsets (Arrow's large strings: up to 2^32 - 1 ids of 128 bytes exceed
//! `i32`), hashes as fixed-size 32-byte values, enums as `u8` keys into the
//! `*_LABELS` tables, so a binding can wrap each column without touching rows.

use crate::drift::DriftStatus;
use crate::engine::Engine;
use crate::execution::sync_error::SyncErrorCode;
use crate::health::Health;

/// Labels of [`NodeTable::health`] keys.
pub const HEALTH_LABELS: [&str; 4] = ["connected", "stale", "dormant", "never"];
/// Labels of [`NodeTable::drift`] keys.
pub const DRIFT_LABELS: [&str; 4] = ["aligned", "needs_reconcile", "upgrade_required", "awaiting_sync"];
/// Labels of [`NodeTable::process_status`] keys (3: no heartbeat yet).
pub const PROCESS_STATUS_LABELS: [&str; 4] = ["ready", "starting", "error", "unknown"];

/// Every enrolled node's state at one query time, column by column, in
/// enrolment order.
///
/// ```
/// let e = fleetgov::demo::engine(1_700_000_000_000).unwrap();
/// let t = e.node_table(1_700_000_000_000);
/// assert_eq!(t.len(), 11);
/// assert_eq!(t.id(0), "gw-prod-us-1");
/// assert_eq!(fleetgov::table::HEALTH_LABELS[t.health[0] as usize], "connected");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeTable {
    /// `ids[id_offsets[i]..id_offsets[i + 1]]` is row `i`'s node id.
    pub id_offsets: Vec<i64>,
    /// Node ids, concatenated (UTF-8).
    pub ids: Vec<u8>,
    /// Index into [`clusters`](Self::clusters).
    pub cluster: Vec<u32>,
    /// Cluster ids, by index.
    pub clusters: Vec<String>,
    /// Keys into [`HEALTH_LABELS`].
    pub health: Vec<u8>,
    /// Keys into [`DRIFT_LABELS`].
    pub drift: Vec<u8>,
    /// 1 in sync, 0 divergent.
    pub in_sync: Vec<u8>,
    /// The applied revision (0: none).
    pub applied_revision: Vec<u32>,
    /// Node-computed hashes, 32 bytes per row (zero: none).
    pub applied_hash: Vec<u8>,
    /// Last heartbeat, unix ms (0: never).
    pub last_heartbeat_ms: Vec<u64>,
    /// Packed runtime version (0: none), see [`RuntimeVersion`](crate::RuntimeVersion).
    pub runtime_version: Vec<u32>,
    /// Keys into [`PROCESS_STATUS_LABELS`].
    pub process_status: Vec<u8>,
    /// Sync error code (0: none), see [`SyncErrorCode`].
    pub sync_error: Vec<u8>,
    /// CPU %.
    pub cpu: Vec<f32>,
    /// Memory %.
    pub memory: Vec<f32>,
    /// Transactions per second.
    pub tps: Vec<f32>,
    /// JVM heap %.
    pub heap: Vec<f32>,
    /// Hot-swap errors.
    pub hot_swap_errors: Vec<u32>,
}

impl NodeTable {
    /// Rows.
    pub fn len(&self) -> usize {
        self.cluster.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.cluster.is_empty()
    }

    /// Row `i`'s node id.
    pub fn id(&self, i: usize) -> &str {
        let (a, b) = (self.id_offsets[i] as usize, self.id_offsets[i + 1] as usize);
        std::str::from_utf8(&self.ids[a..b]).unwrap_or_default()
    }
}

fn health_key(h: Health) -> u8 {
    match h {
        Health::Connected => 0,
        Health::Stale => 1,
        Health::Dormant => 2,
        Health::Never => 3,
    }
}

fn drift_key(d: DriftStatus) -> u8 {
    match d {
        DriftStatus::Aligned => 0,
        DriftStatus::NeedsReconcile => 1,
        DriftStatus::UpgradeRequired => 2,
        DriftStatus::AwaitingSync => 3,
    }
}

impl Engine {
    /// Every enrolled node's state at `now_ms`, as columns (one pass over the
    /// slots; no allocation per row).
    pub fn node_table(&self, now_ms: u64) -> NodeTable {
        let clusters: Vec<_> = self.all_clusters().collect();
        let context: Vec<_> = clusters.iter().map(|c| (c.node_desired(), self.min_version(c))).collect();
        let rows = self.execution.nodes.len() as usize;
        let mut t = NodeTable {
            clusters: clusters.iter().map(|c| c.id.to_string()).collect(),
            id_offsets: Vec::with_capacity(rows + 1),
            ..NodeTable::default()
        };
        t.id_offsets.push(0);
        for slot in 0..self.execution.nodes.len() {
            let Some(cell) = self.execution.nodes.slot(slot) else { continue };
            let cluster = cell.cluster();
            let Some((desired, min_version)) = context.get(cluster as usize) else { continue };
            let f = self.node_facts(slot, desired, *min_version, now_ms);
            let state = f.read.state;
            t.ids.extend_from_slice(self.execution.nodes.id(slot).as_bytes());
            // At most 2^32 ids of at most 128 bytes: far below i64::MAX.
            t.id_offsets.push(t.ids.len() as i64);
            t.cluster.push(cluster);
            t.health.push(health_key(f.health));
            t.drift.push(drift_key(f.drift));
            t.in_sync.push(u8::from(f.in_sync));
            t.applied_revision.push(state.revision());
            t.applied_hash
                .extend_from_slice(&self.applied_hash(&f.read, clusters[cluster as usize]).unwrap_or_default().0);
            t.last_heartbeat_ms.push(if state.has_heartbeat() { f.read.last_hb_ms } else { 0 });
            t.runtime_version.push(f.version.map_or(0, |v| v.to_bits()));
            t.process_status.push(state.status().map_or(3, |s| s as u8));
            t.sync_error.push(state.error_code().map_or(0, |c: SyncErrorCode| c as u8));
            t.cpu.push(f.read.metrics.cpu);
            t.memory.push(f.read.metrics.memory);
            t.tps.push(f.read.metrics.tps);
            t.heap.push(f.read.metrics.heap);
            t.hot_swap_errors.push(f.read.metrics.hot_swap_errors);
        }
        t
    }
}
