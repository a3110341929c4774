//! A cluster's live state: its authority (snapshots, desired revision) and
//! the execution counters that heartbeats keep incrementally.
//!
//! Counters change only on transitions and are exact at quiescence:
//! `histogram[r]` counts enrolled nodes whose verified applied revision is
//! `r` (bucket 0: nothing verified yet), and `fresh[r]` those of them whose
//! last heartbeat is within the freshness window (see [`crate::execution::freshness`]),
//! so the verified count is simply `fresh[desired]` and publishing a new
//! snapshot is O(1).

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};

use crate::authority::cluster_spec::ClusterSpec;
use crate::authority::snapshot::Snapshot;
use crate::chunked::Chunked;
use crate::execution::freshness::{ExpiryQueue, Tally};
use crate::execution::sync_error::SyncErrorCode;
use crate::sync::{AtomicBool, AtomicU32, AtomicU64};

/// Revision tables start with 64 entries and double.
const REVISION_BASE_BITS: u32 = 6;
const CODES: usize = SyncErrorCode::ALL.len();

/// Counts (for views and the recount check).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) enrolled: u64,
    /// Non-zero buckets, by revision (0 first).
    pub(crate) histogram: Vec<(u32, u64)>,
    /// Non-zero fresh buckets, by revision (0 first).
    pub(crate) fresh: Vec<(u32, u64)>,
    /// Non-zero error counts, by code.
    pub(crate) errors: Vec<(SyncErrorCode, u64)>,
}

/// A reconciliation wave: the auto-reconcile generation and the desired
/// revision the wave's directives point to. A new publish, or switching
/// auto-reconcile back on, starts a new wave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaveKey(u64);

impl WaveKey {
    /// No wave (revision 0 is never desired while waves run).
    const NONE: WaveKey = WaveKey(0);

    fn new(generation: u32, desired: u32) -> WaveKey {
        WaveKey(u64::from(generation) << 32 | u64::from(desired))
    }
}

pub(crate) struct ClusterState {
    /// The cluster id (fixed).
    pub(crate) id: Arc<str>,
    /// The workspace id (fixed).
    pub(crate) workspace: Arc<str>,
    pub(crate) spec: RwLock<ClusterSpec>,
    auto_reconcile: AtomicBool,
    /// Bumped each time auto-reconcile is switched on: a new wave starts.
    reconcile_generation: AtomicU32,
    /// The reconciliation wave whose audit record is written ([`WaveKey`] bits).
    open_wave: AtomicU64,
    /// Serialises the opening of a wave, so that it is audited once.
    wave_lock: Mutex<()>,
    /// The desired revision (0: nothing published).
    desired: AtomicU32,
    /// The latest published revision.
    latest: AtomicU32,
    /// Bumped by a cluster-wide force sync; nodes remember the last one they answered.
    force_epoch: AtomicU32,
    snapshots: Chunked<OnceLock<Box<Snapshot>>>,
    publish_lock: Mutex<()>,
    enrolled: AtomicU64,
    histogram: Chunked<AtomicU64>,
    /// The fresh nodes of each histogram bucket.
    fresh: Chunked<AtomicU64>,
    /// The fresh nodes, by the time they may stop counting.
    pub(crate) expiry: ExpiryQueue,
    errors: [AtomicU64; CODES],
    /// An example node per code: slot + 1 (0: none).
    error_examples: [AtomicU32; CODES],
    /// Slots of the cluster's nodes, in enrolment order.
    members: RwLock<Vec<u32>>,
}

// Orderings. Counters (`enrolled`, `histogram`, `fresh`, `errors`) use Relaxed: they
// publish no other data, every change is an RMW (so the modification order
// makes them exact at quiescence), and every node's changes are serialised
// by its slot lock. `desired` uses Release/Acquire so that a reader who sees a
// revision also sees its snapshot (set before the store).

/// How many cluster force syncs apart the members are swept for forces they
/// have not answered (see [`ClusterState::bump_force_epoch`]).
pub(crate) const FORCE_SWEEP_INTERVAL: u32 = 1 << 15;

/// Whether a node whose state word holds force epoch `node` has not answered
/// the cluster force that made the epoch `sweep`: it is 1 to 2^15 forces
/// behind (wrapping). A node ahead of `sweep` (it answered a later force
/// before this sweep ran) is not.
pub(crate) fn node_missed_force(node: u16, sweep: u16) -> bool {
    (1..=FORCE_SWEEP_INTERVAL as u16).contains(&sweep.wrapping_sub(node))
}

impl ClusterState {
    pub(crate) fn new(spec: ClusterSpec, force_epoch: u32) -> Self {
        let histogram = Chunked::doubling(REVISION_BASE_BITS);
        histogram.get_or_alloc(0);
        let fresh = Chunked::doubling(REVISION_BASE_BITS);
        fresh.get_or_alloc(0);
        ClusterState {
            id: spec.id.clone().into(),
            workspace: spec.workspace.clone().into(),
            auto_reconcile: AtomicBool::new(spec.auto_reconcile),
            reconcile_generation: AtomicU32::new(0),
            open_wave: AtomicU64::new(WaveKey::NONE.0),
            wave_lock: Mutex::new(()),
            spec: RwLock::new(spec),
            desired: AtomicU32::new(0),
            latest: AtomicU32::new(0),
            force_epoch: AtomicU32::new(force_epoch),
            snapshots: Chunked::doubling(REVISION_BASE_BITS),
            publish_lock: Mutex::new(()),
            enrolled: AtomicU64::new(0),
            histogram,
            fresh,
            expiry: ExpiryQueue::new(),
            errors: Default::default(),
            error_examples: Default::default(),
            members: RwLock::new(Vec::new()),
        }
    }

    pub(crate) fn update_spec(&self, spec: ClusterSpec) {
        let mut current = self.spec.write();
        if spec.auto_reconcile && !current.auto_reconcile {
            // Relaxed: read with the flag by heartbeats, which tolerate
            // seeing the switch a heartbeat late; the spec lock orders writers.
            self.reconcile_generation.fetch_add(1, Ordering::Relaxed);
        }
        // Relaxed: a flag read per heartbeat; a heartbeat racing the update may see either value.
        self.auto_reconcile.store(spec.auto_reconcile, Ordering::Relaxed);
        *current = spec;
    }

    /// The reconciliation wave a directive toward `desired` belongs to now.
    #[inline]
    pub(crate) fn wave(&self, desired: u32) -> WaveKey {
        // Relaxed: see `update_spec`.
        WaveKey::new(self.reconcile_generation.load(Ordering::Relaxed), desired)
    }

    /// Whether `wave`'s audit record is written.
    #[inline]
    pub(crate) fn wave_open(&self, wave: WaveKey) -> bool {
        // Acquire: pairs with the Release in `open_wave_with`, so a heartbeat
        // that sees the wave open also sees its record in the log.
        self.open_wave.load(Ordering::Acquire) == wave.0
    }

    /// Opens `wave` once: runs `audit` (which writes the wave's record) unless
    /// the wave is open already. Concurrent first heartbeats of a wave wait
    /// here for the one record; no node lock is held.
    pub(crate) fn open_wave_with(&self, wave: WaveKey, audit: impl FnOnce() -> crate::Result<()>) -> crate::Result<()> {
        let _opening = self.wave_lock.lock();
        if self.wave_open(wave) {
            return Ok(());
        }
        audit()?;
        // Release: see `wave_open`.
        self.open_wave.store(wave.0, Ordering::Release);
        Ok(())
    }

    #[inline]
    pub(crate) fn auto_reconcile(&self) -> bool {
        // Relaxed: see `update_spec`.
        self.auto_reconcile.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn desired(&self) -> u32 {
        // Acquire: pairs with the Release in `publish` so the snapshot is visible.
        self.desired.load(Ordering::Acquire)
    }

    pub(crate) fn latest(&self) -> u32 {
        // Acquire: as for `desired`.
        self.latest.load(Ordering::Acquire)
    }

    /// The low 16 bits of the cluster force epoch: what a node's state word
    /// remembers of the last cluster force it answered. A node whose epoch
    /// differs is answered with a force sync. 2^16 forces between two
    /// heartbeats bring the epoch back to the node's value; the sweep of
    /// [`bump_force_epoch`](Self::bump_force_epoch) keeps such forces from being lost.
    #[inline]
    pub(crate) fn force_epoch(&self) -> u16 {
        // Relaxed: a force sync is a request, not a publication; the node
        // answers the one it sees, and the audit record is written before.
        self.force_epoch.load(Ordering::Relaxed) as u16
    }

    /// Counts one cluster-wide force sync. Returns `Some(epoch)`, the new
    /// epoch's low 16 bits, when the caller must sweep the members with
    /// [`node_missed_force`]: every [`FORCE_SWEEP_INTERVAL`] forces.
    ///
    /// Why that suffices: a node that last answered epoch `a` and has not
    /// answered since is behind every later epoch. The first sweep point
    /// `m > a` is at most `FORCE_SWEEP_INTERVAL` = 2^15 past `a`, so at that
    /// sweep the node is behind by 1 to 2^15 (never a multiple of 2^16) and
    /// gets a pending force, which no later epoch value can hide. Before the
    /// epoch can wrap back onto `a` (2^16 forces), it passes such a sweep
    /// point. The count itself wraps at 2^32, a multiple of the interval.
    pub(crate) fn bump_force_epoch(&self) -> Option<u16> {
        // Relaxed: see `force_epoch`.
        let epoch = self.force_epoch.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        epoch.is_multiple_of(FORCE_SWEEP_INTERVAL).then_some(epoch as u16)
    }

    /// The snapshot of `revision`, if published.
    #[inline]
    pub(crate) fn snapshot(&self, revision: u32) -> Option<&Snapshot> {
        if revision == 0 {
            return None;
        }
        self.snapshots.get(revision as usize)?.get().map(|b| &**b)
    }

    /// Installs `snapshot` (which must be the next revision) and makes it desired.
    pub(crate) fn publish(&self, snapshot: Snapshot) -> crate::Result<&Snapshot> {
        let _serial = self.publish_lock.lock();
        let revision = self.latest() + 1;
        if snapshot.revision != revision || *snapshot.cluster != *self.id {
            return Err(crate::Error::invalid(format!(
                "snapshot {} is not the next revision ({revision}) of cluster '{}'",
                snapshot.id, self.id
            )));
        }
        let cell = self
            .snapshots
            .get_or_alloc(revision as usize)
            .filter(|_| self.histogram.get_or_alloc(revision as usize).is_some())
            .filter(|_| self.fresh.get_or_alloc(revision as usize).is_some())
            .ok_or_else(|| crate::Error::invalid(format!("cluster '{}' has reached its revision limit", self.id)))?;
        let snapshot = &**cell.get_or_init(|| Box::new(snapshot));
        // Release: publishes the snapshot set just above to Acquire readers.
        self.latest.store(revision, Ordering::Release);
        self.desired.store(revision, Ordering::Release);
        Ok(snapshot)
    }

    /// Adds a freshly enrolled node (in bucket 0) to the counters.
    pub(crate) fn add_member(&self, slot: u32) {
        self.members.write().push(slot);
        self.enrolled.fetch_add(1, Ordering::Relaxed);
        self.bucket(0).fetch_add(1, Ordering::Relaxed);
    }

    fn bucket(&self, revision: u32) -> &AtomicU64 {
        Self::cell(&self.histogram, revision)
    }

    fn cell(counters: &Chunked<AtomicU64>, revision: u32) -> &AtomicU64 {
        // Invariant: bucket 0 is allocated in `new`, and `publish` allocates
        // a revision's buckets before the revision becomes visible, so no
        // node can be counted under a bucket that does not exist.
        counters.get(revision as usize).expect("histogram bucket allocated before use")
    }

    /// Moves a node from one histogram bucket to another.
    #[inline]
    pub(crate) fn move_bucket(&self, from: u32, to: u32) {
        self.bucket(from).fetch_sub(1, Ordering::Relaxed);
        self.bucket(to).fetch_add(1, Ordering::Relaxed);
    }

    /// Moves a node between fresh buckets (`None`: not fresh).
    #[inline]
    pub(crate) fn move_fresh(&self, from: Option<u32>, to: Option<u32>) {
        if let Some(from) = from {
            Self::cell(&self.fresh, from).fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(to) = to {
            Self::cell(&self.fresh, to).fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Moves a node from one error code to another and remembers it as an example.
    pub(crate) fn move_error(&self, slot: u32, from: Option<SyncErrorCode>, to: Option<SyncErrorCode>) {
        if let Some(c) = from {
            self.errors[c.index()].fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(c) = to {
            self.errors[c.index()].fetch_add(1, Ordering::Relaxed);
            self.error_examples[c.index()].store(slot + 1, Ordering::Relaxed);
        }
    }

    /// The figures `tally` as a change-feed event.
    pub(crate) fn change(&self, tally: Tally) -> crate::feed::ClusterChange {
        crate::feed::ClusterChange {
            cluster: Arc::clone(&self.id),
            workspace: Arc::clone(&self.workspace),
            desired_revision: self.desired(),
            enrolled: tally.enrolled,
            in_sync: tally.verified,
            cohesion: tally.cohesion(),
            cohesion_bp: tally.cohesion_bp(),
            status: tally.status(),
        }
    }

    /// The kept figures: the fresh nodes of the desired revision, the
    /// enrolled nodes and the nodes reporting an error (a few counter reads;
    /// exact at the latest sweep, see [`crate::execution::freshness`]).
    #[inline]
    pub(crate) fn tally(&self) -> Tally {
        let enrolled = self.enrolled.load(Ordering::Relaxed);
        let desired = self.desired();
        let verified = if desired == 0 { 0 } else { Self::cell(&self.fresh, desired).load(Ordering::Relaxed) };
        let errors = self.errors.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        Tally { verified: verified.min(enrolled), enrolled, errors }
    }

    /// Every counter, as kept.
    pub(crate) fn counts(&self) -> Counts {
        let buckets = |counters: &Chunked<AtomicU64>| {
            (0..=self.latest())
                .filter_map(|r| counters.get(r as usize).map(|c| (r, c.load(Ordering::Relaxed))))
                .filter(|&(_, n)| n != 0)
                .collect()
        };
        let errors = SyncErrorCode::ALL
            .into_iter()
            .map(|c| (c, self.errors[c.index()].load(Ordering::Relaxed)))
            .filter(|&(_, n)| n != 0)
            .collect();
        Counts {
            enrolled: self.enrolled.load(Ordering::Relaxed),
            histogram: buckets(&self.histogram),
            fresh: buckets(&self.fresh),
            errors,
        }
    }

    /// The example node (slot) for `code`, if any.
    pub(crate) fn error_example(&self, code: SyncErrorCode) -> Option<u32> {
        self.error_examples[code.index()].load(Ordering::Relaxed).checked_sub(1)
    }

    /// A copy of the member slots (enrolment order).
    pub(crate) fn members(&self) -> Vec<u32> {
        self.members.read().clone()
    }

    /// Runs `f` over the member slots without copying them.
    pub(crate) fn with_members<R>(&self, f: impl FnOnce(&[u32]) -> R) -> R {
        f(&self.members.read())
    }
}

/// loom model of the counter moves (see `crate::sync`).
#[cfg(all(test, fleetgov_loom))]
mod loom_model {
    use loom::sync::Arc;
    use loom::thread;

    use super::*;
    use crate::authority::cluster_spec::Environment;
    use crate::hash::ContentHash;

    /// Two nodes of one cluster verify revision 1 at once while a reader
    /// reads the counts: the reader never sees more in sync than enrolled,
    /// and the counts are exact once both are done.
    #[test]
    fn two_transitions_of_one_cluster_leave_exact_counts() {
        loom::model(|| {
            let cluster = Arc::new(ClusterState::new(ClusterSpec::new("c", "w", Environment::Staging), 0));
            let snapshot = Snapshot {
                id: crate::snapshot_id("c", 1),
                cluster: "c".into(),
                revision: 1,
                hash: ContentHash([1; 32]),
                author: "a".into(),
                published_at_ms: 0,
                size_bytes: 1,
            };
            cluster.publish(snapshot).unwrap();
            cluster.add_member(0);
            cluster.add_member(1);
            cluster.move_fresh(None, Some(0));
            cluster.move_fresh(None, Some(0));
            let verify = |cluster: Arc<ClusterState>, slot: u32| {
                thread::spawn(move || {
                    cluster.move_bucket(0, 1);
                    cluster.move_fresh(Some(0), Some(1));
                    cluster.move_error(slot, Some(SyncErrorCode::ReloadFailure), None);
                })
            };
            // Both nodes start with an error, counted as a transition would.
            cluster.move_error(0, None, Some(SyncErrorCode::ReloadFailure));
            cluster.move_error(1, None, Some(SyncErrorCode::ReloadFailure));
            let (a, b) = (verify(Arc::clone(&cluster), 0), verify(Arc::clone(&cluster), 1));
            let tally = cluster.tally();
            assert!(tally.verified <= tally.enrolled && tally.enrolled == 2);
            a.join().unwrap();
            b.join().unwrap();
            let counts = cluster.counts();
            assert_eq!(
                (counts.enrolled, counts.histogram, counts.fresh, counts.errors),
                (2, vec![(1, 2)], vec![(1, 2)], vec![])
            );
        });
    }
}

#[cfg(test)]
mod force_epoch_tests {
    use super::*;

    #[test]
    fn a_node_behind_by_1_to_2_pow_15_missed_a_force_and_one_ahead_did_not() {
        for node in [0u16, 1, 0x7fff, 0x8000, 0xfffe, 0xffff] {
            for behind in [1u16, 2, 0x4000, 0x7fff, 0x8000] {
                assert!(node_missed_force(node, node.wrapping_add(behind)), "{node} + {behind}");
            }
            assert!(!node_missed_force(node, node), "{node}: answered");
            for ahead in [1u16, 0x100, 0x7fff] {
                assert!(!node_missed_force(node, node.wrapping_sub(ahead)), "{node} - {ahead}");
            }
        }
    }

    #[test]
    fn the_sweep_comes_every_2_pow_15_forces_and_across_the_wrap() {
        let c = ClusterState::new(crate::ClusterSpec::new("c", "w", crate::Environment::Staging), u32::MAX - 1);
        assert_eq!(c.bump_force_epoch(), None);
        assert_eq!((c.bump_force_epoch(), c.force_epoch()), (Some(0), 0), "2^32 wraps to 0, a sweep point");
        let sweeps = (0..1u32 << 17).filter(|_| c.bump_force_epoch().is_some()).count();
        assert_eq!(sweeps, 4);
    }
}
