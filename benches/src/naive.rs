//! The naive tracker: what the seeds' UI code does, written in plain Rust.
//!
//! One `Mutex<HashMap<String, Node>>` keyed by node id, where `Node` mirrors
//! the seeds' `GatewayNode` (cluster, status, applied snapshot, the hash the
//! node reported, last heartbeat, last sync error, metrics). A heartbeat
//! locks the map, finds the node by its id string and overwrites its fields
//! (reusing the strings' buffers: no allocation once a node exists).
//! Cohesion is what `ClusterManager.tsx` computes: walk the cluster's node
//! list and count the nodes whose applied snapshot id *and* reported hash
//! equal the desired ones (`Math.round(100 * synced / total)`), under the
//! same lock; the same walk counts the nodes the node matrix would badge as
//! degraded and the hottest CPU, as the dashboard shows them. Cluster membership lists and the desired snapshot are fixed
//! for the run and live outside the lock.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;

use fleetgov::{ContentHash, ProcessStatus, cohesion::cohesion};

use crate::timing::{Measured, run_threads};
use crate::workload::{Event, Workload, drive};

/// A node's metrics as the seeds' `GatewayNode` holds them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    /// CPU, percent.
    pub cpu: f32,
    /// Memory, percent.
    pub memory: f32,
    /// Transactions per second.
    pub tps: f32,
}

/// The metrics every heartbeat of the workload carries.
pub const WORKLOAD_METRICS: Metrics = Metrics { cpu: 12.5, memory: 40.0, tps: 1_200.0 };

/// A node as the seeds' model holds it.
struct Node {
    cluster: usize,
    status: ProcessStatus,
    applied_snapshot: String,
    applied_hash: ContentHash,
    last_heartbeat_ms: u64,
    last_sync_error: Option<String>,
    metrics: Metrics,
}

/// A cluster: its desired snapshot and its members' ids.
struct Cluster {
    desired_snapshot: String,
    desired_hash: ContentHash,
    members: Vec<String>,
}

/// The naive tracker.
pub struct NaiveTracker {
    nodes: Mutex<HashMap<String, Node>>,
    clusters: Vec<Cluster>,
}

/// One heartbeat as the naive tracker takes it.
pub struct NaiveHeartbeat<'a> {
    /// The reporting node's id.
    pub node: &'a str,
    /// When it was sent.
    pub at_ms: u64,
    /// The snapshot id it applied.
    pub applied_snapshot: &'a str,
    /// The hash it computed.
    pub applied_hash: ContentHash,
    /// Its process status.
    pub status: ProcessStatus,
    /// Its metrics.
    pub metrics: Metrics,
}

/// What the dashboard shows of a cluster, from one scan.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ClusterSummary {
    /// Nodes whose applied snapshot and hash are the desired ones.
    pub in_sync: u64,
    /// Nodes not `Ready` or with a sync error.
    pub degraded: u64,
    /// The highest CPU any node reported.
    pub peak_cpu: f32,
    /// The highest memory use any node reported.
    pub peak_memory: f32,
    /// The cluster's transactions per second.
    pub tps: f64,
}

impl NaiveTracker {
    /// Enrols every node of `workload`, each having reported its cluster's
    /// desired snapshot (the state every row starts from).
    pub fn new(workload: &Workload) -> Self {
        let ids = workload.node_ids();
        let mut nodes = HashMap::with_capacity(ids.len());
        let clusters = workload
            .clusters()
            .iter()
            .enumerate()
            .map(|(c, cluster)| {
                let members: Vec<String> = workload.members(c).map(|s| ids[s as usize].clone()).collect();
                for id in &members {
                    nodes.insert(
                        id.clone(),
                        Node {
                            cluster: c,
                            status: ProcessStatus::Ready,
                            applied_snapshot: cluster.desired.id.clone(),
                            applied_hash: cluster.desired.hash,
                            last_heartbeat_ms: Workload::seed_at_ms(),
                            last_sync_error: None,
                            metrics: Metrics::default(),
                        },
                    );
                }
                Cluster { desired_snapshot: cluster.desired.id.clone(), desired_hash: cluster.desired.hash, members }
            })
            .collect();
        NaiveTracker { nodes: Mutex::new(nodes), clusters }
    }

    /// Records a heartbeat; `false` if the node is not enrolled or the
    /// heartbeat is older than the node's last one.
    pub fn heartbeat(&self, hb: &NaiveHeartbeat<'_>) -> bool {
        let mut nodes = self.nodes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(node) = nodes.get_mut(hb.node) else {
            return false;
        };
        if hb.at_ms < node.last_heartbeat_ms {
            return false;
        }
        node.last_heartbeat_ms = hb.at_ms;
        if node.applied_snapshot != hb.applied_snapshot {
            node.applied_snapshot.clear();
            node.applied_snapshot.push_str(hb.applied_snapshot);
        }
        node.applied_hash = hb.applied_hash;
        node.status = hb.status;
        node.last_sync_error = None;
        node.metrics = hb.metrics;
        true
    }

    /// Scans cluster `c`'s nodes.
    pub fn summary(&self, c: usize) -> ClusterSummary {
        let cluster = &self.clusters[c];
        let nodes = self.nodes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut summary = ClusterSummary::default();
        for n in cluster.members.iter().filter_map(|id| nodes.get(id.as_str())).filter(|n| n.cluster == c) {
            if n.applied_snapshot == cluster.desired_snapshot && n.applied_hash == cluster.desired_hash {
                summary.in_sync += 1;
            }
            if n.status != ProcessStatus::Ready || n.last_sync_error.is_some() {
                summary.degraded += 1;
            }
            summary.peak_cpu = summary.peak_cpu.max(n.metrics.cpu);
            summary.peak_memory = summary.peak_memory.max(n.metrics.memory);
            summary.tps += f64::from(n.metrics.tps);
        }
        summary
    }

    /// Cohesion of cluster `c` (percent), by scanning.
    pub fn cohesion(&self, c: usize) -> u8 {
        cohesion(self.summary(c).in_sync, self.clusters[c].members.len() as u64)
    }

    /// Runs `streams` through the tracker under the workload's query rule.
    pub fn run(&self, workload: &Workload, streams: &[&[Event]]) -> Result<Measured, String> {
        run_threads(
            streams,
            |_| Ok(()),
            |_, stream| {
                drive(
                    workload,
                    stream,
                    |event, at_ms| {
                        let snapshot = workload.clusters()[workload.cluster_of(event.slot)].snapshot(event.applied);
                        self.heartbeat(&NaiveHeartbeat {
                            node: &workload.node_ids()[event.slot as usize],
                            at_ms,
                            applied_snapshot: &snapshot.id,
                            applied_hash: snapshot.hash,
                            status: ProcessStatus::Ready,
                            metrics: WORKLOAD_METRICS,
                        })
                    },
                    |c| {
                        black_box(self.cohesion(c));
                    },
                )
            },
        )
    }

    /// In-sync counts of every cluster (the end-of-run check).
    pub fn in_sync_all(&self) -> Vec<u64> {
        (0..self.clusters.len()).map(|c| self.summary(c).in_sync).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::SnapshotRef;
    use crate::workload::WorkloadSpec;

    fn hb<'a>(node: &'a str, at: u64, snapshot: &'a SnapshotRef, hash: ContentHash) -> NaiveHeartbeat<'a> {
        NaiveHeartbeat {
            node,
            at_ms: Workload::seed_at_ms() + at,
            applied_snapshot: &snapshot.id,
            applied_hash: hash,
            status: ProcessStatus::Ready,
            metrics: WORKLOAD_METRICS,
        }
    }

    fn workload(heartbeats: u64) -> Workload {
        Workload::generate(WorkloadSpec { nodes: 1_000, clusters: 10, heartbeats, ..WorkloadSpec::default() }).unwrap()
    }

    #[test]
    fn cohesion_follows_snapshot_and_hash() {
        let w = workload(0);
        let t = NaiveTracker::new(&w);
        assert_eq!(t.cohesion(3), 100);
        let (previous, desired) = (&w.clusters()[3].previous, &w.clusters()[3].desired);
        assert!(t.heartbeat(&hb("gw-0000300", 5, previous, previous.hash)));
        assert_eq!(t.summary(3).in_sync, 99);
        // Right snapshot id, wrong hash: not in sync.
        assert!(t.heartbeat(&hb("gw-0000301", 6, desired, previous.hash)));
        assert_eq!(t.summary(3).in_sync, 98);
        assert_eq!(t.cohesion(3), 98);
        assert_eq!(t.summary(4).in_sync, 100);
        let mut hot = hb("gw-0000302", 7, desired, desired.hash);
        hot.status = ProcessStatus::Error;
        hot.metrics.cpu = 97.0;
        assert!(t.heartbeat(&hot));
        let s = t.summary(3);
        assert_eq!((s.in_sync, s.degraded, s.peak_cpu, s.peak_memory), (98, 1, 97.0, 40.0));
        assert_eq!(s.tps, 3.0 * 1_200.0);
    }

    #[test]
    fn unknown_nodes_and_old_heartbeats_are_refused() {
        let w = workload(0);
        let t = NaiveTracker::new(&w);
        let d = &w.clusters()[0].previous;
        assert!(!t.heartbeat(&hb("gw-9999999", 1, d, d.hash)));
        let mut old = hb("gw-0000001", 0, d, d.hash);
        old.at_ms = 0;
        assert!(!t.heartbeat(&old));
        assert_eq!(t.summary(0).in_sync, 100);
    }

    #[test]
    fn a_run_leaves_exactly_the_workloads_answer() {
        let w = workload(40_000);
        let t = NaiveTracker::new(&w);
        let streams = w.prefix(u64::MAX);
        let m = t.run(&w, &streams).unwrap();
        assert_eq!(m.heartbeats, 40_000);
        w.check(&streams, &t.in_sync_all()).unwrap();
        assert!(t.in_sync_all().iter().any(|&n| n < 100), "1% transitions must leave some drift");
    }
}
