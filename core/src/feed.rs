//! The change feed: what changed in the engine, in order, for whoever listens.
//!
//! Every change the engine makes is an event with a global sequence number:
//! a node's transition (its first report, another applied revision or hash
//! verdict, another sync-error code, in sync ↔ divergent), the cluster
//! counters it moved (verified, cohesion, status), and every audit record
//! (authority changes, overrides, reconciliation waves). Steady-state
//! heartbeats emit nothing.
//!
//! The feed is a bounded ring. Ingest never waits for a subscriber: it
//! writes the event into its ring cell and moves on. A subscriber that falls
//! more than the ring's capacity behind receives [`FeedItem::Lagged`] with
//! the number of events it missed, then continues with the oldest event
//! still held (it can resync from the engine's views). With no subscription
//! open, nothing is recorded and a transition costs one atomic load more.
//!
//! ```
//! use std::time::Duration;
//! use fleetgov::*;
//! let t = 1_700_000_000_000;
//! let e = demo::engine(t).unwrap();
//! let mut feed = e.subscribe(None).unwrap();
//! let s = e.desired("eks-prod-us").unwrap().unwrap();
//! let gw = e.node_handle("gw-prod-us-1").unwrap();
//! let failure = SyncError::new(SyncErrorCode::ReloadFailure, "bad filter");
//! let hb = Heartbeat { sync_error: Some(&failure), ..Heartbeat::new(t + 1, "3.6.1".parse().unwrap()) };
//! e.heartbeat(gw, &hb).unwrap();
//! let Some(FeedItem::Change(event)) = feed.next_timeout(Duration::ZERO) else { panic!("a node event") };
//! let Change::Node(node) = &event.change else { panic!("a node event") };
//! assert_eq!((node.node.as_str(), node.in_sync, node.sync_error), ("gw-prod-us-1", false, Some(SyncErrorCode::ReloadFailure)));
//! let Some(FeedItem::Change(event)) = feed.next_timeout(Duration::ZERO) else { panic!("a cluster event") };
//! assert!(matches!(&event.change, Change::Cluster(c) if &*c.cluster == "eks-prod-us"));
//! // The node reports the same again: no transition, no event.
//! e.heartbeat(gw, &Heartbeat { at_ms: t + 2, ..hb }).unwrap();
//! assert!(feed.next_timeout(Duration::ZERO).is_none());
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;

use crate::cohesion::ClusterStatus;
use crate::execution::sync_error::SyncErrorCode;
use crate::governance::audit::AuditAction;
use crate::hash::ContentHash;
use crate::wake::Wake;

/// Events the feed holds by default.
pub const DEFAULT_FEED_CAPACITY: usize = 1 << 16;

/// One change, with its place in the feed.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeEvent {
    /// The event's sequence number: consecutive, from 0, for this engine's life.
    pub seq: u64,
    /// What changed.
    pub change: Change,
}

/// What changed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Change {
    /// A node's reported state changed.
    Node(NodeChange),
    /// A cluster's counters or authority changed.
    Cluster(ClusterChange),
    /// A record was added to the audit log.
    Audit(AuditChange),
}

/// A node's transition, as of the heartbeat that caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeChange {
    /// The node id.
    pub node: String,
    /// Its cluster.
    pub cluster: Arc<str>,
    /// The heartbeat's time (unix ms).
    pub at_ms: u64,
    /// The revision of its cluster it reports it applied (`None`: none, or a
    /// snapshot the engine does not know).
    pub applied_revision: Option<u32>,
    /// The hash it computed over what it applied.
    pub applied_hash: Option<ContentHash>,
    /// It runs the desired snapshot and verified its hash.
    pub in_sync: bool,
    /// The sync-error code of its report.
    pub sync_error: Option<SyncErrorCode>,
}

/// A cluster's counters after a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterChange {
    /// The cluster id.
    pub cluster: Arc<str>,
    /// Its workspace.
    pub workspace: Arc<str>,
    /// The desired revision (0: nothing published).
    pub desired_revision: u32,
    /// Enrolled nodes.
    pub enrolled: u64,
    /// Nodes verified (in sync with the desired revision, heard from within
    /// 60 minutes) when the event was written.
    pub in_sync: u64,
    /// Cohesion, percent (floored).
    pub cohesion: u8,
    /// Cohesion in basis points (floored).
    pub cohesion_bp: u16,
    /// The cluster's status.
    pub status: ClusterStatus,
}

/// A record added to the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditChange {
    /// The record's sequence number in the audit log.
    pub audit_seq: u64,
    /// When (unix ms).
    pub at_ms: u64,
    /// Who.
    pub actor: String,
    /// What.
    pub action: AuditAction,
    /// On what (`cluster:<id>`, `node:<id>`, a snapshot id, ...).
    pub target: String,
}

/// What a subscription delivers next.
#[derive(Clone, Debug, PartialEq)]
pub enum FeedItem {
    /// The next change.
    Change(Arc<ChangeEvent>),
    /// The subscriber fell behind by more than the feed holds: `missed`
    /// events were dropped for it. The next item is the oldest one held.
    Lagged {
        /// How many events this subscriber will never see.
        missed: u64,
    },
}

/// The ring of recent events, shared by the engine and its subscriptions.
pub(crate) struct Feed {
    /// Open subscriptions; nothing is recorded while there are none.
    subscribers: AtomicUsize,
    /// The next sequence number to hand out.
    next: AtomicU64,
    cells: Box<[ArcSwapOption<ChangeEvent>]>,
    /// Subscribers waiting for an event, and what wakes them.
    wake: Wake,
}

impl Feed {
    /// A feed holding the last `capacity` events (rounded up to a power of two, at least 2).
    pub(crate) fn new(capacity: usize) -> Feed {
        let capacity = capacity.clamp(2, 1 << 30).next_power_of_two();
        Feed {
            subscribers: AtomicUsize::new(0),
            next: AtomicU64::new(0),
            cells: (0..capacity).map(|_| ArcSwapOption::empty()).collect(),
            wake: Wake::new(),
        }
    }

    /// Whether anyone listens. A transition that sees `false` records nothing.
    #[inline]
    pub(crate) fn is_listened(&self) -> bool {
        // Relaxed: a subscription that opens while a transition is in flight
        // may or may not see that transition; it sees every later one.
        self.subscribers.load(Ordering::Relaxed) != 0
    }

    /// Reserves `n` consecutive sequence numbers and returns the first. The
    /// order of reservations is the feed's order: reserve under the lock that
    /// orders the changes (a node's slot lock), write after it.
    #[inline]
    pub(crate) fn reserve(&self, n: u64) -> u64 {
        // Relaxed: only the numbers' uniqueness and order matter here; the
        // events are published by `write`.
        self.next.fetch_add(n, Ordering::Relaxed)
    }

    /// Reserves one number and writes `change` under it.
    pub(crate) fn push(&self, change: Change) {
        let seq = self.reserve(1);
        self.write(seq, change);
    }

    /// Writes the event reserved as `seq`, unless a newer event already
    /// took its cell (its subscribers are told they lagged), and wakes
    /// waiting subscribers.
    pub(crate) fn write(&self, seq: u64, change: Change) {
        let event = Arc::new(ChangeEvent { seq, change });
        let cell = &self.cells[self.index(seq)];
        cell.rcu(|current| match current {
            Some(newer) if newer.seq > seq => Some(Arc::clone(newer)),
            _ => Some(Arc::clone(&event)),
        });
        self.wake.notify();
    }

    fn index(&self, seq: u64) -> usize {
        (seq & (self.cells.len() as u64 - 1)) as usize
    }

    /// The next sequence number to be handed out.
    fn head(&self) -> u64 {
        // Relaxed: a position to start from; events are read through their cells.
        self.next.load(Ordering::Relaxed)
    }

    /// What a subscriber at `cursor` reads now: the event, a lag, or nothing yet.
    fn read(&self, cursor: u64) -> Option<FeedItem> {
        let cell = self.cells[self.index(cursor)].load_full()?;
        match cell.seq {
            s if s == cursor => Some(FeedItem::Change(cell)),
            // A newer event took the cell: everything up to the oldest
            // event still held is gone for this subscriber.
            s if s > cursor => {
                let oldest = self.head().saturating_sub(self.cells.len() as u64).max(cursor + 1);
                Some(FeedItem::Lagged { missed: oldest - cursor })
            }
            _ => None,
        }
    }

    /// Waits until `cursor` can be read or `deadline` passes.
    fn wait(&self, cursor: u64, deadline: Instant) -> Option<FeedItem> {
        self.wake.wait_until(deadline, || self.read(cursor))
    }
}

/// A subscription to an engine's change feed: a cursor that reads the
/// events in sequence order, made by [`Engine::subscribe`](crate::Engine::subscribe).
/// Dropping it stops recording once no other subscription is open.
pub struct Subscription {
    feed: Arc<Feed>,
    cursor: u64,
}

impl Subscription {
    pub(crate) fn open(feed: Arc<Feed>, from: Option<u64>) -> crate::Result<Subscription> {
        // Relaxed: see `Feed::is_listened`.
        feed.subscribers.fetch_add(1, Ordering::Relaxed);
        let head = feed.head();
        let subscription = Subscription { cursor: from.unwrap_or(head), feed };
        if subscription.cursor > head {
            return Err(crate::Error::invalid(format!(
                "feed position {} is ahead of the feed (next event: {head})",
                subscription.cursor
            )));
        }
        Ok(subscription)
    }

    /// The sequence number of the next event this subscription reads.
    pub fn position(&self) -> u64 {
        self.cursor
    }

    /// The next item, waiting at most `timeout` for one (`Duration::ZERO`:
    /// do not wait); `None` when none came.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<FeedItem> {
        let item = match self.feed.read(self.cursor) {
            Some(item) => item,
            None if timeout.is_zero() => return None,
            // A timeout past what the clock can represent waits as long as the longest one it can.
            None => {
                let now = Instant::now();
                let deadline =
                    now.checked_add(timeout).unwrap_or_else(|| now + Duration::from_secs(u64::from(u32::MAX)));
                self.feed.wait(self.cursor, deadline)?
            }
        };
        self.cursor += match &item {
            FeedItem::Change(_) => 1,
            FeedItem::Lagged { missed } => *missed,
        };
        Some(item)
    }
}

impl Iterator for Subscription {
    type Item = FeedItem;

    /// The next item, waiting as long as it takes.
    fn next(&mut self) -> Option<FeedItem> {
        loop {
            if let Some(item) = self.next_timeout(Duration::from_secs(3600)) {
                return Some(item);
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // Relaxed: see `Feed::is_listened`.
        self.feed.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("position", &self.cursor).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit(n: u64) -> Change {
        Change::Audit(AuditChange {
            audit_seq: n,
            at_ms: n,
            actor: "a".into(),
            action: AuditAction::Publish,
            target: "t".into(),
        })
    }

    fn seq_of(item: Option<FeedItem>) -> u64 {
        match item {
            Some(FeedItem::Change(e)) => e.seq,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn events_are_read_in_order_from_where_the_subscription_starts() {
        let feed = Arc::new(Feed::new(8));
        assert!(!feed.is_listened());
        let mut sub = Subscription::open(feed.clone(), None).unwrap();
        assert!(feed.is_listened());
        (0..3).for_each(|n| feed.push(audit(n)));
        assert_eq!((0..3).map(|_| seq_of(sub.next_timeout(Duration::ZERO))).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(sub.next_timeout(Duration::ZERO).is_none());
        let mut late = Subscription::open(feed.clone(), Some(1)).unwrap();
        assert_eq!(seq_of(late.next_timeout(Duration::ZERO)), 1);
        assert!(Subscription::open(feed.clone(), Some(4)).is_err(), "a position ahead of the feed");
        drop((sub, late));
        assert!(!feed.is_listened());
    }

    #[test]
    fn a_subscriber_that_falls_behind_is_told_how_much_it_missed_and_continues() {
        let feed = Arc::new(Feed::new(4));
        let mut sub = Subscription::open(feed.clone(), None).unwrap();
        (0..10).for_each(|n| feed.push(audit(n)));
        // The ring holds 6..=9; 0..=5 are gone.
        assert_eq!(sub.next_timeout(Duration::ZERO), Some(FeedItem::Lagged { missed: 6 }));
        assert_eq!((0..4).map(|_| seq_of(sub.next_timeout(Duration::ZERO))).collect::<Vec<_>>(), [6, 7, 8, 9]);
        assert!(sub.next_timeout(Duration::ZERO).is_none());
    }

    #[test]
    fn a_timeout_beyond_the_clock_waits_instead_of_panicking() {
        let feed = Arc::new(Feed::new(4));
        let mut sub = Subscription::open(feed.clone(), None).unwrap();
        let writer = {
            let feed = feed.clone();
            // Writes once the subscriber sleeps, so the wait path runs.
            std::thread::spawn(move || {
                while !feed.wake.is_waited_on() {
                    std::thread::yield_now();
                }
                feed.push(audit(0));
            })
        };
        assert_eq!(seq_of(sub.next_timeout(Duration::MAX)), 0);
        writer.join().unwrap();
    }

    #[test]
    fn a_late_write_never_replaces_a_newer_event() {
        let feed = Arc::new(Feed::new(2));
        let mut sub = Subscription::open(feed.clone(), None).unwrap();
        let (first, _) = (feed.reserve(1), feed.reserve(1));
        feed.write(2, audit(2)); // reserved by nobody in this test: it simply takes cell 0
        feed.write(first, audit(0)); // too late for cell 0
        assert_eq!(sub.next_timeout(Duration::ZERO), Some(FeedItem::Lagged { missed: 1 }));
    }

    #[test]
    fn a_waiting_subscriber_wakes_for_an_event_written_by_another_thread() {
        let feed = Arc::new(Feed::new(8));
        let mut sub = Subscription::open(feed.clone(), None).unwrap();
        let writer = {
            let feed = feed.clone();
            std::thread::spawn(move || (0..100).for_each(|n| feed.push(audit(n))))
        };
        let seqs: Vec<u64> = (0..100)
            .map_while(|_| match sub.next_timeout(Duration::from_secs(60)) {
                Some(FeedItem::Change(e)) => Some(e.seq),
                // The ring is smaller than the burst: a lag is allowed, a hole is not.
                Some(FeedItem::Lagged { .. }) => None,
                None => panic!("no event within the deadline"),
            })
            .collect();
        writer.join().unwrap();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    }
}
