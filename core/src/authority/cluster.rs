//! A cluster's authority: its spec, published snapshots, desired revision,
//! reconciliation waves and force epoch.

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};

use crate::authority::cluster_spec::ClusterSpec;
use crate::authority::rollout::{BucketRule, Rollout};
use crate::authority::snapshot::Snapshot;
use crate::authority::steering::Steering;
use crate::chunked::Chunked;
use crate::sync::{AtomicBool, AtomicU32, AtomicU64, Published};

/// Revision tables start with 64 entries and double.
pub(crate) const REVISION_BASE_BITS: u32 = 6;

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

/// How many cluster force syncs apart the members are swept for forces they
/// have not answered (see [`ClusterAuthority::bump_force_epoch`]).
pub(crate) const FORCE_SWEEP_INTERVAL: u32 = 1 << 15;

/// Whether a node whose state word holds force epoch `node` has not answered
/// the cluster force that made the epoch `sweep`: it is 1 to 2^15 forces
/// behind (wrapping). A node ahead of `sweep` (it answered a later force
/// before this sweep ran) is not.
pub(crate) fn node_missed_force(node: u16, sweep: u16) -> bool {
    (1..=FORCE_SWEEP_INTERVAL as u16).contains(&sweep.wrapping_sub(node))
}

/// What a cluster should run.
pub(crate) struct ClusterAuthority {
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
    /// The cluster's latest rollout, if any (see [`crate::rollout`]).
    rollout: Published<Option<Rollout>>,
    /// What `rollout` says, as a heartbeat reads it; its phase word also
    /// tells every other reader whether `rollout` steers any node.
    rules: Steering,
}

// Orderings. `desired` and `latest` use Release/Acquire so that a reader
// who sees a revision also sees its snapshot (set before the store); the
// flags' orderings are given where they are used.

impl ClusterAuthority {
    pub(crate) fn new(spec: ClusterSpec, force_epoch: u32) -> Self {
        ClusterAuthority {
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
            rollout: Published::new(Arc::new(None)),
            rules: Steering::new(),
        }
    }

    /// What the cluster's rollout says about the nodes of rollout bucket
    /// `bucket`; `None` when no rollout steers any node: the heartbeat path.
    #[inline]
    pub(crate) fn rule(&self, bucket: u8) -> Option<BucketRule> {
        self.rules.rule(bucket)
    }

    /// The cluster's rollout while it steers some node (not complete).
    #[inline]
    pub(crate) fn steering_rollout(&self) -> Option<Arc<Option<Rollout>>> {
        // `steers` is an Acquire load of the phase word, which `set_rollout`
        // stores after the rollout: a reader that sees a steering phase
        // loads that rollout or a later one. A heartbeat reads this after
        // `desired` (Acquire), so it sees the rollout a publish set before
        // making its target desired.
        self.rules.steers().then(|| self.rollout.load_full())
    }

    /// Runs `f` on the cluster's rollout while it steers some node (not
    /// complete), with no reference-count traffic.
    #[inline]
    pub(crate) fn with_steering_rollout<R>(&self, f: impl FnOnce(&Rollout) -> R) -> Option<R> {
        // As in `steering_rollout`.
        if !self.rules.steers() {
            return None;
        }
        self.rollout.read(|rollout| rollout.as_ref().map(f))
    }

    /// The cluster's latest rollout, whatever its phase.
    pub(crate) fn rollout(&self) -> Arc<Option<Rollout>> {
        self.rollout.load_full()
    }

    /// Replaces the cluster's rollout. Rollout changes are serialised by
    /// the engine's authority lock.
    pub(crate) fn set_rollout(&self, rollout: Option<Rollout>) {
        let rollout = Arc::new(rollout);
        // The rollout first, its rules after: the rules' phase word says
        // whether it steers (see `steering_rollout`).
        self.rollout.store(Arc::clone(&rollout));
        self.rules.store(rollout.as_ref().as_ref());
    }

    /// Makes `revision` (published) desired again: a rollback or abort
    /// returns the cluster to the previous snapshot.
    pub(crate) fn restore_desired(&self, revision: u32) {
        let _serial = self.publish_lock.lock();
        // Release: as in `publish`.
        self.desired.store(revision, Ordering::Release);
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
    /// Installs `snapshot` (which must be the next revision of cluster `id`)
    /// and makes it desired; `reserve` makes room for the revision in the
    /// execution counters first, so no node is ever counted under a
    /// revision they cannot hold. With a `plan`, a rollout of the new
    /// revision from the desired one starts; without, any rollout ends. The
    /// rollout is in place before the revision is desired, so no heartbeat
    /// ever sees the target without it.
    pub(crate) fn publish(
        &self,
        id: &str,
        snapshot: Snapshot,
        reserve: impl FnOnce(u32) -> bool,
        plan: Option<&crate::authority::rollout::RolloutPlan>,
    ) -> crate::Result<&Snapshot> {
        let _serial = self.publish_lock.lock();
        let revision = self.latest() + 1;
        if snapshot.revision != revision || *snapshot.cluster != *id {
            return Err(crate::Error::invalid(format!(
                "snapshot {} is not the next revision ({revision}) of cluster '{}'",
                snapshot.id, id
            )));
        }
        let cell = self
            .snapshots
            .get_or_alloc(revision as usize)
            .filter(|_| reserve(revision))
            .ok_or_else(|| crate::Error::invalid(format!("cluster '{id}' has reached its revision limit")))?;
        let at_ms = snapshot.published_at_ms;
        let snapshot = &**cell.get_or_init(|| Box::new(snapshot));
        self.set_rollout(plan.map(|plan| Rollout::new(id, plan.clone(), self.desired(), revision, at_ms)));
        // Release: publishes the snapshot set just above to Acquire readers.
        self.latest.store(revision, Ordering::Release);
        self.desired.store(revision, Ordering::Release);
        Ok(snapshot)
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
        let c = ClusterAuthority::new(crate::ClusterSpec::new("c", "w", crate::Environment::Staging), u32::MAX - 1);
        assert_eq!(c.bump_force_epoch(), None);
        assert_eq!((c.bump_force_epoch(), c.force_epoch()), (Some(0), 0), "2^32 wraps to 0, a sweep point");
        let sweeps = (0..1u32 << 17).filter(|_| c.bump_force_epoch().is_some()).count();
        assert_eq!(sweeps, 4);
    }
}

#[cfg(test)]
mod rollout_tests {
    use super::*;
    use crate::authority::rollout::{RolloutChange, RolloutPlan};

    #[test]
    fn a_rollout_steers_until_it_completes_and_is_kept_after() {
        let c = ClusterAuthority::new(crate::ClusterSpec::new("c", "w", crate::Environment::Staging), 0);
        assert!(c.steering_rollout().is_none());
        let plan = RolloutPlan::new([50, 100], 0, 0.0, false).unwrap();
        let mut r = Rollout::new("c", plan, 1, 2, 10);
        c.set_rollout(Some(r.clone()));
        assert_eq!(c.with_steering_rollout(Rollout::target), Some(2));
        assert_eq!(c.steering_rollout().as_deref().cloned().flatten(), Some(r.clone()));
        assert!(c.rule(0).is_some());
        r.apply(&RolloutChange::Promoted, 11).unwrap();
        r.apply(&RolloutChange::Complete, 12).unwrap();
        c.set_rollout(Some(r.clone()));
        assert_eq!(c.with_steering_rollout(Rollout::target), None, "a complete rollout steers nothing");
        assert!(c.steering_rollout().is_none());
        assert_eq!(c.rollout().as_ref().as_ref(), Some(&r), "it is kept whatever its phase");
        c.set_rollout(None);
        assert!(c.steering_rollout().is_none() && c.rollout().is_none());
    }
}

/// loom model of a rollout change racing a reader of the rollout (see
/// `crate::sync`).
#[cfg(all(test, fleetgov_loom))]
mod loom_model {
    use loom::thread;

    use super::*;
    use crate::authority::rollout::RolloutPlan;

    /// A reader that sees the new rules steer finds the rollout they came
    /// from: the rollout is stored before its rules.
    #[test]
    fn a_steering_phase_is_never_seen_before_its_rollout() {
        loom::model(|| {
            let spec = crate::ClusterSpec::new("c", "w", crate::Environment::Staging);
            let authority = loom::sync::Arc::new(ClusterAuthority::new(spec, 0));
            let plan = RolloutPlan::new([50, 100], 0, 0.0, false).unwrap();
            let rollout = Rollout::new("c", plan, 1, 2, 10);
            let writer = {
                let (authority, rollout) = (loom::sync::Arc::clone(&authority), rollout.clone());
                thread::spawn(move || authority.set_rollout(Some(rollout)))
            };
            if let Some(seen) = authority.steering_rollout() {
                assert_eq!(seen.as_ref().as_ref(), Some(&rollout));
            }
            writer.join().unwrap();
            assert_eq!(authority.with_steering_rollout(Rollout::target), Some(2));
        });
    }
}
