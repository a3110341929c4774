//! A simulated fleet for load generation, demos and tests: many nodes, each
//! remembering the snapshot it applied, reporting in batches through a
//! [`FleetClient`] and following reconcile directives (fetching and
//! verifying the artifact before "applying" it).

use std::collections::HashSet;

use fleetgov::record::HeartbeatRecord;
use fleetgov::{ContentHash, Metrics, ProcessStatus, RuntimeVersion};
use futures_util::{StreamExt, TryStreamExt, stream};

use crate::client::{ClusterNodes, FleetClient};
use crate::error::Result;

/// The nodes to simulate in one cluster.
#[derive(Clone, Debug)]
pub struct ClusterPlan {
    /// The workspace.
    pub workspace: String,
    /// The cluster.
    pub cluster: String,
    /// Node ids are `<prefix>-<i>`.
    pub prefix: String,
    /// How many nodes.
    pub nodes: usize,
    /// What node `i` has applied at the start.
    pub applied: fn(&str, usize) -> Option<(u32, ContentHash)>,
}

/// What one round of heartbeats did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundStats {
    /// Heartbeats sent (and answered).
    pub heartbeats: u64,
    /// Answers carrying a reconcile or force-sync directive.
    pub directives: u64,
    /// Artifacts fetched and verified this round.
    pub artifacts: u64,
}

/// Up to one batch of nodes of one cluster.
struct Chunk {
    nodes: ClusterNodes,
    applied: Vec<Option<(u32, ContentHash)>>,
}

/// A simulated fleet.
///
/// ```no_run
/// # async fn run(client: fleetgov_nats::FleetClient) -> fleetgov_nats::Result<()> {
/// use fleetgov_nats::load::{ClusterPlan, SimFleet};
/// let plan = ClusterPlan {
///     workspace: "acme-edge".into(), cluster: "gke-stage-eu".into(), prefix: "gw".into(), nodes: 10_000,
///     applied: |cluster, _| Some((1, fleetgov_nats::demo::hash(cluster, 1))),
/// };
/// let mut fleet = SimFleet::enroll(client, &[plan], 1_000, 16).await?;
/// let stats = fleet.round(1_700_000_000_000, 16).await?;
/// println!("{} heartbeats, {} directives", stats.heartbeats, stats.directives);
/// # Ok(()) }
/// ```
pub struct SimFleet {
    client: FleetClient,
    chunks: Vec<Chunk>,
    verified: HashSet<ContentHash>,
    version: RuntimeVersion,
}

impl SimFleet {
    /// Enrolls every planned node, `batch` nodes per chunk (and per request
    /// later), `in_flight` requests at once.
    pub async fn enroll(
        client: FleetClient,
        plans: &[ClusterPlan],
        batch: usize,
        in_flight: usize,
    ) -> Result<SimFleet> {
        let batch = batch.max(1);
        let mut work = Vec::new();
        for plan in plans {
            for start in (0..plan.nodes).step_by(batch) {
                let end = (start + batch).min(plan.nodes);
                let ids: Vec<String> = (start..end).map(|i| format!("{}-{i}", plan.prefix)).collect();
                let applied = (start..end).map(|i| (plan.applied)(&plan.cluster, i)).collect();
                work.push((plan.workspace.clone(), plan.cluster.clone(), ids, applied));
            }
        }
        let client_ref = &client;
        let chunks = stream::iter(work)
            .map(|(workspace, cluster, ids, applied)| async move {
                let nodes = client_ref.enroll_cluster(&workspace, &cluster, ids).await?;
                Ok::<_, crate::Error>(Chunk { nodes, applied })
            })
            .buffer_unordered(in_flight.max(1))
            .try_collect()
            .await?;
        let version = RuntimeVersion::new(3, 6, 1)?;
        Ok(SimFleet { client, chunks, verified: HashSet::new(), version })
    }

    /// How many nodes.
    pub fn nodes(&self) -> usize {
        self.chunks.iter().map(|c| c.nodes.len()).sum()
    }

    /// How many nodes report `(revision, hash)` of their cluster, by predicate.
    pub fn count_applied(&self, mut matches: impl FnMut(&str, Option<(u32, ContentHash)>) -> bool) -> usize {
        self.chunks.iter().map(|c| c.applied.iter().filter(|a| matches(c.nodes.cluster(), **a)).count()).sum()
    }

    /// How many nodes were enrolled again after their cluster moved.
    pub fn reenrolled(&self) -> u64 {
        self.chunks.iter().map(|c| c.nodes.reenrolled()).sum()
    }

    /// Every node reports once, stamped `at_ms`, one batch per chunk,
    /// `in_flight` batches at once. Directives are followed: the artifact is
    /// fetched and verified, and the node reports it from the next round on.
    pub async fn round(&mut self, at_ms: u64, in_flight: usize) -> Result<RoundStats> {
        let (client, version) = (&self.client, self.version);
        let directives: Vec<Vec<(usize, u32, ContentHash)>> = stream::iter(self.chunks.iter_mut())
            .map(|chunk| async move {
                let members: Vec<usize> = (0..chunk.nodes.len()).collect();
                let applied = &chunk.applied;
                let outcomes = client
                    .report(&mut chunk.nodes, &members, |i, handle| {
                        let metrics = Metrics { cpu: 20.0, memory: 40.0, tps: 900.0, heap: 50.0, hot_swap_errors: 0 };
                        let record = HeartbeatRecord::new(handle, at_ms, version, ProcessStatus::Ready, metrics);
                        match applied[i] {
                            Some((revision, hash)) => record.with_applied(revision, hash),
                            None => record,
                        }
                    })
                    .await?;
                Ok::<_, crate::Error>(
                    outcomes.iter().enumerate().filter_map(|(i, o)| o.directive().map(|(r, h)| (i, r, h))).collect(),
                )
            })
            .buffered(in_flight.max(1))
            .try_collect()
            .await?;
        let mut stats = RoundStats { heartbeats: self.nodes() as u64, ..RoundStats::default() };
        for (chunk, directives) in self.chunks.iter_mut().zip(directives) {
            for (i, revision, hash) in directives {
                stats.directives += 1;
                if self.verified.insert(hash) {
                    // A mismatch is an error: the node would not apply it.
                    if let Err(e) = self.client.fetch_artifact(&hash).await {
                        self.verified.remove(&hash);
                        return Err(e);
                    }
                    stats.artifacts += 1;
                }
                chunk.applied[i] = Some((revision, hash));
            }
        }
        Ok(stats)
    }
}
