//! Which clusters' summaries are due, learned from the engine's change feed.
//!
//! An instance reads its engine's change feed ([`Engine::subscribe`]) on a
//! thread of its own (the feed is synchronous) and marks the clusters that
//! changed in a [`Changed`] set; the instance's worker takes the set at most
//! once per coalescing period and puts those clusters' summaries. What marks
//! a cluster:
//!
//! - a node transition or a cluster counter change of that cluster
//!   (`Change::Node`, `Change::Cluster`): what the summary counts moved;
//! - an audit record of a publish or a cluster change naming it (its
//!   desired revision or workspace moved; a publish another instance made
//!   reaches this engine through its replica as an audit record alone);
//! - an enrollment the instance served ([`Changed::mark`] from the request
//!   handler): the core's feed does not report enrollments;
//! - `Lagged`: the reader missed events, so every cluster is due.
//!
//! Steady-state heartbeats emit nothing, so they mark nothing.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use fleetgov::audit::AuditAction;
use fleetgov::{Change, Engine, FeedItem, ForceTarget, Subscription};
use tokio::sync::Notify;

/// How long the reader waits for an event before it checks whether it should stop.
const STOP_POLL: Duration = Duration::from_millis(200);

/// The most events the reader gathers before it hands them over.
const BATCH: usize = 4096;

/// Clusters marked since the worker last took them.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Marks {
    /// The clusters marked, by id.
    pub(crate) clusters: BTreeSet<Arc<str>>,
    /// Every cluster is due (the reader lagged).
    pub(crate) all: bool,
}

impl Marks {
    fn is_empty(&self) -> bool {
        !self.all && self.clusters.is_empty()
    }

    fn merge(&mut self, other: Marks) {
        self.all |= other.all;
        if self.clusters.is_empty() {
            self.clusters = other.clusters;
        } else {
            self.clusters.extend(other.clusters);
        }
    }

    /// Marks what `item` changed.
    fn note(&mut self, item: &FeedItem) {
        match item {
            FeedItem::Lagged { .. } => self.all = true,
            FeedItem::Change(event) => match &event.change {
                Change::Node(node) => self.mark(&node.cluster),
                Change::Cluster(cluster) => self.mark(&cluster.cluster),
                Change::Audit(audit) => {
                    if let Some(cluster) = audited_cluster(audit.action, &audit.target) {
                        self.mark(&Arc::from(cluster));
                    }
                }
                // A kind of change this crate does not know yet: it may
                // move any figure, so every cluster is due.
                _ => self.all = true,
            },
        }
    }

    fn mark(&mut self, cluster: &Arc<str>) {
        if !self.clusters.contains(cluster) {
            self.clusters.insert(Arc::clone(cluster));
        }
    }
}

/// The cluster whose summary an audit record changes: the cluster of a
/// publish (target `<cluster>@r<revision>`) or of a cluster change (target
/// `cluster:<id>`). Overrides, waves, workspaces and policies move no figure
/// of a summary.
fn audited_cluster(action: AuditAction, target: &str) -> Option<&str> {
    match action {
        AuditAction::Publish => fleetgov::parse_snapshot_id(target).map(|(cluster, _)| cluster),
        AuditAction::UpsertCluster => match ForceTarget::from_label(target) {
            Some(ForceTarget::Cluster(cluster)) => Some(cluster),
            _ => None,
        },
        _ => None,
    }
}

/// The clusters whose summary is due, shared by the feed reader, the
/// request handlers (enrollments) and the instance's worker, which takes
/// them.
#[derive(Debug, Default)]
pub(crate) struct Changed {
    marks: Mutex<Marks>,
    /// Wakes the worker; holds one permit when marks arrive while it is busy.
    wake: Notify,
    /// The instance stopped: the reader ends.
    closed: AtomicBool,
}

impl Changed {
    fn marks(&self) -> MutexGuard<'_, Marks> {
        // A panic under this lock leaves a set of ids, which is still valid.
        self.marks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks `cluster` due.
    pub(crate) fn mark(&self, cluster: &str) {
        let mut marks = Marks::default();
        marks.clusters.insert(Arc::from(cluster));
        self.add(marks);
    }

    fn add(&self, marks: Marks) {
        if marks.is_empty() {
            return;
        }
        self.marks().merge(marks);
        self.wake.notify_one();
    }

    /// Takes what was marked, leaving nothing marked.
    pub(crate) fn take(&self) -> Marks {
        std::mem::take(&mut *self.marks())
    }

    /// Waits until something was marked since the last wait returned.
    pub(crate) async fn marked(&self) {
        self.wake.notified().await;
    }

    /// Tells the reader to stop (it notices within [`STOP_POLL`]).
    pub(crate) fn close(&self) {
        // Relaxed: the flag carries no data; the reader only has to see it eventually.
        self.closed.store(true, Ordering::Relaxed);
    }

    fn is_closed(&self) -> bool {
        // Relaxed: see `close`.
        self.closed.load(Ordering::Relaxed)
    }
}

/// Starts reading `engine`'s change feed from now on a thread named
/// `name`, marking in `changed` what the events change, until
/// [`Changed::close`]. The subscription is open when this returns: no
/// change made afterwards is missed.
pub(crate) fn follow(engine: &Engine, changed: Arc<Changed>, name: String) -> fleetgov::Result<()> {
    let subscription = engine.subscribe(None)?;
    std::thread::Builder::new()
        .name(name)
        .spawn(move || read(subscription, &changed))
        .map_err(|e| fleetgov::Error::new(fleetgov::ErrorKind::Io, format!("start the change-feed reader: {e}")))?;
    Ok(())
}

/// The reader's loop: waits for an event, gathers what else is already
/// there (up to [`BATCH`]), hands the marks over at once.
fn read(mut subscription: Subscription, changed: &Changed) {
    while !changed.is_closed() {
        let Some(first) = subscription.next_timeout(STOP_POLL) else { continue };
        changed.add(drain(&mut subscription, first));
    }
}

/// Marks `first` and the events that follow it without waiting, at most [`BATCH`] in all.
fn drain(subscription: &mut Subscription, first: FeedItem) -> Marks {
    let mut marks = Marks::default();
    marks.note(&first);
    for _ in 1..BATCH {
        let Some(item) = subscription.next_timeout(Duration::ZERO) else { break };
        marks.note(&item);
    }
    marks
}

#[cfg(test)]
mod tests {
    use fleetgov::{EngineConfig, Heartbeat, SyncError, SyncErrorCode, demo};

    use super::*;

    const T: u64 = 1_700_000_000_000;

    fn ids(marks: &Marks) -> Vec<&str> {
        marks.clusters.iter().map(|c| &**c).collect()
    }

    fn failing(engine: &Engine, node: &str, at_ms: u64, code: SyncErrorCode) {
        let handle = engine.node_handle(node).unwrap();
        let failure = SyncError::new(code, "x");
        let hb = Heartbeat { sync_error: Some(&failure), ..Heartbeat::new(at_ms, "3.6.1".parse().unwrap()) };
        engine.heartbeat(handle, &hb).unwrap();
    }

    #[test]
    fn transitions_and_authority_changes_mark_their_cluster_and_steady_reports_nothing() {
        let engine = demo::engine(T).unwrap();
        let mut feed = engine.subscribe(None).unwrap();
        failing(&engine, "gw-prod-us-1", T + 1, SyncErrorCode::ReloadFailure);
        engine.publish("gke-stage-eu", b"routes: [v9]", "alice", T + 2).unwrap();
        let first = feed.next_timeout(Duration::ZERO).expect("an event");
        let marks = drain(&mut feed, first);
        assert_eq!(ids(&marks), ["eks-prod-us", "gke-stage-eu"]);
        assert!(!marks.all);

        // The same report again is no transition: nothing to mark.
        failing(&engine, "gw-prod-us-1", T + 3, SyncErrorCode::ReloadFailure);
        assert!(feed.next_timeout(Duration::ZERO).is_none());
    }

    #[test]
    fn a_lagging_reader_marks_every_cluster() {
        let config = EngineConfig { feed_capacity: 2, ..EngineConfig::default() };
        let engine = Engine::with_config(config).unwrap();
        demo::populate(&engine, T).unwrap();
        let mut feed = engine.subscribe(None).unwrap();
        let codes = [SyncErrorCode::ReloadFailure, SyncErrorCode::ValidationFailed];
        for k in 0..8 {
            failing(&engine, "gw-prod-us-1", T + 1 + k, codes[k as usize % 2]);
        }
        let first = feed.next_timeout(Duration::ZERO).expect("an item");
        assert!(matches!(first, FeedItem::Lagged { .. }), "{first:?}");
        assert!(drain(&mut feed, first).all);
    }

    #[test]
    fn only_publishes_and_cluster_changes_name_a_cluster_in_the_audit_log() {
        assert_eq!(audited_cluster(AuditAction::Publish, "eks-prod-us@r3"), Some("eks-prod-us"));
        assert_eq!(audited_cluster(AuditAction::UpsertCluster, "cluster:c-1.eu"), Some("c-1.eu"));
        assert_eq!(audited_cluster(AuditAction::ForceSyncCluster, "cluster:c-1"), None);
        assert_eq!(audited_cluster(AuditAction::UpsertWorkspace, "acme"), None);
        assert_eq!(audited_cluster(AuditAction::Publish, "not-a-snapshot"), None);
    }

    #[tokio::test]
    async fn the_reader_marks_from_its_thread_and_wakes_the_taker() {
        let engine = demo::engine(T).unwrap();
        let changed = Arc::new(Changed::default());
        follow(&engine, changed.clone(), "feed-test".into()).unwrap();
        changed.mark("azure-dev-west"); // as the enrollment handler does
        failing(&engine, "gw-prod-us-1", T + 1, SyncErrorCode::ReloadFailure);
        let seen = fleetgov_testkit::within("the reader to mark eks-prod-us", async {
            let mut seen = Marks::default();
            while !seen.clusters.contains("eks-prod-us") {
                changed.marked().await;
                seen.merge(changed.take());
            }
            seen
        })
        .await;
        assert_eq!(ids(&seen), ["azure-dev-west", "eks-prod-us"]);
        assert!(!seen.all);
        changed.close();
    }
}
