//! The merged fleet view: one summary per cluster in the KV bucket
//! [`SUMMARIES_BUCKET`], put by the cluster's owner when the cluster
//! changes and every refresh period ([`crate::InstanceConfig::summary_refresh`]).
//!
//! One key per cluster (the encoded cluster id) holds the latest summary, so
//! a new or restarted owner *replaces* the previous owner's figures: fleet
//! totals are the sum over keys, and nothing is counted twice.
//!
//! **Summaries age by the freshness rule.** A node is verified only while
//! its last heartbeat is at most 60 minutes old, and a summary may be read
//! long after it was written (its owner died, or is slow). So a summary
//! carries what the rule needs: its verified nodes grouped by the minute in
//! which their reports stop counting ([`VerifiedUntil`], the last heartbeat
//! plus 60 minutes rounded *down* to the minute) and the nodes reporting a
//! sync error. [`FleetView::merge`] recomputes every cluster's verified
//! count, cohesion and status at the reader's `now` from them, with the
//! core's own rules. Rounding down makes the merged count lag the rule by
//! less than a minute and never overstate it: at any `t`, the rule's count
//! at `t + 1 min` ≤ the merged count at `t` ≤ the rule's count at `t`.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use fleetgov::cohesion::{cohesion, cohesion_bp};
use fleetgov::freshness::VERIFIED_WITHIN_MS;
use fleetgov::{ClusterStatus, ClusterView, Engine, SyncErrorCode};
use serde::{Deserialize, Serialize};

use crate::buckets::{self, read_all, read_owners};
use crate::error::{Error, Result};
use crate::subject::{PARTITIONS_BUCKET, SUMMARIES_BUCKET, decode_id, summary_key};

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

/// Verified nodes whose reports stop counting after the same minute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedUntil {
    /// The start of that minute (unix ms): the nodes count as verified at
    /// any time up to and including it. Their last heartbeat plus 60
    /// minutes, rounded down to the minute.
    pub until_ms: u64,
    /// How many nodes.
    pub nodes: u64,
}

/// The length of a [`VerifiedUntil`] bucket.
const MINUTE_MS: u64 = 60_000;

/// A cluster as its owning instance sees it: the JSON value of its key.
///
/// ```
/// use fleetgov_nats::ClusterSummary;
/// let t = 1_700_000_000_000;
/// let engine = fleetgov::demo::engine(t).unwrap();
/// let s = ClusterSummary::read(&engine, "gke-stage-eu", "ingest-1", t).unwrap();
/// assert_eq!((s.enrolled, s.in_sync, s.cohesion, s.cohesion_bp, s.errors), (4, 3, 75, 7_500, 1));
/// // The three verified seeds reported 10 s before `t`: they count for 60 minutes more.
/// assert_eq!(s.verified_until.iter().map(|v| v.nodes).sum::<u64>(), 3);
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
    /// Nodes verified (in sync, heard from within 60 minutes) when written;
    /// in a [`FleetView`], at the view's `now_ms`.
    pub in_sync: u64,
    /// Percent of enrolled nodes verified, floored (as `in_sync`).
    pub cohesion: u8,
    /// Cohesion in basis points, floored (as `in_sync`).
    pub cohesion_bp: u16,
    /// HEALTHY, SYNCING or DIVERGENT (as `in_sync`).
    pub status: ClusterStatus,
    /// Nodes whose last heartbeat carries a sync error, however old: no
    /// cluster with one is HEALTHY.
    pub errors: u64,
    /// The nodes verified when written, by the minute their reports stop
    /// counting, earliest first: how `in_sync` ages.
    pub verified_until: Vec<VerifiedUntil>,
    /// The desired revision (0: nothing published).
    pub desired_revision: u32,
    /// Nodes per verified revision.
    pub revisions: Vec<RevisionNodes>,
    /// Nodes per reported sync-error code.
    pub root_causes: Vec<CauseNodes>,
    /// When its figures were built from the owner's engine, unix ms. A
    /// [`restoring`](Self::restoring) summary keeps the previous owner's.
    pub at_ms: u64,
    /// The cluster's partition ([`crate::partition`]): the lease `p<k>` its
    /// owner holds.
    #[serde(default)]
    pub partition: u32,
    /// The owner's lease tenure it was written under
    /// ([`Lease::token`](crate::lease::Lease::token)).
    #[serde(default)]
    pub lease: u64,
    /// The owner has taken the cluster over and does not hold its node
    /// state yet ([`crate::handover`]): the figures are the previous
    /// owner's last ones, built at `at_ms`, not vouched for by `owner`.
    /// The merged view shows the cluster STALE.
    #[serde(default, skip_serializing_if = "is_false")]
    pub restoring: bool,
    /// Set by the merged view, never written: the summary is older than the
    /// staleness bound, [`restoring`](Self::restoring), or its owner does not
    /// hold the cluster's lease. Its figures are the last word on the
    /// cluster, never HEALTHY.
    #[serde(default, skip_serializing_if = "is_false")]
    pub stale: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Node views read per engine call while grouping a cluster's verified nodes.
const SCAN_CHUNK: usize = 4_096;

impl ClusterSummary {
    /// The summary of `cluster` in `engine` at `now_ms`, written by `owner`:
    /// its view, and its verified nodes grouped by when their reports stop
    /// counting (a scan of the cluster's nodes).
    pub fn read(engine: &Engine, cluster: &str, owner: &str, now_ms: u64) -> fleetgov::Result<ClusterSummary> {
        Ok(ClusterSummary::scan(engine, cluster, owner, now_ms, u64::MAX)?.0)
    }

    /// [`read`](Self::read), and how many of the cluster's nodes last
    /// reported at or after `since_ms`.
    pub(crate) fn scan(
        engine: &Engine,
        cluster: &str,
        owner: &str,
        now_ms: u64,
        since_ms: u64,
    ) -> fleetgov::Result<(ClusterSummary, u64)> {
        let view = engine.cluster(cluster, now_ms)?;
        let mut until: BTreeMap<u64, u64> = BTreeMap::new();
        let mut reported = 0;
        let mut offset = 0;
        loop {
            let nodes = engine.cluster_nodes(cluster, now_ms, offset, SCAN_CHUNK)?;
            for node in &nodes {
                let Some(last) = node.last_heartbeat_ms else { continue };
                reported += u64::from(last >= since_ms);
                if node.verified {
                    let end = last.saturating_add(VERIFIED_WITHIN_MS);
                    *until.entry(end - end % MINUTE_MS).or_default() += 1;
                }
            }
            offset += nodes.len();
            if nodes.len() < SCAN_CHUNK {
                break;
            }
        }
        let verified_until = until.into_iter().map(|(until_ms, nodes)| VerifiedUntil { until_ms, nodes }).collect();
        Ok((ClusterSummary::of(&view, verified_until, owner, now_ms), reported))
    }

    /// The summary of `view` with its verified nodes `verified_until`,
    /// written by `owner` at `at_ms`.
    fn of(view: &ClusterView, verified_until: Vec<VerifiedUntil>, owner: &str, at_ms: u64) -> ClusterSummary {
        ClusterSummary {
            cluster: view.id.clone(),
            workspace: view.workspace.clone(),
            owner: owner.to_owned(),
            enrolled: view.total,
            in_sync: view.in_sync,
            cohesion: view.cohesion,
            cohesion_bp: view.cohesion_bp,
            status: view.status,
            errors: view.root_causes.iter().map(|c| c.nodes).sum(),
            verified_until,
            desired_revision: view.desired_revision,
            revisions: view.revisions.iter().map(|r| RevisionNodes { revision: r.revision, nodes: r.nodes }).collect(),
            root_causes: view.root_causes.iter().map(|c| CauseNodes { code: c.code, nodes: c.nodes }).collect(),
            at_ms,
            partition: 0,
            lease: 0,
            restoring: false,
            stale: false,
        }
    }

    /// The nodes still verified at `now_ms`: those whose reports count
    /// until then, never more than the summary counted when written. A
    /// summary is read from a shared bucket: counts that add up past
    /// `u64::MAX` saturate, never overflow.
    pub fn verified_at(&self, now_ms: u64) -> u64 {
        let counting =
            self.verified_until.iter().filter(|v| v.until_ms >= now_ms).fold(0u64, |n, v| n.saturating_add(v.nodes));
        counting.min(self.in_sync)
    }

    /// This summary with its verified count, cohesion and status as they
    /// are at `now_ms` by the core's rules.
    ///
    /// ```
    /// use fleetgov_nats::ClusterSummary;
    /// let t = 1_700_000_000_000;
    /// let engine = fleetgov::demo::engine(t).unwrap();
    /// let s = ClusterSummary::read(&engine, "eks-prod-us", "ingest-1", t).unwrap();
    /// assert_eq!((s.in_sync, s.status.as_str()), (4, "HEALTHY"));
    /// let later = s.aged(t + 61 * 60_000); // nobody heard from for over an hour
    /// assert_eq!((later.in_sync, later.cohesion, later.status.as_str()), (0, 0, "DIVERGENT"));
    /// ```
    pub fn aged(mut self, now_ms: u64) -> ClusterSummary {
        let verified = self.verified_at(now_ms);
        self.in_sync = verified;
        self.cohesion = cohesion(verified, self.enrolled);
        self.cohesion_bp = cohesion_bp(verified, self.enrolled);
        self.status = ClusterStatus::of(verified, self.enrolled, self.errors);
        self
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

    /// Takes the cluster's key over for a new tenure: rewrites the current
    /// summary as [`restoring`](ClusterSummary::restoring), with the owner,
    /// partition and lease of `fallback` (`fallback` itself, restoring, when
    /// there is none or it does not decode), expecting the key's current
    /// revision. A write that lands between the read and the write (a
    /// previous owner's, sent before its deadline) is read again, a few
    /// times. Returns the revision written, which every later write of this
    /// tenure expects (see [`update`](Self::update)), and the enrolled count
    /// of the previous summary (0 without one).
    pub(crate) async fn take_over(&self, fallback: &ClusterSummary) -> Result<(u64, u64)> {
        const ATTEMPTS: usize = 3;
        let key = summary_key(&fallback.cluster)?;
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let entry =
                self.store.entry(key.clone()).await.map_err(|e| Error::retryable(format!("read summary {key}"), e))?;
            let revision = entry.as_ref().map_or(0, |e| e.revision);
            let previous = entry
                .filter(|e| e.operation == kv::Operation::Put)
                .and_then(|e| serde_json::from_slice::<ClusterSummary>(&e.value).ok())
                .filter(|p| p.cluster == fallback.cluster);
            let enrolled = previous.as_ref().map_or(0, |p| p.enrolled);
            let marker = match previous {
                Some(p) => ClusterSummary {
                    owner: fallback.owner.clone(),
                    partition: fallback.partition,
                    lease: fallback.lease,
                    ..p
                },
                None => fallback.clone(),
            };
            let marker = ClusterSummary { restoring: true, stale: false, ..marker };
            match self.update(&marker, revision).await {
                Ok(Some(written)) => return Ok((written, enrolled)),
                Ok(None) => last = Some(revision),
                Err(e) => return Err(e),
            }
        }
        Err(fleetgov::Error::new(
            fleetgov::ErrorKind::Conflict,
            format!("summary {key} kept moving while taken over (last revision {last:?})"),
        )
        .into())
    }

    /// Writes the cluster's summary if the key's revision is still
    /// `revision` (this tenure's last write): `Some(new revision)`, or
    /// `None` when the bucket refused it because someone else wrote the
    /// key since: this writer is stale.
    pub(crate) async fn update(&self, summary: &ClusterSummary, revision: u64) -> Result<Option<u64>> {
        let key = summary_key(&summary.cluster)?;
        let json = serde_json::to_vec(summary).map_err(|e| Error::transport("encode a summary", e))?;
        match self.store.update(&key, Bytes::from(json), revision).await {
            Ok(written) => Ok(Some(written)),
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
            Err(e) => Err(Error::retryable(format!("put summary {key}"), e)),
        }
    }
}

/// Fleet-wide totals: sums over the clusters' summaries, as of the view's `now_ms`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FleetTotals {
    /// Clusters with a summary.
    pub clusters: usize,
    /// Nodes enrolled, over every cluster.
    pub enrolled: u64,
    /// Nodes verified, over every cluster.
    pub in_sync: u64,
    /// Fleet cohesion: `floor(100 * in_sync / enrolled)`.
    pub cohesion: u8,
    /// Fleet cohesion in basis points, floored.
    pub cohesion_bp: u16,
    /// Clusters per status.
    pub healthy: usize,
    /// Clusters SYNCING.
    pub syncing: usize,
    /// Clusters DIVERGENT.
    pub divergent: usize,
    /// Clusters whose summary is stale (see [`ClusterSummary::stale`]),
    /// counted here and in none of the three statuses.
    pub stale: usize,
}

/// The merged fleet view, read-only: every cluster's latest summary, aged to
/// the reader's `now_ms` (see [`ClusterSummary::aged`]), the partition
/// assignment, and the totals.
///
/// A cluster is **stale** when its summary is older than the staleness
/// bound (its owner stopped writing), is [`restoring`](ClusterSummary::restoring)
/// (a new owner has not rebuilt its node state yet), or names an owner that
/// does not hold the lease of its partition (the owner is unknown: dead, or
/// the lease moved). A stale cluster keeps its last figures, aged, in the
/// node totals, and is counted [`stale`](FleetTotals::stale), never HEALTHY
/// (nor SYNCING or DIVERGENT).
///
/// ```no_run
/// # async fn run(js: async_nats::jetstream::Context) -> fleetgov_nats::Result<()> {
/// use std::time::Duration;
/// let view = fleetgov_nats::FleetView::load(&js, 1_700_000_000_000, Duration::from_secs(30)).await?;
/// println!("{} / {} nodes verified, cohesion {}%", view.totals.in_sync, view.totals.enrolled, view.totals.cohesion);
/// for stale in view.stale() { println!("no recent summary: {}", stale.cluster); }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FleetView {
    /// The summaries, by cluster id, with their figures as of `now_ms`.
    pub clusters: BTreeMap<String, ClusterSummary>,
    /// The partition assignment: the instance holding each leased partition.
    pub owners: BTreeMap<u32, String>,
    /// Sums over [`clusters`](Self::clusters).
    pub totals: FleetTotals,
    /// The time (unix ms) the figures are read at.
    pub now_ms: u64,
    /// Summaries written before this time (unix ms) count as stale.
    pub stale_before_ms: u64,
}

impl FleetView {
    /// Reads the partition leases and every summary, and merges them at
    /// `now_ms` ([`merge`](Self::merge)). A value that does not decode is an
    /// error.
    pub async fn load(js: &jetstream::Context, now_ms: u64, stale_after: Duration) -> Result<FleetView> {
        let owners = owners(js).await?;
        let store = Summaries::open(js, 1).await?.store;
        let values = read_all(&store).await.map_err(|e| Error::transport("read the summaries", e))?;
        let mut summaries = Vec::with_capacity(values.len());
        for (key, value) in values {
            let summary: ClusterSummary = serde_json::from_slice(&value)
                .map_err(|e| fleetgov::Error::invalid(format!("summary {key} does not decode: {e}")))?;
            if decode_id(&key)? != summary.cluster {
                return Err(fleetgov::Error::invalid(format!("summary {key} names cluster {}", summary.cluster)).into());
            }
            summaries.push(summary);
        }
        Ok(FleetView::merge(summaries, owners, now_ms, stale_after))
    }

    /// The view at `now_ms` of `summaries` (one per cluster; of two, the
    /// later in the iteration wins) under the partition assignment
    /// `owners`: each aged to `now_ms` by the freshness rule, and flagged
    /// stale when written more than `stale_after` before `now_ms`,
    /// restoring, or written by an instance that does not hold its
    /// partition's lease.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use std::time::Duration;
    /// use fleetgov_nats::{ClusterSummary, FleetView};
    /// let t = 1_700_000_000_000;
    /// let e = fleetgov::demo::engine(t).unwrap();
    /// let s: Vec<_> = e.cluster_ids().iter().map(|c| ClusterSummary::read(&e, c, "i", t).unwrap()).collect();
    /// let owners = BTreeMap::from([(0, "i".to_owned())]); // every summary says partition 0
    /// let view = FleetView::merge(s.clone(), owners.clone(), t, Duration::from_secs(30));
    /// assert_eq!((view.totals.enrolled, view.totals.in_sync, view.totals.cohesion), (11, 8, 72));
    /// assert_eq!((view.totals.healthy, view.totals.syncing, view.totals.divergent), (1, 1, 1));
    /// // Two hours on, with no summary written since: every report has stopped counting.
    /// let later = FleetView::merge(s.clone(), owners, t + 7_200_000, Duration::from_secs(30));
    /// assert_eq!((later.totals.in_sync, later.totals.healthy, later.totals.stale), (0, 0, 3));
    /// // Nobody holds the lease: the owner is unknown, and nothing is HEALTHY.
    /// let unowned = FleetView::merge(s, BTreeMap::new(), t, Duration::from_secs(30));
    /// assert_eq!((unowned.totals.in_sync, unowned.totals.healthy, unowned.totals.stale), (8, 0, 3));
    /// ```
    pub fn merge(
        summaries: impl IntoIterator<Item = ClusterSummary>,
        owners: BTreeMap<u32, String>,
        now_ms: u64,
        stale_after: Duration,
    ) -> FleetView {
        let stale_before_ms = now_ms.saturating_sub(stale_after.as_millis().try_into().unwrap_or(u64::MAX));
        let clusters: BTreeMap<String, ClusterSummary> = summaries
            .into_iter()
            .map(|s| {
                let owned = owners.get(&s.partition) == Some(&s.owner);
                let stale = s.at_ms < stale_before_ms || s.restoring || !owned;
                (s.cluster.clone(), ClusterSummary { stale, ..s.aged(now_ms) })
            })
            .collect();
        let mut totals = FleetTotals { clusters: clusters.len(), ..FleetTotals::default() };
        for s in clusters.values() {
            // Summaries come from a shared bucket: sums saturate, never overflow.
            totals.enrolled = totals.enrolled.saturating_add(s.enrolled);
            totals.in_sync = totals.in_sync.saturating_add(s.in_sync);
            match s.status {
                _ if s.stale => totals.stale += 1,
                ClusterStatus::Healthy => totals.healthy += 1,
                ClusterStatus::Syncing => totals.syncing += 1,
                ClusterStatus::Divergent => totals.divergent += 1,
            }
        }
        totals.cohesion = cohesion(totals.in_sync, totals.enrolled);
        totals.cohesion_bp = cohesion_bp(totals.in_sync, totals.enrolled);
        FleetView { clusters, owners, totals, now_ms, stale_before_ms }
    }

    /// The stale clusters' summaries.
    pub fn stale(&self) -> impl Iterator<Item = &ClusterSummary> {
        self.clusters.values().filter(|s| s.stale)
    }
}

/// The partition assignment: the instance holding each leased partition.
async fn owners(js: &jetstream::Context) -> Result<BTreeMap<u32, String>> {
    let Ok(store) = js.get_key_value(PARTITIONS_BUCKET).await else {
        return Ok(BTreeMap::new()); // no instance ever ran
    };
    read_owners(&store).await.map_err(|e| Error::transport("list leases", e))
}

#[cfg(test)]
mod tests {
    use fleetgov::{Clock, ClusterSpec, EngineConfig, Environment, Heartbeat, WorkspaceSpec};

    use super::*;

    /// A minute's start, so that offsets in whole minutes land on bucket edges.
    const T: u64 = 28_333_334 * MINUTE_MS;
    const STALE_AFTER: Duration = Duration::from_secs(30);

    /// A summary of `enrolled` nodes written at `at_ms`, its verified nodes
    /// by `(until_ms, nodes)`, `errors` of them reporting a sync error.
    fn summary(cluster: &str, enrolled: u64, until: &[(u64, u64)], errors: u64, at_ms: u64) -> ClusterSummary {
        let in_sync = until.iter().map(|&(_, n)| n).sum();
        ClusterSummary {
            cluster: cluster.to_owned(),
            workspace: "ws".to_owned(),
            owner: "i".to_owned(),
            enrolled,
            in_sync,
            cohesion: cohesion(in_sync, enrolled),
            cohesion_bp: cohesion_bp(in_sync, enrolled),
            status: ClusterStatus::of(in_sync, enrolled, errors),
            errors,
            verified_until: until.iter().map(|&(until_ms, nodes)| VerifiedUntil { until_ms, nodes }).collect(),
            desired_revision: 1,
            revisions: vec![RevisionNodes { revision: 1, nodes: in_sync }],
            root_causes: vec![],
            at_ms,
            partition: 0,
            lease: 1,
            restoring: false,
            stale: false,
        }
    }

    /// Partition 0, which every test summary names, leased by their owner.
    fn owned() -> BTreeMap<u32, String> {
        BTreeMap::from([(0, "i".to_owned())])
    }

    /// An engine on a manual clock at `T` with one published cluster `c`.
    fn engine() -> (Engine, fleetgov::Snapshot) {
        let engine = Engine::with_config(EngineConfig { clock: Clock::manual(T), ..EngineConfig::default() }).unwrap();
        engine.upsert_workspace(WorkspaceSpec::new("ws")).unwrap();
        engine.upsert_cluster(ClusterSpec::new("c", "ws", Environment::Staging)).unwrap();
        let v1 = engine.publish("c", b"v1", "alice", T).unwrap();
        (engine, v1)
    }

    /// Enrols `node` and reports `snapshot` applied at `at_ms`.
    fn report(engine: &Engine, node: &str, snapshot: &fleetgov::Snapshot, at_ms: u64) {
        let handle = engine.enroll(node, "c", T).unwrap();
        engine.clock().set(at_ms);
        let hb = Heartbeat::new(at_ms, "3.6.1".parse().unwrap()).applied(&snapshot.id, snapshot.hash);
        engine.heartbeat(handle, &hb).unwrap();
    }

    #[test]
    fn counts_past_u64_max_saturate_instead_of_overflowing() {
        let until = T + VERIFIED_WITHIN_MS;
        let mut huge = summary("a", 10, &[(until, 10)], 0, T);
        huge.verified_until =
            vec![VerifiedUntil { until_ms: until, nodes: u64::MAX }, VerifiedUntil { until_ms: until, nodes: 2 }];
        (huge.enrolled, huge.in_sync) = (u64::MAX, u64::MAX);
        assert_eq!(huge.verified_at(T), u64::MAX);
        let view = FleetView::merge([huge, summary("b", 10, &[(until, 10)], 0, T)], owned(), T, STALE_AFTER);
        assert_eq!((view.totals.enrolled, view.totals.in_sync, view.totals.cohesion), (u64::MAX, u64::MAX, 100));
    }

    #[test]
    fn totals_sum_the_clusters_and_flag_stale_ones() {
        let hour = T + VERIFIED_WITHIN_MS;
        let summaries = [
            summary("a", 10, &[(hour, 10)], 0, T),
            summary("b", 10, &[(hour, 5)], 0, T - 40_000),
            summary("c", 0, &[], 0, T),
        ];
        let view = FleetView::merge(summaries, owned(), T, STALE_AFTER);
        let t = &view.totals;
        assert_eq!((t.clusters, t.enrolled, t.in_sync, t.cohesion, t.cohesion_bp), (3, 20, 15, 75, 7_500));
        assert_eq!((t.healthy, t.syncing, t.divergent, t.stale), (2, 0, 0, 1), "b is stale, not SYNCING");
        assert_eq!(view.stale().map(|s| s.cluster.as_str()).collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn a_restoring_or_unowned_summary_is_stale_and_never_healthy() {
        let all = [(T + VERIFIED_WITHIN_MS, 10)];
        let restoring = ClusterSummary { restoring: true, ..summary("a", 10, &all, 0, T) };
        let other_owner = ClusterSummary { owner: "gone".to_owned(), ..summary("b", 10, &all, 0, T) };
        let other_partition = ClusterSummary { partition: 3, ..summary("c", 10, &all, 0, T) };
        let view = FleetView::merge([restoring, other_owner, other_partition], owned(), T, STALE_AFTER);
        let t = &view.totals;
        assert_eq!((t.healthy, t.syncing, t.divergent, t.stale), (0, 0, 0, 3));
        assert!(view.clusters.values().all(|s| s.stale));
        // The figures stay, aged: the last word on each cluster.
        assert_eq!((t.enrolled, t.in_sync), (30, 30));
        // Written, a summary never carries the reader's flag.
        let json = serde_json::to_string(&summary("a", 1, &[], 0, T)).unwrap();
        assert!(!json.contains("stale") && !json.contains("restoring"), "{json}");
    }

    #[test]
    fn one_summary_per_cluster_wins() {
        let hour = T + VERIFIED_WITHIN_MS;
        let view = FleetView::merge(
            [summary("a", 10, &[(hour, 10)], 0, T), summary("a", 12, &[], 0, T)],
            owned(),
            T,
            STALE_AFTER,
        );
        assert_eq!((view.totals.clusters, view.totals.enrolled, view.totals.in_sync), (1, 12, 0));
    }

    #[test]
    fn a_sync_error_keeps_a_fully_verified_cluster_from_healthy() {
        let view = FleetView::merge([summary("a", 4, &[(T + VERIFIED_WITHIN_MS, 4)], 1, T)], owned(), T, STALE_AFTER);
        let a = &view.clusters["a"];
        assert_eq!((a.in_sync, a.cohesion, a.status), (4, 100, ClusterStatus::Syncing));
    }

    #[test]
    fn verified_nodes_leave_the_merged_view_as_their_reports_stop_counting() {
        // Four nodes verified: two heard from at T, two three minutes later.
        let (engine, v1) = engine();
        report(&engine, "n1", &v1, T);
        report(&engine, "n2", &v1, T);
        report(&engine, "n3", &v1, T + 3 * MINUTE_MS);
        report(&engine, "n4", &v1, T + 3 * MINUTE_MS);
        let written = ClusterSummary::read(&engine, "c", "i", T + 3 * MINUTE_MS).unwrap();
        assert_eq!(
            written.verified_until,
            [
                VerifiedUntil { until_ms: T + 60 * MINUTE_MS, nodes: 2 },
                VerifiedUntil { until_ms: T + 63 * MINUTE_MS, nodes: 2 }
            ]
        );
        // No summary is written again (its owner died): the merged view ages it.
        let at = |now: u64| {
            let view = FleetView::merge([written.clone()], owned(), now, STALE_AFTER);
            let c = &view.clusters["c"];
            (c.in_sync, c.cohesion, c.cohesion_bp, c.status, view.totals.in_sync)
        };
        assert_eq!(at(T + 3 * MINUTE_MS), (4, 100, 10_000, ClusterStatus::Healthy, 4));
        assert_eq!(
            at(T + 60 * MINUTE_MS),
            (4, 100, 10_000, ClusterStatus::Healthy, 4),
            "exactly 60 minutes still counts"
        );
        assert_eq!(at(T + 60 * MINUTE_MS + 1), (2, 50, 5_000, ClusterStatus::Syncing, 2));
        assert_eq!(at(T + 63 * MINUTE_MS + 1), (0, 0, 0, ClusterStatus::Divergent, 0));
        // The engine's own rule agrees at each of those moments.
        for (now, verified) in [(T + 60 * MINUTE_MS, 4), (T + 60 * MINUTE_MS + 1, 2), (T + 63 * MINUTE_MS + 1, 0)] {
            assert_eq!(engine.cluster("c", now).unwrap().in_sync, verified);
        }
    }

    #[test]
    fn the_merged_count_never_runs_ahead_of_the_rule_and_lags_it_by_under_a_minute() {
        // Twelve nodes heard from 7 min 13 s apart: every one in a minute of its own.
        let (engine, v1) = engine();
        let mut last = T;
        for i in 0..12u64 {
            last = T + 7_000 + i * 433_000;
            report(&engine, &format!("n{i}"), &v1, last);
        }
        let written = ClusterSummary::read(&engine, "c", "i", last).unwrap();
        let rule = |now: u64| engine.cluster("c", now).unwrap().in_sync;
        assert_eq!(written.in_sync, rule(last));
        assert!(written.in_sync > 1 && written.verified_until.len() as u64 == written.in_sync);
        for step in 0..=300u64 {
            let now = last + step * 17_000;
            let merged = written.clone().aged(now);
            assert!(rule(now + MINUTE_MS) <= merged.in_sync && merged.in_sync <= rule(now), "at {now}");
            assert_eq!(merged.status, ClusterStatus::of(merged.in_sync, 12, 0));
            assert_eq!(merged.cohesion_bp, cohesion_bp(merged.in_sync, 12));
        }
    }
}
