//! A cluster as the engine holds it: its fixed identity, its authority
//! (what its nodes should run, [`ClusterAuthority`]) beside its execution
//! counters (what they do run, [`ClusterCounters`]). Each half keeps its
//! own fields; this joins them where a figure needs both.

use std::sync::Arc;

use crate::authority::cluster::ClusterAuthority;
use crate::authority::cluster_spec::ClusterSpec;
use crate::authority::rollout::Rollout;
use crate::authority::snapshot::Snapshot;
use crate::execution::counters::{ClusterCounters, Counts};
use crate::execution::freshness::Tally;

pub(crate) struct ClusterState {
    /// The cluster id (fixed).
    pub(crate) id: Arc<str>,
    /// The workspace id (fixed).
    pub(crate) workspace: Arc<str>,
    pub(crate) authority: ClusterAuthority,
    pub(crate) counters: ClusterCounters,
}

impl ClusterState {
    pub(crate) fn new(spec: ClusterSpec, force_epoch: u32) -> Self {
        ClusterState {
            id: spec.id.clone().into(),
            workspace: spec.workspace.clone().into(),
            authority: ClusterAuthority::new(spec, force_epoch),
            counters: ClusterCounters::new(),
        }
    }

    /// Installs `snapshot` (the next revision) and makes it desired, with
    /// room made for it in the counters first, and a rollout to it with
    /// `plan` (see [`ClusterAuthority::publish`]).
    pub(crate) fn publish(
        &self,
        snapshot: Snapshot,
        plan: Option<&crate::authority::rollout::RolloutPlan>,
    ) -> crate::Result<&Snapshot> {
        let reserve = |revision| {
            // The desired revision's counts by bucket become the previous
            // snapshot's, for a rollout this publish may start.
            let reserved = self.counters.reserve(revision);
            if reserved {
                self.counters.buckets.track(revision, self.authority.desired());
            }
            reserved
        };
        self.authority.publish(&self.id, snapshot, reserve, plan)
    }

    /// The kept figures against the desired revision (a few counter reads;
    /// exact at the latest sweep, see [`crate::execution::freshness`]).
    /// While a rollout is active each node is verified against its own
    /// desired revision: one counter read per rollout bucket.
    #[inline]
    pub(crate) fn tally(&self) -> Tally {
        let mut tally = self.counters.tally(self.authority.desired());
        self.with_active_rollout(|rollout| {
            let verified = rollout.verified(&self.counters.buckets.counts(rollout.previous(), rollout.target()));
            tally.verified = verified.min(tally.enrolled);
            tally.rollout = Some(rollout.gate().phase());
        });
        tally
    }

    /// What the cluster's nodes should run, read once for a pass over them.
    pub(crate) fn node_desired(&self) -> NodeDesired<'_> {
        NodeDesired {
            cluster: self,
            desired: self.authority.desired(),
            rollout: self
                .authority
                .steering_rollout()
                .filter(|r| r.as_ref().as_ref().is_some_and(|r| r.gate().phase().is_active())),
        }
    }

    /// Runs `f` on the cluster's rollout while it is active (progressing,
    /// baking, paused or halted): what decides each node's desired revision.
    pub(crate) fn with_active_rollout<R>(&self, f: impl FnOnce(&Rollout) -> R) -> Option<R> {
        self.authority.with_steering_rollout(|r| r.gate().phase().is_active().then(|| f(r))).flatten()
    }

    /// Every counter, as kept, for the published revisions.
    pub(crate) fn counts(&self) -> Counts {
        self.counters.counts(self.authority.latest())
    }

    /// The figures `tally` as a change-feed event.
    pub(crate) fn change(&self, tally: Tally) -> crate::feed::ClusterChange {
        crate::feed::ClusterChange {
            cluster: Arc::clone(&self.id),
            workspace: Arc::clone(&self.workspace),
            desired_revision: self.authority.desired(),
            enrolled: tally.enrolled,
            in_sync: tally.verified,
            cohesion: tally.cohesion(),
            cohesion_bp: tally.cohesion_bp(),
            status: tally.status(),
        }
    }
}

/// What each node of a cluster should run: the cluster's desired snapshot,
/// or while a rollout is active the one of the node's rollout bucket.
pub(crate) struct NodeDesired<'a> {
    cluster: &'a ClusterState,
    desired: u32,
    rollout: Option<Arc<Option<Rollout>>>,
}

impl<'a> NodeDesired<'a> {
    /// The revision a node of rollout bucket `bucket` should run (0: none).
    pub(crate) fn revision(&self, bucket: u8) -> u32 {
        match self.rollout.as_deref() {
            Some(Some(rollout)) => rollout.desired_for(bucket),
            _ => self.desired,
        }
    }

    /// The snapshot a node of rollout bucket `bucket` should run.
    pub(crate) fn snapshot(&self, bucket: u8) -> Option<&'a Snapshot> {
        self.cluster.authority.snapshot(self.revision(bucket))
    }
}
