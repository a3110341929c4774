//! A cluster as the engine holds it: its fixed identity, its authority
//! (what its nodes should run, [`ClusterAuthority`]) beside its execution
//! counters (what they do run, [`ClusterCounters`]). Each half keeps its
//! own fields; this joins them where a figure needs both.

use std::sync::Arc;

use crate::authority::cluster::ClusterAuthority;
use crate::authority::cluster_spec::ClusterSpec;
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
    /// room made for it in the counters first.
    pub(crate) fn publish(&self, snapshot: Snapshot) -> crate::Result<&Snapshot> {
        self.authority.publish(&self.id, snapshot, |revision| self.counters.reserve(revision))
    }

    /// The kept figures against the desired revision (a few counter reads;
    /// exact at the latest sweep, see [`crate::execution::freshness`]).
    #[inline]
    pub(crate) fn tally(&self) -> Tally {
        self.counters.tally(self.authority.desired())
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
