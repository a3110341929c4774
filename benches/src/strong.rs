//! The strongest honest Rust peers: what a careful engineer writes for the
//! same job without fleetgov.
//!
//! Each node's state sits behind its own lock (no global lock); each
//! cluster keeps an atomic count of its in-sync nodes, changed only when a
//! heartbeat moves a node into or out of sync, so a cohesion read is one
//! atomic load, as in fleetgov. A heartbeat older than the node's last one
//! is refused. Two ways to find the node:
//! - **dashmap**: a `DashMap<String, Node>` keyed by node id (sharded
//!   read-write locks), the best general concurrent map;
//! - **dense**: a `Vec` of cache-line-aligned `Mutex<Node>` indexed by a
//!   dense handle, as fleetgov's handles are.
//!
//! What they leave out, and fleetgov does not: the hash verdict per
//! snapshot (they compare with one desired hash), freshness, sync-error
//! codes and their root causes, the journal of transitions, directives,
//! the change feed and the audit log.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use fleetgov::cohesion::cohesion;
use fleetgov::{ContentHash, ProcessStatus};
use parking_lot::Mutex;

use crate::naive::{Metrics, WORKLOAD_METRICS};
use crate::timing::{Measured, run_threads};
use crate::workload::{Applied, Event, Workload, drive};

/// A node's last report.
struct Node {
    cluster: u32,
    last_heartbeat_ms: u64,
    applied_revision: u32,
    applied_hash: ContentHash,
    status: ProcessStatus,
    metrics: Metrics,
}

/// One heartbeat, as both peers take it.
struct Report {
    at_ms: u64,
    revision: u32,
    hash: ContentHash,
}

/// A cluster's desired state and its incremental count.
struct Cluster {
    desired_revision: u32,
    desired_hash: ContentHash,
    members: u64,
    in_sync: AtomicU64,
}

/// How a peer finds a node's lock.
enum Index {
    /// By id, in a `DashMap`.
    ById(DashMap<String, Mutex<Node>>),
    /// By dense handle, in a `Vec`.
    Dense(Vec<Padded>),
}

/// A node's lock on its own cache line.
#[repr(align(64))]
struct Padded(Mutex<Node>);

/// One of the strong peers.
pub struct StrongTracker {
    index: Index,
    clusters: Vec<Cluster>,
}

impl StrongTracker {
    /// Every node of `workload` enrolled and in sync with its cluster's
    /// desired snapshot (where every row starts), found by id (`by_id`) or
    /// by dense handle.
    pub fn new(workload: &Workload, by_id: bool) -> Self {
        let clusters: Vec<Cluster> = workload
            .clusters()
            .iter()
            .enumerate()
            .map(|(c, cluster)| Cluster {
                desired_revision: Applied::Desired.revision(),
                desired_hash: cluster.desired.hash,
                members: workload.members(c).len() as u64,
                in_sync: AtomicU64::new(workload.members(c).len() as u64),
            })
            .collect();
        let node = |slot: u32| {
            let c = workload.cluster_of(slot);
            Mutex::new(Node {
                cluster: c as u32,
                last_heartbeat_ms: Workload::seed_at_ms(),
                applied_revision: Applied::Desired.revision(),
                applied_hash: clusters[c].desired_hash,
                status: ProcessStatus::Ready,
                metrics: Metrics::default(),
            })
        };
        let nodes = workload.spec().nodes;
        let index = if by_id {
            let map = DashMap::with_capacity(nodes as usize);
            for slot in 0..nodes {
                map.insert(workload.node_ids()[slot as usize].clone(), node(slot));
            }
            Index::ById(map)
        } else {
            Index::Dense((0..nodes).map(|slot| Padded(node(slot))).collect())
        };
        StrongTracker { index, clusters }
    }

    /// Records a report of `node`; `false` if it is older than the last one.
    fn apply(&self, cluster_of: &Mutex<Node>, report: &Report) -> bool {
        let mut node = cluster_of.lock();
        if report.at_ms < node.last_heartbeat_ms {
            return false;
        }
        let cluster = &self.clusters[node.cluster as usize];
        let in_sync = |revision, hash| revision == cluster.desired_revision && hash == cluster.desired_hash;
        let was = in_sync(node.applied_revision, node.applied_hash);
        let is = in_sync(report.revision, report.hash);
        if was != is {
            // Relaxed: a counter read alone; the node's lock orders its own changes.
            if is {
                cluster.in_sync.fetch_add(1, Ordering::Relaxed);
            } else {
                cluster.in_sync.fetch_sub(1, Ordering::Relaxed);
            }
        }
        node.last_heartbeat_ms = report.at_ms;
        node.applied_revision = report.revision;
        node.applied_hash = report.hash;
        node.status = ProcessStatus::Ready;
        node.metrics = WORKLOAD_METRICS;
        true
    }

    /// Cohesion of cluster `c`: one atomic load.
    pub fn cohesion(&self, c: usize) -> u8 {
        let cluster = &self.clusters[c];
        // Relaxed: a statistic read alone.
        cohesion(cluster.in_sync.load(Ordering::Relaxed), cluster.members)
    }

    /// The in-sync count of every cluster (read after the run).
    pub fn in_sync_all(&self) -> Vec<u64> {
        // Relaxed: read after the worker threads were joined.
        self.clusters.iter().map(|c| c.in_sync.load(Ordering::Relaxed)).collect()
    }

    /// Runs `streams` under the workload's query rule.
    pub fn run(&self, workload: &Workload, streams: &[&[Event]]) -> Result<Measured, String> {
        run_threads(
            streams,
            |_| Ok(()),
            |_, stream| {
                drive(
                    workload,
                    stream,
                    |event, at_ms| {
                        let cluster = &workload.clusters()[workload.cluster_of(event.slot)];
                        let report = Report {
                            at_ms,
                            revision: event.applied.revision(),
                            hash: cluster.snapshot(event.applied).hash,
                        };
                        match &self.index {
                            Index::ById(map) => {
                                let id = &workload.node_ids()[event.slot as usize];
                                map.get(id.as_str()).is_some_and(|node| self.apply(&node, &report))
                            }
                            Index::Dense(nodes) => self.apply(&nodes[event.slot as usize].0, &report),
                        }
                    },
                    |c| {
                        black_box(self.cohesion(c));
                    },
                )
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadSpec;

    #[test]
    fn both_peers_match_the_ground_truth() {
        let w = Workload::generate(WorkloadSpec {
            nodes: 2_000,
            clusters: 4,
            heartbeats: 60_000,
            ..WorkloadSpec::default()
        })
        .unwrap();
        let streams = w.prefix(u64::MAX);
        assert!(w.transitions(&streams) > 0, "the stream moves nodes in and out of sync");
        for by_id in [true, false] {
            let tracker = StrongTracker::new(&w, by_id);
            let m = tracker.run(&w, &streams).unwrap();
            assert_eq!(m.heartbeats, 60_000);
            w.check(&streams, &tracker.in_sync_all()).unwrap();
        }
    }
}
