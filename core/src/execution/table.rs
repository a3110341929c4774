//! The whole fleet's node state as columns, for bulk export (Arrow, data
//! frames). Columns use Arrow's layouts: ids as UTF-8 values with `i64`
//! offsets (Arrow's large strings: up to 2^32 - 1 ids of 128 bytes exceed
//! `i32`), hashes as fixed-size 32-byte values, enums as `u8` keys into the
//! `*_LABELS` tables, so a binding can wrap each column without touching rows.

use rayon::prelude::*;

use crate::RuntimeVersion;
use crate::cluster_state::{ClusterState, NodeDesired};
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

/// Slots one parallel task exports: big enough that a task's bookkeeping
/// is noise, small enough that two threads share a fleet evenly.
const RANGE_SLOTS: usize = 16_384;

/// The rows one range of slots contributes: the slots of its enrolled
/// nodes, their clusters, and their ids as Arrow string data (offsets
/// relative to the range's own bytes).
#[derive(Default)]
struct RangeIds {
    slots: Vec<u32>,
    clusters: Vec<u32>,
    ends: Vec<i64>,
    ids: Vec<u8>,
}

/// One range's part of every column, borrowed from the table.
struct Rows<'a> {
    /// The ends of the range's ids (the table's offsets past the first).
    id_ends: &'a mut [i64],
    ids: &'a mut [u8],
    cluster: &'a mut [u32],
    health: &'a mut [u8],
    drift: &'a mut [u8],
    in_sync: &'a mut [u8],
    applied_revision: &'a mut [u32],
    applied_hash: &'a mut [u8],
    last_heartbeat_ms: &'a mut [u64],
    runtime_version: &'a mut [u32],
    process_status: &'a mut [u8],
    sync_error: &'a mut [u8],
    cpu: &'a mut [f32],
    memory: &'a mut [f32],
    tps: &'a mut [f32],
    heap: &'a mut [f32],
    hot_swap_errors: &'a mut [u32],
}

impl<'a> Rows<'a> {
    /// Every row of `t` (whose offsets start with the first row's start).
    fn of(t: &'a mut NodeTable) -> Self {
        Rows {
            id_ends: &mut t.id_offsets[1..],
            ids: &mut t.ids,
            cluster: &mut t.cluster,
            health: &mut t.health,
            drift: &mut t.drift,
            in_sync: &mut t.in_sync,
            applied_revision: &mut t.applied_revision,
            applied_hash: &mut t.applied_hash,
            last_heartbeat_ms: &mut t.last_heartbeat_ms,
            runtime_version: &mut t.runtime_version,
            process_status: &mut t.process_status,
            sync_error: &mut t.sync_error,
            cpu: &mut t.cpu,
            memory: &mut t.memory,
            tps: &mut t.tps,
            heap: &mut t.heap,
            hot_swap_errors: &mut t.hot_swap_errors,
        }
    }

    /// The first `n` rows, whose ids take `id_bytes`, and the rest.
    fn split_at(self, n: usize, id_bytes: usize) -> (Self, Self) {
        /// Splits each named column at its position.
        macro_rules! split {
            ($($field:ident at $at:expr),* $(,)?) => {{
                $(let $field = self.$field.split_at_mut($at);)*
                (Rows { $($field: $field.0),* }, Rows { $($field: $field.1),* })
            }};
        }
        split!(
            id_ends at n,
            ids at id_bytes,
            cluster at n,
            health at n,
            drift at n,
            in_sync at n,
            applied_revision at n,
            applied_hash at 32 * n,
            last_heartbeat_ms at n,
            runtime_version at n,
            process_status at n,
            sync_error at n,
            cpu at n,
            memory at n,
            tps at n,
            heap at n,
            hot_swap_errors at n,
        )
    }
}

/// A cluster's export context: its desired snapshots and minimum version.
type ClusterContext<'a> = (NodeDesired<'a>, Option<RuntimeVersion>);

impl Engine {
    /// Every enrolled node's state at `now_ms`, as columns, in enrolment
    /// order. Ranges of slots are read over the thread pool, each filling
    /// its own rows of columns allocated once (no allocation per row).
    pub fn node_table(&self, now_ms: u64) -> NodeTable {
        self.node_table_by(now_ms, RANGE_SLOTS)
    }

    /// [`node_table`](Self::node_table) over ranges of `range_slots` slots.
    fn node_table_by(&self, now_ms: u64, range_slots: usize) -> NodeTable {
        let clusters: Vec<_> = self.all_clusters().collect();
        let context: Vec<ClusterContext<'_>> =
            clusters.iter().map(|c| (c.node_desired(), self.min_version(c))).collect();
        let slots = self.execution.nodes.len() as usize;
        // First the rows: which slots hold a node of a known cluster, and
        // their ids. A node enrolled later is not exported.
        let ranges: Vec<RangeIds> = (0..slots.div_ceil(range_slots))
            .into_par_iter()
            .map(|r| self.range_ids(r * range_slots..slots.min((r + 1).saturating_mul(range_slots)), context.len()))
            .collect();
        let rows = ranges.iter().map(|r| r.slots.len()).sum();
        let mut t = NodeTable {
            clusters: clusters.iter().map(|c| c.id.to_string()).collect(),
            id_offsets: vec![0; rows + 1],
            ids: vec![0; ranges.iter().map(|r| r.ids.len()).sum()],
            cluster: vec![0; rows],
            health: vec![0; rows],
            drift: vec![0; rows],
            in_sync: vec![0; rows],
            applied_revision: vec![0; rows],
            applied_hash: vec![0; 32 * rows],
            last_heartbeat_ms: vec![0; rows],
            runtime_version: vec![0; rows],
            process_status: vec![0; rows],
            sync_error: vec![0; rows],
            cpu: vec![0.0; rows],
            memory: vec![0.0; rows],
            tps: vec![0.0; rows],
            heap: vec![0.0; rows],
            hot_swap_errors: vec![0; rows],
        };
        // Then each range's part of every column, split off in row order.
        let mut parts = Vec::with_capacity(ranges.len());
        let mut rest = Rows::of(&mut t);
        let mut base = 0i64;
        for range in &ranges {
            let (here, later) = rest.split_at(range.slots.len(), range.ids.len());
            parts.push((range, here, base));
            base += range.ids.len() as i64;
            rest = later;
        }
        parts.into_par_iter().for_each(|(range, rows, base)| self.fill(range, rows, base, &clusters, &context, now_ms));
        t
    }

    /// The enrolled slots of `slots` whose cluster is one of the first
    /// `clusters`, and their ids.
    fn range_ids(&self, slots: std::ops::Range<usize>, clusters: usize) -> RangeIds {
        let nodes = &self.execution.nodes;
        let mut r = RangeIds::default();
        for slot in slots {
            // Slots are u32: `slots` is below the registry's length.
            let slot = slot as u32;
            let Some(cell) = nodes.slot(slot) else { continue };
            let cluster = cell.cluster();
            if cluster as usize >= clusters {
                continue;
            }
            r.ids.extend_from_slice(nodes.id(slot).as_bytes());
            // At most 2^32 ids of at most 128 bytes: far below i64::MAX.
            r.ends.push(r.ids.len() as i64);
            r.slots.push(slot);
            r.clusters.push(cluster);
        }
        r
    }

    /// Writes the ids and state of `range`'s nodes into `rows`, whose ids
    /// start at byte `base` of the table's.
    fn fill(
        &self,
        range: &RangeIds,
        rows: Rows<'_>,
        base: i64,
        clusters: &[&ClusterState],
        context: &[ClusterContext<'_>],
        now_ms: u64,
    ) {
        rows.ids.copy_from_slice(&range.ids);
        for (end, local) in rows.id_ends.iter_mut().zip(&range.ends) {
            *end = base + local;
        }
        let hashes = rows.applied_hash.chunks_exact_mut(32);
        for (i, ((&slot, &cluster), hash)) in range.slots.iter().zip(&range.clusters).zip(hashes).enumerate() {
            let (desired, min_version) = &context[cluster as usize];
            let f = self.node_facts(slot, desired, *min_version, now_ms);
            let state = f.read.state;
            rows.cluster[i] = cluster;
            rows.health[i] = health_key(f.health);
            rows.drift[i] = drift_key(f.drift);
            rows.in_sync[i] = u8::from(f.in_sync);
            rows.applied_revision[i] = state.revision();
            hash.copy_from_slice(&self.applied_hash(&f.read, clusters[cluster as usize]).unwrap_or_default().0);
            rows.last_heartbeat_ms[i] = if state.has_heartbeat() { f.read.last_hb_ms } else { 0 };
            rows.runtime_version[i] = f.version.map_or(0, |v| v.to_bits());
            rows.process_status[i] = state.status().map_or(3, |s| s as u8);
            rows.sync_error[i] = state.error_code().map_or(0, |c: SyncErrorCode| c as u8);
            rows.cpu[i] = f.read.metrics.cpu;
            rows.memory[i] = f.read.metrics.memory;
            rows.tps[i] = f.read.metrics.tps;
            rows.heap[i] = f.read.metrics.heap;
            rows.hot_swap_errors[i] = f.read.metrics.hot_swap_errors;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::governance::overrides::By;
    use crate::role::Role;

    const T: u64 = 1_700_000_000_000;

    /// Ranges of any size give the table one range gives, row by row, over
    /// a fleet with a removed node in it (a slot that is no row) and one
    /// that never sent a heartbeat.
    #[test]
    fn ranges_of_any_size_export_the_same_rows() {
        let e = crate::demo::engine(T).unwrap();
        e.unenroll("gw-prod-us-1", &By::new("bob", Role::Operator, T)).unwrap();
        e.enroll("gw-quiet", "eks-prod-us", T).unwrap();
        let whole = e.node_table_by(T + 60_000, usize::MAX);
        assert_eq!(whole.len(), 11);
        assert!((0..whole.len()).all(|i| whole.id(i) != "gw-prod-us-1"));
        // Rows that differ in every derived column.
        assert!(whole.in_sync.contains(&0) && whole.in_sync.contains(&1));
        assert!(whole.health.contains(&0) && whole.health.contains(&3));
        assert!(whole.sync_error.iter().any(|&c| c != 0) && whole.process_status.contains(&2));
        for range in [1, 2, 3, 7] {
            assert_eq!(e.node_table_by(T + 60_000, range), whole, "ranges of {range} slots");
        }
        assert_eq!(e.node_table(T + 60_000), whole);
    }
}
