//! The merged fleet view: one summary per cluster in the KV bucket
//! [`SUMMARIES_BUCKET`], put by the cluster's owner when the cluster
//! changes and every refresh period ([`crate::InstanceConfig::summary_refresh`]).
//!
//! One key per cluster (the encoded cluster id) holds the latest summary, so
//! a new or restarted owner *replaces* the previous owner's figures: fleet
//! totals are the sum over keys, and nothing is counted twice.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use fleetgov::cohesion::cohesion;
use fleetgov::{ClusterStatus, ClusterView, SyncErrorCode};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};

use crate::buckets;
use crate::error::{Error, Result};
use crate::subject::{SUMMARIES_BUCKET, decode_id, summary_key};

/// Nodes verified to run one revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionNodes {
    /// The revision (0: nothing verified).
    pub revision: u32,
    /// How many nodes.
    pub nodes: u64,
}

/// Nodes whose last heartbeat reported one sync-error code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CauseNodes {
    /// The code, e.g. `RELOAD_FAILURE`.
    pub code: SyncErrorCode,
    /// How many nodes.
    pub nodes: u64,
}

/// A cluster as its owning instance sees it: the JSON value of its key.
///
/// ```
/// use fleetgov_nats::ClusterSummary;
/// let engine = fleetgov::demo::engine(1_700_000_000_000).unwrap();
/// let view = engine.cluster("gke-stage-eu", 1_700_000_000_000).unwrap();
/// let s = ClusterSummary::from_view(&view, "ingest-1", 1_700_000_000_000);
/// assert_eq!((s.enrolled, s.in_sync, s.cohesion), (4, 3, 75));
/// let json = serde_json::to_string(&s).unwrap();
/// assert!(json.contains(r#""status":"SYNCING""#));
/// assert_eq!(serde_json::from_str::<ClusterSummary>(&json).unwrap(), s);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSummary {
    /// The cluster id.
    pub cluster: String,
    /// Its workspace.
    pub workspace: String,
    /// The instance that owns (and wrote) it.
    pub owner: String,
    /// Nodes enrolled.
    pub enrolled: u64,
    /// Nodes in sync.
    pub in_sync: u64,
    /// Percent in sync.
    pub cohesion: u8,
    /// HEALTHY, SYNCING or DIVERGENT.
    pub status: ClusterStatus,
    /// The desired revision (0: nothing published).
    pub desired_revision: u32,
    /// Nodes per verified revision.
    pub revisions: Vec<RevisionNodes>,
    /// Nodes per reported sync-error code.
    pub root_causes: Vec<CauseNodes>,
    /// When the owner wrote it, unix ms.
    pub at_ms: u64,
}

impl ClusterSummary {
    /// The summary of `view`, written by `owner` at `at_ms`.
    pub fn from_view(view: &ClusterView, owner: &str, at_ms: u64) -> ClusterSummary {
        ClusterSummary {
            cluster: view.id.clone(),
            workspace: view.workspace.clone(),
            owner: owner.to_owned(),
            enrolled: view.total,
            in_sync: view.in_sync,
            cohesion: view.cohesion,
            status: view.status,
            desired_revision: view.desired_revision,
            revisions: view.revisions.iter().map(|r| RevisionNodes { revision: r.revision, nodes: r.nodes }).collect(),
            root_causes: view.root_causes.iter().map(|c| CauseNodes { code: c.code, nodes: c.nodes }).collect(),
            at_ms,
        }
    }
}

/// The summaries bucket, for the owners that write it.
#[derive(Clone)]
pub(crate) struct Summaries {
    store: kv::Store,
}

impl Summaries {
    /// Opens the bucket, creating it with `replicas` copies if it does not exist.
    pub(crate) async fn open(js: &jetstream::Context, replicas: usize) -> Result<Summaries> {
        Ok(Summaries { store: buckets::key_value(js, SUMMARIES_BUCKET, Duration::ZERO, replicas).await? })
    }

    /// Replaces the cluster's summary.
    pub(crate) async fn put(&self, summary: &ClusterSummary) -> Result<()> {
        let key = summary_key(&summary.cluster)?;
        let json = serde_json::to_vec(summary).map_err(|e| Error::transport("encode a summary", e))?;
        self.store.put(&key, Bytes::from(json)).await.map_err(|e| Error::transport(format!("put summary {key}"), e))?;
        Ok(())
    }
}

/// Fleet-wide totals: sums over the clusters' summaries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FleetTotals {
    /// Clusters with a summary.
    pub clusters: usize,
    /// Nodes enrolled, over every cluster.
    pub enrolled: u64,
    /// Nodes in sync, over every cluster.
    pub in_sync: u64,
    /// Fleet cohesion: `round(100 * in_sync / enrolled)`.
    pub cohesion: u8,
    /// Clusters per status.
    pub healthy: usize,
    /// Clusters SYNCING.
    pub syncing: usize,
    /// Clusters DIVERGENT.
    pub divergent: usize,
    /// Clusters whose summary is older than the staleness bound.
    pub stale: usize,
}

/// The merged fleet view, read-only: every cluster's latest summary and the totals.
///
/// ```no_run
/// # async fn run(js: async_nats::jetstream::Context) -> fleetgov_nats::Result<()> {
/// use std::time::Duration;
/// let view = fleetgov_nats::FleetView::load(&js, 1_700_000_000_000, Duration::from_secs(30)).await?;
/// println!("{} / {} nodes in sync, cohesion {}%", view.totals.in_sync, view.totals.enrolled, view.totals.cohesion);
/// for stale in view.stale() { println!("no recent summary: {}", stale.cluster); }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FleetView {
    /// The summaries, by cluster id.
    pub clusters: BTreeMap<String, ClusterSummary>,
    /// Sums over [`clusters`](Self::clusters).
    pub totals: FleetTotals,
    /// Summaries written before this time (unix ms) count as stale.
    pub stale_before_ms: u64,
}

impl FleetView {
    /// Reads every summary; one written more than `stale_after` before
    /// `now_ms` is flagged stale (it still counts in the totals: it is the
    /// last word on its cluster). A value that does not decode is an error.
    pub async fn load(js: &jetstream::Context, now_ms: u64, stale_after: Duration) -> Result<FleetView> {
        let store = Summaries::open(js, 1).await?.store;
        let keys: Vec<String> = store
            .keys()
            .await
            .map_err(|e| Error::transport("list summaries", e))?
            .try_collect()
            .await
            .map_err(|e| Error::transport("list summaries", e))?;
        let mut summaries = Vec::with_capacity(keys.len());
        for key in keys {
            // Deleted between the listing and the read: not part of the view.
            let Some(value) = store.get(&key).await.map_err(|e| Error::transport(format!("get summary {key}"), e))?
            else {
                continue;
            };
            let summary: ClusterSummary = serde_json::from_slice(&value)
                .map_err(|e| fleetgov::Error::invalid(format!("summary {key} does not decode: {e}")))?;
            if decode_id(&key)? != summary.cluster {
                return Err(fleetgov::Error::invalid(format!("summary {key} names cluster {}", summary.cluster)).into());
            }
            summaries.push(summary);
        }
        let stale_before_ms = now_ms.saturating_sub(stale_after.as_millis().try_into().unwrap_or(u64::MAX));
        Ok(FleetView::merge(summaries, stale_before_ms))
    }

    /// The view of `summaries` (one per cluster), flagging those written before `stale_before_ms`.
    ///
    /// ```
    /// use fleetgov_nats::{ClusterSummary, FleetView};
    /// let e = fleetgov::demo::engine(1_000_000).unwrap();
    /// let s: Vec<_> = e.clusters(1_000_000).iter().map(|v| ClusterSummary::from_view(v, "i", 1_000_000)).collect();
    /// let view = FleetView::merge(s, 0);
    /// assert_eq!((view.totals.enrolled, view.totals.in_sync, view.totals.cohesion), (11, 8, 73));
    /// assert_eq!((view.totals.healthy, view.totals.syncing, view.totals.divergent), (1, 1, 1));
    /// ```
    pub fn merge(summaries: impl IntoIterator<Item = ClusterSummary>, stale_before_ms: u64) -> FleetView {
        let clusters: BTreeMap<String, ClusterSummary> =
            summaries.into_iter().map(|s| (s.cluster.clone(), s)).collect();
        let mut totals = FleetTotals { clusters: clusters.len(), ..FleetTotals::default() };
        for s in clusters.values() {
            totals.enrolled += s.enrolled;
            totals.in_sync += s.in_sync;
            match s.status {
                ClusterStatus::Healthy => totals.healthy += 1,
                ClusterStatus::Syncing => totals.syncing += 1,
                ClusterStatus::Divergent => totals.divergent += 1,
            }
            totals.stale += usize::from(s.at_ms < stale_before_ms);
        }
        totals.cohesion = cohesion(totals.in_sync, totals.enrolled);
        FleetView { clusters, totals, stale_before_ms }
    }

    /// The summaries written before the staleness bound.
    pub fn stale(&self) -> impl Iterator<Item = &ClusterSummary> {
        self.clusters.values().filter(|s| s.at_ms < self.stale_before_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(cluster: &str, enrolled: u64, in_sync: u64, at_ms: u64) -> ClusterSummary {
        let c = cohesion(in_sync, enrolled);
        ClusterSummary {
            cluster: cluster.to_owned(),
            workspace: "ws".to_owned(),
            owner: "i".to_owned(),
            enrolled,
            in_sync,
            cohesion: c,
            status: ClusterStatus::of(in_sync, enrolled, 0),
            desired_revision: 1,
            revisions: vec![RevisionNodes { revision: 1, nodes: in_sync }],
            root_causes: vec![],
            at_ms,
        }
    }

    #[test]
    fn totals_sum_the_clusters_and_flag_stale_ones() {
        let view = FleetView::merge([summary("a", 10, 10, 100), summary("b", 10, 5, 50), summary("c", 0, 0, 100)], 60);
        let t = &view.totals;
        assert_eq!((t.clusters, t.enrolled, t.in_sync, t.cohesion), (3, 20, 15, 75));
        assert_eq!((t.healthy, t.syncing, t.divergent, t.stale), (2, 1, 0, 1));
        assert_eq!(view.stale().map(|s| s.cluster.as_str()).collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn one_summary_per_cluster_wins() {
        let view = FleetView::merge([summary("a", 10, 10, 100), summary("a", 12, 0, 200)], 0);
        assert_eq!((view.totals.clusters, view.totals.enrolled, view.totals.in_sync), (1, 12, 0));
    }
}
